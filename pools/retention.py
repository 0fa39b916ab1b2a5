"""Retention of the acknowledgements' monthly partitions, for pool deposits (core.partitions.detach_before
asks before detaching; earn.retention asks the same for subscriptions and launch commitments)."""

from __future__ import annotations

import datetime as dt

from core.partitions import retention_cutoff


def acknowledgements_month_guard(cursor, partition: str, _month_end: dt.date) -> str | None:
    """A month of acknowledgements stays while one of them backs a pool position open or closed within the
    retention period (docs/COMPLIANCE.md: 7 years after the position closes)."""
    cursor.execute(
        f"""
        SELECT count(*) FROM pools_poolposition p
         WHERE p.id IN (SELECT d.position_id FROM pools_pooldeposit d
                         WHERE d.acknowledgement_id IN (SELECT id FROM "{partition}"))
           AND (p.status = 'active' OR p.closed_at IS NULL OR p.closed_at >= %s)
        """,
        [retention_cutoff()],
    )
    open_positions = cursor.fetchone()[0]
    if open_positions:
        return f"{open_positions} pool position(s) it backs are open or closed within the retention period"
    return None
