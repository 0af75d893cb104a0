"""Bills as a spreadsheet: an .xlsx (openpyxl, write-only) and its CSV twin.

`COLUMNS` declares the export once: each column's header, the Bill field it reads and its
format. `bills.selectors.export_rows` reads those fields; both writers take its rows
(tuples in `COLUMNS` order) and write bytes to a binary file object, one row at a time, so
memory stays flat at any row count. Nothing here knows of requests or the database.

Headers, the sheet's name, the totals row and the workbook's properties are translated
when a file is written, into the active language (the reader's); the data is not.

Money never passes through float: openpyxl writes a number cell's value with "%.16g",
which turns Decimal("551.32") into 551.3200000000001, so a money cell holds the amount's
own decimal text (see `_XlsxRows.money`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain, islice
from typing import BinaryIO

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

from .money import CURRENCY_DECIMALS, currency_decimals, round_money

TEXT, MONTH, DATE, QUANTITY, MONEY = "text", "month", "date", "quantity", "money"
# Dates centred and units indented: flush against a right-aligned number, "2026-10SMS"
# and "211,842messages" are what a spreadsheet showed.
CENTRE = Alignment(horizontal="center")
INDENT = Alignment(horizontal="left", indent=1)


@dataclass(frozen=True)
class Column:
    """One column of the export: its header, the Bill field it reads, its format."""

    header: str | Promise  # gettext_lazy: translated when a file is written
    field: str  # a values_list() path from Bill, or an annotation of bills.selectors
    kind: str
    alignment: Alignment | None = None


COLUMNS: tuple[Column, ...] = (
    Column(gettext_lazy("Bill Number"), "number", TEXT),
    Column(gettext_lazy("Billing Cycle"), "billing_cycle", MONTH, CENTRE),
    Column(gettext_lazy("Product"), "product__name", TEXT),
    Column(gettext_lazy("Organization"), "organization__name", TEXT),
    Column(gettext_lazy("WhatsApp Business Account"), "whatsapp_business_account", TEXT),
    Column("AppKey", "application__app_key", TEXT),
    Column(gettext_lazy("Application ID"), "application__app_id", TEXT),
    Column(gettext_lazy("Application Name"), "application__name", TEXT),
    Column(gettext_lazy("Service Usage"), "service_usage", QUANTITY),
    Column(gettext_lazy("Usage Unit"), "product__usage_unit", TEXT, INDENT),
    Column(gettext_lazy("Consumption Amount"), "consumption_amount", MONEY),
    Column(gettext_lazy("Currency"), "currency", TEXT, CENTRE),
    Column(gettext_lazy("Payment Status"), "payment_status", TEXT),
    Column(gettext_lazy("Overdraft Amount"), "overdraft_amount", MONEY),
    # What credit notes have taken off the bill so far (DESIGN.md, "Credit notes").
    Column(gettext_lazy("Credited Amount"), "credited_amount", MONEY),
    Column(gettext_lazy("Bill Date"), "bill_date", DATE, CENTRE),
)
HEADERS = tuple(column.header for column in COLUMNS)
FIELDS = tuple(column.field for column in COLUMNS)
CURRENCY = FIELDS.index("currency")
# The money columns, summed per currency in the totals row and the audit trail.
MONEY_COLUMNS = tuple(index for index, column in enumerate(COLUMNS) if column.kind == MONEY)

# One sheet holds 1,048,576 rows; the header, a blank line and one totals row per
# currency take some of them.
EXCEL_MAX_ROWS = 1_048_576
MAX_XLSX_BILLS = EXCEL_MAX_ROWS - 2 - len(CURRENCY_DECIMALS)

MONTH_FORMAT = "yyyy-mm"
DATE_FORMAT = "yyyy-mm-dd"
QUANTITY_FORMAT = "#,##0"
NUMBER_FORMATS = {MONTH: MONTH_FORMAT, DATE: DATE_FORMAT, QUANTITY: QUANTITY_FORMAT}
# Column widths are measured on the first rows: the file is written as it streams.
WIDTH_SAMPLE_ROWS = 1000
MIN_WIDTH, MAX_WIDTH = 8, 60
# Product, application, unit and status names repeat on most rows; bill numbers never do.
TEXT_CACHE_SIZE = 512
# openpyxl's default font (Calibri 11), bold; a Font without a name shows in a serif.
BOLD = Font(name="Calibri", family=2, size=11, bold=True, scheme="minor")

# XML 1.0 cannot hold these (openpyxl raises IllegalCharacterError, and a lone surrogate
# cannot even be encoded); tab, LF and CR can.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# OWASP CSV injection: a cell starting with one of these may run as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@")
# Characters that start a formula whatever follows them (OWASP lists tab and CR).
_LINE_CONTROLS = frozenset("\t\r\n")
# Lookalikes NFKC does not fold into a trigger: MINUS SIGN, and the dashes a word
# processor types for "-" (Excel and LibreOffice read some of them as a minus).
_MINUS_LOOKALIKES = frozenset("\u2212\u2010\u2011\u2012\u2013\u2014\u2015\ufe58")
# What a spreadsheet may skip before it looks for "=": spaces of every kind (no-break,
# ideographic, ...), invisible format characters (BOM, zero-width, bidi marks), controls.
_SKIPPED_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})
# A cell holds at most 32,767 characters, counted as Excel does, in UTF-16 code units.
CELL_MAX_CHARS = 32_767
CUT_MARKER = "\u2026"  # "…": a cut shows, instead of Excel or openpyxl cutting silently


class TooManyRows(Exception):
    """The rows do not fit in one Excel sheet."""


def money_amount(value: Decimal, currency: str) -> Decimal:
    """The amount with exactly its currency's decimals (`bills.money.round_money`), so
    `f"{amount:f}"` is what every cell, total and audit row shows: 551.32, 1500, 1.234."""
    return round_money(value, currency)


@dataclass
class ExportSummary:
    """What an export holds: the number of bills and, per currency, each money column's sum."""

    rows: int = 0
    # Field of a money column -> currency -> sum, at the currency's decimals (keyed by the
    # field, not the header, which reads differently in each language).
    totals: dict[str, dict[str, Decimal]] = field(
        default_factory=lambda: {COLUMNS[index].field: {} for index in MONEY_COLUMNS}
    )

    def add(self, row: Sequence) -> None:
        """Count a row whose amounts are already `money_amount`s (see `_at_minor_units`)."""
        currency = row[CURRENCY]
        self.rows += 1
        for index in MONEY_COLUMNS:
            if row[index] is not None:
                sums = self.totals[COLUMNS[index].field]
                sums[currency] = sums.get(currency, 0) + row[index]

    @property
    def currencies(self) -> list[str]:
        return sorted({currency for sums in self.totals.values() for currency in sums})

    @property
    def consumption(self) -> dict[str, Decimal]:
        return self.totals["consumption_amount"]

    @property
    def overdraft(self) -> dict[str, Decimal]:
        return self.totals["overdraft_amount"]

    @property
    def credited(self) -> dict[str, Decimal]:
        return self.totals["credited_amount"]


def _at_minor_units(row: Sequence) -> list:
    """The row with each amount made a `money_amount`, once for the cell and the totals."""
    row = list(row)
    for index in MONEY_COLUMNS:
        if row[index] is not None:
            row[index] = money_amount(row[index], row[CURRENCY])
    return row


def _skipped(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in _SKIPPED_CATEGORIES


def _starts_a_formula(value: str) -> bool:
    """Whether the first character that shows is a formula trigger or looks like one."""
    first = value[:1]
    if first.isalnum() and first.isascii():  # most text: decided by its first character
        return False
    for char in value:
        if char in _LINE_CONTROLS:
            return True
        if _skipped(char):
            continue
        # NFKC folds the full-width and small forms (＝＋－＠, ﹦﹢﹣﹫) into ASCII.
        folded = unicodedata.normalize("NFKC", char)
        return folded.startswith(FORMULA_TRIGGERS) or char in _MINUS_LOOKALIKES
    return False


def cell_length(value: str) -> int:
    """The length Excel counts: UTF-16 code units (an emoji counts two)."""
    return len(value) + sum(1 for char in value if ord(char) > 0xFFFF)


def _cut_to_fit(value: str) -> str:
    if cell_length(value) <= CELL_MAX_CHARS:
        return value
    room = CELL_MAX_CHARS - len(CUT_MARKER)
    used = 0
    for end, char in enumerate(value):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > room:
            return value[:end] + CUT_MARKER
    return value


def safe_text(value: str) -> str:
    """Text that a spreadsheet shows as text, never runs, that XML can hold, and that fits
    in one cell.

    XML-illegal characters are dropped. A value whose first visible character is a formula
    trigger or a lookalike of one (after any spaces, BOM or zero-width characters), or
    that is an error literal such as #N/A, which Excel and openpyxl would not keep as text,
    gets a leading apostrophe, as OWASP advises. Text longer than a cell holds is cut and
    ends with "…", so the cut shows.
    """
    value = _XML_ILLEGAL.sub("", value)
    if _starts_a_formula(value) or value in ERROR_CODES:
        value = "'" + value
    return _cut_to_fit(value) if len(value) > CELL_MAX_CHARS // 2 else value


def naive_in(value: dt.date, time_zone: dt.tzinfo) -> dt.date:
    """A date as is; a datetime in `time_zone`, without tzinfo (openpyxl refuses tzinfo)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(time_zone).replace(tzinfo=None)
    return value


def money_format(currency: str) -> str:
    places = currency_decimals(currency)
    return "#,##0." + "0" * places if places else "#,##0"


def _display_width(value, column: Column, currency: str) -> int:
    if value is None:
        return 0
    if column.kind == TEXT:
        return len(value)
    if column.kind == QUANTITY:
        return len(f"{value:,}")
    if column.kind == MONEY:
        return len(f"{value:,.{currency_decimals(currency)}f}")
    return len(MONTH_FORMAT if column.kind == MONTH else DATE_FORMAT)


def _text_width(text: str) -> int:
    """Characters as wide as a spreadsheet draws them: a CJK character takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _column_widths(sample: list[Sequence], headers: Sequence[str]) -> list[float]:
    widths = []
    for index, column in enumerate(COLUMNS):
        # Bold header text plus the auto-filter's drop-down button.
        width = _text_width(headers[index]) * 1.1 + 3
        for row in sample:
            width = max(width, _display_width(row[index], column, row[CURRENCY]) + 2)
        widths.append(min(max(width, MIN_WIDTH), MAX_WIDTH))
    return widths


class _BillsSheet(WriteOnlyWorksheet):
    """openpyxl's write-only sheet, taking ready-made cells without a detour.

    openpyxl binds every appended item to a cell and, for an item that already IS a
    cell, falls back through a ValueError that formats the cell's repr. With eight styled
    cells a row, the public `wb.create_sheet()` makes the export measurably slower, more
    than the house's 10% (bench/bench_export.py; the README has the figures); this checks
    the type first. It overrides a private method of the pinned openpyxl 3.1.5: a test in
    bills/tests/test_export.py fails if an upgrade stops calling it.
    """

    def _values_to_row(self, values, row_idx):
        cell = WriteOnlyCell(self)
        for col_idx, value in enumerate(values, 1):
            if value is None:
                continue
            if isinstance(value, Cell):
                value.column, value.row = col_idx, row_idx
                yield value
                continue
            cell.value = value
            cell.column, cell.row = col_idx, row_idx
            yield cell
            if cell.has_style:  # e.g. a date's number format: for that value only
                cell = WriteOnlyCell(self)


def _cell(ws: Worksheet, value=None, number_format="General", **style) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value)
    cell.number_format = number_format
    for name, value in style.items():
        setattr(cell, name, value)
    return cell


class _XlsxRows:
    """Turns a row of values into the cells of one sheet row, with their number formats.

    Each styled column has ONE cell (a money column one per currency), refilled for every
    row: a write-only sheet writes a row's cells as soon as it is appended, and building
    and styling a new cell per value would cost more than the rest of the row.
    """

    def __init__(self, ws: Worksheet, time_zone: dt.tzinfo):
        self.ws = ws
        self.time_zone = time_zone
        self.columns = []
        for column in COLUMNS:
            cell = None
            if column.kind == MONEY:
                cell = {}  # currency -> its cell, made by money_cell()
            elif column.kind != TEXT or column.alignment is not None:
                cell = _cell(ws, number_format=NUMBER_FORMATS.get(column.kind, "General"))
                if column.alignment is not None:
                    cell.alignment = column.alignment
            # Per text column, safe_text() of the values seen, for those that repeat.
            self.columns.append((column.kind, cell, {}))

    def money_cell(self, cells: dict[str, WriteOnlyCell], currency: str) -> WriteOnlyCell:
        cell = cells.get(currency)
        if cell is None:
            cell = cells[currency] = _cell(self.ws, number_format=money_format(currency))
        return cell

    @staticmethod
    def money(cell: WriteOnlyCell, amount: Decimal) -> WriteOnlyCell:
        """A `money_amount`'s decimal text in a number cell: `<v>551.32</v>` in the sheet's XML.

        Given the Decimal itself, openpyxl would write float("%.16g") noise. A number
        cell's value is written as it is when it is already text, so the cell gets the
        text and is then marked a number (`data_type`, an attribute openpyxl documents).
        """
        cell.value = f"{amount:f}"
        cell.data_type = "n"
        return cell

    def row(self, values: Sequence) -> list:
        currency = values[CURRENCY]
        cells = []
        for (kind, cell, known), value in zip(self.columns, values, strict=True):
            if kind == TEXT:
                if not value:
                    cells.append(None)
                    continue
                # Sanitised text never starts with "=", so openpyxl keeps it a string.
                safe = known.get(value)
                if safe is None:
                    safe = safe_text(value)
                    if len(known) < TEXT_CACHE_SIZE:
                        known[value] = safe
                if cell is None or not safe:  # "" when only XML-illegal characters were left
                    cells.append(safe or None)
                else:
                    cell.value = safe
                    cells.append(cell)
            elif value is None:
                cells.append(None)
            elif kind == MONEY:
                cells.append(self.money(self.money_cell(cell, currency), value))
            else:
                if kind in (MONTH, DATE):
                    value = naive_in(value, self.time_zone)
                cell.value = value
                cells.append(cell)
        return cells


def write_bills_xlsx(
    rows: Iterable[Sequence],
    fileobj: BinaryIO,
    *,
    organization: str,
    filter_description: str = "all bills",
    time_zone: dt.tzinfo = dt.UTC,
    max_rows: int = MAX_XLSX_BILLS,
) -> ExportSummary:
    """Write the bills as one sheet: a bold frozen header with an auto-filter, one row
    per bill, and a totals row per currency; raise TooManyRows past `max_rows`."""
    wb = Workbook(write_only=True)
    ws = _BillsSheet(parent=wb, title=_("Bills"))
    wb._add_sheet(ws)
    headers = [str(header) for header in HEADERS]
    rows = iter(rows)
    sample = list(islice(rows, WIDTH_SAMPLE_ROWS))
    # A write-only sheet writes its columns and panes before the first row.
    for index, width in enumerate(_column_widths(sample, headers), start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True

    cells = _XlsxRows(ws, time_zone)
    summary = ExportSummary()
    try:
        fill = PatternFill("solid", fgColor="DDE3EE")
        border = Border(bottom=Side(style="thin", color="8A94A6"))
        header = []
        for column, text in zip(COLUMNS, headers, strict=True):
            alignment = column.alignment or Alignment()
            header.append(_cell(ws, text, font=BOLD, fill=fill, border=border, alignment=alignment))
        ws.append(header)
        for values in chain(sample, rows):
            if summary.rows >= max_rows:
                raise TooManyRows(f"more than {max_rows:,} bills do not fit in one sheet")
            values = _at_minor_units(values)
            ws.append(cells.row(values))
            summary.add(values)
        last_row = summary.rows + 1
        ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{last_row}"
        if summary.rows:
            # A blank line keeps the totals out of the data's region (sorting, pivots).
            ws.append([])
        for currency in summary.currencies:
            total = [None] * len(COLUMNS)
            total[0] = _cell(ws, _("Total"), font=BOLD)
            total[CURRENCY] = _cell(ws, safe_text(currency), font=BOLD, alignment=CENTRE)
            for index in MONEY_COLUMNS:
                amount = summary.totals[COLUMNS[index].field].get(currency)
                if amount is not None:
                    cell = _cell(ws, number_format=money_format(currency), font=BOLD)
                    total[index] = cells.money(cell, amount)
            ws.append(total)
        _describe(wb, organization, filter_description, summary)
        wb.save(fileobj)
    except BaseException:
        _discard(ws)
        raise
    return summary


def _describe(wb: Workbook, organization: str, filter_description: str, summary) -> None:
    organization = _XML_ILLEGAL.sub("", organization)
    filter_description = _XML_ILLEGAL.sub("", filter_description)
    names = {"organization": organization, "filter": filter_description}
    wb.properties.title = _("Bills of %(organization)s") % names
    wb.properties.subject = _("Filter: %(filter)s") % names
    wb.properties.description = ngettext(
        "%(count)s bill of %(organization)s, filter: %(filter)s.",
        "%(count)s bills of %(organization)s, filter: %(filter)s.",
        summary.rows,
    ) % (names | {"count": f"{summary.rows:,}"})
    wb.properties.creator = wb.properties.lastModifiedBy = _("Billing Console")
    wb.properties.keywords = _("bills; %(organization)s") % names
    wb.properties.category = _("Bills export")


def _discard(ws) -> None:
    """Remove the sheet's temporary file that openpyxl would otherwise keep until exit.

    openpyxl has no public way to drop a write-only sheet that will not be saved, so this
    reads its private writer (openpyxl 3.1); test_export's "no temporary file" tests fail
    loudly if an upgrade renames it.
    """
    writer = getattr(ws, "_writer", None)
    if writer is None:
        return
    with suppress(Exception):
        ws.close()
    with suppress(Exception):
        writer.close()  # if close() failed half-way
    with suppress(OSError, ValueError):
        writer.cleanup()


def write_bills_csv(
    rows: Iterable[Sequence], fileobj: BinaryIO, *, time_zone: dt.tzinfo = dt.UTC
) -> ExportSummary:
    """The same rows as CSV: UTF-8 with a BOM (so Excel reads it as UTF-8), every text
    field quoted and neutralised, numbers unquoted with the currency's decimals."""
    text = io.TextIOWrapper(fileobj, encoding="utf-8-sig", newline="")
    writer = csv.writer(text, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([str(header) for header in HEADERS])
    summary = ExportSummary()
    # Per column, safe_text() of the values seen, for those that repeat (as in the xlsx).
    known: list[dict[str, str]] = [{} for _ in COLUMNS]
    for values in rows:
        values = _at_minor_units(values)
        out = []
        for column, value, seen in zip(COLUMNS, values, known, strict=True):
            kind = column.kind
            if value is None:
                out.append("")
            elif kind == TEXT:
                safe = seen.get(value)
                if safe is None:
                    safe = safe_text(value)
                    if len(seen) < TEXT_CACHE_SIZE:
                        seen[value] = safe
                out.append(safe)
            elif kind == MONEY:
                # A Decimal, so QUOTE_NONNUMERIC leaves it unquoted: Excel reads a number.
                out.append(value)
            elif kind == QUANTITY:
                out.append(value)
            else:
                value = naive_in(value, time_zone)
                out.append(value.strftime("%Y-%m") if kind == MONTH else value.isoformat())
        writer.writerow(out)
        summary.add(values)
    text.flush()
    text.detach()
    return summary
