"""The console in Simplified Chinese (issue 15, part 1): every page a member can open reads
in Chinese, the language a user chooses follows them, and the catalogue is complete."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import lxml.html
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from api.models import KEY_SCHEME, ApiKey
from bills.models import Application, BillLine, Order, Organization, Product, ProductPrice, Profile
from bills.tests.fixtures import PASSWORD
from bills.tests.pages import all_pages, sampler
from exports.models import Export
from exports.tests.samples import exports_in_every_state

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"

# Words that stay as they are in Chinese product UI: product and brand names, codes,
# file formats, units of measure and the switcher's own "English".
ALLOWED_WORDS = {
    "AppKey", "WABA", "WhatsApp", "Business", "App", "Push", "Web", "Email", "SMS", "OTP",
    "ID", "IP", "CSV", "PDF", "ZIP", "Excel", "xlsx", "csv", "zip", "YYYY", "MM", "DD",
    "English", "KB", "bytes",
    # The API's docs name the HTTP header and the standard as they are written.
    "Authorization", "Bearer", "OpenAPI",
}  # fmt: skip
# Codes: currencies (USD), countries (DE), bill and order numbers' prefixes (BL, CN, ORD).
CODE = re.compile(r"^[A-Z]{2,4}$")
WORD = re.compile(r"[A-Za-z]{2,}")


def data_words() -> set[str]:
    """Words of what people and the catalogue typed (names, descriptions, units, reasons,
    time zones): data, shown as it was entered, in any language."""
    texts: list[str] = []
    for model, fields in [
        (Organization, ["name", "legal_name", "address", "time_zone", "billing_email"]),
        (Product, ["name", "description", "usage_unit"]),
        (ProductPrice, ["description"]),
        (Application, ["name", "app_key", "app_id"]),
        (BillLine, ["description", "unit"]),
        (Order, ["ordered_by__username"]),
        (Export, ["requested_by_name", "description", "error"]),
        # Members and Activity list people by their names and addresses.
        (get_user_model(), ["username", "email", "first_name", "last_name"]),
        # API keys by the name their owner gave and their visible prefix (bc_<prefix>).
        (ApiKey, ["name", "prefix"]),
    ]:
        for row in model.objects.values_list(*fields):
            texts.extend(str(value) for value in row)
    # The site fixture's credit note reason and users; what the tests below type.
    texts += ["Duplicate sends", "alice", "admin", "example", "paid", "yesterday", "wrong"]
    texts.append(f"{KEY_SCHEME}_")
    return {word for text in texts for word in WORD.findall(text)}


def english_words(html: bytes, allowed: set[str]) -> list[str]:
    """Words in English a reader would see or hear: text, titles, labels, placeholders."""
    tree = lxml.html.fromstring(html.decode())
    for hidden in tree.xpath("//script | //style | //noscript"):
        hidden.drop_tree()
    # The language switcher names each language in that language.
    for option in tree.xpath("//button[@class='language-option']"):
        option.drop_tree()
    texts = list(tree.itertext())
    for attribute in ("title", "aria-label", "placeholder", "alt", "data-label"):
        texts += tree.xpath(f"//@{attribute}")
    found = [word for text in texts for word in WORD.findall(text)]
    return sorted({w for w in found if w not in allowed and not CODE.match(w)})


def chinese_client(user=None, **kwargs) -> Client:
    """A browser whose Accept-Language asks for Chinese first."""
    browser = Client(headers={"accept-language": "zh-CN,zh;q=0.9,en;q=0.5"}, **kwargs)
    if user is not None:
        browser.force_login(user)
    return browser


@pytest.fixture
def compiled_catalogue():
    mo = CATALOGUE.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < CATALOGUE.stat().st_mtime:
        pytest.fail(f"{mo} is missing or older than the .po: run scripts/test or compilemessages")


def test_every_console_page_reads_in_chinese(site, compiled_catalogue, settings):
    exports_in_every_state(site["organization"], site["member"])
    settings.AXES_FAILURE_LIMIT = 1
    member = chinese_client(site["member"])
    pages = all_pages(
        sampler(
            bill=site["bill"], order=site["order"], product=site["product"], user=site["admin"]
        ),
        admin=False,
    )
    responses = {page.url: member.get(page.url) for page in pages}
    # Pages that only a request of a kind shows: forms with errors, confirmations, messages.
    responses |= {
        "/bills/?status=paid": member.get("/bills/?status=paid"),
        "/bills/?cycle_from=2026-12&cycle_to=2026-01": member.get(
            "/bills/?cycle_from=2026-12&cycle_to=2026-01"
        ),
        "/orders/?ordered_from=yesterday": member.get("/orders/?ordered_from=yesterday"),
        "POST /market/email/order/": member.post("/market/email/order/", {"amount": "-1"}),
        "POST /orders/<id>/cancel/": member.post(f"/orders/{site['order'].pk}/cancel/"),
        "POST cancel, confirmed": member.post(
            f"/orders/{site['order'].pk}/cancel/", {"confirm": "yes"}, follow=True
        ),
        "POST /bills/export.zip": member.post("/bills/export.zip", follow=True),
        "/bills/export.zip": member.get("/bills/export.zip"),
    }
    anonymous = chinese_client()
    responses["/login/"] = anonymous.get("/login/")
    responses["wrong password"] = anonymous.post(
        "/login/", {"username": "alice", "password": "wrong"}
    )
    responses["locked out"] = anonymous.post("/login/", {"username": "alice", "password": "wrong"})
    responses["404"] = member.get("/no-such-page/")
    allowed = ALLOWED_WORDS | data_words()

    untranslated = {}
    for where, response in responses.items():
        if "text/html" not in response.get("Content-Type", "") or not response.content:
            continue  # a redirect or a file
        if words := english_words(response.content, allowed):
            untranslated[where] = words

    assert responses["locked out"].status_code == 429
    assert responses["POST cancel, confirmed"].redirect_chain
    assert untranslated == {}
    assert sum("text/html" in r.get("Content-Type", "") for r in responses.values()) >= 20


def test_the_check_finds_english_where_there_is_some(member_client, bill):
    words = english_words(member_client.get("/bills/").content, ALLOWED_WORDS | data_words())

    assert {"Total", "consumption", "Apply", "filters"} <= set(words)


def test_the_bills_table_rows_read_in_chinese(member, bill, compiled_catalogue):
    response = chinese_client(member).get("/bills/")

    rows = lxml.html.fromstring(response.content).xpath("//table[contains(@class, 'bill-table')]")
    assert english_words(lxml.html.tostring(rows[0]), ALLOWED_WORDS | data_words()) == []


@pytest.mark.urls("bills.tests.error_urls")
def test_the_error_pages_read_in_chinese(member, compiled_catalogue, failing_views_need_no_role):
    browser = chinese_client(member, raise_request_exception=False)
    csrf_browser = chinese_client(member, enforce_csrf_checks=True)

    pages = {
        "400": browser.get("/bad/"),
        "403": browser.get("/forbidden/"),
        "403 csrf": csrf_browser.post("/logout/"),
        "404": browser.get("/no-such-page/"),
        "500": browser.get("/crash/"),
    }

    assert {name: r.status_code for name, r in pages.items()} == {
        "400": 400, "403": 403, "403 csrf": 403, "404": 404, "500": 500,
    }  # fmt: skip
    for name, response in pages.items():
        assert english_words(response.content, ALLOWED_WORDS) == [], name
        assert b'<html lang="zh-hans">' in response.content, name


def test_the_unavailable_page_reads_in_chinese(compiled_catalogue):
    from django.template import loader
    from django.utils import translation

    with translation.override("zh-hans"):
        html = loader.render_to_string("503.html").encode()

    assert english_words(html, ALLOWED_WORDS) == []
    assert "控制台暂时无法使用" in html.decode()


def test_english_stays_the_default(member_client):
    page = member_client.get("/bills/")

    assert b'<html lang="en">' in page.content
    assert "Total consumption" in page.content.decode()


def test_the_browser_language_is_the_first_guess(client, compiled_catalogue):
    page = chinese_client().get("/login/")

    assert b'<html lang="zh-hans">' in page.content
    assert "登录计费控制台" in page.content.decode()
    assert page["Content-Language"] == "zh-hans"


def test_a_member_switches_to_chinese_and_it_follows_them_to_another_browser(
    client, member, compiled_catalogue
):
    client.force_login(member)

    response = client.post("/language/", {"language": "zh-hans", "next": "/orders/"})

    assert response.status_code == 302 and response["Location"] == "/orders/"
    assert "订单管理" in client.get("/orders/").content.decode()
    assert Profile.objects.get(user=member).language == "zh-hans"
    # Another browser, which never chose: English by its Accept-Language until the login.
    elsewhere = Client(headers={"accept-language": "en"})
    assert "Log in to the Billing Console" in elsewhere.get("/login/").content.decode()
    elsewhere.post("/login/", {"username": member.username, "password": PASSWORD})
    page = elsewhere.get("/bills/").content.decode()
    assert '<html lang="zh-hans">' in page and "消费总额" in page
    # Logged out there, the login page stays in the language they chose.
    elsewhere.post("/logout/")
    assert "登录计费控制台" in elsewhere.get("/login/").content.decode()


def test_switching_back_to_english_is_remembered_too(client, member, compiled_catalogue):
    client.force_login(member)
    client.post("/language/", {"language": "zh-hans"})

    client.post("/language/", {"language": "en"})

    assert Profile.objects.get(user=member).language == "en"
    assert '<html lang="en">' in client.get("/bills/").content.decode()


def test_the_switcher_works_on_the_login_page_without_saving_anything(client, member):
    response = client.post("/language/", {"language": "zh-hans", "next": "/login/"})

    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert not Profile.objects.exists()


def test_an_unknown_language_changes_nothing(client, member):
    client.force_login(member)

    client.post("/language/", {"language": "xx", "next": "/bills/"})

    assert not Profile.objects.exists()
    assert '<html lang="en">' in client.get("/bills/").content.decode()


def test_switching_needs_the_forms_csrf_token(member):
    attacker_page = Client(enforce_csrf_checks=True)
    attacker_page.force_login(member)

    response = attacker_page.post("/language/", {"language": "zh-hans"})

    assert response.status_code == 403
    assert not Profile.objects.exists()


def test_switching_never_redirects_to_another_site(client, member):
    client.force_login(member)

    response = client.post(
        "/language/", {"language": "zh-hans", "next": "https://evil.example/phish"}
    )

    assert "evil.example" not in response.get("Location", "")


def test_a_get_does_not_switch(client, member):
    client.force_login(member)

    assert client.get("/language/?language=zh-hans").status_code == 405
    assert not Profile.objects.exists()


def test_the_switcher_is_a_labelled_form_in_the_top_bar(member_client):
    tree = lxml.html.fromstring(member_client.get("/bills/").content)

    [form] = tree.xpath("//header//form[@class='language-switch']")
    assert form.get("method") == "post" and form.get("action") == reverse("set_language")
    assert form.get("aria-label") == "Language"
    assert form.xpath(".//input[@name='csrfmiddlewaretoken']")
    buttons = {b.text_content(): b.get("aria-pressed") for b in form.xpath(".//button")}
    assert buttons == {"English": "true", "简体中文": "false"}


def test_each_language_is_named_in_itself(member, compiled_catalogue):
    tree = lxml.html.fromstring(chinese_client(member).get("/bills/").content)

    buttons = tree.xpath("//form[@class='language-switch']//button")
    assert {b.text_content(): b.get("aria-pressed") for b in buttons} == {
        "English": "false",
        "简体中文": "true",
    }
    assert [b.get("lang") for b in buttons] == ["en", "zh-Hans"]


def test_the_bill_page_shows_the_cycle_and_amounts_in_chinese(
    make_bill, application, member, compiled_catalogue
):
    bill = make_bill(application, cycle="2026-10")

    chinese = chinese_client(member).get(f"/bills/{bill.pk}/").content.decode()
    english = Client()
    english.force_login(member)
    page = english.get(f"/bills/{bill.pk}/").content.decode()

    assert "2026年10月" in chinese and "2026-10" in page
    # Amounts keep their minor units and the same grouping in both languages.
    assert "150.00 USD" in chinese and "150.00 USD" in page
    assert "1,000,000" in chinese and "1,000,000" in page


def test_the_bills_page_is_cached_per_language(member, bill, compiled_catalogue):
    english = Client()
    english.force_login(member)
    assert "Total consumption" in english.get("/bills/").content.decode()

    chinese = chinese_client(member).get("/bills/").content.decode()

    assert "消费总额" in chinese and "Total consumption" not in chinese
    assert "Total consumption" in english.get("/bills/").content.decode()


def test_the_admin_names_the_console_models_in_chinese(admin_user, compiled_catalogue):
    staff = chinese_client(admin_user)

    page = staff.get("/admin/bills/bill/").content.decode()

    assert "账单" in page and "订单与账单" in page


def test_status_choices_are_translated(compiled_catalogue):
    from django.utils import translation

    from bills.models import Bill

    with translation.override("zh-hans"):
        labels = [str(label) for _, label in Bill.Status.choices]
        order_types = {str(label) for _, label in Order.Type.choices}

    assert labels == ["待支付", "已结清"]
    assert "补缴" in order_types


def test_amounts_are_decimal_and_keep_their_minor_units_in_chinese():
    from django.utils import translation

    from bills.money import format_money

    with translation.override("zh-hans"):
        assert format_money(Decimal("1234567.5"), "USD") == "1,234,567.50"
        assert format_money(Decimal("1234.5"), "JPY") == "1,235"
        assert format_money(Decimal("0.1"), "KWD") == "0.100"
        assert format_money(Decimal("12345678901234.995"), "USD") == "12,345,678,901,235.00"


# The catalogue ---------------------------------------------------------------------------


PO_LINE = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) "(.*)"$')


def po_entries(path: Path) -> list[dict[str, str]]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr..., and flags."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict[str, str] = {"flags": ""}
        key = None
        for line in block.splitlines():
            if line.startswith("#~"):
                entry["obsolete"] = "yes"
            elif line.startswith("#,"):
                entry["flags"] += line[2:]
            elif match := re.match(
                r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) "(.*)"$', line
            ):
                key = match.group(1)
                entry[key] = match.group(2)
            elif line.startswith('"') and key:
                entry[key] += line[1:-1]
        if "msgid" in entry and "obsolete" not in entry:
            entries.append(entry)
    return entries


def msgids(path: Path) -> set[tuple[str, str, str]]:
    return {
        (e.get("msgctxt", ""), e["msgid"], e.get("msgid_plural", ""))
        for e in po_entries(path)
        if e["msgid"]
    }


def test_makemessages_would_add_nothing(tmp_path):
    if shutil.which("xgettext") is None:
        pytest.fail("xgettext is missing: install Debian's gettext (scripts/bootstrap.sh does)")
    root = Path(settings.BASE_DIR)
    copy = tmp_path / "console"
    for name in ("bills", "exports", "api", "billing_console", "templates", "locale"):
        shutil.copytree(root / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(root / "manage.py", copy / "manage.py")

    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete", "-v", "0"],
        cwd=copy,
        check=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "billing_console.settings"},
    )

    fresh, committed = msgids(copy / CATALOGUE.relative_to(root)), msgids(CATALOGUE)
    assert fresh - committed == set(), "run makemessages and translate the new entries"
    assert committed - fresh == set(), "entries no string uses any more: run makemessages"


def test_the_catalogue_has_no_fuzzy_or_empty_translation():
    entries = [e for e in po_entries(CATALOGUE) if e["msgid"]]

    assert len(entries) > 300
    assert [e["msgid"] for e in entries if "fuzzy" in e["flags"]] == []
    empty = [
        e["msgid"]
        for e in entries
        if not any(value for key, value in e.items() if key.startswith("msgstr"))
    ]
    assert empty == []


def test_the_translations_keep_their_placeholders():
    for entry in po_entries(CATALOGUE):
        wanted = set(re.findall(r"%\(\w+\)[sd]", entry["msgid"] + entry.get("msgid_plural", "")))
        for key, value in entry.items():
            if key.startswith("msgstr") and entry["msgid"]:
                assert set(re.findall(r"%\(\w+\)[sd]", value)) == wanted, entry["msgid"]
