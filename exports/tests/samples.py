"""Exports in every state a member can see, for the pages' browser and accessibility tests."""

from __future__ import annotations

import datetime as dt

from django.core.files.base import ContentFile
from django.utils import timezone

from exports.models import Export


def exports_in_every_state(organization, user) -> dict[str, Export]:
    """One export per state (expired included), newest first in this order on the page."""
    now = timezone.now()
    storage = Export._meta.get_field("file").storage
    common = {
        "organization": organization,
        "requested_by": user,
        "requested_by_name": user.get_full_name() or user.get_username(),
    }

    def make(minutes_ago: int, **fields) -> Export:
        return Export.objects.create(
            requested_at=now - dt.timedelta(minutes=minutes_ago), **(common | fields)
        )

    def stored(name: str) -> str:
        return storage.save(f"{organization.pk}/{name}", ContentFile(b"Bill Number\n"))

    return {
        "queued": make(
            1,
            file_format=Export.Format.CSV,
            description="Status: Pending; Product: SMS, WhatsApp Business",
            total=240_000,
        ),
        "running": make(
            2,
            file_format=Export.Format.XLSX,
            description="Billing cycle: 2026-01 to 2026-10",
            status=Export.Status.RUNNING,
            total=48_000,
            done=12_345,
            started_at=now - dt.timedelta(seconds=30),
            progress_at=now,
        ),
        "ready": make(
            30,
            file_format=Export.Format.ZIP,
            description="Billing cycle: 2026-10; Product: App Push",
            status=Export.Status.READY,
            total=312,
            done=312,
            size=48_734_002,
            file=stored("ready.zip"),
            finished_at=now - dt.timedelta(minutes=29),
            expires_at=now + dt.timedelta(days=7),
        ),
        "failed": make(
            60,
            file_format=Export.Format.XLSX,
            description="All bills",
            status=Export.Status.FAILED,
            total=90_000,
            done=41_000,
            error=(
                "The file could not be stored (the export storage is full or not writable). "
                "Try again later; if it keeps failing, tell support."
            ),
            finished_at=now - dt.timedelta(minutes=58),
        ),
        "cancelled": make(
            120,
            file_format=Export.Format.CSV,
            description="Search: acmekey0001",
            status=Export.Status.CANCELLED,
            total=25_000,
            done=3_000,
            finished_at=now - dt.timedelta(minutes=119),
        ),
        "expired": make(
            60 * 24 * 9,
            file_format=Export.Format.XLSX,
            description="Status: Cleared",
            status=Export.Status.READY,
            total=21_000,
            done=21_000,
            size=1_503_220,
            file=stored("expired.xlsx"),
            finished_at=now - dt.timedelta(days=9),
            expires_at=now - dt.timedelta(days=2),
        ),
    }
