#!/usr/bin/env python
"""One day's pool income (trading fees in two assets + reward tokens) for N pool positions: the distribution
service against a hand-written minimal SQL baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/pool_rewards_bench.py
    .venv/bin/python bench/pool_rewards_bench.py --positions 100000 --compound-share 0.1

Creates a throwaway database, a live BTC/USDT liquidity-mining product with its pool (fees paid out, HSK
rewards) and N pool positions of unequal shares (`--per-customer` each) with set-based SQL — deposits posted
to the ledger, so `reconcile` is clean — then:

- service:  `pools.services.distribution.pool_distribute_day(D)` — PoolDay row (exactly once), earning shares
            from the share changes, largest remainder for three totals in SQL, payout rows, one fee entry and one
            reward entry with a posting per customer and asset (and, with --compound-share, the reinvestment:
            reward sold, both assets bought into the reserves, shares minted, positions updated);
- baseline: day D+1 in one transaction of hand-written statements doing the same writes for the payout case
            (payout rows by largest remainder, entries, postings) — no checks, no history table
            of share changes (shares read straight from the positions).

The database triggers (balanced entries, append-only, scale, and the posting trigger that moves the
balances) run in both. Prints both times, positions/s,
the ratio, and checks the books with `reconcile`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from decimal import Decimal

from benchdb import reconcile_and_print, run_in_throwaway_database

DAY = dt.date(2026, 3, 2)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--positions", type=int, default=100_000, help="pool positions (default 100 000)")
    parser.add_argument("--per-customer", type=int, default=1, help="positions per customer (default 1)")
    parser.add_argument("--compound-share", type=float, default=0.0,
                        help="fraction of positions that reinvest their rewards (default 0)")
    parser.add_argument("--profile", action="store_true", help="time each statement of the baseline")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    return parser.parse_args()


def _pool():  # type: ignore[no-untyped-def]
    from accounts import roles
    from accounts.services import roles_sync, user_ensure
    from compliance.services.disclosures import disclosure_approve, disclosure_draft
    from earn.services import product_lifecycle as products_services
    from ledger.models import Asset
    from pools.demo import SECTIONS
    from pools.services.pools import pool_create
    from pricing.services import price_record

    roles_sync()
    for code, name in (("BTC", "Bitcoin"), ("USDT", "Tether USD"), ("HSK", "HashKey Platform Token")):
        Asset.objects.get_or_create(code=code, defaults={"name": name, "scale": 8})
    for code, price in (("BTC", "60000"), ("USDT", "1"), ("HSK", "0.5")):
        price_record(asset_code=code, price_usd=price, source="bench", as_of=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    staff = {role: user_ensure(email=f"{role}@bench.example", password="!", country="HK", is_staff=True,
                               roles=[role])[0]
             for role in (roles.CURATOR, roles.APPROVER, roles.OPERATIONS)}
    curator, approver, ops = staff[roles.CURATOR], staff[roles.APPROVER], staff[roles.OPERATIONS]
    product = products_services.product_create(
        actor=curator, name_en="Bench BTC/USDT pool", name_zh_hant="基準 BTC/USDT 池", asset="BTC",
        term_type="demand", strategy="liquidity_mining", risk_rating=4, venue="Bench AMM", chain="Ethereum",
        contract_address="0xbench", audit_reports=[{"url": "https://audit.example", "date": "2026-01-01"}],
        tvl_usd=Decimal("1000000"), yield_source="Trading fees and HSK emissions.", risk_rationale="Impermanent loss.",
        terms={"effective_from": DAY - dt.timedelta(days=30), "min_amount": "0.0001", "redemption_modes": ["fast"]},
        tiers=[("0", None, "0")])
    disclosure = disclosure_draft(actor=curator, product=product, body_en="Bench.", body_zh_hant="基準。",
                                  sections=SECTIONS)
    disclosure_approve(actor=approver, disclosure=disclosure)
    products_services.product_submit(actor=curator, product=product)
    products_services.product_approve(actor=approver, product=product)
    products_services.product_go_live(actor=ops, product=product)
    return pool_create(actor=curator, product=product, asset_a="BTC", asset_b="USDT", fee_rate="0.003",
                       fee_mode="payout", reward_asset="HSK", daily_emission="100000",
                       daily_volume_usd="50000000")


def _positions(pool, *, customers: int, per_customer: int, compound_share: float) -> int:  # type: ignore[no-untyped-def]
    """Customers with `per_customer` positions each, shares 1 … 997 (0.001 BTC + 60 USDT per share), posted."""
    from django.db import connection, transaction
    from django.utils import timezone

    from ledger import services as ledger
    from ledger.bulk import entry_post_credits
    from ledger.models import AccountKind, EntryKind
    from pools.services.pools import reserve_legs

    now = timezone.now()
    every = int(1 / compound_share) if compound_share > 0 else 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TEMP TABLE _bench_positions ON COMMIT DROP AS
            WITH new_users AS (
                INSERT INTO accounts_user (password, is_superuser, email, display_name, country, language,
                                           is_staff, is_active, date_joined)
                SELECT '!', false, format('pool-bench-%%s@example.invalid', g), '', 'HK', 'en', false, true, %(now)s
                  FROM generate_series(1, %(customers)s) g
                RETURNING id
            ), new_positions AS (
                INSERT INTO pools_poolposition (user_id, pool_id, product_id, term_type, status, shares, cost_a,
                                                cost_b, cost_usd, compound_rewards, value_date, created_at)
                SELECT u.id, %(pool)s, %(product)s, 'demand', 'active', s.shares, s.shares * 0.001, s.shares * 60,
                       s.shares * 120, %(every)s > 0 AND (u.id + n) %% greatest(%(every)s, 1) = 0,
                       %(day)s, %(now)s
                  FROM new_users u CROSS JOIN generate_series(1, %(per)s) n
                 CROSS JOIN LATERAL (SELECT ((u.id * 7919 + n * 104729) %% 997 + 1)::numeric AS shares) s
                RETURNING id, user_id, shares
            )
            SELECT * FROM new_positions
            """,
            {"now": now, "customers": customers, "per": per_customer, "pool": pool.pk, "product": pool.product_id,
             "every": every, "day": DAY - dt.timedelta(days=1)})
        cursor.execute("""INSERT INTO pools_poolsharechange (position_id, effective_date, shares, reason, created_at)
                          SELECT id, %s, shares, 'deposit', %s FROM _bench_positions""", [DAY - dt.timedelta(days=1),
                                                                                         now])
        made = cursor.rowcount
        cursor.execute("SELECT sum(shares) FROM _bench_positions")
        shares = cursor.fetchone()[0]
        reserve_a, reserve_b = shares * Decimal("0.001"), shares * 60
        ledger.entry_post(kind=EntryKind.POOL_DEPOSIT, idempotency_key="bench:reserves",
                          legs=reserve_legs(pool, reserve_a, reserve_b), reference=f"pool:{pool.pk}")
        entry_post_credits(kind=EntryKind.POOL_DEPOSIT, idempotency_key="bench:shares",
                           debit_kind=AccountKind.POOL_RESERVE,
                           credits_sql="SELECT user_id, %s, 'pool_share', sum(shares) FROM _bench_positions GROUP BY 1",
                           params=[pool.share_asset_id])
        cursor.execute("UPDATE pools_pool SET reserve_a = %s, reserve_b = %s, total_shares = %s WHERE id = %s",
                       [reserve_a, reserve_b, shares, pool.pk])
        cursor.execute("DROP TABLE _bench_positions")
    return made


BASELINE = [
    # Payout rows: the same largest-remainder split, shares read from the positions.
    """CREATE TEMP TABLE _base AS
       WITH w AS (SELECT id, user_id, trunc(shares * 1e12) AS w FROM pools_poolposition
                   WHERE pool_id = %(pool)s AND status = 'active'),
            t AS (SELECT sum(w) AS total FROM w),
            p AS (SELECT w.*, div(%(ua)s * w, total) qa, mod(%(ua)s * w, total) ra, div(%(ub)s * w, total) qb,
                         mod(%(ub)s * w, total) rb, div(%(ur)s * w, total) qr, mod(%(ur)s * w, total) rr FROM w, t),
            r AS (SELECT p.*, row_number() OVER (ORDER BY ra DESC, id) na, row_number() OVER (ORDER BY rb DESC, id) nb,
                         row_number() OVER (ORDER BY rr DESC, id) nr FROM p)
       SELECT id, user_id, w / 1e12 AS shares,
              (qa + CASE WHEN na <= %(ua)s - sum(qa) OVER () THEN 1 ELSE 0 END) * 1e-8 AS fa,
              (qb + CASE WHEN nb <= %(ub)s - sum(qb) OVER () THEN 1 ELSE 0 END) * 1e-8 AS fb,
              (qr + CASE WHEN nr <= %(ur)s - sum(qr) OVER () THEN 1 ELSE 0 END) * 1e-8 AS fr
         FROM r""",
    """INSERT INTO pools_poolday (pool_id, date, fee_mode, volume_usd, fee_a, fee_b, reward, reward_compounded,
                                  earning_shares, positions, created_at)
       SELECT %(pool)s, %(day)s, 'payout', 0, sum(fa), sum(fb), sum(fr), 0, sum(shares), count(*), %(now)s
         FROM _base""",
    """INSERT INTO pools_poolpayout (day_id, position_id, date, shares, fee_a, fee_b, reward, reward_shares,
                                     fee_compounded, income_usd, created_at)
       SELECT d.id, b.id, %(day)s, b.shares, b.fa, b.fb, b.fr, 0, false,
              trunc(b.fa * p.btc + b.fb * p.usdt + b.fr * p.hsk, 2), %(now)s
         FROM _base b JOIN pools_poolday d ON d.pool_id = %(pool)s AND d.date = %(day)s
        CROSS JOIN (SELECT max(price_usd) FILTER (WHERE asset_id = 'BTC') AS btc,
                           max(price_usd) FILTER (WHERE asset_id = 'USDT') AS usdt,
                           max(price_usd) FILTER (WHERE asset_id = 'HSK') AS hsk
                      FROM (SELECT DISTINCT ON (asset_id) asset_id, price_usd FROM pricing_pricesnapshot
                             ORDER BY asset_id, as_of DESC, id DESC) latest) p""",
    """INSERT INTO ledger_ledgeraccount (owner_id, asset_id, kind, balance, created_at)
       SELECT DISTINCT user_id, a.code, 'available', 0, %(now)s
         FROM _base CROSS JOIN (VALUES ('BTC'), ('USDT'), ('HSK')) AS a(code)
       ON CONFLICT (owner_id, asset_id, kind) DO NOTHING""",
    """INSERT INTO ledger_journalentry (kind, idempotency_key, fingerprint, reference, memo, created_at)
       VALUES ('fee', 'baseline-fee', 'x', '', '', %(now)s), ('reward', 'baseline-reward', 'x', '', '', %(now)s)""",
    """INSERT INTO ledger_posting (entry_id, account_id, asset_id, side, amount, created_at)
       SELECT e.id, acc.id, acc.asset_id, 'C', x.amount, %(now)s
         FROM (SELECT user_id, 'BTC' AS asset, fa AS amount, 'baseline-fee' AS k FROM _base
               UNION ALL SELECT user_id, 'USDT', fb, 'baseline-fee' FROM _base
               UNION ALL SELECT user_id, 'HSK', fr, 'baseline-reward' FROM _base) x
         JOIN ledger_ledgeraccount acc ON acc.owner_id = x.user_id AND acc.asset_id = x.asset AND acc.kind = 'available'
         JOIN ledger_journalentry e ON e.idempotency_key = x.k
        WHERE x.amount > 0
       UNION ALL
       SELECT e.id, acc.id, acc.asset_id, 'D', t.amount, %(now)s
         FROM (SELECT 'BTC' AS asset, sum(fa) AS amount, 'baseline-fee' AS k, 'external' AS kind FROM _base
               UNION ALL SELECT 'USDT', sum(fb), 'baseline-fee', 'external' FROM _base
               UNION ALL SELECT 'HSK', sum(fr), 'baseline-reward', 'rewards' FROM _base) t
         JOIN ledger_ledgeraccount acc ON acc.owner_id IS NULL AND acc.asset_id = t.asset AND acc.kind = t.kind
         JOIN ledger_journalentry e ON e.idempotency_key = t.k""",
    # no balance UPDATE: the posting trigger applies the postings of that INSERT to the balances
    "DROP TABLE _base",
]


def _baseline(pool, units: tuple[int, int, int], *, profile: bool) -> float:  # type: ignore[no-untyped-def]
    from django.db import connection, transaction
    from django.utils import timezone

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in BASELINE:
            t0 = time.perf_counter()
            cursor.execute(statement, {"pool": pool.pk, "day": DAY + dt.timedelta(days=1), "now": timezone.now(),
                                       "ua": units[0], "ub": units[1], "ur": units[2]})
            if profile:
                print(f"  {time.perf_counter() - t0:6.2f}s  {' '.join(statement.split())[:70]}")
    return time.perf_counter() - started


def _bench(args: argparse.Namespace) -> None:
    from django.db import connection

    from pools.models import PoolPayout
    from pools.services.distribution import pool_distribute_day

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        print(f"PostgreSQL {cursor.fetchone()[0]}; {args.positions:,} pool positions, {args.per_customer} per "
              f"customer, {args.compound_share:.0%} reinvesting rewards")
    pool = _pool()
    started = time.perf_counter()
    made = _positions(pool, customers=args.positions // args.per_customer, per_customer=args.per_customer,
                      compound_share=args.compound_share)
    print(f"setup: {made:,} positions created with set-based SQL in {time.perf_counter() - started:.1f}s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    timings: list[tuple[float, str]] = []

    def timed(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append((time.perf_counter() - t0, " ".join(str(sql).split())[:70]))

    started = time.perf_counter()
    with connection.execute_wrapper(timed):
        result = pool_distribute_day(pool_id=pool.pk, day=DAY)
    service = time.perf_counter() - started
    payouts = PoolPayout.objects.filter(date=DAY).count()
    print(f"service  pool_distribute_day: {service:7.2f}s  {result.positions / service:10,.0f} positions/s  "
          f"({payouts:,} payout rows; fees {result.fee_a} BTC + {result.fee_b} USDT, reward {result.reward} HSK"
          + (f", {result.reward_compounded} HSK reinvested)" if result.reward_compounded else ")"))
    if args.profile:
        for seconds, sql in sorted(timings, reverse=True)[:6]:
            print(f"  {seconds:6.2f}s  {sql}")
        print(f"  {service - sum(t for t, _ in timings):6.2f}s  outside the statements (Python, the commit's checks)")
    if result.reward_compounded:
        print("  (the baseline below does not reinvest: compare with --compound-share 0)")
    units = tuple(int(x.scaleb(8)) for x in (result.fee_a, result.fee_b, result.reward))
    with connection.cursor() as cursor:  # the service's run left dead rows; the baseline starts as clean
        cursor.execute("VACUUM ANALYZE")
    baseline = _baseline(pool, units, profile=args.profile)  # type: ignore[arg-type]
    print(f"baseline minimal SQL:        {baseline:7.2f}s  {made / baseline:10,.0f} positions/s  "
          f"({PoolPayout.objects.filter(date=DAY + dt.timedelta(days=1)).count():,} payout rows)")
    print(f"service / baseline time: {service / baseline:6.2f}×")
    same = PoolPayout.objects.raw(
        "SELECT 1 AS id, count(*) AS n FROM pools_poolpayout a JOIN pools_poolpayout b ON b.position_id = a.position_id"
        " AND b.date = %s WHERE a.date = %s AND (a.fee_a, a.fee_b, a.reward) = (b.fee_a, b.fee_b, b.reward)",
        [DAY + dt.timedelta(days=1), DAY])[0].n
    if not result.reward_compounded:  # reinvested shares change the next day's split
        print(f"payouts identical to the baseline's: {same:,} of {made:,}")
    again = pool_distribute_day(pool_id=pool.pk, day=DAY)
    print(f"second run of the same day: {'skipped' if again.skipped else 'RAN AGAIN'}")
    reconcile_and_print()


def main() -> int:
    args = _parse()
    run_in_throwaway_database(lambda: _bench(args), prefix="earn_pool_bench", keep=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
