from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db.models import Sum

from bills.models import Application, Bill, BillLine, Order, Organization, ProductPrice
from bills.services import bill_number

pytestmark = pytest.mark.django_db


def snapshot() -> list[tuple]:
    return [
        *Bill.objects.order_by("number").values_list(
            "number", "consumption_amount", "overdraft_amount", "status", "cleared_at"
        ),
        *BillLine.objects.order_by("bill__number", "position").values_list("amount"),
        *Order.objects.order_by("number").values_list("number", "amount", "status"),
        *ProductPrice.objects.order_by("pk").values_list("product__code", "currency", "unit_price"),
    ]


def test_running_it_twice_changes_nothing():
    call_command("seed_demo")
    first = snapshot()

    call_command("seed_demo")

    assert snapshot() == first
    assert Bill.objects.count() == 264


def test_its_lines_add_up_to_each_bill():
    call_command("seed_demo")

    for bill in Bill.objects.annotate(lines_total=Sum("lines__amount")):
        assert bill.lines_total == bill.consumption_amount, bill.number
        assert 0 <= bill.overdraft_amount <= bill.consumption_amount


def test_it_builds_a_realistic_mix():
    call_command("seed_demo")

    assert Organization.objects.count() == 2
    assert Bill.objects.values("billing_cycle").distinct().count() == 24
    assert Bill.objects.filter(status=Bill.Status.PENDING).exists()
    assert Bill.objects.filter(status=Bill.Status.CLEARED).exists()
    assert Bill.objects.filter(overdraft_amount__gt=0).exists()
    assert Order.objects.filter(order_type=Order.Type.SUPPLEMENTARY_PAYMENT).exists()
    for waba_app in Application.objects.exclude(whatsapp_business_account=""):
        assert {b.product.code for b in waba_app.bills.all()} == {"whatsapp"}
        assert (
            waba_app.bills.exclude(
                whatsapp_business_account=waba_app.whatsapp_business_account
            ).count()
            == 0
        )


def test_each_overdraft_has_its_supplementary_payment_paid_when_the_bill_is_cleared():
    call_command("seed_demo")

    for bill in Bill.objects.filter(overdraft_amount__gt=0):
        order = bill.orders.get()
        assert (order.order_type, order.amount) == (
            Order.Type.SUPPLEMENTARY_PAYMENT,
            bill.overdraft_amount,
        )
        assert order.status == (Order.Status.PAID if bill.status == "cleared" else "unpaid")
    assert not Order.objects.filter(bill__overdraft_amount=0).exists()


def test_bill_numbers_follow_the_cycle():
    assert bill_number(dt.date(2026, 10, 1), 123) == "BILL-202610-000123"


def test_seed_large_builds_the_requested_shape():
    call_command(
        "seed_large", bills=600, organizations=4, big_organization_bills=300, cycles=6, batch=128
    )

    big = Organization.objects.get(slug="bench-big")
    assert Bill.objects.count() == 600
    assert Bill.objects.filter(organization=big).count() == 300
    assert big.memberships.get().user.username == "bench"
    assert Bill.objects.values("billing_cycle").distinct().count() == 6
    for bill in Bill.objects.annotate(lines_total=Sum("lines__amount")):
        assert bill.lines_total == bill.consumption_amount, bill.number
    # Numbers continue the real sequence, so bills issued later never collide.
    newest = Bill.objects.order_by("-billing_cycle").values_list("billing_cycle", flat=True)[0]
    assert (
        Bill.objects.filter(billing_cycle=newest)
        .order_by("number")
        .last()
        .number.endswith(f"{Bill.objects.filter(billing_cycle=newest).count():06d}")
    )


def test_seed_large_refuses_to_run_twice():
    from django.core.management.base import CommandError

    call_command("seed_large", bills=10, organizations=2, big_organization_bills=5, cycles=2)

    with pytest.raises(CommandError):
        call_command("seed_large", bills=10, organizations=2, big_organization_bills=5, cycles=2)
