#!/usr/bin/env python
"""One day's accrual for N positions: the engine against two hand-written minimal SQL baselines.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/accrual_bench.py
    .venv/bin/python bench/accrual_bench.py --positions 200000 --workers 2 --chunk-sizes 2500,10000,40000

Creates a throwaway database, a live fixed-term product (tiers 0–1 000 @ 5 %, above @ 3 %, daily
payout) and N positions of 1 500 USDT (`--per-customer` each; every customer also has an
`available` account) with set-based SQL, then accrues consecutive days, one per measurement, after a
first day by the engine that is not timed (so each timed day carries from a previous day's rows, as
every day but the first does), with `VACUUM ANALYZE` before each (so no phase pays for the hint bits
of the rows the phase before it wrote):

- baseline without triggers (day D): one transaction — INSERT the accrual rows (the tiers written
  into the SQL, the previous carry joined in, the run's id as the engine writes it), INSERT the
  entry, INSERT one credit posting per customer account plus the platform debit, UPDATE the
  balances — with the ledger's triggers disabled (foreign keys and CHECK constraints still on).
  The floor: the writes and nothing else.
- baseline with triggers (day D+1): the same statements with the ledger's triggers on (they check
  scale, entry ownership and balance, and move the balances: no explicit UPDATE).
- engine (day D+2): `earn.services.accrual.accrue_day` — chunks of `--chunk-size` positions, each
  one transaction (candidates, tiers, changes and carry in SQL, accrual rows, one ledger entry with
  one credit per customer account, triggers on), progress in chunk rows.
- `--workers K` (day D+3): the same engine, K processes working the day's chunks at once (as K
  Celery workers do: each claims chunks with SKIP LOCKED), and the speedup over one.
- `--chunk-sizes a,b,…` (one day each): the engine's time per chunk size, for choosing the default.

Prints the times, positions/s, the ratios of the engine to each baseline, peak memory (this process,
and the worker processes), the machine's load, and checks the books with `reconcile`. Next to each wall
time it prints the CPU seconds the phase cost — the PostgreSQL backend's (read from /proc: a server on
this machine only) and this process's — and the ratios on CPU too: on a shared machine the wall times
carry the other jobs' load, the CPU seconds much less of it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

from benchdb import reconcile_and_print, run_in_throwaway_database


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--positions", type=int, default=1_000_000, help="positions (default 1 000 000)")
    parser.add_argument("--per-customer", type=int, default=10, help="positions per customer (default 10)")
    parser.add_argument("--chunk-size", type=int, default=None, help="positions per chunk (default: the setting)")
    parser.add_argument("--workers", type=int, default=0, help="also run a day with this many processes (e.g. 2)")
    parser.add_argument("--chunk-sizes", default="", help="also run one day per chunk size, e.g. 2500,10000,40000")
    parser.add_argument("--no-first-day", action="store_true",
                        help="time the first day too (no untimed first day: the first baseline carries from nothing)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    return parser.parse_args()


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _backend_cpu() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend so far (utime + stime from /proc; None when the
    server is not on this machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Phase:
    """Wall time, backend CPU and this process's CPU of a `with` block (one connection)."""

    wall: float
    backend: float | None
    process: float

    def __enter__(self) -> Phase:
        self._backend = _backend_cpu()
        self._process, self._wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.process = time.process_time() - self._process
        after = _backend_cpu()
        self.backend = None if self._backend is None or after is None else after - self._backend

    def cpu(self) -> str:
        backend = "n/a" if self.backend is None else f"{self.backend:6.1f}s"
        return f"CPU: PostgreSQL {backend}, this process {self.process:5.1f}s"


def _ratio(name: str, engine: Phase, other: Phase) -> str:
    text = f"engine / {name}: wall {engine.wall / other.wall:5.2f}×"
    if engine.backend is not None and other.backend:
        text += f", PostgreSQL CPU {engine.backend / other.backend:5.2f}×"
        both = other.backend + other.process
        text += f", PostgreSQL + process CPU {(engine.backend + engine.process) / both:5.2f}×"
    return text


def _product(day: dt.date):  # type: ignore[no-untyped-def]
    from accounts import roles
    from accounts.services import roles_sync, user_ensure
    from earn.demo import DemoProduct, walk
    from ledger.models import Asset

    roles_sync()
    Asset.objects.get_or_create(code="USDT", defaults={"name": "Tether USD", "scale": 8})
    staff = {role: user_ensure(email=f"{role}@bench.example", password="!", country="HK", is_staff=True,
                               roles=[role])[0]
             for role in (roles.CURATOR, roles.APPROVER, roles.OPERATIONS)}
    demo = DemoProduct(
        name_en="Bench USDT 90 days", name_zh_hant="基準 USDT 90 日", asset="USDT", term_type="fixed",
        tiers=[("0", "1000", "0.05"), ("1000", None, "0.03")], risk_rating=2,
        terms={"term_days": 90, "payout": "daily", "min_amount": "1", "early_redemption": "not_allowed",
               "redemption_modes": []},
        body_en="Benchmark product.", body_zh_hant="基準產品。",
    )
    product = walk(demo, staff[roles.CURATOR], staff[roles.APPROVER], staff[roles.OPERATIONS])
    return product


# {day}, {now}: the day accrued and the time stamp. The tiers of the bench product are written into
# the SQL; the previous carry is the previous day's row (the baselines run on consecutive days).
BASELINE_ACCRUALS = """
    INSERT INTO earn_accrual (position_id, date, base, apr, exact, posted, carry, payout, paid_out, run_id,
                              created_at)
    SELECT id, %(day)s, base, trunc(y / base, 18), exact, trunc(exact + prev, 8),
           exact + prev - trunc(exact + prev, 8), 'daily', true, %(run)s, %(now)s
      FROM (SELECT p.id, p.principal AS base,
                   least(p.principal, 1000) * 0.05 + greatest(p.principal - 1000, 0) * 0.03 AS y,
                   trunc((least(p.principal, 1000) * 0.05 + greatest(p.principal - 1000, 0) * 0.03) / 365, 18)
                       AS exact,
                   coalesce(a.carry, 0) AS prev
              FROM earn_position p
              LEFT JOIN earn_accrual a ON a.position_id = p.id AND a.date = %(day)s::date - 1
             WHERE p.product_id = %(product)s AND p.status = 'active') q"""
BASELINE_ENTRY = """
    INSERT INTO ledger_journalentry (kind, idempotency_key, fingerprint, reference, memo, created_at)
    VALUES ('accrual', 'baseline:' || %(day)s::text, 'baseline', 'accrual:' || %(day)s::text, '', %(now)s)"""
# One credit per customer account (the day's accrual rows summed per customer) and the platform debit.
BASELINE_POSTINGS = """
    WITH e AS (SELECT id FROM ledger_journalentry WHERE idempotency_key = 'baseline:' || %(day)s::text),
         per_customer AS (SELECT p.user_id, sum(a.posted) AS amount
                            FROM earn_accrual a JOIN earn_position p ON p.id = a.position_id
                           WHERE a.date = %(day)s AND a.posted > 0 GROUP BY p.user_id)
    INSERT INTO ledger_posting (entry_id, account_id, asset_id, side, amount, created_at)
    SELECT e.id, acc.id, 'USDT', 'C', c.amount, %(now)s
      FROM per_customer c CROSS JOIN e
      JOIN ledger_ledgeraccount acc ON acc.owner_id = c.user_id AND acc.asset_id = 'USDT' AND acc.kind = 'available'
    UNION ALL
    SELECT e.id, acc.id, 'USDT', 'D', (SELECT sum(amount) FROM per_customer), %(now)s
      FROM ledger_ledgeraccount acc CROSS JOIN e
     WHERE acc.owner_id IS NULL AND acc.asset_id = 'USDT' AND acc.kind = 'yield_expense'"""
# Only without the triggers: the balances of the entry's accounts, by hand.
BASELINE_BALANCES = """
    UPDATE ledger_ledgeraccount acc SET balance = acc.balance + d.delta
      FROM (SELECT account_id, sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS delta
              FROM ledger_posting WHERE entry_id = (SELECT id FROM ledger_journalentry
                                                     WHERE idempotency_key = 'baseline:' || %(day)s::text)
             GROUP BY account_id) d
     WHERE acc.id = d.account_id"""
LEDGER_TABLES = ("ledger_journalentry", "ledger_posting", "ledger_ledgeraccount")


def _baseline(day: dt.date, product_id: int, *, triggers: bool) -> Phase:
    """One day by the minimal statements, in one transaction; the ledger's triggers on or off."""
    from django.db import connection, transaction
    from django.utils import timezone

    from earn.models import AccrualRun

    # The day's run row, as the engine writes (each accrual row refers to it), made before the timing.
    run = AccrualRun.objects.create(date=day, planned_at=timezone.now())
    params = {"day": day, "now": timezone.now(), "product": product_id, "run": run.pk}

    def toggle(state: str) -> None:  # USER triggers only: the foreign keys' system triggers stay on
        with connection.cursor() as cursor:
            for table in LEDGER_TABLES:
                cursor.execute(f"ALTER TABLE {table} {state} TRIGGER USER")

    if not triggers:
        toggle("DISABLE")
    with Phase() as phase, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(BASELINE_ACCRUALS, params)
        cursor.execute(BASELINE_ENTRY, params)
        cursor.execute(BASELINE_POSTINGS, params)
        if not triggers:
            cursor.execute(BASELINE_BALANCES, params)
    if not triggers:
        toggle("ENABLE")
    # Bookkeeping outside the timing: the day counts as accrued, so the engine's next day is in order.
    AccrualRun.objects.filter(pk=run.pk).update(status=AccrualRun.Status.DONE, finished_at=timezone.now())
    return phase


def _work_chunks(start, chunk_ids: list[int], spent) -> None:  # type: ignore[no-untyped-def]
    """A worker process: wait for the start, then claim every chunk it can (SKIP LOCKED), as a Celery
    worker does with the chunk messages (each worker starts at its own offset of the list); reports its
    backend's and its own CPU seconds on `spent`."""
    from django.db import connections

    from earn.services import accrual

    connections.close_all()  # never share the parent's connection
    start.wait()
    with Phase() as phase:
        for chunk_id in chunk_ids:
            accrual.chunk_process(chunk_id)
    spent.put((phase.backend, phase.process))
    connections.close_all()


def _engine_parallel(day: dt.date, workers: int, chunk_size: int | None) -> tuple[float, int, str]:
    """One day's chunks worked by `workers` processes at once; seconds from the start signal to the last
    exit, the chunks left pending (0 expected) and the CPU the workers spent."""
    from django.db import connections

    from earn.models import AccrualChunk
    from earn.services import accrual

    run = accrual.run_plan(day, chunk_size=chunk_size)
    chunk_ids = list(AccrualChunk.objects.filter(run=run).order_by("lo").values_list("id", flat=True))
    connections.close_all()
    context = multiprocessing.get_context("fork")
    start, spent = context.Event(), context.Queue()
    step = max(1, len(chunk_ids) // workers)
    processes = [context.Process(target=_work_chunks,
                                 args=(start, chunk_ids[i * step:] + chunk_ids[:i * step], spent))
                 for i in range(workers)]
    for process in processes:
        process.start()
    time.sleep(1)  # every process has forked and is waiting
    started = time.perf_counter()
    start.set()
    cpu = [spent.get() for _ in processes]
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    left = AccrualChunk.objects.filter(run=run, status=AccrualChunk.Status.PENDING).count()
    accrual.run_finish_if_complete(run.pk)
    backends = [b for b, _ in cpu if b is not None]
    total = (f"PostgreSQL {sum(backends):.1f}s" if len(backends) == len(cpu) else "PostgreSQL n/a") + \
        f", processes {sum(p for _, p in cpu):.1f}s"
    return elapsed, left, total


def _vacuum() -> None:
    """Every timed day starts from the same state: the previous day's rows vacuumed (hint bits set, no
    page left to dirty by the next reader) and the statistics fresh. Without it the phase after another
    paid for setting the hint bits of the rows its predecessor wrote."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _bench(args: argparse.Namespace) -> None:
    import time_machine
    from django.conf import settings
    from django.db import connection

    from core.partitions import ensure_partitions
    from earn.loadgen import positions_generate
    from earn.models import Accrual
    from earn.services import accrual

    chunk_size = args.chunk_size or settings.ACCRUAL_CHUNK_SIZE
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        print(f"PostgreSQL {cursor.fetchone()[0]}; {args.positions:,} positions, "
              f"{args.per_customer} per customer, chunks of {chunk_size:,}; {os.cpu_count()} CPUs, "
              f"load average {_load()}")
    day = dt.date(2026, 3, 2)
    # The bench's months get their own partitions, as production's current month has (the scheduled job makes
    # them ahead): otherwise every row would land in the default partition.
    ensure_partitions(months_ahead=2, today=day)
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), tick=True):
        product = _product(day)
        started = time.perf_counter()
        made = positions_generate(product=product, customers=args.positions // args.per_customer,
                                  per_customer=args.per_customer, amount=Decimal("1500"), value_date=day,
                                  tag="bench")
        with connection.cursor() as cursor:  # customers have an available account, as real ones do
            cursor.execute("""INSERT INTO ledger_ledgeraccount (owner_id, asset_id, kind, balance, created_at)
                              SELECT DISTINCT user_id, asset_id, 'available', 0, now() FROM earn_position
                              ON CONFLICT DO NOTHING""")
            cursor.execute("""INSERT INTO ledger_ledgeraccount (owner_id, asset_id, kind, balance, created_at)
                              VALUES (NULL, 'USDT', 'yield_expense', 0, now()) ON CONFLICT DO NOTHING""")
        print(f"setup: {made:,} positions created with set-based SQL in {time.perf_counter() - started:.1f}s")
    days = iter(day + dt.timedelta(days=i) for i in range(60))
    figures: dict[str, Phase] = {}
    with time_machine.travel(dt.datetime(2026, 4, 1, 0, 5, tzinfo=dt.UTC), tick=True):
        # A first day, not timed: every timed day then has the previous day's accrual rows to carry from
        # (the baselines' carry join and the engine's probe find real rows, as on any day but the first).
        _vacuum()
        if not args.no_first_day:
            with Phase() as warmup:
                accrual.accrue_day(next(days), chunk_size=chunk_size)
            print(f"first day (engine, not compared): {warmup.wall:.1f}s ({warmup.cpu()}; load {_load()})")
            _vacuum()
        figures["bare"] = _baseline(next(days), product.pk, triggers=False)
        _vacuum()
        print(f"baseline without triggers: {figures['bare'].wall:8.1f}s  {made / figures['bare'].wall:10,.0f} "
              f"positions/s  ({figures['bare'].cpu()}; load {_load()})")
        figures["triggers"] = _baseline(next(days), product.pk, triggers=True)
        _vacuum()
        print(f"baseline with triggers:    {figures['triggers'].wall:8.1f}s  {made / figures['triggers'].wall:10,.0f} "
              f"positions/s  ({figures['triggers'].cpu()}; load {_load()})")
        memory_before = _peak_mib()
        engine_day = next(days)
        with Phase() as engine:
            result = accrual.accrue_day(engine_day, chunk_size=chunk_size)
        figures["engine"] = engine
        memory_after = _peak_mib()
        rows = Accrual.objects.filter(date=engine_day).count()
        print(f"engine accrue_day:         {engine.wall:8.1f}s  {result.positions / engine.wall:10,.0f} "
              f"positions/s  ({engine.cpu()}; {result.chunks} chunks, {rows:,} accrual rows, "
              f"posted {result.posted.get('USDT')} USDT; load {_load()})")
        print(_ratio("baseline without triggers", engine, figures["bare"]))
        print(_ratio("baseline with triggers   ", engine, figures["triggers"]))
        print(f"peak memory of this process: {memory_after:.0f} MiB (before the engine run {memory_before:.0f} MiB)")
        if args.workers > 1:
            _vacuum()
            elapsed, left, cpu = _engine_parallel(next(days), args.workers, chunk_size)
            print(f"engine with {args.workers} worker processes: {elapsed:8.1f}s  {made / elapsed:10,.0f} positions/s"
                  f"  speedup {engine.wall / elapsed:4.2f}× over one ({left} chunks left; CPU: {cpu}; "
                  f"load {_load()})")
        if args.chunk_sizes:
            print("chunk size → engine time (one process, one day each)")
            for size in [int(x) for x in args.chunk_sizes.split(",")]:
                with Phase() as phase:
                    result = accrual.accrue_day(next(days), chunk_size=size)
                print(f"  {size:>7,}  {phase.wall:8.1f}s  {result.positions / phase.wall:10,.0f} positions/s  "
                      f"({result.chunks} chunks, {phase.wall / result.chunks:.2f}s a chunk; {phase.cpu()}; "
                      f"load {_load()})")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if children:
        print(f"peak memory of a worker process: {children:.0f} MiB")
    reconcile_and_print()


def main() -> int:
    args = _parse()
    run_in_throwaway_database(lambda: _bench(args), prefix="earn_accrual_bench", keep=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
