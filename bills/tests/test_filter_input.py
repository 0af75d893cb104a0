"""What people (and scanners) put in the Bills and Orders query strings: ids beyond
what a database column holds, and one parameter given several times. Each is answered
next to its field with nothing selected; never a 500, never a guess."""

from __future__ import annotations

import re

import lxml.html
import pytest
from django.http import QueryDict

from bills.models import AuditEvent
from bills.tests.html import bill_rows, errors, notices, visible_text

HUGE_IDS = [str(2**63), str(2**64), "9" * 30, str(-(2**63) - 1)]


@pytest.fixture
def bills(make_bill, application, whatsapp_application, other_application) -> None:
    make_bill(application, cycle="2026-09", product="app_push")
    make_bill(application, cycle="2026-10", product="sms")
    make_bill(whatsapp_application, cycle="2026-10", product="email")
    make_bill(other_application, cycle="2026-10", product="otp")


def flashed(client, response) -> str:
    """The message the Bills page shows after an export was refused."""
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    (message,) = lxml.html.fromstring(page).xpath("//li[contains(@class, 'message')]")
    return " ".join(message.text_content().split())


# Ids beyond the id column (item 8) --------------------------------------------------------


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_a_huge_product_id_is_an_unknown_product(member_client, bills, huge):
    response = member_client.get("/bills/", {"product": huge})

    assert response.status_code == 200
    assert errors(response) == [f"There is no product {huge} among yours."]
    assert bill_rows(response) == []


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_a_huge_id_among_real_products_is_refused_too(member_client, bills, products, huge):
    response = member_client.get("/bills/", {"product": [products["sms"].pk, huge]})

    assert errors(response) == [f"There is no product {huge} among yours."]
    assert bill_rows(response) == []


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_a_huge_application_id_is_an_unknown_application(member_client, bills, huge):
    response = member_client.get("/bills/", {"application": huge})

    assert response.status_code == 200
    assert errors(response) == ["That is not one of your applications."]
    assert bill_rows(response) == []


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("product", f"Product: There is no product {2**63} among yours."),
        ("application", "Application: That is not one of your applications."),
    ],
)
def test_a_huge_id_exports_nothing(member_client, bills, file_format, name, message):
    response = member_client.get(f"/bills/export.{file_format}", {name: str(2**63)})

    assert flashed(member_client, response) == f"Nothing was exported. {message}"
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.BILLS_EXPORT).exists()


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_a_huge_product_id_in_order_management_is_an_invalid_choice(
    member_client, organization, huge
):
    response = member_client.get("/orders/", {"product": huge})

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()


# One value per single-value parameter (item 9) --------------------------------------------

REPEATED = [
    ("status=pending&status=cleared", "Choose one status, not several."),
    ("status=pending&status=pending", "Choose one status, not several."),
    ("status=pending&status=nonsense", "Choose one status, not several."),
    ("cycle=2026-09&cycle=2026-10", "Choose one month, not several."),
    ("cycle_from=2026-09&cycle_from=2026-10", "Choose one start month, not several."),
    ("cycle_to=2026-09&cycle_to=2026-10", "Choose one end month, not several."),
    ("application=1&application=2", "Choose one application, not several."),
    ("q=shop&q=support", "Search for one text, not several."),
    ("q=&q=", "Search for one text, not several."),
]


@pytest.mark.parametrize(("query", "message"), REPEATED)
def test_a_repeated_filter_is_refused_next_to_its_field(member_client, bills, query, message):
    response = member_client.get(f"/bills/?{query}")

    assert response.status_code == 200
    assert errors(response) == [message]
    assert "These filters cannot be applied." in visible_text(response)
    assert bill_rows(response) == []


def test_a_repeated_sort_is_refused_too(member_client, bills):
    response = member_client.get("/bills/?sort=amount&sort=-amount")

    assert "Choose one sort order, not several." in visible_text(response)
    assert bill_rows(response) == []


def test_several_products_are_still_several_products(member_client, bills, products):
    response = member_client.get(
        "/bills/", {"product": [products["app_push"].pk, products["sms"].pk]}
    )

    assert errors(response) == []
    assert sorted(row["Product"] for row in bill_rows(response)) == ["App Push", "SMS"]


@pytest.mark.parametrize(
    ("query", "notice"),
    [
        ("page=1&page=2", "Choose one page, not several. Showing page 1."),
        ("per_page=10&per_page=50", "Choose one page size, not several. Showing 25."),
    ],
)
def test_a_repeated_page_or_page_size_says_what_is_shown(member_client, bills, query, notice):
    response = member_client.get(f"/bills/?{query}")

    assert notices(response) == [notice]
    assert len(bill_rows(response)) == 3


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
@pytest.mark.parametrize(("query", "message"), REPEATED)
def test_a_repeated_filter_exports_nothing_and_audits_nothing(
    member_client, bills, file_format, query, message
):
    response = member_client.get(f"/bills/export.{file_format}?{query}")

    assert response["Location"] == f"/bills/?{QueryDict(query).urlencode()}"
    assert message in flashed(member_client, response)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.BILLS_EXPORT).exists()


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("status=unpaid&status=paid", "status", "Choose one order status, not several."),
        ("type=top_up&type=renewal", "type", "Choose one order type, not several."),
        ("product=1&product=2", "product", "Choose one product, not several."),
        (
            "ordered_from=2026-10-01&ordered_from=2026-10-02",
            "ordered_from",
            "Choose one start date",
        ),
        ("ordered_to=2026-10-01&ordered_to=2026-10-02", "ordered_to", "Choose one end date"),
    ],
)
def test_a_repeated_order_filter_is_refused_next_to_its_field(
    member_client, organization, query, field, message
):
    response = member_client.get(f"/orders/?{query}")

    page = response.content.decode()
    label = re.search(rf'<label for="id_{field}">.*?</div>', page, re.S)
    assert label is not None and message in label.group(0)
    assert "Some filters are not valid" in page
