"""Money: Decimal only, rounded in exactly one place (`round_money`)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units of the currencies the platform bills in. Amounts are
# stored with two decimal places; a currency with fewer minor units (JPY) is
# rounded to its own and stored with zeros after the point.
CURRENCY_DECIMALS: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "CNY": 2,
    "INR": 2,
    "BRL": 2,
    "JPY": 0,
}

CURRENCY_CHOICES = [(code, code) for code in CURRENCY_DECIMALS]

# Database columns for money and unit prices.
MONEY_MAX_DIGITS = 16
MONEY_DECIMAL_PLACES = 2
UNIT_PRICE_MAX_DIGITS = 16
UNIT_PRICE_DECIMAL_PLACES = 6


def currency_decimals(currency: str) -> int:
    return CURRENCY_DECIMALS.get(currency, 2)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit, half up (the commercial rule on invoices)."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be Decimal, not {type(amount).__name__}")
    exponent = Decimal(1).scaleb(-currency_decimals(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP).quantize(Decimal("0.01"))


def format_money(amount: Decimal | None, currency: str) -> str:
    """`1234.5, "USD"` -> `"1,234.50"`, with the currency's number of decimals."""
    if amount is None:
        return ""
    places = currency_decimals(currency)
    return f"{amount:,.{places}f}"


def format_unit_price(price: Decimal | None, currency: str) -> str:
    """`0.000150, "USD"` -> `"0.00015"`; `2, "USD"` -> `"2.00"`: no exponent, no noise."""
    if price is None:
        return ""
    places = max(currency_decimals(currency), -price.normalize().as_tuple().exponent)
    return f"{price:,.{places}f}"
