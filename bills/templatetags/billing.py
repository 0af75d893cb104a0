from __future__ import annotations

from decimal import Decimal

from django import template

from ..money import format_money, format_unit_price

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    """`{{ bill.consumption_amount|money:bill.currency }}` -> `1,234.50`."""
    return format_money(amount, currency)


@register.filter
def quantity(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


@register.filter
def unit_price(price: Decimal | None, currency: str) -> str:
    """`{{ price.unit_price|unit_price:price.currency }}` -> `0.00015`."""
    return format_unit_price(price, currency)
