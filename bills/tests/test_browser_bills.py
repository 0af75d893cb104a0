"""In a real browser: from "Bills to be paid" to exactly the bills a user looks for."""

from __future__ import annotations

import pytest

from bills.services import bill_clear
from bills.tests.fixtures import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_narrows_bills_to_be_paid_to_a_product_and_a_range_of_months(
    page, member, make_bill, application, whatsapp_application, other_application
):
    # Wanted: App Push, Pending, 2026-07 to 2026-09.
    make_bill(application, cycle="2026-07", product="app_push")
    make_bill(application, cycle="2026-08", product="app_push", overdraft="12.34")
    make_bill(whatsapp_application, cycle="2026-09", product="app_push")
    # Each of these fails one of the filters.
    bill_clear(bill=make_bill(application, cycle="2026-09", product="app_push"))
    make_bill(application, cycle="2026-06", product="app_push")
    make_bill(application, cycle="2026-10", product="app_push")
    make_bill(application, cycle="2026-08", product="sms")
    make_bill(other_application, cycle="2026-08", product="app_push")

    log_in(page, "alice")
    page.get_by_role("link", name="Bills to be paid").click()
    assert page.url.endswith("/bills/?status=pending")
    assert page.get_by_label("Status").input_value() == "pending"
    assert page.locator(".summary-card").first.inner_text().split()[:2] == ["BILLS", "6"]

    page.get_by_label("App Push").check()
    page.get_by_label("From", exact=True).fill("2026-07")
    page.get_by_label("To", exact=True).fill("2026-09")
    page.get_by_label("To", exact=True).press("Enter")  # the keyboard submits the form
    page.wait_for_load_state()

    rows = [
        [cell.inner_text().strip() for cell in row.locator("td").all()[:7]]
        for row in page.locator("table.bill-table tbody tr").all()
    ]
    assert [row[0] for row in rows] == ["App Push"] * 3
    assert [(row[2], row[1].split("AppKey")[1].split()[0]) for row in rows] == [
        ("2026-09", "acmekey0002"),
        ("2026-08", "acmekey0001"),
        ("2026-07", "acmekey0001"),
    ]
    assert {row[5] for row in rows} == {"Pending"}
    assert "Showing 1–3 of 3 bills" in page.locator("main").inner_text()
    assert page.get_by_label("App Push").is_checked()
    assert page.get_by_label("From", exact=True).input_value() == "2026-07"

    page.get_by_role("link", name="Reset").click()
    assert page.locator("table.bill-table tbody tr").count() == 7
