"""Issued records that no writer can change: triggers on PostgreSQL and SQLite.

The models refuse these changes first with a clear error (bills.models.ImmutableModel);
the triggers hold for every other path: QuerySet.update(), bulk writes, the admin, raw SQL.

- A bill: only its status (Pending -> Cleared, with the date, once) and `credited_amount`
  change; `credited_amount` only to the sum of its credit notes, which the credit note
  trigger writes. No bill is deleted.
- A bill's lines: inserted while the bill is issued, at positions 1 to its `line_count`,
  each at the currency's minor unit; the last one must make the lines add up to the bill's
  consumption. Never updated or deleted.
- A credit note: of the bill's organization and currency, of one of the bill's lines if
  any, never more than that line has left. Never updated (but for clearing the link to a
  deleted staff user) or deleted.
- An order settles only a bill of its own organization.
- The audit trail: append-only. An update may only clear the link to a deleted user; a
  delete passes only rows older than a permit that `AuditEvent.objects.purge_before`
  writes and removes inside its own transaction.

SQLite drops a table's triggers when a later migration rebuilds it (most AlterField and
AddConstraint), as 0008 did to bills_bill, bills_application and bills_product: 0005's and
0006's bills_version triggers are made again at the end (bills.triggers). A later migration
that rebuilds a guarded table must do the same (test_immutable checks every trigger is there).
"""

from django.db import migrations

from bills.triggers import drop_version_triggers, install_version_triggers

REFUSED = "23000"  # integrity_constraint_violation: psycopg2 raises IntegrityError

# Bill columns fixed at issue. Not here: status, cleared_at, credited_amount, updated_at.
BILL_ISSUED_COLUMNS = [
    "id",
    "number",
    "organization_id",
    "product_id",
    "application_id",
    "whatsapp_business_account",
    "billing_cycle",
    "service_usage",
    "consumption_amount",
    "overdraft_amount",
    "line_count",
    "currency",
    "bill_date",
    "payer_legal_name",
    "payer_tax_id",
    "payer_address",
    "payer_country",
    "payer_email",
    "created_at",
]
CREDIT_NOTE_COLUMNS = [
    "id",
    "number",
    "organization_id",
    "bill_id",
    "bill_line_id",
    "amount",
    "currency",
    "reason",
    "issued_at",
    "issued_by_username",
]
AUDIT_COLUMNS = [
    "id",
    "occurred_at",
    "action",
    "actor_username",
    "organization_id",
    "object_type",
    "object_id",
    "object_repr",
    "details",
    "ip_address",
]
# ISO 4217 minor units other than two, as of this migration (bills.money has the table).
MINOR_UNITS_SQL = """CASE
    WHEN {currency} IN ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF',
                        'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF') THEN 0
    WHEN {currency} IN ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') THEN 3
    ELSE 2 END"""


def changed(columns, differ) -> str:
    return " OR ".join(f"NEW.{column} {differ} OLD.{column}" for column in columns)


POSTGRESQL = f"""
CREATE FUNCTION bills_guard_bill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
            MESSAGE = format('bill %s is issued and cannot be deleted', OLD.number);
    END IF;
    IF {changed(BILL_ISSUED_COLUMNS, "IS DISTINCT FROM")} THEN
        RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
            MESSAGE = format('bill %s is issued: only its status may change; '
                             'correct it with a credit note', OLD.number);
    END IF;
    IF OLD.status = 'cleared' AND (NEW.status <> 'cleared' OR NEW.cleared_at IS DISTINCT FROM OLD.cleared_at) THEN
        RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
            MESSAGE = format('bill %s is Cleared: its status cannot change', OLD.number);
    END IF;
    IF NEW.credited_amount IS DISTINCT FROM OLD.credited_amount AND NEW.credited_amount <>
            (SELECT COALESCE(SUM(amount), 0) FROM bills_creditnote WHERE bill_id = NEW.id) THEN
        RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
            MESSAGE = format('bill %s: credited_amount is the sum of its credit notes', OLD.number);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER bills_guard_bill BEFORE UPDATE OR DELETE ON bills_bill
    FOR EACH ROW EXECUTE FUNCTION bills_guard_bill();

CREATE FUNCTION bills_guard_billline() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    issued bills_bill%ROWTYPE;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
            MESSAGE = 'the lines of an issued bill cannot change';
    END IF;
    SELECT * INTO issued FROM bills_bill WHERE id = NEW.bill_id;
    IF NEW.position > issued.line_count THEN
        RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
            MESSAGE = format('bill %s was issued with %s lines', issued.number, issued.line_count);
    END IF;
    IF NEW.amount <> ROUND(NEW.amount, {MINOR_UNITS_SQL.format(currency="issued.currency")}) THEN
        RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
            MESSAGE = format('%s is not a whole number of %s minor units', NEW.amount, issued.currency);
    END IF;
    IF NEW.position = issued.line_count AND (
        (SELECT COUNT(*) FROM bills_billline WHERE bill_id = NEW.bill_id) <> issued.line_count - 1
        OR (SELECT COALESCE(SUM(amount), 0) FROM bills_billline WHERE bill_id = NEW.bill_id)
            + NEW.amount <> issued.consumption_amount
    ) THEN
        RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
            MESSAGE = format('the lines of bill %s do not add up to its consumption', issued.number);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER bills_guard_billline BEFORE INSERT OR UPDATE OR DELETE ON bills_billline
    FOR EACH ROW EXECUTE FUNCTION bills_guard_billline();

CREATE FUNCTION bills_guard_creditnote() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
            MESSAGE = format('credit note %s is issued and cannot be deleted', OLD.number);
    END IF;
    IF {changed(CREDIT_NOTE_COLUMNS, "IS DISTINCT FROM")}
            OR NEW.issued_by_id IS DISTINCT FROM OLD.issued_by_id AND NEW.issued_by_id IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
            MESSAGE = format('credit note %s is issued and cannot change', OLD.number);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER bills_guard_creditnote_change BEFORE UPDATE OR DELETE ON bills_creditnote
    FOR EACH ROW EXECUTE FUNCTION bills_guard_creditnote();

CREATE FUNCTION bills_guard_creditnote_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    credited bills_bill%ROWTYPE;
BEGIN
    SELECT * INTO credited FROM bills_bill WHERE id = NEW.bill_id;
    IF credited.organization_id <> NEW.organization_id OR credited.currency <> NEW.currency THEN
        RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
            MESSAGE = format('credit note %s: not of bill %s''s organization and currency',
                             NEW.number, credited.number);
    END IF;
    IF NEW.bill_line_id IS NOT NULL AND (
        (SELECT bill_id FROM bills_billline WHERE id = NEW.bill_line_id) <> NEW.bill_id
        OR (SELECT COALESCE(SUM(amount), 0) FROM bills_creditnote
            WHERE bill_line_id = NEW.bill_line_id) + NEW.amount
            > (SELECT amount FROM bills_billline WHERE id = NEW.bill_line_id)
    ) THEN
        RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
            MESSAGE = format('credit note %s credits more than the line has left', NEW.number);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER bills_guard_creditnote_insert BEFORE INSERT ON bills_creditnote
    FOR EACH ROW EXECUTE FUNCTION bills_guard_creditnote_insert();

CREATE FUNCTION bills_creditnote_credits_bill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The bill's check constraint refuses crediting more than its consumption.
    UPDATE bills_bill SET credited_amount =
        (SELECT SUM(amount) FROM bills_creditnote WHERE bill_id = NEW.bill_id)
    WHERE id = NEW.bill_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER bills_creditnote_credits_bill AFTER INSERT ON bills_creditnote
    FOR EACH ROW EXECUTE FUNCTION bills_creditnote_credits_bill();

CREATE FUNCTION bills_guard_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.bill_id IS NOT NULL AND NEW.organization_id IS DISTINCT FROM
            (SELECT organization_id FROM bills_bill WHERE id = NEW.bill_id) THEN
        RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
            MESSAGE = format('order %s settles a bill of another organization', NEW.number);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER bills_guard_order BEFORE INSERT OR UPDATE ON bills_order
    FOR EACH ROW EXECUTE FUNCTION bills_guard_order();

CREATE FUNCTION bills_guard_auditevent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT 1 FROM bills_auditpurgepermit WHERE OLD.occurred_at < before) THEN
            RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
                MESSAGE = 'the audit trail is append-only';
        END IF;
        RETURN OLD;
    END IF;
    IF {changed(AUDIT_COLUMNS, "IS DISTINCT FROM")}
            OR NEW.actor_id IS DISTINCT FROM OLD.actor_id AND NEW.actor_id IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '{REFUSED}',
            MESSAGE = 'the audit trail is append-only';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER bills_guard_auditevent BEFORE UPDATE OR DELETE ON bills_auditevent
    FOR EACH ROW EXECUTE FUNCTION bills_guard_auditevent();
"""

DROP_POSTGRESQL = """
DROP TRIGGER IF EXISTS bills_guard_bill ON bills_bill;
DROP TRIGGER IF EXISTS bills_guard_billline ON bills_billline;
DROP TRIGGER IF EXISTS bills_guard_creditnote_change ON bills_creditnote;
DROP TRIGGER IF EXISTS bills_guard_creditnote_insert ON bills_creditnote;
DROP TRIGGER IF EXISTS bills_creditnote_credits_bill ON bills_creditnote;
DROP TRIGGER IF EXISTS bills_guard_order ON bills_order;
DROP TRIGGER IF EXISTS bills_guard_auditevent ON bills_auditevent;
DROP FUNCTION IF EXISTS bills_guard_bill();
DROP FUNCTION IF EXISTS bills_guard_billline();
DROP FUNCTION IF EXISTS bills_guard_creditnote();
DROP FUNCTION IF EXISTS bills_guard_creditnote_insert();
DROP FUNCTION IF EXISTS bills_creditnote_credits_bill();
DROP FUNCTION IF EXISTS bills_guard_order();
DROP FUNCTION IF EXISTS bills_guard_auditevent();
"""


def sqlite_refuse(message: str) -> str:
    return f"SELECT RAISE(ABORT, 'bills: {message}');"


SQLITE = [
    f"""CREATE TRIGGER bills_guard_bill_update BEFORE UPDATE ON bills_bill
    WHEN {changed(BILL_ISSUED_COLUMNS, "IS NOT")}
    BEGIN {sqlite_refuse("an issued bill: only its status may change; correct it with a credit note")} END""",
    f"""CREATE TRIGGER bills_guard_bill_status BEFORE UPDATE ON bills_bill
    WHEN OLD.status = 'cleared' AND (NEW.status <> 'cleared' OR NEW.cleared_at IS NOT OLD.cleared_at)
    BEGIN {sqlite_refuse("a Cleared bill: its status cannot change")} END""",
    # SQLite keeps these decimals as REAL: compared at the columns' three places.
    f"""CREATE TRIGGER bills_guard_bill_credited BEFORE UPDATE ON bills_bill
    WHEN NEW.credited_amount IS NOT OLD.credited_amount AND ROUND(NEW.credited_amount, 3) <>
        ROUND((SELECT COALESCE(SUM(amount), 0) FROM bills_creditnote WHERE bill_id = NEW.id), 3)
    BEGIN {sqlite_refuse("credited_amount is the sum of the bill credit notes")} END""",
    f"""CREATE TRIGGER bills_guard_bill_delete BEFORE DELETE ON bills_bill
    BEGIN {sqlite_refuse("an issued bill cannot be deleted")} END""",
    f"""CREATE TRIGGER bills_guard_billline_insert BEFORE INSERT ON bills_billline
    WHEN NEW.position > (SELECT line_count FROM bills_bill WHERE id = NEW.bill_id)
        OR NEW.amount <> ROUND(NEW.amount, (SELECT {MINOR_UNITS_SQL.format(currency="currency")}
                                            FROM bills_bill WHERE id = NEW.bill_id))
        OR NEW.position = (SELECT line_count FROM bills_bill WHERE id = NEW.bill_id) AND (
            (SELECT COUNT(*) FROM bills_billline WHERE bill_id = NEW.bill_id)
                <> NEW.position - 1
            OR ROUND((SELECT COALESCE(SUM(amount), 0) FROM bills_billline
                      WHERE bill_id = NEW.bill_id) + NEW.amount, 3)
                <> ROUND((SELECT consumption_amount FROM bills_bill WHERE id = NEW.bill_id), 3))
    BEGIN {sqlite_refuse("a bill line beyond the bill line_count, off its minor unit, or not adding up")} END""",
    f"""CREATE TRIGGER bills_guard_billline_update BEFORE UPDATE ON bills_billline
    BEGIN {sqlite_refuse("the lines of an issued bill cannot change")} END""",
    f"""CREATE TRIGGER bills_guard_billline_delete BEFORE DELETE ON bills_billline
    BEGIN {sqlite_refuse("the lines of an issued bill cannot change")} END""",
    f"""CREATE TRIGGER bills_guard_creditnote_update BEFORE UPDATE ON bills_creditnote
    WHEN {changed(CREDIT_NOTE_COLUMNS, "IS NOT")}
        OR NEW.issued_by_id IS NOT OLD.issued_by_id AND NEW.issued_by_id IS NOT NULL
    BEGIN {sqlite_refuse("an issued credit note cannot change")} END""",
    f"""CREATE TRIGGER bills_guard_creditnote_delete BEFORE DELETE ON bills_creditnote
    BEGIN {sqlite_refuse("an issued credit note cannot change")} END""",
    f"""CREATE TRIGGER bills_guard_creditnote_insert BEFORE INSERT ON bills_creditnote
    WHEN (SELECT organization_id FROM bills_bill WHERE id = NEW.bill_id) IS NOT NEW.organization_id
        OR (SELECT currency FROM bills_bill WHERE id = NEW.bill_id) IS NOT NEW.currency
        OR NEW.bill_line_id IS NOT NULL AND (
            (SELECT bill_id FROM bills_billline WHERE id = NEW.bill_line_id) IS NOT NEW.bill_id
            OR ROUND((SELECT COALESCE(SUM(amount), 0) FROM bills_creditnote
                      WHERE bill_line_id = NEW.bill_line_id) + NEW.amount, 3)
                > ROUND((SELECT amount FROM bills_billline WHERE id = NEW.bill_line_id), 3))
    BEGIN {sqlite_refuse("a credit note not of its bill, or more than its line has left")} END""",
    """CREATE TRIGGER bills_creditnote_credits_bill AFTER INSERT ON bills_creditnote
    BEGIN
        UPDATE bills_bill SET credited_amount =
            (SELECT SUM(amount) FROM bills_creditnote WHERE bill_id = NEW.bill_id)
        WHERE id = NEW.bill_id;
    END""",
    f"""CREATE TRIGGER bills_guard_order_insert BEFORE INSERT ON bills_order
    WHEN NEW.bill_id IS NOT NULL
        AND NEW.organization_id IS NOT (SELECT organization_id FROM bills_bill WHERE id = NEW.bill_id)
    BEGIN {sqlite_refuse("an order settles only a bill of its own organization")} END""",
    f"""CREATE TRIGGER bills_guard_order_update BEFORE UPDATE ON bills_order
    WHEN NEW.bill_id IS NOT NULL
        AND NEW.organization_id IS NOT (SELECT organization_id FROM bills_bill WHERE id = NEW.bill_id)
    BEGIN {sqlite_refuse("an order settles only a bill of its own organization")} END""",
    f"""CREATE TRIGGER bills_guard_auditevent_update BEFORE UPDATE ON bills_auditevent
    WHEN {changed(AUDIT_COLUMNS, "IS NOT")}
        OR NEW.actor_id IS NOT OLD.actor_id AND NEW.actor_id IS NOT NULL
    BEGIN {sqlite_refuse("the audit trail is append-only")} END""",
    f"""CREATE TRIGGER bills_guard_auditevent_delete BEFORE DELETE ON bills_auditevent
    WHEN NOT EXISTS (SELECT 1 FROM bills_auditpurgepermit WHERE OLD.occurred_at < before)
    BEGIN {sqlite_refuse("the audit trail is append-only")} END""",
]

SQLITE_TRIGGER_NAMES = [statement.split()[2] for statement in SQLITE]


def backfill_line_counts(apps, schema_editor) -> None:
    schema_editor.execute(
        "UPDATE bills_bill SET line_count ="
        " (SELECT COUNT(*) FROM bills_billline WHERE bill_id = bills_bill.id)"
    )


def create(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # None: the SQL holds format() placeholders, not query parameters.
        schema_editor.execute(POSTGRESQL, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)
        # 0008 rebuilt these tables, and SQLite dropped their triggers with them.
        install_version_triggers(schema_editor)
    else:
        raise NotImplementedError(f"guard triggers for {vendor}")


def drop(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(DROP_POSTGRESQL)
    elif vendor == "sqlite":
        for name in SQLITE_TRIGGER_NAMES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        # Made here on SQLite, and in the way of 0008's rebuilds when it is reversed.
        drop_version_triggers(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("bills", "0008_hardening"),
    ]

    operations = [
        migrations.RunPython(backfill_line_counts, migrations.RunPython.noop),
        migrations.RunPython(create, drop),
    ]
