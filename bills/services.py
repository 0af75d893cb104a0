"""Writes that span several rows: issuing a bill, clearing it, numbering."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Application, Bill, BillLine, Organization, Product, Sequence
from .money import round_money


class InvalidTransition(Exception):
    """A status change the domain does not allow (e.g. Cleared -> Pending)."""


@dataclass(frozen=True)
class LineItem:
    description: str
    quantity: int
    unit: str
    unit_price: Decimal


def next_sequence_value(name: str) -> int:
    """Take the next value of a counter; the row lock makes it safe under concurrency."""
    with transaction.atomic():
        Sequence.objects.get_or_create(name=name)
        Sequence.objects.filter(name=name).update(last_value=F("last_value") + 1)
        return Sequence.objects.select_for_update().get(name=name).last_value


def bill_number(billing_cycle: dt.date, value: int) -> str:
    return f"BILL-{billing_cycle:%Y%m}-{value:06d}"


def payer_snapshot(organization: Organization) -> dict[str, str]:
    return {
        "payer_legal_name": organization.legal_name,
        "payer_tax_id": organization.tax_id,
        "payer_address": organization.address,
        "payer_country": organization.country,
        "payer_email": organization.billing_email,
    }


def bill_issue(
    *,
    organization: Organization,
    product: Product,
    application: Application,
    billing_cycle: dt.date,
    bill_date: dt.date,
    lines: Iterable[LineItem],
    overdraft_amount: Decimal = Decimal("0.00"),
) -> Bill:
    """Issue a bill: number it, price its lines, and snapshot the payer's tax profile."""
    if application.organization_id != organization.pk:
        raise ValueError("the application belongs to another organization")
    if billing_cycle.day != 1:
        raise ValueError("a billing cycle starts on the first day of a month")
    currency = organization.currency
    priced = [(item, round_money(item.quantity * item.unit_price, currency)) for item in lines]
    if not priced:
        raise ValueError("a bill needs at least one line")
    consumption = sum((amount for _, amount in priced), Decimal("0.00"))
    with transaction.atomic():
        number = bill_number(billing_cycle, next_sequence_value(f"bill-{billing_cycle:%Y%m}"))
        bill = Bill.objects.create(
            number=number,
            organization=organization,
            product=product,
            application=application,
            whatsapp_business_account=application.whatsapp_business_account,
            billing_cycle=billing_cycle,
            service_usage=sum(item.quantity for item, _ in priced),
            consumption_amount=consumption,
            overdraft_amount=round_money(overdraft_amount, currency),
            currency=currency,
            bill_date=bill_date,
            **payer_snapshot(organization),
        )
        BillLine.objects.bulk_create(
            BillLine(
                bill=bill,
                position=position,
                description=item.description,
                quantity=item.quantity,
                unit=item.unit,
                unit_price=item.unit_price,
                amount=amount,
            )
            for position, (item, amount) in enumerate(priced, start=1)
        )
    return bill


def bill_clear(*, bill: Bill, cleared_at: dt.datetime | None = None) -> Bill:
    """Mark a Pending bill Cleared: the only status change a bill may make."""
    with transaction.atomic():
        locked = Bill.objects.select_for_update().get(pk=bill.pk)
        if locked.status != Bill.Status.PENDING:
            raise InvalidTransition(f"{locked.number} is already {locked.get_status_display()}")
        locked.status = Bill.Status.CLEARED
        locked.cleared_at = cleared_at or timezone.now()
        locked.save(update_fields=["status", "cleared_at", "updated_at"])
    bill.status, bill.cleared_at = locked.status, locked.cleared_at
    return bill
