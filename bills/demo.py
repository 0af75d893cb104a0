"""The product catalogue and the deterministic demo data set (`manage.py seed_demo`)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import (
    Application,
    Bill,
    CreditNote,
    Membership,
    Order,
    Organization,
    Product,
    ProductPrice,
)
from .money import round_money
from .services import (
    LineItem,
    bill_clear,
    bill_issue,
    credit_note_issue,
    order_pay,
    order_place,
)


@dataclass(frozen=True)
class Rate:
    """One kind of usage of a product and its list price per unit."""

    description: str
    unit_price: Decimal
    typical_quantity: int


@dataclass(frozen=True)
class CatalogueEntry:
    code: str
    name: str
    usage_unit: str
    description: str
    rates: tuple[Rate, ...]


CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        "app_push",
        "App Push",
        "messages",
        "Notifications to iOS and Android apps, with delivery and open tracking.",
        (Rate("Push notifications delivered", Decimal("0.000150"), 2_400_000),),
    ),
    CatalogueEntry(
        "web_push",
        "Web Push",
        "messages",
        "Browser notifications to subscribers of your websites.",
        (Rate("Web push notifications delivered", Decimal("0.000120"), 900_000),),
    ),
    CatalogueEntry(
        "whatsapp",
        "WhatsApp Business",
        "conversations",
        "WhatsApp Business Platform conversations, billed by category.",
        (
            Rate("Marketing conversations", Decimal("0.025000"), 18_000),
            Rate("Utility conversations", Decimal("0.004000"), 42_000),
            Rate("Authentication conversations", Decimal("0.003500"), 25_000),
            Rate("Service conversations", Decimal("0.003000"), 9_000),
        ),
    ),
    CatalogueEntry(
        "email",
        "Email",
        "emails",
        "Transactional and marketing email with dedicated sending domains.",
        (Rate("Emails sent", Decimal("0.000800"), 650_000),),
    ),
    CatalogueEntry(
        "sms",
        "SMS",
        "messages",
        "Two-way SMS to more than 200 countries, billed by destination.",
        (
            Rate("SMS to United States", Decimal("0.007900"), 60_000),
            Rate("SMS to Germany", Decimal("0.075000"), 8_000),
            Rate("SMS to India", Decimal("0.003100"), 120_000),
            Rate("SMS to Brazil", Decimal("0.020000"), 15_000),
        ),
    ),
    CatalogueEntry(
        "otp",
        "OTP",
        "verifications",
        "One-time passwords over SMS, voice and WhatsApp with fraud protection.",
        (Rate("Verifications completed", Decimal("0.030000"), 40_000),),
    ),
)

DEMO_PASSWORD = "billing-demo-2026"
DEMO_CYCLES = 24


@dataclass(frozen=True)
class DemoApp:
    name: str
    app_key: str
    app_id: str
    products: tuple[str, ...]
    waba: str = ""


@dataclass(frozen=True)
class DemoOrganization:
    slug: str
    name: str
    currency: str
    time_zone: str
    legal_name: str
    tax_id: str
    address: str
    country: str
    billing_email: str
    apps: tuple[DemoApp, ...]


DEMO_ORGANIZATIONS: tuple[DemoOrganization, ...] = (
    DemoOrganization(
        "acme",
        "Acme Messaging",
        "USD",
        "America/New_York",
        "Acme Messaging Inc.",
        "US-94-1234567",
        "500 Market Street, Suite 400\nSan Francisco, CA 94105",
        "US",
        "billing@acme.example",
        (
            DemoApp("Acme Shop", "a1c3e5f7a9b1c3d5e7f9a1b3", "1000101", ("app_push", "email")),
            DemoApp("Acme Web", "b2d4f6a8c0e2b4d6f8a0c2e4", "1000102", ("web_push",)),
            DemoApp(
                "Acme Support",
                "c3e5a7b9d1f3c5e7a9b1d3f5",
                "1000103",
                ("whatsapp",),
                "104857600123456",
            ),
            DemoApp("Acme Login", "d4f6b8c0e2a4d6f8b0c2e4a6", "1000104", ("otp", "sms")),
        ),
    ),
    DemoOrganization(
        "nimbus",
        "Nimbus Retail",
        "EUR",
        "Europe/Berlin",
        "Nimbus Retail GmbH",
        "DE811234567",
        "Friedrichstraße 68\n10117 Berlin",
        "DE",
        "rechnung@nimbus.example",
        (
            DemoApp(
                "Nimbus Store", "e5a7c9d1f3b5e7a9c1d3f5b7", "2000201", ("app_push", "web_push")
            ),
            DemoApp(
                "Nimbus Care",
                "f6b8d0e2a4c6f8b0d2e4a6c8",
                "2000202",
                ("whatsapp",),
                "209715200654321",
            ),
            DemoApp("Nimbus Alerts", "a7c9e1f3b5d7a9c1e3f5b7d9", "2000203", ("sms", "email")),
        ),
    ),
)

# username, full name, memberships (organization slug, role).
# Acme has one member of each role; dave sees each organization with another role.
DEMO_USERS = (
    ("alice", "Alice Chen", (("acme", Membership.Role.OWNER),)),
    ("bob", "Bob Martin", (("acme", Membership.Role.FINANCE),)),
    ("carol", "Carol Weber", (("nimbus", Membership.Role.OWNER),)),
    (
        "dave",
        "Dave Okafor",
        (("acme", Membership.Role.VIEWER), ("nimbus", Membership.Role.FINANCE)),
    ),
)


def ensure_products() -> dict[str, Product]:
    products = {}
    for position, entry in enumerate(CATALOGUE, start=1):
        products[entry.code], _ = Product.objects.get_or_create(
            code=entry.code,
            defaults={
                "name": entry.name,
                "usage_unit": entry.usage_unit,
                "description": entry.description,
                "position": position,
            },
        )
    return products


def ensure_prices(products: dict[str, Product], currencies: set[str]) -> int:
    """List prices from the catalogue's rates, in each currency; existing rows stay."""
    created = 0
    for entry in CATALOGUE:
        for currency in sorted(currencies):
            for position, rate in enumerate(entry.rates, start=1):
                _, was_created = ProductPrice.objects.get_or_create(
                    product=products[entry.code],
                    currency=currency,
                    description=rate.description,
                    min_quantity=0,
                    defaults={"unit_price": rate.unit_price, "position": position},
                )
                created += was_created
    return created


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(cycle: dt.date, months: int) -> dt.date:
    index = cycle.year * 12 + cycle.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def closed_cycles(today: dt.date, count: int) -> list[dt.date]:
    """The `count` most recent months that have ended, oldest first."""
    last = add_months(month_start(today), -1)
    return [add_months(last, -offset) for offset in reversed(range(count))]


def usage_lines(rng: random.Random, entry: CatalogueEntry, scale: float) -> list[LineItem]:
    return [
        LineItem(
            description=rate.description,
            quantity=max(1, int(rate.typical_quantity * scale * rng.uniform(0.6, 1.4))),
            unit=entry.usage_unit,
            unit_price=rate.unit_price,
        )
        for rate in entry.rates
    ]


def seed_demo(today: dt.date) -> dict[str, int]:
    """Build the demo data set; rows that already exist are left alone."""
    created = {"organizations": 0, "users": 0, "bills": 0, "orders": 0}
    catalogue = {entry.code: entry for entry in CATALOGUE}
    with transaction.atomic():
        products = ensure_products()
        # The demo bills charge the catalogue's rates in every currency; so do the prices.
        ensure_prices(products, {spec.currency for spec in DEMO_ORGANIZATIONS})
        organizations = {}
        for spec in DEMO_ORGANIZATIONS:
            organization, was_created = Organization.objects.get_or_create(
                slug=spec.slug,
                defaults={
                    "name": spec.name,
                    "currency": spec.currency,
                    "time_zone": spec.time_zone,
                    "legal_name": spec.legal_name,
                    "tax_id": spec.tax_id,
                    "address": spec.address,
                    "country": spec.country,
                    "billing_email": spec.billing_email,
                },
            )
            created["organizations"] += was_created
            organizations[spec.slug] = organization
            for app in spec.apps:
                Application.objects.get_or_create(
                    app_key=app.app_key,
                    defaults={
                        "organization": organization,
                        "name": app.name,
                        "app_id": app.app_id,
                        "whatsapp_business_account": app.waba,
                    },
                )
        users = _ensure_users(organizations, created)

        cycles = closed_cycles(today, DEMO_CYCLES)
        for index, cycle in enumerate(cycles):
            age = len(cycles) - 1 - index  # 0 for the most recent cycle
            for spec in DEMO_ORGANIZATIONS:
                organization = organizations[spec.slug]
                for app in spec.apps:
                    application = Application.objects.get(app_key=app.app_key)
                    for code in app.products:
                        created["bills"] += _ensure_bill(
                            organization,
                            products[code],
                            catalogue[code],
                            application,
                            cycle,
                            age,
                            users[spec.slug],
                        )
        created["orders"] += _ensure_purchase_orders(organizations, products, users, today)
        _ensure_credit_note(organizations["acme"])
    return created


def _ensure_users(organizations, created) -> dict[str, object]:
    """Create the demo users; returns the first (owner) user of each organization."""
    User = get_user_model()
    owners = {}
    for username, full_name, memberships in DEMO_USERS:
        first, last = full_name.split(" ", 1)
        user, was_created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        if was_created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            created["users"] += 1
        for slug, role in memberships:
            # The role as documented (README), also in a database migration 0013 made
            # every member an owner of.
            Membership.objects.update_or_create(
                user=user, organization=organizations[slug], defaults={"role": role}
            )
            owners.setdefault(slug, user)
    return owners


def _ensure_bill(organization, product, entry, application, cycle, age, orderer) -> int:
    if Bill.objects.filter(
        organization=organization, product=product, application=application, billing_cycle=cycle
    ).exists():
        return 0
    # One generator per bill: the same bill gets the same numbers whatever else exists.
    rng = random.Random(f"{application.app_key}:{product.code}:{cycle:%Y-%m}")
    growth = 0.7 + 0.6 * (1 - age / DEMO_CYCLES)  # usage grows over the two years
    lines = usage_lines(rng, entry, growth)
    consumption = sum(
        (round_money(line.quantity * line.unit_price, organization.currency) for line in lines),
        Decimal("0.00"),
    )
    overdraft = Decimal("0.00")
    if rng.random() < 0.25:
        overdraft = round_money(
            consumption * Decimal(rng.randint(5, 60)) / 100, organization.currency
        )
    bill = bill_issue(
        organization=organization,
        product=product,
        application=application,
        billing_cycle=cycle,
        bill_date=add_months(cycle, 1).replace(day=3),
        lines=lines,
        overdraft_amount=overdraft,
    )
    # The two most recent cycles are still to be paid; older ones mostly are settled.
    cleared = age >= 2 and (age >= 4 or rng.random() < 0.5)
    if cleared:
        cleared_at = dt.datetime.combine(
            bill.bill_date + dt.timedelta(days=rng.randint(5, 25)), dt.time(10, 30), tzinfo=dt.UTC
        )
    if overdraft:
        # Placed like a member would: an overdraft that was settled was paid by bank
        # transfer on the day the bill was cleared.
        order = order_place(
            organization=organization,
            product=product,
            order_type=Order.Type.SUPPLEMENTARY_PAYMENT,
            amount=overdraft,
            ordered_by=orderer,
            ordered_at=cleared_at if cleared else _bill_time(bill),
            bill=bill,
        )
        if cleared:
            order_pay(order=order, payment_method=Order.PaymentMethod.BANK_TRANSFER)
    if cleared:
        bill_clear(bill=bill, cleared_at=cleared_at)
    return 1


def _bill_time(bill: Bill) -> dt.datetime:
    return dt.datetime.combine(bill.bill_date, dt.time(9, 0), tzinfo=dt.UTC)


def _ensure_purchase_orders(organizations, products, users, today) -> int:
    """A New Purchase per product an organization uses, and a yearly prepaid top-up."""
    created = 0
    for spec in DEMO_ORGANIZATIONS:
        organization = organizations[spec.slug]
        first_cycle = closed_cycles(today, DEMO_CYCLES)[0]
        codes = sorted({code for app in spec.apps for code in app.products})
        purchases = [
            (products[code], Order.Type.NEW_PURCHASE, Decimal("99.00"), add_months(first_cycle, -1))
            for code in codes
        ] + [
            (
                products[codes[0]],
                Order.Type.TOP_UP,
                Decimal("5000.00"),
                add_months(first_cycle, 12 * n),
            )
            for n in range(2)
        ]
        for product, order_type, amount, day in purchases:
            ordered_at = dt.datetime.combine(day.replace(day=15), dt.time(14, 0), tzinfo=dt.UTC)
            if Order.objects.filter(
                organization=organization,
                product=product,
                order_type=order_type,
                ordered_at=ordered_at,
            ).exists():
                continue
            order = order_place(
                organization=organization,
                product=product,
                order_type=order_type,
                amount=amount,
                ordered_by=users[spec.slug],
                ordered_at=ordered_at,
            )
            order_pay(order=order, payment_method=Order.PaymentMethod.CARD)
            created += 1
    created += _ensure_unpaid_top_up(organizations["acme"], products["sms"], users["acme"], today)
    return created


def _ensure_unpaid_top_up(organization, product, orderer, today) -> int:
    """One order waiting for payment, placed like a member would in the Product Market."""
    if Order.objects.filter(
        organization=organization, product=product, order_type=Order.Type.TOP_UP
    ).exists():
        return 0
    order_place(
        organization=organization,
        product=product,
        order_type=Order.Type.TOP_UP,
        amount=Decimal("1000.00"),
        ordered_by=orderer,
        ordered_at=dt.datetime.combine(month_start(today), dt.time(8, 0), tzinfo=dt.UTC),
    )
    return 1


def _ensure_credit_note(organization: Organization) -> None:
    """One correction, so the demo shows a credit note on a bill, its PDF and the list."""
    if CreditNote.objects.for_organization(organization).exists():
        return
    bill = (
        Bill.objects.for_organization(organization)
        .pending()
        .filter(overdraft_amount__gt=0)
        .order_by("-billing_cycle", "number")
        .first()
    )
    if bill is None:
        return
    staff, _ = get_user_model().objects.get_or_create(
        username="billing-ops", defaults={"is_staff": True, "first_name": "Billing"}
    )
    credit_note_issue(
        bill=bill,
        amount=round_money(bill.overdraft_amount / 4, bill.currency),
        reason="Duplicate messages delivered during the carrier outage of the 12th",
        issued_by=staff,
    )
