"""A strict Content-Security-Policy on every response, and pages that need nothing more."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils.csp import build_policy

from bills.tests.pages import Page, all_pages, inline_code, sampler

POLICY = build_policy(settings.SECURE_CSP)


@pytest.fixture
def pages(site) -> list[Page]:
    return all_pages(
        sampler(bill=site["bill"], order=site["order"], product=site["product"], user=site["admin"])
    )


def browsers(site, member) -> dict[str, Client]:
    anonymous, staff, person = Client(), Client(), Client()
    staff.force_login(site["admin"])
    person.force_login(member)
    return {"anonymous": anonymous, "staff": staff, "member": person}


def test_the_policy_is_strict():
    assert "default-src 'self'" in POLICY
    assert "frame-ancestors 'none'" in POLICY
    assert "form-action 'self'" in POLICY
    assert "object-src 'none'" in POLICY
    assert "unsafe" not in POLICY
    assert "http" not in POLICY and "*" not in POLICY


def test_the_url_list_covers_the_console_and_the_admin(pages):
    names = {page.name for page in pages}

    assert {"login", "bills:list", "bills:detail", "bills:market", "bills:orders"} <= names
    assert {"bills:product_order", "bills:order_detail"} <= names
    assert {"admin:index", "admin:bills_bill_change", "admin:bills_auditevent_changelist"} <= names


def test_every_page_carries_the_policy_for_every_visitor(site, member, pages):
    for who, browser in browsers(site, member).items():
        for page in [*pages, Page("missing", "/no-such-page/")]:
            response = browser.get(page.url)

            assert response.get("Content-Security-Policy") == POLICY, (who, page)


def test_no_page_needs_inline_code_or_another_origin(site, member, pages):
    checked = 0
    for who, browser in browsers(site, member).items():
        for page in pages:
            response = browser.get(page.url)
            if response.status_code != 200 or "text/html" not in response["Content-Type"]:
                continue

            assert inline_code(response.content.decode()) == [], (who, page)
            checked += 1

    assert checked > 40  # every console page and most admin pages rendered for real


def test_the_error_pages_carry_the_policy_too(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Security-Policy"] == POLICY
    assert inline_code(response.content.decode()) == []


def test_the_inline_code_finder_finds_what_the_browser_would_block():
    html = (
        '<p style="color: red" onclick="go()">x</p><style>p{}</style><script>go()</script>'
        '<script type="application/json">{"data": 1}</script><script src="/static/a.js"></script>'
        '<img src="https://cdn.example/x.png"><a href="https://example.com/">a link is fine</a>'
    )

    assert inline_code(html) == [
        '<p style="color: red">',
        "<p onclick=...>",
        "<style> element",
        "inline <script>",
        "<img src=https://cdn.example/x.png> from another origin",
    ]
