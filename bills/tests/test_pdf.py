"""A member downloads a bill as a PDF and finds on it everything the bill says."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import subprocess
import threading
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from pypdf import PdfReader

from bills import pdf
from bills.models import Application, AuditEvent
from bills.services import LineItem, bill_clear, credit_note_issue
from bills.tests.fixtures import make_organization, make_user

BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e"))


@pytest.fixture(autouse=True)
def pdf_storage(settings, tmp_path) -> Storage:
    """Each test starts with an empty PDF storage of its own."""
    settings.STORAGES = settings.STORAGES | {
        pdf.STORAGE_ALIAS: {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "bill-pdfs"), "base_url": None},
        }
    }
    return storages[pdf.STORAGE_ALIAS]


@pytest.fixture
def renders(monkeypatch):
    """The HTML of every bill WeasyPrint actually renders (cache misses), in order."""
    rendered = []
    real = pdf.html_to_pdf_within

    def counting(html: str, seconds: float) -> bytes:
        rendered.append(html)
        return real(html, seconds)

    monkeypatch.setattr(pdf, "html_to_pdf_within", counting)
    return rendered


@pytest.fixture
def fetched(monkeypatch):
    """Every URL WeasyPrint asks the fetcher for, refused or not, in this process (a
    download renders in a child process: call `pdf.html_to_pdf` to see its fetches)."""
    urls = []
    real = pdf.StaticFilesFetcher.fetch

    def recording(self, url, headers=None):
        urls.append(url)
        return real(self, url, headers)

    monkeypatch.setattr(pdf.StaticFilesFetcher, "fetch", recording)
    return urls


def pdf_text(data: bytes, layout: bool = True) -> str:
    """The PDF's text as poppler lays it out (or in reading order), bidi marks removed."""
    result = subprocess.run(
        ["pdftotext", *(["-layout"] if layout else []), "-enc", "UTF-8", "-", "-"],
        input=data,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode().translate(BIDI_CONTROLS)


def squeezed(text: str) -> str:
    """Text with every space and line break removed: long values wrap inside their cell."""
    return "".join(text.split())


def assert_field(text: str, label: str, value: str) -> None:
    assert re.search(rf"{re.escape(label)}\s+{re.escape(value)}", text), (label, value)


def embedded_fonts(data: bytes) -> set[str]:
    fonts = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            # Subset fonts are named like ABCDEF+Noto-Sans-Bold.
            fonts.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    return fonts


def download(client, bill):
    return client.get(f"/bills/{bill.pk}/pdf/")


def test_it_downloads_the_bill_as_a_pdf_attachment(member_client, bill):
    response = download(member_client, bill)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="BILL-202610-000001.pdf"'
    assert "private" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF-")


def test_every_field_of_the_bill_is_on_the_pdf(member_client, make_bill, whatsapp_application):
    bill = make_bill(
        whatsapp_application,
        product="whatsapp",
        lines=[
            LineItem("Marketing conversations", 18_000, "conversations", Decimal("0.025")),
            LineItem("Utility conversations", 42_000, "conversations", Decimal("0.004")),
        ],
        overdraft="120.00",
    )

    text = pdf_text(download(member_client, bill).content)

    assert_field(text, "Bill number", "BILL-202610-000001")
    assert_field(text, "Bill date", "2026-11-03")
    assert_field(text, "Billing cycle", "2026-10")
    assert_field(text, "Product", "WhatsApp Business")
    assert_field(text, "Organization", "Acme Messaging")
    assert_field(text, "Application", "Acme Support")
    assert_field(text, "Application ID", "100002")
    assert_field(text, "AppKey", "acmekey0002")
    assert_field(text, "WhatsApp Business", "104857600123456")
    assert_field(text, "Payment status", "Pending")
    # The payer's tax information, as snapshotted when the bill was issued.
    assert_field(text, "Legal name", "Acme Ltd.")
    assert_field(text, "Tax ID", "TAX-ACME")
    assert_field(text, "Address", "1 Main Street")
    assert "Springfield" in text
    assert_field(text, "Country", "US")
    assert_field(text, "Billing email", "billing@acme.example")
    # The seller: the platform's legal entity, from settings.
    assert "Cloud Messaging Platform Pte. Ltd." in text
    assert "GST 201912345K" in text
    # The usage lines, then the totals.
    assert re.search(r"Description\s+Quantity\s+Unit\s+Unit price\s+Amount", text)
    assert re.search(r"Marketing conversations\s+18,000\s+conversations\s+0\.025\s+450\.00", text)
    assert re.search(r"Utility conversations\s+42,000\s+conversations\s+0\.004\s+168\.00", text)
    assert "Amounts in USD" in text
    assert_field(text, "Service usage", "60,000 conversations")
    assert_field(text, "Consumption amount", "618.00 USD")
    assert_field(text, "Covered by prepaid balance", "498.00 USD")
    assert_field(text, "Overdraft amount", "120.00 USD")
    assert_field(text, "Amount due", "120.00 USD")
    assert_field(text, "Currency", "USD")
    assert re.search(r"Page 1 of 1", text)


def test_a_bill_without_whatsapp_account_leaves_the_row_out(member_client, bill):
    text = pdf_text(download(member_client, bill).content)

    assert "WhatsApp Business" not in text
    assert_field(text, "Product", "App Push")


def test_the_status_mark_shows_pending_then_cleared(member_client, make_bill, application):
    bill = make_bill(application, overdraft="50.00")

    pending = pdf_text(download(member_client, bill).content)
    assert re.search(r"^\s*PENDING\s*$", pending, re.MULTILINE)
    assert "CLEARED" not in pending
    assert_field(pending, "Amount due", "50.00 USD")

    bill_clear(bill=bill)
    cleared = pdf_text(download(member_client, bill).content)

    cleared_on = bill.cleared_at.date().isoformat()  # the organization's time zone is UTC
    assert re.search(rf"^\s*CLEARED on {cleared_on}\s*$", cleared, re.MULTILINE)
    assert "PENDING" not in cleared
    assert_field(cleared, "Payment status", f"Cleared on {cleared_on}")
    assert_field(cleared, "Amount due", "0.00 USD")


def test_the_pdf_is_archival_pdf_a_with_title_author_and_subject(member_client, bill):
    reader = PdfReader(io.BytesIO(download(member_client, bill).content))

    assert reader.metadata.title == "Bill BILL-202610-000001"
    assert reader.metadata.author == "Cloud Messaging Platform Pte. Ltd."
    assert reader.metadata.subject == "App Push bill for Acme Messaging, billing cycle 2026-10"
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert re.search(r"pdfaid:part(>|=\")3", xmp)
    assert re.search(r"pdfaid:conformance(>|=\")B", xmp)
    assert "/OutputIntents" in reader.trailer["/Root"]
    assert reader.pdf_header == "%PDF-1.7"


def test_hostile_names_print_as_text_and_fetch_nothing(
    member_client, make_bill, organization, application, fetched
):
    hostile = {
        "name": '<img src="file:///etc/passwd"> Acme',
        "legal_name": '<link rel=attachment href="file:///etc/passwd">',
        "tax_id": '<style>@import "http://169.254.169.254/";</style>',
        "address": "</td></tr></table><h1>Injected</h1>",
    }
    for field, value in hostile.items():
        setattr(organization, field, value)
    organization.save()
    application.name = '<object data="http://127.0.0.1:5432/"></object>'
    application.save()
    bill = make_bill(application)

    data = download(member_client, bill).content

    # In reading order, a value that wraps inside its cell stays in one piece.
    text = squeezed(pdf_text(data, layout=False))
    for value in [*hostile.values(), application.name]:
        assert squeezed(value) in text
    assert PdfReader(io.BytesIO(data)).attachments == {}
    # The stylesheet is the only thing the PDF ever asks for (the same render, in this
    # process, where the fetcher is watched).
    pdf.html_to_pdf(pdf.render_html(pdf.bill_document(bill)))
    assert fetched == ["https://bill-pdf.invalid/static/css/bill_pdf.css"]


def test_chinese_arabic_and_emoji_names_render_with_real_glyphs(
    member_client, make_bill, organization, application
):
    organization.name = "云通信科技"
    organization.save()
    application.name = "تطبيق المتجر"
    application.save()
    launch = LineItem("Launch 🚀 campaign", 10, "messages", Decimal(1))
    bill = make_bill(application, lines=[launch])

    data = download(member_client, bill).content

    text = pdf_text(data)
    assert "云通信科技" in text
    assert "تطبيق" in text and "المتجر" in text
    assert "🚀" in text
    # A character no font covers would still extract as text but print as an empty box:
    # the fonts that cover these scripts must be the ones embedded.
    fonts = embedded_fonts(data)
    assert any(font.startswith("Noto-Sans-CJK") for font in fonts), fonts
    assert any(font.startswith("Noto-Sans-Arabic") for font in fonts), fonts
    assert any(font.startswith("Noto-Color-Emoji") for font in fonts), fonts


def test_threads_render_side_by_side_without_mixing_fonts(make_bill, organization, application):
    # Production runs gunicorn's threaded workers: renders share one process.
    organization.name = "云通信科技"
    organization.save()
    application.name = "تطبيق 🚀"
    application.save()
    html = pdf.render_html(pdf.bill_document(make_bill(application)))
    alone = pdf.html_to_pdf(html)
    together = []
    threads = [
        threading.Thread(target=lambda: together.append(pdf.html_to_pdf(html))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(together) == 4
    for data in together:
        assert pdf_text(data) == pdf_text(alone)
        assert embedded_fonts(data) == embedded_fonts(alone)


def test_a_latin_bill_embeds_one_family_and_no_fallback_font(member_client, bill):
    # Subsetting each embedded font is most of the render time: a bill that needs no CJK,
    # Arabic or emoji glyph must not pay for those fonts.
    assert embedded_fonts(download(member_client, bill).content) == {"Noto-Sans", "Noto-Sans-Bold"}


def test_a_long_bill_breaks_across_pages_and_repeats_the_table_header(
    member_client, make_bill, application
):
    lines = [
        LineItem(f"SMS to destination {n:03d}", 1000 + n, "messages", Decimal("0.0079"))
        for n in range(1, 91)
    ]
    bill = make_bill(application, product="sms", lines=lines)

    data = download(member_client, bill).content

    page_count = len(PdfReader(io.BytesIO(data)).pages)
    pages = pdf_text(data).split("\f")[:page_count]
    assert page_count >= 3
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {page_count}" in page
        if "SMS to destination" in page:
            assert re.search(r"Description\s+Quantity\s+Unit\s+Unit price\s+Amount", page)
    for later in pages[1:]:
        assert "Bill BILL-202610-000001, continued" in later
    text = "".join(pages)
    assert all(f"SMS to destination {n:03d}" in text for n in range(1, 91))
    assert_field(pages[-1], "Consumption amount", f"{bill.consumption_amount:,} USD")


def test_a_bill_too_long_for_a_pdf_is_refused_with_a_message(
    member_client, make_bill, application, renders
):
    lines = [
        LineItem(f"Line {n}", 1, "messages", Decimal("0.01")) for n in range(pdf.MAX_LINES + 1)
    ]
    bill = make_bill(application, product="sms", lines=lines)

    response = download(member_client, bill)

    assert response.status_code == 422
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "This bill is too long for a PDF" in page
    assert f"has {pdf.MAX_LINES + 1} usage lines; a PDF holds at most {pdf.MAX_LINES}" in page
    assert renders == []
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.BILL_DOWNLOAD).exists()


def test_a_second_download_is_served_from_the_cache(member_client, bill, renders):
    first = download(member_client, bill)
    second = download(member_client, bill)

    assert len(renders) == 1
    assert second.content == first.content


def test_the_pdf_is_kept_in_the_storage_under_the_bills_number(member_client, bill, pdf_storage):
    data = download(member_client, bill).content

    [directory], _ = pdf_storage.listdir("")
    [name] = pdf_storage.listdir(directory)[1]
    assert directory == "BILL-202610-000001"
    assert f"{directory}/{name}" == pdf.cache_key(bill)
    assert pdf_storage.open(pdf.cache_key(bill)).read() == data


def test_a_pdf_another_server_rendered_is_served_without_rendering(
    member_client, bill, pdf_storage, renders
):
    theirs = pdf.html_to_pdf(pdf.render_html(pdf.bill_document(bill)))
    pdf_storage.save(pdf.cache_key(bill), ContentFile(theirs))

    response = download(member_client, bill)

    assert response.content == theirs
    assert renders == []


def test_a_file_cut_short_is_rendered_again_and_replaced(member_client, bill, pdf_storage, renders):
    # What a server that died while writing leaves: the start of a PDF, no trailer.
    whole = pdf.html_to_pdf(pdf.render_html(pdf.bill_document(bill)))
    pdf_storage.save(pdf.cache_key(bill), ContentFile(whole[:1000]))

    first = download(member_client, bill)
    second = download(member_client, bill)

    assert len(renders) == 1
    assert "BILL-202610-000001" in pdf_text(first.content)
    assert second.content == first.content
    assert pdf_storage.open(pdf.cache_key(bill)).read() == first.content
    assert pdf_storage.listdir("BILL-202610-000001")[1] == [pdf.cache_key(bill).split("/")[1]]


def test_a_storage_that_cannot_be_written_costs_a_render_not_the_download(
    member_client, bill, settings, tmp_path, renders, caplog
):
    (tmp_path / "not-a-directory").write_text("")
    settings.STORAGES = settings.STORAGES | {
        pdf.STORAGE_ALIAS: {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "not-a-directory"), "base_url": None},
        }
    }

    first = download(member_client, bill)
    second = download(member_client, bill)

    assert first.status_code == second.status_code == 200
    assert "BILL-202610-000001" in pdf_text(second.content)
    assert len(renders) == 2
    assert "Cannot write BILL-202610-000001/" in caplog.text


def test_every_download_is_in_the_audit_trail(member_client, member, bill, organization):
    data = download(member_client, bill).content
    download(member_client, bill)  # from the cache: audited all the same

    events = AuditEvent.objects.filter(action=AuditEvent.Action.BILL_DOWNLOAD)
    assert events.count() == 2
    event = events.first()
    assert (event.actor, event.organization) == (member, organization)
    assert (event.object_type, event.object_id, event.object_repr) == (
        "bill",
        str(bill.pk),
        "BILL-202610-000001",
    )
    assert event.details == {"status": "pending", "pdf_sha256": hashlib.sha256(data).hexdigest()}


def test_a_changed_bill_renders_anew(member_client, bill, application, renders, admin_user):
    download(member_client, bill)

    bill_clear(bill=bill)
    cleared = download(member_client, bill)
    application.name = "Acme Shop Renamed"
    application.save()
    renamed = download(member_client, bill)
    download(member_client, bill)
    # A credit note, written by the database's trigger, shows on the next PDF.
    note = credit_note_issue(
        bill=bill, amount=Decimal("5.00"), reason="Duplicate sends", issued_by=admin_user
    )
    corrected = download(member_client, bill)

    assert len(renders) == 4
    assert "CLEARED" in pdf_text(cleared.content)
    assert "Acme Shop Renamed" in pdf_text(renamed.content)
    assert note.number in pdf_text(corrected.content)


def test_the_cache_key_covers_the_layout(bill, monkeypatch):
    before = pdf.cache_key(bill)

    monkeypatch.setattr(pdf, "layout_version", lambda: "a new template")

    assert pdf.cache_key(bill) != before


def test_another_organizations_bill_is_a_404_and_nothing_is_rendered(
    client, outsider, bill, renders
):
    client.force_login(outsider)

    theirs = download(client, bill)
    missing = client.get("/bills/999999/pdf/")

    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert renders == []
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.BILL_DOWNLOAD).exists()


def test_a_member_of_both_organizations_gets_the_bill_only_in_its_own(
    client, bill, other_organization, renders
):
    user = make_user("erin", other_organization)
    client.force_login(user)

    assert download(client, bill).status_code == 404
    assert renders == []


def test_an_anonymous_visitor_is_sent_to_log_in(client, bill, renders):
    response = download(client, bill)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert renders == []


def test_the_bill_list_and_detail_link_to_the_pdf(member_client, bill):
    for url in ("/bills/", f"/bills/{bill.pk}/"):
        page = member_client.get(url).content.decode()

        assert re.search(rf'<a [^>]*href="/bills/{bill.pk}/pdf/">Download Bill\b', page), url


def test_render_bill_pdf_needs_no_request(bill, renders):
    # The renderer is plain code: the bench and other callers use it without a view.
    data = pdf.render_bill_pdf(bill)

    assert data.startswith(b"%PDF-")
    assert pdf.render_bill_pdf(bill) == data
    assert len(renders) == 1


def test_it_uses_the_other_organizations_currency(client, other_application, make_bill):
    bill = make_bill(other_application)
    client.force_login(make_user("gina", other_application.organization))

    text = pdf_text(download(client, bill).content)

    assert_field(text, "Consumption amount", "150.00 EUR")
    assert "Amounts in EUR" in text


def test_organizations_in_other_time_zones_see_their_clearing_date(client, make_bill, products):
    organization = make_organization("tokyo", currency="JPY", time_zone="Asia/Tokyo")
    application = Application.objects.create(
        organization=organization, name="Tokyo App", app_key="tokyokey01", app_id="300001"
    )
    bill = make_bill(application)
    # 20:00 UTC on the 9th is already the 10th in Tokyo.
    bill_clear(bill=bill, cleared_at=dt.datetime(2026, 11, 9, 20, 0, tzinfo=dt.UTC))
    client.force_login(make_user("hana", organization))

    text = pdf_text(download(client, bill).content)

    assert_field(text, "Payment status", "Cleared on 2026-11-10")
    assert_field(text, "Consumption amount", "150 JPY")


def test_every_template_a_pdf_includes_is_part_of_its_cache_key():
    """An edit to an included template must render the PDFs anew, like one to the page's."""
    from django.template.loader import get_template

    included = set()
    for name in pdf.LAYOUT_TEMPLATES:
        source = get_template(name).template.source
        included |= set(re.findall(r'{%\s*include\s+"([^"]+)"', source))

    assert included <= set(pdf.LAYOUT_TEMPLATES)
