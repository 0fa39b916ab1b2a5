"""Celery tasks that belong to no app."""

from __future__ import annotations

from celery import shared_task


@shared_task
def ping_task() -> str:
    """Round-trip check for the broker, a worker and the result backend; touches nothing."""
    return "pong"


@shared_task(acks_late=True, ignore_result=True)
def audit_chain_task() -> int:
    """Chain the audit events committed since the last run (core.audit); a no-op when another run holds the lock.

    Idempotent: an event is chained once (the chainer's UPDATE only touches unchained rows), so a
    redelivered or duplicate task finds nothing to do.
    """
    from core.audit import audit_chain

    return audit_chain(wait=False)


@shared_task(acks_late=True, ignore_result=True)
def partitions_ensure_task() -> list[str]:
    """Create this month's and the next PARTITION_MONTHS_AHEAD months' partitions (core.partitions); idempotent.

    Daily, although a month needs it once: a missed run or a failed one is made up the next day, long
    before the month starts. Rows of a month without its partition would land in the default partition.
    """
    from core.partitions import ensure_partitions

    return ensure_partitions()
