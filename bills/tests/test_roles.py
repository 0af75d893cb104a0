"""Roles (issue 16): every URL of the console, opened and posted to by each kind of visitor,
answers what the table below says; the role table covers every URL; a refusal says which
role is needed; and the pages show each role only what it may do.

The admin's URLs are left out: the admin checks its own permissions (staff only) and is
not part of an organization's console (bills/roles.py, OTHER_PERMISSIONS)."""

# ruff: noqa: E501 (the status table below reads best as one URL per line)
from __future__ import annotations

import sys
from decimal import Decimal

import lxml.html
import pytest
from django.core import checks
from django.test import Client
from django.urls import path

from api.services import api_key_create
from bills import roles
from bills.models import Membership, Order
from bills.services import order_place
from bills.tests.fixtures import make_user
from bills.tests.pages import all_pages, sampler

Role = Membership.Role
WHO = ("anonymous", "viewer", "finance", "owner", "outsider", "key")

# url name: (GET, POST) status for anonymous, viewer, finance, owner, and the owner of
# another organization, who reaches the same addresses with Acme's ids in them (404s), and
# a script with Acme's API key (no session: the console's pages send it to log in).
# A POST is only sent where a role is required (not to log in, out or switch language).
# fmt: off
EXPECTED = {
    # Open to anyone, or to anyone signed in.
    "healthz":                   {"GET": (200, 200, 200, 200, 200, 200)},
    "home":                      {"GET": (302, 302, 302, 302, 302, 302)},
    "login":                     {"GET": (200, 302, 302, 302, 302, 200)},
    "logout":                    {"GET": (302, 405, 405, 405, 405, 302)},
    "set_language":              {"GET": (405, 405, 405, 405, 405, 405)},
    "bills:switch_organization": {"GET": (302, 405, 405, 405, 405, 302)},
    # Viewer and up.
    "bills:overview":        {"GET": (302, 200, 200, 200, 200, 302), "POST": (302, 200, 200, 200, 200, 302)},
    "bills:list":            {"GET": (302, 200, 200, 200, 200, 302), "POST": (302, 200, 200, 200, 200, 302)},
    "bills:detail":          {"GET": (302, 200, 200, 200, 404, 302), "POST": (302, 200, 200, 200, 404, 302)},
    "bills:pdf":             {"GET": (302, 200, 200, 200, 404, 302), "POST": (302, 200, 200, 200, 404, 302)},
    "bills:credit_note_pdf": {"GET": (302, 200, 200, 200, 404, 302), "POST": (302, 200, 200, 200, 404, 302)},
    # Finance and up.
    "bills:export_xlsx":     {"GET": (302, 403, 200, 200, 200, 302), "POST": (302, 403, 200, 200, 200, 302)},
    "bills:export_csv":      {"GET": (302, 403, 200, 200, 200, 302), "POST": (302, 403, 200, 200, 200, 302)},
    "bills:export_zip":      {"GET": (302, 403, 200, 200, 302, 302), "POST": (302, 403, 302, 302, 302, 302)},
    "bills:market":          {"GET": (302, 403, 200, 200, 200, 302), "POST": (302, 403, 200, 200, 200, 302)},
    "bills:product_order":   {"GET": (302, 403, 200, 200, 200, 302), "POST": (302, 403, 200, 200, 200, 302)},
    "bills:orders":          {"GET": (302, 403, 200, 200, 200, 302), "POST": (302, 403, 200, 200, 200, 302)},
    "bills:order_detail":    {"GET": (302, 403, 200, 200, 404, 302), "POST": (302, 403, 200, 200, 404, 302)},
    "bills:order_cancel":    {"GET": (302, 403, 405, 405, 405, 302), "POST": (302, 403, 200, 200, 404, 302)},
    "exports:list":          {"GET": (302, 403, 200, 200, 200, 302), "POST": (302, 403, 405, 405, 405, 302)},
    "exports:download":      {"GET": (302, 403, 200, 200, 404, 302), "POST": (302, 403, 405, 405, 405, 302)},
    "exports:cancel":        {"GET": (302, 403, 405, 405, 405, 302), "POST": (302, 403, 302, 302, 404, 302)},
    # Owner only.
    "bills:members":         {"GET": (302, 403, 403, 200, 200, 302), "POST": (302, 403, 403, 405, 405, 302)},
    "bills:member_add":      {"GET": (302, 403, 403, 405, 405, 302), "POST": (302, 403, 403, 400, 400, 302)},
    "bills:member_role":     {"GET": (302, 403, 403, 405, 405, 302), "POST": (302, 403, 403, 302, 404, 302)},
    "bills:member_remove":   {"GET": (302, 403, 403, 405, 405, 302), "POST": (302, 403, 403, 302, 404, 302)},
    "bills:activity":        {"GET": (302, 403, 403, 200, 200, 302), "POST": (302, 403, 403, 200, 200, 302)},
    # The API (api/): members by role, and Acme's key (Finance, settings.API_KEY_ROLE).
    "api:bills":             {"GET": (401, 200, 200, 200, 200, 200), "POST": (401, 405, 405, 405, 405, 405)},
    "api:bill":              {"GET": (401, 200, 200, 200, 404, 200), "POST": (401, 405, 405, 405, 405, 405)},
    "api:bill_pdf":          {"GET": (401, 200, 200, 200, 404, 200), "POST": (401, 405, 405, 405, 405, 405)},
    "api:schema":            {"GET": (401, 200, 200, 200, 200, 200), "POST": (401, 405, 405, 405, 405, 405)},
    "api:docs":              {"GET": (302, 200, 200, 200, 200, 302), "POST": (302, 405, 405, 405, 405, 302)},
    "api:products":          {"GET": (401, 403, 200, 200, 200, 200), "POST": (401, 403, 405, 405, 405, 405)},
    "api:orders":            {"GET": (401, 403, 200, 200, 200, 200), "POST": (401, 403, 405, 405, 405, 405)},
    "api:order":             {"GET": (401, 403, 200, 200, 404, 200), "POST": (401, 403, 405, 405, 405, 405)},
    "api:exports":           {"GET": (401, 403, 200, 200, 200, 200), "POST": (401, 403, 415, 415, 415, 415)},
    "api:export":            {"GET": (401, 403, 200, 200, 404, 200), "POST": (401, 403, 405, 405, 405, 405)},
    "api:export_file":       {"GET": (401, 403, 200, 200, 404, 200), "POST": (401, 403, 405, 405, 405, 405)},
    "api:keys":              {"GET": (302, 403, 403, 200, 200, 302), "POST": (302, 403, 403, 405, 405, 302)},
    "api:key_create":        {"GET": (302, 403, 403, 405, 405, 302), "POST": (302, 403, 403, 400, 400, 302)},
    "api:key_revoke":        {"GET": (302, 403, 403, 405, 405, 302), "POST": (302, 403, 403, 302, 404, 302)},
}
# fmt: on


def visitor(who: str, site) -> Client:
    browser = Client()
    if who == "key":
        _key, secret = api_key_create(
            organization=site["organization"], name="Script", created_by=site["member"]
        )
        browser = Client(headers={"authorization": f"Bearer {secret}"})
    elif who == "outsider":
        browser.force_login(make_user("mallory", site["other_organization"], Role.OWNER))
    elif who != "anonymous":
        browser.force_login(make_user(f"{who}-user", site["organization"], Role(who)))
    return browser


@pytest.fixture
def role_site(site, other_organization):
    """The `site`, plus a colleague (the members' URLs name their membership)."""
    make_user("bob", site["organization"], Role.VIEWER)
    return site | {"other_organization": other_organization}


def console_pages(site):
    sample = sampler(
        bill=site["bill"], order=site["order"], product=site["product"], user=site["admin"]
    )
    return all_pages(sample, admin=False)


@pytest.mark.parametrize("who", WHO)
def test_every_url_answers_each_role_as_the_table_says(role_site, who):
    # The members' URLs name bob's membership: made before the visitor's own.
    pages = {page.name: page.url for page in console_pages(role_site)}
    browser = visitor(who, role_site)
    column = WHO.index(who)

    answered = {}
    for name in EXPECTED:  # the table's order: a role change before the removal
        answered[name] = {"GET": browser.get(pages[name]).status_code}
        if "POST" in EXPECTED[name]:
            answered[name]["POST"] = browser.post(pages[name]).status_code

    expected = {
        name: {method: statuses[column] for method, statuses in methods.items()}
        for name, methods in EXPECTED.items()
    }
    assert answered == expected


def test_the_table_above_lists_every_url_but_the_admins(site):
    assert set(EXPECTED) == {page.name for page in console_pages(site)}


def test_every_url_of_the_console_declares_its_role():
    declared = set(roles.REQUIRED_ROLE) | roles.NO_ROLE

    assert set(roles.console_url_names()) == declared
    assert roles.check_every_url_has_a_role() == []


def test_a_url_added_without_a_role_stops_the_system_check(settings):
    settings.ROOT_URLCONF = __name__ + "_forgotten"
    forgotten = type(
        "urls", (), {"urlpatterns": [path("secret/", lambda request: None, name="secret")]}
    )
    sys.modules[settings.ROOT_URLCONF] = forgotten
    try:
        errors = checks.run_checks(tags=[checks.Tags.urls])
    finally:
        del sys.modules[settings.ROOT_URLCONF]

    assert [error.id for error in errors if error.obj == "secret"] == ["bills.E100"]


def test_a_url_without_a_role_is_refused_to_everyone(owner_client, monkeypatch):
    monkeypatch.delitem(roles.REQUIRED_ROLE, "bills:list")

    assert owner_client.get("/bills/").status_code == 403


def page_text(response) -> str:
    return " ".join(lxml.html.fromstring(response.content).text_content().split())


def test_a_viewer_is_told_which_role_the_page_needs(viewer_client):
    response = viewer_client.get("/orders/")

    assert response.status_code == 403
    text = page_text(response)
    assert "This page needs the Finance role." in text
    assert "Your role in Acme Messaging is Viewer." in text


def test_the_refusal_reads_in_chinese(organization):
    browser = Client(headers={"accept-language": "zh-CN,zh;q=0.9"})
    browser.force_login(make_user("wei", organization, Role.FINANCE))

    text = page_text(browser.get("/members/"))

    assert "此页面需要“所有者”角色。" in text
    assert "您在 Acme Messaging 的角色是“财务”。" in text


def nav_links(response) -> list[str]:
    tree = lxml.html.fromstring(response.content)
    return [" ".join(a.text_content().split()) for a in tree.xpath("//nav[@class='sidenav']//a")]


def test_each_role_sees_only_the_links_it_may_follow(viewer_client, finance_client, owner_client):
    assert nav_links(viewer_client.get("/bills/")) == ["Overview", "Bills", "Bills to be paid"]
    assert nav_links(finance_client.get("/bills/")) == [
        "Overview", "Product Market", "Order Management", "Bills", "Exports", "Bills to be paid",
    ]  # fmt: skip
    assert nav_links(owner_client.get("/bills/")) == [
        "Overview", "Product Market", "Order Management", "Bills", "Exports", "Members",
        "Activity", "API keys", "Bills to be paid",
    ]  # fmt: skip


def test_a_viewer_sees_no_export_buttons_even_after_finance_filled_the_cache(
    viewer_client, finance_client, bill
):
    # The Bills page's content is cached per organization: the role is part of its key.
    assert "Export Data" in page_text(finance_client.get("/bills/"))

    viewer_page = page_text(viewer_client.get("/bills/"))

    assert "Export Data" not in viewer_page
    assert "Download Bills (ZIP)" not in viewer_page
    assert bill.number in viewer_page
    assert "Download Bill" in viewer_page
    assert "Export Data" in page_text(finance_client.get("/bills/"))


def test_a_viewer_sees_the_overdraft_order_without_a_link_to_it(
    viewer_client, make_bill, application, member
):
    overdrawn = make_bill(application, overdraft="20.00")
    order = order_place(
        organization=overdrawn.organization,
        product=overdrawn.product,
        order_type=Order.Type.SUPPLEMENTARY_PAYMENT,
        amount=Decimal("20.00"),
        ordered_by=member,
        bill=overdrawn,
    )

    page = viewer_client.get(f"/bills/{overdrawn.pk}/").content.decode()

    assert order.number in page
    assert order.get_absolute_url() not in page
