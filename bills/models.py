"""The console's data: organizations and their members, products, applications,
bills with their lines, and orders. See shared/DESIGN.md for what each field means."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxLengthValidator
from django.db import IntegrityError, models, transaction
from django.db.models import BigIntegerField, Count, Exists, F, Func, OuterRef, Q, Sum
from django.db.models.functions import Length, Round
from django.db.models.lookups import LessThanOrEqual
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .money import (
    CURRENCY_CHOICES,
    CURRENCY_DECIMALS,
    MONEY_DECIMAL_PLACES,
    MONEY_MAX_DIGITS,
    UNIT_PRICE_DECIMAL_PLACES,
    UNIT_PRICE_MAX_DIGITS,
)

TIME_ZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]

# What a bill may hold, capped at entry: WeasyPrint's time grows with the text it lays
# out (bench/bench_pdf.py), so no field may hold more than a bill's page can print.
NAME_MAX_LENGTH = 200
ADDRESS_MAX_LENGTH = 500
REASON_MAX_LENGTH = 500
MAX_BILL_LINES = 100_000


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs
    )


def at_minor_unit(field: str, *, name: str, currency: str = "currency") -> models.CheckConstraint:
    """`field` holds a whole number of minor units of the row's `currency` (ISO 4217).

    True when the amount is at `places` decimals for some `places` its currency allows:
    whole amounts always, cents unless the currency has fewer minor units, and so on.
    """
    by_places: dict[int, list[str]] = {}
    for code, places in CURRENCY_DECIMALS.items():
        by_places.setdefault(places, []).append(code)
    condition = Q()
    for places in range(MONEY_DECIMAL_PLACES + 1):
        fewer = [code for p, codes in by_places.items() if p < places for code in codes]
        allowed = ~Q(**{f"{currency}__in": fewer}) if fewer else Q()
        if places == MONEY_DECIMAL_PLACES:
            # The column's own scale: every stored value is at it, only the currency counts.
            exact = Q(**{f"{currency}__in": by_places.get(places, [])})
        else:
            exact = Q(**{field: Round(F(field), places)}) & allowed
        condition |= exact
    return models.CheckConstraint(condition=condition, name=name)


def max_length_checks(model: str, **lengths: int) -> list[models.CheckConstraint]:
    """SQLite ignores VARCHAR(n): each text column's length is checked explicitly.

    bills/tests/test_immutable.py checks that every capped field has its check.
    """
    return [
        models.CheckConstraint(
            condition=LessThanOrEqual(Length(field), length), name=f"{model}_{field}_length"
        )
        for field, length in lengths.items()
    ]


class RecordIsImmutable(IntegrityError):
    """A change to an issued record (a bill, its lines, a credit note, the audit trail).

    An IntegrityError, like the database's own refusal of the same change (bills/migrations
    0008's triggers), so a caller handles both alike.
    """


class ImmutableQuerySet(models.QuerySet):
    """Refuses, before the database does, the writes an issued record never takes."""

    def update(self, **kwargs) -> int:
        self.model.refuse_change(kwargs)
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, batch_size=None) -> int:
        self.model.refuse_change(fields)
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def delete(self):
        raise RecordIsImmutable(f"{self.model._meta.verbose_name_plural} cannot be deleted")


class ImmutableModel(models.Model):
    """A record that is final once written, but for `mutable_fields`."""

    mutable_fields: ClassVar[frozenset[str]] = frozenset()
    what_to_do: ClassVar[str] = ""

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        # Django's documented hook for remembering what was loaded.
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._stored = dict(zip(field_names, values, strict=True))
        return instance

    @classmethod
    def refuse_change(cls, fields: Iterable[str]) -> None:
        changed = sorted(
            cls._meta.get_field(name).name
            for name in fields
            if cls._meta.get_field(name).name not in cls.mutable_fields
        )
        if changed:
            fields = ", ".join(changed)
            raise RecordIsImmutable(
                f"{cls._meta.verbose_name} is issued: {fields} cannot change. {cls.what_to_do}"
            )

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            stored = getattr(self, "_stored", {})
            self.refuse_change(
                field.attname
                for field in self._meta.concrete_fields
                if field.attname in stored and getattr(self, field.attname) != stored[field.attname]
            )
        super().save(*args, **kwargs)
        self._stored = {
            field.attname: getattr(self, field.attname) for field in self._meta.concrete_fields
        }

    def delete(self, *args, **kwargs):
        raise RecordIsImmutable(f"{self} cannot be deleted. {self.what_to_do}")


class OrganizationQuerySet(models.QuerySet):
    def for_user(self, user) -> OrganizationQuerySet:
        """The organizations `user` is a member of: all a user may ever see."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Organization(models.Model):
    name = models.CharField(max_length=NAME_MAX_LENGTH, verbose_name=_("name"))
    slug = models.SlugField(max_length=80, unique=True, verbose_name=_("slug"))
    currency = models.CharField(
        max_length=3, choices=CURRENCY_CHOICES, default="USD", verbose_name=_("currency")
    )
    time_zone = models.CharField(
        max_length=64, choices=TIME_ZONE_CHOICES, default="UTC", verbose_name=_("time zone")
    )
    # The payer tax profile; each bill keeps a snapshot of it as it was at issue time.
    legal_name = models.CharField(max_length=NAME_MAX_LENGTH, verbose_name=_("legal name"))
    tax_id = models.CharField(_("tax ID"), max_length=64, blank=True)
    address = models.TextField(
        blank=True,
        max_length=ADDRESS_MAX_LENGTH,
        validators=[MaxLengthValidator(ADDRESS_MAX_LENGTH)],
        verbose_name=_("address"),
    )
    country = models.CharField(
        max_length=2, help_text=_("ISO 3166-1 alpha-2 code, e.g. DE."), verbose_name=_("country")
    )
    billing_email = models.EmailField(verbose_name=_("billing email"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    # Raised by database triggers on every insert, update or delete of the organization's
    # bills (migration 0005) and applications, and of any product (0006), whoever writes
    # them (services, admin, bulk_create, QuerySet.update, raw SQL): whatever the Bills
    # page shows. Its cached totals and content are keyed by it. Never written by Django
    # (see save); the database default lets code older than the column insert rows.
    bills_version = models.PositiveBigIntegerField(
        default=0, db_default=0, editable=False, verbose_name=_("bills version")
    )

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]
        # Copied onto every bill: no more than a bill may hold.
        constraints = max_length_checks(
            "organization",
            name=NAME_MAX_LENGTH,
            slug=80,
            legal_name=NAME_MAX_LENGTH,
            tax_id=64,
            address=ADDRESS_MAX_LENGTH,
            country=2,
            billing_email=254,
        )

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # Writing back a bills_version read earlier would undo the triggers' count and let
        # a stale cached summary be served again: an update leaves it to the database.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "bills_version"
            ]
        super().save(*args, **kwargs)


class MembershipQuerySet(models.QuerySet):
    def for_organization(self, organization: Organization | None) -> MembershipQuerySet:
        if organization is None:
            return self.none()
        return self.filter(organization=organization)

    def owners(self) -> MembershipQuerySet:
        return self.filter(role=Membership.Role.OWNER)


class Membership(models.Model):
    # Each role may do what the one before it may, and more (bills/roles.py).
    class Role(models.TextChoices):
        VIEWER = "viewer", _("Viewer")
        FINANCE = "finance", _("Finance")
        OWNER = "owner", _("Owner")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("organization"),
    )
    role = models.CharField(
        max_length=16, choices=Role.choices, default=Role.VIEWER, verbose_name=_("role")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="membership_unique_user_organization"
            ),
            # A role the console does not know would grant nothing, silently.
            models.CheckConstraint(
                condition=models.Q(role__in=["viewer", "finance", "owner"]),
                name="membership_role_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.get_role_display()})"


class ProductQuerySet(models.QuerySet):
    def in_use_by(self, organization: Organization | None) -> ProductQuerySet:
        """Products the organization has been billed for."""
        if organization is None:
            return self.none()
        # EXISTS per product: one index probe each, where `IN (SELECT product_id ...)`
        # made SQLite list all 100,000 bills of a large organization first.
        return self.filter(
            Exists(Bill.objects.filter(organization=organization, product=OuterRef("pk")))
        )


class Product(models.Model):
    code = models.SlugField(max_length=40, unique=True, verbose_name=_("code"))
    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    usage_unit = models.CharField(
        max_length=40,
        help_text=_("Plural noun for what usage counts, e.g. messages."),
        verbose_name=_("usage unit"),
    )
    description = models.TextField(blank=True, verbose_name=_("description"))
    position = models.PositiveSmallIntegerField(default=0, verbose_name=_("position"))

    objects = ProductQuerySet.as_manager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["position", "name"]
        # Printed on every bill of the product.
        constraints = max_length_checks("product", name=100, usage_unit=40)

    def __str__(self) -> str:
        return self.name


class ProductPriceQuerySet(models.QuerySet):
    def in_currency(self, currency: str) -> ProductPriceQuerySet:
        return self.filter(currency=currency)


class ProductPrice(models.Model):
    """A list price for one kind of usage of a product, in one currency.

    Volume tiers are rows with the same description and a higher `min_quantity`:
    the tier's unit price applies from that monthly quantity on.
    """

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="prices", verbose_name=_("product")
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, verbose_name=_("currency"))
    description = models.CharField(
        max_length=200,
        help_text=_("What is counted, e.g. SMS to Germany."),
        verbose_name=_("description"),
    )
    min_quantity = models.PositiveBigIntegerField(
        default=0,
        help_text=_("The tier applies from this monthly quantity on; 0 for the first."),
        verbose_name=_("min quantity"),
    )
    unit_price = models.DecimalField(
        max_digits=UNIT_PRICE_MAX_DIGITS,
        decimal_places=UNIT_PRICE_DECIMAL_PLACES,
        verbose_name=_("unit price"),
    )
    position = models.PositiveSmallIntegerField(default=0, verbose_name=_("position"))

    objects = ProductPriceQuerySet.as_manager()

    class Meta:
        verbose_name = _("product price")
        verbose_name_plural = _("product prices")
        ordering = ["product", "currency", "position", "min_quantity"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "currency", "description", "min_quantity"],
                name="productprice_one_per_tier",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="productprice_unit_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product}: {self.description} from {self.min_quantity} ({self.currency})"


class TenantQuerySet(models.QuerySet):
    """Rows that belong to one organization; views start every query here."""

    def for_organization(self, organization: Organization | None):
        if organization is None:
            return self.none()
        return self.filter(organization=organization)


class Application(models.Model):
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("organization"),
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH, verbose_name=_("name"))
    app_key = models.CharField(_("AppKey"), max_length=64, unique=True)
    app_id = models.CharField(_("application ID"), max_length=64)
    whatsapp_business_account = models.CharField(
        _("WhatsApp Business Account"),
        max_length=64,
        blank=True,
        help_text=_("The WABA ID, for applications that send WhatsApp messages."),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "app_id"], name="application_unique_app_id"
            ),
            # Printed on every bill of the application.
            *max_length_checks(
                "application",
                name=NAME_MAX_LENGTH,
                app_key=64,
                app_id=64,
                whatsapp_business_account=64,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.app_key})"


class MoneySum(Sum):
    """SUM of a money column, exact to the cent on every database (None for no rows).

    PostgreSQL adds NUMERIC exactly, and twice as fast as it adds integer cents. SQLite
    stores decimals as REAL and its SUM drifts (a thousand 0.10 add up to
    99.9999999999986, and Django does not round aggregates back), so there the SQL adds
    whole cents as integers and the converter below divides them back exactly.
    """

    def as_sqlite(self, compiler, connection, **extra_context):
        cents = self.copy()
        amount, *rest = cents.get_source_expressions()
        cents.set_source_expressions([_Cents(amount), *rest])
        return cents.as_sql(compiler, connection, **extra_context)

    def get_db_converters(self, connection):
        converters = super().get_db_converters(connection)
        if connection.vendor == "sqlite":
            converters.append(_from_cents)
        return converters


class _Cents(Func):
    template = f"CAST(ROUND(%(expressions)s * {10**MONEY_DECIMAL_PLACES}) AS INTEGER)"
    output_field = BigIntegerField()


def _from_cents(value, expression, connection) -> Decimal | None:
    return None if value is None else Decimal(int(value)).scaleb(-MONEY_DECIMAL_PLACES)


@dataclass(frozen=True)
class BillSummary:
    """How many bills a selection holds and what they add up to, exact to the cent."""

    count: int
    consumption: Decimal
    pending_count: int
    pending: Decimal
    overdraft: Decimal
    credited: Decimal
    # Consumption per billing cycle that holds bills, newest first: the Bills page's
    # sparkline, drawn from the same pass over the bills as the totals.
    months: tuple[tuple[dt.date, Decimal], ...] = ()


class BillQuerySet(ImmutableQuerySet, TenantQuerySet):
    def pending(self) -> BillQuerySet:
        return self.filter(status=Bill.Status.PENDING)

    def summary(self) -> BillSummary:
        """Count and totals of these bills, and their consumption per cycle (amounts in
        the bills' currency: an organization's currency never changes, so its bills
        share one).

        One query, grouped by cycle and status: the bills are read once, for the totals,
        the Pending totals and the sparkline's months alike (separate queries read them
        up to three times; bench/bench_overview.py), and the few dozen rows it returns
        are added up here, in Decimal, exactly.
        """
        rows = (
            self.order_by()
            .values("billing_cycle", "status")
            .annotate(
                count=Count("*"),
                consumption=MoneySum("consumption_amount"),
                overdraft=MoneySum("overdraft_amount"),
                credited=MoneySum("credited_amount"),
            )
        )
        zero = Decimal("0.00")
        count = pending_count = 0
        consumption = pending = overdraft = credited = zero
        months: dict[dt.date, Decimal] = {}
        for row in rows:
            count += row["count"]
            consumption += row["consumption"]
            overdraft += row["overdraft"]
            credited += row["credited"]
            if row["status"] == Bill.Status.PENDING:
                pending_count += row["count"]
                pending += row["consumption"]
            cycle = row["billing_cycle"]
            months[cycle] = months.get(cycle, zero) + row["consumption"]
        return BillSummary(
            count=count,
            consumption=consumption,
            pending_count=pending_count,
            pending=pending,
            overdraft=overdraft,
            credited=credited,
            months=tuple(sorted(months.items(), reverse=True)),
        )


# Columns the Bills page filters and sums on, besides the organization and the cycle.
SUMMARY_COLUMNS = ["status", "product", "consumption_amount", "overdraft_amount"]


class Bill(ImmutableModel):
    """An issued bill: final, but for its status and what credit notes have credited."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CLEARED = "cleared", _("Cleared")

    # Everything else is what was issued; migration 0008's triggers refuse changes to it.
    mutable_fields = frozenset({"status", "cleared_at", "credited_amount", "updated_at"})
    what_to_do = "Correct it with a credit note."

    number = models.CharField(max_length=32, unique=True, editable=False, verbose_name=_("number"))
    # No index of its own: bill_org_cycle_idx leads with it (a second one only lured
    # PostgreSQL into reading the table for the summary instead of that index alone).
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="bills",
        db_index=False,
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="bills", verbose_name=_("product")
    )
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="bills", verbose_name=_("application")
    )
    # Part of a bill's identity: one bill per WABA for WhatsApp, "" otherwise.
    whatsapp_business_account = models.CharField(
        _("WhatsApp Business Account"),
        max_length=64,
        blank=True,
        default="",
    )
    billing_cycle = models.DateField(
        help_text=_("The first day of the month the bill covers."), verbose_name=_("billing cycle")
    )
    service_usage = models.PositiveBigIntegerField(
        help_text=_("Quantity used in the cycle, in the product's unit."),
        verbose_name=_("service usage"),
    )
    consumption_amount = money_field(
        help_text=_("The sum of the bill's lines."), verbose_name=_("consumption amount")
    )
    overdraft_amount = money_field(
        default=0,
        help_text=_("The part of the consumption the prepaid balance did not cover."),
        verbose_name=_("overdraft amount"),
    )
    # Raised by a database trigger with every credit note against the bill (migration 0008).
    credited_amount = money_field(
        default=Decimal(0),
        editable=False,
        help_text=_("What credit notes have credited so far."),
        verbose_name=_("credited amount"),
    )
    line_count = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text=_("How many lines the bill was issued with."),
        verbose_name=_("line count"),
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, verbose_name=_("currency"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    bill_date = models.DateField(
        help_text=_("The day the bill was issued."), verbose_name=_("bill date")
    )
    cleared_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cleared at"))
    # Payer tax information as it was when the bill was issued.
    payer_legal_name = models.CharField(
        max_length=NAME_MAX_LENGTH, verbose_name=_("payer legal name")
    )
    payer_tax_id = models.CharField(_("payer tax ID"), max_length=64, blank=True)
    payer_address = models.CharField(
        max_length=ADDRESS_MAX_LENGTH, blank=True, verbose_name=_("payer address")
    )
    payer_country = models.CharField(max_length=2, verbose_name=_("payer country"))
    payer_email = models.EmailField(verbose_name=_("payer email"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = BillQuerySet.as_manager()

    class Meta:
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        ordering = ["-billing_cycle", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organization",
                    "product",
                    "application",
                    "whatsapp_business_account",
                    "billing_cycle",
                ],
                name="bill_one_per_cycle",
            ),
            models.CheckConstraint(
                condition=Q(consumption_amount__gte=0), name="bill_consumption_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(overdraft_amount__gte=0)
                & Q(overdraft_amount__lte=models.F("consumption_amount")),
                name="bill_overdraft_within_consumption",
            ),
            models.CheckConstraint(
                condition=Q(billing_cycle__day=1), name="bill_cycle_first_of_month"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "cleared"]), name="bill_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", cleared_at__isnull=True)
                | Q(status="cleared", cleared_at__isnull=False),
                name="bill_cleared_at_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(credited_amount__gte=0)
                & Q(credited_amount__lte=models.F("consumption_amount")),
                name="bill_credited_within_consumption",
            ),
            models.CheckConstraint(
                condition=Q(line_count__lte=MAX_BILL_LINES), name="bill_line_count_max"
            ),
            at_minor_unit("consumption_amount", name="bill_consumption_minor_unit"),
            at_minor_unit("overdraft_amount", name="bill_overdraft_minor_unit"),
            at_minor_unit("credited_amount", name="bill_credited_minor_unit"),
            *max_length_checks(
                "bill",
                number=32,
                whatsapp_business_account=64,
                payer_legal_name=NAME_MAX_LENGTH,
                payer_tax_id=64,
                payer_address=ADDRESS_MAX_LENGTH,
                payer_country=2,
                payer_email=254,
            ),
        ]
        # The Bills page at 100,000 bills per organization. Each index is led by the
        # organization and ends with the columns the summary filters and adds up, so the
        # summary is an index-only scan; the page is the index's first rows.
        indexes = [
            # Newest cycle first, optionally within a cycle or range of cycles.
            models.Index(
                fields=["organization", "-billing_cycle", "-id", *SUMMARY_COLUMNS],
                name="bill_org_cycle_idx",
            ),
            # The same with a status: "Bills to be paid" and the top navigation badge.
            models.Index(
                fields=["organization", "status", "-billing_cycle", "-id", *SUMMARY_COLUMNS[1:]],
                name="bill_org_status_idx",
            ),
            # Sorted by amount or overdraft, either way (the tie-breaker follows the sort).
            models.Index(
                fields=["organization", "consumption_amount", "id"], name="bill_org_amount_idx"
            ),
            models.Index(
                fields=["organization", "overdraft_amount", "id"], name="bill_org_overdraft_idx"
            ),
            # The Overview (bills/overview.py): its sums read this index alone, and in its
            # order the top applications are added up one application after another,
            # without hashing or sorting all of them. (No `include`: SQLite has none.)
            models.Index(
                fields=[
                    "organization",
                    "currency",
                    "application",
                    "billing_cycle",
                    "product",
                    "status",
                    "consumption_amount",
                    "overdraft_amount",
                ],
                name="bill_org_overview_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("bills:detail", args=[self.pk])

    @property
    def cycle_label(self) -> str:
        return self.billing_cycle.strftime("%Y-%m")

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def prepaid_amount(self) -> Decimal:
        """The part of the consumption the prepaid balance covered."""
        return self.consumption_amount - self.overdraft_amount

    @property
    def amount_due(self) -> Decimal:
        """What the payer still owes: the overdraft less what has been credited, never
        below zero, until a Supplementary Payment clears the bill."""
        if not self.is_pending:
            return Decimal(0)
        return max(self.overdraft_amount - self.credited_amount, Decimal(0))

    @property
    def uncredited_amount(self) -> Decimal:
        """The most a new credit note may credit."""
        return self.consumption_amount - self.credited_amount


class BillLine(ImmutableModel):
    what_to_do = "Correct the bill with a credit note."

    # PROTECT: an issued bill is never deleted (migration 0008), and neither are its lines.
    bill = models.ForeignKey(
        Bill, on_delete=models.PROTECT, related_name="lines", verbose_name=_("bill")
    )
    # 1 to the bill's line_count (migration 0008's trigger checks it on insert).
    position = models.PositiveIntegerField(verbose_name=_("position"))
    description = models.CharField(max_length=200, verbose_name=_("description"))
    quantity = models.PositiveBigIntegerField(verbose_name=_("quantity"))
    unit = models.CharField(max_length=40, verbose_name=_("unit"))
    unit_price = models.DecimalField(
        max_digits=UNIT_PRICE_MAX_DIGITS,
        decimal_places=UNIT_PRICE_DECIMAL_PLACES,
        verbose_name=_("unit price"),
    )
    amount = money_field(
        help_text=_("quantity x unit price, rounded to the currency."), verbose_name=_("amount")
    )

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        verbose_name = _("bill line")
        verbose_name_plural = _("bill lines")
        ordering = ["bill", "position"]
        constraints = [
            models.UniqueConstraint(fields=["bill", "position"], name="billline_unique_position"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0) & Q(amount__gte=0),
                name="billline_amounts_not_negative",
            ),
            models.CheckConstraint(condition=Q(position__gte=1), name="billline_position_from_1"),
            *max_length_checks("billline", description=200, unit=40),
        ]

    def __str__(self) -> str:
        return self.description


class CreditNoteQuerySet(ImmutableQuerySet, TenantQuerySet):
    pass


class CreditNote(ImmutableModel):
    """A correction of an issued bill: an amount credited against it, with a reason.

    Issued by staff (bills.services.credit_note_issue), final like the bill itself.
    """

    # Only the link to a staff user who has since been deleted may be cleared.
    mutable_fields = frozenset({"issued_by"})
    what_to_do = "Issue another credit note."

    number = models.CharField(max_length=32, unique=True, editable=False, verbose_name=_("number"))
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="credit_notes",
        verbose_name=_("organization"),
    )
    bill = models.ForeignKey(
        Bill, on_delete=models.PROTECT, related_name="credit_notes", verbose_name=_("bill")
    )
    # Set when the note credits one line of the bill rather than the bill as a whole.
    bill_line = models.ForeignKey(
        BillLine,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        verbose_name=_("bill line"),
    )
    amount = money_field(verbose_name=_("amount"))
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, verbose_name=_("currency"))
    reason = models.CharField(max_length=REASON_MAX_LENGTH, verbose_name=_("reason"))
    issued_at = models.DateTimeField(default=timezone.now, verbose_name=_("issued at"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )
    issued_by_username = models.CharField(_("issued by"), max_length=150, blank=True)

    objects = CreditNoteQuerySet.as_manager()

    class Meta:
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        ordering = ["issued_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="creditnote_amount_positive"),
            at_minor_unit("amount", name="creditnote_amount_minor_unit"),
            *max_length_checks(
                "creditnote", number=32, reason=REASON_MAX_LENGTH, issued_by_username=150
            ),
        ]
        indexes = [models.Index(fields=["bill", "issued_at"], name="creditnote_bill_idx")]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("bills:credit_note_pdf", args=[self.bill_id, self.pk])


class OrderQuerySet(TenantQuerySet):
    def unpaid(self) -> OrderQuerySet:
        return self.filter(status=Order.Status.UNPAID)

    def placed_by_members(self) -> OrderQuerySet:
        """Orders from the Product Market, as opposed to Supplementary Payments for bills."""
        return self.exclude(order_type=Order.Type.SUPPLEMENTARY_PAYMENT)


class Order(models.Model):
    class Type(models.TextChoices):
        NEW_PURCHASE = "new_purchase", _("New Purchase")
        TOP_UP = "top_up", _("Prepaid Top-up")
        SUPPLEMENTARY_PAYMENT = "supplementary_payment", _("Supplementary Payment")
        RENEWAL = "renewal", _("Renewal")
        UPGRADE = "upgrade", _("Upgrade")

    class Status(models.TextChoices):
        UNPAID = "unpaid", _("Unpaid")
        PAID = "paid", _("Paid")
        CLOSED = "closed", _("Closed")

    class PaymentMethod(models.TextChoices):
        NONE = "", _("Not paid yet")
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        CARD = "card", _("Credit card")
        BALANCE = "balance", _("Account balance")

    number = models.CharField(max_length=32, unique=True, editable=False, verbose_name=_("number"))
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("organization"),
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="orders", verbose_name=_("product")
    )
    order_type = models.CharField(max_length=32, choices=Type.choices, verbose_name=_("order type"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.UNPAID, verbose_name=_("status")
    )
    amount = money_field(verbose_name=_("amount"))
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, verbose_name=_("currency"))
    payment_method = models.CharField(
        max_length=32,
        choices=PaymentMethod.choices,
        blank=True,
        default="",
        verbose_name=_("payment method"),
    )
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("ordered by"),
    )
    ordered_at = models.DateTimeField(verbose_name=_("ordered at"))
    # A Supplementary Payment order settles the overdraft of this bill.
    bill = models.ForeignKey(
        Bill,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("bill"),
    )

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-ordered_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_amount_positive"),
            # Orders a member places (New Purchase, Top-up, Renewal, Upgrade): one Unpaid
            # per product, so a double submit never buys twice. Supplementary Payments are
            # not covered: each settles one bill, and several bills of a product can be
            # overdrawn at once.
            models.UniqueConstraint(
                fields=["organization", "product"],
                condition=Q(status="unpaid") & ~Q(order_type="supplementary_payment"),
                name="order_one_unpaid_per_product",
            ),
            # A Supplementary Payment settles exactly one bill; other orders settle none.
            models.CheckConstraint(
                condition=Q(order_type="supplementary_payment", bill__isnull=False)
                | (~Q(order_type="supplementary_payment") & Q(bill__isnull=True)),
                name="order_bill_only_for_supplementary_payment",
            ),
            # A bill's overdraft is settled by one order; a Closed one may be replaced.
            models.UniqueConstraint(
                fields=["bill"],
                condition=Q(status__in=["unpaid", "paid"]),
                name="order_one_open_settlement_per_bill",
            ),
            at_minor_unit("amount", name="order_amount_minor_unit"),
        ]
        indexes = [
            models.Index(fields=["organization", "-ordered_at"], name="order_org_time_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        # Migration 0008's trigger refuses the same; this says it next to the field.
        if (
            self.bill_id is not None
            and self.organization_id is not None
            and self.bill.organization_id != self.organization_id
        ):
            raise ValidationError(
                {"bill": f"{self.bill} belongs to another organization than this order."}
            )

    def get_absolute_url(self) -> str:
        return reverse("bills:order_detail", args=[self.pk])

    @property
    def is_unpaid(self) -> bool:
        return self.status == self.Status.UNPAID

    @property
    def ordered_by_name(self) -> str:
        """Who placed the order: full name, else username; "" once the user is deleted."""
        if self.ordered_by is None:
            return ""
        return self.ordered_by.get_full_name() or self.ordered_by.get_username()


class Sequence(models.Model):
    """A named counter for numbers that are sequential and never reused."""

    name = models.CharField(max_length=64, primary_key=True, verbose_name=_("name"))
    last_value = models.PositiveBigIntegerField(default=0, verbose_name=_("last value"))

    def __str__(self) -> str:
        return f"{self.name}={self.last_value}"


class AuditEventQuerySet(ImmutableQuerySet):
    def for_organization(self, organization: Organization | None) -> AuditEventQuerySet:
        """The organization's own trail (its Activity page): nothing for no organization."""
        if organization is None:
            return self.none()
        return self.filter(organization=organization)

    def purge_before(self, cutoff) -> int:
        """Delete the events older than `cutoff`: the retention command's one way in.

        The database refuses any other delete (migration 0008): a permit row, visible only
        inside this transaction, lets its trigger pass these rows and no others.
        """
        with transaction.atomic(using=self.db):
            permit = AuditPurgePermit.objects.using(self.db).create(before=cutoff)
            deleted, _ = models.QuerySet.delete(self.filter(occurred_at__lt=cutoff))
            permit.delete()
        return deleted


class AuditEvent(ImmutableModel):
    """Who did what to which organization's billing data, and when: kept for staff.

    Append-only, in the database too: only a deleted user's link is cleared (the row keeps
    their name), and only `manage.py purge_audit` deletes, rows past the retention period.
    """

    class Action(models.TextChoices):
        BILL_DOWNLOAD = "bill_download", _("Download Bill")
        BILLS_EXPORT = "bills_export", _("Export Data")
        BILL_CLEARED = "bill_cleared", _("Bill marked Cleared")
        CREDIT_NOTE_ISSUED = "credit_note_issued", _("Credit note issued")
        CREDIT_NOTE_DOWNLOAD = "credit_note_download", _("Download Credit Note")
        AUDIT_PURGED = "audit_purged", _("Audit trail purged")
        EXPORT_REQUESTED = "export_requested", _("Export queued")
        EXPORT_DOWNLOAD = "export_download", _("Download Export")
        MEMBER_ADDED = "member_added", _("Member added")
        MEMBER_ROLE_CHANGED = "member_role_changed", _("Member's role changed")
        MEMBER_REMOVED = "member_removed", _("Member removed")
        API_KEY_CREATED = "api_key_created", _("API key created")
        API_KEY_REVOKED = "api_key_revoked", _("API key revoked")

    mutable_fields = frozenset({"actor"})
    what_to_do = "The audit trail is append-only."

    occurred_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("occurred at")
    )
    action = models.CharField(max_length=32, choices=Action.choices, verbose_name=_("action"))
    # The user may be deleted one day; the audit row keeps the name they had.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_username = models.CharField(_("user"), max_length=150, blank=True)
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("organization"),
    )
    object_type = models.CharField(max_length=64, blank=True, verbose_name=_("object type"))
    object_id = models.CharField(max_length=64, blank=True, verbose_name=_("object id"))
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    details = models.JSONField(
        default=dict,
        blank=True,
        encoder=DjangoJSONEncoder,
        help_text=_("What the action used, e.g. the export's filters and row count."),
        verbose_name=_("details"),
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-occurred_at"], name="audit_org_time_idx"),
            models.Index(fields=["action", "-occurred_at"], name="audit_action_time_idx"),
        ]

    def __str__(self) -> str:
        target = f" {self.object_repr}" if self.object_repr else ""
        return f"{self.actor_username or 'system'}: {self.get_action_display()}{target}"


class AuditPurgePermit(models.Model):
    """Lets the audit trail's delete trigger pass rows older than `before`.

    Written and deleted inside the one transaction of `AuditEvent.objects.purge_before`:
    no other transaction ever sees a row.
    """

    before = models.DateTimeField(verbose_name=_("before"))

    def __str__(self) -> str:
        return f"purge before {self.before:%Y-%m-%d}"


class Profile(models.Model):
    """What the console remembers of a person, whichever organization they look at."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="console_profile",
        verbose_name=_("user"),
    )
    # A code of settings.LANGUAGES, or "" until they choose one (the browser's
    # Accept-Language decides until then). No choices: a new language needs no migration.
    language = models.CharField(_("language"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return str(self.user)
