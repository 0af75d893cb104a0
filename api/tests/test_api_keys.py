"""API keys (issue 16): a key is its organization's, read-only, stored only as a hash,
refused at once when revoked, and limited to a number of requests a minute."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.authentication import ApiKeyAuthentication
from api.models import ApiKey
from api.services import api_key_create, api_key_revoke
from bills.models import AuditEvent


def bearer(secret: str) -> Client:
    return Client(headers={"authorization": f"Bearer {secret}"})


def test_it_stores_only_a_hash_of_the_secret(api_key):
    key, secret = api_key

    stored = ApiKey.objects.get()
    assert secret.startswith(f"bc_{key.prefix}_")
    assert secret.split("_", 2)[2] not in repr(stored.__dict__)
    assert stored.secret_hash == hashlib.sha256(secret.split("_", 2)[2].encode()).hexdigest()


def test_a_script_with_a_key_reads_the_bills(api_client, bill):
    response = api_client.get("/api/v1/bills/")

    assert response.status_code == 200
    assert [row["number"] for row in response.json()["results"]] == [bill.number]
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer bc_00000000_not-a-key",  # unknown prefix
        "Bearer nonsense",  # not shaped like a key
        "Bearer",  # no key at all
        "Bearer a b",
        "Bearer bc_0000\x0000_secret",  # a NUL, which PostgreSQL would refuse to compare
    ],
)
def test_an_unknown_key_is_a_401_with_a_json_error(db, header):
    response = Client(headers={"authorization": header}).get("/api/v1/bills/")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_right_prefix_with_a_wrong_secret_is_refused(api_key, bill):
    key, secret = api_key

    response = bearer(f"bc_{key.prefix}_{'x' * 43}").get("/api/v1/bills/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Unknown API key."}


def test_no_key_at_all_is_a_401_not_a_login_page(db):
    response = Client().get("/api/v1/bills/")

    assert response.status_code == 401
    assert response.json()["detail"]


def test_a_revoked_key_is_refused_by_every_server_at_once(api_key, member, bill):
    key, secret = api_key
    # Two servers: two clients, the key looked up in the database on each request.
    first, second = bearer(secret), bearer(secret)
    assert first.get("/api/v1/bills/").status_code == 200
    assert second.get("/api/v1/bills/").status_code == 200

    api_key_revoke(key=key, revoked_by=member)

    for server in (first, second):
        response = server.get("/api/v1/bills/")
        assert response.status_code == 401
        assert response.json() == {"detail": "This API key has been revoked."}


def test_the_key_is_read_from_the_database_on_every_request(api_key, bill):
    key, secret = api_key
    client = bearer(secret)
    client.get("/api/v1/bills/")

    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/bills/")

    assert any('"api_apikey"' in query["sql"] and "prefix" in query["sql"] for query in queries)


def test_the_secret_is_compared_in_constant_time(api_key, monkeypatch):
    key, secret = api_key
    compared = []
    import api.models

    real = api.models.hmac.compare_digest
    monkeypatch.setattr(
        api.models.hmac, "compare_digest", lambda a, b: compared.append(1) or real(a, b)
    )

    assert key.matches(secret.split("_", 2)[2])
    assert compared == [1]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_key_changes_nothing(api_client, bill, method):
    response = getattr(api_client, method)(f"/api/v1/bills/{bill.pk}/")

    assert response.status_code == 405
    assert response.json()["detail"]


def test_a_key_of_one_organization_cannot_see_anothers_bill(
    api_client, make_bill, other_application, bill
):
    theirs = make_bill(other_application)

    for url in (f"/api/v1/bills/{theirs.pk}/", f"/api/v1/bills/{theirs.pk}/pdf/"):
        response = api_client.get(url)
        assert response.status_code == 404
        # Exactly what a missing id answers.
        assert response.json() == api_client.get("/api/v1/bills/999999/").json()
    assert [row["id"] for row in api_client.get("/api/v1/bills/").json()["results"]] == [bill.pk]


def test_a_key_cannot_open_the_console_pages(api_client, bill):
    # The console is for people: a key is not a session.
    assert api_client.get("/bills/").status_code == 302
    assert api_client.get("/api-keys/").status_code == 302


def test_each_use_is_remembered(api_client, api_key):
    key, _secret = api_key
    assert key.last_used_at is None

    api_client.get("/api/v1/products/")

    key.refresh_from_db()
    assert key.last_used_at is not None


def test_over_the_limit_a_key_gets_429_with_retry_after(api_client, bill, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 3

    statuses = [api_client.get("/api/v1/bills/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    refused = api_client.get("/api/v1/bills/")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"]


def test_the_limit_is_counted_in_the_database_shared_by_every_server(api_key, bill, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    key, secret = api_key

    assert bearer(secret).get("/api/v1/bills/").status_code == 200
    assert bearer(secret).get("/api/v1/bills/").status_code == 200
    assert bearer(secret).get("/api/v1/bills/").status_code == 429  # a third "server"
    assert ApiKey.objects.get().rate_count == 3


def test_servers_whose_clocks_differ_count_the_same_minute(api_key, bill, settings, monkeypatch):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    _key, secret = api_key
    assert bearer(secret).get("/api/v1/bills/").status_code == 200

    # A server whose clock runs 90 seconds ahead: by its own clock, a new minute.
    ahead = timezone.now() + dt.timedelta(seconds=90)
    with monkeypatch.context() as skewed:
        skewed.setattr(timezone, "now", lambda: ahead)
        assert bearer(secret).get("/api/v1/bills/").status_code == 200

    assert bearer(secret).get("/api/v1/bills/").status_code == 429
    assert ApiKey.objects.get().rate_count == 3


def test_a_new_minute_starts_a_new_count(api_key, bill, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    key, secret = api_key
    assert bearer(secret).get("/api/v1/bills/").status_code == 200
    ApiKey.objects.filter(pk=key.pk).update(
        rate_window=ApiKey.objects.get().rate_window - dt.timedelta(minutes=1)
    )

    assert bearer(secret).get("/api/v1/bills/").status_code == 200


def test_another_keys_count_is_its_own(api_key, organization, member, bill, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    _key, secret = api_key
    _other, other_secret = api_key_create(organization=organization, name="BI", created_by=member)

    assert bearer(secret).get("/api/v1/bills/").status_code == 200
    assert bearer(other_secret).get("/api/v1/bills/").status_code == 200


def test_making_and_revoking_a_key_is_in_the_audit_trail(api_key, member):
    key, _secret = api_key

    api_key_revoke(key=key, revoked_by=member)
    api_key_revoke(key=key, revoked_by=member)  # twice: recorded once

    events = AuditEvent.objects.order_by("id").values_list("action", "actor_username", "details")
    assert list(events) == [
        ("api_key_created", "alice", {"prefix": key.prefix, "name": "Month-end script"}),
        ("api_key_revoked", "alice", {"prefix": key.prefix, "name": "Month-end script"}),
    ]


def test_the_key_asks_for_bearer_in_its_challenge():
    assert ApiKeyAuthentication().authenticate_header(None).startswith("Bearer")
