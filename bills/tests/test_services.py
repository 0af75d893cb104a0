from __future__ import annotations

from decimal import Decimal

import pytest

from bills.models import Bill
from bills.money import round_money
from bills.services import InvalidTransition, LineItem, bill_clear


def test_it_numbers_bills_sequentially_per_cycle(make_bill, application, whatsapp_application):
    first = make_bill(application, cycle="2026-10")
    second = make_bill(whatsapp_application, cycle="2026-10", product="whatsapp")
    other_month = make_bill(application, cycle="2026-09")

    assert [first.number, second.number, other_month.number] == [
        "BILL-202610-000001",
        "BILL-202610-000002",
        "BILL-202609-000001",
    ]


def test_it_prices_lines_and_sums_them_exactly(make_bill, application):
    lines = [
        LineItem("SMS to United States", 333, "messages", Decimal("0.0079")),  # 2.6307
        LineItem("SMS to Germany", 7, "messages", Decimal("0.075")),  # 0.525
    ]

    bill = make_bill(application, product="sms", lines=lines)

    amounts = [line.amount for line in bill.lines.all()]
    assert amounts == [Decimal("2.63"), Decimal("0.53")]
    assert bill.consumption_amount == Decimal("3.16") == sum(amounts)
    assert bill.service_usage == 340


def test_it_snapshots_the_payer_tax_profile(make_bill, application, organization):
    bill = make_bill(application)
    organization.legal_name = "Acme Renamed Ltd."
    organization.save()

    bill.refresh_from_db()
    assert bill.payer_legal_name == "Acme Ltd."
    assert bill.payer_tax_id == "TAX-ACME"


def test_it_clears_a_pending_bill_once(bill):
    bill_clear(bill=bill)

    bill.refresh_from_db()
    assert bill.status == Bill.Status.CLEARED
    assert bill.cleared_at is not None
    with pytest.raises(InvalidTransition):
        bill_clear(bill=bill)


def test_it_rounds_half_up_to_the_currency():
    assert round_money(Decimal("0.125"), "USD") == Decimal("0.13")
    assert round_money(Decimal("1234.5"), "JPY") == Decimal("1235.00")
    with pytest.raises(TypeError):
        round_money(0.1, "USD")
