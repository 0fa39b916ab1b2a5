#!/usr/bin/env python
"""Fault drill: accrual and customer traffic while the worker, the broker and the database connections fail.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/fault_drill.py
    .venv/bin/python bench/fault_drill.py --positions 20000 --duration 40

Everything on loopback, bounded in time. It creates a throwaway database, a private `redis-server`
on a free port (so restarting it touches nothing else), a live flexible product with funded
customers, and `--positions` fixed positions earning since yesterday. Then, for `--duration`
seconds: two Celery workers run yesterday's accrual in chunks; two scheduler loops (standing in
for two beat processes) send the accrual and sweeper tasks every second; customer threads subscribe
and fast-redeem through the services with idempotency keys. Meanwhile the drill SIGKILLs a worker
and starts another, restarts Redis (nothing saved: every queued message is lost), and terminates
every database connection but its own, in turn. Afterwards it checks: every (position, day)
accrued exactly once, one ledger entry per chunk, `reconcile` clean, the audit chain intact, and
prints what happened. Exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

from benchdb import run_in_throwaway_database


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--positions", type=int, default=20_000, help="positions to accrue (default 20 000)")
    parser.add_argument("--chunk-size", type=int, default=250, help="positions per chunk (default 250)")
    parser.add_argument("--customers", type=int, default=8, help="customer threads (default 8)")
    parser.add_argument("--duration", type=float, default=40, help="seconds of faults and traffic (default 40)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    return parser.parse_args()


class PrivateRedis:
    """A redis-server of the drill's own on a free loopback port, restartable, keeping nothing on disk."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.dir = Path(tempfile.mkdtemp(prefix="drill-redis-"))
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # our own command line
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()


def _setup(args: argparse.Namespace, yesterday: dt.date):  # type: ignore[no-untyped-def]
    from accounts import roles
    from accounts.services import roles_sync, user_ensure
    from compliance.services.acknowledgements import acknowledgement_create
    from earn.demo import DemoProduct, walk
    from earn.loadgen import positions_generate
    from ledger import services as ledger
    from ledger.models import Asset

    roles_sync()
    Asset.objects.get_or_create(code="USDT", defaults={"name": "Tether USD", "scale": 8})
    staff = {role: user_ensure(email=f"{role}@drill.example", password="!", country="HK", is_staff=True,
                               roles=[role])[0] for role in (roles.CURATOR, roles.APPROVER, roles.OPERATIONS)}

    def product(name: str, term_type: str, terms: dict):  # type: ignore[no-untyped-def]
        demo = DemoProduct(name_en=name, name_zh_hant=name, asset="USDT", term_type=term_type, risk_rating=1,
                           tiers=[("0", None, "0.05")], terms={"min_amount": "1", **terms},
                           body_en="Drill product.", body_zh_hant="演練產品。")
        made = walk(demo, staff[roles.CURATOR], staff[roles.APPROVER], staff[roles.OPERATIONS])
        made.terms_versions.filter(status="approved").update(effective_from=yesterday - dt.timedelta(days=1))
        return made

    fixed = product("Drill fixed", "fixed", {"term_days": 90, "early_redemption": "not_allowed",
                                             "redemption_modes": []})
    flexible = product("Drill flexible", "demand", {"redemption_modes": ["fast", "standard"]})
    positions_generate(product=fixed, customers=args.positions // 10, per_customer=10, amount=Decimal("1500"),
                       value_date=yesterday, tag="drill")
    customers = []
    for i in range(args.customers):
        user = user_ensure(email=f"customer-{i}@drill.example", password="!", country="SG", kyc_verified=True)[0]
        ledger.deposit_credit(user_id=user.pk, asset="USDT", amount=Decimal("100000"), reference=f"drill-fund-{i}")
        disclosure = flexible.disclosures.get(status="current")
        acknowledgement_create(user=user, product_id=flexible.pk, disclosure_version=disclosure.version,
                               statements=[s["key"] for s in disclosure.risk_statements], language="en")
        customers.append(user)
    return flexible, customers


def _customer(user, product, stop: threading.Event, outcomes: Counter) -> None:  # type: ignore[no-untyped-def]
    """Subscribe and redeem in a loop; a request cut by a fault is retried with the same key."""
    from django.db import close_old_connections, connection

    from core.errors import ApplicationError
    from earn.models import Position
    from earn.services.redemptions import redemption_submit
    from earn.services.subscriptions import subscription_submit

    n = 0
    while not stop.is_set():
        n += 1
        key = f"drill-{user.pk}-{n}"
        for _ in range(5):  # the same key on every retry: applied once at most
            try:
                close_old_connections()
                if n % 3:
                    subscription_submit(user=user, product_id=product.pk, amount="10", auto_renew=False,
                                        idempotency_key=key, render=lambda s: s.pk)
                    outcomes["subscribed"] += 1
                else:
                    position = Position.objects.filter(user=user, product=product).first()
                    if position is not None and position.principal >= 5:
                        redemption_submit(user=user, position_id=position.pk, amount="5", mode="fast",
                                          idempotency_key=key, render=lambda r: r.pk)
                        outcomes["redeemed"] += 1
                break
            except ApplicationError as exc:
                outcomes[f"refused {exc.code}"] += 1
                break
            except Exception as exc:  # a cut connection or a restarted server: retry
                outcomes[f"retried after {type(exc).__name__}"] += 1
                connection.close()
                time.sleep(0.2)
        time.sleep(0.05)


def _scheduler(workers, stop: threading.Event, sent: Counter) -> None:  # type: ignore[no-untyped-def]
    """One beat: the accrual task and the sweeper every second (beat sends them at 00:05 and every 5 min)."""
    while not stop.is_set():
        for task in ("earn.tasks.accrual_task", "earn.tasks.accrual_sweep_task"):
            try:
                workers.send(task)
                sent[task] += 1
            except Exception:  # the broker is restarting
                sent["send failed (broker down)"] += 1
        stop.wait(1)


def _drill(args: argparse.Namespace) -> int:
    from django.db import connection

    from core.audit import audit_chain
    from core.audit_verify import audit_chain_verify
    from core.drills import Workers, database_url
    from earn.models import Accrual, AccrualChunk, AccrualRun
    from ledger.models import JournalEntry
    from ledger.reconcile import ledger_reconcile

    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    started = time.perf_counter()
    product, customers = _setup(args, yesterday)
    print(f"setup: {args.positions:,} positions earning since {yesterday}, {len(customers)} customers "
          f"({time.perf_counter() - started:.1f}s)")
    redis = PrivateRedis()
    redis.start()
    log_dir = Path(tempfile.mkdtemp(prefix="drill-logs-"))
    workers = Workers(broker_url=redis.url, database_url=database_url(connection.settings_dict), log_dir=log_dir,
                      settings_module="config.settings.local",
                      extra_env={"ACCRUAL_CHUNK_SIZE": str(args.chunk_size), "ACCRUAL_CHUNK_TIMEOUT": "2"})
    stop, outcomes, sent, faults = threading.Event(), Counter(), Counter(), []
    threads = [threading.Thread(target=_customer, args=(user, product, stop, outcomes)) for user in customers]
    threads += [threading.Thread(target=_scheduler, args=(workers, stop, sent)) for _ in range(2)]
    try:
        current = [workers.start(), workers.start()]
        for thread in threads:
            thread.start()
        began = time.monotonic()
        plan = [(0.15, "kill"), (0.35, "redis"), (0.55, "cut"), (0.7, "kill"), (0.85, "cut")]
        for at, fault in plan:
            time.sleep(max(0.0, began + at * args.duration - time.monotonic()))
            done = AccrualChunk.objects.filter(status="done").count()
            if fault == "kill":
                workers.kill(current.pop(0))
                current.append(workers.start())
            elif fault == "redis":
                redis.restart()
            else:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                   " WHERE datname = current_database() AND pid <> pg_backend_pid()")
                    fault = f"cut {cursor.fetchone()[0]} connections"
            faults.append(f"t={time.monotonic() - began:5.1f}s  {fault:<24} ({done} chunks done)")
        time.sleep(max(0.0, began + args.duration - time.monotonic()))
        stop.set()
        for thread in threads:
            thread.join()
        recovery = time.monotonic()
        stop.clear()
        beat = threading.Thread(target=_scheduler, args=(workers, stop, sent))
        beat.start()
        while not AccrualRun.objects.filter(date=yesterday, status="done").exists():
            if time.monotonic() - recovery > 180:
                print("FAILED: the accrual run did not finish within 180 s after the drill; worker logs:")
                print(workers.logs())
                return 1
            time.sleep(0.2)
        stop.set()
        beat.join()
        finished = time.monotonic() - began
    finally:
        stop.set()
        workers.stop_all()
        redis.stop()
        shutil.rmtree(redis.dir, ignore_errors=True)

    print("faults:")
    for line in faults:
        print(f"  {line}")
    print("customer traffic: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    print("scheduler sends: " + ", ".join(f"{k} {v}" for k, v in sorted(sent.items())))
    chunks = AccrualChunk.objects.filter(run__date=yesterday)
    rows = Accrual.objects.filter(date=yesterday)
    checks = {
        f"accrual rows = positions ({args.positions:,})": rows.count() == args.positions,
        "one accrual per (position, day)": rows.values("position_id").distinct().count() == rows.count(),
        "every chunk done": not chunks.exclude(status="done").exists(),
        "one ledger entry per chunk": JournalEntry.objects.filter(kind="accrual").count() == chunks.count(),
    }
    report = ledger_reconcile()
    checks["reconcile clean"] = report.ok
    audit_chain()  # what the worker does after commits; the drill's workers may be gone by now
    chain = audit_chain_verify()
    checks[f"audit chain intact ({chain.checked} events)"] = chain.intact
    print(f"accrual: {rows.count():,} rows in {chunks.count()} chunks, run finished {finished:.1f}s after the start "
          f"(redelivered chunks: {sum(c.dispatches > 1 for c in chunks)})")
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    for mismatch in report.mismatches[:10]:
        print(f"    {mismatch}")
    print(f"worker logs: {log_dir}")
    return 0 if all(checks.values()) else 1


def main() -> int:
    args = _parse()
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")  # quiet confirmations
    result = {"code": 1}

    def run() -> None:
        result["code"] = _drill(args)

    run_in_throwaway_database(run, prefix=f"earn_drill_{uuid.uuid4().hex[:6]}", keep=args.keep)
    return result["code"]


if __name__ == "__main__":
    sys.exit(main())
