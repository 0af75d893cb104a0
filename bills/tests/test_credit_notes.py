"""Corrections as credit notes: staff credit an issued bill, the customer sees it on the
bill's page, its PDF and the list, and every place agrees to the cent (issue 11)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from bills.models import AuditEvent, Bill, CreditNote
from bills.services import CreditRefused, LineItem, credit_note_issue
from bills.tests.html import bill_rows, summary, visible_text
from bills.tests.test_bill_detail import facts
from bills.tests.test_pdf import pdf_text


@pytest.fixture
def overdrawn(make_bill, application):
    """150.00 USD consumed in two lines, 40.00 of it overdrawn."""
    return make_bill(
        application,
        lines=[
            LineItem("SMS to Germany", 1000, "messages", Decimal("0.1")),
            LineItem("SMS to France", 1000, "messages", Decimal("0.05")),
        ],
        product="sms",
        overdraft="40.00",
    )


def credit(bill, amount: str, *, by, line=None, reason="Duplicate sends"):
    return credit_note_issue(
        bill=bill, amount=Decimal(amount), reason=reason, issued_by=by, bill_line=line
    )


def test_a_credit_note_lowers_the_amount_due_and_leaves_the_bill_as_issued(overdrawn, admin_user):
    note = credit(overdrawn, "15.00", by=admin_user)

    bill = Bill.objects.get(pk=overdrawn.pk)
    assert note.number.startswith(f"CN-{note.issued_at:%Y%m}-")
    assert note.number.endswith("-000001")
    assert bill.consumption_amount == Decimal("150.00")
    assert bill.credited_amount == Decimal("15.00")
    assert bill.amount_due == Decimal("25.00")


def test_numbers_are_sequential(overdrawn, admin_user):
    first = credit(overdrawn, "1.00", by=admin_user)
    second = credit(overdrawn, "1.00", by=admin_user)

    assert int(second.number[-6:]) == int(first.number[-6:]) + 1


def test_the_amount_due_never_goes_below_zero(overdrawn, admin_user):
    credit(overdrawn, "100.00", by=admin_user)

    assert Bill.objects.get(pk=overdrawn.pk).amount_due == Decimal("0")


def test_it_refuses_to_credit_more_than_is_left(overdrawn, admin_user):
    credit(overdrawn, "100.00", by=admin_user)

    with pytest.raises(CreditRefused, match=r"At most 50\.00 USD"):
        credit(overdrawn, "50.01", by=admin_user)

    assert Bill.objects.get(pk=overdrawn.pk).credited_amount == Decimal("100.00")


def test_a_line_is_credited_at_most_its_own_amount(overdrawn, admin_user):
    germany = overdrawn.lines.get(position=1)  # 100.00
    credit(overdrawn, "60.00", by=admin_user, line=germany)

    with pytest.raises(CreditRefused, match=r"At most 40\.00 USD"):
        credit(overdrawn, "40.01", by=admin_user, line=germany)
    credit(overdrawn, "40.00", by=admin_user, line=germany)

    assert Bill.objects.get(pk=overdrawn.pk).credited_amount == Decimal("100.00")


@pytest.mark.parametrize("amount", ["0", "-1.00", "0.001"])
def test_it_refuses_an_amount_that_is_not_a_positive_amount_of_the_currency(
    overdrawn, admin_user, amount
):
    with pytest.raises(CreditRefused):
        credit(overdrawn, amount, by=admin_user)

    assert not CreditNote.objects.exists()


def test_it_needs_a_reason(overdrawn, admin_user):
    with pytest.raises(CreditRefused, match="Say why"):
        credit(overdrawn, "1.00", by=admin_user, reason="   ")


def test_the_database_refuses_over_crediting_whatever_path_writes(overdrawn, admin_user):
    note = credit(overdrawn, "150.00", by=admin_user)

    with pytest.raises(IntegrityError), transaction.atomic():
        CreditNote.objects.create(
            number="CN-FORGED",
            organization=overdrawn.organization,
            bill=overdrawn,
            amount=Decimal("0.01"),
            currency="USD",
            reason="More",
        )

    assert list(CreditNote.objects.all()) == [note]


def test_the_database_refuses_a_credit_note_of_another_organization(overdrawn, other_organization):
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditNote.objects.create(
            number="CN-FORGED",
            organization=other_organization,
            bill=overdrawn,
            amount=Decimal("1.00"),
            currency="USD",
            reason="Wrong tenant",
        )


def test_it_is_in_the_audit_trail(overdrawn, admin_user):
    note = credit(overdrawn, "15.00", by=admin_user, reason="Carrier outage")

    event = AuditEvent.objects.get(action=AuditEvent.Action.CREDIT_NOTE_ISSUED)
    assert event.actor == admin_user
    assert event.organization == overdrawn.organization
    assert event.object_repr == note.number
    assert event.details["bill"] == overdrawn.number
    assert Decimal(event.details["amount"]) == Decimal("15.00")
    assert event.details["reason"] == "Carrier outage"


# What the customer sees -----------------------------------------------------------------


def test_the_bill_page_names_its_credit_notes(member_client, overdrawn, admin_user):
    note = credit(overdrawn, "15.00", by=admin_user, reason="Carrier outage <b>x</b>")

    response = member_client.get(f"/bills/{overdrawn.pk}/")
    page = response.content.decode()

    shown = facts(response)
    assert shown["Credited"] == "−15.00 USD"
    assert shown["Amount due"] == "25.00 USD"
    assert f"Credited 15.00 USD by {note.number}" in visible_text(response)
    assert "Carrier outage &lt;b&gt;x&lt;/b&gt;" in page
    assert f"/bills/{overdrawn.pk}/credit-notes/{note.pk}/pdf/" in page


def test_the_bills_list_shows_what_was_credited_and_what_is_due(
    member_client, overdrawn, admin_user
):
    credit(overdrawn, "15.00", by=admin_user)

    response = member_client.get("/bills/")

    (row,) = bill_rows(response)
    assert row["Overdraft Amount"] == "40.00 USD Credited 15.00 · due 25.00"
    assert "15.00 USD credited by credit notes" in " ".join(response.content.decode().split())
    assert summary(response)["Total overdraft"] == "40.00 USD"


def test_the_bill_pdf_names_the_credit_note(member_client, overdrawn, admin_user):
    note = credit(overdrawn, "15.00", by=admin_user, reason="Carrier outage")

    text = " ".join(pdf_text(member_client.get(f"/bills/{overdrawn.pk}/pdf/").content).split())

    assert f"Credited 15.00 USD by {note.number}" in text
    assert "Carrier outage" in text
    assert "Credited by credit notes −15.00 USD" in text
    assert "Amount due 25.00 USD" in text


def test_the_credit_note_has_its_own_pdf(member_client, overdrawn, admin_user):
    note = credit(overdrawn, "15.00", by=admin_user, reason="Carrier outage")

    response = member_client.get(f"/bills/{overdrawn.pk}/credit-notes/{note.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert note.number in response["Content-Disposition"]
    assert "private" in response["Cache-Control"]
    text = " ".join(pdf_text(response.content).split())
    assert f"Credit note {note.number}" in text or note.number in text
    assert f"Bill number {overdrawn.number}" in text
    assert "Amount credited 15.00 USD" in text
    assert "Carrier outage" in text
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CREDIT_NOTE_DOWNLOAD).exists()


def test_another_organizations_credit_note_is_a_404(client, overdrawn, admin_user, outsider):
    note = credit(overdrawn, "15.00", by=admin_user)
    client.force_login(outsider)

    response = client.get(f"/bills/{overdrawn.pk}/credit-notes/{note.pk}/pdf/")

    assert response.status_code == 404


def test_a_credit_note_is_found_only_through_its_own_bill(
    member_client, overdrawn, make_bill, application, admin_user
):
    other_bill = make_bill(application, cycle="2026-09")
    note = credit(overdrawn, "15.00", by=admin_user)

    response = member_client.get(f"/bills/{other_bill.pk}/credit-notes/{note.pk}/pdf/")

    assert response.status_code == 404


# Staff issue them from the admin --------------------------------------------------------


def test_staff_issue_a_credit_note_from_the_bill_in_the_admin(admin_client, overdrawn):
    changelist = admin_client.post(
        "/admin/bills/bill/",
        {"action": "issue_credit_note", "_selected_action": [overdrawn.pk]},
    )
    assert changelist.status_code == 302
    form_url = changelist["Location"]

    form = admin_client.get(form_url)
    assert "At most 150.00 USD is left to credit." in form.content.decode()

    done = admin_client.post(form_url, {"amount": "12.50", "line": "2", "reason": "Outage"})

    assert done.status_code == 302
    note = CreditNote.objects.get()
    assert note.amount == Decimal("12.50")
    assert note.bill_line.position == 2
    assert note.issued_by_username == "admin"


def test_the_admin_form_says_why_it_refuses(admin_client, overdrawn):
    url = f"/admin/bills/bill/{overdrawn.pk}/credit-note/"

    too_much = admin_client.post(url, {"amount": "150.01", "reason": "Outage"})
    no_line = admin_client.post(url, {"amount": "1.00", "line": "9", "reason": "Outage"})
    cents = admin_client.post(url, {"amount": "1.001", "reason": "Outage"})

    assert "At most 150.00 USD of" in too_much.content.decode()
    assert "has lines 1 to 2" in no_line.content.decode()
    assert "no more than 2 decimal places" in cents.content.decode()
    assert not CreditNote.objects.exists()


def test_the_admin_lists_credit_notes_read_only(admin_client, overdrawn, admin_user):
    note = credit(overdrawn, "15.00", by=admin_user)

    listing = admin_client.get("/admin/bills/creditnote/")
    change = admin_client.post(f"/admin/bills/creditnote/{note.pk}/change/", {"amount": "1"})

    assert note.number in listing.content.decode()
    assert change.status_code in (302, 403) or 'name="amount"' not in change.content.decode()
    assert CreditNote.objects.get().amount == Decimal("15.00")


def test_a_member_cannot_reach_the_admin_form(member_client, overdrawn):
    response = member_client.get(f"/admin/bills/bill/{overdrawn.pk}/credit-note/")

    assert response.status_code == 302  # to the admin's login
    assert not CreditNote.objects.exists()
