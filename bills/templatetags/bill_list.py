from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context, number: int) -> str:
    """`?...&page=N`: the list's own `query` (filter, sort, page size) if the view gave
    one, else the current query string, with the page number set."""
    base = context.get("query")
    query = (context.request.GET if base is None else base).copy()
    query["page"] = number
    return f"?{query.urlencode()}"


# What a screen reader hears after the column's name: how it is sorted, what a click does.
_SORT_HINTS = {
    "ascending": _("sorted smallest first; sort largest first"),
    "descending": _("sorted largest first; sort smallest first"),
    None: _("sort largest first"),
}


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label: str, numeric: bool = False) -> str:
    """A sortable column header for the public sort `key` (cycle, amount, overdraft):
    the first click sorts largest (newest) first, the next one reverses."""
    sort, query = context["sort"], context["query"]
    direction = {key: "ascending", f"-{key}": "descending"}.get(sort)
    target = query.copy()
    target["sort"] = key if direction == "descending" else f"-{key}"
    classes = " ".join(
        name for name, on in (("sortable", True), ("num", numeric), ("is-sorted", direction)) if on
    )
    return format_html(
        '<th scope="col" class="{}"{}><a href="?{}">{}<span class="sort-arrow" '
        'aria-hidden="true">{}</span><span class="visually-hidden"> ({})</span></a></th>',
        classes,
        format_html(' aria-sort="{}"', direction) if direction else "",
        target.urlencode(),
        label,
        {"ascending": "▲", "descending": "▼", None: "↕"}[direction],
        _SORT_HINTS[direction],
    )
