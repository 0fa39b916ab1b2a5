"""Celery tasks: thin wrappers around the services."""

from __future__ import annotations

from celery import shared_task

from notifications.sweep import notifications_sweep


@shared_task
def notifications_sweep_task() -> dict[str, int]:
    result = notifications_sweep()
    return {"maturities": result.maturities, "rate_changes": result.rate_changes, "disclosures": result.disclosures}
