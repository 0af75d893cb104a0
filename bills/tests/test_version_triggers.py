"""A migration that rebuilds a bills table must not leave the Bills page's caches stale.

SQLite rebuilds a table for most schema changes and drops the table's triggers with it,
without a word; bills.triggers makes them again. These tests rebuild a table the way a
future migration would (a schema editor's `alter_field`) and check that, after
`install_version_triggers`, a change to the table raises bills_version again. On
PostgreSQL the triggers survive an ALTER; the same tests show the helper is idempotent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import pytest
from django.db import connection

from bills.models import Application, Bill, Organization
from bills.services import bill_clear
from bills.triggers import (
    install_version_triggers,
    sqlite_triggers_set_aside,
    version_trigger_names,
)

pytestmark = pytest.mark.django_db(transaction=True)


def version(organization: Organization) -> int:
    return Organization.objects.values_list("bills_version", flat=True).get(pk=organization.pk)


def triggers() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        return {name for (name,) in cursor.fetchall()}


@contextlib.contextmanager
def rebuilt(model, field_name: str) -> Iterator[None]:
    """Widen a column, as a migration's AlterField would, and put it back afterwards
    (the test database outlives the test), triggers and all."""
    old = model._meta.get_field(field_name)
    wider = old.clone()
    wider.set_attributes_from_name(field_name)
    wider.model = model
    wider.max_length = old.max_length + 1
    # The other triggers set aside (bills.triggers): these tests show what the rebuild
    # does to the version triggers.
    keep = version_trigger_names("sqlite")
    with (
        connection.schema_editor() as editor,
        sqlite_triggers_set_aside(connection, editor.execute, keep=keep),
    ):
        editor.alter_field(model, old, wider)
    try:
        yield
    finally:
        with connection.schema_editor() as editor:
            with sqlite_triggers_set_aside(connection, editor.execute, keep=keep):
                editor.alter_field(model, wider, old)
            install_version_triggers(editor)


def test_after_a_rebuild_of_bills_the_helper_makes_a_bill_change_raise_the_version_again(
    organization, bill
):
    everything = triggers()

    with rebuilt(Bill, "payer_legal_name"):
        if connection.vendor == "sqlite":
            # The rebuild dropped the triggers silently: the page's caches would go stale.
            assert not {"bills_bill_update_version", "bills_bill_insert_version"} & triggers()
            seen = version(organization)
            Bill.objects.filter(pk=bill.pk).update(
                updated_at=dt.datetime(2026, 11, 19, tzinfo=dt.UTC)
            )
            assert version(organization) == seen

        with connection.schema_editor() as editor:
            install_version_triggers(editor)
            install_version_triggers(editor)  # idempotent: twice leaves one set

        assert triggers() == everything
        seen = version(organization)
        bill_clear(bill=bill, cleared_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
        assert version(organization) > seen
    assert triggers() == everything


def test_after_a_rebuild_of_applications_a_rename_shows_on_the_next_page_again(
    organization, other_organization, application
):
    everything = triggers()

    with rebuilt(Application, "name"):
        if connection.vendor == "sqlite":
            assert not version_trigger_names("sqlite") & {
                name for name in triggers() if name.startswith("bills_application")
            }
        with connection.schema_editor() as editor:
            install_version_triggers(editor, ["bills_application"])

        seen, other = version(organization), version(other_organization)
        Application.objects.filter(pk=application.pk).update(name="Checkout (renamed)")
        assert version(organization) > seen
        assert version(other_organization) == other
    assert triggers() == everything
