"""Every console page in a real Chromium, on a laptop and on a phone, passes axe-core's
WCAG 2.1 A and AA rules: not one serious or critical violation."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from bills.tests.fixtures import PASSWORD, log_in
from bills.tests.pages import all_pages, sampler
from exports.tests.samples import exports_in_every_state

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # The console's URLs plus pages that fail on purpose: the 400, 403 and 500 pages.
    pytest.mark.urls("bills.tests.error_urls"),
    pytest.mark.usefixtures("failing_views_need_no_role"),
]

# Installed by scripts/test (npm ci, pinned by package-lock.json).
AXE_JS = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}

# By default axe leaves one-character text to a person ("too short to determine if it is
# actual text"); the Pending badge is usually a one-digit count, and a count is text.
# (axe.run's check options add to the defaults; axe.configure's would replace them.)
RUN_AXE = """
async (tags) => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    checks: {"color-contrast": {options: {ignoreLength: true}}},
  });
  return results.violations.map((rule) => ({
    id: rule.id,
    impact: rule.impact,
    help: rule.help,
    targets: rule.nodes.map((node) => node.target.join(" ")),
  }));
}
"""


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run scripts/test, which installs axe-core")
    return AXE_JS.read_text()


class Auditor:
    def __init__(self, page, axe_source: str) -> None:
        self.page = page
        self.axe_source = axe_source
        self.found: list[str] = []
        self.audited: list[str] = []

    def check(self) -> None:
        """Adds the current page's serious and critical violations, one line per element."""
        self.page.wait_for_load_state("load")
        # add_script_tag() inserts an inline <script>, which the console's policy
        # (script-src 'self') blocks. page.evaluate() runs through the DevTools protocol,
        # which the policy does not govern, so axe sees the page exactly as it is served,
        # policy included (a context with bypass_csp would apply what the policy blocks).
        self.page.evaluate(self.axe_source)
        address = urlsplit(self.page.url)
        path = f"{address.path}?{address.query}" if address.query else address.path
        where = f"{path} at {self.page.viewport_size['width']} px"
        for rule in self.page.evaluate(RUN_AXE, WCAG_21_AA):
            if rule["impact"] in BLOCKING:
                for target in rule["targets"]:
                    self.found.append(
                        f"{where}: {rule['id']} ({rule['impact']}, {rule['help']}): {target}"
                    )
        self.audited.append(where)

    def visit(self, url: str) -> None:
        self.page.goto(url)
        self.check()


@pytest.fixture
def auditor(page, axe_source):
    return Auditor(page, axe_source)


def test_the_audit_finds_what_axe_reports(page, auditor, live_server):
    # A page under the console's own policy and stylesheet, with an image nobody
    # described and text too pale to read, a one-digit count among it.
    policy = page.goto("/login/").headers["content-security-policy"]
    page.route(
        "**/axe-canary/",
        lambda route: route.fulfill(
            status=200,
            headers={"Content-Type": "text/html", "Content-Security-Policy": policy},
            body=(
                '<!doctype html><html lang="en"><title>Canary</title>'
                '<link rel="stylesheet" href="/static/css/console.css">'
                '<main><img src="/static/img/favicon.svg">'
                '<p><font color="#c8c8c8">Pale words</font> <font color="#c8c8c8">7</font></p>'
                "</main></html>"
            ),
        ),
    )

    auditor.visit("/axe-canary/")

    assert any("image-alt (critical" in line for line in auditor.found), auditor.found
    pale = [line for line in auditor.found if "color-contrast (serious" in line]
    assert len(pale) == 2, auditor.found


def is_a_page(response) -> bool:
    # Downloads (a bill's PDF, the exports) are files, not pages.
    return response.status_code == 200 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("width", [1400, 390])
def test_every_page_passes_wcag_21_aa(page, auditor, site, width):
    # The Exports page with a row in each state (progress bar, reasons, Cancel buttons).
    exports_in_every_state(site["organization"], site["member"])
    # Every console page a member can open by GET, listed from the URLconf.
    member_browser = Client()
    member_browser.force_login(site["member"])
    urls = all_pages(
        sampler(
            bill=site["bill"], order=site["order"], product=site["product"], user=site["admin"]
        ),
        admin=False,
    )
    console_pages = [p.url for p in urls if is_a_page(member_browser.get(p.url))]
    page.set_viewport_size({"width": width, "height": 900})

    auditor.visit("/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    auditor.check()
    auditor.visit("/no-such-page/")
    auditor.visit("/forbidden/")
    auditor.visit("/bad/")
    auditor.visit("/crash/")

    log_in(page, "alice")
    for url in console_pages:
        auditor.visit(url)
    # The Bills page with a filter it refuses, its error next to the field.
    auditor.visit("/bills/?status=paid")
    expect(page.locator(".bill-filters .errorlist")).to_be_visible()
    # An order form sent without accepting the service agreement.
    # (Not SMS: its Unpaid order replaces the form with a notice.)
    auditor.visit("/market/email/order/")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_text("Accept the service agreement")).to_be_visible()
    auditor.check()
    # Cancelling an order asks first (a POST from the orders page).
    auditor.visit("/orders/")
    page.get_by_role("button", name=f"Cancel order {site['order'].number}").click()
    expect(page.get_by_role("button", name="Yes, cancel this order")).to_be_visible()
    auditor.check()
    # A form whose CSRF token went stale answers the 403 "form has expired" page.
    logout_token = page.locator("form[action='/logout/'] input[name=csrfmiddlewaretoken]")
    logout_token.evaluate("input => input.value = 'stale'")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("This form has expired")).to_be_visible()
    auditor.check()

    assert auditor.found == [], "\n".join(auditor.found)
    assert len(auditor.audited) >= 16, auditor.audited


@pytest.mark.parametrize("width", [1400, 390])
def test_every_page_in_chinese_passes_wcag_21_aa(page, auditor, site, width, live_server):
    # Chinese labels are shorter, and the charts' month labels longer: a different layout.
    exports_in_every_state(site["organization"], site["member"])
    member_browser = Client()
    member_browser.force_login(site["member"])
    urls = all_pages(
        sampler(
            bill=site["bill"], order=site["order"], product=site["product"], user=site["admin"]
        ),
        admin=False,
    )
    console_pages = [p.url for p in urls if is_a_page(member_browser.get(p.url))]
    page.set_viewport_size({"width": width, "height": 900})
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": "zh-hans", "url": live_server.url}]
    )

    auditor.visit("/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    log_in_in_chinese(page, "alice")
    for url in console_pages:
        auditor.visit(url)
    # The Overview with its charts, its empty state and a filter it refuses; the Bills
    # page sorted, and with a filter it refuses.
    auditor.visit("/overview/?cycle_from=2026-01&cycle_to=2026-12")
    expect(page.locator("svg.chart").first).to_be_visible()
    auditor.visit("/overview/?cycle_from=2020-01&cycle_to=2020-02")
    auditor.visit("/overview/?cycle_from=2026-12&cycle_to=2026-01")
    auditor.visit("/bills/?sort=-amount")
    auditor.visit("/bills/?status=paid")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    assert auditor.found == [], "\n".join(auditor.found)
    assert {"/bills/", "/overview/", f"/bills/{site['bill'].pk}/", "/orders/", "/exports/"} <= {
        where.split(" at ")[0] for where in auditor.audited
    }


def log_in_in_chinese(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
