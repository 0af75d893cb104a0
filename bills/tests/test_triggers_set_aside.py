"""A future migration that changes a guarded table (bills_bill, say) must run on SQLite.

SQLite rebuilds the table for such a change: without help it fails ("error in trigger
bills_guard_billline_insert: no such table: main.bills_bill"), since 0009's guard
triggers on other tables name bills_bill (and the failed rebuild takes the in-memory test
database down with it, which is why no test here shows it). `TriggersSetAside` sets every
trigger aside around the operations and makes each again as it was. These tests run
AlterField on bills_bill as a migration would, through the operations' own API, on SQLite
and PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, migrations, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState
from django.db.migrations.writer import OperationWriter

from bills.models import Bill, Organization
from bills.services import bill_clear
from bills.triggers import TriggersSetAside

pytestmark = pytest.mark.django_db(transaction=True)


def trigger_definitions() -> dict[str, str]:
    """Every trigger of the database, by name, as the database itself states it."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute(
                "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal"
            )
        return dict(cursor.fetchall())


def column_size(table: str, column: str) -> int | None:
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, table)
    return next(info.display_size for info in description if info.name == column)


def payer_name(max_length: int) -> migrations.AlterField:
    field = Bill._meta.get_field("payer_legal_name").clone()
    field.max_length = max_length
    return migrations.AlterField("bill", "payer_legal_name", field)


def apply(operation, state: ProjectState | None = None) -> ProjectState:
    """Run `operation` forwards on the test database, as `migrate` would; the new state."""
    before = state or MigrationLoader(connection).project_state()
    after = before.clone()
    operation.state_forwards("bills", after)
    with connection.schema_editor() as editor:
        operation.database_forwards("bills", editor, before, after)
    return after


MAX_LENGTH = Bill._meta.get_field("payer_legal_name").max_length


def test_with_it_the_rebuild_runs_and_every_trigger_still_guards_and_counts(organization, bill):
    everything = trigger_definitions()
    # The guards (0009) and the bills_version triggers (bills.triggers).
    assert {name.split("_")[1] for name in everything} == {
        "guard",
        "bill",
        "application",
        "product",
        "creditnote",
    }

    wider = apply(TriggersSetAside([payer_name(MAX_LENGTH + 1)]))
    try:
        assert column_size("bills_bill", "payer_legal_name") == MAX_LENGTH + 1
        assert trigger_definitions() == everything

        # The guard still refuses to change an issued bill...
        with pytest.raises(IntegrityError), transaction.atomic():
            Bill.objects.filter(pk=bill.pk).update(number="BILL-FORGED")
        # ...and a change still raises the version that keys the Bills page's caches.
        seen = Organization.objects.get(pk=organization.pk).bills_version
        bill_clear(bill=bill)
        assert Organization.objects.get(pk=organization.pk).bills_version > seen
    finally:
        apply(TriggersSetAside([payer_name(MAX_LENGTH)]), wider)

    assert column_size("bills_bill", "payer_legal_name") == MAX_LENGTH
    assert trigger_definitions() == everything


def test_it_is_written_into_a_migration_file_like_any_operation():
    operation = TriggersSetAside([payer_name(MAX_LENGTH + 1)])

    text, imports = OperationWriter(operation).serialize()

    assert text.strip().startswith("bills.triggers.TriggersSetAside(")
    assert "import bills.triggers" in imports
    assert operation.describe().startswith("With the triggers set aside on SQLite: Alter field")
