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
