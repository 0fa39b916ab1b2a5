"""Real Celery worker processes for fault drills (`bench/fault_drill.py`) and the fault tests.

Each worker runs in a process group of its own, so SIGKILL takes its pool children with it, like
a machine or container dying. Not used by the service itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

from celery import Celery

BASE_DIR = Path(__file__).resolve().parent.parent


def database_url(settings_dict: dict) -> str:
    """A URL for a Django database settings dict (for a worker to reach the same database)."""
    db = settings_dict
    auth = quote(db["USER"] or "", safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}@{quote(db['HOST'] or '', safe='')}{port}/{db['NAME']}"


def broker_db(redis_url: str, xdist_worker: str = "") -> int:
    """A Redis database for a drill's broker: the one after REDIS_URL's, plus the pytest-xdist worker's index
    (gw0: +1, gw1: +2), within 1–15. Never REDIS_URL's own (the run's other Celery and Redis users keep it) nor
    0, and one per worker, so parallel drills never take or flush each other's messages."""
    base = int(urlsplit(redis_url).path.strip("/") or 0)
    index = int(xdist_worker.removeprefix("gw") or 0)
    return 1 + (base + index) % 15


class Workers:
    """Start, SIGKILL and stop `celery worker` processes on one broker and database."""

    def __init__(self, *, broker_url: str, database_url: str, log_dir: Path, settings_module: str,
                 extra_env: dict[str, str] | None = None) -> None:
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "DATABASE_URL": database_url,
                    "REDIS_URL": broker_url, "CELERY_BROKER_URL": broker_url, "CELERY_RESULT_BACKEND": broker_url,
                    "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []
        self.sender = Celery("drill", broker=broker_url, set_as_current=False)  # the tests keep their app

    def start(self, concurrency: int = 2) -> subprocess.Popen:
        name = f"drill-{uuid.uuid4().hex[:8]}"
        with (self.log_dir / f"{name}.log").open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own command line, no outside input
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork", f"-c{concurrency}",
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
                 "--hostname", f"{name}@%h"],
                cwd=BASE_DIR, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            self.kill(process)
        self.sender.close()

    def send(self, task: str, *args: object) -> None:
        self.sender.send_task(task, args=args)

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(p.read_text()[-tail:] for p in sorted(self.log_dir.glob("*.log")))
