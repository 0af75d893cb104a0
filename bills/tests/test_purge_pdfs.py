"""`manage.py purge_pdfs` deletes rendered PDFs nobody has had rendered for a while; a
bill downloaded after is rendered again."""

from __future__ import annotations

import io
import os
import time

from django.core.management import call_command

from bills import pdf
from bills.tests import test_pdf
from bills.tests.test_pdf import download

# test_pdf's fixtures: a PDF storage of the test's own (autouse), and the renders made.
pdf_storage = test_pdf.pdf_storage
renders = test_pdf.renders


def purge(*args: str) -> str:
    out = io.StringIO()
    call_command("purge_pdfs", *args, stdout=out)
    return out.getvalue()


def written_days_ago(storage, name: str, days: int) -> None:
    moment = time.time() - days * 24 * 3600
    os.utime(storage.path(name), (moment, moment))


def test_it_deletes_pdfs_older_than_the_retention_and_keeps_the_rest(
    member_client, make_bill, application, pdf_storage, renders
):
    old, recent = make_bill(application, cycle="2026-09"), make_bill(application, cycle="2026-10")
    for bill in (old, recent):
        download(member_client, bill)
    written_days_ago(pdf_storage, pdf.cache_key(old), 91)
    written_days_ago(pdf_storage, pdf.cache_key(recent), 89)

    output = purge()

    assert output.strip() == "Deleted 1 PDF(s) written more than 90 day(s) ago; kept 1."
    assert pdf_storage.listdir("")[0] == [recent.number]
    assert pdf_storage.exists(pdf.cache_key(recent))
    # The purged bill is simply rendered again.
    assert download(member_client, old).status_code == 200
    assert len(renders) == 3
    assert pdf_storage.exists(pdf.cache_key(old))


def test_the_age_can_be_given(member_client, bill, pdf_storage):
    download(member_client, bill)
    written_days_ago(pdf_storage, pdf.cache_key(bill), 8)

    assert "Deleted 0 PDF(s)" in purge("--older-than-days", "30")
    assert "Deleted 1 PDF(s) written more than 7 day(s) ago" in purge("--older-than-days", "7")
    assert pdf_storage.listdir("") == ([], [])


def test_an_empty_storage_is_fine(db, pdf_storage):
    assert purge().strip() == "Deleted 0 PDF(s) written more than 90 day(s) ago; kept 0."
