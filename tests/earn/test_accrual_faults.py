"""Fault drills with real Celery workers on Redis: every (position, day) is accrued exactly once.

Each test writes positions for yesterday (the worker runs on real time), then starts
`celery worker` processes against this run's test database and a Redis database of their own, one per
xdist worker (`core.drills.broker_db`: FLUSHDB is then a real broker loss that touches neither the other
worker's drills nor this run's REDIS_URL), and breaks something mid-run: the worker killed with SIGKILL,
the same task delivered twice, two schedulers at once, the broker flushed, database connections
terminated. The sweeper (sent as beat would send it) recovers; then the books must be exact and
`reconcile` clean.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.db import connection
from django.utils import timezone

from core.drills import Workers, broker_db, database_url
from earn.loadgen import positions_generate
from earn.models import Accrual, AccrualChunk, AccrualRun
from earn.services import accrual
from ledger.models import JournalEntry
from ledger.reconcile import ledger_reconcile
from tests.earn.factories import live_product

POSITIONS = 2_000
CHUNK = 50  # 40 chunks: long enough to break things in the middle
DEADLINE = 120

pytestmark = [
    pytest.mark.celery,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL is not set: no broker for a real worker"),
]


@pytest.fixture
def broker():
    """A Redis database of this worker's own (`broker_db`), empty at the start."""
    parts = urlsplit(os.environ["REDIS_URL"])
    number = broker_db(os.environ["REDIS_URL"], os.environ.get("PYTEST_XDIST_WORKER", ""))
    url = urlunsplit((parts.scheme, parts.netloc, f"/{number}", "", ""))
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url, client
    client.flushdb()


@pytest.fixture
def workers(broker, tmp_path):
    pool = Workers(broker_url=broker[0], database_url=database_url(connection.settings_dict), log_dir=tmp_path,
                   settings_module="config.settings.test",
                   extra_env={"ACCRUAL_CHUNK_SIZE": str(CHUNK), "ACCRUAL_CHUNK_TIMEOUT": "1"})
    yield pool
    pool.stop_all()


@pytest.fixture
def book(assets):
    """POSITIONS fixed positions (10 per customer) earning since yesterday: one day to accrue."""
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    product = live_product("USDT", "fixed", term_days=90, tiers=[(0, 1000, "0.05"), (1000, None, "0.03")])
    positions_generate(product=product, customers=POSITIONS // 10, per_customer=10, amount=Decimal("1500"),
                       value_date=yesterday, tag=uuid.uuid4().hex[:8])
    return yesterday


def _done_chunks(day: dt.date) -> int:
    return AccrualChunk.objects.filter(run__date=day, status=AccrualChunk.Status.DONE).count()


def _wait_for(condition, workers: Workers, what: str, *, sweep: bool = False, timeout: float = DEADLINE) -> None:
    """Poll `condition`; with `sweep`, send the sweeper every second as beat would every few minutes."""
    deadline, last_sweep = time.monotonic() + timeout, 0.0
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; worker logs:\n{workers.logs()}")
        if sweep and time.monotonic() - last_sweep > 1:
            workers.send("earn.tasks.accrual_sweep_task")
            last_sweep = time.monotonic()
        time.sleep(0.02)


def _run_done(day: dt.date) -> bool:
    return AccrualRun.objects.filter(date=day, status=AccrualRun.Status.DONE).exists()


def assert_exactly_once(day: dt.date) -> None:
    chunks = AccrualChunk.objects.filter(run__date=day)
    assert chunks.count() == POSITIONS // CHUNK
    assert not chunks.exclude(status=AccrualChunk.Status.DONE).exists()
    assert Accrual.objects.filter(date=day).count() == POSITIONS
    assert Accrual.objects.values("position_id").distinct().count() == POSITIONS
    assert JournalEntry.objects.filter(kind="accrual").count() == POSITIONS // CHUNK  # one entry per chunk
    report = ledger_reconcile()
    assert report.ok, [str(m) for m in report.mismatches]


def test_worker_killed_mid_run_then_restarted(book, workers):
    first = workers.start()
    workers.send("earn.tasks.accrual_task")
    _wait_for(lambda: _done_chunks(book) >= 5, workers, "the first chunks")
    workers.kill(first)
    done_at_kill = _done_chunks(book)
    assert done_at_kill < POSITIONS // CHUNK, "the run finished before the kill; make it longer"
    workers.start()
    _wait_for(lambda: _run_done(book), workers, "the run to finish after the restart", sweep=True)
    assert_exactly_once(book)


def test_the_same_chunk_delivered_twice(book, workers):
    planned: list[int] = []
    assert accrual.accrual_dispatch(planned.append, chunk_size=CHUNK).chunks == POSITIONS // CHUNK
    workers.start(concurrency=3)
    for chunk_id in planned:
        workers.send("earn.tasks.accrual_chunk_task", chunk_id)
        workers.send("earn.tasks.accrual_chunk_task", chunk_id)
    _wait_for(lambda: _run_done(book), workers, "the run to finish")
    for chunk_id in planned[:3]:  # and once more after the fact
        workers.send("earn.tasks.accrual_chunk_task", chunk_id)
    time.sleep(1)
    assert_exactly_once(book)


def test_two_schedulers_at_once(book, workers):
    workers.start()
    racers = [threading.Thread(target=lambda: workers.send("earn.tasks.accrual_task")) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    accrual.accrual_dispatch(lambda chunk_id: workers.send("earn.tasks.accrual_chunk_task", chunk_id),
                             chunk_size=CHUNK)  # a third, from here
    _wait_for(lambda: _run_done(book), workers, "the run to finish")
    assert set(AccrualChunk.objects.filter(run__date=book).values_list("dispatches", flat=True)) == {1}
    assert_exactly_once(book)


def test_broker_flushed_mid_run(book, workers, broker):
    workers.start(concurrency=1)
    workers.send("earn.tasks.accrual_task")
    _wait_for(lambda: _done_chunks(book) >= 3, workers, "the first chunks")
    broker[1].flushdb()  # every queued chunk message is gone
    time.sleep(2)
    assert not _run_done(book)
    _wait_for(lambda: _run_done(book), workers, "the sweeper to finish the run", sweep=True)
    assert_exactly_once(book)


def test_database_connections_cut_during_chunks(book, workers):
    workers.start()
    workers.send("earn.tasks.accrual_task")
    _wait_for(lambda: _done_chunks(book) >= 2, workers, "the first chunks")
    cuts = 0
    with connection.cursor() as cursor:
        while not _run_done(book) and cuts < 15:
            cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                           " WHERE datname = current_database() AND pid <> pg_backend_pid()")
            cuts += cursor.fetchone()[0]
            time.sleep(0.05)
    assert cuts > 0
    _wait_for(lambda: _run_done(book), workers, "the run to finish after the cuts", sweep=True)
    assert_exactly_once(book)
