"""Order Management: the organization's orders, their filters, cancelling, and the links
between an overdrawn bill and the Supplementary Payment order that settles it."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from bills.filters import order_filter
from bills.models import Order
from bills.services import (
    InvalidTransition,
    UnpaidOrderExists,
    bill_clear,
    order_cancel,
    order_number,
    order_pay,
    order_place,
)
from bills.tests.fixtures import make_user

NEW_YORK = dt.timezone(dt.timedelta(hours=-4))  # America/New_York in October (EDT)


@pytest.fixture
def organization(organization):
    organization.time_zone = "America/New_York"
    organization.save()
    return organization


def make_order(
    organization,
    product,
    *,
    at: dt.datetime,
    order_type=Order.Type.NEW_PURCHASE,
    status=Order.Status.PAID,
    amount="99.00",
    bill=None,
    ordered_by=None,
) -> Order:
    return Order.objects.create(
        number=order_number(at),
        organization=organization,
        product=product,
        order_type=order_type,
        status=status,
        amount=Decimal(amount),
        currency=organization.currency,
        payment_method="" if status == Order.Status.UNPAID else Order.PaymentMethod.CARD,
        ordered_by=ordered_by,
        ordered_at=at,
        bill=bill,
    )


def numbers(response) -> list[str]:
    """The order numbers in the table, top to bottom."""
    assert response.status_code == 200
    return re.findall(r'class="order-number">(ORD-[\d-]+)<', response.content.decode())


@pytest.fixture
def orders(organization, products, member):
    """Five orders over October 2026 (New York time), oldest first."""
    return [
        make_order(
            organization,
            products["sms"],
            at=dt.datetime(2026, 10, 1, 0, 0, tzinfo=NEW_YORK),
            ordered_by=member,
        ),
        make_order(
            organization,
            products["email"],
            at=dt.datetime(2026, 10, 10, 12, 0, tzinfo=NEW_YORK),
            order_type=Order.Type.TOP_UP,
            amount="5000.00",
        ),
        make_order(
            organization,
            products["sms"],
            at=dt.datetime(2026, 10, 20, 23, 59, tzinfo=NEW_YORK),
            order_type=Order.Type.TOP_UP,
            status=Order.Status.CLOSED,
        ),
        make_order(
            organization,
            products["otp"],
            at=dt.datetime(2026, 10, 21, 0, 0, tzinfo=NEW_YORK),
            status=Order.Status.UNPAID,
            ordered_by=member,
        ),
        make_order(
            organization,
            products["email"],
            at=dt.datetime(2026, 10, 31, 23, 59, tzinfo=NEW_YORK),
            order_type=Order.Type.RENEWAL,
        ),
    ]


def expect(orders, *indexes) -> list[str]:
    """The numbers of `orders[i]`, newest first, as the page lists them."""
    return [orders[i].number for i in sorted(indexes, reverse=True)]


# The list -------------------------------------------------------------------------------


def test_it_lists_the_orders_newest_first_with_every_column(member_client, orders, member):
    response = member_client.get("/orders/")

    assert numbers(response) == expect(orders, 0, 1, 2, 3, 4)
    page = response.content.decode()
    for header in [
        "Order Number",
        "Product",
        "Order Type",
        "Order Status",
        "Amount",
        "Payment Method",
        "Ordered By",
        "Order Time",
    ]:
        assert f">{header}</th>" in page
    assert "5 orders · times in America/New_York" in page
    assert "Prepaid Top-up" in page and "Renewal" in page
    assert '<span class="status status-unpaid">Unpaid</span>' in page
    assert "5,000.00 <span" in page
    assert "Credit card" in page and "Not paid yet" in page
    assert "<td>alice</td>" in page  # ordered by the member, who has no full name
    # Times are shown in the organization's time zone, not UTC.
    assert "2026-10-01 00:00" in page
    assert "2026-10-31 23:59" in page


def test_it_paginates_and_keeps_the_filters_on_every_page(member_client, organization, products):
    start = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    for day in range(30):
        make_order(organization, products["sms"], at=start + dt.timedelta(days=day))

    first = member_client.get("/orders/?type=new_purchase")
    second = member_client.get("/orders/?type=new_purchase&page=2")

    assert len(numbers(first)) == 25
    assert len(numbers(second)) == 5
    assert set(numbers(first)).isdisjoint(numbers(second))
    assert 'href="?type=new_purchase&amp;page=2"' in first.content.decode()
    assert "Page 1 of 2" in first.content.decode()


def test_it_shows_an_empty_state(member_client, organization):
    page = member_client.get("/orders/").content.decode()

    assert "No orders yet" in page
    assert 'href="/market/"' in page


# Filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=unpaid", [3]),
        ("status=closed", [2]),
        ("type=top_up", [1, 2]),
        ("type=renewal", [4]),
        ("type=new_purchase&status=paid", [0]),
        # Days are whole days in New York time, both ends included.
        ("ordered_from=2026-10-20&ordered_to=2026-10-20", [2]),
        ("ordered_from=2026-10-21", [3, 4]),
        ("ordered_to=2026-10-01", [0]),
        ("ordered_from=2026-10-02&ordered_to=2026-10-30", [1, 2, 3]),
        ("ordered_from=2026-11-01", []),
        # Beyond what a datetime holds: nothing to exclude, not an error.
        ("ordered_from=0001-01-01&ordered_to=9999-12-31", [0, 1, 2, 3, 4]),
        ("page=abc", [0, 1, 2, 3, 4]),
        ("page=999999", [0, 1, 2, 3, 4]),
        ("status=", [0, 1, 2, 3, 4]),
    ],
)
def test_it_filters_the_orders(member_client, orders, query, expected):
    assert numbers(member_client.get(f"/orders/?{query}")) == expect(orders, *expected)


def test_it_filters_by_product(member_client, orders, products):
    response = member_client.get(f"/orders/?product={products['email'].pk}")

    assert numbers(response) == expect(orders, 1, 4)


def test_the_product_choices_list_only_products_the_organization_ordered(
    member_client, orders, products, other_organization
):
    make_order(
        other_organization,
        products["whatsapp"],
        at=dt.datetime(2026, 10, 5, tzinfo=dt.UTC),
    )

    page = member_client.get("/orders/").content.decode()
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page)

    assert sorted(name for _, name in options) == ["Email", "OTP", "SMS"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("ordered_from=2026-13-01", "ordered_from", "Enter a date as YYYY-MM-DD"),
        ("ordered_to=yesterday", "ordered_to", "Enter a date as YYYY-MM-DD"),
        ("ordered_from=2026-02-30", "ordered_from", "Enter a date as YYYY-MM-DD"),
        (
            "ordered_from=2026-10-21&ordered_to=2026-10-01",
            "ordered_to",
            "The end date must not be before the start date.",
        ),
        ("status=paid2", "status", "Select a valid choice. paid2 is not one of"),
        ("type=supplementary", "type", "Select a valid choice."),
        ("product=abc", "product", "Select a valid choice."),
        ("product=999999", "product", "Select a valid choice."),
        ("product=99999999999999999999999", "product", "Select a valid choice."),
        ("status=%00", "status", "Select a valid choice."),
        ("ordered_from=2026-10-01%00", "ordered_from", "Enter a date as YYYY-MM-DD"),
        ("type=" + "x" * 10_000, "type", "Select a valid choice."),
    ],
)
def test_bad_filter_input_is_answered_next_to_the_field_and_selects_nothing(
    member_client, orders, query, field, message
):
    response = member_client.get(f"/orders/?{query}")

    assert response.status_code == 200
    page = response.content.decode()
    label = re.search(rf'<label for="id_{field}">.*?</div>', page, re.S)
    assert label is not None and message in label.group(0)
    assert "Some filters are not valid" in page
    assert numbers(response) == []


def test_an_invalid_filter_selects_no_orders_even_outside_the_page(rf, orders, organization):
    """The export and any other caller of `.qs` get nothing, not a silently widened set."""
    request = rf.get("/orders/", {"status": "paid", "type": "nonsense"})
    request.organization = organization

    filterset = order_filter(request.GET, request)

    assert not filterset.is_valid()
    assert list(filterset.qs) == []


def test_a_product_the_organization_never_ordered_is_refused_not_widened(
    member_client, orders, products
):
    response = member_client.get(f"/orders/?product={products['whatsapp'].pk}")

    assert "Select a valid choice." in response.content.decode()
    assert numbers(response) == []


# Isolation ------------------------------------------------------------------------------


def test_another_organizations_orders_are_invisible(
    client, orders, outsider, other_organization, products
):
    theirs = make_order(
        other_organization, products["sms"], at=dt.datetime(2026, 10, 5, tzinfo=dt.UTC)
    )
    client.force_login(outsider)

    assert numbers(client.get("/orders/")) == [theirs.number]
    mine = orders[3]
    detail = client.get(f"/orders/{mine.pk}/")
    missing = client.get("/orders/999999/")
    assert detail.status_code == missing.status_code == 404
    assert detail.content == missing.content


def test_an_outsider_cannot_cancel_the_order(client, orders, outsider):
    unpaid = orders[3]
    client.force_login(outsider)

    asked = client.post(f"/orders/{unpaid.pk}/cancel/")
    confirmed = client.post(f"/orders/{unpaid.pk}/cancel/", {"confirm": "yes"})

    assert asked.status_code == confirmed.status_code == 404
    unpaid.refresh_from_db()
    assert unpaid.status == Order.Status.UNPAID


def test_a_visitor_is_sent_to_log_in(client, orders):
    response = client.post(f"/orders/{orders[3].pk}/cancel/", {"confirm": "yes"})

    assert response.status_code == 302
    assert response.url.startswith("/login/")
    orders[3].refresh_from_db()
    assert orders[3].status == Order.Status.UNPAID


# Cancelling -----------------------------------------------------------------------------


def test_a_member_cancels_an_unpaid_order_after_confirming(client, orders, second_member):
    unpaid = orders[3]
    client.force_login(second_member)  # any member, not only the one who ordered

    asked = client.post(f"/orders/{unpaid.pk}/cancel/")
    unpaid.refresh_from_db()
    assert unpaid.status == Order.Status.UNPAID
    assert f"Cancel order {unpaid.number}?" in asked.content.decode()
    assert 'name="confirm" value="yes"' in asked.content.decode()

    done = client.post(f"/orders/{unpaid.pk}/cancel/", {"confirm": "yes"}, follow=True)

    assert done.redirect_chain == [(f"/orders/{unpaid.pk}/", 302)]
    assert f"Order {unpaid.number} is cancelled; it is now Closed." in done.content.decode()
    unpaid.refresh_from_db()
    assert unpaid.status == Order.Status.CLOSED


def test_get_never_cancels(member_client, orders):
    unpaid = orders[3]

    response = member_client.get(f"/orders/{unpaid.pk}/cancel/?confirm=yes")

    assert response.status_code == 405
    unpaid.refresh_from_db()
    assert unpaid.status == Order.Status.UNPAID


def test_cancelling_needs_the_csrf_token(member, orders):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(member)

    response = csrf_client.post(f"/orders/{orders[3].pk}/cancel/", {"confirm": "yes"})

    assert response.status_code == 403
    orders[3].refresh_from_db()
    assert orders[3].status == Order.Status.UNPAID


@pytest.mark.parametrize("index", [0, 2], ids=["paid", "closed"])
def test_only_unpaid_orders_can_be_cancelled(member_client, orders, index):
    order = orders[index]
    before = order.status

    response = member_client.post(f"/orders/{order.pk}/cancel/", {"confirm": "yes"}, follow=True)

    page = response.content.decode()
    assert f"is {order.get_status_display()}: only Unpaid orders can be cancelled." in page
    order.refresh_from_db()
    assert order.status == before


def test_only_unpaid_orders_offer_a_cancel_button(member_client, orders):
    page = member_client.get("/orders/").content.decode()

    assert page.count('action="/orders/') == 1
    assert f'action="/orders/{orders[3].pk}/cancel/"' in page
    detail = member_client.get(f"/orders/{orders[0].pk}/").content.decode()
    assert "Cancel order" not in detail


def test_the_service_refuses_every_other_transition(orders, member):
    with pytest.raises(InvalidTransition):
        order_cancel(order=orders[0], cancelled_by=member)  # Paid
    with pytest.raises(InvalidTransition):
        order_cancel(order=orders[2], cancelled_by=member)  # Closed
    order_cancel(order=orders[3], cancelled_by=member)
    with pytest.raises(InvalidTransition):
        order_cancel(order=orders[3], cancelled_by=member)  # already Closed


# Bills and their Supplementary Payment orders -----------------------------------------


@pytest.fixture
def overdrawn(make_bill, application, organization, products, member):
    bill = make_bill(application, overdraft="42.50")
    order = make_order(
        organization,
        products["app_push"],
        at=dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC),
        order_type=Order.Type.SUPPLEMENTARY_PAYMENT,
        status=Order.Status.UNPAID,
        amount="42.50",
        bill=bill,
        ordered_by=member,
    )
    return bill, order


def test_an_overdrawn_bill_links_to_the_order_that_settles_it(member_client, overdrawn):
    bill, order = overdrawn

    page = member_client.get(bill.get_absolute_url()).content.decode()

    assert "Overdraft settlement" in page
    link = f'<a href="/orders/{order.pk}/">Supplementary Payment <span class="nowrap">'
    assert f"{link}{order.number}</span></a>" in page


def test_the_order_links_back_to_its_bill(member_client, overdrawn):
    bill, order = overdrawn

    detail = member_client.get(f"/orders/{order.pk}/").content.decode()
    listing = member_client.get("/orders/").content.decode()

    assert f'Settles bill</dt><dd><a href="/bills/{bill.pk}/">{bill.number}</a>' in detail
    assert f'for bill <a href="/bills/{bill.pk}/">{bill.number}</a>' in listing


def test_a_bill_without_overdraft_says_nothing_about_orders(member_client, bill):
    page = member_client.get(bill.get_absolute_url()).content.decode()

    assert "Overdraft settlement" not in page


def test_an_overdraft_without_order_says_so(member_client, make_bill, application):
    bill = make_bill(application, overdraft="10.00")

    page = member_client.get(bill.get_absolute_url()).content.decode()

    assert "No Supplementary Payment order settles this overdraft yet." in page


def test_a_member_places_a_supplementary_payment_for_what_a_bill_has_due(
    member_client, make_bill, application, organization, products, member
):
    bill = make_bill(application, overdraft="42.50")

    order = order_place(
        organization=organization,
        product=products["app_push"],
        order_type=Order.Type.SUPPLEMENTARY_PAYMENT,
        amount=Decimal("42.50"),
        ordered_by=member,
        bill=bill,
    )

    assert (order.status, order.bill) == (Order.Status.UNPAID, bill)
    page = member_client.get(bill.get_absolute_url()).content.decode()
    assert f'Supplementary Payment <span class="nowrap">{order.number}</span>' in page
    with pytest.raises(UnpaidOrderExists) as refused:
        order_place(
            organization=organization,
            product=products["app_push"],
            order_type=Order.Type.SUPPLEMENTARY_PAYMENT,
            amount=Decimal("42.50"),
            ordered_by=member,
            bill=bill,
        )
    assert refused.value.order == order


def test_a_supplementary_payment_settles_only_what_its_bill_has_due(
    make_bill, application, other_application, organization, products, member
):
    place = {
        "organization": organization,
        "product": products["app_push"],
        "order_type": Order.Type.SUPPLEMENTARY_PAYMENT,
        "ordered_by": member,
    }
    pending = make_bill(application, overdraft="42.50")
    cleared = make_bill(application, cycle="2026-09", overdraft="10.00")
    bill_clear(bill=cleared)
    theirs = make_bill(other_application, overdraft="42.50")

    with pytest.raises(ValueError, match="has 42.50 USD due"):
        order_place(**place, amount=Decimal("40.00"), bill=pending)
    with pytest.raises(InvalidTransition, match="Cleared: nothing is due"):
        order_place(**place, amount=Decimal("10.00"), bill=cleared)
    with pytest.raises(ValueError, match="is not a bill of Acme Messaging for App Push"):
        order_place(**place, amount=Decimal("42.50"), bill=theirs)
    with pytest.raises(ValueError, match="settle no bill"):
        order_place(
            **place | {"order_type": Order.Type.TOP_UP}, amount=Decimal("42.50"), bill=pending
        )
    assert not Order.objects.exists()


def test_paying_an_order_marks_it_paid_once(organization, products, member):
    order = order_place(
        organization=organization,
        product=products["sms"],
        order_type=Order.Type.TOP_UP,
        amount=Decimal("100.00"),
        ordered_by=member,
    )

    order_pay(order=order, payment_method=Order.PaymentMethod.CARD)

    order.refresh_from_db()
    assert (order.status, order.get_payment_method_display()) == (Order.Status.PAID, "Credit card")
    with pytest.raises(InvalidTransition, match="only Unpaid orders are paid"):
        order_pay(order=order, payment_method=Order.PaymentMethod.CARD)


# What the database refuses --------------------------------------------------------------


def test_a_supplementary_payment_needs_a_bill_and_a_purchase_has_none(
    organization, products, overdrawn
):
    bill, _ = overdrawn
    at = dt.datetime(2026, 11, 4, tzinfo=dt.UTC)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_order(
            organization, products["sms"], at=at, order_type=Order.Type.SUPPLEMENTARY_PAYMENT
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        make_order(organization, products["sms"], at=at, bill=bill)


def test_a_bill_has_one_open_settlement_order(organization, products, overdrawn):
    bill, order = overdrawn
    at = dt.datetime(2026, 11, 4, tzinfo=dt.UTC)
    kwargs = {"at": at, "order_type": Order.Type.SUPPLEMENTARY_PAYMENT, "bill": bill}

    with pytest.raises(IntegrityError), transaction.atomic():
        make_order(organization, products["app_push"], status=Order.Status.PAID, **kwargs)

    # Once the first is Closed, a new one may settle the bill.
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CLOSED)
    make_order(organization, products["app_push"], status=Order.Status.UNPAID, **kwargs)


def test_several_overdrawn_bills_of_a_product_each_have_an_unpaid_order(
    organization, products, make_bill, application
):
    for cycle in ("2026-09", "2026-10"):
        make_order(
            organization,
            products["app_push"],
            at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC),
            order_type=Order.Type.SUPPLEMENTARY_PAYMENT,
            status=Order.Status.UNPAID,
            amount="1.00",
            bill=make_bill(application, cycle=cycle, overdraft="1.00"),
        )

    assert Order.objects.filter(status=Order.Status.UNPAID).count() == 2


def test_a_member_without_a_name_is_shown_by_username(client, organization, products):
    user = make_user("nameless", organization)
    make_order(
        organization,
        products["sms"],
        at=dt.datetime(2026, 10, 5, tzinfo=dt.UTC),
        ordered_by=user,
    )
    client.force_login(user)

    assert "<td>nameless</td>" in client.get("/orders/").content.decode()


def test_the_list_costs_the_same_queries_for_one_order_or_a_full_page(
    member_client,
    organization,
    products,
    member,
    make_bill,
    application,
    django_assert_max_num_queries,
):
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    make_order(organization, products["sms"], at=start, ordered_by=member)
    with django_assert_max_num_queries(12) as one:
        member_client.get("/orders/?status=paid")
    for day in range(1, 30):
        make_order(
            organization,
            products["app_push"],
            at=start + dt.timedelta(days=day),
            order_type=Order.Type.SUPPLEMENTARY_PAYMENT,
            amount="10.00",
            bill=make_bill(
                application, cycle=f"{2020 + day // 12}-{day % 12 + 1:02d}", overdraft="10.00"
            ),
            ordered_by=member,
        )

    with django_assert_max_num_queries(len(one.captured_queries)):
        member_client.get("/orders/?status=paid")
