from pathlib import Path

from django.db import migrations

from core.sql import run_sql_file


class Migration(migrations.Migration):
    """Append-only checks per statement over its transition table (same rule, same message)."""

    dependencies = [("ledger", "0005_pending_deposits")]

    operations = [
        run_sql_file(str(Path(__file__).resolve().parent.parent / "sql"), "invariants_statement_level.sql",
                     "invariants_statement_level_reverse.sql"),
    ]
