"""Benchmark Export Data: the .xlsx view against bare openpyxl on the same rows.

Run by hand (pytest runs only `--smoke`, at a tiny size) on a database loaded with
`manage.py seed_large`:

    DATABASE_URL=postgres://postgres@127.0.0.1:55432/bench .venv/bin/python bench/bench_export.py
    DATABASE_URL=sqlite:////tmp/issue5-bench.sqlite3 .venv/bin/python bench/bench_export.py

(the SQLite file: `DATABASE_URL=sqlite:////tmp/issue5-bench.sqlite3`, `manage.py migrate`,
`manage.py seed_large --bills 300000 --organizations 100 --big-organization-bills 100000`).

For each size (about 10,000 and 100,000 bills of the `bench` user's organization, picked
as the newest billing cycles that hold that many) it measures, each case in a fresh
process so that its peak memory is its own:

- view-xlsx: GET /bills/export.xlsx?cycle_from=... through Django's test client (all
  middleware), reading the streamed response to the end;
- view-csv: the same for /bills/export.csv;
- bare-stream: the same values_list() rows streamed from the database into a bare
  write-only openpyxl workbook (`ws.append(row)`, no styles, no checks);
- bare-write: bare openpyxl writing the same rows already in a list (writing only; its
  memory includes the list).

Peak memory is the process's peak resident set size (`ru_maxrss`), next to the
resident size just before the export (Django, openpyxl and lxml imported). Times (wall
clock, and this process's CPU time, steadier on a shared machine; PostgreSQL's own work
is in its server process) are the best of --repeat runs, as timeit reports: on a
shared machine the slower runs measure the neighbours. The database is only read:
PostgreSQL sessions are opened read-only, sessions are signed cookies and logging in
touches neither last_login nor django-axes' log; so each export's audit row cannot be
written there, and `audit_record` logs that (to the case's captured stderr) and carries
on.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import smoke

ROOT = Path(__file__).resolve().parent.parent
CASES = ("view-xlsx", "bare-stream", "bare-write", "view-csv")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_console.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgresql"):
        # The shared benchmark database must stay untouched.
        database.setdefault("OPTIONS", {})["options"] = "-c default_transaction_read_only=on"
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.AXES_ENABLED = False  # it logs every login in the database
    # This measures the inline download at any size: no background job past the limit.
    settings.EXPORT_INLINE_MAX_ROWS = {"xlsx": 10**9, "csv": 10**9}
    django.setup()
    from django.contrib.auth import user_logged_in
    from django.contrib.auth.models import update_last_login

    user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")


def pick_query(username: str, rows: int) -> tuple[str, int]:
    """`cycle_from=YYYY-MM` selecting the newest cycles that hold at least `rows` bills."""
    from django.db.models import Count

    from bills.models import Bill, Organization

    organization = Organization.objects.for_user(user(username)).order_by("name", "pk").first()
    per_cycle = (
        Bill.objects.for_organization(organization)
        .values("billing_cycle")
        .annotate(n=Count("id"))
        .order_by("-billing_cycle")
    )
    total = 0
    for cycle in per_cycle:
        total += cycle["n"]
        if total >= rows:
            break
    return f"cycle_from={cycle['billing_cycle']:%Y-%m}", total


def user(username: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def query_rows(username: str, query: str):
    """The view's own rows for this query: same FilterSet, same values_list()."""
    from django.http import QueryDict
    from django.test import RequestFactory

    from bills.filters import bill_filter
    from bills.middleware import current_organization, user_organizations
    from bills.selectors import export_rows

    request = RequestFactory().get("/bills/export.xlsx", QueryDict(query))
    request.user, request.session = user(username), {}
    request.organization = current_organization(request, user_organizations(request))
    filterset = bill_filter(request.GET, request)
    assert filterset.is_valid(), filterset.errors
    return export_rows(filterset.qs)


def bare_openpyxl(rows) -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet("Bills")
    count = 0
    for row in rows:
        ws.append(row)
        count += 1
    with tempfile.TemporaryFile() as output:
        workbook.save(output)
    return count


def run_case(case: str, username: str, query: str) -> dict:
    """One measurement, in this (fresh) process."""
    setup_django()
    import openpyxl  # noqa: F401  (imported before the baseline, like the view's)
    from django.test import Client

    client = Client()
    client.force_login(user(username))
    # Warm up every case alike (URLconf, views, first queries): an empty export.
    assert client.get("/bills/export.xlsx?cycle=1900-01").status_code == 200
    prefetched = list(query_rows(username, query)) if case == "bare-write" else None
    baseline = rss_mb()
    started, started_cpu = time.perf_counter(), time.process_time()
    if case.startswith("view-"):
        response = client.get(f"/bills/export.{case.removeprefix('view-')}?{query}")
        assert response.status_code == 200, response.headers.get("Location")
        size = sum(len(chunk) for chunk in response.streaming_content)
        response.close()
        rows = None
    elif case == "bare-stream":
        rows, size = bare_openpyxl(query_rows(username, query)), None
    else:
        rows, size = bare_openpyxl(prefetched), None
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - started_cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "baseline_mb": baseline,
        "peak_mb": peak_rss_mb(),
        "bytes": size,
        "rows": rows,
    }


def measure(case: str, username: str, query: str, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        output = subprocess.run(
            [sys.executable, __file__, "--case", case, "--username", username, "--query", query],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    return {
        "seconds": min(run["seconds"] for run in runs),
        "cpu_seconds": min(run["cpu_seconds"] for run in runs),
        "baseline_mb": max(run["baseline_mb"] for run in runs),
        "peak_mb": max(run["peak_mb"] for run in runs),
        "bytes": runs[0]["bytes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--username", default="bench")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--query", help=argparse.SUPPRESS)
    parser.add_argument(
        smoke.FLAG,
        action="store_true",
        help="100 bills, one run, on a throw-away SQLite database: does it still run?",
    )
    args = parser.parse_args()
    if args.smoke and not args.case:
        smoke.tiny_database("export")
        args.rows, args.repeat = [100], 1
    if args.case:
        print(json.dumps(run_case(args.case, args.username, args.query)))
        return

    setup_django()
    from django.db import connection

    print(f"database: {connection.vendor}; load average {os.getloadavg()[0]:.2f}; "
          f"best of {args.repeat} runs, each case in a fresh process")  # fmt: skip
    print(f"{'case':<12} {'bills':>8} {'seconds':>8} {'rows/s':>8} {'vs bare':>8} {'CPU s':>8} "
          f"{'vs bare':>8} {'baseline MB':>12} {'peak MB':>8} {'file MB':>8}")  # fmt: skip
    for rows in args.rows:
        query, count = pick_query(args.username, rows)
        results = {case: measure(case, args.username, query, args.repeat) for case in args.cases}
        bare = results.get("bare-write")
        for case, result in results.items():
            ratio = cpu_ratio = "-"
            if bare:
                ratio = f"{result['seconds'] / bare['seconds']:.2f}x"
                cpu_ratio = f"{result['cpu_seconds'] / bare['cpu_seconds']:.2f}x"
            size = f"{result['bytes'] / 2**20:.1f}" if result["bytes"] else "-"
            print(
                f"{case:<12} {count:>8,} {result['seconds']:>8.2f} "
                f"{count / result['seconds']:>8,.0f} {ratio:>8} "
                f"{result['cpu_seconds']:>8.2f} {cpu_ratio:>8} "
                f"{result['baseline_mb']:>12.1f} {result['peak_mb']:>8.1f} {size:>8}  ({query})",
                flush=True,
            )


if __name__ == "__main__":
    main()
