"""The service's Prometheus metrics (prometheus-client), counted in the process that serves the request.

Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR: each process then writes its values to
files there and `/metrics` sums them (config/gunicorn.py removes a dead worker's files).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUEST_LATENCY = Histogram(
    "earn_http_request_duration_seconds", "Time to answer a request, by route (the URL pattern, not the path).",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))

MONEY_OUTCOMES = Counter(
    "earn_money_outcomes_total", "Money moves asked for, by operation and outcome: ok or the reason code.",
    ["operation", "outcome"])

# URL names of the endpoints that move money, and the operation each counts as.
MONEY_OPERATIONS = {
    "subscription-create": "subscribe",
    "redemption-create": "redeem",
    "pool-deposit-create": "pool_deposit",
    "pool-redemption-create": "pool_redeem",
    "staff-deposit-create": "staff_deposit",
    "staff-deposit-approve": "staff_deposit_approve",
}
