"""Every console page in a real Chromium under the strict CSP: not one violation reported."""

from __future__ import annotations

import pytest

from bills.models import Membership
from bills.tests.conftest import log_in
from bills.tests.pages import all_pages

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


@pytest.fixture
def console(bill, member, other_organization, admin_user):
    Membership.objects.create(user=member, organization=other_organization)
    return {"bill": bill, "organization": bill.organization, "admin": admin_user}


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


def test_no_console_page_breaks_the_policy(page, watcher, console):
    console_pages = [
        p.url
        for p in all_pages(lambda name, parameter: console["bill"].pk, admin=False)
        if p.name not in {"logout", "bills:switch_organization", "login"}
    ]

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
    assert len(console_pages) >= 5


def test_the_admin_works_under_the_policy(page, watcher, console):
    ids = {key: obj.pk for key, obj in console.items()}

    page.goto("/admin/login/")
    page.get_by_label("Username").fill(console["admin"].username)
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    watcher.collect()
    for url in ADMIN_PAGES:
        watcher.visit(url.format(**ids))
    # The actions bar is JavaScript: select a bill, pick the action, run it.
    watcher.visit("/admin/bills/bill/")
    page.locator("input.action-select").first.check()
    assert page.get_by_text("1 of 1 selected").is_visible()  # actions.js ran
    page.get_by_label("Action:").select_option(label="Mark selected bills as Cleared")
    page.get_by_role("button", name="Run").click()
    watcher.collect()

    assert "1 bill(s) marked Cleared." in page.content()
    assert watcher.found == []
