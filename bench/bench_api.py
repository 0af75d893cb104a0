"""Server time of the API's bills list against the Bills page, uncached, for the same
filter. Run by hand, not by pytest.

    DATABASE_URL=postgres://postgres@/bench_jobs?host=/tmp/sharedpg&port=54400 \\
        .venv/bin/python bench/bench_api.py [--repeat 30]

Needs `manage.py migrate` and `manage.py seed_large` on that database first (`--smoke`
makes its own tiny one: what pytest runs). Requests go through Django's test client in
this process (middleware, authentication, filter, queries, rendering: everything but the
network): the page with the seed's `bench` user's session, the API with an API key of
the same organization, made for the run inside a transaction that is rolled back at the
end, so the shared database keeps nothing of it. Both caches of the Bills page (totals
and content) are emptied before every request: the goal compares uncached server time.

Prints, per scenario and side: SQL queries per request, response size, median, 90th
percentile and fastest time over --repeat requests (the sides and scenarios take turns),
the median time in SQL, and the API's median against the page's. Then the same for asking
for a CSV export of each scenario's bills (the job is queued, not run: bench_jobs.py
measures that), the page's POST against `POST /api/v1/exports/`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import smoke  # noqa: E402

if smoke.requested():
    smoke.tiny_database("api")
smoke.production_settings("api")

import django  # noqa: E402

django.setup()

from bench_bill_list import BENCH_USER, BIG_ORGANIZATION, add_months  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.signals import user_logged_in  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.http import QueryDict  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from api.services import api_key_create  # noqa: E402
from bills import summaries  # noqa: E402
from bills.models import Bill, Organization, Product  # noqa: E402
from exports.models import Export  # noqa: E402


def scenarios(organization: Organization) -> dict[str, str]:
    """Query strings both sides take: bench_bill_list.py's two goal scenarios."""
    bills = Bill.objects.for_organization(organization)
    latest = bills.aggregate(latest=Max("billing_cycle"))["latest"]
    products = list(Product.objects.in_use_by(organization).order_by("position")[:5])
    two = f"product={products[0].pk}&product={products[-1].pk}"
    months = f"cycle_from={add_months(latest, -9):%Y-%m}&cycle_to={latest:%Y-%m}"
    return {
        "first page": "",
        "filtered (2 products, 10 months, Pending)": f"?{two}&{months}&status=pending",
    }


def uncached() -> None:
    for alias in (summaries.SUMMARIES, summaries.PAGES, summaries.NEAR):
        if alias in settings.CACHES:
            caches[alias].clear()


def timed_get(client: Client, url: str) -> tuple[float, float, int, int]:
    uncached()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    sql = sum(float(query["time"]) for query in captured) * 1000
    return elapsed, sql, len(captured), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        smoke.FLAG,
        action="store_true",
        help="2 requests a scenario on a throw-away SQLite database: does it still run?",
    )
    options = parser.parse_args()
    if options.smoke:
        options.repeat, options.warmup = 2, 1
    # The run is not a script to slow down.
    settings.API_RATE_LIMIT_PER_MINUTE = 10**9

    if not smoke.collected_static():
        call_command("collectstatic", interactive=False, verbosity=0)
    organization = Organization.objects.get(slug=BIG_ORGANIZATION)
    user = get_user_model().objects.get(username=BENCH_USER)
    page = Client()
    with mock.patch.object(user_logged_in, "send"):
        page.force_login(user)
    total = Bill.objects.count()
    mine = Bill.objects.for_organization(organization).count()
    print(
        f"{connection.vendor} {connection.settings_dict['NAME']}: {total:,} bills, "
        f"{mine:,} in {organization.slug}; {options.repeat} requests per scenario and side, "
        f"round-robin, after {options.warmup} warm-up, caches emptied before each; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
    )
    print(
        f"{'scenario':44} {'side':4} {'queries':>7} {'KB':>5} {'median ms':>9} "
        f"{'p90 ms':>7} {'min ms':>7} {'SQL ms':>7} {'API/page':>8}"
    )
    with transaction.atomic():
        # Rolled back below: the shared database keeps neither the key nor its audit row.
        _key, secret = api_key_create(organization=organization, name="bench", created_by=user)
        api = Client(headers={"authorization": f"Bearer {secret}"})
        sides = {"page": (page, "/bills/"), "api": (api, "/api/v1/bills/")}
        urls = scenarios(organization)
        runs = [(name, side) for name in urls for side in sides]
        for name, side in runs * options.warmup:
            client, path = sides[side]
            timed_get(client, path + urls[name])
        times = {run: [] for run in runs}
        sql = {run: [] for run in runs}
        last = {}
        for _ in range(options.repeat):
            for name, side in runs:
                client, path = sides[side]
                elapsed, in_sql, queries, size = timed_get(client, path + urls[name])
                times[name, side].append(elapsed)
                sql[name, side].append(in_sql)
                last[name, side] = (queries, size)
        requests = export_requests(page, api, urls, options.repeat)
        transaction.set_rollback(True)
    for name in urls:
        for side in sides:
            runs_ = times[name, side]
            queries, size = last[name, side]
            median = statistics.median(runs_)
            ratio = median / statistics.median(times[name, "page"])
            p90 = statistics.quantiles(runs_, n=10)[-1] if len(runs_) > 1 else runs_[0]
            print(
                f"{name:44} {side:4} {queries:>7} {size / 1024:>5.0f} {median:>9.1f} "
                f"{p90:>7.1f} {min(runs_):>7.1f} {statistics.median(sql[name, side]):>7.1f} "
                f"{ratio:>7.2f}x"
            )
    print_export_requests(requests, urls)


def export_requests(page: Client, api: Client, urls: dict[str, str], repeat: int) -> dict:
    """Asking for a CSV export of each scenario's bills: the Bills page's POST (queueing,
    as it does beyond EXPORT_INLINE_MAX_ROWS) against `POST /api/v1/exports/` with the
    same filters. Each request's export is deleted before the next, so none is a repeat."""
    settings.EXPORT_INLINE_MAX_ROWS = {"xlsx": 0, "csv": 0}  # the page queues every size
    settings.EXPORTS_ACTIVE_PER_USER = 10**9
    times = {(name, side): [] for name in urls for side in ("page", "api")}
    queries = {}
    for _ in range(repeat):
        for name, query in urls.items():
            filters = dict(QueryDict(query.lstrip("?")).lists())
            for side in ("page", "api"):
                Export.objects.all().delete()
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    if side == "page":
                        response = page.post(f"/bills/export.csv{query}")
                    else:
                        response = api.post(
                            "/api/v1/exports/",
                            json.dumps({"format": "csv", "filters": filters}),
                            content_type="application/json",
                        )
                    elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code in (302, 202), (side, response.status_code)
                assert Export.objects.count() == 1
                times[name, side].append(elapsed)
                queries[name, side] = len(captured)
    return {"times": times, "queries": queries}


def print_export_requests(requests: dict, urls: dict[str, str]) -> None:
    times, queries = requests["times"], requests["queries"]
    print(f"\nasking for a CSV export (queued), {'median ms':>9} {'min ms':>7} {'queries':>7}")
    for name in urls:
        for side in ("page", "api"):
            runs = times[name, side]
            print(
                f"{name:44} {side:4} {statistics.median(runs):>9.1f} {min(runs):>7.1f} "
                f"{queries[name, side]:>7}"
            )


if __name__ == "__main__":
    main()
