"""The audit trail: who did what to which organization's bills, and it never gets in the way."""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import connection
from django.test import RequestFactory

from bills.audit import audit_record, client_ip
from bills.models import AuditEvent, Bill
from bills.services import bill_clear


@contextmanager
def audit_inserts_failing(times: int):
    """The database refuses the next `times` audit rows, for real: the statement errors."""
    failures = {"left": times}

    def wrapper(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "bills_auditevent"') and failures["left"] > 0:
            failures["left"] -= 1
            return execute('SELECT * FROM "issue7_no_such_table"', None, many, context)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


def download_request(user, organization, **meta):
    request = RequestFactory().get("/bills/1/pdf/", REMOTE_ADDR="203.0.113.7", **meta)
    request.user = user
    request.organization = organization
    return request


def test_it_records_a_download_with_who_where_and_from_which_ip(member, organization, bill):
    event = audit_record(
        request=download_request(member, organization),
        action=AuditEvent.Action.BILL_DOWNLOAD,
        obj=bill,
    )

    stored = AuditEvent.objects.get()
    assert stored == event
    assert stored.get_action_display() == "Download Bill"
    assert stored.actor == member and stored.actor_username == "alice"
    assert stored.organization == organization
    assert (stored.object_type, stored.object_id, stored.object_repr) == (
        "bill",
        str(bill.pk),
        bill.number,
    )
    assert stored.ip_address == "203.0.113.7"
    assert stored.occurred_at is not None


def test_it_records_an_export_with_its_filter_and_row_count(member, organization):
    audit_record(
        request=download_request(member, organization),
        action=AuditEvent.Action.BILLS_EXPORT,
        details={
            "format": "xlsx",
            "filters": {"status": "pending", "cycle_from": dt.date(2026, 1, 1)},
            "rows": 1234,
            "total": Decimal("10.50"),
        },
    )

    details = AuditEvent.objects.get().details
    assert details == {
        "format": "xlsx",
        "filters": {"status": "pending", "cycle_from": "2026-01-01"},
        "rows": 1234,
        "total": "10.50",
    }


def test_marking_a_bill_cleared_in_the_admin_is_audited(admin_client, admin_user, bill):
    response = admin_client.post(
        "/admin/bills/bill/",
        {"action": "mark_cleared", "_selected_action": [bill.pk]},
        REMOTE_ADDR="198.51.100.4",
        follow=True,
    )

    assert "1 bill(s) marked Cleared." in response.content.decode()
    event = AuditEvent.objects.get()
    assert event.action == AuditEvent.Action.BILL_CLEARED
    assert event.actor == admin_user
    assert event.organization == bill.organization
    assert event.object_repr == bill.number
    assert event.details == {"from": "pending", "to": "cleared"}
    assert event.ip_address == "198.51.100.4"


def test_a_bill_already_cleared_is_not_audited_again(bill):
    bill_clear(bill=bill)

    with pytest.raises(Exception, match="already Cleared"):
        bill_clear(bill=bill)

    assert AuditEvent.objects.count() == 1


def test_it_retries_once_when_the_first_write_fails(member, organization, bill, caplog):
    with audit_inserts_failing(times=1):
        event = audit_record(
            request=download_request(member, organization),
            action=AuditEvent.Action.BILL_DOWNLOAD,
            obj=bill,
        )

    assert event is not None
    assert AuditEvent.objects.count() == 1
    assert "retrying once" in caplog.text


def test_it_never_blocks_the_caller_when_it_cannot_write_twice(member, organization, bill, caplog):
    with audit_inserts_failing(times=2), caplog.at_level(logging.ERROR, logger="bills.audit"):
        event = audit_record(
            request=download_request(member, organization),
            action=AuditEvent.Action.BILL_DOWNLOAD,
            obj=bill,
        )

    assert event is None
    assert AuditEvent.objects.count() == 0
    # The event is not lost: the log has all of it.
    lost = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(lost) == 1
    message = lost[0].getMessage()
    assert "Audit event lost after 2 attempts" in message
    assert "action=bill_download user=alice" in message
    assert f"object=bill:{bill.pk}" in message


def test_a_status_change_still_happens_when_its_audit_row_cannot_be_written(bill, member):
    # The failed INSERT runs inside bill_clear's transaction; its savepoint keeps that
    # transaction usable (on PostgreSQL an error would otherwise abort it).
    with audit_inserts_failing(times=2):
        bill_clear(bill=bill, by=member)

    bill.refresh_from_db()
    assert bill.status == Bill.Status.CLEARED
    assert AuditEvent.objects.count() == 0


def test_it_records_the_client_ip_behind_the_trusted_proxies(settings, member, organization):
    settings.TRUSTED_PROXY_COUNT = 1
    spoofed_then_real = "10.9.9.9, 203.0.113.50"

    request = download_request(member, organization, HTTP_X_FORWARDED_FOR=spoofed_then_real)

    assert client_ip(request) == "203.0.113.50"
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "203.0.113.7"


# The admin: staff read the trail, nobody edits it ------------------------------------------


def test_staff_see_the_audit_trail_with_filters(admin_client, bill, member):
    bill_clear(bill=bill, by=member)

    page = admin_client.get("/admin/bills/auditevent/").content.decode()

    assert "Bill marked Cleared" in page
    assert bill.number in page
    assert "alice" in page
    for heading in ("By action", "By organization", "By occurred at"):
        assert heading in page
    assert "Add audit event" not in page


def test_the_audit_trail_cannot_be_edited_or_deleted(admin_client, bill, member):
    bill_clear(bill=bill, by=member)
    event = AuditEvent.objects.get()

    change = admin_client.get(f"/admin/bills/auditevent/{event.pk}/change/").content.decode()
    edit = admin_client.post(f"/admin/bills/auditevent/{event.pk}/change/", {"action": "x"})
    delete = admin_client.post(f"/admin/bills/auditevent/{event.pk}/delete/", {"post": "yes"})

    assert 'name="_save"' not in change
    assert edit.status_code == 403
    assert delete.status_code == 403
    assert AuditEvent.objects.get().action == AuditEvent.Action.BILL_CLEARED


def test_members_do_not_see_the_audit_trail(member_client):
    response = member_client.get("/admin/bills/auditevent/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
