"""The top bar's organization switcher: only the user's own organizations, and anything
else typed into the form is a 404 that looks exactly like another organization's id."""

from __future__ import annotations

import pytest

from bills.middleware import SESSION_KEY
from bills.tests.html import app_keys

SWITCH = "/organization/switch/"


@pytest.fixture
def both_bills(make_bill, application, other_application) -> None:
    make_bill(application)
    make_bill(other_application)


@pytest.mark.parametrize(
    "value",
    ["abc", "1.5", "\x00", "1\x00", "", " ", "-1", "1e3", "0x1", str(2**63), str(2**64), "9" * 400],
)
def test_a_malformed_organization_is_a_404_like_someone_elses(
    member_client, organization, other_organization, both_bills, value
):
    theirs = member_client.post(SWITCH, {"organization": other_organization.pk})

    response = member_client.post(SWITCH, {"organization": value})

    assert response.status_code == theirs.status_code == 404
    assert response.content == theirs.content
    # Still looking at the user's own organization, nothing of the other one.
    assert member_client.session.get(SESSION_KEY) is None
    assert app_keys(member_client.get("/bills/")) == ["acmekey0001"]


def test_a_missing_organization_field_is_a_404(member_client, both_bills):
    assert member_client.post(SWITCH, {}).status_code == 404


def test_a_user_in_both_switches_with_the_plain_id(
    client, member, organization, other_organization, both_bills
):
    member.memberships.create(organization=other_organization)
    client.force_login(member)

    response = client.post(SWITCH, {"organization": other_organization.pk})

    assert response.status_code == 302
    assert app_keys(client.get("/bills/")) == ["globexkey01"]
