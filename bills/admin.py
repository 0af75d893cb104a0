from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .audit import client_ip
from .models import (
    Application,
    AuditEvent,
    Bill,
    BillLine,
    Membership,
    Order,
    Organization,
    Product,
    ProductPrice,
)
from .services import InvalidTransition, bill_clear


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "country", "billing_email"]
    search_fields = ["name", "legal_name", "tax_id", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        # Currency and time zone are fixed once the organization exists.
        return ["currency", "time_zone"] if obj else []


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]


class ProductPriceInline(admin.TabularInline):
    model = ProductPrice
    extra = 0
    fields = ["currency", "description", "min_quantity", "unit_price", "position"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "usage_unit", "position"]
    search_fields = ["name", "code"]
    inlines = [ProductPriceInline]


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "app_key", "app_id", "whatsapp_business_account"]
    list_select_related = ["organization"]
    search_fields = ["name", "app_key", "app_id", "whatsapp_business_account"]
    autocomplete_fields = ["organization"]


class BillLineInline(admin.TabularInline):
    model = BillLine
    extra = 0
    can_delete = False
    fields = ["position", "description", "quantity", "unit", "unit_price", "amount"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.action(description="Mark selected bills as Cleared")
def mark_cleared(modeladmin, request: HttpRequest, queryset: QuerySet[Bill]) -> None:
    cleared = skipped = 0
    for bill in queryset:
        try:
            bill_clear(bill=bill, by=request.user, ip_address=client_ip(request))
        except InvalidTransition:
            skipped += 1
        else:
            cleared += 1
    modeladmin.message_user(request, f"{cleared} bill(s) marked Cleared.", messages.SUCCESS)
    if skipped:
        modeladmin.message_user(
            request,
            f"{skipped} bill(s) were already Cleared and were left as they are.",
            messages.WARNING,
        )


@admin.register(Bill)
class BillAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "organization",
        "product",
        "application",
        "billing_cycle",
        "consumption_amount",
        "overdraft_amount",
        "currency",
        "status",
    ]
    list_filter = ["status", "product", "billing_cycle"]
    list_select_related = ["organization", "product", "application"]
    search_fields = ["number", "organization__name", "application__name", "application__app_key"]
    date_hierarchy = "billing_cycle"
    actions = [mark_cleared]
    inlines = [BillLineInline]
    # An issued bill is a financial record: a correction is a new adjustment, not
    # an edit, and clearing is the explicit action above.
    readonly_fields = [
        "number",
        "organization",
        "product",
        "application",
        "whatsapp_business_account",
        "billing_cycle",
        "service_usage",
        "consumption_amount",
        "overdraft_amount",
        "currency",
        "status",
        "bill_date",
        "cleared_at",
        "payer_legal_name",
        "payer_tax_id",
        "payer_address",
        "payer_country",
        "payer_email",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request) -> bool:
        # Bills are issued by the billing run (bills.services.bill_issue), never typed in.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "organization",
        "product",
        "order_type",
        "status",
        "amount",
        "currency",
        "payment_method",
        "ordered_by",
        "ordered_at",
    ]
    list_filter = ["order_type", "status", "product"]
    list_select_related = ["organization", "product", "ordered_by"]
    search_fields = ["number", "organization__name"]
    autocomplete_fields = ["organization", "ordered_by", "bill"]
    readonly_fields = ["number"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, read-only: staff look, nobody edits history."""

    list_display = [
        "occurred_at",
        "action",
        "actor_username",
        "organization",
        "object_repr",
        "summary",
        "ip_address",
    ]
    list_filter = ["action", "organization", "occurred_at"]
    list_select_related = ["organization"]
    search_fields = ["actor_username", "object_repr", "organization__name", "ip_address"]
    date_hierarchy = "occurred_at"
    fields = [
        "occurred_at",
        "action",
        "actor",
        "actor_username",
        "organization",
        "object_type",
        "object_id",
        "object_repr",
        "details",
        "ip_address",
    ]
    readonly_fields = fields

    @admin.display(description="details")
    def summary(self, event: AuditEvent) -> str:
        return ", ".join(f"{key}={value}" for key, value in event.details.items())

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
