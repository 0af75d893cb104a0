"""The API's docs page in Chromium: Swagger UI from the console's own files, under the
console's CSP, and "Try it out" working with a member's session, POST included."""

from __future__ import annotations

import json

import pytest

from bills.tests.fixtures import log_in
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
