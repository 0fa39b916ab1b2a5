"""Journal entries and postings become range-partitioned by month of created_at, converted in place.

Keys move to ledger_journalentrykey (unique across partitions; backfilled from the entries), the
entries' unique index on the key goes, the foreign keys to ledger_journalentry are dropped (a posting's
entry is checked by the posting trigger, a pending deposit's by a foreign key to the key table), then
each table is copied into a partitioned successor (core.partitions.convert_to_partitioned: months of
the existing rows, this month and the next PARTITION_MONTHS_AHEAD, a default partition; indexes,
foreign keys, triggers and grants recreated; the id sequence continued), and the trigger functions are
taught about months (ledger/sql/partitioned_ledger.sql). ArchivedPostings keeps what a month detached
for retention moved on each account. Reversible: the reverse copies the rows of
the attached partitions back into plain tables.
"""

from pathlib import Path

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from core.partitions import convert_to_partitioned, convert_to_plain
from core.sql import run_sql_file

SQL = str(Path(__file__).resolve().parent.parent / "sql")


def keys_backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("INSERT INTO ledger_journalentrykey (idempotency_key, entry_id, entry_created_at)"
                       " SELECT idempotency_key, id, created_at FROM ledger_journalentry")


def partition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        convert_to_partitioned(cursor, "ledger_journalentry", "created_at", months_ahead=settings.PARTITION_MONTHS_AHEAD)
        convert_to_partitioned(cursor, "ledger_posting", "created_at", months_ahead=settings.PARTITION_MONTHS_AHEAD)


def unpartition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        convert_to_plain(cursor, "ledger_posting")
        convert_to_plain(cursor, "ledger_journalentry")


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0004_partition_functions"),
        ("ledger", "0008_launch_account_kinds"),
    ]

    operations = [
        migrations.CreateModel(
            name="ArchivedPostings",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("partition", models.CharField(max_length=63)),
                ("amount", models.DecimalField(decimal_places=18, help_text="credits minus debits of the month's postings",
                                               max_digits=38)),
                ("postings", models.PositiveBigIntegerField()),
                ("archived_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("account", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                              to="ledger.ledgeraccount")),
            ],
            options={
                "verbose_name_plural": "archived postings",
                "ordering": ["partition", "account"],
                "constraints": [models.UniqueConstraint(fields=("partition", "account"),
                                                        name="archivedpostings_partition_account_unique")],
            },
        ),
        migrations.CreateModel(
            name="JournalEntryKey",
            fields=[
                ("idempotency_key", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("entry_id", models.BigIntegerField(unique=True)),
                ("entry_created_at", models.DateTimeField()),
            ],
            options={"ordering": ["entry_id"]},
        ),
        migrations.RunPython(keys_backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="journalentry",
            name="idempotency_key",
            field=models.CharField(db_index=True, max_length=200),
        ),
        migrations.AlterField(
            model_name="pendingdeposit",
            name="entry",
            field=models.OneToOneField(blank=True, db_constraint=False, null=True,
                                       on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                       to="ledger.journalentry"),
        ),
        migrations.AlterField(
            model_name="posting",
            name="entry",
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="postings", to="ledger.journalentry"),
        ),
        migrations.RunPython(partition, unpartition),
        run_sql_file(SQL, "partitioned_ledger.sql", "partitioned_ledger_reverse.sql"),
    ]
