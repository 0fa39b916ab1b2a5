"""Audit events become range-partitioned by month of created_at, converted in place.

`sequence`, `chain_position` and `hash` move to core_auditeventkey (unique across partitions;
backfilled from the events), the events' own unique constraints on the chain columns go (chain_position
keeps a plain index: the chainer and the verifier walk it), then the table is copied into a partitioned
successor (core.partitions.convert_to_partitioned: months of the existing events, this month and the next
PARTITION_MONTHS_AHEAD, a default partition; indexes, the actor foreign key, the append-only row trigger
and grants recreated; the sequence continued) and the key table is kept by PostgreSQL from then on
(core/sql/partitioned_audit.sql). No table references audit events by a foreign key. Reversible: the
reverse copies the events of the attached partitions back into one plain table.
"""

from django.conf import settings
from django.db import migrations, models

from core.partitions import convert_to_partitioned, convert_to_plain
from core.sql import SQL_DIR, run_sql_file

TABLE = "compliance_auditevent"


def keys_backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO core_auditeventkey (sequence, created_at, chain_position, hash)"
                       f" SELECT sequence, created_at, chain_position, hash FROM {TABLE}")


def partition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        convert_to_partitioned(cursor, TABLE, "created_at", months_ahead=settings.PARTITION_MONTHS_AHEAD,
                               key="sequence")


def unpartition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        convert_to_plain(cursor, TABLE, key="sequence")


class Migration(migrations.Migration):

    dependencies = [("core", "0004_partition_functions")]

    operations = [
        migrations.AddField(
            model_name="detachedpartition",
            name="anchor_hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="detachedpartition",
            name="anchor_position",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="AuditEventKey",
            fields=[
                ("sequence", models.BigIntegerField(primary_key=True, serialize=False)),
                ("created_at", models.DateTimeField()),
                ("chain_position", models.BigIntegerField(blank=True, null=True)),
                ("hash", models.CharField(blank=True, max_length=64, null=True)),
            ],
            options={
                "ordering": ["sequence"],
                "constraints": [
                    models.UniqueConstraint(fields=("chain_position",), name="auditeventkey_position_unique"),
                    models.UniqueConstraint(fields=("hash",), name="auditeventkey_hash_unique"),
                ],
            },
        ),
        migrations.RunPython(keys_backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="chain_position",
            field=models.BigIntegerField(blank=True, db_index=True, null=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.RunPython(partition, unpartition),
        run_sql_file(SQL_DIR, "partitioned_audit.sql", "partitioned_audit_reverse.sql"),
    ]
