from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from .audit import client_ip
from .models import (
    REASON_MAX_LENGTH,
    Application,
    AuditEvent,
    Bill,
    BillLine,
    CreditNote,
    Membership,
    Order,
    Organization,
    Product,
    ProductPrice,
)
from .money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, currency_decimals, format_money
from .services import CreditRefused, InvalidTransition, bill_clear, credit_note_issue


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records nobody adds, edits or deletes here: they are final (migration 0009)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


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


@admin.action(description="Issue a credit note for the selected bill")
def issue_credit_note(modeladmin, request: HttpRequest, queryset: QuerySet[Bill]):
    bills = list(queryset[:2])
    if len(bills) != 1:
        modeladmin.message_user(
            request,
            "Select exactly one bill to credit; each credit note credits one bill.",
            messages.WARNING,
        )
        return None
    return redirect("admin:bills_bill_creditnote", bills[0].pk)


class CreditNoteForm(forms.Form):
    """What staff enter to credit a bill: an amount, optionally one line, and why."""

    line = forms.IntegerField(
        label="Line number",
        required=False,
        min_value=1,
        help_text="Leave empty to credit the bill as a whole.",
    )
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Printed on the credit note and shown to the customer.",
    )

    def __init__(self, *args, bill: Bill, **kwargs):
        super().__init__(*args, **kwargs)
        self.bill = bill
        places = currency_decimals(bill.currency)
        self.fields["amount"] = forms.DecimalField(
            label=f"Amount ({bill.currency})",
            max_digits=MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES + places,
            decimal_places=places,
            min_value=Decimal(1).scaleb(-places),
            help_text=(
                f"At most {format_money(bill.uncredited_amount, bill.currency)} "
                f"{bill.currency} is left to credit."
            ),
        )
        self.order_fields(["amount", "line", "reason"])

    def clean_line(self) -> BillLine | None:
        position = self.cleaned_data["line"]
        if position is None:
            return None
        line = self.bill.lines.filter(position=position).first()
        if line is None:
            raise forms.ValidationError(
                f"{self.bill.number} has lines 1 to {self.bill.line_count}."
            )
        return line


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
    actions = [mark_cleared, issue_credit_note]
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
        "credited_amount",
        "credit_notes",
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

    @admin.display(description="credit notes")
    def credit_notes(self, bill: Bill) -> str:
        notes = ", ".join(note.number for note in bill.credit_notes.all()) or "none"
        if not bill.uncredited_amount:
            return notes
        url = reverse("admin:bills_bill_creditnote", args=[bill.pk])
        return format_html('{} · <a href="{}">Issue a credit note</a>', notes, url)

    def get_urls(self):
        view = self.admin_site.admin_view(self.credit_note_view)
        return [
            path("<int:pk>/credit-note/", view, name="bills_bill_creditnote"),
            *super().get_urls(),
        ]

    def credit_note_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Issue a credit note against one bill: the amount, optionally a line, a reason."""
        if not request.user.has_perm("bills.add_creditnote"):
            raise PermissionDenied
        bill = get_object_or_404(Bill.objects.select_related("organization"), pk=pk)
        form = CreditNoteForm(request.POST if request.method == "POST" else None, bill=bill)
        if request.method == "POST" and form.is_valid():
            try:
                note = credit_note_issue(
                    bill=bill,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    bill_line=form.cleaned_data["line"],
                    issued_by=request.user,
                    ip_address=client_ip(request),
                )
            except CreditRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                self.message_user(
                    request,
                    f"{note.number} credits {format_money(note.amount, note.currency)} "
                    f"{note.currency} against {bill.number}.",
                    messages.SUCCESS,
                )
                return redirect("admin:bills_bill_change", bill.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Credit note for {bill.number}",
            "bill": bill,
            "form": form,
        }
        return TemplateResponse(request, "admin/bills/bill/credit_note.html", context)


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin):
    """Credit notes, read-only: they are issued from a bill and never change."""

    list_display = ["number", "bill", "organization", "amount", "currency", "issued_at"]
    list_select_related = ["bill", "organization"]
    search_fields = ["number", "bill__number", "organization__name", "reason"]
    date_hierarchy = "issued_at"
    fields = [
        "number",
        "bill",
        "bill_line",
        "organization",
        "amount",
        "currency",
        "reason",
        "issued_at",
        "issued_by_username",
    ]
    readonly_fields = fields


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
class AuditEventAdmin(ReadOnlyAdmin):
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
