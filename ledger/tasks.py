"""Celery tasks of the ledger; each only calls a service."""

from __future__ import annotations

from celery import shared_task

from ledger.reconcile import ledger_reconcile


@shared_task
def reconcile_task() -> dict:
    """Nightly reconciliation (beat: `reconcile-daily`); read-only, so a redelivery is harmless."""
    return ledger_reconcile().as_dict()
