"""Filtering the Bills page: each filter, their combination, and bad input answered
with a message next to the field and no bills (never a silently widened list)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from django.http import QueryDict

from bills.filters import bill_filter
from bills.models import Bill
from bills.services import LineItem, bill_clear
from bills.tests.html import bill_rows, errors, filter_form, links, summary, visible_text

WHATSAPP_LINES = [LineItem("Marketing conversations", 1_000, "conversations", Decimal("0.025"))]


@pytest.fixture
def bills(make_bill, application, whatsapp_application, other_application):
    """Acme's six bills (and one of Globex's, which must never show)."""
    made = {
        "push-08": make_bill(application, cycle="2026-08", product="app_push"),
        "push-09": bill_clear(bill=make_bill(application, cycle="2026-09", product="app_push")),
        "email-10": make_bill(application, cycle="2026-10", product="email"),
        "sms-01": make_bill(application, cycle="2026-01", product="sms"),
        "wa-09": make_bill(
            whatsapp_application, cycle="2026-09", product="whatsapp", lines=WHATSAPP_LINES
        ),
        "wa-10": bill_clear(
            bill=make_bill(
                whatsapp_application, cycle="2026-10", product="whatsapp", lines=WHATSAPP_LINES
            )
        ),
    }
    make_bill(other_application, cycle="2026-09", product="otp")
    return made


def shown(response) -> list[tuple[str, str]]:
    """(product, billing cycle) of each row, top to bottom."""
    assert response.status_code == 200
    return [(row["Product"], row["Billing Cycle"]) for row in bill_rows(response)]


def test_without_filters_it_shows_every_bill_of_the_organization_newest_first(member_client, bills):
    assert shown(member_client.get("/bills/")) == [
        ("WhatsApp Business", "2026-10"),
        ("Email", "2026-10"),
        ("WhatsApp Business", "2026-09"),
        ("App Push", "2026-09"),
        ("App Push", "2026-08"),
        ("SMS", "2026-01"),
    ]


def test_it_filters_by_one_product(member_client, bills, products):
    response = member_client.get("/bills/", {"product": products["app_push"].pk})

    assert shown(response) == [("App Push", "2026-09"), ("App Push", "2026-08")]


def test_it_filters_by_several_products(member_client, bills, products):
    response = member_client.get("/bills/", {"product": [products["email"].pk, products["sms"].pk]})

    assert shown(response) == [("Email", "2026-10"), ("SMS", "2026-01")]


def test_it_filters_by_application(member_client, bills, whatsapp_application):
    response = member_client.get("/bills/", {"application": whatsapp_application.pk})

    assert shown(response) == [("WhatsApp Business", "2026-10"), ("WhatsApp Business", "2026-09")]


def test_it_filters_by_one_billing_cycle(member_client, bills):
    response = member_client.get("/bills/", {"cycle": "2026-09"})

    assert shown(response) == [("WhatsApp Business", "2026-09"), ("App Push", "2026-09")]


def test_it_filters_by_a_range_of_cycles_including_both_ends(member_client, bills):
    response = member_client.get("/bills/", {"cycle_from": "2026-08", "cycle_to": "2026-09"})

    assert shown(response) == [
        ("WhatsApp Business", "2026-09"),
        ("App Push", "2026-09"),
        ("App Push", "2026-08"),
    ]


def test_a_range_may_be_open_at_either_end(member_client, bills):
    since = shown(member_client.get("/bills/", {"cycle_from": "2026-10"}))
    until = shown(member_client.get("/bills/", {"cycle_to": "2026-08"}))

    assert since == [("WhatsApp Business", "2026-10"), ("Email", "2026-10")]
    assert until == [("App Push", "2026-08"), ("SMS", "2026-01")]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("pending", ["Email 2026-10", "WhatsApp Business 2026-09", "App Push 2026-08",
                     "SMS 2026-01"]),
        ("cleared", ["WhatsApp Business 2026-10", "App Push 2026-09"]),
        ("", ["WhatsApp Business 2026-10", "Email 2026-10", "WhatsApp Business 2026-09",
              "App Push 2026-09", "App Push 2026-08", "SMS 2026-01"]),
    ],
)  # fmt: skip
def test_it_filters_by_status(member_client, bills, status, expected):
    response = member_client.get("/bills/", {"status": status})

    assert [f"{product} {cycle}" for product, cycle in shown(response)] == expected


@pytest.mark.parametrize(
    "search",
    ["acme support", "ACMEKEY0002", "key0002", "104857600123456", "8576001"],
)
def test_it_searches_application_name_appkey_and_whatsapp_business_account(
    member_client, bills, search
):
    response = member_client.get("/bills/", {"q": search})

    assert shown(response) == [("WhatsApp Business", "2026-10"), ("WhatsApp Business", "2026-09")]


@pytest.mark.parametrize("limit", [500, 1])
def test_a_search_matching_many_applications_finds_all_their_bills(
    member_client, bills, monkeypatch, limit
):
    # Above the limit the matching applications go to the bill query as a subquery
    # instead of a list of ids: the same bills either way.
    monkeypatch.setattr("bills.filters.SEARCH_MAX_APPLICATIONS", limit)

    response = member_client.get("/bills/", {"q": "acme"})

    assert len(shown(response)) == 6


def test_a_search_never_reaches_another_organizations_bills(member_client, bills):
    # Globex's application is "Globex App", AppKey globexkey01.
    for search in ("globex", "GLOBEXKEY01", "key01"):
        assert shown(member_client.get("/bills/", {"q": search})) == []


def test_a_search_that_matches_nothing_shows_the_empty_state(member_client, bills):
    response = member_client.get("/bills/", {"q": "no such application"})

    assert shown(response) == []
    assert "No bills match these filters" in visible_text(response)
    assert "/bills/" in links(response, "reset the filters")


def test_it_combines_product_cycle_range_and_status(member_client, bills, products):
    response = member_client.get(
        "/bills/",
        {
            "product": [products["app_push"].pk, products["whatsapp"].pk],
            "cycle_from": "2026-08",
            "cycle_to": "2026-10",
            "status": "pending",
        },
    )

    assert shown(response) == [("WhatsApp Business", "2026-09"), ("App Push", "2026-08")]
    assert summary(response)["Bills"] == "2"


def test_the_choices_list_only_the_organizations_own_products_and_applications(
    member_client, bills
):
    page = member_client.get("/bills/").content.decode()

    for own in ("App Push", "Email", "SMS", "WhatsApp Business", "Acme Shop", "Acme Support"):
        assert own in page
    # Globex is billed for OTP and owns "Globex App"; Acme has neither.
    assert "OTP" not in page
    assert "Globex App" not in page


def test_reset_returns_to_all_bills(member_client, bills):
    response = member_client.get("/bills/", {"status": "cleared"})

    assert links(response, "Reset") == ["/bills/"]
    assert len(shown(member_client.get("/bills/"))) == 6


def test_the_filter_form_shows_the_filter_in_effect(member_client, bills, products):
    response = member_client.get(
        "/bills/",
        {"product": products["sms"].pk, "cycle_from": "2026-01", "status": "pending", "q": "shop"},
    )

    assert filter_form(response) == {
        "product": [str(products["sms"].pk)],
        "cycle_from": ["2026-01"],
        "status": ["pending"],
        "q": ["shop"],
    }


# Bad input: a message next to the field, no bills, never a 500 -------------------------


def other_organizations_product(products):
    # Products are a shared catalogue; Globex is billed for OTP, Acme is not.
    return products["otp"].pk


BAD_INPUTS = [
    ({"cycle": "2024-13"}, "“2024-13” is not a month: enter it as YYYY-MM, for example 2026-10."),
    ({"cycle_from": "2026-10", "cycle_to": "2026-01"},
     "The end month must not be before the start month."),
    ({"cycle_from": "October"}, "“October” is not a month"),
    ({"cycle": "2026-10", "cycle_from": "2026-01"},
     "Choose one month or a range of months, not both."),
    ({"product": "999999"}, "There is no product 999999 among yours."),
    ({"product": other_organizations_product}, "among yours."),
    ({"product": "abc"}, "“abc” is not a product."),
    ({"application": "999999"}, "That is not one of your applications."),
    ({"status": "paid"}, "“paid” is not a status: choose Pending, Cleared or all."),
    ({"q": "x" * 10_000}, "Search for at most 100 characters (this search has 10000)."),
    ({"q": "shop\x00"}, "Null characters are not allowed."),
    ({"cycle": "2026-10\x00"}, "“2026-10” is not a month"),
    ({"product": "1\x00"}, "Null characters are not allowed."),
    ({"status": "pending\x00"}, "is not a status"),
]  # fmt: skip


@pytest.mark.parametrize(("params", "message"), BAD_INPUTS)
def test_bad_filter_input_is_answered_next_to_the_field_with_no_bills(
    member_client, bills, products, params, message
):
    params = {key: value(products) if callable(value) else value for key, value in params.items()}
    # A valid filter alongside: the page must not fall back to it either.
    response = member_client.get("/bills/", {"status": "pending", **params})

    assert response.status_code == 200
    assert any(message in error for error in errors(response)), errors(response)
    assert "These filters cannot be applied." in visible_text(response)
    assert shown(response) == []
    assert summary(response) == {}


def test_another_organizations_application_is_refused(member_client, bills, other_application):
    response = member_client.get("/bills/", {"application": other_application.pk})

    assert errors(response) == ["That is not one of your applications."]
    assert shown(response) == []
    assert "Globex App" not in response.content.decode()


def test_unknown_parameters_and_an_unknown_sort_are_ignored(member_client, bills):
    response = member_client.get("/bills/", {"sort": "number; drop table", "colour": "blue"})

    assert errors(response) == []
    assert len(shown(response)) == 6


# The FilterSet itself: the export (issue 5) relies on the same contract ----------------


def as_request(organization):
    return SimpleNamespace(organization=organization)


def test_an_invalid_filter_selects_nothing(organization, bills):
    invalid = bill_filter(QueryDict("status=paid&cycle=2026-09"), as_request(organization))

    assert not invalid.is_valid()
    assert list(invalid.qs) == []


def test_without_data_it_selects_the_organizations_bills(organization, bills):
    selected = bill_filter(QueryDict(), as_request(organization))

    assert selected.qs.count() == 6


def test_as_query_keeps_only_the_filter_and_a_sort_that_is_not_the_default(
    organization, bills, products
):
    data = QueryDict(mutable=True)
    data.setlist("product", [str(products["sms"].pk), str(products["email"].pk)])
    data.update({"status": "pending", "q": " ", "page": "3", "utm": "x", "sort": "-amount"})

    query = bill_filter(data, as_request(organization)).as_query()

    assert query.getlist("product") == [str(products["sms"].pk), str(products["email"].pk)]
    assert query["status"] == "pending"
    assert query["sort"] == "-amount"
    assert set(query) == {"product", "status", "sort"}
    default = bill_filter(QueryDict("sort=-cycle"), as_request(organization)).as_query()
    assert "sort" not in default


def test_with_many_applications_the_search_replaces_the_dropdown(
    member_client, bills, whatsapp_application, monkeypatch
):
    monkeypatch.setattr("bills.filters.APPLICATION_CHOICES_LIMIT", 1)

    everything = member_client.get("/bills/")
    one = member_client.get("/bills/", {"application": whatsapp_application.pk, "sort": "cycle"})
    wrong = member_client.get("/bills/", {"application": "999999"})

    assert '<select name="application"' not in everything.content.decode()
    assert shown(one) == [("WhatsApp Business", "2026-09"), ("WhatsApp Business", "2026-10")]
    assert "Acme Support AppKey acmekey0002 Remove the application filter" in visible_text(one)
    assert links(one, "Remove") == ["?sort=cycle"]
    assert errors(wrong) == ["That is not one of your applications."]
    assert shown(wrong) == []


def test_only_the_organization_with_many_applications_loses_the_dropdown(
    client, member, outsider, bills, whatsapp_application, other_application, monkeypatch
):
    # The widget is swapped on one FilterSet's own form class, never on the shared filters.
    monkeypatch.setattr("bills.filters.APPLICATION_CHOICES_LIMIT", 1)

    client.force_login(member)
    many = client.get("/bills/").content.decode()
    client.force_login(outsider)
    few = client.get("/bills/").content.decode()

    assert '<select name="application"' not in many
    assert '<select name="application"' in few


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL trigram index")
def test_a_search_by_whatsapp_business_account_can_use_the_trigram_index(bills):
    # The index (migration 0007) must match the SQL Django writes for icontains,
    # UPPER(column) LIKE UPPER(pattern), or PostgreSQL reads every bill of the organization.
    searched = Bill.objects.filter(whatsapp_business_account__icontains="8576001")
    sql, params = searched.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the test's few rows favour a scan
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "bill_waba_trgm_idx" in plan
