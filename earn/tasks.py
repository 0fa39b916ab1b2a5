"""Celery tasks: thin wrappers around the services (idempotent; progress lives in the database).

`accrual_task` (beat, shortly after midnight UTC) plans the oldest pending day and fans its chunks
out as `accrual_chunk_task`s; the worker that completes a day calls it again, so a catch-up walks
the missing days in order. `accrual_sweep_task` (beat, every few minutes) finishes days whose
finish was lost and re-queues chunks whose message was lost (worker killed, broker flushed). Every
task may run twice or concurrently.
"""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from earn.services import accrual, launch
from earn.services.settlement import settle


def _enqueue_chunk(chunk_id: int) -> None:
    accrual_chunk_task.delay(chunk_id)


@shared_task(acks_late=True)
def accrual_task() -> dict:
    dispatch = accrual.accrual_dispatch(_enqueue_chunk)
    return {"state": dispatch.state, "date": dispatch.date and dispatch.date.isoformat(), "chunks": dispatch.chunks}


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=2, retry_backoff_max=60, max_retries=8)
def accrual_chunk_task(chunk_id: int) -> dict:
    outcome = accrual.chunk_process(chunk_id)
    if outcome.run_done:
        # The next pending day, if any. Also on a redelivered chunk of a done day: its first delivery may have
        # committed the finish and lost its connection before queuing this (a dispatch is idempotent).
        accrual_task.delay()
    return {"chunk": chunk_id, "state": outcome.state, "positions": outcome.positions}


@shared_task(acks_late=True)
def accrual_sweep_task() -> dict:
    requeued = accrual.accrual_sweep(_enqueue_chunk)
    if accrual.days_pending():
        accrual_task.delay()  # a day whose dispatch was lost, or the next one after a crash
    return {"requeued": len(requeued)}


@shared_task(acks_late=True)
def settle_task() -> dict:
    result = settle()
    return {"redemptions": result.redemptions_settled, "matured": result.positions_matured,
            "renewed": result.positions_renewed, "waiting": result.waiting_for_accrual}


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=2, retry_backoff_max=60, max_retries=8)
def launch_allocate_task(product_id: int) -> dict:
    """Allocate one closed launch; a redelivery (worker killed) resumes from the progress in the database."""
    run = launch.launch_allocate(product_id)
    return {"product": product_id, "status": run.status, "customers": run.customers_settled}


@shared_task(acks_late=True)
def launch_sweep_task() -> dict:
    """Beat: queue the allocation of every launch whose window has closed and which is not done."""
    due = launch.launches_due()
    for product_id in due:
        launch_allocate_task.delay(product_id)
    return {"queued": due}
