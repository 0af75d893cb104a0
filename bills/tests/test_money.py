"""One rounding rule and ISO 4217's minor units, from storage to every place a person
reads an amount: the page, the PDF, the spreadsheet and the CSV (issue 11)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from decimal import ROUND_HALF_EVEN, Decimal

import openpyxl
import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bills.models import Application, Bill, Order
from bills.money import (
    CURRENCY_DECIMALS,
    UnknownCurrency,
    currency_decimals,
    format_money,
    round_money,
)
from bills.services import LineItem, bill_issue
from bills.tests.fixtures import make_organization, make_user
from bills.tests.test_bill_detail import facts
from bills.tests.test_pdf import pdf_text


def test_minor_units_come_from_iso_4217():
    assert currency_decimals("USD") == 2
    assert currency_decimals("JPY") == 0
    assert currency_decimals("KRW") == 0
    assert currency_decimals("KWD") == 3
    assert currency_decimals("BHD") == 3
    assert currency_decimals("IQD") == 3  # ISO says 3 where CLDR says 0
    assert len(CURRENCY_DECIMALS) > 150
    with pytest.raises(UnknownCurrency):
        currency_decimals("XXX")  # ISO's "no currency" has no minor unit


def test_display_rounds_half_up_like_storage():
    # Python's formatting would round half to even: 0.125 -> "0.12".
    assert f"{Decimal('0.125'):.2f}" == "0.12"
    assert round_money(Decimal("0.125"), "USD") == Decimal("0.13")
    assert format_money(Decimal("0.125"), "USD") == "0.13"
    assert format_money(Decimal("2.5"), "JPY") == "3"
    assert format_money(Decimal("1.0005"), "KWD") == "1.001"
    assert format_money(Decimal("1234567.5"), "USD") == "1,234,567.50"


def test_money_never_goes_through_float():
    with pytest.raises(TypeError):
        format_money(0.1, "USD")
    with pytest.raises(TypeError):
        round_money(0.1, "USD")


@given(
    amount=st.decimals(min_value=0, max_value=Decimal("1e12"), places=6),
    currency=st.sampled_from(["USD", "JPY", "KWD", "EUR", "BHD", "CLP"]),
)
def test_rounding_is_one_rule_everywhere(amount, currency):
    rounded = round_money(amount, currency)
    shown = format_money(amount, currency)

    assert round_money(rounded, currency) == rounded
    assert Decimal(shown.replace(",", "")) == rounded
    assert -rounded.as_tuple().exponent == currency_decimals(currency)
    assert abs(rounded - amount) <= Decimal(1).scaleb(-currency_decimals(currency)) / 2
    if (amount * 10 ** currency_decimals(currency)) % 1 == Decimal("0.5"):
        assert rounded > amount.quantize(rounded, rounding=ROUND_HALF_EVEN) or rounded > amount


# The database refuses an amount that is not at its currency's minor unit ----------------


def bill_row(organization, application, product, cycle, amount: str) -> Bill:
    return Bill(
        number=f"RAW-{cycle:%Y%m}-{amount}",
        organization=organization,
        product=product,
        application=application,
        billing_cycle=cycle,
        service_usage=1,
        consumption_amount=Decimal(amount),
        currency=organization.currency,
        bill_date=cycle,
        payer_legal_name="Payer",
        payer_country="US",
        payer_email="p@example.com",
    )


@pytest.mark.parametrize(
    ("currency", "amount", "accepted"),
    [
        ("USD", "1.23", True),
        ("USD", "1.005", False),
        ("JPY", "1500", True),
        ("JPY", "1500.5", False),
        ("KWD", "1.005", True),
        ("BHD", "0.001", True),
    ],
)
def test_the_database_keeps_amounts_at_the_currencys_minor_unit(
    products, currency, amount, accepted
):
    organization = make_organization(currency.lower(), currency=currency)
    application = Application.objects.create(
        organization=organization, name="App", app_key=f"key-{currency}", app_id="1"
    )
    row = bill_row(organization, application, products["sms"], dt.date(2026, 10, 1), amount)

    if accepted:
        row.save()
        assert Bill.objects.get(pk=row.pk).consumption_amount == Decimal(amount)
    else:
        with pytest.raises(IntegrityError), transaction.atomic():
            row.save()
        assert not Bill.objects.exists()


def test_an_order_amount_off_the_minor_unit_is_refused(products, db):
    organization = make_organization("yen", currency="JPY")

    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(
            number="ORD-1",
            organization=organization,
            product=products["sms"],
            order_type=Order.Type.TOP_UP,
            amount=Decimal("100.5"),
            currency="JPY",
            ordered_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        )


# One amount, every place a person reads it ---------------------------------------------

CURRENCIES = ["USD", "JPY", "KWD"]


@pytest.fixture
def members(products):
    """An organization and a logged-in member per currency."""
    out = {}
    for currency in CURRENCIES:
        organization = make_organization(f"org-{currency.lower()}", currency=currency)
        client = Client()
        client.force_login(make_user(f"user-{currency.lower()}", organization))
        out[currency] = (organization, client)
    return out


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    currency=st.sampled_from(CURRENCIES),
    lines=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=10_000_000),
            st.decimals(min_value=0, max_value=Decimal("9.999999"), places=6),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_an_amount_reads_the_same_on_the_page_pdf_xlsx_and_csv(members, products, currency, lines):
    organization, client = members[currency]
    number = next(SERIAL)
    application = Application.objects.create(
        organization=organization, name=f"App {number}", app_key=f"k{number}", app_id=str(number)
    )
    bill = bill_issue(
        organization=organization,
        product=products["sms"],
        application=application,
        billing_cycle=dt.date(2026, 10, 1),
        bill_date=dt.date(2026, 11, 3),
        lines=[LineItem("SMS", quantity, "messages", price) for quantity, price in lines],
    )
    expected = sum(
        (round_money(quantity * price, currency) for quantity, price in lines), Decimal(0)
    )
    shown = format_money(expected, currency)

    stored = Bill.objects.get(pk=bill.pk).consumption_amount
    page = facts(client.get(f"/bills/{bill.pk}/"))["Consumption amount"]
    pdf = " ".join(pdf_text(client.get(f"/bills/{bill.pk}/pdf/").content).split())
    query = f"?application={application.pk}"
    sheet = openpyxl.load_workbook(io.BytesIO(body(client.get(f"/bills/export.xlsx{query}"))))
    header, row = [list(r) for r in sheet.active.iter_rows(min_row=1, max_row=2, values_only=True)]
    csv_text = body(client.get(f"/bills/export.csv{query}")).decode("utf-8-sig")
    csv_rows = list(csv.reader(io.StringIO(csv_text)))
    csv_row = dict(zip(csv_rows[0], csv_rows[1], strict=True))

    assert stored == expected
    assert page == f"{shown} {currency}"
    assert f"Consumption amount {shown} {currency}" in pdf
    assert Decimal(str(row[header.index("Consumption Amount")])) == expected
    assert Decimal(csv_row["Consumption Amount"]) == expected
    assert csv_row["Consumption Amount"] == f"{round_money(expected, currency):f}"


SERIAL = itertools.count(1)


def body(response) -> bytes:
    return b"".join(response.streaming_content)
