"""Organization.bills_version, raised by triggers on every change to an organization's bills.

Triggers rather than Python (save(), signals) because bulk_create, QuerySet.update(),
the admin and raw SQL all bypass Python hooks; a cached Bills page summary keyed by the
version is only correct if no writer can forget to raise it. On PostgreSQL they are
statement-level (one UPDATE per organization per statement, so a bulk insert of a
million bills costs one UPDATE, not a million). On SQLite they are per row.

The triggers are defined in bills.triggers, which also says what a later migration that
rebuilds one of these tables on SQLite must do. test_bill_summary_cache catches a
missing trigger on both databases.
"""

from django.db import migrations, models

from bills.triggers import drop_version_triggers, install_version_triggers


def create_triggers(apps, schema_editor) -> None:
    install_version_triggers(schema_editor, ["bills_bill"])


def drop_triggers(apps, schema_editor) -> None:
    drop_version_triggers(schema_editor, ["bills_bill"])


class Migration(migrations.Migration):
    dependencies = [
        ("bills", "0004_bill_list_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="bills_version",
            field=models.PositiveBigIntegerField(default=0, db_default=0, editable=False),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
