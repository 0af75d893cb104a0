"""The Bills page's summary and the Pending badge are cached per organization and
filter (bills.summaries); any change to a bill must show on the very next request."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import lxml.html
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bills.models import Application, Bill, Organization, Product
from bills.services import bill_clear, credit_note_issue
from bills.tests.html import app_keys, bill_rows, summary, visible_text
from bills.tests.test_bill_list import bulk_bills


def badge(response) -> str:
    """The number on the top navigation's Bills badge."""
    tree = lxml.html.fromstring(response.content.decode())
    return tree.xpath("//span[contains(@class, 'badge')]")[0].text.strip()


def user_name(response) -> str:
    tree = lxml.html.fromstring(response.content.decode())
    return tree.xpath("//span[@class='user-name']")[0].text_content()


def version(organization: Organization) -> int:
    return Organization.objects.get(pk=organization.pk).bills_version


PENDING = {"status": "pending"}


def test_a_cleared_bill_changes_the_summary_and_the_badge_at_once(
    member_client, make_bill, application
):
    first = make_bill(application, cycle="2026-10")
    make_bill(application, cycle="2026-09", overdraft="0.01")
    before = member_client.get("/bills/")
    assert summary(member_client.get("/bills/", PENDING))["Bills"] == "2"
    assert summary(before)["Total pending"] == "300.00 USD"
    assert badge(before) == "2"

    bill_clear(bill=first)

    after = member_client.get("/bills/")
    assert summary(after) == {
        "Bills": "2",
        "Total consumption": "300.00 USD",
        "Total pending": "150.00 USD",
        "Total overdraft": "0.01 USD",
    }
    assert badge(after) == "1"
    assert summary(member_client.get("/bills/", PENDING))["Bills"] == "1"


def test_a_newly_issued_bill_changes_the_summary_and_the_badge_at_once(
    member_client, make_bill, application
):
    make_bill(application, cycle="2026-10")
    assert summary(member_client.get("/bills/"))["Bills"] == "1"
    assert summary(member_client.get("/bills/", PENDING))["Total pending"] == "150.00 USD"

    make_bill(application, cycle="2026-09", overdraft="12.34")

    after = member_client.get("/bills/")
    assert summary(after)["Bills"] == "2"
    assert summary(after)["Total overdraft"] == "12.34 USD"
    assert badge(after) == "2"
    assert summary(member_client.get("/bills/", PENDING))["Total pending"] == "300.00 USD"


def test_the_cached_summary_stays_exact_to_the_cent(member_client, application, products):
    # 1000 x 0.10 + 3 x 0.29 + 0.01: a float would drift, a cache must not round.
    amounts = [("0.10", "0.00", "pending")] * 1000 + [("0.29", "0.07", "cleared")] * 3
    bulk_bills(application, products["sms"], amounts)
    expected = {
        "Bills": "1,003",
        "Total consumption": "100.87 USD",
        "Total pending": "100.00 USD",
        "Total overdraft": "0.21 USD",
    }
    assert summary(member_client.get("/bills/")) == expected
    assert summary(member_client.get("/bills/")) == expected  # from the cache

    bulk_bills(application, products["email"], [("0.01", "0.01", "pending")])
    assert summary(member_client.get("/bills/")) == {
        "Bills": "1,004",
        "Total consumption": "100.88 USD",
        "Total pending": "100.01 USD",
        "Total overdraft": "0.22 USD",
    }


def test_every_kind_of_write_to_bills_raises_the_version(
    organization, other_organization, application, products, bill, make_bill, admin_user
):
    # The triggers must catch writers that bypass Model.save: bulk_create,
    # QuerySet.update, raw SQL, and a credit note (whose own trigger credits the bill).
    # Issued bills are never deleted (test_immutable).
    seen = version(organization)
    bulk_bills(application, products["sms"], [("1.00", "0.00", "pending")])
    assert version(organization) > seen

    seen = version(organization)
    Bill.objects.filter(pk=bill.pk).update(
        status=Bill.Status.CLEARED, cleared_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    )
    assert version(organization) > seen

    pending = make_bill(application, cycle="2026-08")
    seen = version(organization)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE bills_bill SET status = 'cleared', cleared_at = %s WHERE id = %s",
            [dt.datetime(2026, 11, 1, tzinfo=dt.UTC), pending.pk],
        )
    assert version(organization) > seen

    seen, other = version(organization), version(other_organization)
    credit_note_issue(bill=bill, amount=Decimal("1.00"), reason="Goodwill", issued_by=admin_user)
    assert version(organization) > seen
    assert version(other_organization) == other  # only the bill's own organization


def test_saving_an_organization_never_writes_back_an_old_version(
    organization, application, make_bill
):
    stale = Organization.objects.get(pk=organization.pk)
    make_bill(application)
    raised = version(organization)

    stale.name = "Acme Renamed"
    stale.save()

    assert version(organization) == raised
    assert Organization.objects.get(pk=organization.pk).name == "Acme Renamed"


def test_a_search_is_never_served_from_the_cache(member_client, make_bill, application):
    # A search matches application names, which no bill change follows.
    make_bill(application)
    assert summary(member_client.get("/bills/", {"q": "Renamed"}))["Bills"] == "0"

    application.name = "Renamed Shop"
    application.save()

    assert summary(member_client.get("/bills/", {"q": "Renamed"}))["Bills"] == "1"


def test_an_unchanged_selection_is_not_added_up_again(member_client, make_bill, application):
    make_bill(application)
    with CaptureQueriesContext(connection) as first:
        member_client.get("/bills/", PENDING)
    with CaptureQueriesContext(connection) as second:
        response = member_client.get("/bills/", PENDING)

    def sums(captured):
        return [query for query in captured if "SUM(" in query["sql"].upper()]

    def bill_reads(captured):
        return [query for query in captured if '"bills_bill"' in query["sql"]]

    # One pass for the totals, the Pending totals and the sparkline's months.
    assert len(sums(first)) == 1
    assert bill_reads(first)
    # Nor read again: the rendered content is cached too. What is left is the session,
    # the user and their organizations.
    assert sums(second) == []
    assert bill_reads(second) == []
    assert len(second) == 3
    assert summary(response)["Total pending"] == "150.00 USD"
    assert badge(response) == "1"


def test_every_worker_reads_the_figures_another_one_added_up(
    member_client, make_bill, application, settings
):
    # gunicorn runs several processes and replaces them now and then: the figures live in
    # files they share, so a fresh process (new cache objects, nothing in memory) reads
    # them back instead of adding up again.
    make_bill(application)
    member_client.get("/bills/", PENDING)
    before = caches["bill_summaries"]
    settings.CACHES = dict(settings.CACHES)  # Django drops its cache objects
    assert caches["bill_summaries"] is not before
    caches["bill_pages"].clear()  # in memory: a new process starts without it

    with CaptureQueriesContext(connection) as fresh:
        response = member_client.get("/bills/", PENDING)

    assert [query for query in fresh if "SUM(" in query["sql"].upper()] == []
    assert summary(response)["Total pending"] == "150.00 USD"


def test_a_broken_cache_costs_the_sums_not_the_page(
    member_client, make_bill, application, settings, tmp_path, caplog
):
    # A full disk or a cache directory the app cannot write: the page adds up anew.
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    settings.CACHES = settings.CACHES | {
        "bill_summaries": settings.CACHES["bill_summaries"] | {"LOCATION": str(blocked)}
    }
    make_bill(application, cycle="2026-10")
    make_bill(application, cycle="2026-09", overdraft="0.01")

    for _ in range(2):
        response = member_client.get("/bills/")
        assert response.status_code == 200
        assert summary(response)["Total pending"] == "300.00 USD"
        assert badge(response) == "2"
    assert "Cannot read the bill_summaries cache" in caplog.text


# The rendered content (filters, totals, table, pages) is cached as well -----------------


def test_a_renamed_application_shows_on_the_next_request(member_client, make_bill, application):
    make_bill(application)
    assert "Acme Shop" in bill_rows(member_client.get("/bills/"))[0]["Product Information"]

    Application.objects.filter(pk=application.pk).update(name="Acme Store", app_key="acmekey0009")

    row = bill_rows(member_client.get("/bills/"))[0]["Product Information"]
    assert "Acme Store" in row
    assert "AppKey acmekey0009" in row


def test_a_renamed_product_shows_on_the_next_request(
    member_client, make_bill, application, products
):
    make_bill(application)
    assert bill_rows(member_client.get("/bills/"))[0]["Product"] == "App Push"

    Product.objects.filter(pk=products["app_push"].pk).update(name="Mobile Push")

    response = member_client.get("/bills/")
    assert bill_rows(response)[0]["Product"] == "Mobile Push"
    assert "Mobile Push" in visible_text(response)  # the filter's product choices too


def test_a_renamed_organization_shows_on_the_next_request(
    member_client, make_bill, application, organization
):
    make_bill(application)
    assert "Acme Messaging · amounts in USD" in visible_text(member_client.get("/bills/"))

    organization.name = "Acme Global"
    organization.save()

    assert "Acme Global · amounts in USD" in visible_text(member_client.get("/bills/"))


def test_organizations_never_share_cached_content(
    client, member, outsider, make_bill, application, other_application
):
    make_bill(application, cycle="2026-10")
    make_bill(other_application, cycle="2026-10")
    make_bill(other_application, cycle="2026-09")
    for _ in range(2):  # the second round is served from the cache
        client.force_login(member)
        assert app_keys(client.get("/bills/")) == ["acmekey0001"]
        client.force_login(outsider)
        assert app_keys(client.get("/bills/")) == ["globexkey01", "globexkey01"]


def test_colleagues_share_the_bills_but_not_the_shell(
    client, member, second_member, make_bill, application
):
    # alice (the owner) and bob see the same cached table; each sees their own name.
    make_bill(application)
    member.first_name, second_member.first_name = "Alice", "Bob"
    member.save()
    second_member.save()
    client.force_login(member)
    alice = client.get("/bills/")
    client.force_login(second_member)
    bob = client.get("/bills/")

    assert bill_rows(alice) == bill_rows(bob)
    assert "Alice" in user_name(alice)
    assert "Bob" in user_name(bob)


def test_application_and_product_writes_raise_the_version(
    organization, other_organization, application, products
):
    seen, other = version(organization), version(other_organization)
    Application.objects.create(
        organization=organization, name="New App", app_key="acmekey0100", app_id="100100"
    )
    assert version(organization) > seen
    assert version(other_organization) == other

    seen = version(organization)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE bills_application SET name = 'Raw' WHERE id = %s", [application.pk])
    assert version(organization) > seen

    seen, other = version(organization), version(other_organization)
    Product.objects.filter(pk=products["sms"].pk).update(usage_unit="texts")
    assert version(organization) > seen  # the catalogue is everyone's
    assert version(other_organization) > other
