"""Login throttling (django-axes) and the session's life: rotated at login, ended at logout."""

from __future__ import annotations

import datetime as dt
from importlib import import_module

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from bills.tests.fixtures import PASSWORD

LIMIT = settings.AXES_FAILURE_LIMIT


def log_in(client, username="alice", password=PASSWORD, ip="192.0.2.10"):
    return client.post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, follow=True
    )


def fail(client, times, username="alice", ip="192.0.2.10"):
    for _ in range(times):
        response = log_in(client, username, "wrong-password", ip)
    return response


def is_logged_in(client) -> bool:
    return client.get("/bills/").status_code == 200


def test_it_locks_a_username_out_after_repeated_wrong_passwords(client, member):
    before_limit = fail(client, LIMIT - 1)
    locked = fail(client, 1)
    right_password = log_in(client)

    assert before_limit.status_code == 200
    assert "Please enter a correct username and password" in before_limit.content.decode()
    assert locked.status_code == 429
    # Even the right password is refused during the cool-off.
    assert right_password.status_code == 429
    assert not is_logged_in(client)


def test_the_login_page_says_why_and_for_how_long(client, member):
    page = fail(client, LIMIT).content.decode()

    assert "Too many failed attempts: logging in is paused." in page
    assert f"After {LIMIT} wrong passwords" in page
    assert "waits 15 minutes" in page
    assert "An administrator can unlock it sooner." in page
    # Still the console's login page, with the username kept.
    assert "Log in to the Billing Console" in page
    assert 'value="alice"' in page
    assert "Please enter a correct username" not in page


def test_the_lockout_is_for_that_username_from_that_ip_only(client, member, second_member):
    fail(client, LIMIT, username="alice", ip="192.0.2.10")

    colleague_same_office = log_in(Client(), username="bob", ip="192.0.2.10")
    same_user_elsewhere = log_in(Client(), username="alice", ip="198.51.100.20")

    assert colleague_same_office.redirect_chain[-1][0] == "/bills/"
    assert same_user_elsewhere.redirect_chain[-1][0] == "/bills/"


def test_the_lockout_ends_after_the_cool_off(client, member):
    fail(client, LIMIT)
    assert log_in(client).status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))

    assert log_in(client).redirect_chain[-1][0] == "/bills/"


def test_a_successful_login_forgets_earlier_failures(client, member):
    fail(client, LIMIT - 1)
    log_in(client)
    client.post("/logout/")

    response = fail(client, LIMIT - 1)

    assert response.status_code == 200
    assert log_in(client).redirect_chain[-1][0] == "/bills/"


@pytest.mark.parametrize(
    "command",
    [
        ["axes_reset_username", "alice"],
        ["axes_reset_ip_username", "192.0.2.10", "alice"],
        ["axes_reset"],
    ],
)
def test_an_administrator_unlocks_with_a_management_command(client, member, command):
    fail(client, LIMIT)

    call_command(*command)

    assert log_in(client).redirect_chain[-1][0] == "/bills/"


def test_an_administrator_unlocks_in_the_admin(client, member, admin_client):
    fail(client, LIMIT)
    attempt = AccessAttempt.objects.get(username="alice")

    admin_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})

    assert log_in(client).redirect_chain[-1][0] == "/bills/"


# Sessions -------------------------------------------------------------------------------


def session_exists(key: str) -> bool:
    return import_module(settings.SESSION_ENGINE).SessionStore().exists(key)


def test_logging_in_gives_a_new_session_key(client, member):
    anonymous = client.session
    anonymous["seen_login_page"] = True
    anonymous.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = anonymous.session_key

    log_in(client)

    new_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert new_key != anonymous.session_key
    # A session id planted before login (session fixation) is worth nothing after it.
    assert not session_exists(anonymous.session_key)
    assert session_exists(new_key)


def test_logging_out_ends_the_session_on_the_server(client, member):
    log_in(client)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value

    client.post("/logout/")

    assert not session_exists(key)
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    assert replay.get("/bills/")["Location"] == "/login/?next=/bills/"
