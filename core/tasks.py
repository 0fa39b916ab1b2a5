"""Celery tasks that belong to no app."""

from __future__ import annotations

from celery import shared_task


@shared_task
def ping_task() -> str:
    """Round-trip check for the broker, a worker and the result backend; touches nothing."""
    return "pong"
