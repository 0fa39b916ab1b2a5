"""Gauges read from the database and the broker when Prometheus scrapes: the truth lives there, not in a
process's memory, so every web process answers the same. Each read is one cheap query."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from core.models import AuditEvent
from earn.models import AccrualChunk, AccrualRun
from earn.services.accrual import last_completed_day
from ledger.models import ReconcileRun
from notifications.services import outbox_backlog

logger = logging.getLogger(__name__)


class DatabaseCollector:
    """Unchained audit events, the notification outbox's backlog, accrual progress and lag, stale chunks,
    reconcile result, ledger postings, Celery queue depth."""

    def collect(self) -> Iterator[Metric]:
        yield from self._audit()
        yield from self._outbox()
        yield from self._accrual()
        yield from self._reconcile()
        yield self._postings()
        queue = self._queue_depth()
        if queue is not None:
            yield queue

    def _accrual(self) -> Iterator[Metric]:
        lag = GaugeMetricFamily("earn_accrual_lag_days",
                                "Days that have ended but whose accrual is not done (0: up to date).")
        last_done = (AccrualRun.objects.filter(status=AccrualRun.Status.DONE)
                     .order_by("-date").values_list("date", flat=True).first())
        due = last_completed_day()
        days = (due - last_done).days if last_done is not None and due > last_done else 0
        lag.add_metric([], float(days))  # float-ok: a count of days
        yield lag
        progress = GaugeMetricFamily("earn_accrual_run_progress_ratio",
                                     "Share of a running day's chunks done.", labels=["date"])
        for date, done, total in _running_chunks():
            progress.add_metric([date.isoformat()], done / total if total else 0.0)
        yield progress
        cutoff = timezone.now() - dt.timedelta(seconds=settings.ACCRUAL_CHUNK_TIMEOUT)
        stale = AccrualChunk.objects.filter(status=AccrualChunk.Status.PENDING, run__status=AccrualRun.Status.RUNNING,
                                            enqueued_at__lt=cutoff).count()
        yield GaugeMetricFamily("earn_accrual_stale_chunks",
                                "Pending chunks queued longer than ACCRUAL_CHUNK_TIMEOUT (the sweep re-queues them).",
                                value=stale)

    def _audit(self) -> Iterator[Metric]:
        """Events written unchained on the request path and not yet chained by the worker (core/audit.py)."""
        unchained = AuditEvent.objects.filter(hash__isnull=True)  # a partial index holds exactly these
        oldest = unchained.order_by("sequence").values_list("created_at", flat=True).first()
        yield GaugeMetricFamily("earn_audit_events_unchained", "Audit events waiting to be chained.",
                                value=unchained.count())
        yield GaugeMetricFamily("earn_audit_oldest_unchained_age_seconds",
                                "Age of the oldest unchained audit event (0 when all are chained); alert above "
                                "AUDIT_CHAIN_MAX_LAG_SECONDS.",
                                value=(timezone.now() - oldest).total_seconds() if oldest is not None else 0.0)

    def _outbox(self) -> Iterator[Metric]:
        """Notifications written on the request path (outbox rows) and not yet sent by a worker."""
        count, oldest = outbox_backlog()
        yield GaugeMetricFamily("earn_notification_outbox_backlog", "Notifications waiting in the outbox.",
                                value=float(count))  # float-ok: a row count
        yield GaugeMetricFamily("earn_notification_outbox_oldest_age_seconds",
                                "Age of the oldest notification waiting in the outbox (0 when it is empty); alert "
                                "above NOTIFICATION_OUTBOX_MAX_LAG_SECONDS.",
                                value=(timezone.now() - oldest).total_seconds() if oldest is not None else 0.0)

    def _reconcile(self) -> Iterator[Metric]:
        last = ReconcileRun.objects.order_by("-ran_at", "-id").first()
        ok = GaugeMetricFamily("earn_reconcile_ok", "1 when the last reconciliation found the books clean, else 0.")
        mismatches = GaugeMetricFamily("earn_reconcile_mismatches", "Mismatches the last reconciliation found.")
        when = GaugeMetricFamily("earn_reconcile_last_run_timestamp_seconds", "When the last reconciliation ran.")
        if last is not None:
            ok.add_metric([], 1.0 if last.ok else 0.0)
            mismatches.add_metric([], float(last.mismatches))  # float-ok: a count
            when.add_metric([], last.ran_at.timestamp())
        yield from (ok, mismatches, when)

    def _postings(self) -> Metric:
        """The posting id sequence: Prometheus' rate() of it is the ledger's posting rate, across processes."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ledger_posting_id_seq")
            (value,) = cursor.fetchone()
        return CounterMetricFamily("earn_ledger_postings", "Ledger postings written (the id sequence).",
                                   value=float(value))  # float-ok: a row count

    def _queue_depth(self) -> Metric | None:
        depth = GaugeMetricFamily("earn_celery_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"])
        try:
            app = current_app
            with app.connection_for_read() as conn:
                ok = conn.default_channel.queue_declare(queue=app.conf.task_default_queue, passive=True)
                depth.add_metric([app.conf.task_default_queue], float(ok.message_count))  # float-ok
        except Exception as exc:  # a broker that is down must not take the metrics page down with it
            logger.warning("celery queue depth unavailable: %s", type(exc).__name__)
            return None
        return depth


def _running_chunks() -> list[tuple[dt.date, int, int]]:
    from django.db.models import Count, Q

    rows: list[dict[str, Any]] = list(
        AccrualRun.objects.filter(status=AccrualRun.Status.RUNNING)
        .annotate(done=Count("chunks", filter=Q(chunks__status=AccrualChunk.Status.DONE)), total=Count("chunks"))
        .values("date", "done", "total"))
    return [(row["date"], row["done"], row["total"]) for row in rows]
