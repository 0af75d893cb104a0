"""The API's JSON: money as decimal strings at the currency's minor unit, next to the
currency; dates ISO 8601; billing cycles `YYYY-MM`; ids as the database holds them."""

from __future__ import annotations

from decimal import Decimal

from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bills.filters import BillFilter
from bills.models import Application, Bill, BillLine, BillSummary, Order, Product
from bills.money import currency_decimals, round_money
from exports.models import Export


@extend_schema_field({"type": "string", "format": "decimal", "example": "1234.50"})
class MoneyField(serializers.Field):
    """An amount of the object's `currency`, as a string at its minor unit: `"1234.50"`
    USD, `"1234"` JPY, `"1.500"` KWD. Never a float; rounded by bills.money alone."""

    def __init__(self, **kwargs) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance) -> tuple[Decimal, str]:
        return super().get_attribute(instance), instance.currency

    def to_representation(self, value: tuple[Decimal, str]) -> str:
        amount, currency = value
        return str(round_money(amount, currency))


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-10"})
class CycleField(serializers.Field):
    """A billing cycle as `YYYY-MM`."""

    def __init__(self, **kwargs) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value) -> str:
        return value.strftime("%Y-%m")


class ProductRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "code", "name", "usage_unit"]


class ApplicationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Application
        fields = ["id", "name", "app_key", "app_id"]


class BillSerializer(serializers.ModelSerializer):
    product = ProductRefSerializer()
    application = ApplicationSerializer()
    billing_cycle = CycleField()
    consumption_amount = MoneyField()
    overdraft_amount = MoneyField()
    credited_amount = MoneyField()
    amount_due = MoneyField()

    class Meta:
        model = Bill
        fields = [
            "id",
            "number",
            "billing_cycle",
            "bill_date",
            "status",
            "cleared_at",
            "product",
            "application",
            "whatsapp_business_account",
            "service_usage",
            "currency",
            "consumption_amount",
            "overdraft_amount",
            "credited_amount",
            "amount_due",
            "line_count",
        ]


def plain_unit_price(price: Decimal, currency: str) -> str:
    """`0.000150` USD -> `"0.00015"`, `2` USD -> `"2.00"`: the bill's precision, with no
    grouping or decimal mark of any language (bills.money.format_unit_price's are)."""
    places = max(currency_decimals(currency), -price.normalize().as_tuple().exponent)
    return f"{price:.{places}f}"


class BillLineSerializer(serializers.ModelSerializer):
    amount = MoneyField()
    unit_price = serializers.SerializerMethodField()

    class Meta:
        model = BillLine
        fields = ["position", "description", "quantity", "unit", "unit_price", "amount"]

    @extend_schema_field({"type": "string", "format": "decimal", "example": "0.00015"})
    def get_unit_price(self, line: BillLine) -> str:
        # Unit prices keep their own precision (below the minor unit), as the bill shows.
        return plain_unit_price(line.unit_price, line.currency)


class BillDetailSerializer(BillSerializer):
    lines = serializers.SerializerMethodField()
    payer = serializers.SerializerMethodField()

    class Meta(BillSerializer.Meta):
        fields = [*BillSerializer.Meta.fields, "payer", "lines"]

    @extend_schema_field(BillLineSerializer(many=True))
    def get_lines(self, bill: Bill) -> list[dict]:
        lines = bill.lines.order_by("position")
        for line in lines:
            line.currency = bill.currency
        return BillLineSerializer(lines, many=True).data

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                name: {"type": "string"}
                for name in ("legal_name", "tax_id", "address", "country", "email")
            },
        }
    )
    def get_payer(self, bill: Bill) -> dict[str, str]:
        return {
            "legal_name": bill.payer_legal_name,
            "tax_id": bill.payer_tax_id,
            "address": bill.payer_address,
            "country": bill.payer_country,
            "email": bill.payer_email,
        }


class TotalsSerializer(serializers.Serializer):
    """The Bills page's totals for the same filter (BillQuerySet.summary)."""

    count = serializers.IntegerField()
    currency = serializers.CharField()
    consumption_amount = MoneyField(source="consumption")
    pending_count = serializers.IntegerField()
    pending_amount = MoneyField(source="pending")
    overdraft_amount = MoneyField(source="overdraft")
    credited_amount = MoneyField(source="credited")


class Totals:
    """A BillSummary with the organization's currency, for TotalsSerializer."""

    def __init__(self, summary: BillSummary, currency: str) -> None:
        self.currency = currency
        self.count = summary.count
        self.consumption = summary.consumption
        self.pending_count = summary.pending_count
        self.pending = summary.pending
        self.overdraft = summary.overdraft
        self.credited = summary.credited


class PriceSerializer(serializers.Serializer):
    description = serializers.CharField()
    min_quantity = serializers.IntegerField()
    currency = serializers.CharField()
    unit_price = serializers.SerializerMethodField()

    @extend_schema_field({"type": "string", "format": "decimal", "example": "0.00015"})
    def get_unit_price(self, price) -> str:
        return plain_unit_price(price.unit_price, price.currency)


class ProductSerializer(serializers.ModelSerializer):
    prices = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["id", "code", "name", "usage_unit", "description", "prices"]

    @extend_schema_field(PriceSerializer(many=True))
    def get_prices(self, product: Product) -> list[dict]:
        return PriceSerializer(product.listed, many=True).data


class OrderSerializer(serializers.ModelSerializer):
    product = ProductRefSerializer()
    amount = MoneyField()
    ordered_by = serializers.CharField(source="ordered_by_name")
    bill = serializers.IntegerField(
        source="bill_id", allow_null=True, read_only=True, help_text="The bill it settles."
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "product",
            "order_type",
            "status",
            "currency",
            "amount",
            "payment_method",
            "ordered_by",
            "ordered_at",
            "bill",
        ]


# Exports (exports/): a background job's file, asked for and fetched by a script ---------


@extend_schema_field(
    {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
)
class FilterValueField(serializers.Field):
    """One filter's value, as a query string would give it: a string, or several."""

    default_error_messages = {"invalid": _("Give a filter a string or a list of strings.")}

    def to_internal_value(self, data) -> list[str]:
        if isinstance(data, str):
            return [data]
        if isinstance(data, list) and all(isinstance(value, str) for value in data):
            return data
        self.fail("invalid")

    def to_representation(self, value: list[str]) -> list[str]:
        return value


class NewExportSerializer(serializers.Serializer):
    """What POST /api/v1/exports/ takes: a format, and the bills list's filters."""

    format = serializers.ChoiceField(choices=Export.Format.choices)
    filters = serializers.DictField(
        child=FilterValueField(),
        required=False,
        default=dict,
        help_text=(
            "The filters of GET /api/v1/bills/, by name "
            f"({', '.join(f'`{name}`' for name in BillFilter.base_filters)}): "
            '`{"cycle_from": "2026-01", "cycle_to": "2026-06", "product": ["1", "3"]}`. '
            "None: every bill. An unknown name or a bad value is a 400, never a wider export."
        ),
    )

    def validate_filters(self, filters: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(filters) - set(BillFilter.base_filters))
        if unknown:
            known = ", ".join(BillFilter.base_filters)
            message = _("No such filter. The filters are: %(names)s.") % {"names": known}
            raise serializers.ValidationError({name: [message] for name in unknown})
        return filters


class ExportSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:export")
    format = serializers.ChoiceField(source="file_format", choices=Export.Format.choices)
    filters = serializers.SerializerMethodField()
    description = serializers.CharField(help_text="The filter in words, as the file says it.")
    requested_by = serializers.CharField(
        source="requested_by_name", help_text="The member's name, or the API key's."
    )
    api_key = serializers.CharField(
        source="api_key.prefix",
        allow_null=True,
        default=None,
        help_text="The prefix of the key it was asked for with; null if a member asked.",
    )
    total = serializers.IntegerField(help_text="Rows (bills) the file holds.")
    done = serializers.IntegerField(help_text="Rows (bills) written so far.")
    expired = serializers.BooleanField(source="is_expired")
    error = serializers.CharField(
        source="error_message", help_text="Why it failed, in the request's language."
    )
    size = serializers.IntegerField(allow_null=True, help_text="The file's bytes, once ready.")
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "url",
            "format",
            "status",
            "expired",
            "filters",
            "description",
            "total",
            "done",
            "requested_at",
            "requested_by",
            "api_key",
            "started_at",
            "finished_at",
            "expires_at",
            "error",
            "size",
            "file_url",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "example": {"cycle": ["2026-10"], "product": ["1", "3"]},
        }
    )
    def get_filters(self, export: Export) -> dict[str, list[str]]:
        return dict(QueryDict(export.query).lists())

    @extend_schema_field(
        {
            "type": "string",
            "format": "uri",
            "nullable": True,
            "description": "Where to download the file: null until it is ready, and once "
            "it has expired.",
        }
    )
    def get_file_url(self, export: Export) -> str | None:
        if not export.is_downloadable:
            return None
        url = reverse("api:export_file", args=[export.pk])
        return self.context["request"].build_absolute_uri(url)
