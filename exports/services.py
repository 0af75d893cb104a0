"""Asking for an export: checks, then a row and a queued job."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bills import excel
from bills.filters import BillFilter
from bills.models import Organization
from bills.templatetags.billing import quantity

from .models import Export
from .tasks import run_export


class TooManyExports(Exception):
    """The member (or API key) already has as many exports queued or running as one may."""


def export_refusal(file_format: str, count: int) -> str | None:
    """Why `count` selected bills cannot be exported as `file_format`, in the active
    language; None when they can. The console's buttons and the API both ask here."""
    if file_format == Export.Format.XLSX and count > excel.MAX_XLSX_BILLS:
        return _(
            "Nothing was exported. This filter selects %(count)s bills; an Excel sheet holds "
            "at most %(max)s bills. Narrow the filter, for example to fewer billing cycles, "
            "or download the CSV."
        ) % {"count": quantity(count), "max": quantity(excel.MAX_XLSX_BILLS)}
    if file_format == Export.Format.ZIP and count > settings.EXPORT_ZIP_MAX_BILLS:
        return _(
            "Nothing was queued. This filter selects %(count)s bills; one ZIP holds at most "
            "%(max)s. Narrow the filter, for example to one billing cycle or one product."
        ) % {"count": quantity(count), "max": quantity(settings.EXPORT_ZIP_MAX_BILLS)}
    if file_format == Export.Format.ZIP and not count:
        return _("Nothing was queued: this filter selects no bills.")
    return None


def export_request(
    *,
    organization: Organization,
    user=None,
    api_key=None,
    file_format: str,
    bills: BillFilter,
    description: str,
    total: int,
) -> tuple[Export, bool]:
    """Queue an export of the bills `bills` selects; returns it and whether it is new.

    It is asked for by a member (`user`) or through the API with `api_key`. The same one
    asking again for the same selection and format while one is queued or running gets
    that one back. `bills` must be valid: an invalid filter is refused before anything is
    queued.
    """
    query = bills.as_query().urlencode()
    if api_key is not None:
        requester = {"requested_by": None, "api_key": api_key}
        name = api_key.name
    else:
        requester = {"requested_by": user, "api_key": None}
        name = user.get_full_name() or user.get_username()
    active = Export.objects.for_organization(organization).active().filter(**requester)
    same = active.filter(file_format=file_format, query=query).first()
    if same is not None:
        return same, False
    if active.count() >= settings.EXPORTS_ACTIVE_PER_USER:
        raise TooManyExports
    export = Export.objects.create(
        organization=organization,
        **requester,
        requested_by_name=name[:150],
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
