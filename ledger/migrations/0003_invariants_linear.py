from pathlib import Path

from django.db import migrations

from core.sql import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_invariants")]

    operations = [
        run_sql_file(str(Path(__file__).resolve().parent.parent / "sql"), "invariants_linear.sql",
                     "invariants_linear_reverse.sql"),
    ]
