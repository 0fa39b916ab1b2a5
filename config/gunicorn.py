"""gunicorn settings for production (`gunicorn config.wsgi:application -c config/gunicorn.py`).

Threaded workers (gthread): a long streamed CSV export occupies one thread while the worker's main
loop keeps sending heartbeats, so `timeout` restarts only a hung worker, never a slow download
(a sync worker would be killed mid-stream after `timeout` seconds). Each thread holds its own
database connection. Values can be tuned from the environment.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 9)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))  # a worker silent this long is restarted
graceful_timeout = 30  # finish in-flight requests on SIGTERM (rolling deploys)
keepalive = 5  # behind a load balancer that keeps connections open
max_requests = 1000  # recycle workers to bound slow memory growth …
max_requests_jitter = 100  # … but not all at once
worker_tmp_dir = "/dev/shm"  # noqa: S108 - heartbeat files in memory, off the (slow, overlay) disk
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
limit_request_line = 8190
limit_request_fields = 100


def on_starting(server: object) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set, start from an empty directory (no counts of a previous run)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))


def child_exit(server: object, worker: object) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set, drop a dead worker's live gauges (monitoring/metrics.py)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
