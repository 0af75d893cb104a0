"""No shared cache, and no browser's disk or back-forward cache, keeps a page that
shows an organization's data: every response to a signed-in user says
`Cache-Control: private, no-store`, redirects and error pages included."""

from __future__ import annotations

import pytest
from django.test import Client

from bills.tests.pages import Page, all_pages, sampler


def directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part}


@pytest.fixture
def pages(site) -> list[Page]:
    return all_pages(
        sampler(bill=site["bill"], order=site["order"], product=site["product"], user=site["admin"])
    )


def test_every_page_of_a_signed_in_user_is_private_and_not_stored(site, member, pages):
    checked = set()
    for user in (member, site["admin"]):
        browser = Client()
        browser.force_login(user)
        for page in [*pages, Page("missing", "/no-such-page/")]:
            response = browser.get(page.url)

            assert {"private", "no-store"} <= directives(response), (user, page, response)
            checked.add(response.status_code)

    # Pages, redirects (the home page), refusals and errors alike.
    assert {200, 302, 404} <= checked


def test_the_console_pages_are_covered(pages):
    names = {page.name for page in pages}

    assert {"bills:list", "bills:detail", "bills:pdf", "bills:orders", "bills:market"} <= names
    assert {"bills:export_xlsx", "bills:order_detail", "home"} <= names


def test_a_post_and_its_redirect_are_not_stored_either(client, site, member, other_organization):
    client.force_login(member)

    cancelled = client.post(f"/orders/{site['order'].pk}/cancel/", {"confirm": "yes"})
    refused = client.post("/organization/switch/", {"organization": "abc"})
    switched = client.post("/organization/switch/", {"organization": other_organization.pk})

    assert switched.status_code == cancelled.status_code == 302
    assert refused.status_code == 404
    for response in (switched, refused, cancelled):
        assert {"private", "no-store"} <= directives(response)


def test_the_filtered_list_and_a_refused_export_are_not_stored(member_client, site):
    for url in ("/bills/?status=pending", "/bills/?status=x&status=y", "/bills/export.csv?cycle=x"):
        assert {"private", "no-store"} <= directives(member_client.get(url)), url


def test_anonymous_pages_and_static_files_keep_their_own_caching(member_client):
    visitor = Client()
    # A visitor's redirect to the login page shows nothing of anyone; the login page
    # itself is never cached (Django's own choice).
    assert "private" not in directives(visitor.get("/bills/"))
    assert "no-store" in directives(visitor.get("/login/"))
    # Static files are the same for everyone: a signed-in user's browser may keep them.
    static = member_client.get("/static/css/console.css")
    assert static.status_code == 200
    assert "public" in directives(static)
    assert "no-store" not in directives(static)
