"""A real Celery worker process: tasks go through the Redis broker and come back by the result backend.

The worker is started once for the module, listening on a queue of its own (so a worker of another
test run on the same Redis cannot take our tasks), with DATABASE_URL pointing at this run's test
database; the tests are transactional so what they write is committed and visible to it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from core.drills import database_url as drill_database_url
from core.tasks import ping_task

BASE_DIR = Path(__file__).resolve().parents[2]
TIMEOUT = 60

pytestmark = [
    pytest.mark.celery,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL is not set: no broker for a real worker"),
]


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """Start `celery -A config worker --pool=solo` on a private queue; yields the queue name."""
    with django_db_blocker.unblock():
        database_url = drill_database_url(connection.settings_dict)
    queue = f"test-{uuid.uuid4().hex[:12]}"
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url,
           "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", queue,
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
             "--hostname", f"{queue}@%h"],
            cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        yield queue, process, log
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _get(result, process, log):
    try:
        return result.get(timeout=TIMEOUT)
    except Exception:
        alive = "running" if process.poll() is None else f"exited {process.returncode}"
        pytest.fail(f"task did not complete (worker {alive}); worker log:\n{log.read_text()[-4000:]}")


@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_task_and_returns_its_result(worker):
    queue, process, log = worker
    result = ping_task.apply_async(queue=queue)
    assert _get(result, process, log) == "pong"
    assert result.successful()


@pytest.mark.django_db(transaction=True)
def test_worker_reconciles_this_runs_database(worker, assets, customer, fund):
    """reconcile_task in the worker reads the test database: it sees the accounts written here."""
    tasks = pytest.importorskip("ledger.tasks", reason="ledger.tasks (reconcile_task) is not there yet")
    queue, process, log = worker
    fund(customer, "USDT", Decimal("12.5"))
    report = _get(tasks.reconcile_task.apply_async(queue=queue), process, log)
    assert report["accounts_checked"] == 2, report
    assert report["mismatches"] == [], report
