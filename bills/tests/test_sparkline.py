"""The Bills page's sparkline (issues 13/14): drawn from the same pass over the bills as
the page's totals, it follows the filter and agrees with them to the cent."""

from __future__ import annotations

import lxml.html
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bills.services import bill_clear
from bills.tests.html import summary


def sparkline_bars(response) -> list[str]:
    """The tooltip of each bar of the sparkline, oldest month first."""
    tree = lxml.html.fromstring(response.content.decode())
    return [
        " ".join(title.text_content().split())
        for title in tree.xpath(
            "//*[local-name()='svg'][@class='sparkline']"
            "/*[local-name()='rect']/*[local-name()='title']"
        )
    ]


def test_it_shows_the_filtered_bills_month_by_month(member_client, make_bill, application):
    make_bill(application, cycle="2026-01")
    bill_clear(bill=make_bill(application, cycle="2026-01", product="email"))
    make_bill(application, cycle="2026-03", overdraft="20.00")

    everything = member_client.get("/bills/")
    assert sparkline_bars(everything) == [
        "2026-01: 300.00 USD",
        "2026-02: 0.00 USD",  # a month without bills is an empty bar, not a missing one
        "2026-03: 150.00 USD",
    ]
    assert summary(everything)["Total consumption"] == "450.00 USD"

    pending = member_client.get("/bills/", {"status": "pending"})
    assert sparkline_bars(pending) == [
        "2026-01: 150.00 USD",
        "2026-02: 0.00 USD",
        "2026-03: 150.00 USD",
    ]
    assert summary(pending)["Total pending"] == "300.00 USD"


def test_a_selection_without_bills_has_no_sparkline(member_client, make_bill, application):
    make_bill(application, cycle="2026-01")

    response = member_client.get("/bills/", {"cycle": "2025-06"})

    assert summary(response)["Bills"] == "0"
    assert sparkline_bars(response) == []
    assert "Consumption per month" not in response.content.decode()


def test_the_sparkline_and_the_totals_read_the_bills_once(member_client, make_bill, application):
    make_bill(application, cycle="2026-01")
    make_bill(application, cycle="2026-02", product="email")

    # A search is never cached, so both are computed on every request.
    with CaptureQueriesContext(connection) as captured:
        response = member_client.get("/bills/", {"q": application.name})

    sums = [query for query in captured if "SUM(" in query["sql"].upper()]
    assert len(sums) == 1
    assert sparkline_bars(response) == ["2026-01: 150.00 USD", "2026-02: 150.00 USD"]
    assert summary(response)["Total consumption"] == "300.00 USD"
