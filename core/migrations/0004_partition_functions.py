from django.db import migrations

from core.sql import SQL_DIR, run_sql_file


class Migration(migrations.Migration):
    """Monthly partitions: UTC month bounds and `partition_month_ensure` (core/partitions.py)."""

    dependencies = [("core", "0003_audit_chained_later")]

    operations = [run_sql_file(SQL_DIR, "partitions.sql", "partitions_reverse.sql")]
