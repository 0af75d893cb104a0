"""What must never be false is enforced by the database itself, not only by forms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from bills.models import Application, Bill, BillLine, Order


def insert_bill(source: Bill, **changes) -> None:
    """Insert a copy of `source` with `changes`, bypassing every Python-side check."""
    fields = {
        field.attname: getattr(source, field.attname)
        for field in Bill._meta.concrete_fields
        if not field.primary_key
    }
    fields.update(number=f"{source.number}-copy", billing_cycle=dt.date(2026, 9, 1))
    fields.update(changes)
    with transaction.atomic():
        Bill.objects.bulk_create([Bill(**fields)])


def test_it_accepts_a_valid_copy(bill):
    insert_bill(bill)

    assert Bill.objects.count() == 2


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(
            {"consumption_amount": Decimal("-0.01"), "overdraft_amount": 0},
            id="negative consumption",
        ),
        pytest.param({"overdraft_amount": Decimal("-1.00")}, id="negative overdraft"),
        pytest.param({"overdraft_amount": Decimal("150.01")}, id="overdraft above consumption"),
        pytest.param({"billing_cycle": dt.date(2026, 9, 2)}, id="cycle not first of month"),
        pytest.param({"status": "paid"}, id="unknown status"),
        pytest.param({"status": "cleared", "cleared_at": None}, id="cleared without date"),
        pytest.param({"number": "BILL-202610-000001"}, id="duplicate number"),
    ],
)
def test_it_refuses_an_impossible_bill(bill, changes):
    assert bill.consumption_amount == Decimal("150.00")

    with pytest.raises(IntegrityError):
        insert_bill(bill, **changes)


def test_it_refuses_a_second_bill_for_the_same_cycle(bill):
    with pytest.raises(IntegrityError):
        insert_bill(bill, billing_cycle=bill.billing_cycle)


def test_it_allows_one_bill_per_waba_in_a_cycle(make_bill, whatsapp_application):
    first = make_bill(whatsapp_application, product="whatsapp")

    insert_bill(first, billing_cycle=first.billing_cycle, whatsapp_business_account="99999")

    assert Bill.objects.filter(billing_cycle=first.billing_cycle).count() == 2


def test_it_refuses_a_duplicate_app_key(application, other_organization):
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.create(
            organization=other_organization, name="Copycat", app_key=application.app_key, app_id="9"
        )


def test_it_refuses_negative_line_amounts(bill):
    with pytest.raises(IntegrityError), transaction.atomic():
        BillLine.objects.create(
            bill=bill,
            position=9,
            description="Refund",
            quantity=1,
            unit="messages",
            unit_price=Decimal("1"),
            amount=Decimal("-1.00"),
        )


def test_it_refuses_an_order_of_zero(organization, products):
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(
            number="ORD-1",
            organization=organization,
            product=products["sms"],
            order_type=Order.Type.TOP_UP,
            amount=Decimal("0.00"),
            currency="USD",
            ordered_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
        )
