from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from bills.audit import audit_record
from bills.models import AuditEvent

from .models import Export
from .services import export_cancel, fail_stalled


def _exports(request: HttpRequest):
    """Every export query starts here: the current organization's exports only."""
    return Export.objects.for_organization(request.organization)


def _get_export_for_user(request: HttpRequest, pk) -> Export:
    # Another organization's export is a 404, exactly like a missing one.
    return get_object_or_404(_exports(request).select_related("organization"), pk=pk)


@require_GET
def export_list(request: HttpRequest) -> HttpResponse:
    fail_stalled()
    exports = list(_exports(request)[:100])
    for export in exports:
        # The same format and frozen filter through the Bills page's own export address.
        export.again_url = f"{reverse(f'bills:export_{export.file_format}')}?{export.query}"
    statuses = [export.status for export in exports]
    return render(
        request,
        "exports/export_list.html",
        {
            "exports": exports,
            "active": any(export.is_active for export in exports),
            # The page's status line: how many are in each state that a member waits for.
            "running": statuses.count(Export.Status.RUNNING),
            "queued": statuses.count(Export.Status.QUEUED),
            "ready": sum(export.is_downloadable for export in exports),
            "failed": statuses.count(Export.Status.FAILED),
            "retention_days": settings.EXPORT_RETENTION.days,
            "section": "exports",
        },
    )


@require_GET
def export_download(request: HttpRequest, pk) -> HttpResponse:
    export = _get_export_for_user(request, pk)
    if not export.is_downloadable:
        messages.error(
            request,
            _("That export has expired; export again.")
            if export.is_expired
            else _("That export is not ready to download."),
        )
        return redirect("exports:list")
    return send_export(request, export)


def send_export(request: HttpRequest, export: Export, api_key=None) -> FileResponse:
    """A downloadable export's file, audited (naming the API key when a script asked)."""
    audit_record(
        action=AuditEvent.Action.EXPORT_DOWNLOAD,
        request=request,
        obj=export,
        details={"format": export.file_format, "size": export.size, "filter": export.description},
        api_key=api_key,
    )
    return FileResponse(
        export.file.open("rb"),
        as_attachment=True,
        filename=export.filename,
        content_type=export.content_type,
    )


@require_POST
def export_cancel_view(request: HttpRequest, pk) -> HttpResponse:
    export = _get_export_for_user(request, pk)
    if export_cancel(export=export):
        messages.success(
            request,
            _("The %(format)s export is cancelled.") % {"format": export.get_file_format_display()},
        )
    else:
        messages.error(request, _("That export has already finished; it cannot be cancelled."))
    return redirect("exports:list")
