"""The Bills page: what each row shows, sorting, pagination, the summary, the empty
states, how it is reached, and a query count that does not grow with the page."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace
from decimal import Decimal

import pytest

from bills.models import Bill, BillSummary
from bills.services import bill_clear
from bills.tests.html import app_keys, bill_rows, cycles, links, notices, summary, visible_text


def month(index: int) -> dt.date:
    """Distinct billing cycles for bulk-made bills: 2000-01, 2000-02, ..."""
    return dt.date(2000 + index // 12, index % 12 + 1, 1)


def bulk_bills(application, product, amounts, start: int = 0):
    """Bills straight into the table, one per cycle from `month(start)` on;
    `amounts` holds (consumption, overdraft, status)."""
    organization = application.organization
    Bill.objects.bulk_create(
        Bill(
            number=f"BULK-{application.pk}-{product.code}-{index:06d}",
            organization=organization,
            product=product,
            application=application,
            billing_cycle=month(index),
            service_usage=1,
            consumption_amount=Decimal(consumption),
            overdraft_amount=Decimal(overdraft),
            currency=organization.currency,
            status=status,
            cleared_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) if status == "cleared" else None,
            bill_date=month(index),
            payer_legal_name=organization.legal_name,
            payer_country=organization.country,
            payer_email=organization.billing_email,
        )
        for index, (consumption, overdraft, status) in enumerate(amounts, start=start)
    )


def test_each_row_shows_what_a_user_reconciles_with(member_client, make_bill, application):
    bill = make_bill(application, cycle="2026-10", product="app_push", overdraft="20.00")

    (row,) = bill_rows(member_client.get("/bills/"))

    assert row == {
        "Product": "App Push",
        "Product Information": "Acme Shop AppKey acmekey0001",
        "Billing Cycle": "2026-10",
        "Service Usage": "1,000,000 messages",
        "Consumption Amount": "150.00 USD",
        "Status": "Pending",
        "Overdraft Amount": "20.00 USD",
        "Operate": f"Details of bill {bill.number} Download Bill {bill.number}",
    }
    assert links(member_client.get("/bills/"), "Details") == [f"/bills/{bill.pk}/"]


def test_a_whatsapp_row_names_its_business_account(member_client, make_bill, whatsapp_application):
    make_bill(whatsapp_application, product="whatsapp")

    (row,) = bill_rows(member_client.get("/bills/"))

    assert row["Product Information"] == "Acme Support AppKey acmekey0002 WABA 104857600123456"
    assert row["Service Usage"] == "1,000,000 conversations"


def test_pending_and_cleared_look_different(member_client, make_bill, application):
    make_bill(application, cycle="2026-10")
    bill_clear(bill=make_bill(application, cycle="2026-09"))

    page = member_client.get("/bills/").content.decode()

    assert '<span class="status status-pending">Pending</span>' in page
    assert '<span class="status status-cleared">Cleared</span>' in page


# Sorting --------------------------------------------------------------------------------


@pytest.fixture
def three_bills(make_bill, application, products):
    """Cycle, amount and overdraft each order these three differently."""
    from bills.services import LineItem

    def bill(cycle, amount, overdraft):
        line = LineItem("Push notifications delivered", 1, "messages", Decimal(amount))
        return make_bill(application, cycle=cycle, lines=[line], overdraft=overdraft)

    return [bill("2026-08", "300.00", "5.00"), bill("2026-09", "100.00", "50.00"),
            bill("2026-10", "200.00", "0.00")]  # fmt: skip


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", ["2026-10", "2026-09", "2026-08"]),
        ("-cycle", ["2026-10", "2026-09", "2026-08"]),
        ("cycle", ["2026-08", "2026-09", "2026-10"]),
        ("amount", ["2026-09", "2026-10", "2026-08"]),
        ("-amount", ["2026-08", "2026-10", "2026-09"]),
        ("overdraft", ["2026-10", "2026-08", "2026-09"]),
        ("-overdraft", ["2026-09", "2026-08", "2026-10"]),
        ("number", ["2026-10", "2026-09", "2026-08"]),  # not a sort key: ignored
    ],
)
def test_it_sorts_by_cycle_amount_and_overdraft(member_client, three_bills, sort, expected):
    assert cycles(member_client.get("/bills/", {"sort": sort})) == expected


def test_sort_links_toggle_and_keep_the_filter(member_client, three_bills):
    response = member_client.get("/bills/", {"status": "pending", "sort": "-amount"})

    # The sorted column offers the other direction; the others start largest first.
    assert links(response, "Consumption Amount") == ["?status=pending&sort=amount"]
    assert links(response, "Overdraft Amount") == ["?status=pending&sort=-overdraft"]
    assert links(response, "Billing Cycle") == ["?status=pending&sort=-cycle"]
    assert 'aria-sort="descending"' in response.content.decode()


# Pagination -----------------------------------------------------------------------------


@pytest.fixture
def sixty_bills(application, products):
    bulk_bills(application, products["sms"], [("1.00", "0.00", "pending")] * 60)


def test_it_shows_25_bills_per_page_with_the_total(member_client, sixty_bills):
    first = member_client.get("/bills/")
    last = member_client.get("/bills/", {"page": 3})

    assert len(bill_rows(first)) == 25
    assert "Showing 1–25 of 60 bills" in visible_text(first)
    assert "Page 1 of 3" in visible_text(first)
    assert cycles(first)[0] == "2004-12"
    assert len(bill_rows(last)) == 10
    assert "Showing 51–60 of 60 bills" in visible_text(last)
    assert cycles(last)[-1] == "2000-01"


def test_every_row_on_a_full_page_names_its_columns_on_a_phone(member_client, sixty_bills):
    # The labels are translated once above the rows' loop; each row must still carry them
    # (the narrow layout shows them beside every cell).
    rows = bill_rows(member_client.get("/bills/"))

    assert len(rows) == 25
    labels = [
        "Product",
        "Product Information",
        "Billing Cycle",
        "Service Usage",
        "Consumption Amount",
        "Status",
        "Overdraft Amount",
        "Operate",
    ]
    assert all(list(row) == labels for row in rows)
    assert all(row["Operate"].startswith("Details of bill ") for row in rows)
    assert all(" Download Bill BULK-" in row["Operate"] for row in rows)


def test_the_pages_together_hold_every_bill_once_in_order(member_client, application, products):
    # Bills in the same cycle tie on the sort key; the id decides, on every page.
    bulk_bills(application, products["sms"], [("1.00", "0.00", "pending")] * 23)
    bulk_bills(application, products["email"], [("2.00", "0.00", "cleared")] * 24)
    whole = bill_rows(member_client.get("/bills/", {"per_page": "100"}))

    for sort in ("", "amount", "-overdraft"):
        pages = [
            bill_rows(member_client.get("/bills/", {"per_page": "10", "page": n, "sort": sort}))
            for n in range(1, 6)
        ]
        expected = bill_rows(member_client.get("/bills/", {"per_page": "100", "sort": sort}))
        assert [len(page) for page in pages] == [10, 10, 10, 10, 7]
        assert sum(pages, []) == expected
    assert len(whole) == 47


@pytest.mark.parametrize(("per_page", "rows"), [("10", 10), ("25", 25), ("50", 50), ("100", 60)])
def test_the_page_size_can_be_chosen(member_client, sixty_bills, per_page, rows):
    response = member_client.get("/bills/", {"per_page": per_page})

    assert len(bill_rows(response)) == rows
    assert notices(response) == []


def test_page_links_keep_the_filter_the_sort_and_the_page_size(member_client, sixty_bills):
    response = member_client.get(
        "/bills/", {"status": "pending", "sort": "amount", "per_page": "10", "page": "2"}
    )

    assert links(response, "Next") == ["?status=pending&sort=amount&per_page=10&page=3"]
    assert links(response, "Previous") == ["?status=pending&sort=amount&per_page=10&page=1"]
    assert links(response, "Last") == ["?status=pending&sort=amount&per_page=10&page=6"]


@pytest.mark.parametrize(
    ("params", "message", "showing"),
    [
        ({"page": "abc"}, "Enter a page number such as 2. Showing page 1.", "1–25"),
        ({"page": "0"}, "Pages start at 1. Showing page 1.", "1–25"),
        ({"page": "-2"}, "Pages start at 1. Showing page 1.", "1–25"),
        ({"page": "2\x00"}, "Enter a page number such as 2. Showing page 1.", "1–25"),
        ({"page": "9" * 5000}, "Enter a page number such as 2. Showing page 1.", "1–25"),
        ({"page": "999999"}, "There is no page 999,999: the last page is 3. Showing page 3.",
         "51–60"),
        ({"per_page": "7"}, "Choose 10, 25, 50 or 100 bills per page. Showing 25.", "1–25"),
        ({"per_page": "all"}, "Choose 10, 25, 50 or 100 bills per page. Showing 25.", "1–25"),
    ],
)  # fmt: skip
def test_a_bad_page_or_page_size_is_answered_not_crashed_on(
    member_client, sixty_bills, params, message, showing
):
    response = member_client.get("/bills/", params)

    assert response.status_code == 200
    assert notices(response) == [message]
    assert f"Showing {showing} of 60 bills" in visible_text(response)
    # Links lead back to good values rather than repeating the bad one.
    assert all("per_page=7" not in link for link in links(response, "Next"))


def test_a_page_past_the_end_of_an_empty_list_still_answers(member_client, organization):
    response = member_client.get("/bills/", {"page": "5"})

    assert response.status_code == 200
    assert notices(response) == ["There is no page 5: the last page is 1. Showing page 1."]
    assert "No bills yet" in visible_text(response)


# The summary ----------------------------------------------------------------------------


def test_the_summary_is_exact_to_the_cent_over_many_awkward_amounts(
    member_client, organization, application, whatsapp_application, products
):
    # Amounts a binary float cannot hold: summed as floats they drift (a thousand 0.10
    # make 99.9999999999986), which SQLite's REAL storage would show. By hand:
    # 1000 x 0.10 + 999 x 0.01 + 333 x 0.29 = 100.00 + 9.99 + 96.57 = 206.56 (SMS),
    # 12,345,678,901.23 + 98,765,432,109.87 = 111,111,111,011.10 (WhatsApp);
    # pending 100.00 + 96.57 + 98,765,432,109.87; overdraft 100.00 + 23.31 + 0.03.
    sms = (
        [("0.10", "0.10", "pending")] * 1000
        + [("0.01", "0.00", "cleared")] * 999
        + [("0.29", "0.07", "pending")] * 333
    )
    whatsapp = [("12345678901.23", "0.03", "cleared"), ("98765432109.87", "0.00", "pending")]
    bulk_bills(application, products["sms"], sms)
    bulk_bills(whatsapp_application, products["whatsapp"], whatsapp)
    every = sms + whatsapp

    def total(rows):
        return sum((Decimal(amount) for amount in rows), Decimal("0.00"))

    consumption = total(c for c, _, _ in every)
    pending = total(c for c, _, status in every if status == "pending")
    overdraft = total(o for _, o, _ in every)
    assert (consumption, pending, overdraft) == (
        Decimal("111111111217.66"), Decimal("98765432306.44"), Decimal("123.34")
    )  # fmt: skip

    bills = Bill.objects.for_organization(organization)
    every_bill = bills.summary()
    # The totals are added up from per-month rows: the months add up to them exactly.
    assert sum((amount for _, amount in every_bill.months), Decimal(0)) == consumption
    assert len(every_bill.months) == 2332  # one bill a month, two WhatsApp in the first two
    assert replace(every_bill, months=()) == BillSummary(
        count=2334,
        consumption=consumption,
        pending_count=1334,
        pending=pending,
        overdraft=overdraft,
        credited=Decimal(0),
    )
    assert replace(bills.filter(product=products["sms"]).summary(), months=()) == BillSummary(
        count=2332,
        consumption=Decimal("206.56"),
        pending_count=1333,
        pending=Decimal("196.57"),
        overdraft=Decimal("123.31"),
        credited=Decimal(0),
    )
    assert summary(member_client.get("/bills/")) == {
        "Bills": "2,334",
        "Total consumption": "111,111,111,217.66 USD",
        "Total pending": "98,765,432,306.44 USD",
        "Total overdraft": "123.34 USD",
    }


def test_the_summary_follows_the_filter(member_client, make_bill, application):
    make_bill(application, cycle="2026-10", overdraft="20.00")
    make_bill(application, cycle="2026-09", overdraft="0.01")
    bill_clear(bill=make_bill(application, cycle="2026-08", overdraft="150.00"))

    everything = member_client.get("/bills/")
    page = visible_text(everything)
    cleared = summary(member_client.get("/bills/", {"status": "cleared"}))

    assert summary(everything) == {
        "Bills": "3",
        "Total consumption": "450.00 USD",
        "Total pending": "300.00 USD",
        "Total overdraft": "170.01 USD",
    }
    assert "2 bills to be paid" in page
    assert cleared == {
        "Bills": "1",
        "Total consumption": "150.00 USD",
        "Total pending": "0.00 USD",
        "Total overdraft": "150.00 USD",
    }


# Empty states and reaching the page -----------------------------------------------------


def test_an_organization_without_bills_sees_an_explanation(member_client, organization):
    response = member_client.get("/bills/")

    assert "No bills yet" in visible_text(response)
    assert bill_rows(response) == []


def test_a_filter_that_matches_nothing_says_so(member_client, bill):
    response = member_client.get("/bills/", {"cycle": "2001-01"})

    assert "No bills match these filters" in visible_text(response)
    assert summary(response)["Bills"] == "0"
    assert "<table" not in response.content.decode()


def test_bills_to_be_paid_opens_the_list_filtered_to_pending(member_client, make_bill, application):
    make_bill(application, cycle="2026-10")
    bill_clear(bill=make_bill(application, cycle="2026-09"))

    page = member_client.get("/orders/")
    (to_be_paid,) = links(page, "Bills to be paid")
    response = member_client.get(to_be_paid)

    assert to_be_paid == "/bills/?status=pending"
    assert cycles(response) == ["2026-10"]
    assert links(page, "Bills") [0] == "/bills/"  # fmt: skip
    assert 'title="1 bill to be paid"' in page.content.decode()


def test_it_shows_only_the_organizations_bills(
    member_client, make_bill, application, other_application
):
    make_bill(application)
    make_bill(other_application)

    response = member_client.get("/bills/")

    assert app_keys(response) == ["acmekey0001"]
    assert summary(response)["Bills"] == "1"


# Queries --------------------------------------------------------------------------------


def many_bills(application, products, count: int, start: int = 0):
    amounts = list(
        itertools.islice(
            itertools.cycle([("1.00", "0.00", "pending"), ("2.00", "1.00", "cleared")]), count
        )
    )
    for product in ("sms", "email", "app_push"):
        bulk_bills(application, products[product], amounts, start=start)


QUERIES = [
    {},
    {"product": "{sms}", "cycle_from": "2000-01", "cycle_to": "2010-12", "status": "pending"},
    {"application": "{app}", "q": "shop", "sort": "-amount", "per_page": "100", "page": "2"},
]


@pytest.mark.parametrize("params", QUERIES)
def test_the_number_of_queries_does_not_grow_with_the_bills(
    member_client, application, products, django_assert_max_num_queries, params
):
    params = {
        key: value.format(sms=products["sms"].pk, app=application.pk)
        for key, value in params.items()
    }
    many_bills(application, products, 2)
    # The sparkline is drawn from the totals' own GROUP BY: no query of its own.
    with django_assert_max_num_queries(11) as few:
        assert member_client.get("/bills/", params).status_code == 200

    many_bills(application, products, 150, start=2)
    with django_assert_max_num_queries(len(few)) as many:
        response = member_client.get("/bills/", params)
    assert len(bill_rows(response)) >= 25
    assert len(many) == len(few)


def test_the_pages_need_no_inline_style_or_script(member_client, bill):
    # Issue 7's Content-Security-Policy forbids both; the pages work without JavaScript.
    for url in ("/bills/", "/bills/?status=paid", "/bills/?page=9", f"/bills/{bill.pk}/"):
        page = member_client.get(url).content.decode()

        assert "style=" not in page
        assert "<script" not in page


def test_names_a_user_typed_show_as_text_never_as_html(
    member_client, organization, application, make_bill
):
    # Application names, AppKeys, WABAs and the organization's name are typed by users;
    # every template on the page (the rows in bills/_bill_rows.html) escapes them.
    script = "<script>alert(1)</script>"
    image = '"><img src=x onerror=alert(2)>'
    application.name = f"Shop {script}"
    application.whatsapp_business_account = f"1048{image}"
    application.save()
    organization.name = f"Acme {image}"
    organization.save()
    bill = make_bill(application)
    bill.whatsapp_business_account = application.whatsapp_business_account
    bill.save()

    for params in ({}, {"status": "pending"}, {"q": script}):
        response = member_client.get("/bills/", params)
        page = response.content.decode()

        assert script not in page
        assert "<img" not in page
        row = bill_rows(response)[0]["Product Information"]
        assert f"Shop {script}" in row
        assert f"WABA 1048{image}" in row
        assert f"Acme {image} · amounts in USD" in visible_text(response)
