"""The bill PDF's URL fetcher serves the project's static files and data: URLs, nothing else."""

from __future__ import annotations

import io
import socket

import pytest
from pypdf import PdfReader

from bills.pdf import BASE_URL, StaticFilesFetcher, URLRefused, html_to_pdf

STATIC = "https://bill-pdf.invalid/static/"


@pytest.fixture
def fetcher():
    return StaticFilesFetcher()


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test loudly."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"the PDF tried to open a connection: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "http://169.254.169.254/",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://127.0.0.1:5432/",
        "https://example.com/style.css",
        "ftp://example.com/file",
        "/static/../settings.py",
        "static/css/bill_pdf.css",
        f"{STATIC}../billing_console/settings.py",
        f"{STATIC}css/../../billing_console/settings.py",
        f"{STATIC}%2e%2e/billing_console/settings.py",
        f"{STATIC}css/%2E%2E/%2e%2e/manage.py",
        f"{STATIC}..%2fbilling_console/settings.py",
        f"{STATIC}css\\..\\..\\manage.py",
        f"{STATIC}/etc/passwd",
        f"{STATIC}css/missing.css",
        f"{STATIC}css/bill_pdf.css?redirect=http://169.254.169.254/",
        "https://bill-pdf.invalid/settings.py",
        "https://bill-pdf.invalid@169.254.169.254/static/css/bill_pdf.css",
        "https://bill-pdf.invalid.evil.example/static/css/bill_pdf.css",
        "http://bill-pdf.invalid/static/css/bill_pdf.css",
    ],
)
def test_it_refuses_everything_but_static_files(fetcher, no_network, url):
    with pytest.raises(URLRefused):
        fetcher.fetch(url)
    assert no_network == []


def test_every_way_weasyprint_calls_the_fetcher_is_refused_the_same(fetcher, no_network):
    # WeasyPrint calls the fetcher itself (weasyprint.urls.fetch) or its urllib-style
    # open(): both must reach fetch() above, never urllib's own file or HTTP handlers.
    for call in (fetcher, fetcher.open):
        with pytest.raises(URLRefused):
            call("file:///etc/passwd")
        with pytest.raises(URLRefused):
            call("http://169.254.169.254/latest/meta-data/")
    assert no_network == []


def test_it_serves_a_real_static_file(fetcher, settings):
    assert BASE_URL == STATIC  # the template's relative URLs resolve here
    response = fetcher.fetch(f"{STATIC}css/bill_pdf.css")

    assert response.content_type == "text/css"
    css = response.read()
    assert b"@page" in css
    assert css == (settings.BASE_DIR / "static" / "css" / "bill_pdf.css").read_bytes()


def test_it_serves_data_urls(fetcher, no_network):
    response = fetcher.fetch("data:text/plain;base64,SGVsbG8=")

    assert response.read() == b"Hello"


def test_a_symlink_out_of_the_static_directory_is_refused(fetcher, settings, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("database password")
    static = tmp_path / "static"
    static.mkdir()
    (static / "notes.txt").write_text("public notes")
    (static / "leak.css").symlink_to(secret)
    settings.STATICFILES_DIRS = [static]

    assert fetcher.fetch(f"{STATIC}notes.txt").read() == b"public notes"
    with pytest.raises(URLRefused):
        fetcher.fetch(f"{STATIC}leak.css")


def test_raw_html_asking_for_files_and_hosts_still_gets_nothing(no_network):
    # Templates escape user strings; this is the fetcher on its own, should one ever slip.
    html = """<html><head>
      <link rel="stylesheet" href="file:///etc/passwd">
      <link rel="stylesheet" href="http://169.254.169.254/latest/meta-data/">
      <link rel="attachment" href="file:///etc/passwd">
      <style>
        @import url("http://127.0.0.1:5432/");
        @font-face { font-family: X; src: url("file:///usr/share/fonts/truetype/dejavu/x.ttf"); }
      </style>
    </head><body>
      <img src="file:///etc/passwd"><img src="/static/../settings.py">
      <p>Still a PDF</p>
    </body></html>"""

    data = html_to_pdf(html)

    reader = PdfReader(io.BytesIO(data))
    assert "Still a PDF" in reader.pages[0].extract_text()
    assert reader.attachments == {}
    assert b"root:" not in data
    assert no_network == []
