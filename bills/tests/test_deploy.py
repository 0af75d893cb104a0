"""The production configuration, run for real in subprocesses with DEBUG=0.

The test suite itself runs with the development settings; these tests start Django the
way production does (the README's environment), against a throwaway SQLite database and
STATIC_ROOT, and look at what a browser would get.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
HOST = "billing.example.com"


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "SECURE_", "STATIC_", "AXES_"))
    }
    env |= {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        "CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
        "DATABASE_URL": "postgres://billing:secret@db.internal:5432/billing",
        "DJANGO_SETTINGS_MODULE": "billing_console.settings",
        "LOG_LEVEL": "ERROR",
    }
    return env | overrides


def run(args: list[str], env: dict[str, str], timeout: int = 120):
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def probe(env: dict[str, str], code: str) -> dict:
    """Runs `code` in a production Django with a test Client `client`; returns its `out`."""
    script = "\n".join(
        [
            "import json, django",
            "django.setup()",
            "from django.test import Client",
            f"client = Client(HTTP_HOST={HOST!r}, raise_request_exception=False)",
            "out = {}",
            textwrap.dedent(code),
            "print('PROBE=' + json.dumps(out))",
        ]
    )
    result = run(["-c", script], env)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("PROBE="))
    return json.loads(line.removeprefix("PROBE="))


@pytest.fixture(scope="module")
def production(tmp_path_factory, production_static) -> dict[str, str]:
    """A migrated database and collected static files, as scripts/serve prepares them."""
    home = tmp_path_factory.mktemp("production")
    env = production_env(
        DATABASE_URL=f"sqlite:///{home / 'db.sqlite3'}", STATIC_ROOT=str(production_static)
    )
    result = run(["manage.py", "migrate", "--noinput"], env, timeout=300)
    assert result.returncode == 0, result.stderr
    return env


def test_the_production_settings_pass_the_deploy_check():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deploy_check_fails_on_a_weakened_setting():
    weakened = production_env(SECURE_HSTS_SECONDS="0")

    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], weakened)

    assert result.returncode != 0
    assert "security.W004" in result.stderr  # HSTS not set


def test_production_refuses_to_start_without_a_secret_key():
    result = run(["manage.py", "check"], production_env(SECRET_KEY=""))

    assert result.returncode != 0
    assert "Set SECRET_KEY when DEBUG=0." in result.stderr


def test_static_files_get_hashed_names_and_gzip_copies(production):
    static = Path(production["STATIC_ROOT"])
    manifest = json.loads((static / "staticfiles.json").read_text())["paths"]

    hashed = manifest["css/console.css"]
    assert hashed != "css/console.css" and hashed.startswith("css/console.")
    assert (static / hashed).exists()
    assert (static / f"{hashed}.gz").exists()
    assert "admin/js/actions.js" in manifest


def test_production_serves_pages_securely_with_hashed_static_files(production):
    out = probe(
        production,
        """
        plain = client.get("/login/")
        page = client.get("/login/", secure=True)
        html = page.content.decode()
        css = html.split('rel="stylesheet" href="')[1].split('"')[0]
        static = client.get(css, secure=True, HTTP_ACCEPT_ENCODING="gzip")
        out.update(
            redirect=[plain.status_code, plain.get("Location")],
            status=page.status_code,
            hsts=page.get("Strict-Transport-Security"),
            csp=page.get("Content-Security-Policy"),
            css=css,
            static=[
                static.status_code, static.get("Content-Encoding"), static.get("Cache-Control")
            ],
        )
        """,
    )

    assert out["redirect"] == [301, f"https://{HOST}/login/"]
    assert out["status"] == 200
    assert out["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert "default-src 'self'" in out["csp"]
    assert out["css"].startswith("/static/css/console.") and out["css"] != "/static/css/console.css"
    status, encoding, cache = out["static"]
    assert (status, encoding) == (200, "gzip")
    assert "max-age=315360000" in cache and "immutable" in cache


def test_production_cookies_are_secure_httponly_and_same_site(production):
    out = probe(
        production,
        """
        from django.contrib.auth import get_user_model
        get_user_model().objects.create_user("erin", password="a-long-test-password-2026")
        client.get("/login/", secure=True)
        response = client.post(
            "/login/", {"username": "erin", "password": "a-long-test-password-2026"}, secure=True
        )
        for name in ("sessionid", "csrftoken"):
            cookie = response.cookies.get(name) or client.cookies[name]
            out[name] = {
                "secure": bool(cookie["secure"]),
                "httponly": bool(cookie["httponly"]),
                "samesite": cookie["samesite"],
                "max_age": cookie["max-age"],
            }
        out["status"] = [response.status_code, response.get("Location")]
        """,
    )

    assert out["status"] == [302, "/bills/"]
    for name in ("sessionid", "csrftoken"):
        assert out[name]["secure"] and out[name]["httponly"], name
        assert out[name]["samesite"] == "Lax", name
    assert out["sessionid"]["max_age"] == 8 * 60 * 60


def test_production_error_pages_show_no_debug_information(production):
    out = probe(
        production,
        """
        missing = client.get("/no/such/page/", secure=True)
        out.update(status=missing.status_code, page=missing.content.decode())
        """,
    )

    assert out["status"] == 404
    assert "This page does not exist" in out["page"]
    assert "/static/css/console." in out["page"]
    assert "URLconf" not in out["page"] and "Traceback" not in out["page"]


def test_an_unreachable_database_is_a_503_in_production(production):
    # Nothing listens on port 1: the connection is refused, as when PostgreSQL is stopped.
    down = production | {"DATABASE_URL": "postgres://billing:secret@127.0.0.1:1/billing"}

    out = probe(
        down,
        """
        import time
        client.cookies["sessionid"] = "a-session-from-before-the-outage"
        started = time.monotonic()
        response = client.get("/bills/", secure=True)
        out.update(
            status=response.status_code,
            retry=response.get("Retry-After"),
            page=response.content.decode(),
            seconds=time.monotonic() - started,
        )
        """,
    )

    assert out["status"] == 503
    assert out["retry"] == "10"
    assert "try again in a few seconds" in out["page"]
    assert "127.0.0.1" not in out["page"] and "OperationalError" not in out["page"]
    assert out["seconds"] < 5


def test_the_wsgi_application_loads_its_views_before_the_first_request(production):
    # gunicorn (preload_app) imports wsgi.py once and forks the workers from it: the views,
    # WeasyPrint and openpyxl must come with it, not on each worker's first request. And
    # importing it must not need the database (the master never queries).
    env = production | {"DATABASE_URL": "postgres://billing:secret@127.0.0.1:9/billing"}
    code = (
        "import sys; import billing_console.wsgi; "
        "print(sorted(m for m in ('bills.views', 'weasyprint', 'openpyxl') if m in sys.modules))"
    )

    result = run(["-c", code], env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['bills.views', 'openpyxl', 'weasyprint']"
