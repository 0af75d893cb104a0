"""Chromium: a member switches the console to Simplified Chinese in the top bar, and it
stays Chinese through a reload, another page, logging out and logging in again; Download
Bill gives a Chinese PDF and Export Data a Chinese header row."""

from __future__ import annotations

import io
import subprocess

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from bills import pdf
from bills.models import Profile
from bills.tests.fixtures import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_switches_to_chinese_and_stays_there(page, chromium, live_server, member, bill):
    log_in(page, "alice")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_role("form", name="Language").get_by_role("button", name="简体中文").click()

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", name="账单", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="简体中文")).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(page.get_by_text("消费总额")).to_be_visible()
    page.get_by_role("link", name="订单管理").click()
    expect(page.get_by_role("heading", name="订单管理")).to_be_visible()
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", name="登录计费控制台")).to_be_visible()
    page.get_by_label("用户名").fill("alice")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="账单", exact=True)).to_be_visible()
    assert Profile.objects.get(user=member).language == "zh-hans"

    # Another browser, whose Accept-Language is English: Chinese once she logs in.
    elsewhere = chromium.new_context(base_url=live_server.url, locale="en-US")
    try:
        other = elsewhere.new_page()
        log_in(other, "alice")
        expect(other.locator("html")).to_have_attribute("lang", "zh-hans")
        expect(other.get_by_text("消费总额")).to_be_visible()
    finally:
        elsewhere.close()


def test_the_switcher_works_without_javascript(chromium, live_server, member):
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/login/")
        page.get_by_role("button", name="简体中文").click()
        expect(page.get_by_role("heading", name="登录计费控制台")).to_be_visible()
    finally:
        context.close()


def test_a_chinese_reader_downloads_a_chinese_bill_and_export(
    page, member, bill, settings, tmp_path
):
    settings.STORAGES = settings.STORAGES | {
        pdf.STORAGE_ALIAS: {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "bill-pdfs"), "base_url": None},
        }
    }
    log_in(page, "alice")
    page.get_by_role("form", name="Language").get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    page.goto(f"/bills/{bill.pk}/")
    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="下载账单").click()
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf_download.value.path()), "-"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "账单" in text and "2026年10月" in text and "150.00 USD" in text

    page.goto("/bills/")
    with page.expect_download() as sheet_download:
        page.get_by_role("link", name="导出数据").click()
    workbook = load_workbook(io.BytesIO(sheet_download.value.path().read_bytes()))
    header = [cell.value for cell in next(workbook["账单"].iter_rows(max_row=1))]
    assert header[:3] == ["账单编号", "账单周期", "产品"] and "支付状态" in header
