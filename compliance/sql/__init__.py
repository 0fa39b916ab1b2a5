"""Compliance's raw-SQL migrations (core.sql.run_sql_file), each with its reverse."""

from __future__ import annotations

from pathlib import Path

SQL_DIR = str(Path(__file__).resolve().parent)
