"""The ledger's month probes prune at plan time: a posting statement and its entry's commit lock one month per
table, not every month kept live (ledger/sql/plan_time_pruning.sql; same rules and errors). The entries'
created_at index becomes BRIN (models.JournalEntry says why).
"""

from pathlib import Path

import django.contrib.postgres.indexes
import django.utils.timezone
from django.db import migrations, models

from core.sql import run_sql_file

SQL_DIR = str(Path(__file__).resolve().parent.parent / "sql")


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0009_partitioned_history'),
    ]

    operations = [
        migrations.AlterField(
            model_name='journalentry',
            name='created_at',
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.AddIndex(
            model_name='journalentry',
            index=django.contrib.postgres.indexes.BrinIndex(fields=['created_at'], name='journalentry_created_brin'),
        ),
        run_sql_file(SQL_DIR, "plan_time_pruning.sql", "plan_time_pruning_reverse.sql"),
    ]
