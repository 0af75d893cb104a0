"""The one FilterSet behind the Bills page and its exports, and Order Management's.

Build it on an already-scoped queryset and check `is_valid()` before reading `.qs`:
on invalid input django-filter silently drops the bad filter, which would widen the
result to bills the user did not ask for. Both FilterSets stand on StrictFilterSet,
whose `.qs` selects nothing instead.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from .models import Application, AuditEvent, Bill, Order, Product

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
SEARCH_MAX_LENGTH = 100
# Above this many matching applications a search passes them to the bill query as a
# subquery rather than a list of ids.
SEARCH_MAX_APPLICATIONS = 500
# Above this many applications the form offers no application <select> (the search finds
# applications by name or AppKey): 4,167 options made 200 KB and ~180 ms of the page.
APPLICATION_CHOICES_LIMIT = 100

# Public sort keys -> model fields. Anything else is ignored (default: newest cycle first).
SORT_FIELDS = {
    "cycle": "billing_cycle",
    "amount": "consumption_amount",
    "overdraft": "overdraft_amount",
}
DEFAULT_SORT = "-cycle"
DEFAULT_ORDERING = ("-billing_cycle", "-id")


class MonthField(forms.Field):
    """`2026-10` -> date(2026, 10, 1); the value of an <input type="month">."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})
    default_error_messages = {
        # Quotes the bad value: a browser's month picker shows an invalid value as empty.
        "invalid": _("“%(value)s” is not a month: enter it as YYYY-MM, for example 2026-10."),
    }

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return None
        match = MONTH_PATTERN.match(value)
        if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
            shown = "".join(c for c in value[:20] if c.isprintable())
            raise forms.ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": shown}
            )
        return dt.date(int(match[1]), int(match[2]), 1)


class MonthFilter(django_filters.Filter):
    field_class = MonthField


class SortField(forms.Field):
    """A whitelisted sort key, or "" for the default order: never a validation error,
    because a stale or hand-edited sort link should still show the bills."""

    widget = forms.HiddenInput
    default_error_messages = {"repeated": _("Choose one sort order, not several.")}

    def clean(self, value) -> str:
        value = value.strip() if isinstance(value, str) else ""
        return value if value.removeprefix("-") in SORT_FIELDS else ""


class SortFilter(django_filters.Filter):
    field_class = SortField


class IdChoiceMixin:
    """For a field that chooses objects by id: an id beyond what the id column holds is
    an unknown choice, answered like any other id that is not there.

    SQLite cannot even bind such a number (OverflowError, a 500); Django turns it into
    "no match" for `pk=` but not for the `pk__in=` a multiple choice runs."""

    def clean(self, value):
        for item in value if isinstance(value, list | tuple) else [value]:
            if self._beyond_the_column(item):
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": item},
                )
        return super().clean(value)

    def _beyond_the_column(self, value) -> bool:
        model = self.queryset.model
        field = model._meta.get_field(self.to_field_name) if self.to_field_name else model._meta.pk
        operations = connections[self.queryset.db].ops
        if field.get_internal_type() not in operations.integer_field_ranges:
            return False
        try:
            number = int(value)
        except (TypeError, ValueError):
            return False  # not a number at all: the field's own check says so
        low, high = operations.integer_field_range(field.get_internal_type())
        return not low <= number <= high


class IdChoiceField(IdChoiceMixin, django_filters.fields.ModelChoiceField):
    pass


class IdMultipleChoiceField(IdChoiceMixin, django_filters.fields.ModelMultipleChoiceField):
    pass


class IdChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = IdChoiceField


class IdMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = IdMultipleChoiceField


class ApplicationChoiceField(IdChoiceField):
    def label_from_instance(self, obj: Application) -> str:
        return obj.name


class ApplicationFilter(IdChoiceFilter):
    field_class = ApplicationChoiceField


def _own_products(request) -> QuerySet[Product]:
    return Product.objects.in_use_by(getattr(request, "organization", None))


def _own_applications(request) -> QuerySet[Application]:
    return Application.objects.for_organization(getattr(request, "organization", None))


class OneValueEachForm(forms.Form):
    """A form read from a query string, where a field that takes one value refuses to be
    given several (`?status=pending&status=cleared`) rather than silently using the last:
    the list, the export file and its audit row must all apply the same filter.

    The message is the field's `error_messages["repeated"]`, else "Choose one <label>,
    not several."; fields whose widget reads a list (products) take several."""

    def clean(self):
        cleaned = super().clean()
        if not hasattr(self.data, "getlist"):
            return cleaned
        for name, field in self.fields.items():
            if getattr(field.widget, "allow_multiple_selected", False):
                continue
            if len(self.data.getlist(self.add_prefix(name))) > 1:
                # Which value was meant is the question, not what is wrong with the last.
                self.errors.pop(name, None)
                message = field.error_messages.get("repeated") or _(
                    "Choose one %(field)s, not several."
                ) % {"field": str(field.label).lower()}
                self.add_error(name, ValidationError(message, code="repeated"))
        return cleaned


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet read from a query string that never widens what it selects.

    Each rule is declared once, here and in the classes it uses: a field that takes one
    value refuses several (OneValueEachForm, the default form; a subclass's own form
    extends it); an id beyond what the id column holds is an unknown choice
    (IdChoiceFilter, IdMultipleChoiceFilter); and an invalid filter selects nothing,
    where django-filter would silently drop it and return more than was asked for."""

    class Meta:
        form = OneValueEachForm

    @property
    def qs(self) -> QuerySet:
        if self.is_bound and not self.is_valid():
            # Never widen: an invalid filter selects nothing (the form says why).
            return self.queryset.none()
        return super().qs


class BillFilterForm(OneValueEachForm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        month, start, end = (cleaned.get(name) for name in ("cycle", "cycle_from", "cycle_to"))
        if month and (start or end):
            self.add_error("cycle", _("Choose one month or a range of months, not both."))
        if start and end and start > end:
            self.add_error("cycle_to", _("The end month must not be before the start month."))
        return cleaned


class BillFilter(StrictFilterSet):
    product = IdMultipleChoiceFilter(
        queryset=_own_products,
        method="filter_products",
        label=_("Product"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": _("There is no product %(value)s among yours."),
            "invalid_pk_value": _("“%(pk)s” is not a product."),
        },
    )
    application = ApplicationFilter(
        queryset=_own_applications,
        label=_("Application"),
        empty_label=_("All applications"),
        error_messages={"invalid_choice": _("That is not one of your applications.")},
    )
    cycle = MonthFilter(field_name="billing_cycle", label=_("Month"))
    cycle_from = MonthFilter(
        field_name="billing_cycle",
        lookup_expr="gte",
        label=_("From"),
        error_messages={"repeated": _("Choose one start month, not several.")},
    )
    cycle_to = MonthFilter(
        field_name="billing_cycle",
        lookup_expr="lte",
        label=_("To"),
        error_messages={"repeated": _("Choose one end month, not several.")},
    )
    status = django_filters.ChoiceFilter(
        choices=Bill.Status.choices,
        label=_("Status"),
        empty_label=_("All statuses"),
        error_messages={
            "invalid_choice": _("“%(value)s” is not a status: choose Pending, Cleared or all.")
        },
    )
    q = django_filters.CharFilter(
        method="search",
        label=_("Search"),
        max_length=SEARCH_MAX_LENGTH,
        help_text=_("Application name, AppKey or WhatsApp Business Account"),
        error_messages={
            "max_length": _(
                "Search for at most %(limit_value)d characters (this search has %(show_value)d)."
            ),
            "repeated": _("Search for one text, not several."),
        },
    )
    sort = SortFilter(method="sort_by", label=_("Sort by"))

    class Meta(StrictFilterSet.Meta):
        model = Bill
        fields: list[str] = []
        form = BillFilterForm

    def filter_products(self, queryset: QuerySet[Bill], name: str, value) -> QuerySet[Bill]:
        # One `product_id IN (...)`: the stock filter ORs one clause per product and adds
        # DISTINCT, which makes the count and the sums over 100,000 bills far slower.
        # `value` is already evaluated (validation fetched it); pass plain ids so the
        # product choices' own subquery is not nested into every bill query.
        if not value:
            return queryset
        return queryset.filter(product__in=[product.pk for product in value])

    def search(self, queryset: QuerySet[Bill], name: str, value: str) -> QuerySet[Bill]:
        value = value.strip()
        if not value:
            return queryset
        # The organization's matching applications first, as a list of ids: then each
        # side of the OR can use an index (application_id's, and on PostgreSQL the
        # trigram index of migration 0007 for the WhatsApp Business Account), and only
        # the matching bills are read. As a subquery, PostgreSQL tested every one of the
        # organization's bills (~35 ms per query at 100,000 bills).
        applications = _own_applications(self.request).filter(
            Q(name__icontains=value) | Q(app_key__icontains=value)
        )
        ids = list(applications.values_list("pk", flat=True)[: SEARCH_MAX_APPLICATIONS + 1])
        if len(ids) > SEARCH_MAX_APPLICATIONS:
            # A search so wide that it narrows little: no list of thousands of parameters.
            ids = applications
        return queryset.filter(
            Q(application__in=ids) | Q(whatsapp_business_account__icontains=value)
        )

    def sort_by(self, queryset: QuerySet[Bill], name: str, value: str) -> QuerySet[Bill]:
        """`sort=amount` (smallest first) or `sort=-amount` (largest first).

        The tie-breaker `id` runs in the same direction, so one index per sort key
        serves both directions (PostgreSQL scans it forwards or backwards)."""
        field = SORT_FIELDS[value.removeprefix("-")]
        if value.startswith("-"):
            return queryset.order_by(f"-{field}", "-id")
        return queryset.order_by(field, "id")

    def get_form_class(self) -> type[forms.Form]:
        form_class = super().get_form_class()
        if _own_applications(self.request).count() > APPLICATION_CHOICES_LIMIT:
            # Still accepts ?application=<id> (links, the export); the page shows it as a
            # removable filter instead of a huge dropdown. The field is this FilterSet's
            # own (django-filter copies the filters per instance), so no other sees it.
            form_class.base_fields["application"].widget = forms.HiddenInput()
        return form_class

    def as_query(self) -> QueryDict:
        """This filter's own parameters, for links that must keep it (pages, sorting,
        the export): no page, no stray keys, the sort only when it is not the default."""
        query = QueryDict(mutable=True)
        if not (self.is_bound and self.is_valid()):
            return query
        for name in self.filters:
            if name == "sort":
                continue
            values = [str(value) for value in _values(self.data, name) if str(value).strip()]
            if values:
                query.setlist(name, values)
        if self.sort_key != DEFAULT_SORT:
            query["sort"] = self.sort_key
        return query

    @property
    def sort_key(self) -> str:
        """The sort in effect, e.g. `-cycle` (the default) or `amount`."""
        if self.is_bound and self.is_valid():
            return self.form.cleaned_data.get("sort") or DEFAULT_SORT
        return DEFAULT_SORT


def _values(data, name: str) -> list:
    if hasattr(data, "getlist"):
        return data.getlist(name)
    value = data.get(name)
    return list(value) if isinstance(value, list | tuple) else [value] if value else []


def bill_filter(data, request) -> BillFilter:
    """The Bills page's FilterSet on the current organization's bills."""
    scoped = Bill.objects.for_organization(request.organization).order_by(*DEFAULT_ORDERING)
    return BillFilter(data or None, queryset=scoped, request=request)


# Order Management -----------------------------------------------------------------------

ORDER_DEFAULT_ORDERING = ("-ordered_at", "-id")
DATE_INVALID = _("Enter a date as YYYY-MM-DD, for example 2026-10-31.")


def day_filter(method: str, label, repeated) -> django_filters.DateFilter:
    """One end of a date range (Orders, Activity): a date picker, one value, YYYY-MM-DD."""
    return django_filters.DateFilter(
        method=method,
        label=label,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": DATE_INVALID, "repeated": repeated},
    )


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


class OrderFilterForm(OneValueEachForm):
    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("ordered_from"), cleaned.get("ordered_to")
        if start and end and start > end:
            self.add_error("ordered_to", _("The end date must not be before the start date."))
        return cleaned


class OrderFilter(StrictFilterSet):
    """Order Management's filters; dates are days in the organization's time zone."""

    product = IdChoiceFilter(
        queryset=_ordered_products, label=_("Product"), empty_label=_("All products")
    )
    type = django_filters.ChoiceFilter(
        field_name="order_type",
        choices=Order.Type.choices,
        label=_("Order type"),
        empty_label=_("All types"),
    )
    status = django_filters.ChoiceFilter(
        choices=Order.Status.choices, label=_("Order status"), empty_label=_("All statuses")
    )
    ordered_from = day_filter(
        "ordered_since", _("Ordered from"), _("Choose one start date, not several.")
    )
    ordered_to = day_filter(
        "ordered_until", _("Ordered to"), _("Choose one end date, not several.")
    )

    class Meta(StrictFilterSet.Meta):
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


def order_filter(data, request) -> OrderFilter:
    """Order Management's FilterSet on the current organization's orders, newest first."""
    scoped = Order.objects.for_organization(request.organization).order_by(*ORDER_DEFAULT_ORDERING)
    return OrderFilter(data or None, queryset=scoped, request=request)


# Activity: the organization's audit trail -----------------------------------------------

ACTIVITY_ORDERING = ("-occurred_at", "-id")


class ActivityFilterForm(OneValueEachForm):
    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("occurred_from"), cleaned.get("occurred_to")
        if start and end and start > end:
            self.add_error("occurred_to", _("The end date must not be before the start date."))
        return cleaned


class ActivityFilter(StrictFilterSet):
    """The Activity page's filters; dates are days in the organization's time zone."""

    action = django_filters.ChoiceFilter(
        choices=AuditEvent.Action.choices, label=_("Action"), empty_label=_("All actions")
    )
    # Choices set per organization in __init__: only people in its own trail.
    person = django_filters.ChoiceFilter(
        field_name="actor_username", label=_("Person"), empty_label=_("Everyone")
    )
    occurred_from = day_filter("since", _("From"), _("Choose one start date, not several."))
    occurred_to = day_filter("until", _("To"), _("Choose one end date, not several."))

    class Meta(StrictFilterSet.Meta):
        model = AuditEvent
        fields: list[str] = []
        form = ActivityFilterForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The people of this organization's own trail (a deleted user keeps their name).
        names = (
            self.queryset.exclude(actor_username="")
            .order_by("actor_username")
            .values_list("actor_username", flat=True)
            .distinct()
        )
        self.filters["person"].extra["choices"] = [(name, name) for name in names]

    @property
    def time_zone(self) -> str:
        return self.request.organization.time_zone

    def since(self, queryset: QuerySet[AuditEvent], name: str, value: dt.date):
        start = _start_of_day(value, self.time_zone)
        return queryset if start is None else queryset.filter(occurred_at__gte=start)

    def until(self, queryset: QuerySet[AuditEvent], name: str, value: dt.date):
        """Up to the end of the day: before midnight of the next one."""
        if value == dt.date.max:
            return queryset
        end = _start_of_day(value + dt.timedelta(days=1), self.time_zone)
        return queryset if end is None else queryset.filter(occurred_at__lt=end)


def activity_filter(data, request) -> ActivityFilter:
    """The Activity page's FilterSet on the current organization's audit trail, newest first."""
    scoped = AuditEvent.objects.for_organization(request.organization).order_by(*ACTIVITY_ORDERING)
    return ActivityFilter(data or None, queryset=scoped, request=request)
