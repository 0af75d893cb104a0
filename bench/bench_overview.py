"""Server time of the Overview against the Bills page's first page, uncached, for the same
filter, on the large data set. Run by hand, not by pytest.

    DATABASE_URL=postgres://postgres@127.0.0.1:55432/bench \\
        .venv/bin/python bench/bench_overview.py [--repeat 20] [--explain]

Needs `manage.py migrate` and `manage.py seed_large` on that database first (`--smoke`
makes its own tiny one: what pytest runs). Requests go through Django's test client in
this process, logged in as the seed's `bench` user. Before every request the Bills page's
caches (totals and content) are emptied, so both pages do all their work.

Prints, per scenario and page: SQL queries per request, page size, the median, 90th
percentile and fastest server time over --repeat requests (after --warmup; the requests
take turns), the median time in SQL, and the Overview's median over the Bills page's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import zoneinfo
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import smoke  # noqa: E402

if smoke.requested():
    smoke.tiny_database("overview")
smoke.production_settings("overview")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bills import summaries, views  # noqa: E402
from bills.models import Bill, Organization, Product  # noqa: E402

BENCH_USER = "bench"
BIG_ORGANIZATION = "bench-big"


# bills.overview's own, copied: with --bills-only this runs on code older than the Overview.
def add_months(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def last_closed_cycle(organization: Organization) -> dt.date:
    """The most recent month that has ended in the organization's time zone."""
    local = timezone.now().astimezone(zoneinfo.ZoneInfo(organization.time_zone))
    return add_months(local.date().replace(day=1), -1)


def scenarios(organization: Organization) -> dict[str, str]:
    """The same query string for both pages: what the Overview shows by default (the last
    12 closed cycles) and a narrower filter."""
    last = last_closed_cycle(organization)
    default = f"cycle_from={add_months(last, -11):%Y-%m}&cycle_to={last:%Y-%m}"
    products = list(Product.objects.in_use_by(organization).order_by("position")[:5])
    two = f"product={products[0].pk}&product={products[-1].pk}"
    return {
        "last 12 closed cycles (the default)": default,
        "2 products, Pending, 12 cycles": f"{two}&status=pending&{default}",
    }


def timed_get(client: Client, url: str) -> tuple[float, float, list, object]:
    # Nothing from the Bills page's caches: its totals and content are computed again.
    caches[summaries.SUMMARIES].clear()
    caches[summaries.PAGES].clear()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    sql = sum(float(query["time"]) for query in captured) * 1000
    return elapsed, sql, captured.captured_queries, response


def explain(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return [" ".join(str(part) for part in row) for row in cursor.fetchall()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--no-sparkline",
        action="store_true",
        help="the Bills page without its sparkline, as it was before the Overview",
    )
    parser.add_argument(
        "--bills-only",
        action="store_true",
        help="the Bills page alone: for code from before the Overview (bench/compare_versions.py)",
    )
    parser.add_argument(
        smoke.FLAG,
        action="store_true",
        help="2 requests a page on a throw-away SQLite database: does it still run?",
    )
    options = parser.parse_args()
    if options.smoke:
        options.repeat, options.warmup = 2, 1

    if options.no_sparkline:
        views.bill_sparkline = lambda bills, organization: None
    if not smoke.collected_static():
        call_command("collectstatic", interactive=False, verbosity=0)
    organization = Organization.objects.get(slug=BIG_ORGANIZATION)
    client = Client()
    client.force_login(get_user_model().objects.get(username=BENCH_USER))
    mine = Bill.objects.for_organization(organization).count()
    print(
        f"{connection.vendor} {connection.settings_dict['NAME']}: {Bill.objects.count():,} "
        f"bills, {mine:,} in {organization.slug}; {options.repeat} requests per page, "
        f"taking turns, after {options.warmup} warm-up, the Bills page's caches emptied "
        f"before each{'; the Bills page without its sparkline' if options.no_sparkline else ''}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
    )
    print(
        f"{'scenario':38} {'page':8} {'queries':>7} {'KB':>5} {'median ms':>9} "
        f"{'p90 ms':>7} {'min ms':>7} {'SQL ms':>7} {'ratio':>6}"
    )
    for name, query in scenarios(organization).items():
        urls = {"bills": f"/bills/?{query}", "overview": f"/overview/?{query}"}
        if options.bills_only:
            del urls["overview"]
        for url in urls.values():
            for _ in range(options.warmup):
                timed_get(client, url)
        times = {page: [] for page in urls}
        sql_times = {page: [] for page in urls}
        last = {}
        for _ in range(options.repeat):
            for page, url in urls.items():
                elapsed, sql, captured, response = timed_get(client, url)
                times[page].append(elapsed)
                sql_times[page].append(sql)
                last[page] = (captured, response)
        medians = {page: statistics.median(runs) for page, runs in times.items()}
        for page, runs in times.items():
            captured, response = last[page]
            p90 = statistics.quantiles(runs, n=10)[-1] if len(runs) > 1 else runs[0]
            ratio = f"{medians[page] / medians['bills']:.2f}x" if page == "overview" else ""
            print(
                f"{name:38} {page:8} {len(captured):>7} {len(response.content) / 1024:>5.0f} "
                f"{medians[page]:>9.1f} {p90:>7.1f} {min(runs):>7.1f} "
                f"{statistics.median(sql_times[page]):>7.1f} {ratio:>6}"
            )
        if options.explain:
            captured, _ = last["overview" if "overview" in last else "bills"]
            for query_sql in (q["sql"] for q in captured if '"bills_bill"' in q["sql"]):
                print(f"  -- {query_sql[:160]}{'...' if len(query_sql) > 160 else ''}")
                for line in explain(query_sql):
                    print(f"     {line}")


if __name__ == "__main__":
    main()
