from pathlib import Path

from django.db import migrations

from core.sql import run_sql_file


class Migration(migrations.Migration):
    """A posting statement of a few rows moves its balances through a cached plan (ledger/sql/
    balances_small_statements.sql); a large one still plans per call. Same rule and errors."""

    dependencies = [("ledger", "0010_plan_time_pruning")]

    operations = [
        run_sql_file(str(Path(__file__).resolve().parent.parent / "sql"), "balances_small_statements.sql",
                     "balances_small_statements_reverse.sql"),
    ]
