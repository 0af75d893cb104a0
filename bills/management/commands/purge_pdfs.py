"""Delete rendered bill and credit note PDFs written longer ago than BILL_PDF_RETENTION_DAYS.

    manage.py purge_pdfs [--older-than-days N]

A PDF is only ever derived from its bill (bills/pdf.py): deleting one costs a render the
next time it is downloaded. Old versions (a bill since cleared, a layout since changed)
are never read again, so without this the storage only grows. Run it daily (cron, a
systemd timer), on one machine: every server shares the storage.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from django.conf import settings
from django.core.files.storage import storages
from django.core.management.base import BaseCommand
from django.utils import timezone

from bills.pdf import STORAGE_ALIAS


class Command(BaseCommand):
    help = "Delete rendered bill PDFs written longer ago than BILL_PDF_RETENTION_DAYS."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than-days",
            type=int,
            default=settings.BILL_PDF_RETENTION.days,
            help="delete files written more than this many days ago (default: %(default)s)",
        )

    def handle(self, *args, older_than_days: int, **options) -> None:
        storage = storages[STORAGE_ALIAS]
        cutoff = timezone.now() - dt.timedelta(days=older_than_days)
        deleted = kept = 0
        # One directory per bill or credit note number (bills.pdf.cache_key).
        try:
            directories, _ = storage.listdir("")
        except FileNotFoundError:  # nothing rendered yet
            directories = []
        for directory in directories:
            left = 0
            for name in storage.listdir(directory)[1]:
                path = f"{directory}/{name}"
                try:
                    if storage.get_modified_time(path) >= cutoff:
                        left += 1
                        continue
                    storage.delete(path)
                except FileNotFoundError:  # a concurrent purge took it
                    continue
                deleted += 1
            kept += left
            if not left:
                # A directory storage removes an empty directory (other storages have
                # none); one that a render has just written to again stays.
                with contextlib.suppress(OSError):
                    storage.delete(directory)
        self.stdout.write(
            f"Deleted {deleted} PDF(s) written more than {older_than_days} day(s) ago; kept {kept}."
        )
