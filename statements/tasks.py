"""Celery tasks: thin wrappers around the services."""

from __future__ import annotations

from celery import shared_task

from statements.services import MonthNotReady, previous_month, statements_run


@shared_task(bind=True, acks_late=True, max_retries=24, default_retry_delay=1800)
def statements_monthly_task(self) -> dict[str, int | str]:  # type: ignore[no-untyped-def]
    """On the 1st: every customer's statement of the month before (resumable; waits for the last accrual)."""
    month = previous_month()
    try:
        run = statements_run(month)
    except MonthNotReady as exc:
        raise self.retry(exc=exc) from exc
    return {"month": f"{month:%Y-%m}", "customers": run.customers, "statements": run.statements}
