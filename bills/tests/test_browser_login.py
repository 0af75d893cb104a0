"""A person logs in as a demo user in a real Chromium and sees the Bills page."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from bills.demo import DEMO_PASSWORD
from bills.tests.fixtures import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_demo_user_logs_in_and_sees_the_bills(page):
    call_command("seed_demo")

    log_in(page, "alice", DEMO_PASSWORD)

    expect(page.get_by_role("heading", name="Bills", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Orders & Bills")).to_be_visible()
    rows = page.locator("table tbody tr")
    assert rows.count() == 25
    assert "Acme" in rows.first.inner_text()
    page.get_by_role("link", name="Bills to be paid").click()
    page.wait_for_url("**/bills/?status=pending")
