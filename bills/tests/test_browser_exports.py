"""In Chromium: a finance user exports a large selection, watches the Exports page follow
the job by itself, downloads the file; the same with JavaScript off; cancelling from the page.

The jobs run in a real `manage.py db_worker` process on the live server's database. This
file lives here, not in exports/tests/: that directory re-imports these fixtures, and a
second session `chromium` would start a second Playwright in one thread, which fails."""

from __future__ import annotations

import io
import re
import time
import zipfile

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from pypdf import PdfReader

from bills.services import bill_clear
from bills.tests.fixtures import log_in
from exports.models import Export
from exports.tests.samples import exports_in_every_state
from exports.tests.test_worker import worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Records every status the page shows, and whether the page was ever reloaded: a property
# on window survives the script's updates but not a navigation.
WATCH_STATUSES = """
(rowId) => {
  window.__sameDocument = true;
  window.__statuses = [];
  const record = () => {
    const badge = document.querySelector(`#${rowId} .status`);
    const seen = badge && badge.textContent.trim();
    if (seen && window.__statuses.at(-1) !== seen) window.__statuses.push(seen);
  };
  record();
  new MutationObserver(record).observe(document.body, {subtree: true, childList: true});
}
"""


@pytest.fixture
def selection(make_bill, application, whatsapp_application):
    """The bills to be paid for App Push: 24 of them (a ZIP of their PDFs takes seconds to
    make), and bills the filter must leave out: a cleared one, another product's."""
    wanted = [
        make_bill(application, cycle=f"{2024 + month // 12}-{month % 12 + 1:02d}")
        for month in range(24)
    ]
    bill_clear(bill=make_bill(whatsapp_application, cycle="2026-01"))
    make_bill(application, cycle="2026-01", product="sms")
    return wanted


@pytest.fixture
def jobs_over_two_bills(settings):
    """Export Data of more than two bills is a background job here."""
    settings.EXPORT_INLINE_MAX_ROWS = {"xlsx": 2, "csv": 2}


@pytest.fixture
def cold_pdf_cache(tmp_path, monkeypatch):
    """The worker renders every PDF anew, into this test's own directory."""
    monkeypatch.setenv("BILL_PDF_CACHE_DIR", str(tmp_path / "bill-pdfs"))


def filter_bills_to_be_paid_for_app_push(page) -> None:
    page.get_by_role("link", name="Bills to be paid").click()
    page.get_by_label("App Push").check()
    page.get_by_label("Search").press("Enter")
    page.wait_for_url("**/bills/?*product=*")


def confirm(page) -> Export:
    """The confirm page's button queues the job and lands on the Exports page."""
    expect(
        page.get_by_role("heading", name="Prepare this export in the background?")
    ).to_be_visible()
    page.get_by_role("button", name="Prepare the export").click()
    page.wait_for_url("**/exports/")
    return Export.objects.latest("requested_at")


def row(page, export: Export):
    return page.locator(f"#export-{export.pk}")


def watch_a_worker_make(page, export: Export, storage) -> list[str]:
    """Starts a worker, waits until the row says Ready; the statuses the page showed."""
    page.evaluate(WATCH_STATUSES, f"export-{export.pk}")
    process = worker(storage)
    try:
        expect(row(page, export).locator(".status")).to_have_text("Ready", timeout=90_000)
    finally:
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert page.evaluate("window.__sameDocument"), "the page was reloaded"
    return page.evaluate("window.__statuses")


def download(page, export: Export, tmp_path):
    with page.expect_download() as info:
        row(page, export).get_by_role("link", name=re.compile("^Download")).click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_a_large_export_and_a_zip_of_bills_follow_their_jobs_to_the_download(
    page, member, selection, jobs_over_two_bills, cold_pdf_cache, export_storage, tmp_path
):
    policy_errors = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and policy_errors.append(message.text)
        ),
    )
    newest_first = [bill.number for bill in reversed(selection)]
    log_in(page, "alice")
    filter_bills_to_be_paid_for_app_push(page)

    page.get_by_role("link", name="Export Data").click()
    expect(page.get_by_text("This filter selects 24 bills")).to_be_visible()
    sheet_export = confirm(page)
    expect(row(page, sheet_export).locator(".status")).to_have_text("Queued")
    expect(row(page, sheet_export)).to_contain_text("24 rows, waiting for a worker")
    status_line = page.get_by_role("status")
    expect(status_line).to_contain_text("In progress: 1 queued")

    statuses = watch_a_worker_make(page, sheet_export, export_storage)

    assert statuses[0] == "Queued" and statuses[-1] == "Ready", statuses
    expect(status_line).to_have_text("No export in progress. 1 ready to download.")
    rows = list(load_workbook(download(page, sheet_export, tmp_path))["Bills"].values)
    numbers = [values[0] for values in rows[1:]]
    assert numbers[: numbers.index(None)] == newest_first  # then a blank line and the totals

    # The same selection as one ZIP of PDFs: the Bills page kept the filter.
    filter_bills_to_be_paid_for_app_push(page)
    page.get_by_role("link", name="Download Bills (ZIP)").click()
    zip_export = confirm(page)

    statuses = watch_a_worker_make(page, zip_export, export_storage)

    # Two dozen PDFs take longer than one refresh: the page showed the job running.
    assert statuses[0] == "Queued" and "Running" in statuses and statuses[-1] == "Ready", statuses
    archive = zipfile.ZipFile(download(page, zip_export, tmp_path))
    assert archive.namelist() == [f"{number}.pdf" for number in newest_first] + ["index.csv"]
    for number in newest_first:
        text = PdfReader(io.BytesIO(archive.read(f"{number}.pdf"))).pages[0].extract_text()
        assert number in text
    assert policy_errors == []


def test_the_page_stops_asking_once_nothing_is_queued_or_running(page, member, organization):
    exports = exports_in_every_state(organization, member)
    running = exports["running"]
    log_in(page, "alice")
    page.goto("/exports/")
    cancel = row(page, running).get_by_role("button", name=re.compile("^Cancel"))
    cancel.focus()

    # The worker reports progress: the page shows it, and the keyboard stays on Cancel.
    Export.objects.filter(pk=running.pk).update(done=30_000)
    expect(row(page, running)).to_contain_text("30,000 of 48,000 rows (62%)")
    assert page.evaluate("document.activeElement.textContent").startswith("Cancel")
    # One live region, the status line; the table is not read out at each update.
    assert page.locator("[aria-live], [role=status], [role=alert]").count() == 1

    # Cancel both active exports from the page (each a POST that lands back here).
    for export in (exports["queued"], running):
        row(page, export).get_by_role("button", name=re.compile("^Cancel")).click()
        page.wait_for_url("**/exports/")
        cancelled = f"The {export.get_file_format_display()} export is cancelled."
        expect(page.get_by_text(cancelled)).to_be_visible()
        expect(row(page, export).locator(".status")).to_have_text("Cancelled")
    assert set(
        Export.objects.filter(pk__in=[exports["queued"].pk, running.pk]).values_list(
            "status", flat=True
        )
    ) == {Export.Status.CANCELLED}

    asked = []
    page.on("request", lambda request: asked.append(request.url))
    page.wait_for_timeout(4_500)  # two refresh intervals and more
    assert asked == []
    expect(page.get_by_role("status")).to_have_text(
        "No export in progress. 1 ready to download. 1 failed."
    )


def test_without_javascript_the_page_refreshes_itself_and_cancels(
    chromium, live_server, member, selection, jobs_over_two_bills, export_storage
):
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, "alice")
        filter_bills_to_be_paid_for_app_push(page)
        page.get_by_role("link", name="CSV").click()
        csv_export = confirm(page)
        page.goto("/bills/export.xlsx?status=pending")
        xlsx_export = confirm(page)

        row(page, xlsx_export).get_by_role("button", name=re.compile("^Cancel")).click()
        page.wait_for_url("**/exports/")
        expect(row(page, xlsx_export).locator(".status")).to_have_text("Cancelled")
        expect(row(page, csv_export).locator(".status")).to_have_text("Queued")

        # The worker makes the CSV; the page reloads by itself (no script) until it is ready.
        loads = []
        page.on("load", lambda _: loads.append(time.monotonic()))
        process = worker(export_storage)
        try:
            expect(row(page, csv_export).locator(".status")).to_have_text("Ready", timeout=60_000)
        finally:
            output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output
        assert loads, "the page never reloaded itself"
        # Nothing left to wait for: no more reloads.
        assert page.locator("meta[http-equiv=refresh]").count() == 0
        assert row(page, csv_export).get_by_role("link", name=re.compile("^Download")).count() == 1
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 800, 1400])
def test_every_export_and_its_action_fit_the_screen(page, member, organization, width):
    exports = exports_in_every_state(organization, member)
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "alice")
    page.goto("/exports/")

    # Nothing to scroll sideways, neither the page nor the table: every action in reach.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate(
        "(() => { const w = document.querySelector('.table-wrap');"
        " return w.scrollWidth <= w.clientWidth; })()"
    )
    for export in exports.values():
        action = row(page, export).locator(".operate .button")
        box = action.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (export.status, box)
    again = row(page, exports["failed"]).get_by_role("link", name=re.compile("^Export again"))
    assert again.get_attribute("href").startswith("/bills/export.xlsx?")
