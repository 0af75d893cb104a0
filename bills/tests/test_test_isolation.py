"""What one test does to the process (the active language) does not reach the next test."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

from bills.models import AuditEvent


def test_a_chinese_reader_opens_a_page(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    response = client.get("/login/")

    assert b'<html lang="zh-hans">' in response.content
    # LocaleMiddleware left Chinese active in this thread, after the request.
    assert translation.get_language() == "zh-hans"


def test_the_next_test_reads_labels_in_the_default_language():
    # Runs after the test above (pytest keeps a file's order): its Chinese has not leaked.
    assert translation.get_language() == settings.LANGUAGE_CODE
    assert str(AuditEvent.Action.BILL_DOWNLOAD.label) == "Download Bill"
