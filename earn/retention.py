"""Retention of the accrual rows' monthly partitions (core.partitions.detach_before asks before detaching).

docs/COMPLIANCE.md keeps positions and their interest 7 years after the position closes: a month of
accrual rows may leave the database only when every position in it closed before the retention cutoff.
"""

from __future__ import annotations

import datetime as dt

from core.partitions import retention_cutoff


def accruals_month_guard(cursor, partition: str, _month_end: dt.date) -> str | None:
    cursor.execute(
        f"""
        SELECT count(*) FROM earn_position p
         WHERE p.id IN (SELECT DISTINCT position_id FROM "{partition}")
           AND (p.status = 'active' OR p.closed_at IS NULL OR p.closed_at >= %s)
        """,
        [retention_cutoff()],
    )
    open_positions = cursor.fetchone()[0]
    if open_positions:
        return f"{open_positions} position(s) accrued in it are open or closed within the retention period"
    return None
