"""Free text in Export Data stays text: no formula, no broken XML, no silent cut.

The text columns hold what organizations and staff typed (application names, AppKeys,
WhatsApp accounts): an attacker's `＝HYPERLINK(...)` with a BOM in front must reach the
finance team's spreadsheet as text, whatever Unicode it hides behind.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from bills import excel

TRIGGERS = ("=", "+", "-", "@")
FULL_WIDTH = ("＝", "＋", "－", "＠", "﹦", "﹢", "﹣", "﹫", "−")
# XML 1.0's Char production, negated: what no XML file can hold.
XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Characters a spreadsheet, or an eye, may skip before the first one that shows.
INVISIBLE = {"Zs", "Zl", "Zp", "Cc", "Cf"}

# Text salted with triggers, their lookalikes and what can hide them, among any characters
# (lone surrogates included: SQLite can hand them over).
tricky = st.sampled_from(
    [*TRIGGERS, *FULL_WIDTH, "\u00a0", "\ufeff", "\u200b", "\u2060", "\u3000", "\u202e",
     " ", "\t", "\r", "\n", "\r\n", "\x0b", "\x00", "#N/A", "'", "\ud800", "\uffff"]
)  # fmt: skip
free_text = st.one_of(
    st.sampled_from(excel.ERROR_CODES),
    st.lists(st.one_of(tricky, st.characters(exclude_categories=())), max_size=40).map("".join),
)


def first_visible(text: str) -> str:
    return text.lstrip("".join(c for c in set(text) if unicodedata.category(c) in INVISIBLE))


def excel_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@settings(deadline=None, max_examples=500)
@given(free_text)
def test_safe_text_is_never_a_formula_never_bad_xml_and_fits_a_cell(text):
    safe = excel.safe_text(text)

    shown = first_visible(safe)
    assert not unicodedata.normalize("NFKC", shown[:1]).startswith(TRIGGERS), safe
    assert not shown.startswith(FULL_WIDTH), safe
    assert not safe.startswith(("\t", "\r", "\n")), safe
    assert safe not in excel.ERROR_CODES
    assert not XML_ILLEGAL.search(safe), safe
    assert excel_length(safe) <= excel.CELL_MAX_CHARS
    # Nothing else changes: the text, less what XML cannot hold, maybe after an apostrophe.
    assert safe.removeprefix("'") == XML_ILLEGAL.sub("", text).removeprefix("'") or (
        safe == "'" + XML_ILLEGAL.sub("", text)
    )


@pytest.mark.parametrize(
    "text",
    [
        '＝HYPERLINK("http://evil.example","Invoice")',
        "＋1+1",
        "－1+1",
        "＠SUM(1,1)",
        "\u00a0=1+1",
        "\ufeff=1+1",
        "\u200b\u3000+1",
        "\u2003-2+3",
        "−2+3",
        "\ufeff\u00a0\u2060@SUM(A1)",
    ],
)
def test_formula_lookalikes_get_the_apostrophe_like_the_ascii_ones(text):
    assert excel.safe_text(text) == "'" + text


def test_ordinary_text_is_left_alone():
    for text in ("Acme Shop", "a-b=c", "云通信 · شركة 🚀", "100% + more", "'quoted"):
        assert excel.safe_text(text) == text


@pytest.mark.parametrize(
    "text",
    ["x" * 40_000, "=" + "x" * 40_000, "😀" * 20_000, "a" * 32_766 + "😀", "x" * 32_768],
)
def test_text_longer_than_a_cell_is_cut_with_a_visible_ellipsis(text):
    safe = excel.safe_text(text)

    assert safe.endswith("…")
    assert excel_length(safe) <= excel.CELL_MAX_CHARS
    assert excel_length(safe) >= excel.CELL_MAX_CHARS - 1  # no more cut than needed
    assert text.startswith(safe.removeprefix("'")[:-1])


@settings(deadline=None, max_examples=50)
@given(free_text, st.characters(exclude_categories=()), st.integers(16_000, 40_000))
def test_any_long_text_fits_a_cell_and_shows_where_it_was_cut(start, filler, length):
    text = start + filler * length

    safe = excel.safe_text(text)

    assert excel_length(safe) <= excel.CELL_MAX_CHARS
    assert not XML_ILLEGAL.search(safe)
    if excel_length(XML_ILLEGAL.sub("", text)) + 1 > excel.CELL_MAX_CHARS:
        assert safe.endswith("…")
    # A cut (not an ellipsis the text itself ends with once its illegal characters go)
    # cuts no more than needed.
    if safe.endswith("…") and not XML_ILLEGAL.sub("", text).endswith("…"):
        assert excel_length(safe) >= excel.CELL_MAX_CHARS - 1


def test_text_that_fits_exactly_is_kept_whole():
    text = "x" * excel.CELL_MAX_CHARS

    assert excel.safe_text(text) == text


def a_row(texts: list[str]) -> tuple:
    """A row whose every text column holds one of `texts`."""
    values = iter(texts)
    row = []
    for column in excel.COLUMNS:
        if column.kind == excel.TEXT and column.header != "Currency":
            row.append(next(values))
        else:
            row.append(
                {
                    excel.MONTH: dt.date(2026, 10, 1),
                    excel.DATE: dt.date(2026, 11, 3),
                    excel.QUANTITY: 7,
                    excel.MONEY: Decimal("1.10"),
                    excel.TEXT: "USD",
                }[column.kind]
            )
    return tuple(row)


TEXT_COLUMNS = [
    index
    for index, column in enumerate(excel.COLUMNS)
    if column.kind == excel.TEXT and column.header != "Currency"
]


@settings(deadline=None, max_examples=60)
@given(st.lists(free_text, min_size=len(TEXT_COLUMNS), max_size=len(TEXT_COLUMNS)))
def test_any_row_of_free_text_reads_back_as_text_from_the_xlsx_and_the_csv(texts):
    row = a_row(texts)
    xlsx, csv_file = io.BytesIO(), io.BytesIO()

    excel.write_bills_xlsx([row], xlsx, organization="Acme")
    excel.write_bills_csv([row], csv_file)

    ws = load_workbook(xlsx)["Bills"]
    cells = ws[2]
    assert {cell.data_type for cell in cells} <= {"s", "n", "d"}
    read_csv = list(csv.reader(io.StringIO(csv_file.getvalue().decode("utf-8-sig"))))[1]
    for index, text in zip(TEXT_COLUMNS, texts, strict=True):
        safe = excel.safe_text(text)
        assert (cells[index].value or "") == safe  # an empty string is an empty cell
        assert read_csv[index] == safe
