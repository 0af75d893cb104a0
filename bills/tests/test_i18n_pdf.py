"""A member who reads the console in Simplified Chinese downloads a bill, or a credit note,
and gets it in Chinese, with real Chinese glyphs; an English reader's PDF is unchanged
(issue 15, part 2)."""

from __future__ import annotations

import hashlib
import re
import subprocess
from decimal import Decimal

import pytest
from django.utils import translation

from bills import pdf
from bills.models import AuditEvent
from bills.services import bill_clear, credit_note_issue
from bills.tests import test_pdf
from bills.tests.test_pdf import pdf_text

# The bill PDF's own tests' fixtures: a PDF storage of each test's own (autouse), the
# renders a test caused, what WeasyPrint fetched.
pdf_storage = test_pdf.pdf_storage
renders = test_pdf.renders
fetched = test_pdf.fetched

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def chinese_reader(client, member, compiled_catalogue):
    """A member who chose 简体中文 in the top bar (saved on their profile)."""
    client.force_login(member)
    client.post("/language/", {"language": "zh-hans"})
    return client


@pytest.fixture
def compiled_catalogue():
    from bills.tests.test_i18n import CATALOGUE

    mo = CATALOGUE.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < CATALOGUE.stat().st_mtime:
        pytest.fail(f"{mo} is missing or older than the .po: run scripts/test or compilemessages")


def fonts(data: bytes) -> list[dict[str, str]]:
    """`pdffonts`' table: each embedded font's name and whether it is embedded, a subset."""
    result = subprocess.run(["pdffonts", "-"], input=data, capture_output=True, check=True)
    rows = result.stdout.decode().splitlines()[2:]
    # name, type (may hold spaces), encoding, emb, sub, uni, object, generation
    return [
        {"name": row.split()[0], "emb": row.split()[-5], "sub": row.split()[-4]} for row in rows
    ]


def test_a_chinese_reader_downloads_the_bill_in_chinese(chinese_reader, bill):
    response = chinese_reader.get(f"/bills/{bill.pk}/pdf/")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "账单" in text and "账单周期" in text and "2026年10月" in text
    assert "待支付" in text and "应付金额" in text and "消费金额" in text
    # Amounts keep their minor units; data stays as it was typed.
    assert "150.00 USD" in text and "1,000,000" in text and "acmekey0001" in text
    assert "第 1 页，共 1 页" in text
    assert not re.search(r"\b(Bill|Billed|Page|Amount|Payment)\b", text)


def test_the_download_is_in_the_audit_trail_whatever_the_language(chinese_reader, bill, member):
    response = chinese_reader.get(f"/bills/{bill.pk}/pdf/")

    event = AuditEvent.objects.get(action=AuditEvent.Action.BILL_DOWNLOAD)
    assert event.actor == member and event.object_id == str(bill.pk)
    assert event.details["pdf_sha256"] == hashlib.sha256(response.content).hexdigest()


def test_chinese_is_printed_in_noto_sans_cjk_sc_embedded_as_a_subset(chinese_reader, bill):
    data = chinese_reader.get(f"/bills/{bill.pk}/pdf/").content

    cjk = [font for font in fonts(data) if "NotoSansCJK" in font["name"].replace("-", "")]
    assert cjk, fonts(data)
    # "ABCDEF+": a subset, only the glyphs the bill uses.
    assert all(font["emb"] == "yes" and font["sub"] == "yes" for font in cjk)
    assert all(re.match(r"^[A-Z]{6}\+", font["name"]) for font in cjk)


def test_chinese_labels_print_in_one_cjk_face_so_the_render_stays_quick(
    chinese_reader, bill, admin_user
):
    # A second CJK face (bold) is copied, subset and compressed on every render: it put the
    # Chinese PDF over 1.5x the English one (`bench/bench_pdf.py --cjk-bold`, issue 15).
    note = credit_note_issue(
        bill=bill, amount=Decimal("10.00"), reason="Duplicate sends", issued_by=admin_user
    )
    for url in (f"/bills/{bill.pk}/pdf/", f"/bills/{bill.pk}/credit-notes/{note.pk}/pdf/"):
        data = chinese_reader.get(url).content

        names = [font["name"].split("+")[-1] for font in fonts(data)]
        assert [name for name in names if "CJK" in name] == ["Noto-Sans-CJK-SC"], names
        # Amounts are Latin and keep their bold.
        assert "Noto-Sans-Bold" in names


def test_an_english_reader_still_gets_the_english_bill(member_client, bill):
    text = pdf_text(member_client.get(f"/bills/{bill.pk}/pdf/").content)

    assert "Bill" in text and "Billing cycle" in text and "2026-10" in text
    assert "Pending" in text and "150.00 USD" in text and "Page 1 of 1" in text
    assert not CJK.search(text)


def test_each_language_is_its_own_stored_file(
    client, member, bill, pdf_storage, renders, compiled_catalogue
):
    client.force_login(member)
    english = client.get(f"/bills/{bill.pk}/pdf/").content
    client.post("/language/", {"language": "zh-hans"})
    chinese = client.get(f"/bills/{bill.pk}/pdf/").content
    # Both again: each from the storage, never the other language's file.
    assert client.get(f"/bills/{bill.pk}/pdf/").content == chinese
    client.post("/language/", {"language": "en"})
    assert client.get(f"/bills/{bill.pk}/pdf/").content == english

    assert english != chinese and len(renders) == 2
    assert len(pdf_storage.listdir(bill.number)[1]) == 2


def test_the_cache_key_holds_the_language_and_its_translations(bill, monkeypatch):
    with translation.override("en"):
        english = pdf.cache_key(bill)
    with translation.override("zh-hans"):
        chinese = pdf.cache_key(bill)
        # An edited translation prints other words: a new file.
        monkeypatch.setattr(pdf, "_catalogue", lambda language: b"edited")
        edited = pdf.cache_key(bill)

    assert len({english, chinese, edited}) == 3


def test_render_bill_pdf_takes_the_language_without_a_request(bill, renders):
    with translation.override("en"):
        data = pdf.render_bill_pdf(bill, language="zh-hans")

    assert "账单" in pdf_text(data)
    assert '<html lang="zh-hans">' in renders[0]


def test_a_cleared_bill_says_so_in_chinese(chinese_reader, bill):
    bill_clear(bill=bill)

    text = pdf_text(chinese_reader.get(f"/bills/{bill.pk}/pdf/").content)

    assert "已结清" in text and "无需支付" in text and "待支付" not in text


def test_a_credit_note_downloads_in_chinese(chinese_reader, bill, admin_user):
    note = credit_note_issue(
        bill=bill, amount=Decimal("10.00"), reason="Duplicate sends", issued_by=admin_user
    )

    response = chinese_reader.get(f"/bills/{bill.pk}/credit-notes/{note.pk}/pdf/")

    text = pdf_text(response.content)
    assert response.status_code == 200
    assert "贷项通知单" in text and "冲减金额" in text and "2026年10月" in text
    assert "10.00 USD" in text and "Duplicate sends" in text
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CREDIT_NOTE_DOWNLOAD).exists()


def test_the_chinese_pdf_fetches_only_static_files(bill, fetched):
    with translation.override("zh-hans"):
        pdf.html_to_pdf(pdf.render_html(pdf.bill_document(bill)))

    assert fetched and all(url.startswith(pdf.BASE_URL) for url in fetched)


def test_a_translation_cannot_break_out_of_the_page_margins_css():
    css = pdf.page_margins('Bill %(number)s "} </style><img src=x>')

    assert "</style" not in css
    assert css.startswith('@page { @top-right { content: "Bill " string(bill-number) " \\"}')
