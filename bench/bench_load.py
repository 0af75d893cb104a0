"""Load test: requests/s and latency of the Bills page under gunicorn, on the large data set.

    scripts/bench load                       # against the shared `bench` database
    BENCH_DATABASE_URL=postgres://... scripts/bench load --duration 15
    scripts/bench load --url download=/bills/123/pdf/   # add a scenario
    scripts/bench load --smoke               # tiny, on a throw-away SQLite (what pytest runs)

Starts the console the way production does (DEBUG=0, gunicorn.conf.py, whitenoise,
collectstatic into a temp dir) on 127.0.0.1, logs in as the seed_large user `bench`
(100,000 bills), and runs wrk against each page with that session: the first Bills page,
a filtered one, every page of the list once (no request served from the page cache),
one bill's "Download Bill" (a cached PDF), and any --url. The database must be migrated
to this branch's migrations and loaded with `manage.py seed_large`; the benchmark only
reads, except for the login (a session row, and django-axes' login record) and the
audit row every download writes.

Prints a table and writes bench/out/load-<time>.json. Errors are every response that is
not a 200 (wrk itself counts redirects as successes) plus socket errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import smoke  # noqa: E402
from console_server import OUT, manage, running_console, wrk  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:55432/bench"
USERNAME, PASSWORD = "bench", "billing-bench-2026"
BIG_ORGANIZATION = "bench-big"
GOAL_RPS = 150
# The bench user's 100,000 bills make 4,000 pages of 25: 2,000 outlast any run here, and
# the warm-up reads the other 2,000.
EVERY_PAGE = 2000


def query_id(env: dict, expression: str) -> int:
    """`expression`'s value (an id), read through Django."""
    code = f"from bills.models import Bill, Product; print({expression})"
    output = manage(env, "shell", "--no-imports", "-c", code)
    return int(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--duration", type=int, default=15, help="seconds per scenario")
    parser.add_argument(
        "--warmup",
        type=int,
        default=3,
        help="seconds of load before each scenario, not counted: every worker's first "
        "requests (database connections, templates, caches); 0 counts them",
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--workers", type=int, help="gunicorn processes (default: gunicorn.conf.py's)"
    )
    parser.add_argument("--worker-threads", type=int, help="threads per gunicorn process")
    parser.add_argument(
        "--url", action="append", default=[], metavar="NAME=PATH", help="another scenario"
    )
    parser.add_argument(
        smoke.FLAG,
        action="store_true",
        help="1 s a scenario, one worker, on a throw-away SQLite database: does it still run?",
    )
    args = parser.parse_args()
    if args.smoke:
        args.database_url = smoke.tiny_database("load")
        args.duration, args.warmup, args.connections, args.workers = 1, 0, 4, 1

    gunicorn = {}
    if args.workers:
        gunicorn["WEB_CONCURRENCY"] = str(args.workers)
    if args.worker_threads:
        gunicorn["GUNICORN_THREADS"] = str(args.worker_threads)
    with running_console(args.database_url, name="load", **gunicorn) as console:
        product = query_id(console.env, "Product.objects.get(code='app_push').pk")
        bill = query_id(
            console.env,
            f"Bill.objects.filter(organization__slug={BIG_ORGANIZATION!r}).latest('pk').pk",
        )
        filtered = f"/bills/?product={product}&cycle_from=2026-01&cycle_to=2026-06&status=pending"
        # (name, path, pages): with pages, each request asks for the next page of `path`,
        # so none is served from the page cache (bills.summaries): the cost of a first view.
        scenarios = [
            ("bills first page", "/bills/", None),
            ("bills filtered", filtered, None),
            ("bills, each page new", "/bills/", EVERY_PAGE),
            # Rendered by the warm-up request, then read from the PDF cache.
            ("cached Download Bill", f"/bills/{bill}/pdf/", None),
        ]
        scenarios += [(*item.split("=", 1), None) for item in args.url]
        console.log_in(USERNAME, PASSWORD)
        for name, path, _ in scenarios:
            status, _, _, seconds = console.request("GET", path)
            print(f"warm-up {name}: {status} in {seconds * 1000:.0f} ms", flush=True)
            if status != 200:
                raise SystemExit(f"{path} answered {status}; see {console.log_path}")
        results = []
        for name, path, pages in scenarios:
            load = {"connections": args.connections, "threads": args.threads, "pages": pages}
            if args.warmup:
                # Other pages than the measured ones, which must all be new.
                wrk(console, name, path, duration=args.warmup, page_offset=EVERY_PAGE, **load)
            results.append(wrk(console, name, path, duration=args.duration, **load))
        workers = console.env.get("WEB_CONCURRENCY", "2 x cores")
        threads = console.env.get("GUNICORN_THREADS", "4")

    print(
        f"\n{'scenario':<22} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'requests':>9} {'errors':>7}"
    )
    for r in results:
        print(
            f"{r.name:<22} {r.requests_per_second:>8.1f} {r.p50_ms:>8.1f} {r.p90_ms:>8.1f} "
            f"{r.p99_ms:>8.1f} {r.max_ms:>8.1f} {r.requests:>9} {r.errors:>7}"
        )
        if r.errors:
            print(f"  statuses {r.statuses}, socket errors {r.socket_errors}")
    print(
        f"\n{args.connections} connections, {args.duration} s each after {args.warmup} s of "
        f"warm-up, gunicorn workers: "
        f"{workers} x {threads} threads; goal >= {GOAL_RPS} req/s with 0 errors on the Bills page."
    )
    OUT.mkdir(parents=True, exist_ok=True)
    report = OUT / f"load-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    report.write_text(
        json.dumps(
            {
                "database": args.database_url.rsplit("/", 1)[-1],
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "connections": args.connections,
                "cpus": os.cpu_count(),
                "results": [dataclasses.asdict(r) for r in results],
            },
            indent=2,
        )
    )
    print(f"Written to {report.relative_to(OUT.parent.parent)}")


if __name__ == "__main__":
    main()
