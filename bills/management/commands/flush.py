"""`manage.py flush` that also empties the tables whose rows are final (issued bills, the
audit trail): Django's flush, with the triggers set aside (bills.triggers).

On PostgreSQL flush is a TRUNCATE, which row triggers do not see. On SQLite it is a DELETE
per table, which they refuse; so there the triggers are dropped, the tables emptied and
the triggers made again from their own stored SQL, in one transaction. The test suite
flushes this way after every test that uses the live server.
"""

from __future__ import annotations

from django.core.management.commands import flush
from django.db import connections, transaction

from bills.triggers import sqlite_triggers_set_aside


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        if connection.vendor != "sqlite":
            return super().handle(**options)
        with (
            transaction.atomic(using=connection.alias),
            connection.cursor() as cursor,
            sqlite_triggers_set_aside(connection, cursor.execute),
        ):
            super().handle(**options)
