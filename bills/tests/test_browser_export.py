"""A finance user opens "Bills to be paid", clicks "Export Data" and gets the spreadsheet."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from bills.services import bill_clear
from bills.tests.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_user_exports_the_bills_to_be_paid(page, member, make_bill, application, tmp_path):
    paid = make_bill(application, "2026-08")
    bill_clear(bill=paid)
    older = make_bill(application, "2026-09", overdraft="20.00")
    newer = make_bill(application, "2026-10", "sms")

    log_in(page, "alice")
    page.get_by_role("link", name="Bills to be paid").click()
    page.wait_for_url("**/bills/?status=pending")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export Data").click()
    download = download_info.value

    assert download.suggested_filename.startswith("bills-acme-")
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    ws = load_workbook(path)["Bills"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("Bill Number", "Billing Cycle", "Product")
    # The pending bills only, newest cycle first, then a blank line and the totals.
    assert [row[0] for row in rows[1:3]] == [newer.number, older.number]
    assert [row[12] for row in rows[1:3]] == ["Pending", "Pending"]
    assert rows[3] == (None,) * 15
    assert rows[4][0] == "Total"
    assert rows[4][10] == 300
    assert rows[4][13] == 20
    # The page itself stayed where it was.
    assert page.url.endswith("/bills/?status=pending")
