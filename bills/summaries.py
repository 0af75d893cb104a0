"""The Bills page's summary and the Pending badge, cached per organization and filter.

Adding up 100,000 bills takes ~18 ms of database time per page view; the figures only
change when a bill does. They live in the `bill_summaries` cache (files shared by every
worker on the host, see settings.CACHES). Every key holds the organization's `bills_version`, which
database triggers raise on any insert, update or delete of its bills and which is read
fresh with the organization on every request (CurrentOrganizationMiddleware). So a change
is seen by the next request in every process, whatever cache backend holds the figures:
an old key is simply never asked for again and expires.

Requests that search (`q`) are not cached: a search matches application names and
AppKeys, whose changes the version does not follow.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from django.core.cache import caches

from .models import Bill, BillSummary, Organization

CACHE_ALIAS = "bill_summaries"
# Entries of old versions are never read again; this only bounds how long they linger.
TIMEOUT = 600

logger = logging.getLogger(__name__)


def _cached[T](key: str, compute: Callable[[], T]) -> T:
    """`compute()`, from the cache if it holds `key`. A cache that cannot be read or
    written (full disk, wrong permissions) costs the database work, never the page."""
    try:
        value = caches[CACHE_ALIAS].get(key)
    except Exception:
        logger.exception("Cannot read the %s cache", CACHE_ALIAS)
        return compute()
    if value is None:
        value = compute()
        try:
            caches[CACHE_ALIAS].set(key, value, TIMEOUT)
        except Exception:
            logger.exception("Cannot write the %s cache", CACHE_ALIAS)
    return value


def _key(kind: str, organization: Organization, parts: object = ()) -> str:
    # created_at: SQLite may hand a deleted organization's id to a new one.
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    stamp = organization.created_at.timestamp()
    return f"bills:{kind}:{organization.pk}:{stamp}:{organization.bills_version}:{digest}"


def bill_summary(bills, organization: Organization | None) -> BillSummary:
    """`bills.qs.summary()` for a valid BillFilter on `organization`'s bills."""
    query = bills.as_query()
    query.pop("sort", None)  # the order changes no total
    if organization is None or query.get("q"):
        return bills.qs.summary()
    return _cached(_key("summary", organization, sorted(query.lists())), bills.qs.summary)


def pending_count(organization: Organization | None) -> int:
    """How many of the organization's bills are Pending (the top navigation's badge)."""
    if organization is None:
        return 0
    return _cached(
        _key("pending", organization), Bill.objects.for_organization(organization).pending().count
    )
