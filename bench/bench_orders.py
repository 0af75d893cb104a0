"""Order Management at scale: how long the list takes with many orders, filtered or not.

Run by hand against a throw-away database (it adds an organization with N orders):

    createdb -h 127.0.0.1 -p 55432 -U postgres bench_issue6
    DATABASE_URL=postgres://postgres@127.0.0.1:55432/bench_issue6 \
        .venv/bin/python bench/bench_orders.py --orders 200000

Prints the median wall time of each request over --repeat runs, and its query count.
`--smoke` runs it at a tiny size on a throw-away SQLite database (what pytest runs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import smoke  # noqa: E402

if smoke.requested():
    smoke.tiny_database("orders", seed=False)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_console.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bills.demo import ensure_prices, ensure_products  # noqa: E402
from bills.models import Membership, Order, Organization, Sequence  # noqa: E402

SLUG = "bench-orders"


def build(count: int) -> tuple[Organization, object]:
    call_command("migrate", verbosity=0)
    products = list(ensure_products().values())
    ensure_prices({p.code: p for p in products}, {"USD"})
    organization, _ = Organization.objects.get_or_create(
        slug=SLUG,
        defaults={
            "name": "Bench Orders",
            "legal_name": "Bench Orders Ltd.",
            "country": "US",
            "billing_email": "bench@example.com",
            "time_zone": "Europe/Berlin",
        },
    )
    user, created = get_user_model().objects.get_or_create(username="bench-orders")
    if created:
        Membership.objects.create(
            user=user, organization=organization, role=Membership.Role.FINANCE
        )
    have = Order.objects.filter(organization=organization).count()
    if have < count:
        print(f"creating {count - have} orders ...", flush=True)
        start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        types = [Order.Type.NEW_PURCHASE, Order.Type.TOP_UP, Order.Type.RENEWAL]
        statuses = [Order.Status.PAID, Order.Status.CLOSED]
        batch = []
        for i in range(have, count):
            batch.append(
                Order(
                    number=f"ORD-BENCH-{i:09d}",
                    organization=organization,
                    product=products[i % len(products)],
                    order_type=types[i % len(types)],
                    status=statuses[i % len(statuses)],
                    amount=Decimal(10 + i % 990),
                    currency="USD",
                    payment_method=Order.PaymentMethod.CARD,
                    ordered_by=user,
                    ordered_at=start + dt.timedelta(minutes=13 * i),
                )
            )
            if len(batch) == 5000:
                Order.objects.bulk_create(batch)
                batch = []
        Order.objects.bulk_create(batch)
        Sequence.objects.get_or_create(name="order")
    return organization, user


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        smoke.FLAG,
        action="store_true",
        help="200 orders, one request each, on a throw-away SQLite database: does it run?",
    )
    args = parser.parse_args()
    if args.smoke:
        args.orders, args.repeat = 200, 1
    organization, user = build(args.orders)
    product = organization.orders.values_list("product_id", flat=True).first()
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    urls = [
        "/orders/",
        "/orders/?page=400",
        f"/orders/?product={product}&type=top_up&status=paid",
        "/orders/?ordered_from=2022-03-01&ordered_to=2022-03-31",
        "/orders/?status=unpaid",
        "/orders/?ordered_from=2026-13-01",
        "/market/",
    ]
    print(f"{connection.vendor}, {Order.objects.filter(organization=organization).count()} orders")
    for url in urls:
        times = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - began)
            assert response.status_code == 200, (url, response.status_code)
        median_ms = statistics.median(times) * 1000
        print(f"{median_ms:8.1f} ms  {len(queries.captured_queries):2d} queries  {url}")


if __name__ == "__main__":
    main()
