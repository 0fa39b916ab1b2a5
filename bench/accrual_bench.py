#!/usr/bin/env python
"""One day's accrual for N positions: the engine against a hand-written minimal SQL baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/accrual_bench.py
    .venv/bin/python bench/accrual_bench.py --positions 100000 --chunk-size 10000

Creates a throwaway database, a live fixed-term product (tiers 0–1 000 @ 5 %, above @ 3 %, daily
payout) and N positions of 1 500 USDT (`--per-customer` each) with set-based SQL, then:

- engine:   `earn.services.accrual.accrue_day(D)` — chunks of `--chunk-size` positions, each one
            transaction (candidates, tiers and carry in SQL, accrual rows, one ledger entry with one
            posting per position, moved into the balances by the posting trigger), progress in chunk rows;
- baseline: day D+1 in one transaction of three statements (INSERT accrual rows with the tiers written
            into the SQL, INSERT the entry, INSERT postings) — the same writes, no chunks, no checks.

The database triggers (balanced entries, append-only, scale, and the posting trigger that moves the
balances: the database refuses any other balance write) run in both. Prints both times,
positions/s, the Python process's peak memory, the ratio, and checks the books with `reconcile`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import time
from decimal import Decimal

from benchdb import reconcile_and_print, run_in_throwaway_database


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--positions", type=int, default=1_000_000, help="positions (default 1 000 000)")
    parser.add_argument("--per-customer", type=int, default=10, help="positions per customer (default 10)")
    parser.add_argument("--chunk-size", type=int, default=10_000, help="positions per chunk (default 10 000)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    return parser.parse_args()


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


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


BASELINE = [
    """INSERT INTO earn_accrual (position_id, date, base, apr, exact, posted, carry, payout, paid_out, created_at)
       SELECT id, %(day)s, base, trunc(y / base, 18), exact, trunc(exact + prev, 8),
              exact + prev - trunc(exact + prev, 8), 'daily', true, %(now)s
         FROM (SELECT p.id, p.principal AS base,
                      least(p.principal, 1000) * 0.05 + greatest(p.principal - 1000, 0) * 0.03 AS y,
                      trunc((least(p.principal, 1000) * 0.05 + greatest(p.principal - 1000, 0) * 0.03) / 365, 18)
                          AS exact,
                      coalesce(a.carry, 0) AS prev
                 FROM earn_position p
                 LEFT JOIN earn_accrual a ON a.position_id = p.id AND a.date = %(day)s::date - 1
                WHERE p.product_id = %(product)s AND p.status = 'active') q""",
    """INSERT INTO ledger_journalentry (kind, idempotency_key, fingerprint, reference, memo, created_at)
       VALUES ('accrual', 'baseline:' || %(day)s::text, 'baseline', '', '', %(now)s)""",
    """INSERT INTO ledger_posting (entry_id, account_id, asset_id, side, amount, created_at)
       SELECT e.id, acc.id, 'USDT', 'C', a.posted, %(now)s
         FROM earn_accrual a JOIN earn_position p ON p.id = a.position_id
         JOIN ledger_ledgeraccount acc ON acc.owner_id = p.user_id AND acc.asset_id = 'USDT' AND acc.kind = 'available'
         JOIN ledger_journalentry e ON e.idempotency_key = 'baseline:' || %(day)s::text
        WHERE a.date = %(day)s AND a.posted > 0
       UNION ALL
       SELECT e.id, acc.id, 'USDT', 'D', (SELECT sum(posted) FROM earn_accrual WHERE date = %(day)s), %(now)s
         FROM ledger_ledgeraccount acc JOIN ledger_journalentry e ON e.idempotency_key = 'baseline:' || %(day)s::text
        WHERE acc.owner_id IS NULL AND acc.asset_id = 'USDT' AND acc.kind = 'yield_expense'""",
    # no balance UPDATE: the posting trigger applies the postings of that INSERT to the balances
]


def _baseline(day: dt.date, product_id: int) -> float:
    from django.db import connection, transaction
    from django.utils import timezone

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in BASELINE:
            cursor.execute(statement, {"day": day, "now": timezone.now(), "product": product_id})
    return time.perf_counter() - started


def _bench(args: argparse.Namespace) -> None:
    import time_machine
    from django.db import connection

    from earn.loadgen import positions_generate
    from earn.models import Accrual
    from earn.services import accrual

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        print(f"PostgreSQL {cursor.fetchone()[0]}; {args.positions:,} positions, "
              f"{args.per_customer} per customer, chunks of {args.chunk_size:,}")
    day = dt.date(2026, 3, 2)
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), tick=True):
        product = _product(day)
        started = time.perf_counter()
        made = positions_generate(product=product, customers=args.positions // args.per_customer,
                                  per_customer=args.per_customer, amount=Decimal("1500"), value_date=day,
                                  tag="bench")
        print(f"setup: {made:,} positions created with set-based SQL in {time.perf_counter() - started:.1f}s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    memory_before = _peak_mib()
    with time_machine.travel(dt.datetime(2026, 3, 4, 0, 5, tzinfo=dt.UTC), tick=True):
        started = time.perf_counter()
        result = accrual.accrue_day(day, chunk_size=args.chunk_size)
        engine = time.perf_counter() - started
        memory_after = _peak_mib()
        baseline = _baseline(day + dt.timedelta(days=1), product.pk)
    rows = {d: Accrual.objects.filter(date=d).count() for d in (day, day + dt.timedelta(days=1))}
    print(f"engine   accrue_day:   {engine:8.1f}s  {result.positions / engine:10,.0f} positions/s  "
          f"({result.chunks} chunks, {rows[day]:,} accrual rows, posted {result.posted.get('USDT')} USDT)")
    print(f"baseline minimal SQL:  {baseline:8.1f}s  {made / baseline:10,.0f} positions/s  "
          f"({rows[day + dt.timedelta(days=1)]:,} accrual rows)")
    print(f"engine / baseline time: {engine / baseline:6.2f}×")
    print(f"peak memory of this process: {memory_after:.0f} MiB (before the engine run {memory_before:.0f} MiB)")
    reconcile_and_print()


def main() -> int:
    args = _parse()
    run_in_throwaway_database(lambda: _bench(args), prefix="earn_accrual_bench", keep=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
