"""A day of accrual always finishes: every path that can see a run complete marks it done.

Outside a wrapping transaction (the chunk commits, the dispatcher and sweeper run their own
transactions, another session holds row locks), with the Celery tasks run eagerly in-process.
"""

from __future__ import annotations

import datetime as dt
import threading

import psycopg
import pytest
from django.conf import settings
from django.db import OperationalError, connection, transaction

from config.celery import app as celery_app
from earn import tasks
from earn.models import Accrual, AccrualChunk, AccrualRun
from earn.services import accrual
from ledger.reconcile import ledger_reconcile
from tests.earn.helpers import at, demand_savers

pytestmark = pytest.mark.django_db(transaction=True)
MARCH_2, MARCH_3 = dt.date(2026, 3, 2), dt.date(2026, 3, 3)


@pytest.fixture
def book(assets, fund):
    """Five customers each holding 1000 USDT in a 10 % demand product, earning from 2 March 2026."""
    return demand_savers(fund, 5)


@pytest.fixture
def eager(monkeypatch):
    """Celery tasks run in-process (a task's retries too), as a worker would run them."""
    monkeypatch.setattr(settings, "ACCRUAL_CHUNK_SIZE", 2)
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def _other_session() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                           password=db["PASSWORD"] or None, dbname=connection.settings_dict["NAME"])


def _cut_after_the_last_chunk_commits(monkeypatch, day: dt.date) -> list[int]:
    """The connection dies right after the commit of `day`'s last chunk: whatever the worker meant to
    run next (a separate finish, queuing the next day) fails with it, and the task is retried."""
    real, cuts = accrual._accrue_range, []

    def accrue_then_cut(run, lo, hi, unit):
        result = real(run, lo, hi, unit)
        others = AccrualChunk.objects.filter(run=run, status=AccrualChunk.Status.PENDING).exclude(lo=lo)
        if run.date == day and not others.exists() and not cuts:
            def cut() -> None:
                cuts.append(lo)
                raise OperationalError("server closed the connection unexpectedly")
            transaction.on_commit(cut)
        return result

    monkeypatch.setattr(accrual, "_accrue_range", accrue_then_cut)
    return cuts


def test_a_connection_cut_after_the_last_chunk_commits_does_not_stall_the_days_after(book, eager, monkeypatch):
    cuts = _cut_after_the_last_chunk_commits(monkeypatch, MARCH_2)
    with at(2026, 3, 4, 0, 5):  # 2 and 3 March have ended
        result = tasks.accrual_task.delay().get()
    assert result["date"] == MARCH_2.isoformat() and cuts  # the cut happened, the retry found its chunk done
    runs = dict(AccrualRun.objects.values_list("date", "status"))
    assert runs == {MARCH_2: "done", MARCH_3: "done"}  # no operator ran anything
    assert Accrual.objects.filter(date=MARCH_3).count() == 5
    assert AccrualRun.objects.get(date=MARCH_2).positions == 5
    assert ledger_reconcile().ok


def _lost_finish(day: dt.date) -> AccrualRun:
    """Every chunk of `day` done, the run still `running`: a finish lost with its connection."""
    with at(2026, 3, 4, 0, 5):
        run = accrual.run_plan(day, chunk_size=2)
        for chunk in run.chunks.all():
            accrual.chunk_process(chunk.pk)
    AccrualRun.objects.filter(pk=run.pk).update(status=AccrualRun.Status.RUNNING, finished_at=None, positions=0)
    return run


def test_a_redelivered_chunk_of_a_day_whose_finish_was_lost_finishes_it_and_queues_the_next_day(book, eager):
    run = _lost_finish(MARCH_2)
    with at(2026, 3, 4, 0, 6):
        outcome = tasks.accrual_chunk_task.delay(run.chunks.order_by("lo").last().pk).get()
    assert outcome["state"] == "already done"
    assert dict(AccrualRun.objects.values_list("date", "status")) == {MARCH_2: "done", MARCH_3: "done"}
    assert AccrualRun.objects.get(date=MARCH_2).positions == 5


def test_the_dispatcher_finishes_a_day_whose_finish_was_lost_and_dispatches_the_next(book):
    _lost_finish(MARCH_2)
    queued: list[int] = []
    with at(2026, 3, 4, 0, 6):
        dispatch = accrual.accrual_dispatch(queued.append)
    assert (dispatch.state, dispatch.date) == ("dispatched", MARCH_3)  # not "in progress" for ever
    assert AccrualRun.objects.get(date=MARCH_2).status == "done" and queued


def test_the_sweeper_finishes_a_day_whose_finish_was_lost(book, eager):
    _lost_finish(MARCH_2)
    with at(2026, 3, 4, 0, 10):
        tasks.accrual_sweep_task.delay().get()
    assert dict(AccrualRun.objects.values_list("date", "status")) == {MARCH_2: "done", MARCH_3: "done"}


def test_the_sweeper_resends_a_stale_chunk_while_another_chunk_of_the_day_is_being_worked(book):
    lost: list[int] = []
    with at(2026, 3, 3, 0, 5):
        accrual.accrual_dispatch(lost.append, chunk_size=2)  # three chunks; their messages are lost
    run = AccrualRun.objects.get(date=MARCH_2)
    busy, *stale = run.chunks.order_by("lo").values_list("pk", flat=True)
    with _other_session() as worker:  # a worker holds one chunk and is finishing the run
        worker.execute("SELECT id FROM earn_accrualchunk WHERE id = %s FOR UPDATE", [busy])
        worker.execute("SELECT id FROM earn_accrualrun WHERE id = %s FOR UPDATE", [run.pk])
        again: list[int] = []
        with at(2026, 3, 3, 0, 30):
            assert accrual.accrual_sweep(again.append, timeout=600) == stale
        worker.rollback()
    assert sorted(again) == stale
    assert AccrualChunk.objects.get(pk=busy).dispatches == 1


def test_two_last_chunks_committing_together_finish_the_run_once(book):
    """Two workers commit the day's last two chunks at the same moment: each sees the other's chunk
    still pending in its own snapshot, so a finish without the run lock would be missed by both. The
    chunks' own work is stubbed (the real one also meets on the platform's ledger rows, which would
    serialise them before the finish)."""
    with at(2026, 3, 3, 0, 5):
        run = accrual.run_plan(MARCH_2, chunk_size=2)
        first, *last_two = run.chunks.order_by("lo").values_list("pk", flat=True)
        accrual.chunk_process(first)
    barrier, outcomes = threading.Barrier(2), []

    def both_at_once(run, lo, hi, unit):
        barrier.wait(timeout=10)  # both chunks locked, neither marked done yet
        return 0, {}

    def work(chunk_id: int) -> None:
        try:
            outcomes.append(accrual.chunk_process(chunk_id))
        finally:
            connection.close()

    real, accrual._accrue_range = accrual._accrue_range, both_at_once
    try:
        threads = [threading.Thread(target=work, args=(chunk_id,)) for chunk_id in last_two]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        accrual._accrue_range = real
    assert sorted(o.run_finished for o in outcomes) == [False, True]
    finished = AccrualRun.objects.get(pk=run.pk)
    assert (finished.status, finished.positions) == ("done", 2)  # the first chunk's two rows
