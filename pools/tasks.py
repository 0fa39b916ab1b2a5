"""Celery tasks for pools: thin wrappers around the services (idempotent; progress lives in the database)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from pools.feeds import configured_source
from pools.services.distribution import pools_distribute_pending
from pools.services.il_alerts import risk_alerts_run
from pools.services.prices import price_feed_tick
from pools.services.redemptions import pools_mature


@shared_task(acks_late=True)
def pools_distribute_task() -> dict:
    """Every (pool, day) not yet distributed up to yesterday; run after the accrual job."""
    days = [d for d in pools_distribute_pending() if not d.skipped]
    return {"days": [{"pool": d.pool_id, "date": d.date.isoformat(), "positions": d.positions} for d in days]}


@shared_task(acks_late=True)
def pools_mature_task() -> dict:
    return {"matured": pools_mature()}


@shared_task(acks_late=True)
def price_feed_task() -> dict:
    # Seeded by the minute, so a re-delivered task draws the same step.
    seed = f"{getattr(settings, 'PRICE_FEED_SEED', 2026)}:{timezone.now():%Y-%m-%dT%H:%M}"
    result = price_feed_tick(source=configured_source(seed=seed))
    return {"prices": {k: str(v) for k, v in result.prices.items()}, "rebalanced": len(result.rebalanced)}


@shared_task(acks_late=True)
def risk_alerts_task(*, day: str | None = None) -> dict:
    """The daily IL and exposure alerts for `day` (ISO; default yesterday). Idempotent: the alert rows and the
    notification keys are per product (or limit) and day, so a redelivered or repeated task alerts nobody twice."""
    result = risk_alerts_run(day=dt.date.fromisoformat(day) if day else None)
    return {"day": result.day.isoformat(), "pools": len(result.pools),
            "alerts": [r.product_id for r in result.alerts], "breaches": result.breaches}
