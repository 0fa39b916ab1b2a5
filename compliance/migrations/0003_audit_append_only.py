from pathlib import Path

from django.db import migrations

from core.sql import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("compliance", "0002_initial")]

    operations = [
        run_sql_file(str(Path(__file__).resolve().parent.parent / "sql"), "audit_append_only.sql",
                     "audit_append_only_reverse.sql"),
    ]
