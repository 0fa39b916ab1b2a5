"""Celery: yesterday's snapshot, after its accrual (retried until the accrual is done; idempotent)."""

from __future__ import annotations

from celery import Task, shared_task

from liabilities.services import NothingOwed, NotReady, liabilities_build, yesterday


@shared_task(bind=True, acks_late=True, max_retries=48, default_retry_delay=900)
def liabilities_snapshot_task(self: Task) -> dict:
    day = yesterday()
    try:
        run, outcomes = liabilities_build(day)
    except NothingOwed:  # a ledger with no entry yet: no snapshot, and no retry for half a day
        return {"date": day.isoformat(), "status": "nothing owed", "roots": {}}
    except NotReady as exc:
        raise self.retry(exc=exc) from exc
    return {"date": day.isoformat(), "status": run.status,
            "roots": {o.snapshot.asset_id: o.snapshot.root for o in outcomes}}
