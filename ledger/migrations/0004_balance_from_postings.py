from pathlib import Path

from django.db import migrations

from core.sql import run_sql_file


class Migration(migrations.Migration):
    """Balances maintained by a statement-level trigger on postings; direct balance updates refused."""

    dependencies = [("ledger", "0003_invariants_linear")]

    operations = [
        run_sql_file(str(Path(__file__).resolve().parent.parent / "sql"), "balances_from_postings.sql",
                     "balances_from_postings_reverse.sql"),
    ]
