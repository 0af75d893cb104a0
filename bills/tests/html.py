"""Read the Bills page the way a user does: rows, cells, messages."""

from __future__ import annotations

import lxml.html


def _tree(response):
    return lxml.html.fromstring(response.content.decode())


def _text(element) -> str:
    return " ".join(element.text_content().split())


def bill_rows(response) -> list[dict[str, str]]:
    """Each row of the bill table as {column label: cell text}."""
    return [
        {cell.get("data-label"): _text(cell) for cell in row.xpath("./td")}
        for row in _tree(response).xpath("//table[contains(@class, 'bill-table')]/tbody/tr")
    ]


def app_keys(response) -> list[str]:
    """The AppKey of each row, top to bottom."""
    return [
        row["Product Information"].split("AppKey ")[1].split()[0] for row in bill_rows(response)
    ]


def cycles(response) -> list[str]:
    return [row["Billing Cycle"] for row in bill_rows(response)]


def summary(response) -> dict[str, str]:
    """The summary cards: {"Bills": "3", "Total consumption": "1.23 USD", ...}."""
    cards = _tree(response).xpath("//dl[@class='summary-cards']/div")
    return {_text(card.xpath("./dt")[0]): _text(card.xpath("./dd")[0]) for card in cards}


def errors(response) -> list[str]:
    """Every error message shown next to a field."""
    return [_text(item) for item in _tree(response).xpath("//ul[@class='errorlist']/li")]


def notices(response) -> list[str]:
    return [_text(p) for p in _tree(response).xpath("//div[@id='pager-errors']/p")]


def links(response, text: str) -> list[str]:
    """The href of every link whose text starts with `text`."""
    return [a.get("href") for a in _tree(response).xpath("//a") if _text(a).startswith(text)]


def visible_text(response) -> str:
    return _text(_tree(response).xpath("//main")[0])


def filter_form(response) -> dict[str, list[str]]:
    """What the filter form would submit as it is shown: the filter in effect."""
    form = _tree(response).xpath("//form[contains(@class, 'bill-filters')]")[0]
    values: dict[str, list[str]] = {}
    for name, value in form.form_values():
        if value:
            values.setdefault(name, []).append(value)
    return values
