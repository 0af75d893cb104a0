"""Every console page in a real Chromium under the strict CSP: not one violation reported."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from bills.tests.fixtures import log_in
from bills.tests.pages import all_pages, sampler

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Playwright adds this before any page script runs (through the DevTools protocol, which
# the page's CSP does not govern), so it hears every violation the page causes.
LISTEN_FOR_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} ` +
    `at ${event.sourceFile || location.pathname}:${event.lineNumber}`
  );
});
"""

# What the Django admin's JavaScript drives: inlines, prepopulated slugs, date
# hierarchies, filters, the actions bar, password widgets.
ADMIN_PAGES = [
    "/admin/",
    "/admin/bills/bill/",
    "/admin/bills/bill/{bill}/change/",
    "/admin/bills/organization/add/",
    "/admin/bills/organization/{organization}/change/",
    "/admin/bills/auditevent/?action__exact=bill_cleared",
    "/admin/auth/user/{admin}/change/",
    "/admin/axes/accessattempt/",
]


class ViolationWatcher:
    def __init__(self, page):
        self.page = page
        self.found: list[str] = []
        page.context.add_init_script(LISTEN_FOR_VIOLATIONS)
        page.on("console", self._console)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.found.append(f"{self.page.url}: console: {message.text}")

    def collect(self) -> None:
        """Adds what the current page reported; call after each navigation."""
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(50)  # violation events are dispatched asynchronously
        for violation in self.page.evaluate("window.__cspViolations || []"):
            self.found.append(f"{self.page.url}: {violation}")

    def visit(self, url: str) -> None:
        self.page.goto(url)
        self.collect()


@pytest.fixture
def watcher(page):
    return ViolationWatcher(page)


def test_the_watcher_hears_a_violation(page, watcher, live_server):
    policy = page.goto("/login/").headers["content-security-policy"]
    page.route(
        "**/csp-canary/",
        lambda route: route.fulfill(
            status=200,
            headers={"Content-Type": "text/html", "Content-Security-Policy": policy},
            body='<p style="color: red">styled</p><script>document.title = "ran"</script>',
        ),
    )

    watcher.visit("/csp-canary/")

    assert page.title() != "ran"
    assert len(watcher.found) >= 2
    assert any("style-src" in violation for violation in watcher.found)
    assert any("script-src" in violation for violation in watcher.found)


def is_a_page(response) -> bool:
    # Downloads (a bill's PDF) are files, not pages: a browser saves them, renders nothing.
    return response.status_code == 200 and response["Content-Type"].startswith("text/html")


def test_no_console_page_breaks_the_policy(page, watcher, site):
    # Every console page a member can open (POST-only addresses answer 405 and are left
    # to the forms that use them).
    member_browser = Client()
    member_browser.force_login(site["member"])
    urls = all_pages(
        sampler(
            bill=site["bill"],
            order=site["order"],
            product=site["product"],
            user=site["admin"],
        ),
        admin=False,
    )
    console_pages = [p.url for p in urls if is_a_page(member_browser.get(p.url))]

    watcher.visit("/login/")
    watcher.visit("/no-such-page/")
    log_in(page, "alice")
    watcher.collect()
    for url in console_pages:
        watcher.visit(url)
        # The stylesheet was allowed: the console's colours are on the page.
        assert page.evaluate("getComputedStyle(document.documentElement).backgroundColor") == (
            "rgb(245, 247, 251)"
        ), url
    watcher.visit("/no-such-page/")
    page.get_by_role("link", name="Go to your bills").click()
    watcher.collect()
    page.get_by_label("Organization").select_option(label="Globex Corporation")
    page.get_by_role("button", name="Switch").click()
    watcher.collect()
    page.get_by_role("button", name="Log out").click()
    watcher.collect()

    assert "/login/" in page.url
    assert watcher.found == []
    assert len(console_pages) >= 6  # bills, a bill, market, an order form, orders, an order


def test_the_admin_works_under_the_policy(page, watcher, site):
    ids = {key: obj.pk for key, obj in site.items() if key in {"bill", "organization", "admin"}}

    page.goto("/admin/login/")
    page.get_by_label("Username").fill(site["admin"].username)
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    watcher.collect()
    for url in ADMIN_PAGES:
        watcher.visit(url.format(**ids))
    # The actions bar is JavaScript: select a bill, pick the action, run it.
    watcher.visit("/admin/bills/bill/")
    page.locator("input.action-select").first.check()
    expect(page.get_by_text("1 of 1 selected")).to_be_visible()  # actions.js ran
    page.get_by_label("Action:").select_option(label="Mark selected bills as Cleared")
    page.get_by_role("button", name="Run").click()
    watcher.collect()

    assert "1 bill(s) marked Cleared." in page.content()
    assert watcher.found == []
