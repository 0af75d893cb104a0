from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.cache import cache, caches
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.test import Client
from django.utils import timezone, translation

from api.services import api_key_create
from bills import roles, summaries
from bills.audit import audit_record
from bills.demo import ensure_prices
from bills.models import Application, AuditEvent, Membership, Order, Organization, Product
from bills.services import LineItem, bill_issue, credit_note_issue, order_place
from exports.models import Export

PASSWORD = "correct-horse-battery-staple"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests create many users: PBKDF2's deliberate slowness would cost ~0.5 s each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def default_language():
    """LocaleMiddleware activates each request's language in the thread and leaves it
    there: a test whose client read a page in Chinese would hand Chinese labels to the
    next test's code outside a request. Each test starts and ends in the default."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def empty_cache(settings, tmp_path):
    """The Bills page's cached totals and content are keyed by organization id and
    bills_version, which restart from the same values in each test's rolled-back
    database: each test starts with empty caches (the totals in files of its own, as in
    production, and never the developer's)."""
    settings.CACHES = settings.CACHES | {
        summaries.SUMMARIES: settings.CACHES[summaries.SUMMARIES]
        | {"LOCATION": str(tmp_path / "bill-summaries")},
        # As in production, also when the suite runs with DEBUG on (where the console
        # does not cache pages, so that edited templates show).
        summaries.PAGES: settings.CACHES[summaries.PAGES]
        | {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    cache.clear()
    caches[summaries.PAGES].clear()  # in this process's memory, across tests


@pytest.fixture(autouse=True)
def export_storage(tmp_path, monkeypatch) -> FileSystemStorage:
    """Each test's export files in a directory of its own, never the developer's."""
    storage = FileSystemStorage(location=tmp_path / "exports", base_url=None)
    monkeypatch.setattr(Export._meta.get_field("file"), "storage", storage)
    return storage


def make_organization(slug: str, **fields) -> Organization:
    defaults = {
        "name": slug.title(),
        "currency": "USD",
        "legal_name": f"{slug.title()} Ltd.",
        "tax_id": f"TAX-{slug.upper()}",
        "address": "1 Main Street\nSpringfield",
        "country": "US",
        "billing_email": f"billing@{slug}.example",
    }
    return Organization.objects.create(slug=slug, **(defaults | fields))


def make_user(
    username: str,
    organization: Organization | None = None,
    role: Membership.Role = Membership.Role.OWNER,
):
    """A user, a member of `organization` if given: an Owner unless `role` says otherwise,
    as every member was before roles (the tests written then rely on it)."""
    user = get_user_model().objects.create_user(username, f"{username}@example.com", PASSWORD)
    if organization is not None:
        Membership.objects.create(user=user, organization=organization, role=role)
    return user


@pytest.fixture
def organization(db) -> Organization:
    return make_organization("acme", name="Acme Messaging")


@pytest.fixture
def other_organization(db) -> Organization:
    return make_organization("globex", name="Globex Corporation", currency="EUR", country="DE")


@pytest.fixture
def member(organization):
    return make_user("alice", organization, Membership.Role.OWNER)


@pytest.fixture
def second_member(organization):
    return make_user("bob", organization)


@pytest.fixture
def outsider(other_organization):
    return make_user("mallory", other_organization, Membership.Role.OWNER)


@pytest.fixture
def failing_views_need_no_role(monkeypatch):
    """bills/tests/error_urls.py's views that fail on purpose are not the console's:
    bills/roles.py refuses every URL it does not know, before they could fail."""
    for view in ("crash", "forbidden", "bad_request"):
        monkeypatch.setitem(
            roles.REQUIRED_ROLE, f"bills.tests.error_urls.{view}", Membership.Role.VIEWER
        )


@pytest.fixture
def products(db) -> dict[str, Product]:
    from bills.demo import ensure_products

    return ensure_products()


@pytest.fixture
def application(organization) -> Application:
    return Application.objects.create(
        organization=organization, name="Acme Shop", app_key="acmekey0001", app_id="100001"
    )


@pytest.fixture
def whatsapp_application(organization) -> Application:
    return Application.objects.create(
        organization=organization,
        name="Acme Support",
        app_key="acmekey0002",
        app_id="100002",
        whatsapp_business_account="104857600123456",
    )


@pytest.fixture
def other_application(other_organization) -> Application:
    return Application.objects.create(
        organization=other_organization, name="Globex App", app_key="globexkey01", app_id="900001"
    )


@pytest.fixture
def make_bill(products):
    """Issue a bill through the real service; lines default to one App Push line."""

    def make(
        application: Application,
        cycle: str = "2026-10",
        product: str = "app_push",
        lines: list[LineItem] | None = None,
        overdraft: str = "0.00",
    ):
        year, month = map(int, cycle.split("-"))
        billing_cycle = dt.date(year, month, 1)
        return bill_issue(
            organization=application.organization,
            product=products[product],
            application=application,
            billing_cycle=billing_cycle,
            bill_date=(billing_cycle + dt.timedelta(days=35)).replace(day=3),
            lines=lines
            or [
                LineItem("Push notifications delivered", 1_000_000, "messages", Decimal("0.00015"))
            ],
            overdraft_amount=Decimal(overdraft),
        )

    return make


@pytest.fixture
def bill(make_bill, application):
    return make_bill(application)


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


def role_client(organization: Organization, role: Membership.Role) -> Client:
    """A browser signed in as a new member of `organization` with `role`."""
    browser = Client()
    browser.force_login(make_user(f"{role}-of-{organization.slug}", organization, role))
    return browser


@pytest.fixture
def viewer_client(organization) -> Client:
    return role_client(organization, Membership.Role.VIEWER)


@pytest.fixture
def finance_client(organization) -> Client:
    return role_client(organization, Membership.Role.FINANCE)


@pytest.fixture
def owner_client(organization) -> Client:
    return role_client(organization, Membership.Role.OWNER)


@pytest.fixture
def site(bill, member, other_organization, admin_user, products):
    """A console with one of everything, so that each page shows a real object."""
    Membership.objects.create(user=member, organization=other_organization)  # the switcher
    audit_record(action=AuditEvent.Action.BILL_CLEARED, user=member, obj=bill)
    ensure_prices(products, {"USD", "EUR"})
    order = order_place(
        organization=bill.organization,
        product=products["sms"],
        order_type=Order.Type.TOP_UP,
        amount=Decimal("100.00"),
        ordered_by=member,
    )
    credit_note = credit_note_issue(
        bill=bill, amount=Decimal("10.00"), reason="Duplicate sends", issued_by=admin_user
    )
    export = Export.objects.create(
        organization=bill.organization,
        requested_by=member,
        requested_by_name=member.username,
        file_format=Export.Format.CSV,
        description="Status: Pending",
        query="status=pending",
        status=Export.Status.READY,
        total=1,
        done=1,
        size=5,
        file=Export._meta.get_field("file").storage.save("site.csv", ContentFile(b"a,b\n")),
        finished_at=timezone.now(),
        expires_at=timezone.now() + dt.timedelta(days=7),
    )
    api_key, _secret = api_key_create(
        organization=bill.organization, name="Month-end script", created_by=member
    )
    return {
        "api_key": api_key,
        "export": export,
        "bill": bill,
        "order": order,
        "credit_note": credit_note,
        "product": products["sms"],
        "organization": bill.organization,
        "admin": admin_user,
        "member": member,
    }


# The API (api/) ----------------------------------------------------------------------


@pytest.fixture
def api_key(organization, member):
    """(key, its secret) of Acme's, made by its owner alice."""
    return api_key_create(organization=organization, name="Month-end script", created_by=member)


@pytest.fixture
def api_client(api_key) -> Client:
    """A script with Acme's key: no session, the key in every request's header."""
    return Client(headers={"authorization": f"Bearer {api_key[1]}"})


# Production set-up, in subprocesses -------------------------------------------------


@pytest.fixture(scope="session")
def production_static(tmp_path_factory) -> Path:
    """`collectstatic` as production runs it (DEBUG off: hashed names, gzip and brotli
    copies), once for every test that serves static files the production way: compressing
    the API docs' large bundles makes it the slowest step of those tests. Read only."""
    static_root = tmp_path_factory.mktemp("production-static")
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env |= {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "billing.example.com",
        "STATIC_ROOT": str(static_root),
        "DJANGO_SETTINGS_MODULE": "billing_console.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity=0"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return static_root


# Real-browser tests ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, driven by Playwright (which cannot download its own browsers here)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls that tests
    # make next to it are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/test, which installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    yield page
    context.close()


def log_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
