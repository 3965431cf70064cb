"""Refund events are append-only in the database itself, not only in the model and the admin.

On PostgreSQL a trigger refuses every UPDATE and DELETE of a row of refunds_refundevent, so no
code path, bulk query or console session can rewrite a request's history. (TRUNCATE, which the
test runner uses to empty tables between tests, fires no row trigger.) SQLite, the demo's
database, relies on RefundEvent.save/delete and the read-only admin: Django empties its tables
with DELETE, which such a trigger would refuse.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION refunds_refundevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'refund events are append-only: % of event % refused', TG_OP, OLD.id
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER refunds_refundevent_append_only
    BEFORE UPDATE OR DELETE ON refunds_refundevent
    FOR EACH ROW EXECUTE FUNCTION refunds_refundevent_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS refunds_refundevent_append_only ON refunds_refundevent;
DROP FUNCTION IF EXISTS refunds_refundevent_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("refunds", "0004_peer_stats_and_queue_indexes"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
    ]
