"""Export Data's amounts are the bills' decimal amounts, in the sheet's XML and in the CSV.

openpyxl writes a number cell with "%.16g", which turned Decimal("551.32") into
551.3200000000001 in the file: a spreadsheet's SUM of the column then missed the totals row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from lxml import etree
from openpyxl import load_workbook

from bills import excel
from bills.models import AuditEvent
from bills.money import currency_decimals
from bills.services import LineItem

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
CONSUMPTION, OVERDRAFT = "K", "N"


def sheet_values(xlsx: bytes) -> dict[str, str]:
    """Every cell's raw `<v>` text in the sheet's XML, by reference ("K2")."""
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        root = etree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    return {
        cell.get("r"): cell.findtext(f"{MAIN}v")
        for cell in root.iter(f"{MAIN}c")
        if cell.find(f"{MAIN}v") is not None
    }


def column(values: dict[str, str], letter: str, rows: range) -> list[str]:
    return [values[f"{letter}{row}"] for row in rows]


def bill_of(make_bill, application, amount: str, overdraft: str = "0.00", month: int = 0):
    """A bill of `amount` for the `month`-th billing cycle from 1940-01 (one bill a cycle)."""
    cycle = f"{1940 + month // 12}-{month % 12 + 1:02d}"
    lines = [LineItem("Usage", 1, "messages", Decimal(amount))]
    return make_bill(application, cycle, lines=lines, overdraft=overdraft)


def test_the_sheet_holds_each_amount_as_typed_and_the_column_sums_to_the_totals_row(
    member_client, make_bill, application
):
    bill_of(make_bill, application, "551.32", overdraft="551.32", month=0)
    bill_of(make_bill, application, "1234567.89", overdraft="0.10", month=1)
    bill_of(make_bill, application, "0.10", overdraft="0.07", month=2)

    xlsx = member_client.get("/bills/export.xlsx").getvalue()

    values = sheet_values(xlsx)
    bills = range(2, 5)
    totals_row = 6  # after the blank line
    assert sorted(column(values, CONSUMPTION, bills)) == ["0.10", "1234567.89", "551.32"]
    assert sorted(column(values, OVERDRAFT, bills)) == ["0.07", "0.10", "551.32"]
    assert values[f"{CONSUMPTION}{totals_row}"] == "1235119.31"
    assert values[f"{OVERDRAFT}{totals_row}"] == "551.49"
    # What a spreadsheet's SUM() over the column shows (doubles, at two decimals) is the
    # totals row, and openpyxl reads each amount back as the nearest double to it.
    ws = load_workbook(io.BytesIO(xlsx))["Bills"]
    for letter in (CONSUMPTION, OVERDRAFT):
        read = [ws[f"{letter}{row}"].value for row in bills]
        assert [Decimal(str(value)) for value in read] == [
            Decimal(text) for text in column(values, letter, bills)
        ]
        assert f"{sum(read):.2f}" == values[f"{letter}{totals_row}"]
        assert ws[f"{letter}{totals_row}"].number_format == "#,##0.00"


def test_a_thousand_bills_of_ten_cents_total_exactly_one_hundred(
    member_client, make_bill, application
):
    for month in range(1000):
        bill_of(make_bill, application, "0.10", overdraft="0.10", month=month)

    xlsx = member_client.get("/bills/export.xlsx").getvalue()
    csv_text = member_client.get("/bills/export.csv").getvalue().decode("utf-8-sig")

    values = sheet_values(xlsx)
    assert set(column(values, CONSUMPTION, range(2, 1002))) == {"0.10"}
    assert values["K1003"] == values["N1003"] == "100.00"
    ws = load_workbook(io.BytesIO(xlsx))["Bills"]
    assert f"{sum(ws[f'K{row}'].value for row in range(2, 1002)):.2f}" == "100.00"
    rows = list(csv.reader(io.StringIO(csv_text)))[1:]
    assert {row[10] for row in rows} == {row[13] for row in rows} == {"0.10"}
    event = AuditEvent.objects.get(action=AuditEvent.Action.BILLS_EXPORT, details__format="csv")
    assert event.details["consumption"] == event.details["overdraft"] == {"USD": "100.00"}


def test_the_csv_holds_the_same_decimal_text(member_client, make_bill, application):
    bill_of(make_bill, application, "1234567.89", overdraft="551.32")

    body = member_client.get("/bills/export.csv").getvalue().decode("utf-8-sig")

    assert ',1234567.89,"USD","Pending",551.32,' in body


def row(amount: Decimal, currency: str) -> tuple:
    """One row as bills.selectors.export_rows reads it, in excel.COLUMNS order."""
    values = dict.fromkeys(excel.HEADERS, "x")
    values |= {
        "Billing Cycle": dt.date(2026, 10, 1),
        "Service Usage": 1,
        "Consumption Amount": amount,
        "Overdraft Amount": amount,
        "Credited Amount": amount,
        "Currency": currency,
        "Bill Date": dt.date(2026, 11, 3),
    }
    return tuple(values[header] for header in excel.HEADERS)


@pytest.mark.parametrize(
    ("stored", "currency"),
    [
        # The database keeps three decimal places for every currency.
        (Decimal("551.320"), "USD"),
        (Decimal("1234567.890"), "EUR"),
        (Decimal("1500.000"), "JPY"),
        (Decimal("1.234"), "KWD"),
        (Decimal("0.100"), "USD"),
    ],
)
def test_each_amount_is_written_with_its_currencys_decimals(stored: Decimal, currency: str):
    places = currency_decimals(currency)
    expected = f"{stored:.{places}f}"
    xlsx, csv_file = io.BytesIO(), io.BytesIO()

    summary = excel.write_bills_xlsx([row(stored, currency)] * 3, xlsx, organization="Acme")
    excel.write_bills_csv([row(stored, currency)], csv_file)

    values = sheet_values(xlsx.getvalue())
    assert values["K2"] == values["N2"] == expected
    assert values["K6"] == f"{3 * Decimal(expected):.{places}f}"  # the totals row
    assert summary.consumption == {currency: Decimal(expected) * 3}
    assert f",{expected}," in csv_file.getvalue().decode("utf-8-sig")


def test_an_amount_given_as_a_float_is_refused():
    with pytest.raises(TypeError):
        excel.write_bills_xlsx([row(551.32, "USD")], io.BytesIO(), organization="Acme")
