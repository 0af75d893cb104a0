"""Property-based tests of the Bills and Orders filters: whatever query string arrives
(the real parameter names and junk, repeated keys, huge numbers, unicode, NUL), the
page is never a 500 and never selects more than the valid part of the query asks.

Each test draws many query strings against one small data set; the data are read, never
changed, so they are made once per test rather than once per example."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from urllib.parse import urlencode

import lxml.html
import pytest
from django import forms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bills.models import Bill, Order
from bills.services import LineItem, bill_clear
from bills.tests.html import errors, notices
from bills.tests.test_orders import NEW_YORK, make_order

BILL_PARAMETERS = [
    "product", "application", "cycle", "cycle_from", "cycle_to", "status", "q", "sort",
    "page", "per_page",
]  # fmt: skip
ORDER_PARAMETERS = ["product", "type", "status", "ordered_from", "ordered_to", "page"]
MULTIPLE = {"product"}  # the Bills filter's only multi-value parameter
PAGING = {"page", "per_page"}
WHATSAPP_LINES = [LineItem("Marketing conversations", 1_000, "conversations", Decimal("0.025"))]

# Enough examples to find a bad parameter, few enough for some seconds a test.
EXAMPLES = settings(
    max_examples=80,
    deadline=None,
    # The data set is made once per test and only read by the examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# Beyond a 64-bit id column (2**63 and up, below -2**63) as often as within it.
huge_numbers = st.one_of(
    st.integers(min_value=2**63, max_value=2**70),
    st.integers(max_value=-(2**63) - 1, min_value=-(2**70)),
    st.integers(),
).map(str)
junk_text = st.text(max_size=12)  # any unicode: NUL, controls, emoji, lone surrogates


def query_strings(values: dict[str, tuple[list[str], list[str]]]):
    """Lists of (key, value) from `values` ({name: (values that suit it, values that do
    not)}): half of them well formed (each name at most once, with a value that suits
    it), half anything (repeated names, another name's value, huge numbers, any text,
    junk names)."""
    well_formed = st.fixed_dictionaries(
        {}, optional={name: st.sampled_from(valid) for name, (valid, _) in values.items()}
    ).map(lambda chosen: list(chosen.items()))
    every_value = sorted({value for pair in values.values() for value in (*pair[0], *pair[1])})
    anything = st.one_of(st.sampled_from(every_value), huge_numbers, junk_text)
    pair = st.one_of(
        *(
            st.tuples(st.just(name), st.one_of(st.sampled_from(valid + invalid), anything))
            for name, (valid, invalid) in values.items()
        ),
        st.tuples(st.text(max_size=6), anything),
    )
    return st.one_of(well_formed, st.lists(pair, max_size=4))


def sent(pairs: list[tuple[str, str]]) -> tuple[str, dict[str, list[str]]]:
    """The query string for `pairs`, and what the server reads of it: each key's values."""
    # A lone surrogate has no UTF-8 form: no client can send it, so it is left out.
    sendable = [(key, value) for key, value in pairs if _encodable(key + value)]
    received: dict[str, list[str]] = {}
    for key, value in sendable:
        received.setdefault(key, []).append(value)
    return urlencode(sendable), received


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _month(value: str) -> dt.date:
    match = re.fullmatch(r"(\d{4})-(\d{2})", value.strip())
    assert match, value
    return dt.date(int(match[1]), int(match[2]), 1)


def _matches(needle: str, *haystacks: str) -> bool:
    """icontains as SQLite (ASCII case) or PostgreSQL (UPPER) may read it: a superset."""
    return any(
        needle.upper() in hay.upper() or needle.casefold() in hay.casefold()
        for hay in haystacks
        if hay
    )


# The Bills page ------------------------------------------------------------------------


@pytest.fixture
def bills(make_bill, application, whatsapp_application, other_application) -> dict[int, Bill]:
    """Acme's six bills, keyed by id, and one of Globex's that must never show."""
    made = [
        make_bill(application, cycle="2026-08", product="app_push"),
        bill_clear(bill=make_bill(application, cycle="2026-09", product="app_push")),
        make_bill(application, cycle="2026-10", product="email"),
        make_bill(application, cycle="2026-01", product="sms"),
        make_bill(whatsapp_application, cycle="2026-09", product="whatsapp", lines=WHATSAPP_LINES),
        bill_clear(
            bill=make_bill(
                whatsapp_application, cycle="2026-10", product="whatsapp", lines=WHATSAPP_LINES
            )
        ),
    ]
    make_bill(other_application, cycle="2026-09", product="otp")
    return {bill.pk: Bill.objects.select_related("application").get(pk=bill.pk) for bill in made}


def bill_values(own: list[int], others: list[int]) -> dict[str, tuple[list[str], list[str]]]:
    """For each of the Bills page's parameters, values that suit it and values that do
    not; `own` and `others` are ids of the organization's own products and applications,
    and of others'."""
    months = (["2026-09", "2026-10", "2026-01", " 2026-08", ""], ["2026-13", "0000-01", "10"])
    ids = ([str(i) for i in own], [str(i) for i in others] + [str(2**63), "-1", "x", ""])
    return {
        "product": ids,
        "application": ids,
        "cycle": months,
        "cycle_from": months,
        "cycle_to": months,
        "status": (["pending", "cleared", ""], ["Pending", "paid", " pending"]),
        "q": (["acme", "SHOP", "support", "acmekey0002", "1048576", "globex", " "], ["x" * 101]),
        "sort": (["amount", "-amount", "cycle", "-overdraft"], ["-id", "number"]),
        "page": (["1", "2", ""], ["0", "-1", "1.5", "99999999999999999999"]),
        "per_page": (["10", "25", "50", "100"], ["7", "1e3"]),
        "utm_source": (["mail"], []),
    }


def shown_bills(response) -> list[int]:
    tree = lxml.html.fromstring(response.content.decode())
    rows = tree.xpath("//table[contains(@class, 'bill-table')]/tbody/tr")
    return [
        int(
            re.fullmatch(r"/bills/(\d+)/", row.xpath(".//a[starts-with(., 'Details')]/@href")[0])[1]
        )
        for row in rows
    ]


def exported_numbers(response) -> list[str]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return [row[0] for row in list(csv.reader(io.StringIO(text)))[1:]]


def asks_for_bill(bill: Bill, received: dict[str, list[str]]) -> bool:
    """Whether the filter `received`, which the page found valid, asks for `bill`."""
    one = {name: values[0] for name, values in received.items() if name != "product"}
    checks = []
    if products := received.get("product"):
        checks.append(bill.product_id in {int(value) for value in products})
    if one.get("application"):
        checks.append(bill.application_id == int(one["application"]))
    if one.get("cycle", "").strip():
        checks.append(bill.billing_cycle == _month(one["cycle"]))
    if one.get("cycle_from", "").strip():
        checks.append(bill.billing_cycle >= _month(one["cycle_from"]))
    if one.get("cycle_to", "").strip():
        checks.append(bill.billing_cycle <= _month(one["cycle_to"]))
    if one.get("status"):
        checks.append(bill.status == one["status"])
    if search := one.get("q", "").strip():
        app = bill.application
        checks.append(_matches(search, app.name, app.app_key, bill.whatsapp_business_account))
    return all(checks)


@pytest.mark.django_db
def test_any_query_string_on_the_bills_page_is_answered_never_widened(
    member_client, bills, products, application, whatsapp_application, other_application
):
    used = {bill.product_id for bill in bills.values()}
    own = [*used, application.pk, whatsapp_application.pk]
    others = [
        *(product.pk for product in products.values() if product.pk not in used),
        other_application.pk,
        999_999,
    ]

    @EXAMPLES
    @given(pairs=query_strings(bill_values(own, others)))
    def check(pairs: list[tuple[str, str]]) -> None:
        query, received = sent(pairs)
        response = member_client.get(f"/bills/?{query}")

        assert response.status_code == 200, query
        shown = shown_bills(response)
        assert set(shown) <= set(bills), query  # never another organization's bill
        invalid = bool(errors(response)) or "These filters cannot be applied." in (
            response.content.decode()
        )
        repeated = {
            name
            for name, values in received.items()
            if name in BILL_PARAMETERS and name not in MULTIPLE and len(values) > 1
        }
        if repeated - PAGING:
            assert invalid, query  # a repeated filter parameter is never guessed at
        elif repeated and not invalid:
            # A repeated page or page size shows the first page at the default size, and says so.
            assert any("not several" in notice for notice in notices(response)), query
        export = member_client.get(f"/bills/export.csv?{query}")
        if invalid:
            assert shown == [], query
            assert export.status_code == 302, query
            return
        asked = {pk for pk, bill in bills.items() if asks_for_bill(bill, received)}
        assert set(shown) <= asked, query  # never wider than the filter asks
        if received.get("q", [""])[0].isascii():  # no doubt about its letter case
            assert set(shown) == asked, query  # and not narrower (six bills: one page)
        # The export holds the bills of the list, in its order.
        assert export.status_code == 200, query
        assert exported_numbers(export) == [bills[pk].number for pk in shown], query

    check()


# Order Management ----------------------------------------------------------------------


@pytest.fixture
def orders(organization, other_organization, products, member) -> dict[str, Order]:
    organization.time_zone = "America/New_York"
    organization.save()
    made = [
        make_order(organization, products["sms"], at=dt.datetime(2026, 10, 1, tzinfo=NEW_YORK)),
        make_order(
            organization,
            products["email"],
            at=dt.datetime(2026, 10, 10, 12, tzinfo=NEW_YORK),
            order_type=Order.Type.TOP_UP,
        ),
        make_order(
            organization,
            products["sms"],
            at=dt.datetime(2026, 10, 20, 23, 59, tzinfo=NEW_YORK),
            status=Order.Status.CLOSED,
        ),
        make_order(
            organization,
            products["otp"],
            at=dt.datetime(2026, 10, 21, tzinfo=NEW_YORK),
            status=Order.Status.UNPAID,
        ),
    ]
    make_order(other_organization, products["sms"], at=dt.datetime(2026, 10, 5, tzinfo=dt.UTC))
    return {order.number: order for order in made}


def order_values(own: list[int], others: list[int]) -> dict[str, tuple[list[str], list[str]]]:
    """For each of Order Management's parameters, values that suit it and that do not."""
    days = (
        ["2026-10-01", "2026-10-20", "2026-10-21", "0001-01-01", "9999-12-31", ""],
        ["2026-02-30", "20261001", "2026-10-01\x00"],
    )
    return {
        "product": ([str(i) for i in own], [str(i) for i in others] + [str(2**63), "x"]),
        "type": ([value for value, _ in Order.Type.choices], ["Top-up", "x"]),
        "status": ([value for value, _ in Order.Status.choices], [" paid", "Paid"]),
        "ordered_from": days,
        "ordered_to": days,
        "page": (["1", "2"], ["0", "abc"]),
        "utm_source": (["mail"], []),
    }


def asks_for_order(order: Order, received: dict[str, list[str]]) -> bool:
    """Whether the filter `received`, which the page found valid, asks for `order`."""
    one = {name: values[0] for name, values in received.items()}
    day = order.ordered_at.astimezone(NEW_YORK).date()
    # Which day a valid date means, in any of the input formats Django accepts.
    start, end = (
        forms.DateField(required=False).clean(one.get(name))
        for name in ("ordered_from", "ordered_to")
    )
    checks = []
    if one.get("product"):
        checks.append(order.product_id == int(one["product"]))
    if one.get("type"):
        checks.append(order.order_type == one["type"])
    if one.get("status"):
        checks.append(order.status == one["status"])
    if start:
        checks.append(day >= start)
    if end:
        checks.append(day <= end)
    return all(checks)


@pytest.mark.django_db
def test_any_query_string_on_order_management_is_answered_never_widened(
    member_client, orders, products
):
    own = sorted({order.product_id for order in orders.values()})
    others = [product.pk for product in products.values() if product.pk not in own]

    @EXAMPLES
    @given(pairs=query_strings(order_values(own, others)))
    def check(pairs: list[tuple[str, str]]) -> None:
        query, received = sent(pairs)
        response = member_client.get(f"/orders/?{query}")

        assert response.status_code == 200, query
        page = response.content.decode()
        shown = re.findall(r'class="order-number">(ORD-[\d-]+)<', page)
        assert set(shown) <= set(orders), query  # never another organization's order
        invalid = "Some filters are not valid" in page
        filters = {name for name in ORDER_PARAMETERS if name != "page"}
        if any(name in filters and len(values) > 1 for name, values in received.items()):
            assert invalid, query
        if invalid:
            assert shown == [], query
            return
        asked = {number for number, order in orders.items() if asks_for_order(order, received)}
        assert set(shown) == asked, query  # never wider, nor narrower (four orders: one page)

    check()
