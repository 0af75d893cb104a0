"""A request for a host the console does not serve (a scanner, a misrouted request) is
a 400 and one line in the log, not a traceback per probe that buries real errors."""

from __future__ import annotations

import logging

import pytest


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "[::2]", "a" * 300])
def test_a_foreign_host_is_a_400_and_one_log_line(client, db, caplog, host):
    caplog.set_level(logging.INFO)

    response = client.get("/bills/", HTTP_HOST=host)

    assert response.status_code == 400
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.name == "django.security.DisallowedHost"
    assert record.exc_info is None
    line = caplog.handler.format(record)
    assert "Invalid HTTP_HOST header" in line
    assert "Traceback" not in line
    assert "\n" not in line


def test_a_signed_in_user_behind_a_foreign_host_gets_the_same(member_client, caplog):
    response = member_client.get("/bills/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert "Traceback" not in caplog.text
    assert len(caplog.text.strip().splitlines()) == 1


def test_other_errors_keep_their_traceback(caplog):
    """The filter is on the DisallowedHost logger only."""
    try:
        raise ValueError("a real bug")
    except ValueError:
        logging.getLogger("django.request").exception("Internal Server Error: /bills/")

    assert "Traceback" in caplog.text
