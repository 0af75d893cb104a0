"""Two web servers behind one (imaginary) load balancer: one PostgreSQL, one Redis, one
directory for the PDFs and the exports. What a member or a script with an API key does
through one, the other shows.

Real processes: Debian's redis-server on a socket of its own, two gunicorns with
gunicorn.conf.py and the README's production environment on two free ports, and a
`manage.py db_worker`; the test speaks plain HTTP to them, as a browser behind a TLS
proxy would.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.client import HTTPConnection
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import lxml.html
import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from api.models import ApiKey
from bills.tests.fixtures import PASSWORD
from bills.tests.html import bill_rows
from bills.tests.redis_server import MISSING, REDIS_SERVER, redis_server
from exports.tests.test_worker import database_url

pytest.importorskip("redis", reason="redis-py is missing: install requirements.txt")
pytestmark = [pytest.mark.servers, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
HOST = "127.0.0.1"
FAILURE_LIMIT = 3


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    content: bytes

    def form_token(self) -> str:
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', self.content)
        assert match, f"no CSRF token in a {self.status} page"
        return match.group(1).decode()


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    def renders(self) -> list[str]:
        """The PDFs this server rendered, from its log (bills.pdf logs each render)."""
        return re.findall(r"Rendered (\S+)", self.log.read_text(errors="replace"))


@dataclass
class Browser:
    """One person's browser: its cookies go to whichever server the balancer picks."""

    cookies: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # a script's Authorization

    def request(
        self, server: Server, method: str, path: str, form=None, *, json_body=None
    ) -> Response:
        origin = f"https://{HOST}:{server.port}"
        headers = {"Host": f"{HOST}:{server.port}", "X-Forwarded-Proto": "https"} | self.headers
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if json_body is not None:
            body = json.dumps(json_body)
            headers["Content-Type"] = "application/json"
        if form is not None:
            body = urlencode(form, doseq=True)
            headers |= {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": origin,
                "Referer": f"{origin}{path}",
            }
        http = HTTPConnection(HOST, server.port, timeout=60)
        try:
            http.request(method, path, body=body, headers=headers)
            answer = http.getresponse()
            response = Response(answer.status, dict(answer.getheaders()), answer.read())
        finally:
            http.close()
        for name, value in answer.getheaders():
            if name.lower() == "set-cookie":
                self.cookies |= {key: m.value for key, m in SimpleCookie(value).items()}
        return response

    def get(self, server: Server, path: str) -> Response:
        return self.request(server, "GET", path)

    def submit(self, server: Server, path: str, form: dict, *, page: str | None = None):
        """Posts `form` to `path` with the CSRF token of the form on `page` (or `path`)."""
        token = self.get(server, page or path).form_token()
        return self.request(server, "POST", path, form | {"csrfmiddlewaretoken": token})

    def log_in(self, server: Server, username: str, password: str) -> Response:
        return self.submit(server, "/login/", {"username": username, "password": password})


@dataclass
class Cluster:
    a: Server
    b: Server
    env: dict[str, str]
    home: Path

    @property
    def pdf_files(self) -> list[Path]:
        return sorted((self.home / "cache" / "bill-pdfs").rglob("*.pdf"))

    def run_worker(self) -> str:
        """One `manage.py db_worker --batch`: runs what is queued, then exits."""
        result = subprocess.run(
            [sys.executable, "manage.py", "db_worker", "--batch", "--no-reload"]
            + ["--no-startup-delay", "--queue-name", "default,exports", "--interval", "0.2"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """The servers' own hasher, which reads the iterations from the hash, at few of them:
    the suite's MD5 hashes are unknown to a server with the production settings."""

    iterations = 1000


@pytest.fixture(autouse=True)
def passwords_the_servers_can_check(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.QuickPBKDF2PasswordHasher"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(name: str, env: dict[str, str], home: Path) -> Server:
    port = free_port()
    log = home / f"{name}.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
            cwd=ROOT,
            env=env | {"GUNICORN_BIND": f"{HOST}:{port}"},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(name, port, process, log)


def wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert server.process.poll() is None, server.log.read_text()
        with contextlib.suppress(OSError):
            if Browser().get(server, "/healthz").status == 200:
                return
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.2)


def stop_server(server: Server) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()


@pytest.fixture(scope="module")
def cluster(
    django_db_setup, django_db_blocker, tmp_path_factory, production_static
) -> Iterator[Cluster]:
    """Redis, then servers A and B with one environment, as two machines would have."""
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            pytest.skip("PostgreSQL only: SQLite serves one machine (see the README)")
        url = database_url()
    if REDIS_SERVER is None:
        pytest.skip(MISSING)
    home = tmp_path_factory.mktemp("servers")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "GUNICORN_", "SECURE_", "AXES_", "WEB_CONCURRENCY"))
    } | {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),  # the same on every machine
        "ALLOWED_HOSTS": HOST,
        "DATABASE_URL": url,
        "STATIC_ROOT": str(production_static),
        "CACHE_DIR": str(home / "cache"),
        "EXPORTS_DIR": str(home / "exports"),
        "AXES_FAILURE_LIMIT": str(FAILURE_LIMIT),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "GUNICORN_ACCESS_LOG": str(home / "access.log"),
        "LOG_LEVEL": "INFO",
    }
    with redis_server() as redis_url:
        env["REDIS_URL"] = redis_url
        servers = [start_server(name, env, home) for name in ("a", "b")]
        try:
            for server in servers:
                wait_until_healthy(server)
            yield Cluster(*servers, env=env, home=home)
        finally:
            for server in servers:
                stop_server(server)


def statuses(response: Response) -> list[str]:
    return [row["Status"] for row in bill_rows(response)]


def test_both_servers_are_healthy_and_say_what_they_checked(cluster):
    for server in (cluster.a, cluster.b):
        response = Browser().get(server, "/healthz")

        assert response.status == 200
        assert response.content == b'{"status": "ok", "checks": {"database": "ok", "cache": "ok"}}'


def test_a_bill_cleared_through_a_shows_as_cleared_on_bs_next_bills_page(
    cluster, member, bill, admin_user
):
    alice = Browser()
    alice.log_in(cluster.a, member.username, PASSWORD)
    assert statuses(alice.get(cluster.b, "/bills/")) == ["Pending"]  # now in B's cache too

    staff = Browser()
    staff.log_in(cluster.a, admin_user.username, "password")
    changelist = "/admin/bills/bill/"
    done = staff.submit(
        cluster.a, changelist, {"action": "mark_cleared", "_selected_action": [bill.pk]}
    )
    assert done.status == 302

    assert statuses(alice.get(cluster.b, "/bills/")) == ["Cleared"]
    assert statuses(alice.get(cluster.a, "/bills/")) == ["Cleared"]


def test_a_pdf_rendered_through_a_is_served_by_b_without_rendering(cluster, member, bill):
    shutil.rmtree(cluster.home / "cache" / "bill-pdfs", ignore_errors=True)
    alice = Browser()
    alice.log_in(cluster.a, member.username, PASSWORD)

    first = alice.get(cluster.a, f"/bills/{bill.pk}/pdf/")
    [stored] = cluster.pdf_files
    written = stored.stat().st_mtime_ns
    second = alice.get(cluster.b, f"/bills/{bill.pk}/pdf/")

    assert first.status == second.status == 200
    assert first.content.startswith(b"%PDF-") and second.content == first.content
    assert cluster.pdf_files == [stored] and stored.stat().st_mtime_ns == written
    assert stored.read_bytes() == first.content
    rendered = f"{bill.number}/{stored.name}"
    assert cluster.a.renders().count(rendered) == 1
    assert rendered not in cluster.b.renders()


def test_a_login_lockout_made_on_a_holds_on_b(cluster, member):
    mallory = Browser()
    for _ in range(FAILURE_LIMIT):
        mallory.log_in(cluster.a, member.username, "not-the-password")

    # The right password, through the other server.
    locked = Browser().log_in(cluster.b, member.username, PASSWORD)

    assert locked.status == 429
    page = " ".join(lxml.html.fromstring(locked.content).text_content().split())
    assert f"After {FAILURE_LIMIT} wrong passwords for this username" in page


def test_an_export_queued_through_a_downloads_through_b(cluster, member, bill):
    alice = Browser()
    alice.log_in(cluster.a, member.username, PASSWORD)
    queued = alice.submit(cluster.a, "/bills/export.zip", {})
    assert queued.status == 302 and queued.headers["Location"].startswith("/exports/")

    cluster.run_worker()

    page = alice.get(cluster.b, "/exports/")
    [link] = lxml.html.fromstring(page.content).xpath("//a[starts-with(., 'Download')]/@href")
    download = alice.get(cluster.b, link)
    assert download.status == 200
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert f"{bill.number}.pdf" in archive.namelist()


def test_a_scripts_export_and_its_keys_revocation_hold_on_both_servers(cluster, member, bill):
    alice = Browser()
    alice.log_in(cluster.a, member.username, PASSWORD)
    made = alice.submit(cluster.a, "/api-keys/create/", {"name": "Month-end"}, page="/api-keys/")
    [secret] = lxml.html.fromstring(made.content).xpath("//input[@id='api-key-secret']/@value")
    script = Browser(headers={"Authorization": f"Bearer {secret}"})

    asked = script.request(cluster.a, "POST", "/api/v1/exports/", json_body={"format": "csv"})
    assert asked.status == 202, asked.content
    export = urlsplit(asked.headers["Location"]).path
    cluster.run_worker()
    ready = json.loads(script.get(cluster.b, export).content)
    assert ready["status"] == "ready", ready
    download = script.get(cluster.b, urlsplit(ready["file_url"]).path)
    assert download.status == 200
    assert bill.number in download.content.decode("utf-8-sig")

    # The owner revokes the key on B's page; A refuses it from the next request on.
    key = ApiKey.objects.get(name="Month-end")
    revoked = alice.submit(cluster.b, f"/api-keys/{key.pk}/revoke/", {}, page="/api-keys/")
    assert revoked.status == 302
    assert script.get(cluster.a, export).status == 401
