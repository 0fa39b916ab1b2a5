"""Audit events are written unchained and chained later (core/audit.py): prev_hash and hash become
nullable, each event stores its canonical payload (the text hashed) and gets a chain_position.

Existing events are all chained already: their payload is computed here from their columns exactly as
it was hashed, and their chain_position is their sequence (they were chained in sequence order). The
append-only trigger is disabled for that backfill only (the migration runs as the table's owner), then
replaced by one that also allows the chainer's single UPDATE (core/sql/audit_chain_later.sql).
Reversible while every event is chained (run `manage.py audit_verify` first, which chains).
"""

import json

from django.db import migrations, models

from core.sql import SQL_DIR, run_sql_file

TABLE = "compliance_auditevent"
BATCH = 5_000


def _body(sequence, created_at, actor_id, action, object_type, object_id, before, after):
    # Frozen copy of core.audit.event_body as it was when this migration was written.
    return json.dumps(
        {"sequence": sequence, "created_at": created_at.isoformat(), "actor": actor_id, "action": action,
         "object_type": object_type, "object_id": object_id, "before": before, "after": after},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(f"SELECT sequence, created_at, actor_id, action, object_type, object_id, before, after "
                           f"FROM {TABLE} WHERE sequence > %s ORDER BY sequence LIMIT %s", [last, BATCH])
            rows = cursor.fetchall()
            if not rows:
                return
            params = []
            for seq, created_at, actor_id, action, object_type, object_id, before, after in rows:
                params += [seq, _body(seq, created_at, actor_id, action, object_type, object_id, _json(before),
                                      _json(after))]
            values = ", ".join(["(%s::bigint, %s)"] * len(rows))
            cursor.execute(f"UPDATE {TABLE} AS e SET payload = v.payload, chain_position = e.sequence "
                           f"FROM (VALUES {values}) AS v (sequence, payload) WHERE e.sequence = v.sequence", params)
            last = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_event_from_compliance")]

    operations = [
        migrations.AddField(model_name="auditevent", name="chain_position",
                            field=models.BigIntegerField(blank=True, null=True, unique=True)),
        migrations.AddField(model_name="auditevent", name="payload", field=models.TextField(null=True)),
        migrations.RunSQL(f"ALTER TABLE {TABLE} DISABLE TRIGGER auditevent_append_only",
                          f"ALTER TABLE {TABLE} ENABLE TRIGGER auditevent_append_only"),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunSQL(f"ALTER TABLE {TABLE} ENABLE TRIGGER auditevent_append_only",
                          f"ALTER TABLE {TABLE} DISABLE TRIGGER auditevent_append_only"),
        migrations.AlterField(model_name="auditevent", name="payload", field=models.TextField()),
        migrations.AlterField(model_name="auditevent", name="hash",
                              field=models.CharField(blank=True, max_length=64, null=True, unique=True)),
        migrations.AlterField(model_name="auditevent", name="prev_hash",
                              field=models.CharField(blank=True, max_length=64, null=True)),
        run_sql_file(SQL_DIR, "audit_chain_later.sql", "audit_chain_later_reverse.sql"),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(condition=models.Q(("hash__isnull", True)), fields=["sequence"],
                               name="auditevent_unchained_idx"),
        ),
    ]
