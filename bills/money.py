"""Money: Decimal only, at the currency's ISO 4217 minor unit, rounded by one rule in
one place (`round_money`), which storage and display both go through."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats, numberformat
from iso4217 import Currency

# Database columns for money and unit prices. Three decimal places hold every minor unit
# the platform bills in (KWD, BHD, OMR have three; JPY none); what a column stores is
# always a whole number of the row's currency's minor units (a check constraint per column).
MONEY_MAX_DIGITS = 17
MONEY_DECIMAL_PLACES = 3
UNIT_PRICE_MAX_DIGITS = 16
UNIT_PRICE_DECIMAL_PLACES = 6

# ISO 4217's minor units, from the standard's own list (the iso4217 package). Codes without
# a minor unit (gold, SDR, test codes) and the two with four (CLF, UYW) cannot be billed.
CURRENCY_DECIMALS: dict[str, int] = {
    currency.code: currency.exponent
    for currency in sorted(Currency, key=lambda currency: currency.code)
    if currency.exponent is not None and currency.exponent <= MONEY_DECIMAL_PLACES
}

CURRENCY_CHOICES = [(code, code) for code in CURRENCY_DECIMALS]


class UnknownCurrency(ValueError):
    """A currency code the console cannot bill in."""


def currency_decimals(currency: str) -> int:
    """How many decimal places `currency`'s minor unit has: USD 2, JPY 0, KWD 3."""
    try:
        return CURRENCY_DECIMALS[currency]
    except KeyError:
        raise UnknownCurrency(
            f"{currency!r} is not an ISO 4217 currency with minor units"
        ) from None


def minor_unit(currency: str) -> Decimal:
    """`0.01` for USD, `1` for JPY, `0.001` for KWD."""
    return Decimal(1).scaleb(-currency_decimals(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit, half up (the commercial rule on invoices).

    The one rounding rule: amounts are stored as it returns them and shown through it.
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be Decimal, not {type(amount).__name__}")
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def is_at_minor_unit(amount: Decimal, currency: str) -> bool:
    """Whether `amount` needs no rounding in `currency` (1.5 JPY does, 1.500 KWD does not)."""
    return round_money(amount, currency) == amount


def _grouped(number: Decimal | int, decimal_places: int | None = None) -> str:
    """`number` with the active language's decimal mark and digit grouping (Django's
    formats; billing_console/formats/ for the console's own), whatever USE_THOUSAND_SEPARATOR
    says: an amount is always grouped. Decimal in, text out: never through a float."""
    return numberformat.format(
        number,
        formats.get_format("DECIMAL_SEPARATOR"),
        decimal_pos=decimal_places,
        grouping=formats.get_format("NUMBER_GROUPING"),
        thousand_sep=formats.get_format("THOUSAND_SEPARATOR"),
        force_grouping=True,
    )


def format_money(amount: Decimal | None, currency: str) -> str:
    """`1234.5, "USD"` -> `"1,234.50"`: rounded by `round_money`, never by the formatter,
    and always the currency's minor units (`1,234` JPY, `1,234.500` KWD)."""
    if amount is None:
        return ""
    return _grouped(round_money(amount, currency), currency_decimals(currency))


def format_quantity(value: int | None) -> str:
    """`1234567` -> `"1,234,567"`: a count or a usage, grouped like an amount."""
    return "" if value is None else _grouped(value)


def format_unit_price(price: Decimal | None, currency: str) -> str:
    """`0.000150, "USD"` -> `"0.00015"`; `2, "USD"` -> `"2.00"`: no exponent, no noise."""
    if price is None:
        return ""
    places = max(currency_decimals(currency), -price.normalize().as_tuple().exponent)
    return _grouped(price, places)
