from django.core.management.base import BaseCommand
from django.utils import timezone

from bills.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo


class Command(BaseCommand):
    help = "Load the demo organizations, users, applications, 24 months of bills and orders."

    def handle(self, *args, **options):
        created = seed_demo(timezone.localdate())
        summary = ", ".join(f"{count} {what}" for what, count in created.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data ready (created {summary})."))
        logins = ", ".join(username for username, _, _ in DEMO_USERS)
        self.stdout.write(f"Demo logins: {logins} (password: {DEMO_PASSWORD})")
