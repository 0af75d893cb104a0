"""The bills, products and orders of `/api/v1/` (issue 16): the Bills page's filters and
totals, money as decimal strings, cycles as YYYY-MM, the PDF audited as made with a key."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import lxml.html
import pytest
from django.test import Client
from django.utils import translation
from pypdf import PdfReader

from bills.models import AuditEvent, Membership, Order
from bills.services import LineItem, credit_note_issue, order_place
from bills.tests.fixtures import make_user


@pytest.fixture
def bills(make_bill, application, whatsapp_application):
    """Five bills with amounts that add up awkwardly, one of them overdrawn and credited."""
    made = []
    prices = ("0.00015", "0.00033", "0.00017", "0.00071", "0.00013")
    for month, price in zip(range(6, 11), prices, strict=True):
        made.append(
            make_bill(
                application,
                cycle=f"2026-{month:02d}",
                lines=[
                    LineItem("Delivered", 333_333, "messages", Decimal(price)),
                    LineItem("Failed", 7, "messages", Decimal("0.001")),
                ],
                overdraft="0.01",
            )
        )
    made.append(make_bill(whatsapp_application, cycle="2026-10", product="sms"))
    return made


def test_money_is_a_decimal_string_with_its_currency_and_cycles_read_yyyy_mm(api_client, bill):
    row = api_client.get("/api/v1/bills/").json()["results"][0]

    assert row["consumption_amount"] == "150.00"
    assert row["overdraft_amount"] == "0.00"
    assert row["currency"] == "USD"
    assert row["billing_cycle"] == "2026-10"
    assert dt.date.fromisoformat(row["bill_date"]) == bill.bill_date
    assert row["id"] == bill.pk and row["number"] == bill.number
    assert row["product"]["code"] == "app_push"
    assert row["status"] == "pending"


def test_a_yen_bill_has_no_decimals_and_a_dinar_bill_three(
    make_bill, products, organization, member
):
    organization.currency = "KWD"
    organization.save()
    from bills.models import Application

    application = Application.objects.create(
        organization=organization, name="Kuwait", app_key="kw1", app_id="1"
    )
    make_bill(application, lines=[LineItem("Sent", 3, "messages", Decimal("0.5"))])
    client = Client()
    client.force_login(member)

    row = client.get("/api/v1/bills/").json()["results"][0]

    assert row["consumption_amount"] == "1.500"
    assert row["currency"] == "KWD"


def page_total(response, label: str) -> str:
    """The amount on the Bills page's summary card named `label`, without grouping."""
    tree = lxml.html.fromstring(response.content)
    for card in tree.xpath("//div[contains(@class, 'summary-card')]"):
        if card.xpath("string(dt)").strip() == label:
            value = card.xpath("string(dd[@class='summary-value'])")
            return re.sub(r"[^\d.]", "", value)
    raise AssertionError(f"No card {label!r}")


@pytest.mark.parametrize("query", ["", "?status=pending", "?cycle_from=2026-07&cycle_to=2026-09"])
def test_the_totals_equal_the_bills_pages_to_the_cent(
    api_client, member_client, bills, admin_user, query
):
    credit_note_issue(
        bill=bills[0], amount=Decimal("0.01"), reason="Goodwill", issued_by=admin_user
    )

    totals = api_client.get(f"/api/v1/bills/{query}").json()["totals"]
    page = member_client.get(f"/bills/{query}")

    assert totals["consumption_amount"] == page_total(page, "Total consumption")
    assert totals["pending_amount"] == page_total(page, "Total pending")
    assert totals["overdraft_amount"] == page_total(page, "Total overdraft")
    assert totals["count"] == int(page_total(page, "Bills"))
    # And they are the sum of the rows, to the cent.
    rows = api_client.get(f"/api/v1/bills/{query}&per_page=100".replace("/&", "/?")).json()
    assert sum(Decimal(row["consumption_amount"]) for row in rows["results"]) == Decimal(
        totals["consumption_amount"]
    )


def test_the_filters_are_the_bills_pages(api_client, bills):
    ids = [row["id"] for row in api_client.get("/api/v1/bills/?cycle=2026-10").json()["results"]]

    assert sorted(ids) == sorted(bill.pk for bill in bills if bill.cycle_label == "2026-10")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=paid", "status"),
        ("cycle=2026-13", "cycle"),
        ("cycle_from=2026-12&cycle_to=2026-01", "cycle_to"),
        ("product=999999", "product"),
        ("application=99999999999999999999", "application"),
        ("status=pending&status=cleared", "status"),
    ],
)
def test_a_bad_filter_is_a_400_with_field_errors_never_a_wider_list(
    api_client, bills, query, field
):
    response = api_client.get(f"/api/v1/bills/?{query}")

    assert response.status_code == 400
    body = response.json()
    assert field in body and body[field][0]
    assert "results" not in body


def test_another_organizations_application_is_a_filter_error(api_client, bills, other_application):
    response = api_client.get(f"/api/v1/bills/?application={other_application.pk}")

    assert response.status_code == 400
    assert list(response.json()) == ["application"]


def test_the_order_is_the_pages_and_stable_with_links_to_the_next_page(api_client, bills):
    first = api_client.get("/api/v1/bills/?per_page=2").json()
    second = api_client.get(first["next"]).json()

    assert first["count"] == 6
    assert first["previous"] is None
    assert "page=2" in first["next"] and "per_page=2" in first["next"]
    cycles = [row["billing_cycle"] for row in first["results"] + second["results"]]
    assert cycles == sorted(cycles, reverse=True)
    ids = [row["id"] for row in first["results"] + second["results"]]
    assert len(set(ids)) == 4
    # Within a cycle the newest id first, as on the page.
    assert ids[0] > ids[1]


def test_sorting_by_amount(api_client, bills):
    rows = api_client.get("/api/v1/bills/?sort=-amount&per_page=100").json()["results"]

    amounts = [Decimal(row["consumption_amount"]) for row in rows]
    assert amounts == sorted(amounts, reverse=True)


def test_a_page_past_the_end_is_a_404(api_client, bills):
    assert api_client.get("/api/v1/bills/?page=99").status_code == 404


def test_the_bill_comes_with_its_lines_and_payer(api_client, bills):
    bill = bills[0]

    body = api_client.get(f"/api/v1/bills/{bill.pk}/").json()

    assert [line["description"] for line in body["lines"]] == ["Delivered", "Failed"]
    assert body["lines"][0]["unit_price"] == "0.00015"
    assert body["lines"][0]["quantity"] == 333_333
    assert sum(Decimal(line["amount"]) for line in body["lines"]) == Decimal(
        body["consumption_amount"]
    )
    assert body["payer"]["legal_name"] == "Acme Ltd."


def test_the_pdf_is_the_consoles_and_audited_as_made_with_the_key(api_client, api_key, bill):
    key, _secret = api_key

    response = api_client.get(f"/api/v1/bills/{bill.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert bill.number in response["Content-Disposition"]
    assert bill.number in PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    event = AuditEvent.objects.get(action=AuditEvent.Action.BILL_DOWNLOAD)
    assert event.actor is None
    assert event.actor_username == f"API key {key.prefix}"
    assert event.details["api_key"] == {
        "id": key.pk,
        "prefix": key.prefix,
        "name": "Month-end script",
    }
    assert event.organization == bill.organization
    assert event.object_id == str(bill.pk)


def test_the_pdf_reads_in_the_language_the_script_accepts(api_key, bill, settings):
    client = Client(headers={"authorization": f"Bearer {api_key[1]}", "accept-language": "zh-CN"})

    # LocaleMiddleware leaves the request's language active in this thread: restored after.
    with translation.override(None):
        pdf = client.get(f"/api/v1/bills/{bill.pk}/pdf/").content
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()

    assert "账单" in text


def test_the_products_with_prices_in_the_organizations_currency(api_client, products):
    from bills.demo import ensure_prices

    ensure_prices(products, {"USD", "EUR"})

    rows = api_client.get("/api/v1/products/").json()

    sms = next(row for row in rows if row["code"] == "sms")
    assert sms["prices"] and {price["currency"] for price in sms["prices"]} == {"USD"}
    assert all(isinstance(price["unit_price"], str) for price in sms["prices"])


def test_the_orders_list_and_detail(api_client, organization, member, products, other_organization):
    order = order_place(
        organization=organization,
        product=products["sms"],
        order_type=Order.Type.TOP_UP,
        amount=Decimal("100.00"),
        ordered_by=member,
    )
    theirs = order_place(
        organization=other_organization,
        product=products["sms"],
        order_type=Order.Type.TOP_UP,
        amount=Decimal("5.00"),
        ordered_by=make_user("gina", other_organization),
    )

    listed = api_client.get("/api/v1/orders/").json()
    detail = api_client.get(f"/api/v1/orders/{order.pk}/").json()

    assert [row["number"] for row in listed["results"]] == [order.number]
    assert detail["amount"] == "100.00" and detail["currency"] == "USD"
    assert detail["ordered_by"] == "alice"
    assert api_client.get(f"/api/v1/orders/{theirs.pk}/").status_code == 404
    assert api_client.get("/api/v1/orders/?ordered_from=yesterday").status_code == 400


def test_a_viewer_signed_in_reads_bills_but_not_orders(organization, bill):
    viewer = Client()
    viewer.force_login(make_user("vera", organization, Membership.Role.VIEWER))

    assert viewer.get("/api/v1/bills/").status_code == 200
    refused = viewer.get("/api/v1/orders/")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "This endpoint needs the Finance role."}


def queries_for(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("filtered", [False, True])
def test_the_list_runs_the_same_queries_for_3_bills_as_for_30(
    api_client, make_bill, application, products, filtered, settings
):
    query = (
        f"?status=pending&cycle_from=2026-01&product={products['app_push'].pk}" if filtered else ""
    )
    # The totals' cache would hide the query that adds them up.
    settings.CACHES = settings.CACHES | {
        "bill_summaries": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    }
    for month in range(1, 4):
        make_bill(application, cycle=f"2026-{month:02d}")
    few = queries_for(api_client, f"/api/v1/bills/{query}")
    for month in range(4, 13):
        for product in ("sms", "email", "otp"):
            make_bill(application, cycle=f"2026-{month:02d}", product=product)

    assert queries_for(api_client, f"/api/v1/bills/{query}") == few
    assert queries_for(api_client, "/api/v1/products/") <= few  # prices prefetched
