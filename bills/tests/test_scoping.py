"""Every user sees only the organizations they belong to, and nothing of the others."""

from __future__ import annotations

from bills.models import Application, Bill, Organization, Product
from bills.tests.fixtures import make_user


def test_it_lists_only_a_users_own_organizations(
    member, outsider, organization, other_organization
):
    assert list(Organization.objects.for_user(member)) == [organization]
    assert list(Organization.objects.for_user(outsider)) == [other_organization]


def test_it_scopes_bills_applications_and_products(
    make_bill, application, other_application, organization, other_organization
):
    mine = make_bill(application, product="sms")
    theirs = make_bill(other_application, product="email")

    assert list(Bill.objects.for_organization(organization)) == [mine]
    assert list(Bill.objects.for_organization(other_organization)) == [theirs]
    assert list(Bill.objects.for_organization(None)) == []
    assert list(Application.objects.for_organization(organization)) == [application]
    assert [p.code for p in Product.objects.in_use_by(organization)] == ["sms"]


def test_both_members_see_the_bill(client, member, second_member, bill):
    for user in (member, second_member):
        client.force_login(user)

        assert client.get("/bills/").content.decode().count(bill.application.app_key) == 1
        assert client.get(f"/bills/{bill.pk}/").status_code == 200


def test_an_outsider_sees_nothing_of_the_organization(client, outsider, bill):
    client.force_login(outsider)

    listing = client.get("/bills/")
    assert bill.application.app_key not in listing.content.decode()
    assert bill.application.name not in listing.content.decode()
    # Another organization's bill looks exactly like one that does not exist.
    theirs = client.get(f"/bills/{bill.pk}/")
    missing = client.get("/bills/999999/")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content


def test_a_user_in_two_organizations_switches_between_them(
    client, organization, other_organization, make_bill, application, other_application
):
    make_bill(application)
    make_bill(other_application)
    user = make_user("dave", organization)
    user.memberships.create(organization=other_organization)
    client.force_login(user)

    assert "acmekey0001" in client.get("/bills/").content.decode()

    response = client.post("/organization/switch/", {"organization": other_organization.pk})
    assert response.status_code == 302
    page = client.get("/bills/").content.decode()
    assert "globexkey01" in page
    assert "acmekey0001" not in page


def test_it_refuses_to_switch_to_someone_elses_organization(member_client, other_organization):
    response = member_client.post("/organization/switch/", {"organization": other_organization.pk})

    assert response.status_code == 404


def test_a_user_without_organization_sees_an_explanation(client, db):
    client.force_login(make_user("newcomer"))

    response = client.get("/bills/")

    assert response.status_code == 200
    assert "not a member of any organization" in response.content.decode()
