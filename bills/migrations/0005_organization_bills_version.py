"""Organization.bills_version, raised by triggers on every change to an organization's bills.

Triggers rather than Python (save(), signals) because bulk_create, QuerySet.update(),
the admin and raw SQL all bypass Python hooks; a cached Bills page summary keyed by the
version is only correct if no writer can forget to raise it. On PostgreSQL they are
statement-level (one UPDATE per organization per statement, so a bulk insert of a
million bills costs one UPDATE, not a million). On SQLite they are per row.

SQLite drops a table's triggers when a later migration rebuilds that table (most
AlterField/RemoveField on Bill): such a migration must run TRIGGERS_SQLITE again.
test_bill_summary_cache catches a missing trigger on both databases.
"""

from django.db import migrations, models

TRIGGERS_POSTGRESQL = """
CREATE FUNCTION bills_raise_bills_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE bills_organization SET bills_version = bills_version + 1
        WHERE id IN (SELECT organization_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE bills_organization SET bills_version = bills_version + 1
        WHERE id IN (SELECT organization_id FROM old_rows);
    ELSE
        UPDATE bills_organization SET bills_version = bills_version + 1
        WHERE id IN (SELECT organization_id FROM old_rows
                     UNION SELECT organization_id FROM new_rows);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER bills_bill_insert_version AFTER INSERT ON bills_bill
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bills_raise_bills_version();
CREATE TRIGGER bills_bill_update_version AFTER UPDATE ON bills_bill
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bills_raise_bills_version();
CREATE TRIGGER bills_bill_delete_version AFTER DELETE ON bills_bill
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bills_raise_bills_version();
"""

DROP_POSTGRESQL = """
DROP TRIGGER IF EXISTS bills_bill_insert_version ON bills_bill;
DROP TRIGGER IF EXISTS bills_bill_update_version ON bills_bill;
DROP TRIGGER IF EXISTS bills_bill_delete_version ON bills_bill;
DROP FUNCTION IF EXISTS bills_raise_bills_version();
"""

TRIGGERS_SQLITE = [
    """CREATE TRIGGER bills_bill_insert_version AFTER INSERT ON bills_bill BEGIN
        UPDATE bills_organization SET bills_version = bills_version + 1
        WHERE id = NEW.organization_id;
    END""",
    """CREATE TRIGGER bills_bill_update_version AFTER UPDATE ON bills_bill BEGIN
        UPDATE bills_organization SET bills_version = bills_version + 1
        WHERE id IN (OLD.organization_id, NEW.organization_id);
    END""",
    """CREATE TRIGGER bills_bill_delete_version AFTER DELETE ON bills_bill BEGIN
        UPDATE bills_organization SET bills_version = bills_version + 1
        WHERE id = OLD.organization_id;
    END""",
]

DROP_SQLITE = [
    f"DROP TRIGGER IF EXISTS bills_bill_{event}_version" for event in ("insert", "update", "delete")
]


def _run(schema_editor, postgresql, sqlite) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(postgresql)
    elif vendor == "sqlite":
        for statement in sqlite:
            schema_editor.execute(statement)
    else:
        raise NotImplementedError(f"bills_version triggers for {vendor}")


def create_triggers(apps, schema_editor) -> None:
    _run(schema_editor, TRIGGERS_POSTGRESQL, TRIGGERS_SQLITE)


def drop_triggers(apps, schema_editor) -> None:
    _run(schema_editor, DROP_POSTGRESQL, DROP_SQLITE)


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
