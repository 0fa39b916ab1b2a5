#!/usr/bin/env python
"""Proof of liabilities for N customers: the snapshot's time and memory, and a proof's retrieval time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/liabilities_bench.py
    .venv/bin/python bench/liabilities_bench.py --sizes 100000          # a quick figure only

Creates a throwaway database and, with set-based SQL through the ledger's triggers (balanced entries,
balances from postings), customers in steps (`--sizes`, cumulative, default 100 000 then 1 000 000):
each has USDT available (a deposit), one in two has USDT in Earn (a subscription), one in four interest
owed (an accrual), one in ten BTC. After each step, `liabilities_build` snapshots that day (every customer
so far) and the script prints the build's time, the peak resident memory of this process, the peak of
Python's allocations while hashing the USDT tree (tracemalloc, on a separate pass over the stored leaves:
it slows hashing, so not during the timed build), the tables' size, and the mean time to assemble one
customer's proof. Last, the latest snapshot's totals against the ledger's customer balances.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import sys
import time
import tracemalloc

from benchdb import run_in_throwaway_database

USERS_SQL = """
CREATE TEMP TABLE _bench_users AS
WITH made AS (
    INSERT INTO accounts_user (password, is_superuser, email, display_name, country, language, is_staff,
                               is_active, date_joined)
    SELECT '!', false, format('liab-%%s@example.invalid', g), '', 'HK', 'en', false, true, %(now)s
      FROM generate_series(%(lo)s, %(hi)s) g
    RETURNING id
)
SELECT id, row_number() OVER (ORDER BY id) + %(lo)s - 1 AS g FROM made
"""
ACCOUNTS_SQL = """
INSERT INTO ledger_ledgeraccount (owner_id, asset_id, kind, balance, created_at)
SELECT id, 'USDT', 'available', 0, %(now)s FROM _bench_users
UNION ALL SELECT id, 'USDT', 'earn', 0, %(now)s FROM _bench_users WHERE g %% 2 = 0
UNION ALL SELECT id, 'USDT', 'accrued', 0, %(now)s FROM _bench_users WHERE g %% 4 = 0
UNION ALL SELECT id, 'BTC', 'available', 0, %(now)s FROM _bench_users WHERE g %% 10 = 0
"""
# (entry kind, key, credited (asset, kind), debited (asset, kind or the platform's), amount, customers)
STEPS = [
    ("deposit", "USDT", "available", "external", None, "((g %% 997) + 1.5)", "true"),
    ("deposit", "BTC", "available", "external", None, "((g %% 89) + 1) * 0.00012345", "g %% 10 = 0"),
    ("subscription", "USDT", "earn", "available", "customer", "((g %% 997) + 1.5) / 2", "g %% 2 = 0"),
    ("accrual", "USDT", "accrued", "yield_expense", None, "0.01234567", "g %% 4 = 0"),
]
POSTINGS_SQL = """
WITH e AS (
    INSERT INTO ledger_journalentry (kind, idempotency_key, fingerprint, reference, memo, created_at)
    VALUES (%(kind)s, %(key)s, 'bench', %(reference)s, '', %(now)s) RETURNING id
), legs AS (
    SELECT u.id AS owner_id, ({amount})::numeric(38, 18) AS amount FROM _bench_users u WHERE {who}
)
INSERT INTO ledger_posting (entry_id, account_id, asset_id, side, amount, created_at)
SELECT e.id, acc.id, %(asset)s, 'C', l.amount, %(now)s
  FROM legs l CROSS JOIN e
  JOIN ledger_ledgeraccount acc ON acc.owner_id = l.owner_id AND acc.asset_id = %(asset)s AND acc.kind = %(credit)s
UNION ALL
SELECT e.id, acc.id, %(asset)s, 'D', l.amount, %(now)s
  FROM legs l CROSS JOIN e
  JOIN ledger_ledgeraccount acc ON acc.owner_id = l.owner_id AND acc.asset_id = %(asset)s AND acc.kind = %(debit)s
 WHERE %(customer_debit)s
UNION ALL
SELECT e.id, acc.id, %(asset)s, 'D', (SELECT sum(amount) FROM legs), %(now)s
  FROM ledger_ledgeraccount acc CROSS JOIN e
 WHERE NOT %(customer_debit)s AND acc.owner_id IS NULL AND acc.asset_id = %(asset)s AND acc.kind = %(debit)s
"""


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000",
                        help="customer counts, cumulative, one snapshot each (default 100000,1000000)")
    parser.add_argument("--proofs", type=int, default=200, help="proofs assembled to time retrieval (default 200)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    return parser.parse_args()


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _customers(lo: int, hi: int, now: dt.datetime) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS _bench_users")
        cursor.execute(USERS_SQL, {"lo": lo, "hi": hi, "now": now})
        cursor.execute(ACCOUNTS_SQL, {"now": now})
        for kind, asset, credit, debit, debit_owner, amount, who in STEPS:
            cursor.execute(POSTINGS_SQL.format(amount=amount, who=who),
                           {"kind": kind, "key": f"bench:{kind}:{asset}:{lo}", "asset": asset, "credit": credit,
                            "debit": debit, "customer_debit": debit_owner == "customer", "now": now,
                            "reference": f"accrual:{now.date().isoformat()}" if kind == "accrual" else "bench"})
        cursor.execute("DROP TABLE _bench_users")


def _tree_memory(snapshot_id: int) -> float:
    """MiB Python allocates (tracemalloc peak) to stream a stored snapshot's leaves and hash its tree,
    the build's Python part; measured apart because tracemalloc slows hashing."""
    from django.db import connection, transaction

    from liabilities.services import _tree

    tracemalloc.start()
    with transaction.atomic(), connection.connection.cursor(name="bench_leaves") as stream:
        stream.itersize = 20_000
        stream.execute("SELECT hash, units FROM liabilities_liabilityleaf WHERE snapshot_id = %s ORDER BY idx",
                       [snapshot_id])
        _tree(stream)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def _bench(args: argparse.Namespace) -> None:
    import time_machine
    from django.db import connection

    from ledger.models import Asset, LedgerAccount
    from liabilities.models import LiabilityLeaf, LiabilityNode, LiabilitySnapshot
    from liabilities.selectors import proof_for
    from liabilities.services import liabilities_build

    sizes = [int(x) for x in args.sizes.split(",")]
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        print(f"PostgreSQL {cursor.fetchone()[0]}; snapshots at {', '.join(f'{n:,}' for n in sizes)} customers; "
              f"{os.cpu_count()} CPUs, load average {_load()}")
    Asset.objects.get_or_create(code="USDT", defaults={"name": "Tether USD", "scale": 8})
    Asset.objects.get_or_create(code="BTC", defaults={"name": "Bitcoin", "scale": 8})
    for asset, kind in (("USDT", "external"), ("BTC", "external"), ("USDT", "yield_expense")):
        LedgerAccount.objects.get_or_create(owner=None, asset_id=asset, kind=kind)
    made = 0
    for step, size in enumerate(sizes):
        day = dt.date(2026, 3, 1) + dt.timedelta(days=step)
        moment = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
        started = time.perf_counter()
        with time_machine.travel(moment, tick=True):
            _customers(made + 1, size, moment)
        print(f"setup: customers {made + 1:,}–{size:,} with their accounts and postings in "
              f"{time.perf_counter() - started:.1f}s")
        made = size
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        rss_before = _rss_mib()
        with time_machine.travel(moment + dt.timedelta(days=1), tick=True):
            started = time.perf_counter()
            _run, outcomes = liabilities_build(day)
            elapsed = time.perf_counter() - started
        leaves = sum(o.snapshot.leaves for o in outcomes)
        nodes = LiabilityNode.objects.filter(snapshot__date=day).count()
        print(f"snapshot of {size:,} customers ({day}): {elapsed:.1f}s for {leaves:,} leaves in "
              f"{len(outcomes)} assets ({leaves / elapsed:,.0f} leaves/s; {nodes:,} nodes stored; load {_load()})")
        for outcome in outcomes:
            phases = ", ".join(f"{name} {value:.1f}s" for name, value in outcome.seconds.items())
            print(f"  {outcome.snapshot.asset_id} ({outcome.snapshot.leaves:,} leaves): {phases}")
        usdt = next(o.snapshot for o in outcomes if o.snapshot.asset_id == "USDT")
        print(f"  peak resident memory of this process: {_rss_mib():.0f} MiB (before the build {rss_before:.0f} MiB);"
              f" Python allocations hashing the USDT tree: {_tree_memory(usdt.pk):.1f} MiB peak")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_total_relation_size('liabilities_liabilityleaf'), "
                           "pg_total_relation_size('liabilities_liabilitynode')")
            leaf_bytes, node_bytes = cursor.fetchone()
        print(f"  stored: leaves table {leaf_bytes / 2**20:.0f} MiB, nodes table {node_bytes / 2**20:.1f} MiB "
              f"(every snapshot so far); USDT root {usdt.root} total {usdt.total.normalize():f}")
        users = list(LiabilityLeaf.objects.filter(snapshot=usdt).values_list("user_id", flat=True)
                     .order_by("?")[:args.proofs]) if size <= 200_000 else \
            random.Random(step).sample(range(1, size), args.proofs)
        started = time.perf_counter()
        found = sum(1 for user in users if (proof_for(user, day) or {}).get("assets"))
        per = (time.perf_counter() - started) / len(users) * 1000
        print(f"  proof retrieval: {per:.1f} ms per customer ({found} of {len(users)} with leaves)")
    from django.db.models import Sum

    owed = dict(LedgerAccount.objects.filter(owner__isnull=False, kind__in=("available", "earn", "accrued", "pending"))
                .values_list("asset_id").annotate(total=Sum("balance")).order_by())
    published = dict(LiabilitySnapshot.objects.filter(date=day).values_list("asset_id", "total"))
    verdict = "equal to the unit" if owed == published else f"DIFFERENT: ledger {owed}, snapshot {published}"
    print(f"latest snapshot's totals against the ledger's customer balances: {verdict}")


def main() -> int:
    args = _parse()
    run_in_throwaway_database(lambda: _bench(args), prefix="earn_liabilities_bench", keep=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
