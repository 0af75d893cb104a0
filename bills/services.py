"""Writes that span several rows: issuing, crediting and clearing bills, placing and
cancelling orders, numbering."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .audit import audit_record
from .models import (
    Application,
    AuditEvent,
    Bill,
    BillLine,
    CreditNote,
    Membership,
    Order,
    Organization,
    Product,
    Sequence,
)
from .money import (
    MONEY_DECIMAL_PLACES,
    MONEY_MAX_DIGITS,
    format_money,
    is_at_minor_unit,
    round_money,
)

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

# What a member can order from the Product Market.
PLACEABLE_ORDER_TYPES = (Order.Type.NEW_PURCHASE, Order.Type.TOP_UP)
# The largest amount the money columns hold.
MAX_ORDER_AMOUNT = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES) - 1


class InvalidTransition(Exception):
    """A status change the domain does not allow (e.g. Cleared -> Pending)."""


class CreditRefused(Exception):
    """A credit note the bill cannot take (more than is left to credit, a foreign line)."""


class UnpaidOrderExists(Exception):
    """The organization already has an Unpaid order for the product."""

    def __init__(self, order: Order):
        super().__init__(f"{order.number} for {order.product} is still Unpaid")
        self.order = order


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
            line_count=len(priced),
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


def credit_note_number(issued_at: dt.datetime, value: int) -> str:
    """`CN-202611-000001`: the month of issue (UTC) and a counter never reused."""
    return f"CN-{issued_at.astimezone(dt.UTC):%Y%m}-{value:06d}"


def credit_note_issue(
    *,
    bill: Bill,
    amount: Decimal,
    reason: str,
    issued_by: AbstractBaseUser,
    bill_line: BillLine | None = None,
    ip_address: str | None = None,
) -> CreditNote:
    """Credit `amount` against an issued bill (or one of its lines), with a reason.

    Never more than is left to credit, on the bill and on the line; the bill's row lock
    makes two staff members crediting the same bill at once take turns. The database's
    triggers refuse the same (migration 0009); this says why in words.
    """
    reason = reason.strip()
    if not reason:
        raise CreditRefused("Say why the bill is credited.")
    with transaction.atomic():
        locked = Bill.objects.select_for_update().select_related("organization").get(pk=bill.pk)
        currency = locked.currency
        if not isinstance(amount, Decimal) or not is_at_minor_unit(amount, currency):
            raise CreditRefused(f"{amount} is not an amount in {currency}.")
        if amount <= 0:
            raise CreditRefused("A credit note credits a positive amount.")
        left = locked.uncredited_amount
        if bill_line is not None:
            if bill_line.bill_id != locked.pk:
                raise CreditRefused(f"That line is not on {locked.number}.")
            credited = sum((note.amount for note in bill_line.credit_notes.all()), Decimal(0))
            left = min(left, bill_line.amount - credited)
        if amount > left:
            raise CreditRefused(
                f"At most {format_money(left, currency)} {currency} of {locked.number} is "
                "left to credit."
            )
        issued_at = timezone.now()
        note = CreditNote.objects.create(
            number=credit_note_number(issued_at, next_sequence_value(f"cn-{issued_at:%Y%m}")),
            organization=locked.organization,
            bill=locked,
            bill_line=bill_line,
            amount=amount,
            currency=currency,
            reason=reason,
            issued_at=issued_at,
            issued_by=issued_by,
            issued_by_username=issued_by.get_username(),
        )
        audit_record(
            action=AuditEvent.Action.CREDIT_NOTE_ISSUED,
            user=issued_by,
            organization=locked.organization,
            obj=note,
            details={
                "bill": locked.number,
                "amount": amount,
                "currency": currency,
                "line": bill_line.position if bill_line is not None else None,
                "reason": reason,
            },
            ip_address=ip_address,
        )
    bill.refresh_from_db(fields=["credited_amount"])
    return note


def bill_clear(
    *,
    bill: Bill,
    cleared_at: dt.datetime | None = None,
    by=None,
    ip_address: str | None = None,
) -> Bill:
    """Mark a Pending bill Cleared: the only status change a bill may make.

    The audit trail records it, `by` whom and from `ip_address`, in the same transaction.
    """
    with transaction.atomic():
        locked = Bill.objects.select_for_update().get(pk=bill.pk)
        if locked.status != Bill.Status.PENDING:
            raise InvalidTransition(f"{locked.number} is already {locked.get_status_display()}")
        locked.status = Bill.Status.CLEARED
        locked.cleared_at = cleared_at or timezone.now()
        locked.save(update_fields=["status", "cleared_at", "updated_at"])
        audit_record(
            action=AuditEvent.Action.BILL_CLEARED,
            user=by,
            organization=locked.organization,
            obj=locked,
            details={"from": Bill.Status.PENDING, "to": Bill.Status.CLEARED},
            ip_address=ip_address,
        )
    bill.status, bill.cleared_at = locked.status, locked.cleared_at
    return bill


def _require_member(user: AbstractBaseUser, organization: Organization) -> None:
    if not Membership.objects.filter(user=user, organization=organization).exists():
        raise PermissionDenied(f"{user} is not a member of {organization}")


def order_number(ordered_at: dt.datetime) -> str:
    """`ORD-20261015-000123`: the order's UTC date and a counter that is never reused."""
    day = ordered_at.astimezone(dt.UTC)
    return f"ORD-{day:%Y%m%d}-{next_sequence_value('order'):06d}"


def unpaid_order_for(organization: Organization, product: Product) -> Order | None:
    """The Unpaid order a member placed for the product, which blocks a second one."""
    return (
        Order.objects.for_organization(organization)
        .placed_by_members()
        .unpaid()
        .filter(product=product)
        .first()
    )


def order_place(
    *,
    organization: Organization,
    product: Product,
    order_type: str,
    amount: Decimal,
    ordered_by: AbstractBaseUser,
    ordered_at: dt.datetime | None = None,
    bill: Bill | None = None,
) -> Order:
    """Place an Unpaid order: a New Purchase or a Top-up from the Product Market, or a
    Supplementary Payment of a Pending `bill`'s amount due; payment happens elsewhere.

    Raises UnpaidOrderExists when the organization already has an Unpaid order for the
    product (or, for a Supplementary Payment, for the bill), also when a concurrent
    request won the race (the database's constraint).
    """
    if bill is not None:
        _require_settles(bill, organization=organization, product=product, amount=amount)
        if order_type != Order.Type.SUPPLEMENTARY_PAYMENT:
            raise ValueError(f"{Order.Type(order_type).label} orders settle no bill")
    elif order_type not in PLACEABLE_ORDER_TYPES:
        raise ValueError(f"{order_type!r} orders are not placed from the Product Market")
    # round_money refuses anything but Decimal; then the amount must need no rounding.
    if not is_at_minor_unit(amount, organization.currency) or not 0 < amount <= MAX_ORDER_AMOUNT:
        raise ValueError(f"{amount} is not a positive amount in {organization.currency}")
    _require_member(ordered_by, organization)
    ordered_at = ordered_at or timezone.now()

    def blocking() -> Order | None:
        if bill is not None:
            return bill.orders.unpaid().first()
        return unpaid_order_for(organization, product)

    with transaction.atomic():
        existing = blocking()
        if existing is not None:
            raise UnpaidOrderExists(existing)
        try:
            with transaction.atomic():
                return Order.objects.create(
                    number=order_number(ordered_at),
                    organization=organization,
                    product=product,
                    order_type=order_type,
                    status=Order.Status.UNPAID,
                    amount=amount,
                    currency=organization.currency,
                    ordered_by=ordered_by,
                    ordered_at=ordered_at,
                    bill=bill,
                )
        except IntegrityError:
            existing = blocking()
            if existing is None:
                raise
            raise UnpaidOrderExists(existing) from None


def _require_settles(bill: Bill, *, organization: Organization, product: Product, amount) -> None:
    """A Supplementary Payment settles a Pending bill of its organization and product,
    for exactly what is due."""
    if bill.organization_id != organization.pk or bill.product_id != product.pk:
        raise ValueError(f"{bill.number} is not a bill of {organization.name} for {product.name}")
    if not bill.is_pending:
        raise InvalidTransition(f"{bill.number} is {bill.get_status_display()}: nothing is due")
    if amount != bill.amount_due:
        raise ValueError(f"{bill.number} has {bill.amount_due} {bill.currency} due, not {amount}")


def order_pay(*, order: Order, payment_method: str) -> Order:
    """Record the payment of an Unpaid order, as the payment provider reports it."""
    if payment_method not in Order.PaymentMethod.values or not payment_method:
        raise ValueError(f"{payment_method!r} is not a payment method")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status != Order.Status.UNPAID:
            raise InvalidTransition(
                f"{locked.number} is {locked.get_status_display()}; only Unpaid orders are paid"
            )
        locked.status = Order.Status.PAID
        locked.payment_method = payment_method
        locked.save(update_fields=["status", "payment_method"])
    order.status, order.payment_method = locked.status, locked.payment_method
    return order


def order_cancel(*, order: Order, cancelled_by: AbstractBaseUser) -> Order:
    """Close an Unpaid order: the only change a member may make to an order."""
    _require_member(cancelled_by, order.organization)
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status != Order.Status.UNPAID:
            raise InvalidTransition(
                f"{locked.number} is {locked.get_status_display()}; only Unpaid orders can be "
                "cancelled"
            )
        locked.status = Order.Status.CLOSED
        locked.save(update_fields=["status"])
    order.status = locked.status
    return order


# Members and roles (issue 16) ---------------------------------------------------------
# Each change runs under a lock of the organization's row: two owners demoting (or
# removing) each other at once are taken one after the other, and the second sees that
# the first left a single owner, so an organization always keeps one.


class LastOwner(Exception):
    """The change would leave the organization without an owner."""


class NoSuchUser(Exception):
    """No active account has that username or email address."""


class AlreadyMember(Exception):
    def __init__(self, membership: Membership):
        super().__init__(f"{membership.user} is already a member")
        self.membership = membership


def _lock_as_owner(organization: Organization, by: AbstractBaseUser) -> Organization:
    """Lock the organization's row; refuse unless `by` is (still) one of its owners."""
    locked = Organization.objects.select_for_update().get(pk=organization.pk)
    if not Membership.objects.owners().filter(organization=locked, user=by).exists():
        raise PermissionDenied(f"{by} is not an owner of {organization}")
    return locked


def find_user(identifier: str) -> AbstractBaseUser:
    """The active user whose username is `identifier`, else whose email address it is."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True)
    identifier = identifier.strip()
    if not identifier:
        raise NoSuchUser(identifier)
    by_username = users.filter(username=identifier).first()
    if by_username is not None:
        return by_username
    # Two accounts may share an address: then only the username says which is meant.
    by_email = list(users.filter(email__iexact=identifier)[:2])
    if len(by_email) != 1:
        raise NoSuchUser(identifier)
    return by_email[0]


def member_add(
    *,
    organization: Organization,
    user: AbstractBaseUser,
    role: str,
    by: AbstractBaseUser,
    ip_address: str | None = None,
) -> Membership:
    """Make an existing user a member of `organization` with `role`."""
    role = Membership.Role(role)
    with transaction.atomic():
        locked = _lock_as_owner(organization, by)
        existing = Membership.objects.filter(organization=locked, user=user).first()
        if existing is not None:
            raise AlreadyMember(existing)
        membership = Membership.objects.create(organization=locked, user=user, role=role)
        _audit_member(AuditEvent.Action.MEMBER_ADDED, membership, by, ip_address, role=role)
    return membership


def member_set_role(
    *, membership: Membership, role: str, by: AbstractBaseUser, ip_address: str | None = None
) -> Membership:
    """Give a member another role; the last owner keeps theirs."""
    role = Membership.Role(role)
    with transaction.atomic():
        _lock_as_owner(membership.organization, by)
        locked = Membership.objects.select_related("user").get(pk=membership.pk)
        if locked.role == role:
            return locked
        if locked.role == Membership.Role.OWNER:
            _require_another_owner(locked)
        previous = locked.role
        locked.role = role
        locked.save(update_fields=["role"])
        _audit_member(
            AuditEvent.Action.MEMBER_ROLE_CHANGED, locked, by, ip_address, role=role, was=previous
        )
    return locked


def member_remove(
    *, membership: Membership, by: AbstractBaseUser, ip_address: str | None = None
) -> None:
    """Remove a member from the organization; the last owner stays."""
    with transaction.atomic():
        _lock_as_owner(membership.organization, by)
        locked = Membership.objects.select_related("user", "organization").get(pk=membership.pk)
        if locked.role == Membership.Role.OWNER:
            _require_another_owner(locked)
        _audit_member(AuditEvent.Action.MEMBER_REMOVED, locked, by, ip_address, role=locked.role)
        locked.delete()


def _require_another_owner(membership: Membership) -> None:
    others = Membership.objects.owners().filter(organization_id=membership.organization_id)
    if not others.exclude(pk=membership.pk).exists():
        raise LastOwner(f"{membership.user} is the last owner of {membership.organization}")


def _audit_member(action, membership: Membership, by, ip_address, *, role, was=None) -> None:
    details = {"member": membership.user.get_username(), "role": role}
    if was is not None:
        details["previous_role"] = was
    audit_record(
        action=action,
        user=by,
        organization=membership.organization,
        obj=membership,
        details=details,
        ip_address=ip_address,
    )
