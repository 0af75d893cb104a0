"""Database triggers, made in one place: the ones that raise Organization.bills_version,
and `TriggersSetAside`, for the migrations that rebuild a table on SQLite.

Every change to an organization's bills or applications, and any change to a product,
raises the version that keys the Bills page's caches (bills.summaries). Triggers rather
than Python hooks, because bulk_create, QuerySet.update(), the admin and raw SQL bypass
those. On PostgreSQL they are statement-level (a bulk insert of a million bills costs one
UPDATE per organization); on SQLite they are per row. `install_version_triggers` is
idempotent: it drops each trigger before making it, on both databases, so it always
leaves exactly the definitions below. To change a definition, edit it here and add a
migration that runs it again.

SQLite rebuilds a table for most schema changes (AlterField, AddConstraint, RemoveField):
the rebuild drops the table's own triggers without a word, and a trigger of another table
that names it (migration 0009's guards name bills_bill from bills_billline, say) stops the
new table being renamed into place: "error in trigger ...: no such table: main.bills_bill".
A migration that changes bills_bill, bills_billline, bills_creditnote, bills_order,
bills_auditevent, bills_application, bills_product or bills_organization wraps its
operations:

    operations = [TriggersSetAside([migrations.AlterField(...)])]

Migrations 0008 and before predate it: 0009 made 0008's dropped triggers again by hand.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation

# PostgreSQL functions the triggers execute. Applications have an organization_id like
# bills, so bills_raise_bills_version serves both tables as is.
FUNCTIONS_POSTGRESQL = {
    "bills_raise_bills_version": """
CREATE OR REPLACE FUNCTION bills_raise_bills_version() RETURNS trigger LANGUAGE plpgsql AS $$
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
$$;""",
    # A product is the shared catalogue: its change raises every organization's version.
    "bills_product_raise_bills_version": """
CREATE OR REPLACE FUNCTION bills_product_raise_bills_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE bills_organization SET bills_version = bills_version + 1;
    RETURN NULL;
END
$$;""",
}


def _statement_triggers(table: str) -> dict[str, str]:
    """An insert, an update and a delete trigger on `table`, one UPDATE per statement."""
    return {
        f"{table}_insert_version": f"""CREATE TRIGGER {table}_insert_version AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bills_raise_bills_version();""",
        f"{table}_update_version": f"""CREATE TRIGGER {table}_update_version AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bills_raise_bills_version();""",
        f"{table}_delete_version": f"""CREATE TRIGGER {table}_delete_version AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION bills_raise_bills_version();""",
    }


def _row_triggers(table: str) -> dict[str, str]:
    """The same on SQLite, which has no statement-level triggers: per row."""
    return {
        f"{table}_insert_version": f"""CREATE TRIGGER {table}_insert_version AFTER INSERT ON {table} BEGIN
        UPDATE bills_organization SET bills_version = bills_version + 1
        WHERE id = NEW.organization_id;
    END""",
        f"{table}_update_version": f"""CREATE TRIGGER {table}_update_version AFTER UPDATE ON {table} BEGIN
        UPDATE bills_organization SET bills_version = bills_version + 1
        WHERE id IN (OLD.organization_id, NEW.organization_id);
    END""",
        f"{table}_delete_version": f"""CREATE TRIGGER {table}_delete_version AFTER DELETE ON {table} BEGIN
        UPDATE bills_organization SET bills_version = bills_version + 1
        WHERE id = OLD.organization_id;
    END""",
    }


# Table -> {trigger name: CREATE TRIGGER}. Inserting a product changes no page (no bill
# refers to it yet), so products have no insert trigger.
TRIGGERS = {
    "postgresql": {
        "bills_bill": _statement_triggers("bills_bill"),
        "bills_application": _statement_triggers("bills_application"),
        "bills_product": {
            "bills_product_change_version": """CREATE TRIGGER bills_product_change_version AFTER UPDATE OR DELETE ON bills_product
    FOR EACH STATEMENT EXECUTE FUNCTION bills_product_raise_bills_version();""",
        },
    },
    "sqlite": {
        "bills_bill": _row_triggers("bills_bill"),
        "bills_application": _row_triggers("bills_application"),
        # Per row on SQLite: one UPDATE of every organization for each product changed.
        "bills_product": {
            "bills_product_update_version": """CREATE TRIGGER bills_product_update_version AFTER UPDATE ON bills_product BEGIN
        UPDATE bills_organization SET bills_version = bills_version + 1;
    END""",
            "bills_product_delete_version": """CREATE TRIGGER bills_product_delete_version AFTER DELETE ON bills_product BEGIN
        UPDATE bills_organization SET bills_version = bills_version + 1;
    END""",
        },
    },
}
VERSIONED_TABLES = ("bills_bill", "bills_application", "bills_product")
# The PostgreSQL function each table's triggers execute.
TABLE_FUNCTIONS = {
    "bills_bill": "bills_raise_bills_version",
    "bills_application": "bills_raise_bills_version",
    "bills_product": "bills_product_raise_bills_version",
}


def version_trigger_names(vendor: str) -> set[str]:
    """Every bills_version trigger `vendor`'s database should hold."""
    return {name for triggers in TRIGGERS[vendor].values() for name in triggers}


def install_version_triggers(
    schema_editor: BaseDatabaseSchemaEditor, tables: Iterable[str] = VERSIONED_TABLES
) -> None:
    """Make the bills_version triggers of `tables` as defined above, whatever is there."""
    vendor = _vendor(schema_editor)
    tables = list(tables)
    if vendor == "postgresql":
        for function in dict.fromkeys(TABLE_FUNCTIONS[table] for table in tables):
            schema_editor.execute(FUNCTIONS_POSTGRESQL[function])
    drop_version_triggers(schema_editor, tables, functions=False)
    for table in tables:
        for create in TRIGGERS[vendor][table].values():
            schema_editor.execute(create)


def drop_version_triggers(
    schema_editor: BaseDatabaseSchemaEditor,
    tables: Iterable[str] = VERSIONED_TABLES,
    *,
    functions: bool = True,
) -> None:
    """Drop the bills_version triggers of `tables`, and on PostgreSQL (with `functions`)
    each of their functions that no trigger executes any more."""
    vendor = _vendor(schema_editor)
    tables = list(tables)
    for table in tables:
        for name in TRIGGERS[vendor][table]:
            if vendor == "postgresql":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            else:
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    if vendor != "postgresql" or not functions:
        return
    for function in dict.fromkeys(TABLE_FUNCTIONS[table] for table in tables):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_trigger WHERE tgfoid = to_regproc(%s)::oid LIMIT 1", [function]
            )
            in_use = cursor.fetchone() is not None
        if not in_use:
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")


def reinstall_version_triggers(apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """For `migrations.RunPython`: every bills_version trigger, as defined above."""
    install_version_triggers(schema_editor)


def drop_version_triggers_on_sqlite(apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """For `migrations.RunPython` before SQLite rebuilds bills_organization."""
    if schema_editor.connection.vendor == "sqlite":
        drop_version_triggers(schema_editor)


def _vendor(schema_editor: BaseDatabaseSchemaEditor) -> str:
    vendor = schema_editor.connection.vendor
    if vendor not in TRIGGERS:
        raise NotImplementedError(f"bills_version triggers for {vendor}")
    return vendor


@contextlib.contextmanager
def sqlite_triggers_set_aside(
    connection, run: Callable[[str], object], *, keep: Iterable[str] = ()
) -> Iterator[None]:
    """On SQLite, every trigger but those named in `keep` dropped, then made again from
    the SQL SQLite stored for it, exactly as it was; `run` executes each statement (a
    schema editor's `execute`, which `sqlmigrate` collects, or a cursor's). A trigger
    that names a column the work inside removed or renamed fails loudly then, and must be
    defined anew. Nothing on PostgreSQL, whose triggers outlive an ALTER TABLE."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        kept = set(keep)
        saved = [(name, sql) for name, sql in cursor.fetchall() if name not in kept]
    for name, _sql in saved:
        run(f'DROP TRIGGER "{name}"')
    yield
    for _name, sql in saved:
        run(sql)


class TriggersSetAside(migrations.SeparateDatabaseAndState):
    """Migration operations that may rebuild a table on SQLite, run with every trigger
    set aside and made again as it was (see the module's docstring); on PostgreSQL, the
    operations as they are."""

    def __init__(self, operations: list[Operation]) -> None:
        super().__init__(database_operations=operations, state_operations=operations)

    def deconstruct(self):
        return self.__class__.__qualname__, [self.database_operations], {}

    def describe(self) -> str:
        inside = "; ".join(operation.describe() for operation in self.database_operations)
        return f"With the triggers set aside on SQLite: {inside}"

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        with sqlite_triggers_set_aside(schema_editor.connection, schema_editor.execute):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        with sqlite_triggers_set_aside(schema_editor.connection, schema_editor.execute):
            super().database_backwards(app_label, schema_editor, from_state, to_state)
