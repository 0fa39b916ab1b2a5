from pathlib import Path

from django.db import migrations

from core.sql import run_sql_file


class Migration(migrations.Migration):
    """Snapshots, leaves and stored nodes refuse UPDATE and DELETE (statement-level triggers)."""

    dependencies = [("liabilities", "0001_snapshots")]

    operations = [
        run_sql_file(str(Path(__file__).resolve().parent.parent / "sql"), "immutable.sql", "immutable_reverse.sql"),
    ]
