"""Benchmark the export jobs through real `manage.py db_worker` processes.

Run by hand (pytest runs only `--smoke`, at a tiny size) on a database of its own, migrated
and loaded with `manage.py seed_large`; the benchmark writes to it (Export rows, the
queue's tasks, an audit row per inline export), and its files go to a temporary directory:

    DATABASE_URL=postgres://... .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://... .venv/bin/python manage.py seed_large --bills 1000000 \\
        --organizations 1 --big-organization-bills 1000000 --cycles 20
    DATABASE_URL=postgres://... .venv/bin/python bench/bench_jobs.py

With that seed every selection below holds exactly the bills asked for (50,000 a billing
cycle, applications named "App 00000" to "App 49999"): the bench user's newest billing
cycles, narrowed by a search for "App 0", "App 00" or "App 000" where a cycle holds too
many. On another seed a selection holds the fewest bills at or above the size asked for.

Parts (`--parts`, all by default), each job queued with exports.services.export_request
as the Export Data button does, and run by a worker started for the part (DEBUG=0):

- sheets: a CSV and an xlsx export at each of --rows, each in a fresh worker: the job's
  time (the Export row's started_at to finished_at), rows/s, the worker's peak resident
  memory (VmHWM) next to its resident size before the job (after an empty warm-up
  export), and the longest the Exports page saw no progress (progress_at polled every
  0.2 s, from the start to the finish, the file's saving and storing included);
- bare: the xlsx job against bare openpyxl write-only (bench_export.py's `bare-stream`:
  the same rows from bills.selectors.export_rows into a write-only Workbook, no styles)
  at --bare-rows, alternately, best of --repeat; CPU time too (the worker's from /proc);
- zip: a ZIP of --zip-bills bills with a cold PDF cache (a new cache directory), then
  the same again with it warm;
- workers: a batch of jobs (--batch-zips ZIPs of --batch-zip-bills bills, cold cache;
  --batch-csvs CSVs of one billing cycle each) with 1 worker, then with 2: first start
  to last finish;
- inline: Export Data answered inline (bench_export.py's view cases, in a fresh process
  each, the inline limit lifted) at each of --inline-rows, best of --repeat.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlencode

import bench_export
import smoke

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("sheets", "bare", "zip", "workers", "inline", "load")
USERNAME = "bench"
# seed_large's applications are "App 00000", "App 00001", ...: each search keeps a tenth
# of the one before, so that small selections need not be fractions of a billing cycle.
SEARCHES = ("", "App 0", "App 00", "App 000")
POLL_SECONDS = 0.2
JOB_TIMEOUT = 3600


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_console.settings")
    import django
    from django.conf import settings

    # The batches queue more exports at once than one member may.
    settings.EXPORTS_ACTIVE_PER_USER = 1_000
    django.setup()


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def organization():
    from bills.management.commands.seed_large import BIG_SLUG
    from bills.models import Organization

    return Organization.objects.get(slug=BIG_SLUG)


def bills_filter(query: str):
    """The Bills page's FilterSet for `query` on the bench organization, as a job sees it."""
    from types import SimpleNamespace

    from django.http import QueryDict

    from bills.filters import bill_filter

    bills = bill_filter(QueryDict(query), SimpleNamespace(organization=organization()))
    assert not bills.is_bound or bills.is_valid(), bills.errors
    return bills


def selection(rows: int, *, skip: int = 0, searches=SEARCHES) -> tuple[str, int, int]:
    """(query, bills, cycles): the newest billing cycles after the first `skip`, narrowed
    by the first search in `searches` that selects exactly `rows`; else the smallest
    selection of at least `rows`; else the largest."""
    from django.db.models import Count

    candidates = []
    for search in searches:
        bills = bills_filter(urlencode({"q": search}) if search else "").qs
        per_cycle = list(
            bills.order_by()
            .values("billing_cycle")
            .annotate(n=Count("id"))
            .order_by("-billing_cycle")
        )[skip:]
        total = used = 0
        while used < len(per_cycle) and total < rows:
            total += per_cycle[used]["n"]
            used += 1
        if not used:
            continue
        window = {
            "cycle_from": f"{per_cycle[used - 1]['billing_cycle']:%Y-%m}",
            "cycle_to": f"{per_cycle[0]['billing_cycle']:%Y-%m}",
        }
        candidate = (urlencode({"q": search, **window} if search else window), total, used)
        if total == rows:
            return candidate
        candidates.append(candidate)
    assert candidates, "no bills: load the database with manage.py seed_large"
    enough = [candidate for candidate in candidates if candidate[1] >= rows]
    if enough:
        return min(enough, key=lambda candidate: candidate[1])
    return max(candidates, key=lambda candidate: candidate[1])


def queue(file_format: str, query: str):
    """An export queued as the Export Data button queues it."""
    from django.contrib.auth import get_user_model

    from exports.services import export_request

    bills = bills_filter(query)
    export, new = export_request(
        organization=organization(),
        user=get_user_model().objects.get(username=USERNAME),
        file_format=file_format,
        bills=bills,
        description=query or "all bills",
        total=bills.qs.count(),
    )
    assert new, f"an export of {query!r} is already queued"
    return export


class Worker:
    """A `manage.py db_worker` process, as scripts/worker starts it (DEBUG=0)."""

    def __init__(self, work: Path, pdf_cache: Path, name: str):
        self.log_path = work / f"worker-{name}.log"
        env = os.environ | {
            "DEBUG": "0",
            "SECRET_KEY": "bench-jobs-only",
            "EXPORTS_DIR": str(work / "exports"),
            "BILL_PDF_CACHE_DIR": str(pdf_cache),
        }
        command = [sys.executable, "manage.py", "db_worker", "--queue-name", "default,exports"]
        command += ["--no-reload", "--no-startup-delay", "--interval", str(POLL_SECONDS)]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def status(self, field: str) -> float:
        """A memory figure of /proc/<pid>/status (VmRSS, VmHWM), in MB."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024  # kB
        raise LookupError(field)

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime+stime

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # db_worker finishes its task and exits
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def workers(work: Path, count: int = 1, *, pdf_cache: Path | None = None, name: str = "w"):
    """`count` workers, each warmed up (Django loaded, connected) by an empty export."""
    pdf_cache = pdf_cache or Path(tempfile.mkdtemp(dir=work, prefix="pdf-cache-"))
    started = [Worker(work, pdf_cache, f"{name}{index}") for index in range(count)]
    try:
        warm_ups = [queue("csv", f"cycle=1900-{index + 1:02d}") for index in range(count)]
        for export in warm_ups:
            follow(export, started)
        yield started
    finally:
        for worker in started:
            worker.stop()


def follow(export, running: list[Worker]) -> dict:
    """Poll the export as the Exports page does until it ends; its figures."""
    from exports.models import Export

    # Each progress report seen: its time -> the rows (bills) it counted.
    reports, deadline = {}, time.monotonic() + JOB_TIMEOUT
    while True:
        export.refresh_from_db()
        if export.progress_at:
            reports.setdefault(export.progress_at, export.done)
        if export.status not in Export.ACTIVE:
            break
        for worker in running:
            if worker.process.poll() is not None:
                raise SystemExit(f"a worker ended; see {worker.log_path}")
        if time.monotonic() > deadline:
            raise SystemExit(f"export {export.pk} still {export.status}")
        time.sleep(POLL_SECONDS)
    if export.status != Export.Status.READY:
        raise SystemExit(f"export {export.pk} {export.status}: {export.error}")
    reports.setdefault(export.started_at, 0)
    seen = sorted(reports.items())
    gap, at = max(
        ((later - earlier).total_seconds(), done) for (earlier, done), (later, _) in pairwise(seen)
    )
    return {
        "rows": export.total,
        "seconds": (export.finished_at - export.started_at).total_seconds(),
        "max_gap": gap,
        # Where the longest wait began: 0% (the query), 100% (saving and storing the file).
        "gap_at": 100 * at / export.total if export.total else 0,
        "mb": export.size / 2**20,
        "started_at": export.started_at,
        "finished_at": export.finished_at,
    }


def sheets(args, work: Path) -> None:
    print(f"\nsheets: one export in a fresh worker each (load average {load()})")
    print(f"{'job':<6} {'rows':>10} {'seconds':>8} {'rows/s':>8} {'max gap s':>10} "
          f"{'at %':>5} {'worker MB':>10} {'peak MB':>8} {'file MB':>8} {'load':>5}")  # fmt: skip
    peaks: dict[str, list[tuple[int, float]]] = {}
    for rows in args.rows:
        query, count, _ = selection(rows)
        for file_format in ("csv", "xlsx"):
            with workers(work, name=f"{file_format}-{rows}") as (worker,):
                before = worker.status("VmRSS")
                result = follow(queue(file_format, query), [worker])
                peak = worker.status("VmHWM")
            peaks.setdefault(file_format, []).append((count, peak))
            print(
                f"{file_format:<6} {count:>10,} {result['seconds']:>8.2f} "
                f"{count / result['seconds']:>8,.0f} {result['max_gap']:>10.2f} "
                f"{result['gap_at']:>5.0f} {before:>10.1f} {peak:>8.1f} {result['mb']:>8.1f} "
                f"{load():>5}  ({query})",
                flush=True,
            )
    for file_format, figures in peaks.items():
        (small, small_peak), (large, large_peak) = min(figures), max(figures)
        print(
            f"flat memory, {file_format}: peak at {large:,} rows is "
            f"{large_peak / small_peak:.2f}x the peak at {small:,}"
        )


def bare(args, work: Path) -> None:
    query, count, _ = selection(args.bare_rows)
    print(
        f"\nxlsx job against bare openpyxl, {count:,} rows, alternately, best of "
        f"{args.repeat} (load average {load()}; {query})"
    )
    jobs, bares = [], []
    with workers(work, name="bare") as (worker,):
        for _ in range(args.repeat):
            cpu = worker.cpu_seconds()
            result = follow(queue("xlsx", query), [worker])
            jobs.append((result["seconds"], worker.cpu_seconds() - cpu))
            output = subprocess.run(
                [sys.executable, bench_export.__file__, "--case", "bare-stream"]
                + ["--username", USERNAME, "--query", query],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            figures = json.loads(output.strip().splitlines()[-1])
            bares.append((figures["seconds"], figures["cpu_seconds"]))
    job = [min(figures) for figures in zip(*jobs, strict=True)]
    bare_ = [min(figures) for figures in zip(*bares, strict=True)]
    print(f"{'case':<14} {'rows':>10} {'seconds':>8} {'rows/s':>8} {'CPU s':>8}")
    for case, (seconds, cpu) in (("xlsx job", job), ("bare openpyxl", bare_)):
        print(f"{case:<14} {count:>10,} {seconds:>8.2f} {count / seconds:>8,.0f} {cpu:>8.2f}")
    print(
        f"job / bare: {job[0] / bare_[0]:.2f}x wall, {job[1] / bare_[1]:.2f}x CPU "
        f"(load average {load()})"
    )


def zip_cache(args, work: Path) -> None:
    query, count, _ = selection(args.zip_bills)
    print(f"\nZIP of {count:,} bills, one worker (load average {load()}; {query})")
    print(f"{'PDF cache':<10} {'bills':>8} {'seconds':>8} {'bills/s':>8} {'peak MB':>8} "
          f"{'file MB':>8} {'load':>5}")  # fmt: skip
    with workers(work, name="zip") as (worker,):
        for cache in ("cold", "warm"):
            result = follow(queue("zip", query), [worker])
            print(
                f"{cache:<10} {count:>8,} {result['seconds']:>8.2f} "
                f"{count / result['seconds']:>8,.1f} {worker.status('VmHWM'):>8.1f} "
                f"{result['mb']:>8.1f} {load():>5}",
                flush=True,
            )


def batch(args, work: Path) -> None:
    print(f"\nA batch of jobs with 1 worker, then 2 (first start to last finish; load {load()})")
    print(f"{'batch':<28} {'workers':>7} {'seconds':>8} {'speed-up':>8} {'load':>5}")
    batches = []
    if args.batch_zips:
        queries, skip = [], 0
        for _ in range(args.batch_zips):
            # Bills of no other ZIP of the batch: each renders its own PDFs.
            query, count, used = selection(args.batch_zip_bills, skip=skip, searches=SEARCHES[-1:])
            queries.append(query)
            skip += used
        batches.append((f"{args.batch_zips} ZIPs of {count:,} bills", "zip", queries))
    if args.batch_csvs:
        queries = [selection(1, skip=index, searches=[""]) for index in range(args.batch_csvs)]
        label = f"{args.batch_csvs} CSVs of {queries[0][1]:,} rows"
        batches.append((label, "csv", [query for query, _, _ in queries]))
    for label, file_format, queries in batches:
        one = None
        for count in (1, 2):
            with workers(work, count, name=f"batch-{file_format}-{count}-") as running:
                results = [
                    follow(export, running) for export in [queue(file_format, q) for q in queries]
                ]
            seconds = (
                max(r["finished_at"] for r in results) - min(r["started_at"] for r in results)
            ).total_seconds()
            one = one or seconds
            print(
                f"{label:<28} {count:>7} {seconds:>8.2f} {one / seconds:>7.2f}x {load():>5}",
                flush=True,
            )


def inline(args, work: Path) -> None:
    print(
        f"\nExport Data answered inline (the view through Django's test client), best of "
        f"{args.repeat}, a fresh process each (load average {load()})"
    )
    print(f"{'format':<6} {'rows':>8} {'seconds':>8} {'CPU s':>8} {'peak MB':>8} {'file MB':>8} "
          f"{'load':>5}")  # fmt: skip
    for rows in args.inline_rows:
        query, count, _ = selection(rows)
        for file_format in ("xlsx", "csv"):
            runs = []
            for _ in range(args.repeat):
                output = subprocess.run(
                    [sys.executable, __file__, "--case", f"view-{file_format}", "--query", query],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                runs.append(json.loads(output.strip().splitlines()[-1]))
            print(
                f"{file_format:<6} {count:>8,} {min(r['seconds'] for r in runs):>8.2f} "
                f"{min(r['cpu_seconds'] for r in runs):>8.2f} "
                f"{max(r['peak_mb'] for r in runs):>8.1f} {runs[0]['bytes'] / 2**20:>8.1f} "
                f"{load():>5}  ({query})",
                flush=True,
            )


def under_load(args, work: Path) -> None:
    """bench_load.py's Bills page, with an idle worker, then with one making an export."""
    from exports.services import export_cancel

    query, count, _ = selection(args.load_rows)
    print(
        f"\nThe Bills page under bench_load.py ({args.load_seconds} s a scenario), with an "
        f"idle worker, then with one making an xlsx of {count:,} rows (load average {load()})"
    )
    print(
        f"{'worker':<22} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'export done':>12} {'load':>5}"
    )
    for busy in (False, True):
        with workers(work, name=f"load-{busy}") as (worker,):
            export = queue("xlsx", query) if busy else None
            output = subprocess.run(
                [sys.executable, str(ROOT / "bench" / "bench_load.py"), "--duration"]
                + [str(args.load_seconds), "--database-url", os.environ["DATABASE_URL"]],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            done = "-"
            if export:
                export.refresh_from_db()
                # Still running at the end: the export's load lasted the whole measurement.
                done = f"{export.done:,}" if export.is_active else export.status
                # Else it stays Running after its worker stops, and a new run's export of
                # the same rows would be this one.
                export_cancel(export=export)
        line = next(line for line in output.splitlines() if line.startswith("bills first page"))
        rps, p50, _, p99 = line.removeprefix("bills first page").split()[:4]
        label = "making an export" if busy else "idle"
        print(f"{label:<22} {rps:>8} {p50:>8} {p99:>8} {done:>12} {load():>5}", flush=True)


def inline_case(case: str, query: str) -> dict:
    """One inline export through the view, in this (fresh) process, at any size."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_console.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")  # read when the settings load
    from django.conf import settings

    # Measure the inline download at every size: above the limit the view would queue.
    settings.EXPORT_INLINE_MAX_ROWS = {"xlsx": 10**9, "csv": 10**9}
    return bench_export.run_case(case, USERNAME, query)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--bare-rows", type=int, default=100_000)
    parser.add_argument("--zip-bills", type=int, default=1_000)
    parser.add_argument("--batch-zips", type=int, default=4)
    parser.add_argument("--batch-zip-bills", type=int, default=200)
    parser.add_argument("--batch-csvs", type=int, default=6)
    parser.add_argument(
        "--inline-rows", type=int, nargs="+", default=[5_000, 10_000, 20_000, 50_000, 100_000]
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--load-rows", type=int, default=1_000_000)
    parser.add_argument("--load-seconds", type=int, default=10)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--query", help=argparse.SUPPRESS)
    parser.add_argument(
        smoke.FLAG,
        action="store_true",
        help="a few bills, one run, on a throw-away SQLite database: does it still run?",
    )
    args = parser.parse_args()
    if args.case:
        print(json.dumps(inline_case(args.case, args.query)))
        return
    if args.smoke:
        smoke.tiny_database("jobs")
        args.rows, args.bare_rows, args.zip_bills, args.inline_rows = [20, 100], 100, 3, [50]
        args.batch_zips, args.batch_zip_bills, args.batch_csvs, args.repeat = 2, 2, 2, 1
        # The load part needs wrk and gunicorn: bench_load.py has a smoke run of its own.
        args.parts = [part for part in args.parts if part != "load"]

    setup_django()
    from django.db import connection

    work = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    try:
        print(
            f"database: {connection.vendor}; {os.cpu_count()} CPUs; load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {dt.datetime.now():%Y-%m-%d %H:%M}"
        )
        steps = {"sheets": sheets, "bare": bare, "zip": zip_cache, "workers": batch}
        steps |= {"inline": inline, "load": under_load}
        for part in args.parts:
            steps[part](args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
