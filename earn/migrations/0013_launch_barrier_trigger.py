"""A launch's commit barrier moves into PostgreSQL: a BEFORE INSERT trigger on launch commitments takes it
shared and refuses a commitment once the allocation's run row exists (earn/sql/launch_barrier.sql). The
service no longer takes it in a statement of its own, and no other writer can skip it."""

from pathlib import Path

from django.db import migrations

from core.sql import run_sql_file

SQL_DIR = str(Path(__file__).resolve().parent.parent / "sql")


class Migration(migrations.Migration):

    dependencies = [
        ("earn", "0012_acknowledgement_refs_for_partitioning"),
    ]

    operations = [
        run_sql_file(SQL_DIR, "launch_barrier.sql", "launch_barrier_reverse.sql"),
    ]
