"""A large, deterministic data set for benchmarks: bulk inserts, not one save per row."""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Max

from bills.demo import CATALOGUE, closed_cycles, ensure_products
from bills.models import Application, Bill, BillLine, Membership, Organization, Sequence
from bills.money import round_money
from bills.services import bill_number

BENCH_USERNAME = "bench"
BENCH_PASSWORD = "billing-bench-2026"
BIG_SLUG = "bench-big"
CURRENCIES = ("USD", "EUR", "GBP", "SGD")


class Command(BaseCommand):
    help = (
        "Generate a large data set for benchmarks: --bills bills across --organizations "
        f"organizations, one of which ('{BIG_SLUG}', login '{BENCH_USERNAME}' / "
        f"'{BENCH_PASSWORD}') holds --big-organization-bills of them. Run it on an empty "
        "database (after migrate); it refuses to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--bills", type=int, default=1_000_000)
        parser.add_argument("--organizations", type=int, default=1_000)
        parser.add_argument("--big-organization-bills", type=int, default=100_000)
        parser.add_argument("--cycles", type=int, default=24, help="months of history")
        parser.add_argument("--batch", type=int, default=5_000)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, **options):
        total, organizations = options["bills"], options["organizations"]
        big = options["big_organization_bills"]
        if organizations < 1 or big > total or (organizations == 1 and big != total):
            raise CommandError(
                "need --big-organization-bills <= --bills, split over --organizations"
            )
        if Organization.objects.filter(slug=BIG_SLUG).exists():
            raise CommandError("the large data set is already here; use a fresh database")
        self.rng = random.Random(options["seed"])
        self.cycles = closed_cycles(dt.date.today(), options["cycles"])
        self.batch = options["batch"]
        self.products = ensure_products()
        self.catalogue = list(CATALOGUE)
        started = time.monotonic()

        others = organizations - 1
        shares = [big] + [
            (total - big) // others + (1 if index < (total - big) % others else 0)
            for index in range(others)
        ]
        self.counters = self._start_counters()
        self.pending_bills: list[tuple[Bill, list[BillLine]]] = []
        self.written = 0
        for index, share in enumerate(shares):
            organization = self._organization(index)
            self._bills_for(organization, index, share)
        self._flush()
        self._save_counters()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {self.written:,} bills in {organizations:,} organizations "
                f"in {elapsed:.0f} s. Log in as {BENCH_USERNAME} / {BENCH_PASSWORD} "
                f"to see the {big:,} bills of '{BIG_SLUG}'."
            )
        )

    def _organization(self, index: int) -> Organization:
        slug = BIG_SLUG if index == 0 else f"bench-{index:04d}"
        currency = CURRENCIES[index % len(CURRENCIES)]
        organization = Organization.objects.create(
            slug=slug,
            name="Bench Big Org" if index == 0 else f"Bench Org {index:04d}",
            currency=currency,
            legal_name=f"Bench Org {index:04d} Ltd.",
            tax_id=f"BENCH-{index:06d}",
            address=f"{index} Benchmark Road\nTestville",
            country="US",
            billing_email=f"billing-{index}@bench.example",
        )
        if index == 0:
            user = get_user_model().objects.create_user(BENCH_USERNAME, password=BENCH_PASSWORD)
            Membership.objects.create(
                user=user, organization=organization, role=Membership.Role.OWNER
            )
        return organization

    def _applications(self, organization: Organization, index: int, count: int):
        """`count` applications, each billed for one product (cycling through the catalogue)."""
        applications = [
            Application(
                organization=organization,
                name=f"App {app:05d}",
                app_key=f"bench{index:04d}x{app:06d}",
                app_id=f"{index:04d}{app:06d}",
                whatsapp_business_account=(
                    f"9{index:05d}{app:08d}" if self._entry(app).code == "whatsapp" else ""
                ),
            )
            for app in range(count)
        ]
        return Application.objects.bulk_create(applications, batch_size=self.batch)

    def _entry(self, app: int):
        return self.catalogue[app % len(self.catalogue)]

    def _bills_for(self, organization: Organization, index: int, share: int) -> None:
        if share == 0:
            return
        applications = self._applications(organization, index, math.ceil(share / len(self.cycles)))
        made = 0
        for age, cycle in enumerate(reversed(self.cycles)):  # newest first
            for app, application in enumerate(applications):
                if made == share:
                    return
                self._add_bill(organization, application, self._entry(app), cycle, age)
                made += 1

    def _add_bill(self, organization, application, entry, cycle: dt.date, age: int) -> None:
        rng, currency = self.rng, organization.currency
        lines = []
        for position, rate in enumerate(entry.rates[:2], start=1):
            quantity = max(1, int(rate.typical_quantity * rng.uniform(0.01, 0.3)))
            lines.append(
                BillLine(
                    position=position,
                    description=rate.description,
                    quantity=quantity,
                    unit=entry.usage_unit,
                    unit_price=rate.unit_price,
                    amount=round_money(quantity * rate.unit_price, currency),
                )
            )
        consumption = sum((line.amount for line in lines), Decimal("0.00"))
        overdraft = Decimal("0.00")
        if rng.random() < 0.2:
            overdraft = round_money(consumption * Decimal(rng.randint(5, 60)) / 100, currency)
        self.counters[cycle] += 1
        bill_date = (cycle + dt.timedelta(days=32)).replace(day=3)
        cleared = age >= 2 and rng.random() < 0.9
        bill = Bill(
            number=bill_number(cycle, self.counters[cycle]),
            organization=organization,
            product=self.products[entry.code],
            application=application,
            whatsapp_business_account=application.whatsapp_business_account,
            billing_cycle=cycle,
            service_usage=sum(line.quantity for line in lines),
            consumption_amount=consumption,
            overdraft_amount=overdraft,
            line_count=len(lines),
            currency=currency,
            status=Bill.Status.CLEARED if cleared else Bill.Status.PENDING,
            bill_date=bill_date,
            cleared_at=(
                dt.datetime.combine(bill_date, dt.time(12), tzinfo=dt.UTC) if cleared else None
            ),
            payer_legal_name=organization.legal_name,
            payer_tax_id=organization.tax_id,
            payer_address=organization.address,
            payer_country=organization.country,
            payer_email=organization.billing_email,
        )
        self.pending_bills.append((bill, lines))
        if len(self.pending_bills) >= self.batch:
            self._flush()

    def _flush(self) -> None:
        if not self.pending_bills:
            return
        with transaction.atomic():
            bills = Bill.objects.bulk_create([bill for bill, _ in self.pending_bills])
            lines = []
            for bill, (_, bill_lines) in zip(bills, self.pending_bills, strict=True):
                for line in bill_lines:
                    line.bill = bill
                    lines.append(line)
            BillLine.objects.bulk_create(lines)
        self.written += len(bills)
        self.pending_bills = []
        if self.written % 100_000 < self.batch:
            self.stdout.write(f"  {self.written:,} bills")

    def _start_counters(self) -> dict[dt.date, int]:
        """Continue each cycle's numbering after what is already issued."""
        counters = {}
        for cycle in self.cycles:
            last = Sequence.objects.filter(name=f"bill-{cycle:%Y%m}").aggregate(v=Max("last_value"))
            counters[cycle] = last["v"] or 0
        return counters

    def _save_counters(self) -> None:
        for cycle, value in self.counters.items():
            Sequence.objects.update_or_create(
                name=f"bill-{cycle:%Y%m}", defaults={"last_value": value}
            )
