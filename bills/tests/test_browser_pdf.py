"""A member clicks "Download Bill" in a real Chromium and gets the bill's PDF."""

from __future__ import annotations

import pytest

from bills import pdf
from bills.tests.fixtures import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_download_bill_saves_a_pdf_named_after_the_bill(page, member, bill, settings, tmp_path):
    settings.STORAGES = settings.STORAGES | {
        pdf.STORAGE_ALIAS: {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "bill-pdfs"), "base_url": None},
        }
    }
    log_in(page, member.username, PASSWORD)

    row = page.locator("table tbody tr", has_text=bill.application.app_key)
    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download Bill").click()
    download = download_info.value

    assert download.suggested_filename == "BILL-202610-000001.pdf"
    assert download.path().read_bytes().startswith(b"%PDF-")
