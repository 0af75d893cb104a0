"""An issued bill, its lines and the audit trail cannot be changed behind anyone's back:
not through the model, not through QuerySet.update(), not through raw SQL (issue 11)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from importlib import import_module

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from bills.models import (
    AuditEvent,
    Bill,
    BillLine,
    CreditNote,
    Order,
    Organization,
    RecordIsImmutable,
)
from bills.services import LineItem, bill_clear, bill_issue, credit_note_issue
from bills.triggers import version_trigger_names

guards = import_module("bills.migrations.0009_guard_triggers")


def raw(sql: str, params=()) -> None:
    """Raw SQL in a savepoint, so a refusal leaves the test's transaction usable."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def stored(bill: Bill) -> Bill:
    return Bill.objects.get(pk=bill.pk)


# The bill ------------------------------------------------------------------------------


def test_the_model_refuses_a_new_amount_before_the_database_has_to(bill):
    bill.consumption_amount = Decimal("1.00")

    with pytest.raises(RecordIsImmutable, match="consumption_amount cannot change"):
        bill.save()

    assert stored(bill).consumption_amount == Decimal("150.00")


def test_queryset_update_of_an_issued_field_is_refused(bill):
    with pytest.raises(RecordIsImmutable, match="credit note"):
        Bill.objects.filter(pk=bill.pk).update(consumption_amount=Decimal("1.00"))

    assert stored(bill).consumption_amount == Decimal("150.00")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("consumption_amount", "1.00"),
        ("overdraft_amount", "1.00"),
        ("service_usage", 5),
        ("billing_cycle", "2026-09-01"),
        ("payer_address", "Somewhere else"),
        ("payer_tax_id", "FORGED"),
        ("number", "BILL-FORGED"),
        ("line_count", 7),
        ("currency", "EUR"),
    ],
)
def test_raw_sql_update_of_an_issued_field_is_refused(bill, column, value):
    before = stored(bill)

    with pytest.raises(IntegrityError):
        raw(f"UPDATE bills_bill SET {column} = %s WHERE id = %s", [value, bill.pk])

    after = stored(bill)
    assert getattr(after, column) == getattr(before, column)


def test_raw_sql_delete_of_a_bill_is_refused(bill):
    with pytest.raises(IntegrityError):
        raw("DELETE FROM bills_bill WHERE id = %s", [bill.pk])

    assert Bill.objects.filter(pk=bill.pk).exists()


def test_the_model_and_queryset_refuse_to_delete_a_bill(bill):
    with pytest.raises(RecordIsImmutable):
        bill.delete()
    with pytest.raises(RecordIsImmutable):
        Bill.objects.filter(pk=bill.pk).delete()

    assert Bill.objects.filter(pk=bill.pk).exists()


def test_the_status_may_go_from_pending_to_cleared_and_no_further(bill):
    bill_clear(bill=bill)
    assert stored(bill).status == Bill.Status.CLEARED

    with pytest.raises(IntegrityError):
        raw("UPDATE bills_bill SET status = 'pending', cleared_at = NULL WHERE id = %s", [bill.pk])
    with pytest.raises(IntegrityError):
        raw("UPDATE bills_bill SET cleared_at = %s WHERE id = %s", [timezone.now(), bill.pk])

    assert stored(bill).status == Bill.Status.CLEARED


def test_raw_sql_may_clear_a_pending_bill(bill):
    raw(
        "UPDATE bills_bill SET status = 'cleared', cleared_at = %s WHERE id = %s",
        [timezone.now(), bill.pk],
    )

    assert stored(bill).status == Bill.Status.CLEARED


def test_credited_amount_is_only_ever_the_sum_of_credit_notes(bill):
    with pytest.raises(IntegrityError):
        raw("UPDATE bills_bill SET credited_amount = 10 WHERE id = %s", [bill.pk])

    assert stored(bill).credited_amount == 0


# The lines ------------------------------------------------------------------------------


def test_a_line_cannot_be_edited_by_the_model_queryset_or_sql(bill):
    line = bill.lines.get()
    line.amount = Decimal("1.00")
    with pytest.raises(RecordIsImmutable):
        line.save()
    with pytest.raises(RecordIsImmutable):
        BillLine.objects.filter(pk=line.pk).update(amount=Decimal("1.00"))
    with pytest.raises(IntegrityError):
        raw("UPDATE bills_billline SET amount = 1 WHERE id = %s", [line.pk])
    with pytest.raises(IntegrityError):
        raw("UPDATE bills_billline SET description = 'Free' WHERE id = %s", [line.pk])
    with pytest.raises(IntegrityError):
        raw("DELETE FROM bills_billline WHERE id = %s", [line.pk])

    assert bill.lines.get().amount == Decimal("150.00")


def test_no_line_can_be_added_to_an_issued_bill(bill):
    with pytest.raises(IntegrityError), transaction.atomic():
        BillLine.objects.create(
            bill=bill,
            position=2,
            description="Sneaked in",
            quantity=1,
            unit="messages",
            unit_price=Decimal("0"),
            amount=Decimal("0.00"),
        )

    assert bill.lines.count() == 1


def test_the_last_line_must_make_the_lines_add_up(bill):
    """Inserting a bill's lines by hand: the one that completes it must add up."""
    columns = [field.attname for field in Bill._meta.concrete_fields if field.attname != "id"]
    copy = Bill(**{name: getattr(bill, name) for name in columns})
    copy.number, copy.billing_cycle, copy.line_count = "BILL-COPY", dt.date(2026, 1, 1), 2
    copy.save()
    line = {"description": "x", "quantity": 1, "unit": "messages", "unit_price": Decimal(1)}

    BillLine.objects.create(bill=copy, position=1, amount=Decimal("100.00"), **line)
    with pytest.raises(IntegrityError), transaction.atomic():
        BillLine.objects.create(bill=copy, position=2, amount=Decimal("49.99"), **line)
    BillLine.objects.create(bill=copy, position=2, amount=Decimal("50.00"), **line)

    assert sum(copy.lines.values_list("amount", flat=True)) == copy.consumption_amount


def test_a_bill_holds_as_many_lines_as_a_large_customer_needs(organization, application, products):
    lines = [LineItem(f"SMS to country {i}", 1, "messages", Decimal("0.01")) for i in range(40_000)]

    issued = bill_issue(
        organization=organization,
        product=products["sms"],
        application=application,
        billing_cycle=dt.date(2026, 10, 1),
        bill_date=dt.date(2026, 11, 3),
        lines=lines,
    )

    assert issued.line_count == 40_000
    assert issued.lines.order_by("-position").first().position == 40_000
    assert stored(issued).consumption_amount == Decimal("400.00")


# Orders ---------------------------------------------------------------------------------


def test_an_order_cannot_settle_another_organizations_bill(
    bill, other_organization, products, outsider
):
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(
            number="ORD-FORGED",
            organization=other_organization,
            product=products["sms"],
            order_type=Order.Type.SUPPLEMENTARY_PAYMENT,
            amount=Decimal("1.00"),
            currency="EUR",
            ordered_at=timezone.now(),
            bill=bill,
        )

    assert not Order.objects.filter(bill=bill).exists()


def test_the_admin_says_why_an_order_cannot_settle_another_organizations_bill(
    admin_client, bill, other_organization, products
):
    response = admin_client.post(
        "/admin/bills/order/add/",
        {
            "organization": other_organization.pk,
            "product": products["sms"].pk,
            "order_type": Order.Type.SUPPLEMENTARY_PAYMENT,
            "status": Order.Status.UNPAID,
            "amount": "1.00",
            "currency": "EUR",
            "payment_method": "",
            "ordered_at_0": "2026-11-01",
            "ordered_at_1": "12:00:00",
            "bill": bill.pk,
        },
    )

    assert response.status_code == 200
    assert "belongs to another organization than this order" in response.content.decode()
    assert not Order.objects.exists()


def test_an_existing_order_cannot_be_moved_onto_another_organizations_bill(
    bill, make_bill, other_application, products, outsider
):
    foreign = make_bill(other_application)
    order = Order.objects.create(
        number="ORD-1",
        organization=foreign.organization,
        product=products["sms"],
        order_type=Order.Type.SUPPLEMENTARY_PAYMENT,
        amount=Decimal("1.00"),
        currency="EUR",
        ordered_at=timezone.now(),
        bill=foreign,
    )

    with pytest.raises(IntegrityError):
        raw("UPDATE bills_order SET bill_id = %s WHERE id = %s", [bill.pk, order.pk])


# The audit trail ------------------------------------------------------------------------


@pytest.fixture
def event(bill, member):
    return AuditEvent.objects.create(
        action=AuditEvent.Action.BILL_DOWNLOAD,
        actor=member,
        actor_username=member.username,
        organization=bill.organization,
        object_type="bill",
        object_id=str(bill.pk),
        object_repr=bill.number,
    )


def test_the_audit_trail_refuses_update_and_delete(event):
    with pytest.raises(IntegrityError):
        raw("UPDATE bills_auditevent SET actor_username = 'someone' WHERE id = %s", [event.pk])
    with pytest.raises(IntegrityError):
        raw("DELETE FROM bills_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(RecordIsImmutable):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(RecordIsImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(action=AuditEvent.Action.BILL_CLEARED)

    assert AuditEvent.objects.get(pk=event.pk).actor_username == "alice"


def test_deleting_a_user_keeps_their_audit_rows_and_name(event, member):
    member.delete()

    event = AuditEvent.objects.get(pk=event.pk)
    assert event.actor is None
    assert event.actor_username == "alice"


def test_the_retention_command_purges_only_old_rows_and_audits_itself(event, bill):
    old = AuditEvent.objects.create(
        action=AuditEvent.Action.BILL_DOWNLOAD, organization=bill.organization
    )
    raw_time = timezone.now() - dt.timedelta(days=365 * 8)
    # Backdated through the permit-free path a migration of old data would use: insert.
    ancient = AuditEvent.objects.create(
        action=AuditEvent.Action.BILL_DOWNLOAD, organization=bill.organization, occurred_at=raw_time
    )

    call_command("purge_audit", "--older-than-years", "7", stdout=io.StringIO())

    remaining = set(AuditEvent.objects.values_list("pk", flat=True))
    assert ancient.pk not in remaining
    assert {event.pk, old.pk} <= remaining
    purge = AuditEvent.objects.get(action=AuditEvent.Action.AUDIT_PURGED)
    assert purge.details["deleted"] == 1
    assert purge.details["older_than_years"] == 7
    # The permit lived only inside the purge's transaction.
    with pytest.raises(IntegrityError):
        raw("DELETE FROM bills_auditevent WHERE id = %s", [old.pk])


def test_the_retention_command_keeps_at_least_a_year(event):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="at least 1 year"):
        call_command("purge_audit", "--older-than-years", "0")


# Credit notes are final too -------------------------------------------------------------


def test_a_credit_note_cannot_be_edited_or_deleted(bill, admin_user):
    note = credit_note_issue(
        bill=bill, amount=Decimal("5.00"), reason="Duplicate sends", issued_by=admin_user
    )

    with pytest.raises(IntegrityError):
        raw("UPDATE bills_creditnote SET amount = 1 WHERE id = %s", [note.pk])
    with pytest.raises(IntegrityError):
        raw("DELETE FROM bills_creditnote WHERE id = %s", [note.pk])
    with pytest.raises(RecordIsImmutable):
        note.delete()

    assert CreditNote.objects.get(pk=note.pk).amount == Decimal("5.00")


def test_deleting_the_staff_user_keeps_the_credit_note(bill, admin_user):
    note = credit_note_issue(
        bill=bill, amount=Decimal("5.00"), reason="Duplicate sends", issued_by=admin_user
    )

    admin_user.delete()

    note = CreditNote.objects.get(pk=note.pk)
    assert note.issued_by is None
    assert note.issued_by_username == "admin"


# Caps on what a bill may hold -----------------------------------------------------------


def capped_fields():
    for model in (Organization, Bill, BillLine, CreditNote):
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField) and field.max_length:
                if field.choices:
                    continue  # a choice column holds one of its choices
                yield model, field


def test_every_text_field_of_what_a_bill_prints_has_a_length_check():
    """SQLite ignores VARCHAR(n): each capped field must have its CHECK."""
    for model, field in capped_fields():
        name = f"{model._meta.model_name}_{field.name}_length"
        checks = {constraint.name: constraint for constraint in model._meta.constraints}
        assert name in checks, f"{model.__name__}.{field.name} has no length check"
        assert checks[name].condition.rhs == field.max_length


def test_an_overlong_address_is_refused_by_the_database(bill):
    with pytest.raises(IntegrityError):
        raw("UPDATE bills_organization SET address = %s", ["x" * 501])
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.create(
            name="Long",
            slug="long",
            legal_name="Long Ltd.",
            country="US",
            billing_email="b@long.example",
            address="y" * 501,
        )


def test_an_overlong_address_is_a_clear_validation_error(organization):
    from django.core.exceptions import ValidationError

    organization.address = "x" * 501
    with pytest.raises(ValidationError, match="at most 500 characters"):
        organization.full_clean()


# The triggers themselves ----------------------------------------------------------------


def triggers() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        return {name for (name,) in cursor.fetchall()}


def test_every_guard_and_version_trigger_is_in_place(db):
    """SQLite drops a table's triggers when a migration rebuilds it: a later migration
    that forgets to make them again fails here."""
    expected = {
        "postgresql": {
            "bills_guard_bill",
            "bills_guard_billline",
            "bills_guard_creditnote_change",
            "bills_guard_creditnote_insert",
            "bills_creditnote_credits_bill",
            "bills_guard_order",
            "bills_guard_auditevent",
        },
        "sqlite": {
            *guards.SQLITE_TRIGGER_NAMES,
        },
    }[connection.vendor] | version_trigger_names(connection.vendor)

    assert expected <= triggers()


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_guarded_tables_and_keeps_their_guards(bill, admin_user):
    """The suite flushes so after every live-server test; `manage.py flush` too."""
    credit_note_issue(bill=bill, amount=Decimal("1.00"), reason="Test", issued_by=admin_user)
    before = triggers()

    call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)

    assert not Bill.objects.exists()
    assert not AuditEvent.objects.exists()
    assert triggers() == before
    assert not get_user_model().objects.exists()
