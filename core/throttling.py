"""DRF throttles keyed on core.net.client_ip; every API view throttles with these, not DRF's own.

With the Redis cache (every deployment: the counters are shared by the web processes) the request log
of a throttle key is a Redis list kept by one script: drop the times older than the window, count, add
this request's time when it is allowed. One round trip instead of DRF's read and write of a pickled
list, and atomic (DRF's read-modify-write let concurrent requests of one client slip past the limit).
The window, the limit and Retry-After are DRF's; other caches (tests: per-process memory) use DRF's code.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache
from django.utils.connection import ConnectionProxy
from rest_framework import throttling
from rest_framework.request import Request

from core.net import client_ip

# KEYS[1]: the log, newest first; ARGV: now, window (seconds), limit. Returns {allowed, count, oldest}.
SLIDING_LOG = """
local now = tonumber(ARGV[1])
local edge = now - tonumber(ARGV[2])
while true do
  local oldest = redis.call('LINDEX', KEYS[1], -1)
  if not oldest or tonumber(oldest) > edge then break end
  redis.call('RPOP', KEYS[1])
end
local count = redis.call('LLEN', KEYS[1])
if count >= tonumber(ARGV[3]) then
  return {0, count, redis.call('LINDEX', KEYS[1], -1) or ''}
end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])))
return {1, count + 1, redis.call('LINDEX', KEYS[1], -1)}
"""
_script: list[Any] = []  # the registered script, made on first use
_clients: dict[int, Any] = {}  # connection pool id -> one client (Django's cache makes a new one per call)


def _client(cache: RedisCache) -> Any:
    """A client on the cache's write pool, kept: redis-py clients are thread-safe and cheap to share, but making
    one (its table of response callbacks) cost a tenth of a millisecond per request."""
    pool = cache._cache._get_connection_pool(write=True)  # type: ignore[attr-defined]  # not in the stubs
    client = _clients.get(id(pool))
    if client is None:
        client = _clients[id(pool)] = cache._cache._client(connection_pool=pool)  # type: ignore[attr-defined]
    return client


def _backend(cache: Any) -> Any:
    """The cache behind DRF's `cache` attribute (django.core.cache.cache is a proxy to this thread's backend)."""
    return cache._connections[cache._alias] if isinstance(cache, ConnectionProxy) else cache


class ClientAddressMixin:
    """Replaces DRF's get_ident (X-Forwarded-For per NUM_PROXIES, left-most when short) with client_ip."""

    def get_ident(self, request: Request) -> str:
        return client_ip(request) or ""


class SlidingLogThrottle(throttling.SimpleRateThrottle):
    """DRF's SimpleRateThrottle; with the Redis cache, its history kept by SLIDING_LOG in one round trip."""

    _log: tuple[int, float] | None = None  # (requests in the window, time of the oldest) after a Redis check
    num_requests: int  # set by DRF from the rate
    duration: int

    def allow_request(self, request: Request, view: Any) -> bool:
        cache = _backend(self.cache)
        if self.rate is None or not isinstance(cache, RedisCache):
            return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        log_key = cache.make_and_validate_key(f"{self.key}:log")
        client = _client(cache)
        if not _script:
            _script.append(client.register_script(SLIDING_LOG))
        self.now = self.timer()
        allowed, count, oldest = _script[0](keys=[log_key], args=[repr(self.now), self.duration, self.num_requests],
                                            client=client)
        self._log = (int(count), float(oldest) if oldest else self.now)  # float-ok: seconds
        return bool(allowed)

    def wait(self) -> float | None:
        if self._log is None:
            return super().wait()
        count, oldest = self._log
        remaining = self.duration - (self.now - oldest) if count else self.duration
        available = self.num_requests - count + 1
        return None if available <= 0 else remaining / float(available)  # float-ok: seconds


class ScopedRateThrottle(ClientAddressMixin, throttling.ScopedRateThrottle, SlidingLogThrottle):
    """Per user when authenticated, else per client address, at the view's `throttle_scope` rate."""


class SimpleRateThrottle(ClientAddressMixin, SlidingLogThrottle):
    """Base for throttles with their own cache key."""
