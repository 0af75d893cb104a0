from __future__ import annotations

from django.contrib import admin

from .models import Export


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    """Exports, read-only: members ask for them, the worker makes them."""

    list_display = [
        "requested_at",
        "organization",
        "requested_by_name",
        "file_format",
        "status",
        "done",
        "total",
        "size",
    ]
    list_filter = ["status", "file_format"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "requested_by_name", "description"]
    date_hierarchy = "requested_at"
    readonly_fields = [field.name for field in Export._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
