"""Retention of the audit trail's monthly partitions (core.partitions.detach_before asks before detaching).

A month of audit events leaves the live table only whole and chained: the guard runs the chainer first
(everything committed gets its place) and keeps a month that still holds an unchained event (a
transaction still open, or the chainer failing). The detach hook records the anchor, the highest chain
position the month held and its hash, on the DetachedPartition record; the key table keeps every
detached event's position and hash, so `audit_verify` checks the first live event after a detached
month (and any live event whose predecessor was in one) against the hash the chain had there.
"""

from __future__ import annotations

import datetime as dt

from core.audit import audit_chain

TABLE = "compliance_auditevent"


def audit_month_guard(cursor, partition: str, _month_end: dt.date) -> str | None:
    audit_chain()
    cursor.execute(f'SELECT count(*) FROM "{partition}" WHERE hash IS NULL')
    unchained = cursor.fetchone()[0]
    if unchained:
        return f"{unchained} audit event(s) in it are not chained yet"
    return None


def audit_month_anchor(cursor, partition: str) -> dict:
    """The month's last link (under the detach lock): where the live chain's verification is anchored."""
    cursor.execute(f'SELECT count(*) FILTER (WHERE hash IS NULL) FROM "{partition}"')
    if cursor.fetchone()[0]:
        from core.partitions import PartitionError

        raise PartitionError(f"{partition}: an audit event arrived unchained; nothing detached, run it again")
    cursor.execute(f'SELECT chain_position, hash FROM "{partition}" ORDER BY chain_position DESC LIMIT 1')
    row = cursor.fetchone()
    return {"anchor_position": row[0], "anchor_hash": row[1]} if row else {}
