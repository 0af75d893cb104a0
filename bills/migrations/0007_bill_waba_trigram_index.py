"""A trigram index for searching bills by WhatsApp Business Account, on PostgreSQL.

The Bills page's search matches a substring of the WABA (`UPPER(...) LIKE '%...%'`, what
Django's icontains writes), which no B-tree index serves: every bill of the organization
was read, ~35 ms per query at 100,000 bills and several queries per page. A GIN index of
the upper-cased value's trigrams serves it; most bills have no WABA, so it stays small
(4 MB for 1,000,000 bills, built in ~1.5 s). pg_trgm is a trusted extension: the
database's owner may create it without being a superuser.

Not a Meta index: SQLite has no GIN index nor trigram operators, and searches there
keep scanning the organization's bills.
"""

from django.db import migrations

CREATE_POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """CREATE INDEX bill_waba_trgm_idx ON bills_bill
        USING gin (UPPER(whatsapp_business_account) gin_trgm_ops)""",
]

# The extension stays: other objects may use it by then.
DROP_POSTGRESQL = ["DROP INDEX IF EXISTS bill_waba_trgm_idx"]


def create_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE_POSTGRESQL:
            schema_editor.execute(statement)


def drop_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP_POSTGRESQL:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("bills", "0006_bills_version_follows_applications_and_products"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index),
    ]
