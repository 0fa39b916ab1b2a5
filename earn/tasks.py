"""Celery tasks: thin wrappers around the services (idempotent; progress lives in the database)."""

from __future__ import annotations

from celery import shared_task

from earn.services import accrual
from earn.services.redemptions import settle


@shared_task(acks_late=True)
def accrual_task() -> dict:
    days = accrual.accrue_pending()
    if days is None:
        return {"skipped": "another run holds the lock"}
    return {"days": [{"date": d.date.isoformat(), "positions": d.positions} for d in days]}


@shared_task(acks_late=True)
def settle_task() -> dict:
    result = settle()
    return {"redemptions": result.redemptions_settled, "matured": result.positions_matured,
            "renewed": result.positions_renewed, "waiting": result.waiting_for_accrual}
