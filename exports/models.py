"""An export: a file a member asked for, made by a background job (exports.tasks).

See shared/DESIGN.md ("Exports"): queued -> running (rows or bills done of the total) ->
ready (a file, until it expires) or failed (a reason a person can act on) or cancelled.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, npgettext
from django.utils.translation import gettext_lazy as _

from bills.models import Organization, TenantQuerySet


def export_storage():
    """The storage of settings.EXPORTS_STORAGE_ALIAS; a callable, so that the settings
    decide where files go, not the migration."""
    return storages[settings.EXPORTS_STORAGE_ALIAS]


class ExportQuerySet(TenantQuerySet):
    def active(self) -> ExportQuerySet:
        return self.filter(status__in=Export.ACTIVE)

    def expired(self, now: dt.datetime | None = None) -> ExportQuerySet:
        """Ready ones past their expiry; failed and cancelled ones as old as that."""
        now = now or timezone.now()
        return self.filter(
            Q(expires_at__lte=now)
            | Q(
                status__in=[Export.Status.FAILED, Export.Status.CANCELLED],
                finished_at__lte=now - settings.EXPORT_RETENTION,
            )
        )

    def stalled(self, now: dt.datetime | None = None) -> ExportQuerySet:
        """Running, but no progress for longer than a live worker ever takes between two
        reports: its worker was killed or lost the database."""
        before = (now or timezone.now()) - dt.timedelta(seconds=settings.EXPORT_STALLED_SECONDS)
        return self.filter(status=Export.Status.RUNNING, progress_at__lt=before)


class Export(models.Model):
    class Format(models.TextChoices):
        XLSX = "xlsx", _("Excel (.xlsx)")
        CSV = "csv", _("CSV")
        ZIP = "zip", _("Bill PDFs (.zip)")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    CONTENT_TYPES = {
        Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Format.CSV: "text/csv; charset=utf-8",
        Format.ZIP: "application/zip",
    }

    # Not a counter: an export's address reveals nothing about how many others exist.
    id = models.UUIDField(
        primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id")
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="exports",
        verbose_name=_("organization"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_by_name = models.CharField(max_length=150, verbose_name=_("requested by name"))
    # Asked for through the API with this key (then requested_by is empty and
    # requested_by_name is the key's name). Keys are revoked, never deleted.
    api_key = models.ForeignKey(
        "api.ApiKey",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("API key"),
    )
    requested_at = models.DateTimeField(default=timezone.now, verbose_name=_("requested at"))
    file_format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    # The filter as it was asked for (the Bills page's own query), frozen at request time.
    query = models.CharField(max_length=2000, blank=True, verbose_name=_("query"))
    description = models.CharField(_("filter"), max_length=1000)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, verbose_name=_("status")
    )
    # How many rows (bills) the export holds, and how many are written so far.
    total = models.PositiveIntegerField(default=0, verbose_name=_("total"))
    done = models.PositiveIntegerField(default=0, verbose_name=_("done"))
    progress_at = models.DateTimeField(null=True, blank=True, verbose_name=_("progress at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    # The failure's reason as its English msgid (exports.jobs marks each with
    # gettext_noop): shown in the language of whoever reads the Exports page.
    error = models.CharField(max_length=500, blank=True, verbose_name=_("error"))
    file = models.FileField(
        storage=export_storage, max_length=300, blank=True, verbose_name=_("file")
    )
    size = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=_("size"))
    task_id = models.CharField(max_length=64, blank=True, verbose_name=_("task id"))
    # The requester's language: the worker has no request, and writes the file (headers,
    # status words, each PDF of a ZIP) in this one.
    language = models.CharField(
        max_length=16,
        default=settings.LANGUAGE_CODE,
        verbose_name=_("language"),
    )

    objects = ExportQuerySet.as_manager()

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-requested_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "-requested_at"], name="export_org_time_idx"),
            models.Index(
                fields=["status", "progress_at"],
                condition=Q(status="running"),
                name="export_running_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(done__lte=models.F("total")), name="export_done"),
            models.CheckConstraint(
                condition=~Q(status="ready") | ~Q(file=""), name="export_ready_has_file"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_file_format_display()} of {self.description}"

    def get_absolute_url(self) -> str:
        return reverse("exports:list") + f"#export-{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_downloadable(self) -> bool:
        return self.status == self.Status.READY and not self.is_expired

    @property
    def error_message(self) -> str:
        """Why it failed, in the active language (the reader's)."""
        return gettext(self.error) if self.error else ""

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def unit(self) -> str:
        # What `total` counts, agreeing with it: "1 row", "2 rows".
        if self.file_format == self.Format.ZIP:
            return npgettext("export unit", "bill", "bills", self.total)
        return npgettext("export unit", "row", "rows", self.total)

    @property
    def content_type(self) -> str:
        return self.CONTENT_TYPES[self.file_format]

    @property
    def filename(self) -> str:
        day = timezone.localtime(self.requested_at).strftime("%Y%m%d")
        return f"bills-{self.organization.slug}-{day}-{str(self.pk)[:8]}.{self.file_format}"
