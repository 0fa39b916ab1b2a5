"""The Redis form of the API throttles (core.throttling.SLIDING_LOG) decides exactly as DRF's cache form.

Runs against the Redis of REDIS_URL (skipped without one): the same request times go through a throttle
on a Redis cache and one on a per-process memory cache (DRF's own read-modify-write), and every answer
and Retry-After must agree.
"""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from rest_framework.test import APIRequestFactory

from core.throttling import SimpleRateThrottle

REDIS_URL = os.environ.get("REDIS_URL", "")
pytestmark = pytest.mark.skipif(not REDIS_URL.startswith("redis"), reason="needs REDIS_URL")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _throttle(cache, clock, rate="3/min"):  # type: ignore[no-untyped-def]
    class Limited(SimpleRateThrottle):
        scope = "test"

        def get_rate(self) -> str:
            return rate

        def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
            return "throttle_test_client"

    throttle = Limited()
    throttle.cache = cache
    throttle.timer = clock
    return throttle


@pytest.fixture
def redis_cache():
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": f"test-throttle-{uuid.uuid4().hex}"})
    yield cache
    cache.delete("throttle_test_client:log")


def test_the_redis_log_answers_as_drf_does(redis_cache):
    request = APIRequestFactory().get("/")
    memory = LocMemCache(f"throttle-{uuid.uuid4().hex}", {})
    clock = Clock(1_000_000.0)
    # Bursts, a wait inside the window, the window sliding past the oldest, a long pause.
    steps = [0, 0.5, 1, 1.5, 2, 30, 59.9, 60.2, 61, 61.1, 61.2, 200, 200, 200, 200, 259.99, 260.5]
    answers = []
    for step in steps:
        clock.now = 1_000_000.0 + step
        fresh_redis, fresh_memory = _throttle(redis_cache, clock), _throttle(memory, clock)
        allowed = fresh_redis.allow_request(request, None), fresh_memory.allow_request(request, None)
        assert allowed[0] == allowed[1], (step, allowed)
        if not allowed[0]:
            assert fresh_redis.wait() == pytest.approx(fresh_memory.wait()), step
        answers.append(allowed[0])
    assert answers.count(False) >= 4 and answers.count(True) >= 8  # both kinds of answer were exercised


def test_concurrent_requests_never_pass_the_limit(redis_cache):
    """The script is atomic: 40 requests at once against a limit of 5 let exactly 5 through."""
    request = APIRequestFactory().get("/")
    clock = Clock(2_000_000.0)
    allowed: list[bool] = []
    gate = threading.Barrier(40)

    def hit() -> None:
        throttle = _throttle(redis_cache, clock, rate="5/min")
        gate.wait()
        allowed.append(throttle.allow_request(request, None))

    threads = [threading.Thread(target=hit) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 5
