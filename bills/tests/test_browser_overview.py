"""In a real browser: from a bar of the Overview to exactly the bills behind it, and the
Overview passes axe-core on a laptop and on a phone."""

from __future__ import annotations

import pytest

from bills.overview import add_months, last_closed_cycle
from bills.tests.fixtures import log_in
from bills.tests.test_browser_axe import AXE_JS, Auditor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def axe() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run scripts/test, which installs axe-core")
    return AXE_JS.read_text()


@pytest.fixture
def spend(make_bill, application, whatsapp_application, other_application, organization):
    """Bills of three products over the last three closed cycles, one of another tenant."""
    last = last_closed_cycle(organization)
    months = [f"{add_months(last, -offset):%Y-%m}" for offset in (2, 1, 0)]
    for month in months:
        make_bill(application, cycle=month, product="app_push", overdraft="10.00")
        make_bill(application, cycle=month, product="sms")
        make_bill(whatsapp_application, cycle=month, product="sms")
    make_bill(whatsapp_application, cycle=months[1], product="email")
    make_bill(other_application, cycle=months[1], product="sms")
    return months


def test_a_click_on_a_bar_segment_lists_exactly_that_product_and_month(page, member, spend):
    month = spend[1]

    log_in(page, "alice")
    page.get_by_role("link", name="Overview", exact=True).click()
    assert page.get_by_role("heading", name="Overview").is_visible()
    segment = page.locator(
        ".chart-bar", has=page.locator(f"title:text-is('SMS, {month}: 300.00 USD')")
    )
    segment.click()
    page.wait_for_load_state()

    assert "/bills/?" in page.url
    assert page.get_by_label("SMS").is_checked()
    assert not page.get_by_label("App Push").is_checked()
    assert page.get_by_label("Month", exact=True).input_value() == month
    rows = [
        [cell.inner_text().strip() for cell in row.locator("td").all()[:3]]
        for row in page.locator("table.bill-table tbody tr").all()
    ]
    assert sorted((row[0], row[2], row[1].split("AppKey")[1].split()[0]) for row in rows) == [
        ("SMS", month, "acmekey0001"),
        ("SMS", month, "acmekey0002"),
    ]


@pytest.mark.parametrize("width", [1400, 390])
def test_the_overview_passes_wcag_21_aa(page, member, spend, axe, width):
    auditor = Auditor(page, axe)
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "alice")

    auditor.visit("/overview/")
    # The charts fit the width: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.locator("details.chart-data summary").first.click()  # a table opened
    auditor.check()
    auditor.visit(f"/overview/?cycle={spend[0]}&status=cleared")  # the empty state
    auditor.visit("/overview/?cycle_from=2026-13")  # a filter it refuses

    assert auditor.found == [], "\n".join(auditor.found)
