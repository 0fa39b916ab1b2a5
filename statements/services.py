"""Writes for statements: build one customer's month, and the resumable run over every customer.

A month is built once the accrual of its last day is done (its interest is in the ledger). Customers are
taken in id order in chunks; each chunk writes its statements and moves the run's cursor in one
transaction, so a crash or a second worker loses or repeats nothing, and a rerun resumes at the cursor.
A statement, once written, is never rebuilt: it is what the customer was sent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from earn.models import AccrualRun
from notifications.models import NotificationKind
from notifications.services import notification_send_on_commit
from statements.models import Statement, StatementRun
from statements.selectors import month_bounds, statement_customers, statement_figures

CHUNK = 500


class MonthNotReady(Exception):
    """The month has not ended, or the accrual of its last day is not done yet."""


def month_parse(text: str) -> dt.date:
    """'2026-03' → 2026-03-01; ValueError otherwise."""
    year, _sep, month = (text or "").partition("-")
    if not (len(year) == 4 and year.isdigit() and len(month) == 2 and month.isdigit()):
        raise ValueError(f"expected YYYY-MM, got {text!r}")
    return dt.date(int(year), int(month), 1)


def previous_month(now: dt.datetime | None = None) -> dt.date:
    today = timezone.localtime(now or timezone.now(), dt.UTC).date()
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _require_ready(month: dt.date) -> None:
    start, end = month_bounds(month)
    if timezone.now() < end:
        raise MonthNotReady(f"{month:%Y-%m} has not ended yet")
    last_day = (end - dt.timedelta(days=1)).date()
    if not AccrualRun.objects.filter(date=last_day, status=AccrualRun.Status.DONE).exists() and \
            AccrualRun.objects.filter(date__gte=start.date()).exists():
        raise MonthNotReady(f"the accrual of {last_day} is not done yet")


def _notify(statement: Statement) -> None:
    month = {"en": f"{statement.month:%B %Y}", "zh-hant": f"{statement.month.year}年{statement.month.month}月"}
    notification_send_on_commit(user_id=statement.user_id, kind=NotificationKind.STATEMENT_READY,
                                key=f"statement:{statement.pk}", link=reverse("portal:statements"),
                                params={"month": month})


def statement_build(*, user: Any, month: dt.date) -> tuple[Statement | None, bool]:
    """(statement, created): the customer's statement of `month`, written once; None when there is nothing
    to state (no balance and no movement)."""
    existing = Statement.objects.filter(user=user, month=month).first()
    if existing is not None:
        return existing, False
    figures = statement_figures(user, month)
    if not figures["assets"]:
        return None, False
    with transaction.atomic():
        statement, created = Statement.objects.get_or_create(user=user, month=month, defaults={"figures": figures})
        if created:
            _notify(statement)
    return statement, created


class Progress:
    def chunk_done(self, run: StatementRun) -> None:
        pass


def statements_run(month: dt.date, *, chunk_size: int = CHUNK, progress: Progress | None = None,
                   max_chunks: int | None = None) -> StatementRun:
    """Build every customer's statement of `month`, resuming at the run's cursor; returns the run."""
    _require_ready(month)
    _start, end = month_bounds(month)
    StatementRun.objects.get_or_create(month=month)
    chunks = 0
    while max_chunks is None or chunks < max_chunks:
        with transaction.atomic():
            run = StatementRun.objects.select_for_update().get(month=month)
            if run.status == StatementRun.Status.DONE:
                return run
            customers = statement_customers(run.last_user_id, end, chunk_size)
            if not customers:
                run.status, run.finished_at = StatementRun.Status.DONE, timezone.now()
                run.save(update_fields=["status", "finished_at"])
                return run
            written = sum(1 for user in customers if statement_build(user=user, month=month)[1])
            run.last_user_id = customers[-1].pk
            run.customers += len(customers)
            run.statements += written
            run.save(update_fields=["last_user_id", "customers", "statements"])
        chunks += 1
        if progress is not None:
            progress.chunk_done(run)
    return StatementRun.objects.get(month=month)


