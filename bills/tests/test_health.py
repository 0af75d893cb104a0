"""The load balancer asks /healthz whether a server can serve pages: 200 while the
database answers, 503 when it does not, with what was checked and nothing secret."""

from __future__ import annotations

import socket

import pytest

from bills.tests.test_deploy import probe, production_env


def closed_port() -> int:
    """A local port nothing listens on: a connection to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_it_answers_200_with_what_it_checked_without_a_login(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


def test_it_is_never_cached(client, db):
    response = client.get("/healthz")

    assert "no-store" in response["Cache-Control"]
    assert "max-age=0" in response["Cache-Control"]


def test_it_only_answers_reads(client, db):
    assert client.post("/healthz").status_code == 405
    assert client.head("/healthz").status_code == 200


def test_with_redis_configured_it_reports_the_cache_and_stays_up_without_it(client, db, settings):
    pytest.importorskip("redis", reason="redis-py is missing: install requirements.txt")
    url = f"redis://:a-password@127.0.0.1:{closed_port()}/0"
    settings.REDIS_URL = url
    settings.CACHES = settings.CACHES | {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "unreachable"},
    }
    assert b"a-password" not in response.content and b"127.0.0.1" not in response.content


@pytest.mark.parametrize(
    "database_url",
    [
        # Nothing listens there: refused, as when PostgreSQL is stopped.
        "postgres://billing:a-password@127.0.0.1:1/billing",
        "sqlite:////nonexistent-directory/db.sqlite3",
    ],
)
def test_an_unreachable_database_is_a_503_over_plain_http_in_production(database_url):
    down = production_env(DATABASE_URL=database_url)

    # Over plain HTTP, as a load balancer asks each server directly: not redirected.
    out = probe(
        down,
        """
        response = client.get("/healthz")
        out.update(status=response.status_code, body=response.content.decode())
        """,
    )

    assert out["status"] == 503
    assert '"database": "unreachable"' in out["body"]
    assert '"status": "unavailable"' in out["body"]
    for secret in ("a-password", "127.0.0.1", "nonexistent", "billing:"):
        assert secret not in out["body"]


def test_a_reachable_database_is_a_200_over_plain_http_in_production(tmp_path):
    up = production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")

    out = probe(
        up,
        """
        response = client.get("/healthz")
        out.update(status=response.status_code, body=response.json())
        """,
    )

    assert out == {"status": 200, "body": {"status": "ok", "checks": {"database": "ok"}}}
