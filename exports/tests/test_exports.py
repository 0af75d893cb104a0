"""Exports of any size: a large selection becomes a background job, the Exports page shows
it, and its file holds exactly the selected bills (issue 12).

These run the job in the test's own process (`run_export.call`); test_worker.py runs the
same journeys through a real `manage.py db_worker`."""

from __future__ import annotations

import csv
import datetime as dt
import errno
import io
import zipfile
from decimal import Decimal

import lxml.html
import openpyxl
import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pypdf import PdfReader

from bills import exporting
from bills.models import AuditEvent
from bills.services import bill_clear
from exports import jobs
from exports.models import Export
from exports.tasks import run_export


@pytest.fixture
def small_inline_limit(settings):
    """Exports of more than 2 bills are background jobs in these tests."""
    settings.EXPORT_INLINE_MAX_ROWS = {"xlsx": 2, "csv": 2}


@pytest.fixture
def bills(make_bill, application):
    """Five bills, 2026-06 to 2026-10; the two oldest Cleared."""
    made = [make_bill(application, cycle=f"2026-{month:02d}") for month in range(6, 11)]
    for bill in made[:2]:
        bill_clear(bill=bill)
    return made


def text(response) -> str:
    tree = lxml.html.fromstring(response.content.decode())
    return " ".join(tree.xpath("//main")[0].text_content().split())


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def queue(client, url: str) -> Export:
    """What the user does: follow the button, confirm, land on the Exports page."""
    confirm = client.get(url)
    assert confirm.status_code == 200
    landed = client.post(url, follow=True)
    assert landed.redirect_chain[-1][0] == "/exports/"
    return Export.objects.get()


def run(export: Export) -> Export:
    run_export.call(str(export.pk))
    export.refresh_from_db()
    return export


def test_a_small_selection_still_downloads_at_once(member_client, bills, small_inline_limit):
    response = member_client.get("/bills/export.csv?status=cleared")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert not Export.objects.exists()


def test_a_large_selection_becomes_a_job_that_the_exports_page_shows(
    member_client, bills, small_inline_limit
):
    confirm = member_client.get("/bills/export.xlsx?status=pending")
    assert "This filter selects 3 bills (Status: Pending)" in text(confirm)

    export = queue(member_client, "/bills/export.xlsx?status=pending")

    assert export.status == Export.Status.QUEUED
    assert export.total == 3
    assert export.description == "Status: Pending"
    assert export.requested_by_name == "alice"
    assert DBTaskResult.objects.get(id=export.task_id).status == "READY"
    page = text(member_client.get("/exports/"))
    assert "Excel (.xlsx) Status: Pending" in page
    assert "Queued 3 rows, waiting for a worker" in page
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT_REQUESTED).count() == 1


def test_the_file_holds_exactly_the_selected_bills(member_client, bills, small_inline_limit):
    export = run(queue(member_client, "/bills/export.xlsx?status=pending"))

    assert export.status == Export.Status.READY
    assert export.done == export.total == 3
    assert export.expires_at - export.finished_at == dt.timedelta(days=7)
    page = member_client.get("/exports/")
    assert "Ready 3 rows" in text(page)
    download = member_client.get(f"/exports/{export.pk}/download/")
    assert download.status_code == 200
    assert "no-store" in download["Cache-Control"]
    sheet = openpyxl.load_workbook(io.BytesIO(body(download))).active
    numbers = [row[0] for row in sheet.iter_rows(min_row=2, max_row=4, values_only=True)]
    assert numbers == [bill.number for bill in reversed(bills[2:])]
    assert export.size == len(body(member_client.get(f"/exports/{export.pk}/download/")))
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT_DOWNLOAD).count() == 2


def test_a_csv_job(member_client, bills, small_inline_limit):
    export = run(queue(member_client, "/bills/export.csv"))

    rows = list(
        csv.reader(
            io.StringIO(
                body(member_client.get(f"/exports/{export.pk}/download/")).decode("utf-8-sig")
            )
        )
    )
    assert [row[0] for row in rows[1:]] == [bill.number for bill in reversed(bills)]


def test_download_bills_as_one_zip(member_client, bills):
    export = run(queue(member_client, "/bills/export.zip?cycle_from=2026-08"))

    assert export.status == Export.Status.READY
    archive = zipfile.ZipFile(
        io.BytesIO(body(member_client.get(f"/exports/{export.pk}/download/")))
    )
    expected = [bill.number for bill in reversed(bills[2:])]
    assert archive.namelist() == [f"{number}.pdf" for number in expected] + ["index.csv"]
    for number in expected:
        pdf = PdfReader(io.BytesIO(archive.read(f"{number}.pdf")))
        assert number in pdf.pages[0].extract_text()
    index = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode("utf-8-sig"))))
    assert [row["Bill Number"] for row in index] == expected
    assert index[0] == {
        "Bill Number": expected[0],
        "Billing Cycle": "2026-10",
        "Product": "App Push",
        "Application": "Acme Shop",
        "AppKey": "acmekey0001",
        "Consumption Amount": "150.00",
        "Currency": "USD",
        "Payment Status": "Pending",
        "File": f"{expected[0]}.pdf",
    }


def test_a_zip_beyond_its_maximum_is_refused_with_the_number(member_client, bills, settings):
    settings.EXPORT_ZIP_MAX_BILLS = 4

    response = member_client.post("/bills/export.zip", follow=True)

    assert "This filter selects 5 bills; one ZIP holds at most 4." in text(response)
    assert not Export.objects.exists()


def test_an_invalid_filter_is_refused_before_anything_is_queued(member_client, bills):
    response = member_client.post("/bills/export.zip?status=paid", follow=True)

    assert "Nothing was exported. Status:" in text(response)
    assert not Export.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_asking_twice_reuses_the_running_export(member_client, bills, small_inline_limit):
    first = queue(member_client, "/bills/export.csv")
    again = member_client.post("/bills/export.csv", follow=True)

    assert Export.objects.get() == first
    assert "That export is already being prepared" in text(again)


def test_a_member_has_at_most_a_few_exports_queued(member_client, bills, settings):
    settings.EXPORTS_ACTIVE_PER_USER = 2
    for query in ("?status=pending", "?status=cleared"):
        member_client.post(f"/bills/export.zip{query}")

    refused = member_client.post("/bills/export.zip", follow=True)

    assert Export.objects.count() == 2
    assert "You already have 2 exports queued or running" in text(refused)


def test_a_queued_export_can_be_cancelled(member_client, bills, small_inline_limit):
    export = queue(member_client, "/bills/export.csv")

    member_client.post(f"/exports/{export.pk}/cancel/")

    assert run(export).status == Export.Status.CANCELLED
    assert not export.file
    assert "Cancelled" in text(member_client.get("/exports/"))


def test_a_running_export_stops_when_cancelled(
    member_client, bills, small_inline_limit, monkeypatch, export_storage
):
    export = queue(member_client, "/bills/export.csv")
    monkeypatch.setattr(jobs, "REPORT_SECONDS", 0)
    rows = exporting.export_rows

    def cancel_midway(queryset):
        for number, row in enumerate(rows(queryset)):
            if number == 1:
                member_client.post(f"/exports/{export.pk}/cancel/")
            yield row

    monkeypatch.setattr(exporting, "export_rows", cancel_midway)

    assert run(export).status == Export.Status.CANCELLED
    assert not export.file
    assert not (export_storage.exists("") and any(export_storage.listdir("")))


def test_a_storage_that_cannot_be_written_fails_with_a_reason(
    member_client, bills, small_inline_limit, export_storage, monkeypatch
):
    def full(name, content, max_length=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_storage, "save", full)
    export = run(queue(member_client, "/bills/export.csv"))

    assert export.status == Export.Status.FAILED
    page = text(member_client.get("/exports/"))
    assert "Failed The file could not be stored (the export storage is full" in page
    assert "Download" not in page


def test_an_export_whose_worker_stopped_is_failed_after_a_while(
    member_client, bills, small_inline_limit, settings
):
    export = queue(member_client, "/bills/export.csv")
    stale = timezone.now() - dt.timedelta(seconds=settings.EXPORT_STALLED_SECONDS + 1)
    Export.objects.filter(pk=export.pk).update(
        status=Export.Status.RUNNING, done=1, progress_at=stale
    )

    page = text(member_client.get("/exports/"))

    export.refresh_from_db()
    assert export.status == Export.Status.FAILED
    assert "the worker making it ended unexpectedly. Export again." in page


def test_progress_shows_while_running(member_client, bills, small_inline_limit):
    export = queue(member_client, "/bills/export.csv")
    Export.objects.filter(pk=export.pk).update(
        status=Export.Status.RUNNING, done=2, progress_at=timezone.now()
    )

    response = member_client.get("/exports/")

    tree = lxml.html.fromstring(response.content.decode())
    (bar,) = tree.xpath("//progress")
    assert (bar.get("value"), bar.get("max")) == ("2", "5")
    assert "Running" in text(response)
    assert "2 of 5 rows" in text(response)
    assert tree.xpath("//script[contains(@src, 'exports.js')]")
    assert "refresh" in response.content.decode()  # the <noscript> refresh


def test_expired_files_are_refused_and_purged(member_client, bills, small_inline_limit):
    export = run(queue(member_client, "/bills/export.csv"))
    storage = Export._meta.get_field("file").storage
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now())

    assert "Expired" in text(member_client.get("/exports/"))
    refused = member_client.get(f"/exports/{export.pk}/download/", follow=True)
    assert "That export has expired; export again." in text(refused)

    call_command("purge_exports", stdout=io.StringIO())

    assert not Export.objects.exists()
    assert not storage.exists(export.file.name)


def test_another_organizations_export_is_a_404(
    client, bills, outsider, small_inline_limit, member_client
):
    export = run(queue(member_client, "/bills/export.csv"))
    client.force_login(outsider)

    assert client.get(f"/exports/{export.pk}/download/").status_code == 404
    assert client.post(f"/exports/{export.pk}/cancel/").status_code == 404
    assert "No exports yet" in text(client.get("/exports/"))


def test_money_in_the_zip_index_keeps_the_currencys_minor_units(
    member_client, make_bill, application
):
    from bills.services import LineItem

    make_bill(application, lines=[LineItem("SMS", 3, "messages", Decimal("0.335"))])

    export = run(queue(member_client, "/bills/export.zip"))

    archive = zipfile.ZipFile(
        io.BytesIO(body(member_client.get(f"/exports/{export.pk}/download/")))
    )
    (row,) = csv.DictReader(io.StringIO(archive.read("index.csv").decode("utf-8-sig")))
    assert row["Consumption Amount"] == "1.01"


def test_losing_the_database_mid_export_fails_it_and_offers_nothing(
    member_client, bills, small_inline_limit, monkeypatch, export_storage
):
    from django.db import OperationalError

    export = queue(member_client, "/bills/export.csv")
    rows = exporting.export_rows

    def database_lost(queryset):
        yield next(iter(rows(queryset)))
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(exporting, "export_rows", database_lost)

    with pytest.raises(OperationalError):
        run_export.call(str(export.pk))

    export.refresh_from_db()
    assert export.status == Export.Status.FAILED
    assert "The database could not be reached while the export ran" in export.error
    assert not export.file
    assert not (export_storage.exists("") and any(export_storage.listdir("")))


def test_every_row_is_counted_before_the_file_is_saved(
    member_client, bills, small_inline_limit, monkeypatch
):
    """Saving a large sheet takes seconds with nothing to count: the page says so."""
    export = queue(member_client, "/bills/export.csv")
    Export.objects.filter(pk=export.pk).update(status=Export.Status.RUNNING)
    export.refresh_from_db()
    progress = jobs.Progress(export)

    assert list(progress.count(range(5))) == list(range(5))

    export.refresh_from_db()
    assert export.done == export.total == 5
    assert "All 5 rows written; saving the file…" in text(member_client.get("/exports/"))
