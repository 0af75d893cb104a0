from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template
from django.utils import formats

from ..money import format_money, format_quantity, format_unit_price

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    """`{{ bill.consumption_amount|money:bill.currency }}` -> `1,234.50`."""
    return format_money(amount, currency)


@register.filter
def quantity(value: int | None) -> str:
    """`1234567` -> `1,234,567`, grouped as the active language groups numbers."""
    return format_quantity(value)


@register.filter
def unit_price(price: Decimal | None, currency: str) -> str:
    """`{{ price.unit_price|unit_price:price.currency }}` -> `0.00015`."""
    return format_unit_price(price, currency)


@register.filter
def cycle(month: dt.date | None) -> str:
    """A billing cycle as the active language writes a month: `2026-10`, `2026年10月`
    (YEAR_MONTH_FORMAT, billing_console/formats/)."""
    if month is None:
        return ""
    return formats.date_format(month, "YEAR_MONTH_FORMAT")
