"""The Bills page's totals, its Pending badge and its rendered content, cached per
organization and filter.

Adding up 100,000 bills takes ~18 ms of database time per page view, and rendering the
filters and the table ~10 ms of Python; neither changes until something the page shows
does. Every key holds the organization's `bills_version`, which database triggers raise
on any insert, update or delete of its bills or applications, or of a product, and which
is read fresh with the organization on every request (CurrentOrganizationMiddleware). So
a change is seen by the next request in every process: an old key is simply never asked
for again and expires.

The totals and the badge live in `bill_summaries` (files shared by every worker on the
host, see settings.CACHES), the content in `bill_pages` (each process's memory); with
REDIS_URL both are in Redis, shared by every server. Every key also holds a digest of the
app's code and templates, so servers running old and new code side by side during a
deploy never read each other's entries. Searches (`q`) are not cached: each is typed
once, and would only push out entries that are read again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

import django_filters
from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, QueryDict
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from .code_version import code_version
from .filters import BillFilter
from .models import Bill, BillSummary, Organization
from .overview import Overview, Sparkline, consumption_sparkline
from .paging import PageForm
from .roles import permits

# The Bills page's own parameters: its filter's, the page and the page size.
PAGE_PARAMETERS = frozenset((*BillFilter.base_filters, *PageForm.base_fields))
MULTIPLE_VALUE_PARAMETERS = frozenset(
    name
    for name, bill_filter in BillFilter.base_filters.items()
    if isinstance(bill_filter, django_filters.MultipleChoiceFilter)
)

SUMMARIES = "bill_summaries"
PAGES = "bill_pages"
# With REDIS_URL, each process's own copy of the entries it read from or wrote to Redis
# (settings.CACHES): an entry never changes under its key, which holds bills_version and
# the code's version, so a copy cannot go stale, and reading it again costs no round trip
# to Redis, two of which were a tenth of a cached Bills page (bench/bench_load.py).
NEAR = "bill_near"
# Entries of old versions are never read again; this only bounds how long they linger.
TIMEOUT = 600

logger = logging.getLogger(__name__)


# The code and templates that make what is stored (BillSummary, the page's content): a
# shared cache outlives a deploy, and must not hand new code an object pickled by the old
# one, nor a page in the old layout.
CODE = ("bills/*.py", "bills/templatetags/*.py", "templates/bills/*.html")


def _key(kind: str, organization: Organization, parts: object = ()) -> str:
    # created_at: SQLite may hand a deleted organization's id to a new one.
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    stamp = organization.created_at.timestamp()
    version = f"{organization.bills_version}:{code_version(*CODE)}"
    return f"bills:{kind}:{organization.pk}:{stamp}:{version}:{digest}"


def _cached[T](alias: str, key: str, compute: Callable[[], T]) -> T:
    """`compute()`, from the cache if it holds `key`. A cache that cannot be read or
    written (full disk, wrong permissions, a Redis that is down or slow) costs the work,
    never the page. One line per failure, no traceback: an outage of the cache must not
    bury the log."""
    near = caches[NEAR] if _kept_near(alias) else None
    if near is not None and (value := near.get(key)) is not None:
        return value
    try:
        value = caches[alias].get(key)
    except Exception as error:
        logger.warning("Cannot read the %s cache: %r", alias, error)
        value = compute()  # not written back: the cache has just failed
    else:
        if value is None:
            value = compute()
            try:
                caches[alias].set(key, value, TIMEOUT)
            except Exception as error:
                logger.warning("Cannot write the %s cache: %r", alias, error)
    if near is not None:
        near.set(key, value, TIMEOUT)
    return value


def _kept_near(alias: str) -> bool:
    """Whether `alias` is on Redis (not the page content's DummyCache under DEBUG)."""
    configured = settings.CACHES
    return NEAR in configured and configured[alias]["BACKEND"].endswith(".RedisCache")


def bill_summary(bills, organization: Organization | None) -> BillSummary:
    """`bills.qs.summary()` for a valid BillFilter on `organization`'s bills."""
    query = bills.as_query()
    query.pop("sort", None)  # the order changes no total
    if organization is None or query.get("q"):
        return bills.qs.summary()
    key = _key("summary", organization, sorted(query.lists()))
    return _cached(SUMMARIES, key, bills.qs.summary)


def bill_sparkline(summary: BillSummary, organization: Organization) -> Sparkline | None:
    """The Bills page's 12-month sparkline, drawn from its totals (`bill_summary`), which
    hold the consumption per month: cached with them, and no query of its own."""
    return consumption_sparkline(summary.months, organization.currency)


def overview_figures(bills, organization: Organization, build: Callable[[], Overview]) -> Overview:
    """The Overview's figures for a valid BillFilter (`build()`), cached like the Bills
    page's totals: its query always names its range, so the key never depends on today."""
    query = bills.as_query()
    query.pop("sort", None)
    if query.get("q"):
        return build()
    return _cached(SUMMARIES, _key("overview", organization, sorted(query.lists())), build)


def pending_count(organization: Organization | None) -> int:
    """How many of the organization's bills are Pending (the top navigation's badge)."""
    if organization is None:
        return 0
    count = Bill.objects.for_organization(organization).pending().count
    return _cached(SUMMARIES, _key("pending", organization), count)


def bill_list_content(request: HttpRequest, render: Callable[[], str]) -> SafeString:
    """The Bills page's content for this request's query string: `render()`, or what it
    returned for the same organization, version and query.

    The content holds nothing of the user (the shell around it does: name, badge,
    tokens), only the organization's bills, applications and products and the query;
    the organization's name and currency, shown in it, and the language it is written
    in are part of the key."""
    organization = request.organization
    if organization is None or any(q.strip() for q in request.GET.getlist("q")):
        return mark_safe(render())
    # The language too: the same bills read differently in English and in Chinese; and
    # whether the role shows the export buttons (bills/roles.py).
    exports = permits(getattr(request, "role", None), "bills:export_xlsx")
    parts = (
        organization.name,
        organization.currency,
        get_language(),
        exports,
        page_query(request.GET),
    )
    return mark_safe(_cached(PAGES, _key("page", organization, parts), render))


def page_query(query: QueryDict) -> list[tuple[str, list[str]]]:
    """What the Bills page reads of `query`, in one order: the key of its content.

    Any other parameter (`?utm_source=...`) changes nothing on the page, so it must not
    make a new entry that pushes out other organizations' pages. A single-value parameter
    given once and empty reads as absent (the filter form submits its empty fields);
    an empty product id is an error, so the products keep theirs."""
    understood = []
    for name in sorted(PAGE_PARAMETERS):
        values = query.getlist(name)
        if values and not (values == [""] and name not in MULTIPLE_VALUE_PARAMETERS):
            understood.append((name, values))
    return understood
