"""Export Data in the reader's language (issue 15, part 2): a member who reads the console in
Simplified Chinese gets Chinese headers, sheet name, totals and status words, with the data
as it was entered; so does the background job, which has no request; and the Exports page
gives each reader a failure's reason in their own language."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import lxml.html
import pytest
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from exports import jobs
from exports.models import Export
from exports.tasks import run_export

CHINESE_HEADERS = [
    "账单编号", "账单周期", "产品", "组织", "WhatsApp Business 账号", "AppKey", "应用 ID",
    "应用名称", "服务用量", "用量单位", "消费金额", "币种", "支付状态", "透支金额",
    "已冲减金额", "账单日期",
]  # fmt: skip


@pytest.fixture
def chinese_reader(client, member):
    """A member who chose 简体中文 in the top bar (saved on their profile)."""
    client.force_login(member)
    client.post("/language/", {"language": "zh-hans"})
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_chinese_reader_gets_chinese_headers_and_untouched_data(chinese_reader, bill):
    response = chinese_reader.get("/bills/export.xlsx")

    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(body(response)))
    assert workbook.sheetnames == ["账单"]
    rows = list(workbook["账单"].values)
    assert list(rows[0]) == CHINESE_HEADERS
    row = dict(zip(CHINESE_HEADERS, rows[1], strict=True))
    assert row["账单编号"] == bill.number
    assert row["账单周期"] == dt.datetime(2026, 10, 1)
    assert row["产品"] == "App Push" and row["AppKey"] == "acmekey0001"
    assert row["应用名称"] == "Acme Shop" and row["组织"] == "Acme Messaging"
    assert row["服务用量"] == 1_000_000 and row["用量单位"] == "messages"
    assert row["消费金额"] == 150 and row["币种"] == "USD"
    assert row["支付状态"] == "待支付"
    assert rows[-1][0] == "合计" and rows[-1][10] == 150
    assert workbook.properties.title == "Acme Messaging 的账单"
    assert workbook.properties.description == "Acme Messaging 的 1 张账单，筛选条件：全部账单。"


def test_the_english_reader_still_gets_english(member_client, bill):
    workbook = load_workbook(io.BytesIO(body(member_client.get("/bills/export.xlsx"))))

    rows = list(workbook["Bills"].values)
    assert rows[0][:2] == ("Bill Number", "Billing Cycle") and rows[1][12] == "Pending"
    assert rows[-1][0] == "Total" and workbook.properties.title == "Bills of Acme Messaging"


def test_the_csv_stays_utf8_with_a_bom_and_reads_in_chinese(chinese_reader, bill):
    data = body(chinese_reader.get("/bills/export.csv?status=pending"))

    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == CHINESE_HEADERS
    assert rows[1][0] == bill.number and rows[1][1] == "2026-10"
    assert rows[1][5] == "acmekey0001" and rows[1][10] == "150.00" and rows[1][12] == "待支付"


def test_the_background_export_is_written_in_its_requesters_language(
    chinese_reader, bill, settings
):
    settings.EXPORT_INLINE_MAX_ROWS = {"xlsx": 0, "csv": 0}
    chinese_reader.post("/bills/export.xlsx")
    export = Export.objects.get()
    assert export.language == "zh-hans"

    # The worker has no request and, here, English active: the export says Chinese.
    with translation.override("en"):
        run_export.call(str(export.pk))

    workbook = load_workbook(
        io.BytesIO(body(chinese_reader.get(f"/exports/{export.pk}/download/")))
    )
    rows = list(workbook["账单"].values)
    assert list(rows[0]) == CHINESE_HEADERS and rows[1][12] == "待支付"
    assert rows[1][5] == "acmekey0001"


def test_a_zip_holds_chinese_pdfs_and_a_chinese_index(chinese_reader, bill, settings, tmp_path):
    settings.STORAGES = settings.STORAGES | {
        "bill_pdfs": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "bill-pdfs"), "base_url": None},
        }
    }
    chinese_reader.post("/bills/export.zip")
    export = Export.objects.get()

    with translation.override("en"):
        run_export.call(str(export.pk))

    archive = zipfile.ZipFile(
        io.BytesIO(body(chinese_reader.get(f"/exports/{export.pk}/download/")))
    )
    text = PdfReader(io.BytesIO(archive.read(f"{bill.number}.pdf"))).pages[0].extract_text()
    assert "账单" in text and "2026年10月" in text
    index = archive.read("index.csv")
    assert index.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(index.decode("utf-8-sig"))))
    assert rows[0] == [
        "账单编号", "账单周期", "产品", "应用", "AppKey", "消费金额", "币种", "支付状态", "文件",
    ]  # fmt: skip
    assert rows[1] == [
        bill.number, "2026年10月", "App Push", "Acme Shop", "acmekey0001", "150.00", "USD",
        "待支付", f"{bill.number}.pdf",
    ]  # fmt: skip


def failure_on_the_page(client) -> str:
    tree = lxml.html.fromstring(client.get("/exports/").content)
    return " ".join(tree.xpath("//*[contains(@class, 'export-error')]")[0].text_content().split())


def test_a_failure_reads_in_the_language_of_whoever_reads_the_page(
    chinese_reader, second_member, bill, organization, member
):
    Export.objects.create(
        organization=organization,
        requested_by=member,
        requested_by_name=member.username,
        file_format=Export.Format.CSV,
        description="all bills",
        status=Export.Status.FAILED,
        error=jobs.NOT_STORED,
    )

    assert failure_on_the_page(chinese_reader).startswith("文件无法保存")
    # A colleague who reads the console in English, the same export.
    colleague = Client()
    colleague.force_login(second_member)
    assert failure_on_the_page(colleague).startswith("The file could not be stored")


def test_a_filter_no_longer_valid_fails_with_a_reason_in_chinese(chinese_reader, bill, settings):
    settings.EXPORT_INLINE_MAX_ROWS = {"xlsx": 0, "csv": 0}
    chinese_reader.post("/bills/export.csv?status=pending")
    Export.objects.update(query="status=paid")  # a status that no longer exists

    run_export.call(str(Export.objects.get().pk))

    assert Export.objects.get().status == Export.Status.FAILED
    assert failure_on_the_page(chinese_reader) == "筛选条件已失效。请从账单页面重新导出。"
