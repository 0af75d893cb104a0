"""Server time of the Bills page on the large data set. Run by hand, not by pytest.

    DATABASE_URL=postgres://postgres@127.0.0.1:55432/bench \\
        .venv/bin/python bench/bench_bill_list.py [--repeat 30] [--explain] [--fresh-content] \\
        [--language en zh-hans]

Needs `manage.py migrate` and `manage.py seed_large` on that database first (`--smoke`
makes its own tiny one: what pytest runs). Requests go
through Django's test client in this process (middleware, session, filter, queries,
template: everything but the network), logged in as the seed's `bench` user, whose
organization holds 100,000 of the 1,000,000 bills. DEBUG is off, as in production.

Prints, per scenario: rows shown, SQL queries per request, page size, the median,
90th percentile and fastest server time over --repeat requests (after --warmup; the
scenarios take turns), and the median time spent in SQL. --explain adds EXPLAIN
ANALYZE (PostgreSQL) or EXPLAIN QUERY PLAN (SQLite) for each query that reads bills.
--language reads the page in each language given (the switcher's cookie, as a browser
sends it after a choice), the languages taking turns too, and prints each median against
the first language's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import smoke  # noqa: E402

if smoke.requested():
    smoke.tiny_database("bill-list")
# DEBUG off means the production static storage, which needs collectstatic's manifest.
smoke.production_settings("bill-list")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.signals import user_logged_in  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bills import summaries  # noqa: E402
from bills.models import Bill, Organization, Product  # noqa: E402

BENCH_USER = "bench"
BIG_ORGANIZATION = "bench-big"


def add_months(day, months: int):
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1)


def scenarios(organization: Organization) -> dict[str, str]:
    bills = Bill.objects.for_organization(organization)
    latest = bills.aggregate(latest=Max("billing_cycle"))["latest"]
    products = list(Product.objects.in_use_by(organization).order_by("position")[:5])
    two = f"product={products[0].pk}&product={products[4].pk}"
    months = f"cycle_from={add_months(latest, -9):%Y-%m}&cycle_to={latest:%Y-%m}"
    filtered = f"/bills/?{two}&{months}&status=pending"
    waba = (
        bills.exclude(whatsapp_business_account="")
        .values_list("whatsapp_business_account", flat=True)
        .first()
    )
    return {
        # The two pages the goal is about.
        "first page": "/bills/",
        "filtered (2 products, 10 months, Pending)": filtered,
        # Not in the goal; measured to know where the page is slow.
        "filtered, page 50": f"{filtered}&page=50",
        "page 2,000 of 4,000": "/bills/?page=2000",
        "last page": "/bills/?page=4000",
        "sorted by amount": "/bills/?sort=-amount",
        "one month, cleared": f"/bills/?cycle={add_months(latest, -3):%Y-%m}&status=cleared",
        "search an AppKey": "/bills/?q=x000042",
        "search a WhatsApp Business Account": f"/bills/?q={waba[-6:]}" if waba else "/bills/?q=-",
        "invalid filter": "/bills/?cycle=2024-13",
    }


def bill_queries(captured) -> list[str]:
    return [query["sql"] for query in captured if '"bills_bill"' in query["sql"]]


def explain(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return [" ".join(str(part) for part in row) for row in cursor.fetchall()]


def timed_get(
    client: Client, url: str, fresh_content: bool = False
) -> tuple[float, float, list, object]:
    if fresh_content:
        # What a view the page cache has not seen costs; the totals stay cached.
        caches[summaries.PAGES].clear()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    sql = sum(float(query["time"]) for query in captured) * 1000
    return elapsed, sql, captured.captured_queries, response


def measure(
    clients: dict[str, Client],
    urls: dict[str, str],
    warmup: int,
    repeat: int,
    fresh_content: bool,
) -> dict:
    """Round-robin over the scenarios and languages (`clients`), so a burst of load
    elsewhere on the machine slows them all alike instead of whichever one happened to be
    running. Results are keyed by (scenario, language)."""
    for url in urls.values():
        for _ in range(warmup):
            for client in clients.values():
                timed_get(client, url, fresh_content)
    runs_of = [(name, language) for name in urls for language in clients]
    times = {run: [] for run in runs_of}
    sql_times = {run: [] for run in runs_of}
    last = {}
    for _ in range(repeat):
        for name, language in runs_of:
            elapsed, sql, captured, response = timed_get(
                clients[language], urls[name], fresh_content
            )
            if language and f'<html lang="{language}">' not in response.content.decode():
                raise SystemExit(f"{urls[name]} did not answer in {language}")
            times[name, language].append(elapsed)
            sql_times[name, language].append(sql)
            last[name, language] = (captured, response)
    results = {}
    for run in runs_of:
        captured, response = last[run]
        runs = times[run]
        results[run] = {
            "rows": response.content.decode().count('class="cell-product"'),
            "queries": len(captured),
            "kb": len(response.content) / 1024,
            "median": statistics.median(runs),
            "p90": statistics.quantiles(runs, n=10)[-1] if len(runs) > 1 else runs[0],
            "min": min(runs),
            "sql": statistics.median(sql_times[run]),
            "captured": captured,
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--only", nargs="+", help="run the scenarios whose name contains one of these"
    )
    parser.add_argument(
        "--fresh-content",
        action="store_true",
        help="empty the page cache before every request (the totals stay cached)",
    )
    parser.add_argument(
        "--language",
        nargs="+",
        default=[""],
        choices=[code for code, _ in settings.LANGUAGES],
        help="read the page in each of these languages, side by side (default: the "
        "browser's, which the test client does not send: English)",
    )
    parser.add_argument(
        smoke.FLAG,
        action="store_true",
        help="2 requests a scenario on a throw-away SQLite database: does it still run?",
    )
    options = parser.parse_args()
    if options.smoke:
        options.repeat, options.warmup = 2, 1

    if not smoke.collected_static():
        call_command("collectstatic", interactive=False, verbosity=0)
    organization = Organization.objects.get(slug=BIG_ORGANIZATION)
    user = get_user_model().objects.get(username=BENCH_USER)
    clients = {}
    for language in options.language:
        clients[language] = Client()
        # A session, without the login signal's receivers: they write last_login and read
        # the language saved with the profile, and a shared large database must stay as
        # it is (and may predate the profile's table).
        with mock.patch.object(user_logged_in, "send"):
            clients[language].force_login(user)
        if language:
            clients[language].cookies[settings.LANGUAGE_COOKIE_NAME] = language
    total = Bill.objects.count()
    mine = Bill.objects.for_organization(organization).count()
    print(
        f"{connection.vendor} {connection.settings_dict['NAME']}: {total:,} bills, "
        f"{mine:,} in {organization.slug}; {options.repeat} requests per scenario, "
        f"round-robin, after {options.warmup} warm-up"
        f"{', page cache emptied before each' if options.fresh_content else ''}; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
    )
    languages = list(clients)
    compare = len(languages) > 1
    print(
        f"{'scenario':44} {'rows':>4} {'queries':>7} {'page KB':>7} "
        f"{'median ms':>9} {'p90 ms':>7} {'min ms':>7} {'SQL ms':>7}"
        + (f" {'language':>8} {'median vs ' + languages[0]:>13}" if compare else "")
    )
    urls = {
        name: url
        for name, url in scenarios(organization).items()
        if not options.only or any(part in name for part in options.only)
    }
    results = measure(clients, urls, options.warmup, options.repeat, options.fresh_content)
    for name in urls:
        for language in languages:
            result = results[name, language]
            ratio = result["median"] / results[name, languages[0]]["median"]
            print(
                f"{name:44} {result['rows']:>4} {result['queries']:>7} {result['kb']:>7.0f} "
                f"{result['median']:>9.1f} {result['p90']:>7.1f} {result['min']:>7.1f} "
                f"{result['sql']:>7.1f}" + (f" {language:>8} {ratio:>12.2f}x" if compare else "")
            )
    if options.explain:
        for name, url in urls.items():
            print(f"\n{name}: {url}")
            for sql in bill_queries(results[name, languages[0]]["captured"]):
                print(f"  -- {sql[:160]}{'...' if len(sql) > 160 else ''}")
                for line in explain(sql):
                    print(f"     {line}")


if __name__ == "__main__":
    main()
