"""Delete audit events older than the retention period: the audit trail's only delete.

    manage.py purge_audit --older-than-years 7

The purge is itself audited (how many rows, up to when, who ran it). The database refuses
every other delete of the trail (migration 0009).
"""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from bills.models import AuditEvent

# Tax records are commonly kept for 5 to 10 years: nothing younger than a year is purged.
MIN_YEARS = 1


class Command(BaseCommand):
    help = "Delete audit events older than N years (at least 1); the purge itself is audited."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than-years", type=int, required=True, metavar="N", dest="years"
        )

    def handle(self, *args, years: int, **options) -> None:
        if years < MIN_YEARS:
            raise CommandError(f"Keep at least {MIN_YEARS} year of audit trail (got {years}).")
        now = timezone.now()
        # Leap days: 29 February goes back to 28 February.
        try:
            cutoff = now.replace(year=now.year - years)
        except ValueError:
            cutoff = now.replace(year=now.year - years, day=28)
        with transaction.atomic():
            deleted = AuditEvent.objects.purge_before(cutoff)
            # Not audit_record, which never fails: no purge without its own record.
            AuditEvent.objects.create(
                action=AuditEvent.Action.AUDIT_PURGED,
                actor_username=getpass.getuser()[:150],
                details={
                    "older_than_years": years,
                    "before": cutoff.isoformat(),
                    "deleted": deleted,
                },
            )
        self.stdout.write(f"Deleted {deleted} audit event(s) from before {cutoff:%Y-%m-%d}.")
