"""Staff manage the back office; an issued bill stays a read-only financial record."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from bills.models import Bill


@pytest.fixture
def staff_client(client, db):
    admin = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw-staff-1")
    client.force_login(admin)
    return client


def test_it_shows_an_issued_bill_without_editable_money_fields(staff_client, bill):
    page = staff_client.get(f"/admin/bills/bill/{bill.pk}/change/").content.decode()

    assert bill.number in page
    for field in ("consumption_amount", "overdraft_amount", "service_usage", "billing_cycle"):
        assert f'name="{field}"' not in page
    assert "150.00" in page


def test_it_refuses_to_change_money_by_post(staff_client, bill):
    staff_client.post(
        f"/admin/bills/bill/{bill.pk}/change/",
        {"consumption_amount": "1.00", "lines-TOTAL_FORMS": "0", "lines-INITIAL_FORMS": "0"},
    )

    bill.refresh_from_db()
    assert bill.consumption_amount == Decimal("150.00")


def test_it_clears_bills_with_the_explicit_action(staff_client, make_bill, application):
    pending = make_bill(application, cycle="2026-10")
    already = make_bill(application, cycle="2026-09")
    already.status, already.cleared_at = Bill.Status.CLEARED, already.created_at
    already.save()

    response = staff_client.post(
        "/admin/bills/bill/",
        {"action": "mark_cleared", "_selected_action": [pending.pk, already.pk]},
        follow=True,
    )

    pending.refresh_from_db()
    assert pending.status == Bill.Status.CLEARED
    page = response.content.decode()
    assert "1 bill(s) marked Cleared." in page
    assert "1 bill(s) were already Cleared" in page


def test_bills_cannot_be_added_or_deleted_by_hand(staff_client, bill):
    assert staff_client.get("/admin/bills/bill/add/").status_code == 403
    assert staff_client.get(f"/admin/bills/bill/{bill.pk}/delete/").status_code == 403


def test_members_who_are_not_staff_cannot_open_the_admin(member_client):
    response = member_client.get("/admin/bills/bill/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
