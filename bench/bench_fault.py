"""Fault test: PostgreSQL stops in the middle of a load run, then starts again.

    scripts/bench fault                  # about a minute, most of it setting up
    scripts/bench fault --bills 50000 --export-url '/bills/export/?format=xlsx'
    scripts/bench fault --smoke          # 6 s of load on 100 bills (what pytest runs)

Never touches a shared server: it initialises a private PostgreSQL 15 in a temporary
directory (as the postgres user, on a free loopback port), migrates it, loads the demo
data (or --bills N bills with seed_large) and serves the console from gunicorn as
production does. Then wrk loads the Bills page for --duration seconds while a prober
requests it every 0.2 s; PostgreSQL is stopped (`pg_ctl stop -m fast`) at --stop-at and
started again at --start-at.

It checks what a user would see: every answer is a 200 or a clean 503 "try again" page
(no 500, no other error, no empty reply), no request hangs (slowest under --max-seconds),
and pages come back by themselves once PostgreSQL is up. With --export-url it then also
starts that download, drops the connection after the first bytes and checks that
gunicorn's temporary directory (TMPDIR) is empty again.

Exits 1 if a check fails. Writes bench/out/fault-<time>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import smoke  # noqa: E402
from console_server import HOST, OUT, free_port, manage, running_console, wrk  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
TRY_AGAIN = b"try again in a few seconds"


class PrivatePostgres:
    """A throwaway PostgreSQL 15 cluster owned by the postgres user."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="billing-fault-pg-"))
        shutil.chown(self.home, user="postgres")
        self.data = self.home / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@{HOST}:{self.port}/fault"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def init(self) -> None:
        self._as_postgres(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        self.start()
        self._as_postgres(
            str(PG_BIN / "createdb"), "-h", HOST, "-p", str(self.port), "-U", "postgres", "fault"
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.home} -c listen_addresses={HOST} "
            "-c fsync=off -c synchronous_commit=off"
        )
        self._as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.home / "server.log"),
            "-w",
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


@dataclasses.dataclass
class Probe:
    at: float
    status: int  # 0: no HTTP answer at all
    seconds: float
    try_again_page: bool
    error: str = ""


def probe_loop(console, started: float, until: float, probes: list[Probe]) -> None:
    while time.monotonic() < until:
        at = time.monotonic() - started
        try:
            status, _, body, seconds = console.request("GET", "/bills/", timeout=30)
            probes.append(Probe(at, status, seconds, TRY_AGAIN in body))
        except OSError as error:
            probes.append(Probe(at, 0, time.monotonic() - started - at, False, repr(error)))
        time.sleep(0.2)


def drop_an_export(console, path: str, tmp_dir: Path) -> dict:
    """Start a download, read a little, hang up; then look for leftovers in TMPDIR."""
    cookie = "; ".join(f"{k}={v}" for k, v in console.cookies.items())
    with socket.create_connection((HOST, console.port), timeout=30) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{console.port}\r\n"
            f"X-Forwarded-Proto: https\r\nCookie: {cookie}\r\n\r\n".encode()
        )
        head = sock.recv(4096)
    time.sleep(3)  # let the worker notice the broken pipe and clean up
    leftovers = sorted(str(p.relative_to(tmp_dir)) for p in tmp_dir.rglob("*"))
    return {"first_line": head.split(b"\r\n", 1)[0].decode(errors="replace"), "left": leftovers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds of load")
    parser.add_argument("--stop-at", type=float, default=5.0)
    parser.add_argument("--start-at", type=float, default=11.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=6.0, help="slowest allowed answer")
    parser.add_argument("--export-url", help="a large download to interrupt, e.g. an export")
    parser.add_argument(
        "--bills",
        type=int,
        default=0,
        help="load N bills with seed_large (user bench) instead of the demo data (user alice)",
    )
    parser.add_argument(
        smoke.FLAG,
        action="store_true",
        help="100 bills, 6 s of load with a 1.5 s outage, 2 connections: does it still run?",
    )
    args = parser.parse_args()
    if args.smoke:
        args.bills, args.duration, args.connections = 100, 6, 2
        args.stop_at, args.start_at = 2.0, 3.5
    if os.geteuid() != 0:
        raise SystemExit("Run as root: the private PostgreSQL runs as the postgres user.")

    postgres = PrivatePostgres()
    tmp_dir = Path(tempfile.mkdtemp(prefix="billing-fault-tmp-"))
    try:
        print(f"Private PostgreSQL on port {postgres.port} in {postgres.home}", flush=True)
        postgres.init()
        setup_env = {**os.environ, "DATABASE_URL": postgres.url}
        manage(setup_env, "migrate", "--noinput", "--verbosity", "0")
        if args.bills:
            manage(
                setup_env,
                "seed_large",
                f"--bills={args.bills}",
                "--organizations=2",
                f"--big-organization-bills={args.bills // 2}",
            )
            username, password = "bench", "billing-bench-2026"
        else:
            manage(setup_env, "seed_demo")
            username, password = "alice", "billing-demo-2026"
        with running_console(postgres.url, name="fault", TMPDIR=str(tmp_dir)) as console:
            console.log_in(username, password)
            probes: list[Probe] = []
            events: dict[str, float] = {}
            started = time.monotonic()

            def outage() -> None:
                time.sleep(args.stop_at)
                postgres.stop()
                events["stopped"] = time.monotonic() - started
                print(f"{events['stopped']:5.1f} s  PostgreSQL stopped", flush=True)
                time.sleep(max(0.0, args.start_at - (time.monotonic() - started)))
                postgres.start()
                events["started"] = time.monotonic() - started
                print(f"{events['started']:5.1f} s  PostgreSQL started", flush=True)

            threads = [
                threading.Thread(target=outage),
                threading.Thread(
                    target=probe_loop,
                    args=(console, started, started + args.duration, probes),
                ),
            ]
            for thread in threads:
                thread.start()
            load = wrk(
                console,
                "bills during outage",
                "/bills/",
                duration=args.duration,
                connections=args.connections,
            )
            for thread in threads:
                thread.join()
            worker_timeouts = console.log_tail("WORKER TIMEOUT")
            tracebacks = console.log_tail("Traceback")
            export = drop_an_export(console, args.export_url, tmp_dir) if args.export_url else None
    finally:
        postgres.destroy()
        shutil.rmtree(tmp_dir, ignore_errors=True)

    report(args, load, probes, events, worker_timeouts, tracebacks, export)


def report(args, load, probes, events, worker_timeouts, tracebacks, export) -> None:
    statuses: dict[int, int] = {}
    for probe in probes:
        statuses[probe.status] = statuses.get(probe.status, 0) + 1
    unavailable = [p for p in probes if p.status == 503]
    back = [p for p in probes if p.status == 200 and p.at > events.get("started", 1e9)]
    recovered_after = back[0].at - events["started"] if back else None
    slowest = max((p.seconds for p in probes), default=0.0)
    checks = {
        "only 200 or 503 (wrk)": set(load.statuses) <= {200, 503},
        "no socket errors or timeouts (wrk)": not any(load.socket_errors.values()),
        "only 200 or 503 (prober)": set(statuses) <= {200, 503},
        "every 503 is the try-again page": all(p.try_again_page for p in unavailable),
        "the outage was seen": bool(unavailable),
        "nothing hangs": slowest < args.max_seconds and load.max_ms < args.max_seconds * 1000,
        "pages come back by themselves": recovered_after is not None,
        "no worker timeouts": not worker_timeouts,
    }
    if export is not None:
        checks["no temporary file left by a dropped download"] = not export["left"]

    rate = f"{load.requests_per_second:.1f}/s"
    print(f"\nwrk: {load.requests} requests ({rate}), max {load.max_ms:.0f} ms")
    print(f"  statuses {load.statuses}, socket errors {load.socket_errors}")
    print(f"prober: {len(probes)} requests, statuses {statuses}, slowest {slowest * 1000:.0f} ms")
    if unavailable:
        print(f"  503 from {unavailable[0].at:.1f} s to {unavailable[-1].at:.1f} s")
    if recovered_after is not None:
        print(f"  first 200 {recovered_after:.2f} s after PostgreSQL started")
    print(f"gunicorn: {len(worker_timeouts)} worker timeouts, {len(tracebacks)} tracebacks logged")
    if export is not None:
        print(f"dropped download: {export['first_line']!r}, left behind: {export['left']}")
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAILED'}] {name}")

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"fault-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(
        json.dumps(
            {
                "events": events,
                "wrk": dataclasses.asdict(load),
                "probe_statuses": statuses,
                "recovered_after_s": recovered_after,
                "slowest_probe_s": slowest,
                "checks": checks,
                "export": export,
                "probes": [dataclasses.asdict(p) for p in probes],
            },
            indent=2,
        )
    )
    print(f"Written to bench/out/{path.name}")
    if not all(checks.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
