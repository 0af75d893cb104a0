"""The Activity page (issue 16): an owner reads their organization's audit trail, newest
first, filtered by action, person and dates, a page at a time; never another's rows."""

from __future__ import annotations

import datetime as dt

import lxml.html
import pytest

from bills.audit import audit_record
from bills.models import AuditEvent, Membership
from bills.tests.fixtures import make_user

Action = AuditEvent.Action


def rows(response) -> list[list[str]]:
    tree = lxml.html.fromstring(response.content)
    return [
        [" ".join(cell.text_content().split()) for cell in row.xpath("./td")]
        for row in tree.xpath("//table[contains(@class, 'activity-table')]/tbody/tr")
    ]


def record(action, user, organization, day: str, obj=None) -> AuditEvent:
    """An event as audit_record writes it, at 10:00 UTC on `day`."""
    return AuditEvent.objects.create(
        action=action,
        actor=user,
        actor_username=user.get_username(),
        organization=organization,
        object_type=obj._meta.model_name if obj else "",
        object_id=str(obj.pk) if obj else "",
        object_repr=str(obj) if obj else "",
        occurred_at=dt.datetime.fromisoformat(f"{day}T10:00:00+00:00"),
    )


@pytest.fixture
def trail(member, organization, other_organization, outsider, bill):
    """Three of Acme's events on three days (one by bob) and one of Globex's."""
    bob = make_user("bob", organization, Membership.Role.FINANCE)
    record(Action.BILL_DOWNLOAD, member, organization, "2026-11-01", bill)
    record(Action.BILLS_EXPORT, bob, organization, "2026-11-02", bill)
    record(Action.BILL_CLEARED, member, organization, "2026-11-03", bill)
    record(Action.BILL_DOWNLOAD, outsider, other_organization, "2026-11-04")


def test_an_owner_reads_their_organizations_trail_newest_first(member_client, trail, bill):
    listed = rows(member_client.get("/activity/"))

    assert [(row[0], row[1], row[2]) for row in listed] == [
        ("2026-11-03 10:00:00", "alice", "Bill marked Cleared"),
        ("2026-11-02 10:00:00", "bob", "Export Data"),
        ("2026-11-01 10:00:00", "alice", "Download Bill"),
    ]
    assert all(row[3] == bill.number for row in listed)
    assert "mallory" not in member_client.get("/activity/").content.decode()


def test_it_filters_by_action_person_and_dates(member_client, trail):
    def actions(query: str) -> list[str]:
        return [row[2] for row in rows(member_client.get(f"/activity/?{query}"))]

    assert actions("action=bills_export") == ["Export Data"]
    assert actions("person=alice") == ["Bill marked Cleared", "Download Bill"]
    assert actions("occurred_from=2026-11-02&occurred_to=2026-11-02") == ["Export Data"]
    assert actions("occurred_from=2026-11-02") == ["Bill marked Cleared", "Export Data"]


def test_the_person_filter_offers_only_people_of_this_organization(member_client, trail):
    tree = lxml.html.fromstring(member_client.get("/activity/").content)

    assert tree.xpath("//select[@name='person']/option/@value") == ["", "alice", "bob"]


def test_another_organizations_person_or_a_bad_date_shows_nothing_and_says_why(
    member_client, trail
):
    for query in ("person=mallory", "occurred_from=yesterday", "action=x", "person=a&person=b"):
        response = member_client.get(f"/activity/?{query}")

        assert rows(response) == [], query
        assert "Some filters are not valid" in response.content.decode(), query


def test_it_shows_a_page_at_a_time(member_client, organization, member):
    for _ in range(30):
        audit_record(action=Action.BILL_DOWNLOAD, user=member, organization=organization)

    first = member_client.get("/activity/")
    second = member_client.get("/activity/?page=2")

    assert len(rows(first)) == 25
    assert len(rows(second)) == 5
    assert "Page 2 of 2" in " ".join(lxml.html.fromstring(second.content).text_content().split())


def test_member_changes_read_as_who_and_which_role(member_client, organization, member):
    bob = make_user("bob", organization, Membership.Role.VIEWER)
    member_client.post(
        f"/members/{bob.memberships.get().pk}/role/", {"role": "finance"}, follow=True
    )

    assert rows(member_client.get("/activity/"))[0][2:4] == [
        "Member's role changed",
        "bob · Viewer → Finance",
    ]


def test_finance_may_not_read_the_activity(finance_client, trail):
    assert finance_client.get("/activity/").status_code == 403
