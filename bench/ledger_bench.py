#!/usr/bin/env python
"""Ledger posting throughput: `ledger.services.entries_post` against a hand-written SQL baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/ledger_bench.py
    .venv/bin/python bench/ledger_bench.py --entries 20000 --batch 500

Creates a throwaway database `earn_bench_<pid>` on the server of DATABASE_URL (else the embedded
server), migrates it, and drops it at the end (`--keep` keeps it). Both runs post the same number
of two-leg transfers between funded customer accounts, `--batch` entries per transaction:

- service:  `entries_post(specs)` — validation, fingerprints, idempotency, account locks, balance check;
- baseline: two multi-row statements per batch (INSERT entries, INSERT postings), no locks, no
  checks in Python.

The database triggers (balanced entries, append-only, scale, asset, and the posting trigger that
moves the balances) run in both; neither writes a balance itself (the database refuses it). Prints
figures; not a test.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal

from benchdb import reconcile_and_print, run_in_throwaway_database

ASSET = "BENCH"
SCALE = 8
FUNDING = Decimal("1000000")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000, help="entries per run (default 100 000)")
    parser.add_argument("--batch", type=int, default=1_000, help="entries per call / transaction (default 1 000)")
    parser.add_argument("--accounts", type=int, default=1_000, help="customer accounts (default 1 000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    return parser.parse_args()


def _plan(args: argparse.Namespace, accounts: list[int], tag: str) -> list[list[tuple[str, int, int, Decimal]]]:
    """Batches of (key, debit account, credit account, amount), drawn from a seeded generator."""
    rng = random.Random(f"{args.seed}:{tag}")
    unit = Decimal(1).scaleb(-SCALE)
    rows = []
    for i in range(args.entries):
        debit, credit = rng.sample(accounts, 2)
        rows.append((f"bench:{tag}:{i}", debit, credit, rng.randint(1, 10**SCALE) * unit))
    return [rows[i:i + args.batch] for i in range(0, len(rows), args.batch)]


def _setup(args: argparse.Namespace) -> list[int]:
    from accounts.models import User
    from ledger import services as ledger
    from ledger.models import AccountKind, Asset, EntryKind

    Asset.objects.create(code=ASSET, name="Benchmark coin", scale=SCALE)
    users = User.objects.bulk_create(
        User(email=f"bench-{i}@bench.example", country="HK", password="!") for i in range(args.accounts)
    )
    keys = [(u.pk, ASSET, AccountKind.AVAILABLE) for u in users]
    accounts = ledger.accounts_ensure(keys)
    external = ledger.platform_account(asset=ASSET, kind=AccountKind.EXTERNAL)
    ledger.entries_post([
        ledger.EntrySpec(EntryKind.DEPOSIT, f"bench:fund:{key[0]}",
                         [ledger.Leg.debit(external, FUNDING), ledger.Leg.credit(accounts[key], FUNDING)])
        for key in keys
    ])
    return sorted(a.pk for a in accounts.values())


def _run_service(batches: list[list[tuple[str, int, int, Decimal]]]) -> float:
    from ledger.models import EntryKind, Side
    from ledger.services import EntrySpec, Leg, entries_post

    elapsed = 0.0
    for batch in batches:
        specs = [EntrySpec(EntryKind.TRANSFER, key, (Leg(debit, ASSET, Side.DEBIT, amount),
                                                     Leg(credit, ASSET, Side.CREDIT, amount)))
                 for key, debit, credit, amount in batch]
        started = time.perf_counter()
        entries_post(specs)  # its own transaction: autocommit outside, one atomic block inside
        elapsed += time.perf_counter() - started
    return elapsed


def _run_baseline(batches: list[list[tuple[str, int, int, Decimal]]]) -> float:
    from django.db import connection, transaction
    from django.utils import timezone

    elapsed = 0.0
    for batch in batches:
        started = time.perf_counter()
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            values = ", ".join(["('transfer', %s, 'baseline', '', '', %s)"] * len(batch))
            params: list[object] = []
            for key, *_ in batch:
                params += [key, now]
            cursor.execute(
                "INSERT INTO ledger_journalentry (kind, idempotency_key, fingerprint, reference, memo, created_at)"
                f" VALUES {values} RETURNING id, idempotency_key",
                params,
            )
            ids = {key: entry_id for entry_id, key in cursor.fetchall()}
            values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * (2 * len(batch)))
            params = []
            for key, debit, credit, amount in batch:
                params += [ids[key], debit, ASSET, "D", amount, now, ids[key], credit, ASSET, "C", amount, now]
            cursor.execute(  # the posting trigger adds them to the balances
                "INSERT INTO ledger_posting (entry_id, account_id, asset_id, side, amount, created_at)"
                f" VALUES {values}",
                params,
            )
        elapsed += time.perf_counter() - started
    return elapsed


def _bench(args: argparse.Namespace) -> None:
    from django.db import connection


    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    print(f"PostgreSQL {version}; database {connection.settings_dict['NAME']}")
    print(f"{args.entries} two-leg entries per run, {args.batch} per transaction, {args.accounts} customer accounts")

    started = time.perf_counter()
    accounts = _setup(args)
    print(f"setup (users, accounts, {args.accounts} funding deposits): {time.perf_counter() - started:.2f}s")

    service = _run_service(_plan(args, accounts, "svc"))
    service_rate = args.entries / service
    print(f"service  entries_post: {service:8.2f}s  {service_rate:10,.0f} entries/s")

    baseline = _run_baseline(_plan(args, accounts, "sql"))
    baseline_rate = args.entries / baseline
    print(f"baseline raw SQL:      {baseline:8.2f}s  {baseline_rate:10,.0f} entries/s")
    print(f"service / baseline:    {service_rate / baseline_rate:8.2f}×")

    reconcile_and_print()


def main() -> int:
    args = _parse()
    run_in_throwaway_database(lambda: _bench(args), prefix="earn_bench", keep=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
