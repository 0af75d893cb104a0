"""Organization.bills_version is also raised when an application or a product changes.

The Bills page shows application names and AppKeys, and product names and units, next
to every bill, and its rendered content is cached by bills_version (bills.summaries): a
renamed application must show on the next request, whoever renamed it. An application
raises its own organization's version; a product (the shared catalogue, edited rarely,
by staff) raises every organization's. Inserting a product changes no page: no bill
refers to it yet.

The same caveat as 0005: SQLite drops these triggers when a later migration rebuilds
bills_application or bills_product; such a migration runs bills.triggers again.
"""

from django.db import migrations

from bills.triggers import drop_version_triggers, install_version_triggers

TABLES = ["bills_application", "bills_product"]


def create_triggers(apps, schema_editor) -> None:
    install_version_triggers(schema_editor, TABLES)


def drop_triggers(apps, schema_editor) -> None:
    drop_version_triggers(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("bills", "0005_organization_bills_version"),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers),
    ]
