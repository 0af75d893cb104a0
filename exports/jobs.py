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
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

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
    gettext_lazy("Bill Number"),
    gettext_lazy("Billing Cycle"),
    gettext_lazy("Product"),
    gettext_lazy("Application"),
    "AppKey",
    gettext_lazy("Consumption Amount"),
    gettext_lazy("Currency"),
    gettext_lazy("Payment Status"),
    gettext_lazy("File"),
)
# Failure reasons are stored as their English msgids (Export.error_message translates them
# for whoever reads the Exports page): gettext_noop only marks them for makemessages.
INVALID_FILTER = gettext_noop("The filter is no longer valid. Export again from the Bills page.")
NOT_STORED = gettext_noop(
    "The file could not be stored (the export storage is full or not writable). "
    "Try again later; if it keeps failing, tell support."
)
TOO_MANY_ROWS = gettext_noop(
    "This filter selects more bills than an Excel sheet holds. Narrow the filter, for "
    "example to fewer billing cycles, or export CSV."
)
NO_DATABASE = gettext_noop(
    "The database could not be reached while the export ran. Export again in a few minutes."
)
UNEXPECTED = gettext_noop("The export stopped on an unexpected error. Export again.")


class Cancelled(Exception):
    """The member cancelled the export while it ran."""


class ExportFailed(Exception):
    """A failure the member can act on; its message, a msgid, is shown on the Exports page."""


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
    language = Export.objects.filter(pk=export_id).values_list("language", flat=True).first()
    # No request here: the file is written in the language of the member who asked for it.
    with translation.override(language or settings.LANGUAGE_CODE):
        return _run(export_id)


def _run(export_id: str) -> str:
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
                raise ExportFailed(NOT_STORED) from error
        except Cancelled:
            logger.info("Export %s cancelled at %d of %d", export.pk, progress.done, export.total)
            return Export.Status.CANCELLED
        except (ExportFailed, excel.TooManyRows) as error:
            _fail(export, str(error) if isinstance(error, ExportFailed) else TOO_MANY_ROWS)
            return Export.Status.FAILED
        except (OperationalError, InterfaceError):
            logger.exception("Export %s lost the database", export.pk)
            # On a fresh connection if the database is back; if it is still gone, the
            # Exports page fails the export as stalled, later.
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()
            with suppress(OperationalError, InterfaceError):
                _fail(export, NO_DATABASE)
            raise
        except BaseException:
            logger.exception("Export %s failed", export.pk)
            with suppress(OperationalError, InterfaceError):
                _fail(export, UNEXPECTED)
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


def _write_sheet(export: Export, output, progress: Progress) -> excel.ExportSummary:
    bills = filter_for(export)
    if bills.is_bound and not bills.is_valid():
        raise ExportFailed(INVALID_FILTER)
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
        raise ExportFailed(INVALID_FILTER)
    index = io.StringIO()
    writer = csv.writer(index, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([str(header) for header in ZIP_INDEX_HEADERS])
    selected = bills.qs.select_related("organization", "product", "application")
    # PDFs are compressed already: stored as they are, the ZIP costs no CPU of its own.
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_STORED) as archive:
        for bill in progress.count(selected.iterator(chunk_size=200)):
            name = f"{bill.number}.pdf"
            try:
                archive.writestr(name, render_bill_pdf(bill))
            except (BillTooLarge, RenderTimedOut) as error:
                logger.warning("Bill %s left out of export %s: %s", bill.number, export.pk, error)
                name = _("not included: too large to render, download it from its page")
            writer.writerow(
                [
                    excel.safe_text(bill.number),
                    formats.date_format(bill.billing_cycle, "YEAR_MONTH_FORMAT"),
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
