"""The Spend overview (issue 14): what the charts and tables say, where each figure leads,
that they agree to the cent with the Bills page and Export Data, and what never shows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bills.models import Application, Bill
from bills.overview import add_months, last_closed_cycle
from bills.tests.html import bill_rows, errors, filter_form, summary
from bills.tests.test_export import sheet, totals_rows

SVG = "{http://www.w3.org/2000/svg}"


def tree(response):
    return lxml.html.fromstring(response.content.decode())


def text(element) -> str:
    return " ".join(element.text_content().split())


def bar_titles(response, chart: str) -> list[str]:
    """The tooltip of every bar of a chart ("consumption", "overdraft", "applications")."""
    return [
        text(title)
        for title in tree(response).xpath(
            f"//*[local-name()='svg'][contains(@aria-labelledby, '-{chart}-title')]"
            "//*[local-name()='a'][@class='chart-bar']/*[local-name()='title']"
        )
    ]


def bar_link(response, tooltip: str) -> str:
    """The link of the bar (or total) whose tooltip starts with `tooltip`."""
    for link in tree(response).xpath("//*[local-name()='svg']//*[local-name()='a']"):
        if text(link.xpath("./*[local-name()='title']")[0]).startswith(tooltip):
            return link.get("href")
    raise AssertionError(f"no bar says {tooltip!r}")


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def cards(response) -> list[dict[str, str]]:
    """Each currency's summary cards, {"Bills": "3", "Total consumption": "1.00 USD", ...}."""
    return [
        {text(card.xpath("./dt")[0]): text(card.xpath("./dd")[0]) for card in cards.xpath("./div")}
        for cards in tree(response).xpath("//dl[@class='summary-cards']")
    ]


def table_rows(response, caption: str) -> list[list[str]]:
    """The rows of the table whose caption starts with `caption`, header cells included."""
    (table,) = [
        table
        for table in tree(response).xpath("//table")
        if text(table.xpath("./caption")[0]).startswith(caption)
    ]
    return [[text(cell) for cell in row.xpath("./th|./td")] for row in table.xpath(".//tr")]


def bulk(application, product, cycles, amount="10.00", overdraft="0.00", currency=None):
    """Bills straight into the table: one per cycle (dates) for this product."""
    organization = application.organization
    start = Bill.objects.count()
    Bill.objects.bulk_create(
        Bill(
            number=f"OV-{start + index:06d}",
            organization=organization,
            product=product,
            application=application,
            billing_cycle=cycle,
            service_usage=1,
            consumption_amount=Decimal(amount),
            overdraft_amount=Decimal(overdraft),
            currency=currency or organization.currency,
            bill_date=add_months(cycle, 1),
            payer_legal_name=organization.legal_name,
            payer_country=organization.country,
            payer_email=organization.billing_email,
        )
        for index, cycle in enumerate(cycles)
    )


@pytest.fixture
def last(organization) -> dt.date:
    return last_closed_cycle(organization)


def test_it_asks_a_visitor_to_log_in(client):
    response = client.get("/overview/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_it_is_the_first_entry_of_the_left_navigation(member_client, bill):
    response = member_client.get("/bills/")

    entries = tree(response).xpath("//nav[@class='sidenav']//li/a")
    assert [text(entry) for entry in entries][0] == "Overview"
    assert entries[0].get("href") == "/overview/"


def test_by_default_it_shows_the_last_12_closed_cycles(member_client, application, products, last):
    bulk(application, products["sms"], [add_months(last, -12), add_months(last, -11), last])

    response = member_client.get("/overview/")

    assert response.status_code == 200
    form = filter_form(response)
    assert form["cycle_from"] == [f"{add_months(last, -11):%Y-%m}"]
    assert form["cycle_to"] == [f"{last:%Y-%m}"]
    # The month before the range counts in the comparison only.
    (totals,) = cards(response)
    assert totals["Bills"] == "2"
    assert totals["Total consumption"] == "20.00 USD"
    assert len(bar_titles(response, "overdraft")) == 0  # no overdraft: no bar


def test_each_month_is_a_bar_stacked_by_product_with_its_total(
    member_client, application, products
):
    bulk(application, products["app_push"], [dt.date(2026, 9, 1)], amount="100.10")
    bulk(application, products["sms"], [dt.date(2026, 9, 1)], amount="0.25")
    bulk(application, products["sms"], [dt.date(2026, 10, 1)], amount="3.00", overdraft="1.50")

    response = member_client.get("/overview/?cycle_from=2026-09&cycle_to=2026-10")

    assert bar_titles(response, "consumption") == [
        "App Push, 2026-09: 100.10 USD",
        "SMS, 2026-09: 0.25 USD",
        "SMS, 2026-10: 3.00 USD",
    ]
    assert bar_titles(response, "overdraft") == ["Overdraft, 2026-10: 1.50 USD"]
    totals = tree(response).xpath(
        "//*[local-name()='svg'][contains(@aria-labelledby, '-consumption-title')]"
        "//*[local-name()='a'][@class='chart-total']/*[local-name()='text']"
    )
    assert [text(total) for total in totals] == ["100.35", "3.00"]
    assert table_rows(response, "Consumption per month and product") == [
        ["Billing cycle", "App Push", "SMS", "Total"],
        ["2026-09", "100.10", "0.25", "100.35"],
        ["2026-10", "", "3.00", "3.00"],
        ["Total", "", "", "103.35"],
    ]
    # Each chart has a title, a legend and an axis that names the currency.
    page = response.content.decode()
    assert "Consumption (USD)" in page and "Overdraft (USD)" in page
    legend = tree(response).xpath("//ul[@class='chart-legend'][@aria-label='Products']/li")
    assert [text(item) for item in legend] == ["App Push", "SMS"]


def test_a_bar_segment_leads_to_exactly_its_bills(
    member_client, application, whatsapp_application, products
):
    bulk(application, products["sms"], [dt.date(2026, 9, 1), dt.date(2026, 10, 1)])
    bulk(whatsapp_application, products["sms"], [dt.date(2026, 9, 1)], amount="5.00")
    bulk(application, products["email"], [dt.date(2026, 9, 1)])

    response = member_client.get("/overview/?cycle_from=2026-09&cycle_to=2026-10&status=pending")

    url = bar_link(response, "SMS, 2026-09")
    assert query_of(url) == {
        "product": [str(products["sms"].pk)],
        "cycle": ["2026-09"],
        "status": ["pending"],
    }
    rows = bill_rows(member_client.get(url))
    assert sorted(
        (row["Product"], row["Billing Cycle"], row["Consumption Amount"]) for row in rows
    ) == [
        ("SMS", "2026-09", "10.00 USD"),
        ("SMS", "2026-09", "5.00 USD"),
    ]
    # The month's total: every product of that month.
    month = bill_rows(member_client.get(bar_link(response, "2026-09, all products")))
    assert len(month) == 3


def test_the_top_applications_show_their_share_and_lead_to_their_bills(
    member_client, application, whatsapp_application, products
):
    bulk(application, products["sms"], [dt.date(2026, 9, 1)], amount="75.00")
    bulk(whatsapp_application, products["sms"], [dt.date(2026, 9, 1)], amount="25.00")

    response = member_client.get("/overview/?cycle_from=2026-08&cycle_to=2026-09")

    assert bar_titles(response, "applications") == [
        "Acme Shop: 75.00 USD, 75.0%",
        "Acme Support: 25.00 USD, 25.0%",
    ]
    assert table_rows(response, "Top applications")[1:] == [
        ["Acme Shop AppKey acmekey0001", "75.00", "75.0%"],
        ["Acme Support AppKey acmekey0002", "25.00", "25.0%"],
    ]
    url = bar_link(response, "Acme Support")
    assert query_of(url) == {
        "application": [str(whatsapp_application.pk)],
        "cycle_from": ["2026-08"],
        "cycle_to": ["2026-09"],
    }
    (row,) = bill_rows(member_client.get(url))
    assert row["Product Information"].startswith("Acme Support")


def test_only_the_ten_largest_applications_are_charted(member_client, organization, products):
    for number in range(12):
        application = Application.objects.create(
            organization=organization,
            name=f"App {number:02d}",
            app_key=f"k{number}",
            app_id=str(number),
        )
        bulk(application, products["sms"], [dt.date(2026, 9, 1)], amount=f"{number + 1}.00")

    response = member_client.get("/overview/?cycle=2026-09")

    titles = bar_titles(response, "applications")
    assert len(titles) == 10
    assert titles[0] == "App 11: 12.00 USD, 15.4%"  # 12 of 78
    assert titles[-1].startswith("App 02: 3.00 USD")


def test_each_product_is_compared_with_the_previous_range_of_the_same_length(
    member_client, application, products
):
    bulk(application, products["sms"], [dt.date(2026, 7, 1), dt.date(2026, 8, 1)], amount="10.00")
    bulk(application, products["sms"], [dt.date(2026, 9, 1), dt.date(2026, 10, 1)], amount="15.00")
    bulk(application, products["email"], [dt.date(2026, 8, 1)], amount="4.00")
    # Before the previous range: not counted.
    bulk(application, products["sms"], [dt.date(2026, 6, 1)], amount="99.00")

    response = member_client.get("/overview/?cycle_from=2026-09&cycle_to=2026-10")

    assert table_rows(response, "Consumption per product")[1:] == [
        ["Email", "0.00", "4.00", "-4.00 -100.0%"],
        ["SMS", "30.00", "20.00", "+10.00 +50.0%"],
    ]
    previous = tree(response).xpath("//table[contains(@class, 'change-table')]//a")[3]
    assert query_of(previous.get("href")) == {
        "product": [str(products["sms"].pk)],
        "cycle_from": ["2026-07"],
        "cycle_to": ["2026-08"],
    }


def test_its_totals_agree_to_the_cent_with_the_bills_page_and_export_data(
    member_client, application, whatsapp_application, products
):
    # A thousand 0.10 bills: a float would drift (99.9999999999986).
    cycles = [add_months(dt.date(2000, 1, 1), index) for index in range(1000)]
    bulk(application, products["sms"], cycles, amount="0.10", overdraft="0.03")
    bulk(whatsapp_application, products["otp"], cycles[-12:], amount="1234.57", overdraft="0.01")
    query = "cycle_from=2000-01&cycle_to=2083-04"

    overview = cards(member_client.get(f"/overview/?{query}"))
    bills = summary(member_client.get(f"/bills/?{query}"))
    ws = sheet(member_client, query)

    (totals,) = overview
    assert totals["Total consumption"] == bills["Total consumption"] == "14,914.84 USD"
    assert totals["Total overdraft"] == bills["Total overdraft"] == "30.12 USD"
    assert totals["Bills"] == bills["Bills"] == "1,012"
    header = next(ws.iter_rows(values_only=True))
    (total,) = totals_rows(ws)
    consumption = Decimal(str(total[header.index("Consumption Amount")]))
    overdraft = Decimal(str(total[header.index("Overdraft Amount")]))
    assert (consumption, overdraft) == (Decimal("14914.84"), Decimal("30.12"))


def test_several_currencies_are_charted_apart_and_never_added(member_client, application, products):
    bulk(application, products["sms"], [dt.date(2026, 9, 1)], amount="10.00")
    bulk(application, products["sms"], [dt.date(2026, 10, 1)], amount="7.00", currency="EUR")

    response = member_client.get("/overview/?cycle_from=2026-09&cycle_to=2026-10")

    headings = tree(response).xpath("//section[@class='overview-currency']/h2")
    assert [text(heading) for heading in headings] == ["Bills in EUR", "Bills in USD"]
    assert [totals["Total consumption"] for totals in cards(response)] == ["7.00 EUR", "10.00 USD"]
    assert bar_titles(response, "consumption") == [
        "SMS, 2026-10: 7.00 EUR",
        "SMS, 2026-09: 10.00 USD",
    ]
    assert "17.00" not in response.content.decode()


def test_another_organizations_bills_never_appear(
    member_client, application, other_application, products
):
    bulk(application, products["sms"], [dt.date(2026, 9, 1)], amount="10.00")
    bulk(other_application, products["email"], [dt.date(2026, 9, 1)], amount="777.77")

    response = member_client.get("/overview/?cycle=2026-09")

    page = response.content.decode()
    assert "Globex" not in page and "777.77" not in page and "Email" not in visible(response)
    assert bar_titles(response, "applications") == ["Acme Shop: 10.00 USD, 100.0%"]
    # Nor through the filter: another organization's application is not a choice.
    refused = member_client.get(f"/overview/?application={other_application.pk}")
    assert errors(refused) == ["That is not one of your applications."]
    assert "777.77" not in refused.content.decode()


def visible(response) -> str:
    return text(tree(response).xpath("//main")[0])


@pytest.mark.parametrize(
    "name", ["<script>alert('owned')</script>", 'Tom & Jerry\'s "Shop"', "]]><svg onload=x>"]
)
def test_names_typed_by_customers_are_text_in_the_charts(
    member_client, organization, products, name
):
    application = Application.objects.create(
        organization=organization, name=name, app_key="evil0001", app_id="666"
    )
    bulk(application, products["sms"], [dt.date(2026, 9, 1)])

    response = member_client.get("/overview/?cycle=2026-09")

    page = response.content.decode()
    assert "<script>alert" not in page and "<svg onload" not in page
    assert bar_titles(response, "applications") == [f"{name}: 10.00 USD, 100.0%"]
    labels = tree(response).xpath("//*[local-name()='text'][@class='chart-label']")
    assert text(labels[-1]) == " ".join(f"{name} · 100.0%".split())


def test_the_page_holds_nothing_the_content_security_policy_refuses(
    member_client, application, products
):
    bulk(application, products["sms"], [dt.date(2026, 9, 1)], overdraft="1.00")

    response = member_client.get("/overview/?cycle=2026-09")

    page = tree(response)
    assert page.xpath("//style|//script[not(@src)]|//*[@style]") == []
    assert page.xpath("//*[starts-with(@href, 'http') or starts-with(@src, 'http')]") == []
    assert page.xpath("//*[local-name()='svg']") != []
    assert "content-security-policy" in response.headers


def test_each_chart_has_its_numbers_in_a_collapsed_table(member_client, application, products):
    bulk(application, products["sms"], [dt.date(2026, 9, 1)], overdraft="1.00")

    response = member_client.get("/overview/?cycle=2026-09")

    tables = tree(response).xpath("//figure[@class='chart-card']")
    assert len(tables) == 3
    for figure in tables:
        (details,) = figure.xpath("./details")
        assert details.get("open") is None
        assert details.xpath(".//table")


def test_an_invalid_filter_shows_the_bills_pages_messages_and_no_figures(
    member_client, application, products
):
    bulk(application, products["sms"], [dt.date(2026, 9, 1)])
    query = "cycle_from=2026-10&cycle_to=2026-01&status=paid"

    response = member_client.get(f"/overview/?{query}")

    assert response.status_code == 200
    assert errors(response) == errors(member_client.get(f"/bills/?{query}"))
    assert errors(response) != []
    assert tree(response).xpath("//*[local-name()='svg'][@class='chart']") == []
    assert "No figures shown" in visible(response)


def test_an_empty_selection_says_what_to_change(member_client, application, products):
    bulk(application, products["sms"], [dt.date(2025, 9, 1)])

    response = member_client.get("/overview/?cycle_from=2026-09&cycle_to=2026-10")

    assert tree(response).xpath("//*[local-name()='svg'][@class='chart']") == []
    assert "No bills from 2026-09 to 2026-10 match these filters" in visible(response)
    (wider,) = [a for a in tree(response).xpath("//main//a") if text(a) == "from 2026-07"]
    assert query_of(wider.get("href")) == {"cycle_from": ["2026-07"], "cycle_to": ["2026-10"]}


@pytest.mark.parametrize("applications", [1, 40])
def test_the_number_of_queries_does_not_grow_with_the_bills(
    member_client, organization, products, applications, django_assert_num_queries
):
    # 72 or 2,880 bills: 24 months of three products for each application.
    months = [add_months(dt.date(2025, 1, 1), month) for month in range(24)]
    for number in range(applications):
        application = Application.objects.create(
            organization=organization,
            name=f"App {number}",
            app_key=f"k{number}",
            app_id=str(number),
        )
        for product in ("sms", "email", "otp"):
            bulk(application, products[product], months, amount=f"{number + 1}.00")
    member_client.get("/bills/")  # the session is read and its expiry written once

    with CaptureQueriesContext(connection) as queries:
        response = member_client.get("/overview/?cycle_from=2026-01&cycle_to=2026-12")

    assert response.status_code == 200
    assert len(bar_titles(response, "applications")) == min(applications, 10)
    # Session, user, organization; each FilterSet's application count (the page's, and the
    # one over this range and the previous); the months of both ranges and their products'
    # names; the top applications and their names; the product and application choices
    # the form lists. (The Pending badge is cached.)
    assert len(queries) == 11, "\n".join(query["sql"][:90] for query in queries)


def test_the_bills_page_has_a_twelve_month_sparkline(member_client, application, products):
    cycles = [add_months(dt.date(2025, 1, 1), month) for month in range(14)]
    bulk(application, products["sms"], cycles, amount="2.00")

    response = member_client.get("/bills/")

    (sparkline,) = tree(response).xpath("//*[local-name()='svg'][@class='sparkline']")
    bars = sparkline.xpath("./*[local-name()='rect']/*[local-name()='title']")
    assert [text(bar) for bar in bars][0] == "2025-03: 2.00 USD"
    assert len(bars) == 12
    assert sparkline.get("aria-label").startswith("Consumption per month from 2025-03 to 2026-02")
    assert "See the overview" in visible(response)


def test_the_figures_are_added_up_once_until_a_bill_changes(member_client, application, products):
    bulk(application, products["sms"], [dt.date(2026, 9, 1)])
    url = "/overview/?cycle=2026-09"
    member_client.get(url)

    with CaptureQueriesContext(connection) as again:
        response = member_client.get(url)
    assert [query for query in again if "SUM(" in query["sql"].upper()] == []
    assert cards(response)[0]["Total consumption"] == "10.00 USD"

    bulk(application, products["email"], [dt.date(2026, 9, 1)], amount="5.00")
    assert cards(member_client.get(url))[0]["Total consumption"] == "15.00 USD"
