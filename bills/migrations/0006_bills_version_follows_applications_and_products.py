"""Organization.bills_version is also raised when an application or a product changes.

The Bills page shows application names and AppKeys, and product names and units, next
to every bill, and its rendered content is cached by bills_version (bills.summaries): a
renamed application must show on the next request, whoever renamed it. An application
raises its own organization's version; a product (the shared catalogue, edited rarely,
by staff) raises every organization's. Inserting a product changes no page: no bill
refers to it yet.

The same caveat as 0005: SQLite drops these triggers when a later migration rebuilds
bills_application or bills_product; such a migration must create them again.
"""

from django.db import migrations

# Applications have an organization_id like bills: 0005's function serves them as is.
TRIGGERS_POSTGRESQL = """
CREATE TRIGGER bills_application_insert_version AFTER INSERT ON bills_application
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bills_raise_bills_version();
CREATE TRIGGER bills_application_update_version AFTER UPDATE ON bills_application
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bills_raise_bills_version();
CREATE TRIGGER bills_application_delete_version AFTER DELETE ON bills_application
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bills_raise_bills_version();

CREATE FUNCTION bills_product_raise_bills_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE bills_organization SET bills_version = bills_version + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER bills_product_change_version AFTER UPDATE OR DELETE ON bills_product
    FOR EACH STATEMENT EXECUTE FUNCTION bills_product_raise_bills_version();
"""

DROP_POSTGRESQL = """
DROP TRIGGER IF EXISTS bills_application_insert_version ON bills_application;
DROP TRIGGER IF EXISTS bills_application_update_version ON bills_application;
DROP TRIGGER IF EXISTS bills_application_delete_version ON bills_application;
DROP TRIGGER IF EXISTS bills_product_change_version ON bills_product;
DROP FUNCTION IF EXISTS bills_product_raise_bills_version();
"""

TRIGGERS_SQLITE = [
    """CREATE TRIGGER bills_application_insert_version AFTER INSERT ON bills_application BEGIN
        UPDATE bills_organization SET bills_version = bills_version + 1
        WHERE id = NEW.organization_id;
    END""",
    """CREATE TRIGGER bills_application_update_version AFTER UPDATE ON bills_application BEGIN
        UPDATE bills_organization SET bills_version = bills_version + 1
        WHERE id IN (OLD.organization_id, NEW.organization_id);
    END""",
    """CREATE TRIGGER bills_application_delete_version AFTER DELETE ON bills_application BEGIN
        UPDATE bills_organization SET bills_version = bills_version + 1
        WHERE id = OLD.organization_id;
    END""",
    # Per row on SQLite: one UPDATE of every organization for each product changed.
    """CREATE TRIGGER bills_product_update_version AFTER UPDATE ON bills_product BEGIN
        UPDATE bills_organization SET bills_version = bills_version + 1;
    END""",
    """CREATE TRIGGER bills_product_delete_version AFTER DELETE ON bills_product BEGIN
        UPDATE bills_organization SET bills_version = bills_version + 1;
    END""",
]

DROP_SQLITE = [
    *(
        f"DROP TRIGGER IF EXISTS bills_application_{event}_version"
        for event in ("insert", "update", "delete")
    ),
    "DROP TRIGGER IF EXISTS bills_product_update_version",
    "DROP TRIGGER IF EXISTS bills_product_delete_version",
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
        ("bills", "0005_organization_bills_version"),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers),
    ]
