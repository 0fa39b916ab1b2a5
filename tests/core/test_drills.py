"""The drills' broker database: one per pytest-xdist worker, never REDIS_URL's own nor 0."""

from __future__ import annotations

import pytest

from core.drills import broker_db


@pytest.mark.parametrize(("redis_url", "worker", "number"), [
    ("redis://localhost:6379/0", "", 1),
    ("redis://localhost:6379/0", "gw0", 1),
    ("redis://localhost:6379/0", "gw1", 2),
    ("redis://localhost:6379", "", 1),
    ("redis://:secret@localhost:6379/11", "gw1", 13),
    ("redis://localhost:6379/15", "gw0", 1),
])
def test_each_xdist_worker_drills_on_a_redis_database_of_its_own(redis_url, worker, number):
    assert broker_db(redis_url, worker) == number


def test_no_worker_drills_on_the_runs_own_database():
    for base in range(16):
        dbs = [broker_db(f"redis://localhost:6379/{base}", f"gw{n}") for n in range(4)]
        assert base not in dbs and 0 not in dbs
        assert len(set(dbs)) == 4
