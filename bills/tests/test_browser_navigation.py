"""In a real Chromium, a member orders in the Product Market, finds the order in Order
Management, cancels it, and goes on to the Bills, all through the left navigation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from bills.demo import ensure_prices
from bills.models import Order
from bills.tests.fixtures import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_product_market_to_order_management_to_bills(
    page, member, products, application, make_bill
):
    ensure_prices(products, {"USD"})
    bill = make_bill(application)
    log_in(page, "alice")
    sidenav = page.get_by_role("navigation", name="Orders & Bills")

    sidenav.get_by_role("link", name="Product Market").click()
    expect(page.get_by_role("heading", name="Product Market", level=1)).to_be_visible()
    sms = page.get_by_role("region", name="SMS")
    assert "SMS to Germany" in sms.inner_text()
    sms.get_by_role("link", name="Order SMS").click()

    page.get_by_label("Prepaid Top-up").check()
    page.get_by_label("Amount (USD)").fill("250.00")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_text("Accept the service agreement to place the order.")).to_be_visible()
    page.get_by_label("I have read and accept the SMS Service Agreement").check()
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_text(re.compile(r"Order ORD-\S+ placed"))).to_be_visible()
    order = Order.objects.get()
    expect(page.get_by_text(f"Order {order.number} placed")).to_be_visible()

    sidenav.get_by_role("link", name="Order Management").click()
    expect(page.get_by_role("heading", name="Order Management", level=1)).to_be_visible()
    row = page.locator("table tbody tr", has_text=order.number)
    assert re.search(r"SMS\s+Prepaid Top-up\s+Unpaid\s+250\.00 USD", row.inner_text())
    row.get_by_role("button", name=f"Cancel order {order.number}").click()
    page.get_by_role("button", name="Yes, cancel this order").click()
    expect(page.get_by_text("it is now Closed")).to_be_visible()

    sidenav.get_by_role("link", name="Bills", exact=True).click()
    expect(page.get_by_role("heading", name="Bills", level=1)).to_be_visible()
    assert bill.application.app_key in page.locator("table tbody").inner_text()
    order.refresh_from_db()
    assert order.status == Order.Status.CLOSED
