"""The load balancer's health check: is this server able to serve pages?"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import caches
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 when it does not; says what it checked and how
    each check went, never where a service is or how to log in to it."""
    checks = {"database": _database()}
    if settings.REDIS_URL:
        # A Redis that is down slows the pages but breaks none (bills/summaries.py): it is
        # reported, and the server stays in the load balancer's pool.
        checks["cache"] = _cache()
    healthy = checks["database"] == "ok"
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        logger.warning("Health check: the database is unreachable: %s", str(error).strip())
        return "unreachable"
    return "ok"


def _cache() -> str:
    try:
        caches["default"].get("healthz")  # a missing key answers None: Redis answered
    except Exception as error:
        logger.warning("Health check: the cache is unreachable: %s", error)
        return "unreachable"
    return "ok"
