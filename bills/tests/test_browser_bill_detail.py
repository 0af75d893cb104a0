"""In a real browser: a bill of thousands of lines reads page by page, on a desktop and
on a phone, without the page growing wider than the screen."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bills.services import LineItem
from bills.tests.fixtures import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1400, 390])
def test_a_member_pages_through_a_long_bill(page, member, make_bill, application, width, tmp_path):
    lines = [
        LineItem(f"SMS to destination {n:04d}", 1_000 + n, "messages", Decimal("0.0079"))
        for n in range(1, 2_500)
    ]
    # The longest description a line may have, as one word.
    lines.append(
        LineItem("SMS-to-destination-2500" + "x" * 177, 3_500, "messages", Decimal("0.0079"))
    )
    bill = make_bill(application, product="sms", lines=lines)
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "alice")

    page.goto(f"/bills/{bill.pk}/")
    rows = page.locator("table.lines-table tbody tr")
    assert rows.count() == 100
    assert "Lines 1–100 of 2,500 lines" in page.locator(".lines-heading").inner_text()
    page.get_by_role("link", name="Last").click()
    page.wait_for_load_state()

    assert rows.count() == 100
    assert rows.first.locator("td.line-number").inner_text().split()[-1] == "2,401"
    assert "SMS-to-destination-2500" in rows.last.inner_text()
    assert "Page 25 of 25" in page.locator(".pagination").inner_text()
    # Nothing sticks out sideways, on a phone either.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    table = page.locator(".table-wrap")
    assert table.evaluate("wrap => wrap.scrollWidth <= wrap.clientWidth")
    page.locator(".pagination").scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / f"bill-detail-{width}.png")
