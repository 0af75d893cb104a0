"""A finance user filters the Bills page, clicks "Export Data" and gets the spreadsheet."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from bills.services import bill_clear
from bills.tests.fixtures import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_user_exports_the_bills_to_be_paid_for_a_product(
    page, member, make_bill, application, tmp_path
):
    bill_clear(bill=make_bill(application, "2026-08"))
    older = make_bill(application, "2026-09", overdraft="20.00")
    newer = make_bill(application, "2026-10")
    make_bill(application, "2026-10", "sms")  # another product

    log_in(page, "alice")
    page.get_by_role("link", name="Bills to be paid").click()
    page.get_by_label("App Push").check()
    page.get_by_label("Search").press("Enter")
    page.wait_for_url("**/bills/?*product=*")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export Data").click()
    download = download_info.value

    assert download.suggested_filename.startswith("bills-acme-")
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    rows = list(load_workbook(path)["Bills"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Bill Number", "Billing Cycle", "Product")
    # Pending App Push bills only, newest cycle first, then a blank line and the totals.
    assert [row[0] for row in rows[1:3]] == [newer.number, older.number]
    assert {(row[2], row[12]) for row in rows[1:3]} == {("App Push", "Pending")}
    assert rows[3] == (None,) * len(rows[0])
    assert (rows[4][0], rows[4][10], rows[4][13]) == ("Total", 300, 20)
    assert len(rows) == 5
    # The page stayed where it was, with its filter.
    assert "status=pending" in page.url
    assert page.get_by_label("App Push").is_checked()
