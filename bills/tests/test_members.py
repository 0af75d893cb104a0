"""The Members page (issue 16): an owner sees who is a member with which role and when they
last logged in, changes roles, removes and adds members; an organization always keeps an
owner; every change is in the audit trail."""

from __future__ import annotations

import datetime as dt
import threading
import time

import lxml.html
import pytest
from django.core.exceptions import PermissionDenied
from django.db import OperationalError, connection
from django.test import Client

from bills import services
from bills.models import AuditEvent, Membership
from bills.services import LastOwner, member_set_role
from bills.tests.fixtures import make_organization, make_user

Role = Membership.Role


def rows(response) -> list[list[str]]:
    tree = lxml.html.fromstring(response.content)
    return [
        [" ".join(cell.text_content().split()) for cell in row.xpath("./th|./td")]
        for row in tree.xpath("//table[contains(@class, 'member-table')]/tbody/tr")
    ]


def messages_of(response) -> list[str]:
    tree = lxml.html.fromstring(response.content)
    return [" ".join(li.text_content().split()) for li in tree.xpath("//li[@class]")]


def page_text(response) -> str:
    return " ".join(lxml.html.fromstring(response.content).text_content().split())


@pytest.fixture
def bob(organization):
    user = make_user("bob", organization, Role.VIEWER)
    user.last_login = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    user.save(update_fields=["last_login"])
    return user


def membership(user, organization) -> Membership:
    return Membership.objects.get(user=user, organization=organization)


def test_an_owner_sees_each_member_with_role_and_last_login(member_client, member, bob):
    listed = rows(member_client.get("/members/"))

    assert [row[0] for row in listed] == [
        "alice alice@example.com · you",
        "bob bob@example.com",
    ]
    assert "2026-11-02 09:30" in listed[1][2]
    page = member_client.get("/members/").content.decode()
    tree = lxml.html.fromstring(page)
    chosen = tree.xpath("//table//select[@name='role']/option[@selected]/text()")
    assert chosen == ["Owner", "Viewer"]


def test_an_owner_changes_a_role(member_client, member, bob, organization):
    response = member_client.post(
        f"/members/{membership(bob, organization).pk}/role/", {"role": "finance"}, follow=True
    )

    assert "bob is now Finance." in messages_of(response)
    assert membership(bob, organization).role == Role.FINANCE
    event = AuditEvent.objects.get(action=AuditEvent.Action.MEMBER_ROLE_CHANGED)
    assert (event.actor_username, event.organization) == ("alice", organization)
    assert event.details == {"member": "bob", "role": "finance", "previous_role": "viewer"}


def test_an_owner_removes_a_member(member_client, bob, organization):
    response = member_client.post(
        f"/members/{membership(bob, organization).pk}/remove/", follow=True
    )

    assert "bob is no longer a member of Acme Messaging." in messages_of(response)
    assert not Membership.objects.filter(user=bob).exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.MEMBER_REMOVED)
    assert event.details == {"member": "bob", "role": "viewer"}
    # bob is signed out of nothing, but sees nothing of Acme any more.
    browser = Client()
    browser.force_login(bob)
    assert "not a member of any organization" in page_text(browser.get("/bills/"))


@pytest.mark.parametrize("typed", ["carol", "Carol@Example.com"])
def test_an_owner_adds_an_existing_user_by_username_or_email(
    member_client, organization, typed, db
):
    make_user("carol")

    response = member_client.post("/members/add/", {"user": typed, "role": "finance"}, follow=True)

    assert "carol is now a member of Acme Messaging, as Finance." in messages_of(response)
    assert Membership.objects.get(user__username="carol").role == Role.FINANCE
    event = AuditEvent.objects.get(action=AuditEvent.Action.MEMBER_ADDED)
    assert event.details == {"member": "carol", "role": "finance"}


def test_it_says_clearly_when_no_account_matches(member_client, organization):
    response = member_client.post("/members/add/", {"user": "nobody@example.com", "role": "viewer"})

    assert response.status_code == 400
    assert "No account has the username or email address “nobody@example.com”." in page_text(
        response
    )
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_ADDED).exists()


def test_it_says_when_the_user_is_already_a_member(member_client, bob):
    response = member_client.post("/members/add/", {"user": "bob", "role": "owner"})

    assert response.status_code == 400
    assert "bob is already a member, as Viewer." in page_text(response)
    assert bob.memberships.get().role == Role.VIEWER


def test_the_last_owner_can_be_neither_demoted_nor_removed(member_client, member, organization):
    mine = membership(member, organization)

    demoted = member_client.post(f"/members/{mine.pk}/role/", {"role": "viewer"}, follow=True)
    removed = member_client.post(f"/members/{mine.pk}/remove/", follow=True)

    assert messages_of(demoted) == [
        "alice is the last owner of Acme Messaging and keeps the Owner role: an organization "
        "always has one. Make another member an owner first."
    ]
    assert messages_of(removed) == [
        "alice is the last owner of Acme Messaging and cannot be removed: an organization "
        "always has one. Make another member an owner first."
    ]
    assert membership(member, organization).role == Role.OWNER
    assert not AuditEvent.objects.filter(action__startswith="member_").exists()


def test_an_owner_who_steps_down_lands_where_their_new_role_may_go(
    member_client, member, organization, bob
):
    Membership.objects.filter(user=bob).update(role=Role.OWNER)

    response = member_client.post(
        f"/members/{membership(member, organization).pk}/role/", {"role": "viewer"}
    )

    assert response["Location"] == "/bills/"
    assert member_client.get("/members/").status_code == 403


def test_a_viewer_cannot_make_themselves_an_owner(viewer_client, organization):
    mine = Membership.objects.get(organization=organization, role=Role.VIEWER)

    response = viewer_client.post(f"/members/{mine.pk}/role/", {"role": "owner"})

    assert response.status_code == 403
    assert Membership.objects.get(pk=mine.pk).role == Role.VIEWER


def test_another_organizations_owner_cannot_touch_acmes_members(
    client, bob, organization, outsider
):
    client.force_login(outsider)
    target = membership(bob, organization)

    changed = client.post(f"/members/{target.pk}/role/", {"role": "owner"})
    removed = client.post(f"/members/{target.pk}/remove/")
    listed = client.get("/members/")

    assert changed.status_code == removed.status_code == 404
    assert membership(bob, organization).role == Role.VIEWER
    assert "bob" not in page_text(listed)


def test_the_services_refuse_someone_who_is_no_longer_an_owner(member, bob, organization):
    with pytest.raises(PermissionDenied):
        member_set_role(membership=membership(member, organization), role="viewer", by=bob)


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner(monkeypatch):
    organization = make_organization("acme", name="Acme Messaging")
    alice = make_user("alice", organization, Role.OWNER)
    carol = make_user("carol", organization, Role.OWNER)
    # The first change to reach its audit row waits there, holding the organization's
    # lock, until the second has started and read (or, with the lock, waited).
    first_inside, go_on = threading.Event(), threading.Event()
    audit = services._audit_member

    def audit_slowly(*args, **kwargs):
        if not first_inside.is_set():
            first_inside.set()
            go_on.wait(10)
        return audit(*args, **kwargs)

    monkeypatch.setattr(services, "_audit_member", audit_slowly)
    outcomes: dict[str, object] = {}

    def demote(name: str, target, by) -> None:
        try:
            member_set_role(membership=membership(target, organization), role="viewer", by=by)
            outcomes[name] = "demoted"
        except (LastOwner, PermissionDenied, OperationalError) as exc:
            outcomes[name] = exc
        finally:
            connection.close()

    first = threading.Thread(target=demote, args=("alice demotes carol", carol, alice))
    second = threading.Thread(target=demote, args=("carol demotes alice", alice, carol))
    first.start()
    assert first_inside.wait(10)
    second.start()
    time.sleep(0.5)
    go_on.set()
    first.join(20)
    second.join(20)

    assert outcomes["alice demotes carol"] == "demoted"
    refusal = outcomes["carol demotes alice"]
    if connection.vendor == "postgresql":
        # The lock made carol wait, then see she is no longer an owner herself.
        assert isinstance(refusal, PermissionDenied | LastOwner), refusal
    else:
        # SQLite has no row locks: its one writer at a time refuses the second.
        assert isinstance(refusal, LastOwner | OperationalError), refusal
    assert list(Membership.objects.owners().values_list("user__username", flat=True)) == ["alice"]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MEMBER_ROLE_CHANGED).count() == 1
