import django.utils.timezone
from django.db import migrations, models

from core.sql import SQL_DIR, run_sql_file


class Migration(migrations.Migration):
    """Monthly partitions: UTC month bounds, `partition_month_ensure`, and the record of detached months
    (core/partitions.py)."""

    dependencies = [("core", "0003_audit_chained_later")]

    operations = [
        run_sql_file(SQL_DIR, "partitions.sql", "partitions_reverse.sql"),
        migrations.CreateModel(
            name="DetachedPartition",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("parent", models.CharField(max_length=63)),
                ("partition", models.CharField(max_length=63, unique=True)),
                ("month", models.DateField(help_text="first day of the month the partition held")),
                ("rows", models.PositiveBigIntegerField()),
                ("export_path", models.CharField(max_length=500)),
                ("sha256", models.CharField(max_length=64)),
                ("detached_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={"ordering": ["parent", "month"]},
        ),
    ]
