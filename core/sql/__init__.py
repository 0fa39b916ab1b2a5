"""Raw-SQL migrations kept in .sql files beside the app, each with its reverse.

This package's own folder holds core's SQL (the audit trail's append-only trigger).
"""

from __future__ import annotations

from pathlib import Path

from django.db import migrations

SQL_DIR = str(Path(__file__).resolve().parent)


def run_sql_file(app_dir: str, forward: str, reverse: str) -> migrations.RunSQL:
    base = Path(app_dir)
    return migrations.RunSQL((base / forward).read_text(), (base / reverse).read_text())
