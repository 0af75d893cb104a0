"""The one FilterSet behind the Bills page and its exports, and Order Management's.

Build it on an already-scoped queryset and check `is_valid()` before reading `.qs`:
on invalid input django-filter silently drops the bad filter, which would widen the
result to bills the user did not ask for.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from .models import Application, Bill, Order, Product

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
SEARCH_MAX_LENGTH = 100

# Public sort keys -> model fields. Anything else is ignored (default: newest cycle first).
SORT_FIELDS = {
    "cycle": "billing_cycle",
    "amount": "consumption_amount",
    "overdraft": "overdraft_amount",
}
DEFAULT_ORDERING = ("-billing_cycle", "-id")


class MonthField(forms.Field):
    """`2026-10` -> date(2026, 10, 1); the value of an <input type="month">."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})
    default_error_messages = {"invalid": "Enter a month as YYYY-MM, for example 2026-10."}

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return None
        match = MONTH_PATTERN.match(value)
        if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return dt.date(int(match[1]), int(match[2]), 1)


class MonthFilter(django_filters.Filter):
    field_class = MonthField


def _own_products(request) -> QuerySet[Product]:
    return Product.objects.in_use_by(getattr(request, "organization", None))


def _own_applications(request) -> QuerySet[Application]:
    return Application.objects.for_organization(getattr(request, "organization", None))


class BillFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("cycle_from"), cleaned.get("cycle_to")
        if start and end and start > end:
            self.add_error("cycle_to", "The end month must not be before the start month.")
        return cleaned


class BillFilter(django_filters.FilterSet):
    product = django_filters.ModelMultipleChoiceFilter(
        queryset=_own_products, label="Product", widget=forms.CheckboxSelectMultiple
    )
    application = django_filters.ModelChoiceFilter(
        queryset=_own_applications, label="Application", empty_label="All applications"
    )
    cycle = MonthFilter(field_name="billing_cycle", label="Billing cycle")
    cycle_from = MonthFilter(field_name="billing_cycle", lookup_expr="gte", label="From")
    cycle_to = MonthFilter(field_name="billing_cycle", lookup_expr="lte", label="To")
    status = django_filters.ChoiceFilter(
        choices=Bill.Status.choices, label="Status", empty_label="All statuses"
    )
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        max_length=SEARCH_MAX_LENGTH,
        help_text="Application name, AppKey or WhatsApp Business Account",
    )
    sort = django_filters.CharFilter(method="sort_by", label="Sort by", max_length=20)

    class Meta:
        model = Bill
        fields: list[str] = []
        form = BillFilterForm

    def search(self, queryset: QuerySet[Bill], name: str, value: str) -> QuerySet[Bill]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(application__name__icontains=value)
            | Q(application__app_key__icontains=value)
            | Q(whatsapp_business_account__icontains=value)
        )

    def sort_by(self, queryset: QuerySet[Bill], name: str, value: str) -> QuerySet[Bill]:
        """`sort=amount` or `sort=-amount`; an unknown key keeps the default order."""
        field = SORT_FIELDS.get(value.removeprefix("-"))
        if field is None:
            return queryset
        direction = "-" if value.startswith("-") else ""
        return queryset.order_by(f"{direction}{field}", "-id")

    @property
    def qs(self) -> QuerySet[Bill]:
        if self.is_bound and not self.is_valid():
            # Never widen: an invalid filter selects nothing (the form says why).
            return self.queryset.none()
        return super().qs


def bill_filter(data, request) -> BillFilter:
    """The Bills page's FilterSet on the current organization's bills."""
    scoped = Bill.objects.for_organization(request.organization).order_by(*DEFAULT_ORDERING)
    return BillFilter(data or None, queryset=scoped, request=request)


# Order Management -----------------------------------------------------------------------

ORDER_DEFAULT_ORDERING = ("-ordered_at", "-id")
DATE_INVALID = "Enter a date as YYYY-MM-DD, for example 2026-10-31."


def _ordered_products(request) -> QuerySet[Product]:
    """Products the current organization has orders for."""
    orders = Order.objects.for_organization(getattr(request, "organization", None))
    return Product.objects.filter(pk__in=orders.values("product_id"))


def _start_of_day(day: dt.date, time_zone: str) -> dt.datetime | None:
    """Midnight of `day` in the organization's time zone, in UTC; None beyond year 1..9999."""
    try:
        midnight = dt.datetime.combine(day, dt.time.min, tzinfo=zoneinfo.ZoneInfo(time_zone))
        return midnight.astimezone(dt.UTC)
    except OverflowError:
        return None


class OrderFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("ordered_from"), cleaned.get("ordered_to")
        if start and end and start > end:
            self.add_error("ordered_to", "The end date must not be before the start date.")
        return cleaned


class OrderFilter(django_filters.FilterSet):
    """Order Management's filters; dates are days in the organization's time zone."""

    product = django_filters.ModelChoiceFilter(
        queryset=_ordered_products, label="Product", empty_label="All products"
    )
    type = django_filters.ChoiceFilter(
        field_name="order_type",
        choices=Order.Type.choices,
        label="Order type",
        empty_label="All types",
    )
    status = django_filters.ChoiceFilter(
        choices=Order.Status.choices, label="Order status", empty_label="All statuses"
    )
    ordered_from = django_filters.DateFilter(
        method="ordered_since",
        label="Ordered from",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": DATE_INVALID},
    )
    ordered_to = django_filters.DateFilter(
        method="ordered_until",
        label="Ordered to",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": DATE_INVALID},
    )

    class Meta:
        model = Order
        fields: list[str] = []
        form = OrderFilterForm

    @property
    def time_zone(self) -> str:
        return self.request.organization.time_zone

    def ordered_since(self, queryset: QuerySet[Order], name: str, value: dt.date):
        start = _start_of_day(value, self.time_zone)
        # Before year 1 in UTC: no order is older, so there is nothing to exclude.
        return queryset if start is None else queryset.filter(ordered_at__gte=start)

    def ordered_until(self, queryset: QuerySet[Order], name: str, value: dt.date):
        """Up to the end of the day: before midnight of the next one."""
        if value == dt.date.max:
            return queryset
        end = _start_of_day(value + dt.timedelta(days=1), self.time_zone)
        return queryset if end is None else queryset.filter(ordered_at__lt=end)

    @property
    def qs(self) -> QuerySet[Order]:
        if self.is_bound and not self.is_valid():
            # Never widen: an invalid filter selects nothing (the form says why).
            return self.queryset.none()
        return super().qs


def order_filter(data, request) -> OrderFilter:
    """Order Management's FilterSet on the current organization's orders, newest first."""
    scoped = Order.objects.for_organization(request.organization).order_by(*ORDER_DEFAULT_ORDERING)
    return OrderFilter(data or None, queryset=scoped, request=request)
