"""A member browses the Product Market and places an order from it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client

from bills import services
from bills.demo import CATALOGUE, ensure_prices
from bills.models import BillLine, Order, ProductPrice
from bills.services import UnpaidOrderExists, order_cancel, order_place
from bills.tests.fixtures import make_organization, make_user

GOOD_ORDER = {"order_type": "top_up", "amount": "250.00", "accept_agreement": "on"}


@pytest.fixture
def prices(products):
    ensure_prices(products, {"USD", "EUR"})
    return products


def place(organization, product, user, amount="10.00", order_type=Order.Type.NEW_PURCHASE):
    return order_place(
        organization=organization,
        product=product,
        order_type=order_type,
        amount=Decimal(amount),
        ordered_by=user,
    )


def page_text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


# The market page ------------------------------------------------------------------------


def test_it_lists_every_product_with_its_unit_and_prices(member_client, prices):
    page = page_text(member_client.get("/market/"))

    for entry in CATALOGUE:
        assert f'<h2 id="product-{entry.code}">{entry.name}</h2>' in page
        assert entry.description in page
        assert f"Usage unit: <strong>{entry.usage_unit}</strong>" in page
        for rate in entry.rates:
            assert rate.description in page
    assert '0.00015 <span class="unit">USD</span>' in page  # App Push, without exponent
    assert '0.075 <span class="unit">USD</span>' in page  # SMS to Germany
    assert "EUR" not in page
    assert page.count('/order/">Order<') == len(CATALOGUE)


def test_it_shows_prices_in_the_organizations_currency(client, prices, outsider):
    client.force_login(outsider)  # Globex bills in EUR

    page = page_text(client.get("/market/"))

    assert "List prices in EUR" in page
    assert '0.0079 <span class="unit">EUR</span>' in page
    assert "USD" not in page


def test_it_shows_volume_tiers(member_client, products):
    email = products["email"]
    ProductPrice.objects.create(
        product=email, currency="USD", description="Emails sent", unit_price=Decimal("0.0008")
    )
    ProductPrice.objects.create(
        product=email,
        currency="USD",
        description="Emails sent",
        min_quantity=1_000_000,
        unit_price=Decimal("0.0005"),
    )

    page = page_text(member_client.get("/market/"))

    assert "from 1,000,000 emails a month" in page
    assert '0.0005 <span class="unit">USD</span>' in page


def test_it_says_when_a_currency_has_no_list_price(client, prices, db):
    organization = make_organization("yen", currency="JPY")
    client.force_login(make_user("kenji", organization))

    page = page_text(client.get("/market/"))

    assert page.count("No list price in JPY yet") == len(CATALOGUE)


def test_it_points_to_an_unpaid_order_instead_of_offering_a_second(
    member_client, prices, organization, member
):
    order = place(organization, prices["sms"], member)

    page = page_text(member_client.get("/market/"))

    assert f'Unpaid order <a href="/orders/{order.pk}/">{order.number}</a>' in page
    assert 'href="/market/sms/order/"' not in page
    assert 'href="/market/otp/order/"' in page


# Placing an order -----------------------------------------------------------------------


def test_it_places_an_unpaid_order(member_client, prices, organization, member):
    response = member_client.post("/market/sms/order/", GOOD_ORDER, follow=True)

    order = Order.objects.get()
    assert response.redirect_chain == [(f"/orders/{order.pk}/", 302)]
    assert f"Order {order.number} placed: Prepaid Top-up of 250.00 USD for SMS" in page_text(
        response
    )
    assert order.organization == organization
    assert order.product == prices["sms"]
    assert order.order_type == Order.Type.TOP_UP
    assert order.status == Order.Status.UNPAID
    assert order.amount == Decimal("250.00")
    assert isinstance(order.amount, Decimal)
    assert order.currency == "USD"
    assert order.payment_method == ""
    assert order.ordered_by == member
    assert order.bill is None


def test_the_form_shows_the_product_its_prices_and_the_agreement(member_client, prices):
    page = page_text(member_client.get("/market/whatsapp/order/"))

    assert "<h1>Order WhatsApp Business</h1>" in page
    assert "Marketing conversations" in page
    assert "Read the WhatsApp Business Service Agreement" in page
    assert "I have read and accept the WhatsApp Business Service Agreement" in page
    assert 'name="amount"' in page
    assert 'value="new_purchase"' in page and 'value="top_up"' in page


def test_it_requires_the_service_agreement(member_client, prices):
    response = member_client.post("/market/sms/order/", GOOD_ORDER | {"accept_agreement": ""})

    assert "Accept the service agreement to place the order." in page_text(response)
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "Enter an amount greater than 0."),
        ("0.00", "Enter an amount greater than 0."),
        ("-5.00", "Enter an amount greater than 0."),
        ("", "This field is required."),
        ("ten", "Enter a number."),
        ("NaN", "Enter a number."),
        ("Infinity", "Enter a number."),
        ("1.005", "Ensure that there are no more than 2 decimal places."),
        ("1" * 18, "Ensure that there are no more than 17 digits in total."),
        ("1\x00", "Enter a number."),
    ],
)
def test_it_refuses_an_amount_that_is_not_a_positive_sum_of_money(
    member_client, prices, amount, message
):
    response = member_client.post("/market/sms/order/", GOOD_ORDER | {"amount": amount})

    assert message in page_text(response)
    assert not Order.objects.exists()


def test_it_takes_whole_amounts_in_a_currency_without_cents(client, prices, db):
    organization = make_organization("yen", currency="JPY")
    client.force_login(make_user("kenji", organization))

    refused = client.post("/market/sms/order/", GOOD_ORDER | {"amount": "1500.5"})
    too_large = client.post("/market/sms/order/", GOOD_ORDER | {"amount": "1" + "0" * 14})
    placed = client.post("/market/sms/order/", GOOD_ORDER | {"amount": "1500"})

    assert "no more than 0 decimal places" in page_text(refused)
    assert "This amount is too large for one order." in page_text(too_large)
    assert placed.status_code == 302
    assert Order.objects.get().amount == Decimal("1500")


@pytest.mark.parametrize(
    ("order_type", "message"),
    [
        ("supplementary_payment", "Select a valid choice."),
        ("renewal", "Select a valid choice."),
        ("top_up\x00", "Select a valid choice."),
        ("", "This field is required."),
    ],
)
def test_it_refuses_order_types_the_market_does_not_sell(
    member_client, prices, order_type, message
):
    response = member_client.post("/market/sms/order/", GOOD_ORDER | {"order_type": order_type})

    assert message in page_text(response)
    assert not Order.objects.exists()


def test_a_second_unpaid_order_for_the_product_gets_a_clear_message(
    member_client, prices, organization, second_member
):
    first = place(organization, prices["sms"], second_member)

    response = member_client.post("/market/sms/order/", GOOD_ORDER)

    page = page_text(response)
    assert (
        f"Acme Messaging already has an Unpaid order for SMS ({first.number}). "
        "Pay or cancel it before placing another."
    ) in page
    assert f'href="/orders/{first.pk}/"' in page
    assert list(Order.objects.all()) == [first]


def test_a_fresh_visit_links_to_the_unpaid_order_instead_of_the_form(
    member_client, prices, organization, member
):
    first = place(organization, prices["sms"], member)

    page = page_text(member_client.get("/market/sms/order/"))

    assert "already has an Unpaid order for SMS:" in page
    assert first.number in page
    assert "Place order" not in page


def test_other_products_paid_orders_and_other_organizations_do_not_block(
    member_client, prices, organization, member, other_organization, outsider
):
    place(organization, prices["email"], member)
    paid = place(organization, prices["sms"], member)
    Order.objects.filter(pk=paid.pk).update(status=Order.Status.PAID)
    place(other_organization, prices["sms"], outsider)

    response = member_client.post("/market/sms/order/", GOOD_ORDER)

    assert response.status_code == 302
    assert Order.objects.filter(organization=organization, status="unpaid").count() == 2


def test_a_cancelled_order_no_longer_blocks(member_client, prices, organization, member):
    first = place(organization, prices["sms"], member)
    order_cancel(order=first, cancelled_by=member)

    response = member_client.post("/market/sms/order/", GOOD_ORDER)

    assert response.status_code == 302
    assert Order.objects.filter(status="unpaid").count() == 1


def test_unpaid_supplementary_payments_do_not_block_a_purchase(
    member_client, prices, make_bill, application, organization
):
    bill = make_bill(application, product="sms", overdraft="20.00")
    Order.objects.create(
        number="ORD-20261103-000001",
        organization=organization,
        product=prices["sms"],
        order_type=Order.Type.SUPPLEMENTARY_PAYMENT,
        amount=Decimal("20.00"),
        currency="USD",
        ordered_at=dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC),
        bill=bill,
    )

    response = member_client.post("/market/sms/order/", GOOD_ORDER)

    assert response.status_code == 302
    assert Order.objects.filter(status="unpaid").count() == 2


def test_an_unknown_product_is_a_404(member_client, prices):
    assert member_client.get("/market/fax/order/").status_code == 404
    assert member_client.post("/market/fax/order/", GOOD_ORDER).status_code == 404


def test_a_visitor_must_log_in_first(client, prices):
    response = client.post("/market/sms/order/", GOOD_ORDER)

    assert response.status_code == 302
    assert response.url.startswith("/login/")
    assert not Order.objects.exists()


def test_ordering_needs_the_csrf_token(member, prices):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(member)

    assert csrf_client.post("/market/sms/order/", GOOD_ORDER).status_code == 403
    assert not Order.objects.exists()


# The service ----------------------------------------------------------------------------


def test_it_numbers_orders_with_the_utc_day_and_a_counter(organization, member, prices):
    first = order_place(
        organization=organization,
        product=prices["sms"],
        order_type=Order.Type.TOP_UP,
        amount=Decimal("5.00"),
        ordered_by=member,
        ordered_at=dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    )
    second = place(organization, prices["email"], member)

    assert first.number == "ORD-20261101-000001"
    assert second.number.endswith("-000002")


@pytest.mark.parametrize(
    "amount",
    [10.5, 10, "10.00"],
    ids=["float", "int", "str"],
)
def test_the_service_takes_decimal_money_only(organization, member, prices, amount):
    with pytest.raises(TypeError):
        order_place(
            organization=organization,
            product=prices["sms"],
            order_type=Order.Type.TOP_UP,
            amount=amount,
            ordered_by=member,
        )
    assert not Order.objects.exists()


@pytest.mark.parametrize("amount", ["0", "-1.00", "0.001", "100000000000000.00", "NaN"])
def test_the_service_refuses_amounts_that_are_not_positive_money(
    organization, member, prices, amount
):
    with pytest.raises(ValueError):
        place(organization, prices["sms"], member, amount=amount)
    assert not Order.objects.exists()


def test_the_service_refuses_supplementary_payments_and_outsiders(
    organization, member, outsider, prices
):
    with pytest.raises(ValueError):
        place(organization, prices["sms"], member, order_type=Order.Type.SUPPLEMENTARY_PAYMENT)
    with pytest.raises(PermissionDenied):
        place(organization, prices["sms"], outsider)
    assert not Order.objects.exists()


def test_the_service_refuses_a_second_unpaid_order(organization, member, prices):
    first = place(organization, prices["sms"], member)

    with pytest.raises(UnpaidOrderExists) as refused:
        place(organization, prices["sms"], member, order_type=Order.Type.TOP_UP)

    assert refused.value.order == first
    assert Order.objects.count() == 1


def test_a_lost_race_ends_in_the_same_refusal(organization, member, prices, monkeypatch):
    """Two submits at once both pass the check; the database's constraint stops one."""
    first = place(organization, prices["sms"], member)
    real_check = services.unpaid_order_for
    calls = []

    def check_before_the_other_request_committed(organization, product):
        calls.append(product)
        return None if len(calls) == 1 else real_check(organization, product)

    monkeypatch.setattr(services, "unpaid_order_for", check_before_the_other_request_committed)

    with pytest.raises(UnpaidOrderExists) as refused:
        place(organization, prices["sms"], member)

    assert refused.value.order == first
    assert Order.objects.count() == 1
    # The refused order took no number: the next one continues the sequence.
    assert place(organization, prices["email"], member).number.endswith("-000002")


def test_the_database_allows_one_unpaid_market_order_per_product(organization, member, prices):
    first = place(organization, prices["sms"], member)

    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(
            number="ORD-DUPLICATE",
            organization=organization,
            product=first.product,
            order_type=Order.Type.RENEWAL,
            amount=Decimal("1.00"),
            currency="USD",
            ordered_at=first.ordered_at,
        )


def test_the_demo_prices_what_its_bills_charge_and_waits_for_one_payment(client, db):
    call_command("seed_demo")
    client.force_login(get_user_model().objects.get(username="carol"))  # Nimbus, EUR

    page = page_text(client.get("/market/"))

    assert ProductPrice.objects.filter(currency="EUR").count() == sum(
        len(entry.rates) for entry in CATALOGUE
    )
    assert '0.025 <span class="unit">EUR</span>' in page  # WhatsApp marketing, as billed
    sms_line = BillLine.objects.filter(
        bill__organization__slug="nimbus", description="SMS to Germany"
    ).first()
    assert (
        sms_line.unit_price
        == ProductPrice.objects.get(currency="EUR", description="SMS to Germany").unit_price
    )
    # Acme's demo has an Unpaid SMS top-up, so a second one is refused.
    client.force_login(get_user_model().objects.get(username="alice"))
    refused = client.post("/market/sms/order/", GOOD_ORDER)
    assert "already has an Unpaid order for SMS" in page_text(refused)
