from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context, number: int) -> str:
    """`?...&page=N`: the list's own `query` (filter, sort, page size) if the view gave
    one, else the current query string, with the page number set."""
    base = context.get("query")
    query = (context.request.GET if base is None else base).copy()
    query["page"] = number
    return f"?{query.urlencode()}"
