"""The ledger's checks read the entry's key row (no months) in the common case instead of planning two
month-pruned probes per money request: the key row records the entry's transaction, its postings so far, and
whether they came at once, balanced (ledger/sql/entry_key_progress.sql). Same rules, messages and SQLSTATEs."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):

    dependencies = [("ledger", "0011_balances_small_statements")]

    operations = [
        migrations.RunSQL(
            (SQL_DIR / "entry_key_progress.sql").read_text(),
            # ledger 0010's posting and balanced-entry checks again, then the claim trigger and the columns.
            (SQL_DIR / "plan_time_pruning.sql").read_text() + (SQL_DIR / "entry_key_progress_reverse.sql").read_text(),
        ),
    ]
