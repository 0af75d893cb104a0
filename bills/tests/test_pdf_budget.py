"""A bill PDF has a time budget: past it the render is stopped and the member is told the
bill is too large to print. Two downloads of the same new bill render it once."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from decimal import Decimal
from pathlib import Path

import lxml.html
import pytest
from django.db import connection, transaction
from django.test import Client

from bills import pdf
from bills.models import AuditEvent
from bills.services import LineItem
from bills.tests.test_pdf import download, pdf_storage  # noqa: F401  (the fixture)


@pytest.fixture
def children(monkeypatch):
    """Every child process a render starts."""
    made = []
    real = pdf._CHILDREN.Process

    def recorded(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(pdf._CHILDREN, "Process", recorded)
    return made


@pytest.fixture
def slow_renders(monkeypatch):
    """Every render, counted; each takes a second longer, so that downloads overlap."""
    rendered = []
    real = pdf.html_to_pdf_within

    def slow(html: str, seconds: float) -> bytes:
        rendered.append(html)
        time.sleep(1)
        return real(html, seconds)

    monkeypatch.setattr(pdf, "html_to_pdf_within", slow)
    return rendered


def long_bill(make_bill, application, count: int):
    lines = [
        LineItem(f"SMS to destination {n:04d}", 1000 + n, "messages", Decimal("0.0079"))
        for n in range(count)
    ]
    return make_bill(application, product="sms", lines=lines)


def test_a_bill_that_takes_too_long_gets_a_clear_page_and_the_render_is_stopped(
    member_client, make_bill, application, settings, children
):
    # 400 lines take seconds to print: far more than this budget.
    settings.BILL_PDF_RENDER_SECONDS = 0.3
    bill = long_bill(make_bill, application, 400)

    started = time.monotonic()
    response = download(member_client, bill)
    waited = time.monotonic() - started

    assert response.status_code == 422
    assert response["Content-Type"].startswith("text/html")
    page = lxml.html.fromstring(response.content)
    assert page.findtext(".//h1") == "This bill is too large to render"
    text = " ".join(page.text_content().split())
    assert f"Bill {bill.number} could not be printed as a PDF within 0.3 seconds" in text
    assert page.xpath(f"//a[@href='/bills/{bill.pk}/']")  # the lines are on its page
    assert waited < 5
    # Nothing was handed out, nothing was kept, and the render is really over.
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.BILL_DOWNLOAD).exists()
    assert pdf.stored_pdf(pdf.cache_key(bill)) is None
    [child] = children
    assert child.exitcode == -signal.SIGKILL
    assert not Path(f"/proc/{child.pid}").exists()


def test_the_same_bill_renders_when_the_budget_allows(
    member_client, make_bill, application, settings, children
):
    settings.BILL_PDF_RENDER_SECONDS = 60
    bill = long_bill(make_bill, application, 40)

    response = download(member_client, bill)

    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
    [child] = children
    assert child.exitcode == 0
    assert not Path(f"/proc/{child.pid}").exists()


def download_together(bill, user, count: int = 2) -> list:
    """`count` members' downloads of `bill`, started at the same moment from threads."""
    clients = []
    for _ in range(count):
        clients.append(Client())
        clients[-1].force_login(user)
    barrier = threading.Barrier(count, timeout=30)
    responses = []

    def one(client: Client) -> None:
        try:
            barrier.wait()
            responses.append(download(client, bill))
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=one, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_two_downloads_of_a_new_bill_at_once_render_it_once(
    transactional_db, bill, member, slow_renders
):
    first, second = download_together(bill, member)

    assert len(slow_renders) == 1
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert AuditEvent.objects.filter(action=AuditEvent.Action.BILL_DOWNLOAD).count() == 2


def test_two_servers_downloading_a_new_bill_at_once_render_it_once(
    transactional_db, bill, member, slow_renders, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("on SQLite one process serves the console: the process's lock is the lock")
    # Two processes (or servers) share no lock in memory: only the database's.
    monkeypatch.setattr(pdf, "_process_lock", lambda bill, seconds: contextlib.nullcontext())

    first, second = download_together(bill, member)

    assert len(slow_renders) == 1
    assert first.status_code == second.status_code == 200
    assert first.content == second.content


def test_a_download_waiting_for_a_render_that_takes_too_long_gets_the_clear_page(
    member_client, bill, settings, slow_renders
):
    settings.BILL_PDF_RENDER_SECONDS = 0.3
    # Another thread of this process is rendering the bill, and will for a while.
    lock = pdf._PROCESS_LOCKS[bill.pk % len(pdf._PROCESS_LOCKS)]
    with lock:
        response = download(member_client, bill)

    assert response.status_code == 422
    assert b"This bill is too large to render" in response.content
    assert slow_renders == []


def test_a_download_waiting_for_another_servers_render_stops_with_the_budget(
    transactional_db, member_client, bill, settings, slow_renders, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("on SQLite one process serves the console: the process's lock is the lock")
    settings.BILL_PDF_RENDER_SECONDS = 0.3
    monkeypatch.setattr(pdf, "_process_lock", lambda bill, seconds: contextlib.nullcontext())
    locked, done = threading.Event(), threading.Event()

    def other_server() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)", [pdf._ADVISORY_LOCK_KIND, bill.pk]
                )
                locked.set()
                done.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_server)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        response = download(member_client, bill)
    finally:
        done.set()
        thread.join()

    assert response.status_code == 422
    assert b"This bill is too large to render" in response.content
    assert slow_renders == []
