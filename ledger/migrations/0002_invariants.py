from pathlib import Path

from django.db import migrations

from core.sql import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        run_sql_file(str(Path(__file__).resolve().parent.parent / "sql"), "invariants.sql", "invariants_reverse.sql"),
    ]
