"""The OpenAPI schema (issue 16): generated from the code, and the API keeps to it.

Schemathesis sends what the schema allows (and a little it does not) to a live server:
no 500s, every answer's status, content type and body as the schema describes."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# Per operation: enough to try each filter's bad values, few enough for CI.
MAX_EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_the_schema_is_openapi_3_and_names_every_endpoint(api_client):
    schema = api_client.get("/api/v1/openapi.json").json()

    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/v1/bills/",
        "/api/v1/bills/{id}/",
        "/api/v1/bills/{id}/pdf/",
        "/api/v1/products/",
        "/api/v1/orders/",
        "/api/v1/orders/{id}/",
        "/api/v1/exports/",
        "/api/v1/exports/{id}/",
        "/api/v1/exports/{id}/file/",
    }
    money = schema["components"]["schemas"]["Bill"]["properties"]["consumption_amount"]
    assert money["type"] == "string" and money["format"] == "decimal"
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


@pytest.mark.django_db(transaction=True)
def test_the_api_keeps_to_its_schema(live_server, site, api_key, settings):
    # schemathesis.pytest.from_fixture does not run under pytest 9: each operation's
    # Hypothesis strategy is driven here instead (schemathesis's public `as_strategy`).
    settings.API_RATE_LIMIT_PER_MINUTE = 100_000  # this run is not a script to slow down
    _key, secret = api_key
    headers = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_url(
        f"{live_server.url}/api/v1/openapi.json", headers=headers
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def keeps_to_the_schema(case) -> None:
            case.call_and_validate(base_url=live_server.url, headers=headers, checks=CHECKS)

        keeps_to_the_schema()
