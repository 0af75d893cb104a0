"""The API's docs page in Chromium: Swagger UI from the console's own files, under the
console's CSP, "Try it out" working with a member's session, POST included, and the
operations, once opened, as accessible as the rest of the console; and the API keys page
in its empty state on a phone."""

from __future__ import annotations

import json

import pytest

from bills.tests.fixtures import log_in
from bills.tests.test_browser_axe import AXE_JS, Auditor
from exports.models import Export

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_asks_for_an_export_from_the_docs_page(page, member, bill):
    refused = []
    page.on("console", lambda message: message.type == "error" and refused.append(message.text))
    log_in(page, member.username)

    page.goto("/api/v1/docs/")
    operation = page.locator(".opblock-post", has_text="/api/v1/exports/")
    operation.locator(".opblock-summary-control").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.locator("textarea.body-param__text").fill(
        json.dumps({"format": "csv", "filters": {"cycle": "2026-10"}})
    )
    operation.get_by_role("button", name="Execute").click()

    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "202"
    export = Export.objects.get()
    assert (export.requested_by, export.total) == (member, 1)
    assert refused == []  # no CSP refusal, no failed script


@pytest.mark.parametrize("width", [1400, 390])
def test_the_docs_with_operations_opened_and_tried_pass_wcag_21_aa(page, member, bill, width):
    # test_browser_axe audits the page as it loads; Swagger UI draws each operation's
    # parameters, forms and examples only when it is opened, so they are audited here.
    page.set_viewport_size({"width": width, "height": 900})
    auditor = Auditor(page, AXE_JS.read_text())
    log_in(page, member.username)
    page.goto("/api/v1/docs/")

    bills = page.locator(".opblock-get", has_text="/api/v1/bills/").first
    bills.locator(".opblock-summary-control").click()
    bills.get_by_role("button", name="Try it out").click()
    auditor.check()
    exports = page.locator(".opblock-post", has_text="/api/v1/exports/")
    exports.locator(".opblock-summary-control").click()
    exports.get_by_role("button", name="Try it out").click()
    exports.locator("textarea.body-param__text").fill(json.dumps({"format": "csv"}))
    exports.get_by_role("button", name="Execute").click()
    exports.locator(".live-responses-table tbody .response-col_status").first.wait_for()
    auditor.check()

    assert auditor.found == []


def test_the_api_keys_page_with_no_key_yet_passes_wcag_21_aa_on_a_phone(page, member):
    # Its empty table scrolls sideways at 390 px with nothing in it to focus.
    page.set_viewport_size({"width": 390, "height": 900})
    auditor = Auditor(page, AXE_JS.read_text())
    log_in(page, member.username)

    auditor.visit("/api-keys/")

    assert auditor.found == []
