from django.db import migrations

from core.sql import SQL_DIR, run_sql_file


class Migration(migrations.Migration):
    dependencies = [("compliance", "0002_initial")]

    operations = [
        # The audit trail moved to core (its table kept its name); so did this SQL.
        run_sql_file(SQL_DIR, "audit_append_only.sql", "audit_append_only_reverse.sql"),
    ]
