"""Retention of the accrual rows' and acknowledgements' monthly partitions (core.partitions.detach_before
asks before detaching).

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


def acknowledgements_month_guard(cursor, partition: str, _month_end: dt.date) -> str | None:
    """A month of acknowledgements stays while one of them backs a position open or closed within the
    retention period (docs/COMPLIANCE.md: acknowledgements, 7 years after the position closes), or a launch
    commitment not settled yet."""
    cursor.execute(
        f"""
        SELECT count(*) FROM earn_position p
         WHERE p.id IN (SELECT s.position_id FROM earn_subscription s
                         WHERE s.acknowledgement_id IN (SELECT id FROM "{partition}")
                        UNION
                        SELECT c.position_id FROM earn_launchcommitment c
                         WHERE c.acknowledgement_id IN (SELECT id FROM "{partition}") AND c.position_id IS NOT NULL)
           AND (p.status = 'active' OR p.closed_at IS NULL OR p.closed_at >= %s)
        """,
        [retention_cutoff()],
    )
    open_positions = cursor.fetchone()[0]
    cursor.execute(f"""SELECT count(*) FROM earn_launchcommitment c WHERE c.status <> 'settled'
                        AND c.acknowledgement_id IN (SELECT id FROM "{partition}")""")
    pending = cursor.fetchone()[0]
    reasons = []
    if open_positions:
        reasons.append(f"{open_positions} position(s) it backs are open or closed within the retention period")
    if pending:
        reasons.append(f"{pending} launch commitment(s) it backs are not settled")
    return "; ".join(reasons) or None
