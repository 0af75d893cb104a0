"""The per-bill PDF: one HTML template, printed by WeasyPrint as PDF/A, kept by content.

`render_bill_pdf(bill)` knows nothing of requests. Each rendered PDF is kept in the
`bill_pdfs` storage (settings.STORAGES: a directory by default, any Django storage shared
by every server otherwise) under a name holding a digest of everything the PDF prints
(the bill's fields and lines, the names it shows, the seller) and of the layout
(template, CSS, formatting code, WeasyPrint version), so a changed bill, status included,
renders anew and an unchanged one is never rendered twice, by any server. WeasyPrint
takes over a hundred milliseconds a page; a stored one is two small queries and one file
read. `manage.py purge_pdfs` deletes files not written for a while.

A render runs in a child process with a time budget (`BILL_PDF_RENDER_SECONDS`) and is
killed when the budget runs out: a thread cannot be stopped, and gunicorn's threaded workers
run views outside the main thread, where no signal can reach them. One render per bill at a
time: concurrent downloads of the same uncached bill wait for the first and read its file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import multiprocessing
import re
import ssl
import threading
import time
import urllib.request
import zoneinfo
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

import weasyprint
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.template.loader import get_template
from django.utils import formats, translation
from django.utils.translation import gettext as _

from .code_version import code_version
from .models import Bill, BillLine, CreditNote
from .money import format_money, format_unit_price

TEMPLATE = "bills/bill_pdf.html"
CREDIT_NOTE_TEMPLATE = "bills/credit_note_pdf.html"
# Every template a PDF is made of, its includes too: each is part of the cache key's
# layout (bills/tests/test_pdf.py checks that every {% include %} is listed here).
LAYOUT_TEMPLATES = (
    TEMPLATE,
    CREDIT_NOTE_TEMPLATE,
    "bills/_pdf_seller.html",
    "bills/_pdf_payer_rows.html",
)
STYLESHEET = "css/bill_pdf.css"
# PDF/A-3b: the archival variant, so the file can be kept as long as tax law asks.
PDF_VARIANT = "pdf/a-3b"
# Relative URLs in the template resolve against this base. `.invalid` never resolves
# (RFC 2606) and the fetcher maps it to files on disk: no request ever leaves the process.
BASE_URL = "https://bill-pdf.invalid/static/"
STORAGE_ALIAS = "bill_pdfs"
# Above this many lines the PDF is refused rather than rendered: WeasyPrint needs about 4 ms
# of CPU a line (`bench/bench_pdf.py --long 2000`), so 2000 lines is some 8 s, and a render
# holds the GIL that the other threads of its gunicorn worker wait on. Far within
# gunicorn's timeout even on a busy machine. The bill's page lists every line.
MAX_LINES = 2000
LINE_FIELDS = ("description", "quantity", "unit", "unit_price", "amount")

logger = logging.getLogger(__name__)


class BillTooLarge(Exception):
    """The bill has more lines than one PDF may hold."""

    def __init__(self, bill: Bill, line_count: int):
        super().__init__(f"{bill.number} has {line_count} lines; a PDF holds {MAX_LINES}")
        self.bill = bill
        self.line_count = line_count


class RenderTimedOut(Exception):
    """WeasyPrint did not finish the bill's PDF within its time budget."""

    def __init__(self, bill: Bill, seconds: float):
        super().__init__(f"{bill.number} did not render within {seconds:g} s")
        self.bill = bill
        self.seconds = seconds


class URLRefused(ValueError):
    """The PDF asked for something other than the project's own static files."""


class StaticFilesFetcher(weasyprint.URLFetcher):
    """Serves WeasyPrint `data:` URLs and the project's static files; refuses the rest.

    The template is the only author of URLs here, and user strings are escaped, but the
    fetcher is the last line: no `file:`, no `http(s):` to any host (so no redirects), no
    path out of the static directories.
    """

    def __init__(self):
        # fetch() below serves every URL itself and never reaches urllib's handlers,
        # which URLFetcher builds anyway: they get no protocol, no redirect, and a TLS
        # context that trusts no certificate (without one, the HTTPS handler would load
        # the system's CA bundle on every render: see bench/bench_pdf.py).
        # fail_on_errors=False: a refused URL is a logged warning, not a failed PDF.
        super().__init__(
            allowed_protocols=(),
            allow_redirects=False,
            fail_on_errors=False,
            ssl_context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
        )

    def fetch(self, url: str, headers=None) -> weasyprint.urls.URLFetcherResponse:
        if url[:5].lower() == "data:":
            # Decoded in memory: nothing is opened or requested.
            data = urllib.request.DataHandler().data_open(urllib.request.Request(url))
            return weasyprint.urls.URLFetcherResponse(
                url, body=data.read(), headers={"Content-Type": data.headers["Content-Type"]}
            )
        path = static_file_path(url)
        if path is None:
            raise URLRefused(f"a bill PDF fetches only its own static files, not {url!r}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return weasyprint.urls.URLFetcherResponse(
            url, body=path.read_bytes(), headers={"Content-Type": content_type}
        )


def static_file_path(url: str) -> Path | None:
    """The file behind a static URL under BASE_URL, or None if `url` is anything else."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    base = urlsplit(BASE_URL)
    if (parts.scheme.lower(), parts.netloc.lower()) != (base.scheme, base.netloc):
        return None
    if parts.query or not parts.path.startswith(base.path):
        return None
    name = unquote(parts.path.removeprefix(base.path))
    segments = name.split("/")
    if "\\" in name or "\x00" in name or any(s in {"", ".", ".."} for s in segments):
        return None
    found = finders.find(name)
    if not found:
        return None
    path = Path(found).resolve()
    # A symlink inside a static directory must not lead out of it.
    if not path.is_file() or not any(path.is_relative_to(root) for root in _static_roots()):
        return None
    return path


def _static_roots() -> list[Path]:
    roots = []
    for finder in finders.get_finders():
        for storage in getattr(finder, "storages", {}).values():
            roots.append(Path(storage.location).resolve())
    return roots


def reader_language(language: str | None = None) -> str:
    """`language`, else the active one (the reader's, set by the request), else the default."""
    return language or translation.get_language() or settings.LANGUAGE_CODE


def bill_document(bill: Bill, *, with_lines: bool = True) -> dict:
    """Everything the PDF prints, as the strings it prints them in the active language
    (labels, status, cycle), and that language: it is part of the cache key."""
    currency = bill.currency
    organization = bill.organization
    cleared_on = ""
    if bill.cleared_at is not None:
        cleared_on = _local_date(bill.cleared_at, organization.time_zone)
    document = {
        "language": reader_language(),
        "page_margins": page_margins(_("Bill %(number)s, continued")),
        "seller": dict(settings.BILLING_SELLER),
        "number": bill.number,
        "bill_date": bill.bill_date.isoformat(),
        "billing_cycle": _cycle(bill),
        "product": bill.product.name,
        "organization": organization.name,
        "application": bill.application.name,
        "app_id": bill.application.app_id,
        "app_key": bill.application.app_key,
        "whatsapp_business_account": bill.whatsapp_business_account,
        "status": bill.status,
        "status_label": bill.get_status_display(),
        "cleared_on": cleared_on,
        "payer": _payer(bill),
        "service_usage": f"{bill.service_usage:,}",
        "usage_unit": bill.product.usage_unit,
        "consumption_amount": format_money(bill.consumption_amount, currency),
        "prepaid_amount": format_money(bill.consumption_amount - bill.overdraft_amount, currency),
        "overdraft_amount": format_money(bill.overdraft_amount, currency),
        "credited_amount": format_money(bill.credited_amount, currency),
        # The overdraft less what credit notes credited, until a Supplementary Payment
        # clears the bill.
        "amount_due": format_money(bill.amount_due, currency),
        "currency": currency,
        "credit_notes": [
            {
                "number": note.number,
                "issued_on": _local_date(note.issued_at, organization.time_zone),
                "amount": format_money(note.amount, currency),
                "reason": note.reason,
                "line": note.bill_line.position if note.bill_line is not None else None,
            }
            # credited_amount is the sum of the bill's credit notes (a database trigger
            # writes it): a bill without credit asks for none.
            for note in (
                bill.credit_notes.select_related("bill_line").order_by("issued_at", "pk")
                if bill.credited_amount
                else ()
            )
        ],
    }
    if with_lines:
        lines = bill.lines.order_by("position").values_list(*LINE_FIELDS)[: MAX_LINES + 1]
        document["lines"] = [
            {
                "description": description,
                "quantity": f"{quantity:,}",
                "unit": unit,
                "unit_price": format_unit_price(unit_price, currency),
                "amount": format_money(amount, currency),
            }
            for description, quantity, unit, unit_price, amount in _at_most_max_lines(bill, lines)
        ]
    return document


def _payer(bill: Bill) -> dict[str, str]:
    """The payer's tax details as the bill snapshot them at issue."""
    return {
        "legal_name": bill.payer_legal_name,
        "tax_id": bill.payer_tax_id,
        "address": bill.payer_address,
        "country": bill.payer_country,
        "email": bill.payer_email,
    }


# What a phrase of the page's margins may hold, as WeasyPrint's CSS fills it in on each page.
_MARGIN_PLACEHOLDERS = {
    "%(number)s": "string(bill-number)",
    "%(page)s": "counter(page)",
    "%(pages)s": "counter(pages)",
}


def page_margins(continued: str) -> str:
    """The `@page` rules of the margins that print words ("Page 1 of 2", "..., continued"),
    in the active language: whole phrases in the catalogue, turned into CSS `content`."""
    footer = _("Page %(page)s of %(pages)s")
    return (
        f"@page {{ @top-right {{ content: {_css_content(continued)}; }} "
        f"@bottom-right {{ content: {_css_content(footer)}; }} }}"
    )


def _css_content(phrase: str) -> str:
    parts = re.split(r"(%\((?:number|page|pages)\)s)", phrase)
    return " ".join(_MARGIN_PLACEHOLDERS.get(part) or _css_string(part) for part in parts if part)


def _css_string(text: str) -> str:
    """`text` as a quoted CSS string that cannot end it, nor the <style> element."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
    escaped = escaped.replace("\n", " ")
    return f'"{escaped}"'


def _cycle(bill: Bill) -> str:
    """The billing cycle as the active language writes a month: `2026-10`, `2026年10月`."""
    return formats.date_format(bill.billing_cycle, "YEAR_MONTH_FORMAT")


def _local_date(moment, time_zone: str) -> str:
    return moment.astimezone(zoneinfo.ZoneInfo(time_zone)).date().isoformat()


def _at_most_max_lines(bill: Bill, lines) -> list:
    lines = list(lines)
    if len(lines) > MAX_LINES:
        raise BillTooLarge(bill, bill.lines.count())
    return lines


# The lines as the database holds them, decimals as text: exact, and cheap to read. This is
# on every download's path, cache hit or not: as plain SQL it takes 0.15 ms where the same
# query built by the ORM took 0.6 ms, an eighth of a cached download. CAST(... AS TEXT) and
# LIMIT read the same on SQLite and PostgreSQL.
STORED_LINES_SQL = f"""
    SELECT description, quantity, unit, CAST(unit_price AS TEXT), CAST(amount AS TEXT)
    FROM {BillLine._meta.db_table} WHERE bill_id = %s ORDER BY position LIMIT %s
"""


def _stored_lines(bill: Bill) -> list[tuple]:
    with connections[bill._state.db or DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(STORED_LINES_SQL, [bill.pk, MAX_LINES + 1])
        return _at_most_max_lines(bill, cursor.fetchall())


def layout_version(language: str | None = None) -> str:
    """A digest of everything besides the bill that shapes the PDF: templates, CSS, the code
    that formats values, the renderer, and the translations of `language` (default: the
    active one)."""
    # The code that formats what the PDF prints.
    digest = hashlib.sha256(code_version("bills/pdf.py", "bills/money.py").encode())
    digest.update(_catalogue(reader_language(language)))
    for name in LAYOUT_TEMPLATES:
        digest.update(get_template(name).template.source.encode())
    digest.update(Path(finders.find(STYLESHEET)).read_bytes())
    digest.update(f"{weasyprint.__version__} {PDF_VARIANT}".encode())
    return digest.hexdigest()


def _catalogue(language: str) -> bytes:
    """The language's translations as committed (the .po the .mo is compiled from), so an
    edited translation renders anew; English has none: its text is in the templates."""
    locale = translation.to_locale(language)
    for directory in settings.LOCALE_PATHS:
        path = Path(directory) / locale / "LC_MESSAGES" / "django.po"
        if path.is_file():
            return path.read_bytes()
    return b""


def cache_key(bill: Bill) -> str:
    """The bill's file name in the storage: everything printed on the bill, and the layout
    it is printed with, in one digest."""
    content = json.dumps(
        [bill_document(bill, with_lines=False), _stored_lines(bill)],
        sort_keys=True,
        ensure_ascii=False,
    )
    digest = hashlib.sha256(f"{layout_version()}\n{content}".encode()).hexdigest()
    return f"{bill.number}/{digest}.pdf"


def stored_pdf(name: str) -> bytes | None:
    """The PDF kept under `name`, or None. A storage that cannot be read (a full disk,
    a store that is down) costs a render, never the download."""
    storage = storages[STORAGE_ALIAS]
    try:
        if not storage.exists(name):
            return None
        with storage.open(name) as file:
            pdf = file.read()
    except FileNotFoundError:  # purged since exists()
        return None
    except Exception:
        logger.exception("Cannot read %s from the %s storage", name, STORAGE_ALIAS)
        return None
    # A file that another server is still writing reads short, without the trailer that
    # ends every PDF: a miss, and the render's lock below waits for that server.
    return pdf if pdf.rstrip().endswith(b"%%EOF") else None


def store_pdf(name: str, pdf: bytes) -> None:
    """Keeps `pdf` under `name` for every server, after `stored_pdf(name)` found none; a
    storage that cannot be written is logged and the PDF still handed out."""
    storage = storages[STORAGE_ALIAS]
    try:
        if storage.exists(name):
            # It did not read whole: what a write cut short left (a crash, a full disk).
            # A reader that has it open keeps reading it.
            storage.delete(name)
        saved = storage.save(name, ContentFile(pdf))
        if saved != name:
            # Another process wrote the same name meanwhile, and a file system storage
            # never overwrites: keep the first, which may be being read.
            storage.delete(saved)
    except Exception:
        logger.exception("Cannot write %s to the %s storage", name, STORAGE_ALIAS)


def render_html(document: dict) -> str:
    return get_template(TEMPLATE).render(document)


def html_to_pdf(html: str) -> bytes:
    """WeasyPrint alone: the HTML of a bill to PDF/A bytes."""
    page = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=StaticFilesFetcher())
    return page.write_pdf(pdf_variant=PDF_VARIANT)


# Renders run in children of a fork server: a process that has loaded the console and
# WeasyPrint's fonts once (bills/pdf_server.py) and forks a ready child for each render in a
# few milliseconds. Not "fork" from the worker itself: forking a process that runs other
# threads can copy a lock one of them holds, and the child then hangs on it. Each gunicorn
# worker starts its own server on its first render (`bench/bench_pdf.py --child` times it).
# multiprocessing runs the parent's main script again in each child (without its
# `__main__` block): under gunicorn that script imports gunicorn.app.wsgiapp, so the server
# imports it once; elsewhere the ImportError is ignored.
_CHILDREN = multiprocessing.get_context("forkserver")
_CHILDREN.set_forkserver_preload(["bills.pdf_server", "gunicorn.app.wsgiapp"])


def _write_pdf_to(html: str, sender, language: str) -> None:
    """In the child: render and hand the bytes back. An error is printed by
    multiprocessing, to the server's error log, and the parent sees the pipe close."""
    # The child is forked from the fork server, not from the request's thread, whose
    # active language (thread-local) it never sees: anything translated here is in the
    # reader's language only because it is activated here.
    translation.activate(language)
    sender.send_bytes(html_to_pdf(html))


def html_to_pdf_within(html: str, seconds: float, language: str | None = None) -> bytes:
    """`html_to_pdf` in a child process that is killed if it takes longer than `seconds`,
    with `language` (default: the active one) active in the child.

    Raises TimeoutError when the budget runs out; the child is gone by then."""
    receiver, sender = _CHILDREN.Pipe(duplex=False)
    with receiver:
        with sender:  # closed once the child has its own copy: EOF when the child exits
            child = _CHILDREN.Process(
                target=_write_pdf_to,
                args=(html, sender, reader_language(language)),
                daemon=True,
            )
            child.start()
        grace = 0.0
        try:
            if not receiver.poll(seconds):
                raise TimeoutError(f"the PDF took longer than {seconds:g} s")
            grace = 5.0  # it has answered, or failed: it exits by itself
            return receiver.recv_bytes()
        except EOFError:
            raise RuntimeError("the PDF renderer failed: its error is in the log") from None
        finally:
            child.join(grace)
            if child.exitcode is None:
                child.kill()
                child.join()


# A download that finds no PDF in the cache takes its bill's lock before rendering, and looks
# again once it has it: the downloads that waited find the file the first one wrote. In one
# process a lock per bill (64 stripes, so the set stays small: two bills that share a stripe
# only wait for each other); across processes and servers on PostgreSQL, an advisory lock,
# which blocks nothing but other renders of the bill, where a row lock on the bill would also
# hold up a payment settling it.
_PROCESS_LOCKS = tuple(threading.Lock() for _ in range(64))
# The advisory lock's first key: this lock's kind ("PDF" in ASCII), so that other
# advisory locks on a bill's id never collide with it.
_ADVISORY_LOCK_KIND = 0x504446
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout runs out


@contextmanager
def _process_lock(bill: Bill, seconds: float):
    lock = _PROCESS_LOCKS[bill.pk % len(_PROCESS_LOCKS)]
    if not lock.acquire(timeout=seconds):
        raise TimeoutError(f"another render of {bill.number} took longer than {seconds:g} s")
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _database_lock(bill: Bill, seconds: float):
    using = bill._state.db or DEFAULT_DB_ALIAS
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield  # SQLite: one process serves it (development), the process lock suffices
        return
    # The lock is held until the transaction ends, after the render (at most its budget);
    # waiting for it stops when the budget runs out, like the render itself.
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
            [f"{int(seconds * 1000)}"],
        )
        lock_timeout = cursor.fetchone()[0]
        try:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_ADVISORY_LOCK_KIND, bill.pk % 2**31]
            )
        except OperationalError as error:
            # psycopg2 names the SQLSTATE pgcode; psycopg 3, sqlstate.
            cause = error.__cause__
            code = getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)
            if code != LOCK_NOT_AVAILABLE:
                raise
            raise TimeoutError(f"another render of {bill.number} took too long") from error
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
        yield


def render_bill_pdf(bill: Bill, *, language: str | None = None) -> bytes:
    """The bill's PDF in `language` (default: the active one, the reader's): from the
    storage when nothing printed on it has changed.

    Raises RenderTimedOut when rendering it takes longer than BILL_PDF_RENDER_SECONDS,
    and BillTooLarge when it has more lines than a PDF may hold."""
    with translation.override(reader_language(language)):
        return _render_bill_pdf(bill)


def _render_bill_pdf(bill: Bill) -> bytes:
    key = cache_key(bill)
    pdf = stored_pdf(key)
    if pdf is not None:
        return pdf
    seconds = settings.BILL_PDF_RENDER_SECONDS
    try:
        with _process_lock(bill, seconds), _database_lock(bill, seconds):
            pdf = stored_pdf(key)  # written while this download waited for the lock?
            if pdf is None:
                started = time.monotonic()
                pdf = html_to_pdf_within(render_html(bill_document(bill)), seconds)
                logger.info("Rendered %s in %.2f s", key, time.monotonic() - started)
                store_pdf(key, pdf)
    except TimeoutError:
        raise RenderTimedOut(bill, seconds) from None
    return pdf


# Credit notes --------------------------------------------------------------------------
# The same renderer, fetcher, PDF/A variant and stylesheet as the bill.


def credit_note_document(note: CreditNote) -> dict:
    """Everything a credit note's PDF prints, as the strings it prints them in the active
    language: nothing that a later credit note or payment changes, so the file stays what
    was issued."""
    bill, currency = note.bill, note.currency
    line = note.bill_line
    return {
        "language": reader_language(),
        "page_margins": page_margins(_("Credit note %(number)s, continued")),
        "seller": dict(settings.BILLING_SELLER),
        "number": note.number,
        "issued_on": _local_date(note.issued_at, bill.organization.time_zone),
        "reason": note.reason,
        "amount": format_money(note.amount, currency),
        "currency": currency,
        "bill": {
            "number": bill.number,
            "bill_date": bill.bill_date.isoformat(),
            "billing_cycle": _cycle(bill),
            "product": bill.product.name,
            "application": bill.application.name,
            "consumption_amount": format_money(bill.consumption_amount, currency),
        },
        "line": {"position": line.position, "description": line.description} if line else None,
        "payer": _payer(bill),
    }


def render_credit_note_pdf(note: CreditNote, *, language: str | None = None) -> bytes:
    """The credit note's PDF in `language` (default: the active one), cached like a
    bill's by everything it prints."""
    with translation.override(reader_language(language)):
        return _render_credit_note_pdf(note)


def _render_credit_note_pdf(note: CreditNote) -> bytes:
    document = credit_note_document(note)
    html = get_template(CREDIT_NOTE_TEMPLATE).render(document)
    content = json.dumps(document, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(f"{layout_version()}\n{content}".encode()).hexdigest()
    key = f"{note.number}/{digest}.pdf"
    pdf = stored_pdf(key)
    if pdf is None:
        # One page with a capped reason: far inside the budget, but under it all the same.
        pdf = html_to_pdf_within(html, settings.BILL_PDF_RENDER_SECONDS)
        logger.info("Rendered %s", key)
        store_pdf(key, pdf)
    return pdf
