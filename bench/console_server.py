"""Helpers for the load and fault benchmarks: a production console under gunicorn, a
logged-in session, and wrk runs. Run the benchmarks through scripts/bench."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import smoke

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
STATUS_SCRIPT = ROOT / "bench" / "wrk_status.lua"
PYTHON = sys.executable
HOST = "127.0.0.1"


def production_env(
    database_url: str, port: int, static_root: Path, cache_dir: Path, **extra: str
) -> dict:
    """The README's production environment, on loopback, behind an imaginary TLS proxy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=HOST,
        DATABASE_URL=database_url,
        STATIC_ROOT=str(static_root),
        # Rendered PDFs and the Bills page's totals: the run's own, not the checkout's.
        CACHE_DIR=str(cache_dir),
        GUNICORN_BIND=f"{HOST}:{port}",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def manage(env: dict, *args: str, timeout: int = 900) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


@dataclass
class Console:
    """A running gunicorn serving the console."""

    port: int
    env: dict
    process: subprocess.Popen
    log_path: Path
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def request(
        self, method: str, path: str, body: str | None = None, timeout: float = 30.0
    ) -> tuple[int, dict[str, str], bytes, float]:
        """One request as the proxy would forward it; returns status, headers, body, seconds."""
        headers = {"X-Forwarded-Proto": "https", "Host": f"{HOST}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"https://{HOST}:{self.port}"
            headers["Referer"] = f"https://{HOST}:{self.port}{path}"
        started = time.monotonic()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        elapsed = time.monotonic() - started
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                for name, morsel in SimpleCookie(value).items():
                    self.cookies[name] = morsel.value
        return response.status, dict(response.getheaders()), content, elapsed

    def log_in(self, username: str, password: str) -> None:
        status, _, page, _ = self.request("GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or token is None:
            raise SystemExit(f"GET /login/ answered {status}; is the database migrated?")
        form = {
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": token.group(1).decode(),
        }
        status, headers, _, _ = self.request("POST", "/login/", body=urlencode(form))
        if status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"Logging in as {username} failed ({status}, {headers})")

    def log_tail(self, pattern: str) -> list[str]:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in lines if pattern in line]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_console(database_url: str, *, name: str, **extra_env: str) -> Iterator[Console]:
    """collectstatic into a temp dir (a smoke run's are collected already), then gunicorn
    with gunicorn.conf.py until the block ends."""
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"billing-bench-{name}-"))
    port = free_port()
    static_root = smoke.collected_static() or work / "static"
    env = production_env(database_url, port, static_root, work / "cache", **extra_env)
    access_log = OUT / f"{name}-access.log"
    access_log.unlink(missing_ok=True)
    env.setdefault("GUNICORN_ACCESS_LOG", str(access_log))
    if not smoke.collected_static():
        manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    log_path = OUT / f"{name}-gunicorn.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    console = Console(port=port, env=env, process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {log_path}")
            with contextlib.suppress(OSError):
                if console.request("GET", "/login/", timeout=5)[0] == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer in 60 s; see {log_path}")
            time.sleep(0.3)
        yield console
    finally:
        # SIGTERM to gunicorn's own process group (it was started in a new session).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class WrkResult:
    name: str
    path: str
    requests_per_second: float
    requests: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]
    socket_errors: dict[str, int]

    @property
    def errors(self) -> int:
        failed = sum(count for status, count in self.statuses.items() if status != 200)
        return failed + sum(self.socket_errors.values())


def wrk(
    console: Console,
    name: str,
    path: str,
    *,
    duration: int,
    connections: int,
    threads: int = 2,
    timeout: int = 10,
    pages: int | None = None,
    page_offset: int = 0,
) -> WrkResult:
    """Load `path` with wrk, as the logged-in user, through the imaginary TLS proxy;
    with `pages`, each request asks for the next of that many pages of `path`, from
    page `page_offset + 1` on."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: run the benchmarks through scripts/bench")
    cookie = "; ".join(f"{k}={v}" for k, v in console.cookies.items())
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={duration}s",
        f"--timeout={timeout}s",
        "--latency",
        f"--script={STATUS_SCRIPT}",
        "--header=X-Forwarded-Proto: https",
        f"--header=Cookie: {cookie}",
        f"{console.base}{path}",
    ]
    env = os.environ | (
        {"WRK_PAGES": str(pages), "WRK_PAGE_OFFSET": str(page_offset)} if pages else {}
    )
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=duration + 60, env=env
    ).stdout
    return parse_wrk(name, path, output)


def parse_wrk(name: str, path: str, output: str) -> WrkResult:
    statuses = {
        int(status): int(count)
        for status, count in re.findall(r"(\d{3})=(\d+)", _line(output, "STATUSES"))
    }
    latency = dict(re.findall(r"(\w+)=(\d+)", _line(output, "LATENCY_US")))
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    socket_errors = dict(
        zip(
            ["connect", "read", "write", "timeout"],
            [int(n) for n in errors.groups()] if errors else [0, 0, 0, 0],
            strict=True,
        )
    )
    return WrkResult(
        name=name,
        path=path,
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        requests=int(re.search(r"(\d+) requests in", output).group(1)),
        p50_ms=int(latency["p50"]) / 1000,
        p90_ms=int(latency["p90"]) / 1000,
        p99_ms=int(latency["p99"]) / 1000,
        max_ms=int(latency["max"]) / 1000,
        statuses=statuses,
        socket_errors=socket_errors,
    )


def _line(output: str, prefix: str) -> str:
    return next((line for line in output.splitlines() if line.startswith(prefix)), "")
