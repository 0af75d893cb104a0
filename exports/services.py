"""Asking for an export: checks, then a row and a queued job."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from bills.filters import BillFilter
from bills.models import Organization

from .models import Export
from .tasks import run_export


class TooManyExports(Exception):
    """The member already has as many exports queued or running as one may."""


def export_request(
    *,
    organization: Organization,
    user,
    file_format: str,
    bills: BillFilter,
    description: str,
    total: int,
) -> tuple[Export, bool]:
    """Queue an export of the bills `bills` selects; returns it and whether it is new.

    The same member asking again for the same selection and format while one is queued or
    running gets that one back. `bills` must be valid: an invalid filter is refused before
    anything is queued.
    """
    query = bills.as_query().urlencode()
    active = Export.objects.for_organization(organization).active().filter(requested_by=user)
    same = active.filter(file_format=file_format, query=query).first()
    if same is not None:
        return same, False
    if active.count() >= settings.EXPORTS_ACTIVE_PER_USER:
        raise TooManyExports
    export = Export.objects.create(
        organization=organization,
        requested_by=user,
        requested_by_name=user.get_full_name() or user.get_username(),
        requested_at=timezone.now(),
        file_format=file_format,
        query=query,
        description=description[:1000],
        total=total,
        # The worker writes the file in the language the member reads the console in.
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    result = run_export.enqueue(str(export.pk))
    Export.objects.filter(pk=export.pk).update(task_id=str(result.id))
    return export, True


def export_cancel(*, export: Export) -> bool:
    """Cancel a queued or running export; the worker stops at its next progress report."""
    return bool(
        Export.objects.filter(pk=export.pk, status__in=Export.ACTIVE).update(
            status=Export.Status.CANCELLED, finished_at=timezone.now()
        )
    )


def fail_stalled() -> int:
    """Running exports whose worker stopped reporting (killed, or lost the database)."""
    return Export.objects.stalled().update(
        status=Export.Status.FAILED,
        finished_at=timezone.now(),
        # Stored untranslated: the Exports page shows it in its reader's language.
        error=gettext_noop(
            "The export stopped: the worker making it ended unexpectedly. Export again."
        ),
    )
