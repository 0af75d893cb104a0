"""With REDIS_URL every cache of the console is in Redis, shared by every server; a
Redis that is down or slow costs speed, never a page."""

from __future__ import annotations

import socket
import time

import pytest
from django.core.cache import caches

from bills import summaries
from bills.services import bill_clear
from bills.tests.html import bill_rows, summary
from bills.tests.redis_server import MISSING, REDIS_SERVER, redis_server
from bills.tests.test_deploy import probe, production_env
from bills.tests.test_health import closed_port

redis = pytest.importorskip("redis", reason="redis-py is missing: install requirements.txt")

ALIASES = ("default", summaries.SUMMARIES, summaries.PAGES)
NEAR = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "bill-near",
    "OPTIONS": {"MAX_ENTRIES": 300},
}


def on_redis(settings, url: str, timeout: float = 0.25) -> None:
    """Every cache on the Redis at `url`, as settings.py configures them with REDIS_URL."""
    settings.REDIS_URL = url
    settings.CACHES = {
        alias: {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"billing:{alias}",
            "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
        }
        for alias in ALIASES
    } | {summaries.NEAR: NEAR}
    caches[summaries.NEAR].clear()  # in this process's memory, across tests


def test_redis_url_puts_every_cache_in_redis_each_under_its_own_prefix():
    out = probe(
        production_env(REDIS_URL="redis://cache.internal:6379/0"),
        """
        from django.conf import settings
        out.update(settings.CACHES)
        """,
    )

    assert set(out) == {*ALIASES, summaries.NEAR}
    assert out.pop(summaries.NEAR) == NEAR  # each process's copy of what it read
    for alias, cache in out.items():
        assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
        assert cache["LOCATION"] == "redis://cache.internal:6379/0"
        assert cache["KEY_PREFIX"] == f"billing:{alias}"
        assert cache["OPTIONS"] == {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}


def test_without_redis_url_one_machine_keeps_its_local_caches():
    out = probe(production_env(), "from django.conf import settings; out.update(settings.CACHES)")

    assert {alias: cache["BACKEND"].rsplit(".", 1)[-1] for alias, cache in out.items()} == {
        "default": "LocMemCache",
        summaries.SUMMARIES: "FileBasedCache",
        summaries.PAGES: "LocMemCache",
    }


@pytest.mark.skipif(REDIS_SERVER is None, reason=MISSING)
def test_the_bills_page_is_kept_in_redis_and_a_change_shows_at_once(
    member_client, make_bill, application, settings
):
    first = make_bill(application, cycle="2026-10")
    make_bill(application, cycle="2026-09")
    with redis_server() as url:
        on_redis(settings, url)
        before = member_client.get("/bills/")
        keys = redis.Redis.from_url(url).keys()
        again = member_client.get("/bills/")  # from this process's own copy

        bill_clear(bill=first)
        after = member_client.get("/bills/")

    assert summary(before)["Total pending"] == summary(again)["Total pending"] == "300.00 USD"
    prefixes = {key.decode().split(":")[1] for key in keys}
    assert prefixes == {summaries.SUMMARIES, summaries.PAGES}
    assert summary(after)["Total pending"] == "150.00 USD"
    assert [row["Status"] for row in bill_rows(after)] == ["Cleared", "Pending"]


def test_a_redis_that_is_down_costs_speed_never_a_page(member_client, bill, settings, caplog):
    on_redis(settings, f"redis://127.0.0.1:{closed_port()}/0")

    started = time.monotonic()
    page = member_client.get("/bills/")
    again = member_client.get("/bills/")
    elapsed = time.monotonic() - started

    assert page.status_code == again.status_code == 200
    assert summary(again)["Total pending"] == "150.00 USD"
    assert [row["Status"] for row in bill_rows(again)] == ["Pending"]
    assert elapsed < 5
    assert "Cannot read the bill_pages cache" in caplog.text
    assert member_client.get(f"/bills/{bill.pk}/pdf/").status_code == 200


def test_a_redis_that_does_not_answer_costs_at_most_its_timeout_per_call(
    member_client, bill, settings
):
    # It accepts connections (the kernel does, into the backlog) and never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        on_redis(settings, f"redis://127.0.0.1:{silent.getsockname()[1]}/0", timeout=0.1)

        started = time.monotonic()
        page = member_client.get("/bills/")
        elapsed = time.monotonic() - started

    assert page.status_code == 200
    assert summary(page)["Total pending"] == "150.00 USD"
    # Three reads and three writes (badge, totals, content), 0.1 s each at most.
    assert elapsed < 0.6 + 2
