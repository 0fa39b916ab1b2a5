"""Acknowledgements become range-partitioned by month of accepted_at, converted in place.

Their ids move to compliance_acknowledgementkey (unique across partitions; backfilled), the foreign keys
of subscriptions, launch commitments and pool deposits were dropped (earn 0012, pools 0005), then the
table is copied into a partitioned successor (core.partitions.convert_to_partitioned: months of the
existing rows, this month and the next PARTITION_MONTHS_AHEAD, a default partition; indexes, foreign keys
and grants recreated; the id sequence continued), and compliance/sql/partitioned_acknowledgements.sql
points those three columns at the key table, keeps it filled in and makes acknowledgements append-only.
Reversible: the reverse copies the rows of the attached partitions back into one plain table.
"""

from django.conf import settings
from django.db import migrations, models

from compliance.sql import SQL_DIR
from core.partitions import convert_to_partitioned, convert_to_plain
from core.sql import run_sql_file

TABLE = "compliance_acknowledgement"


def keys_backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO compliance_acknowledgementkey (id, accepted_at) SELECT id, accepted_at FROM {TABLE}")


def partition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        convert_to_partitioned(cursor, TABLE, "accepted_at", months_ahead=settings.PARTITION_MONTHS_AHEAD)


def unpartition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        convert_to_plain(cursor, TABLE)


class Migration(migrations.Migration):

    dependencies = [
        ("compliance", "0012_default_category_rules"),
        ("core", "0004_partition_functions"),
        ("earn", "0012_acknowledgement_refs_for_partitioning"),
        ("pools", "0005_acknowledgement_ref_for_partitioning"),
    ]

    operations = [
        migrations.CreateModel(
            name="AcknowledgementKey",
            fields=[
                ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("accepted_at", models.DateTimeField()),
            ],
            options={"ordering": ["id"]},
        ),
        migrations.RunPython(keys_backfill, migrations.RunPython.noop),
        migrations.RunPython(partition, unpartition),
        run_sql_file(SQL_DIR, "partitioned_acknowledgements.sql", "partitioned_acknowledgements_reverse.sql"),
    ]
