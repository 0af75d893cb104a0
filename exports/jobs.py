"""What an export job does, in the worker: write the file, report progress, store it.

Runs in `manage.py db_worker` (exports.tasks.run_export). Knows nothing of requests: the
filter it applies is the query the member asked for, frozen in the Export row.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import suppress
from types import SimpleNamespace

from django.conf import settings
from django.core.files import File
from django.db import InterfaceError, OperationalError, connection, transaction
from django.http import QueryDict
from django.utils import timezone

from bills import excel
from bills.exporting import write_bills_file
from bills.filters import BillFilter, bill_filter
from bills.money import format_money
from bills.pdf import BillTooLarge, RenderTimedOut, render_bill_pdf

from .models import Export

logger = logging.getLogger(__name__)

# How often a running job writes its progress (and learns whether it was cancelled).
REPORT_SECONDS = 1.0
ZIP_INDEX_HEADERS = (
    "Bill Number",
    "Billing Cycle",
    "Product",
    "Application",
    "AppKey",
    "Consumption Amount",
    "Currency",
    "Payment Status",
    "File",
)


class Cancelled(Exception):
    """The member cancelled the export while it ran."""


class ExportFailed(Exception):
    """A failure the member can act on; its message is shown on the Exports page."""


def filter_for(export: Export) -> BillFilter:
    """The Bills page's FilterSet on the export's organization, with its frozen query."""
    request = SimpleNamespace(organization=export.organization)
    return bill_filter(QueryDict(export.query), request)


class Progress:
    """Counts what a job has written and reports it about once a second."""

    def __init__(self, export: Export):
        self.export = export
        self.done = 0
        self.next_report = time.monotonic() + REPORT_SECONDS

    def count(self, items: Iterable) -> Iterator:
        for item in items:
            yield item
            self.done += 1
            if time.monotonic() >= self.next_report:
                self.report()
        # Every row is written: say so before the file is saved, which for a large sheet
        # takes many seconds with nothing to count (bench/bench_jobs.py, "max gap").
        self.report()

    def report(self) -> None:
        """Write the count; a row that is no longer Running was cancelled."""
        self.next_report = time.monotonic() + REPORT_SECONDS
        updated = Export.objects.filter(pk=self.export.pk, status=Export.Status.RUNNING).update(
            done=min(self.done, self.export.total), progress_at=timezone.now()
        )
        if not updated:
            raise Cancelled


def run(export_id: str) -> str:
    """Make the export's file; returns its final status. See exports.tasks.run_export."""
    now = timezone.now()
    started = Export.objects.filter(pk=export_id, status=Export.Status.QUEUED).update(
        status=Export.Status.RUNNING, started_at=now, progress_at=now
    )
    export = Export.objects.select_related("organization").get(pk=export_id)
    if not started:
        return export.status  # cancelled before a worker took it
    progress = Progress(export)
    with tempfile.TemporaryFile(prefix="export-") as output:
        try:
            if export.file_format == Export.Format.ZIP:
                _write_zip(export, output, progress)
            else:
                _write_sheet(export, output, progress)
            progress.report()  # the last count, and a last look for a cancellation
            output.seek(0)
            name = f"{export.organization_id}/{export.pk}.{export.file_format}"
            try:
                stored = export.file.storage.save(name, File(output, name=name))
            except OSError as error:
                logger.exception("Export %s could not be stored", export.pk)
                raise ExportFailed(
                    "The file could not be stored (the export storage is full or not "
                    "writable). Try again later; if it keeps failing, tell support."
                ) from error
        except Cancelled:
            logger.info("Export %s cancelled at %d of %d", export.pk, progress.done, export.total)
            return Export.Status.CANCELLED
        except (ExportFailed, excel.TooManyRows) as error:
            _fail(export, str(error) if isinstance(error, ExportFailed) else _too_many(export))
            return Export.Status.FAILED
        except (OperationalError, InterfaceError):
            logger.exception("Export %s lost the database", export.pk)
            # On a fresh connection if the database is back; if it is still gone, the
            # Exports page fails the export as stalled, later.
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()
            with suppress(OperationalError, InterfaceError):
                _fail(
                    export,
                    "The database could not be reached while the export ran. "
                    "Export again in a few minutes.",
                )
            raise
        except BaseException:
            logger.exception("Export %s failed", export.pk)
            with suppress(OperationalError, InterfaceError):
                _fail(export, "The export stopped on an unexpected error. Export again.")
            raise
    finished = timezone.now()
    with transaction.atomic():
        updated = Export.objects.filter(pk=export.pk, status=Export.Status.RUNNING).update(
            status=Export.Status.READY,
            file=stored,
            size=export.file.storage.size(stored),
            done=export.total,
            progress_at=finished,
            finished_at=finished,
            expires_at=finished + settings.EXPORT_RETENTION,
        )
    if not updated:  # cancelled (or failed as stalled) while the file was stored
        export.file.storage.delete(stored)
        return Export.objects.get(pk=export.pk).status
    return Export.Status.READY


def _fail(export: Export, reason: str) -> None:
    Export.objects.filter(pk=export.pk, status__in=Export.ACTIVE).update(
        status=Export.Status.FAILED, error=reason[:500], finished_at=timezone.now()
    )


def _too_many(export: Export) -> str:
    return (
        f"This filter selects more than {excel.MAX_XLSX_BILLS:,} bills, more than an Excel "
        "sheet holds. Narrow the filter, for example to fewer billing cycles, or export CSV."
    )


def _write_sheet(export: Export, output, progress: Progress) -> excel.ExportSummary:
    bills = filter_for(export)
    if bills.is_bound and not bills.is_valid():
        raise ExportFailed("The filter is no longer valid. Export again from the Bills page.")
    return write_bills_file(
        export.file_format,
        bills.qs,
        output,
        organization=export.organization,
        description=export.description,
        counted=progress.count,
    )


def _write_zip(export: Export, output, progress: Progress) -> None:
    """One PDF per bill, named by its number, and index.csv listing them."""
    bills = filter_for(export)
    if bills.is_bound and not bills.is_valid():
        raise ExportFailed("The filter is no longer valid. Export again from the Bills page.")
    index = io.StringIO()
    writer = csv.writer(index, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(ZIP_INDEX_HEADERS)
    selected = bills.qs.select_related("organization", "product", "application")
    # PDFs are compressed already: stored as they are, the ZIP costs no CPU of its own.
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_STORED) as archive:
        for bill in progress.count(selected.iterator(chunk_size=200)):
            name = f"{bill.number}.pdf"
            try:
                archive.writestr(name, render_bill_pdf(bill))
            except (BillTooLarge, RenderTimedOut) as error:
                logger.warning("Bill %s left out of export %s: %s", bill.number, export.pk, error)
                name = "not included: too large to render, download it from its page"
            writer.writerow(
                [
                    excel.safe_text(bill.number),
                    bill.cycle_label,
                    excel.safe_text(bill.product.name),
                    excel.safe_text(bill.application.name),
                    excel.safe_text(bill.application.app_key),
                    format_money(bill.consumption_amount, bill.currency),
                    bill.currency,
                    bill.get_status_display(),
                    name,
                ]
            )
        archive.writestr("index.csv", "\ufeff" + index.getvalue())
