"""Delete expired export files and their rows, and fail exports whose worker stopped.

    manage.py purge_exports

Run it hourly (cron, a systemd timer, or scripts/worker, which runs it between jobs).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from exports.models import Export
from exports.services import fail_stalled


class Command(BaseCommand):
    help = "Delete expired export files and their rows; fail exports whose worker stopped."

    def handle(self, *args, **options) -> None:
        stalled = fail_stalled()
        deleted = 0
        for export in Export.objects.expired().iterator():
            if export.file:
                export.file.storage.delete(export.file.name)
            export.delete()
            deleted += 1
        self.stdout.write(f"Deleted {deleted} expired export(s); {stalled} stalled one(s) failed.")
