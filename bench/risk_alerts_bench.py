#!/usr/bin/env python
"""Risk alerts at scale: the daily IL alert over one pool with N positions (all past the threshold, so every
holder is notified), then the venue exposure report with P extra products, its query count and time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/risk_alerts_bench.py
    .venv/bin/python bench/risk_alerts_bench.py --customers 20000 --products 2000

Creates a throwaway database `earn_risk_bench_<pid>` (dropped at the end unless --keep). Positions and their
deposits are written set-based (one deposit per position at BTC 60 000); BTC is then priced at 135 000 for today,
an IL of −7.69 % for everyone (threshold 5 %). Notifications are written in the process (no worker, emails to a
dummy backend), so the time includes one inbox row per holder. Prints figures; not a test. The machine may be
shared: figures are indicative.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdb import run_in_throwaway_database
from pool_rewards_bench import _pool, _positions


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20_000, help="pool positions, one per customer")
    parser.add_argument("--products", type=int, default=2_000, help="extra earn products over 200 venues")
    parser.add_argument("--compute-only", action="store_true", help="time the IL computation only (no alerts)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    return parser.parse_args()


def _deposits() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO pools_pooldeposit (position_id, mode, asset_in_id, amount_a, amount_b, swap_fee, shares,
                                           price_a_usd, price_b_usd, value_usd, created_at)
            SELECT id, 'pair', 'BTC', cost_a, cost_b, 0, shares, 60000, 1, cost_usd, created_at
              FROM pools_poolposition""")
        return cursor.rowcount


def _products(n: int) -> None:
    from accounts.models import User
    from earn.models import Product, ProductStatus
    from earn.models.exposure import ExposureLimit

    maker = User.objects.get(email="curator@bench.example")
    Product.objects.bulk_create([
        Product(name_en=f"Bench {i}", name_zh_hant=f"基準 {i}", asset_id="USDT", term_type="demand", risk_rating=2,
                status=ProductStatus.LIVE, venue=f"Venue {i % 200}", counterparty=f"Borrower {i % 50}",
                sold_amount=1000 + i, drafted_by=maker) for i in range(n)])
    ExposureLimit.objects.bulk_create([ExposureLimit(kind="venue", name=f"Venue {i}", limit_usd=150_000,
                                                     updated_by=maker) for i in range(200)])


def bench(args: argparse.Namespace) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from earn.selectors.exposure import exposure_report
    from notifications.models import Notification
    from pools.services.il_alerts import pool_il_positions, risk_alerts_run
    from pricing.selectors import latest_prices
    from pricing.services import price_record

    pool = _pool()
    made = _positions(pool, customers=args.customers, per_customer=1, compound_share=0)
    print(f"seeded {made:,} pool positions and {_deposits():,} deposits")
    if os.environ.get("BENCH_ANALYZE", "1") == "1":
        with connection.cursor() as cursor:  # what autovacuum would do after a bulk load
            cursor.execute("ANALYZE pools_pooldeposit; ANALYZE pools_poolposition")
    price_record(asset_code="BTC", price_usd="135000", source="bench")
    day = timezone.now().date()  # the positions were written now: today is the first day they are in
    started = time.perf_counter()
    computed = pool_il_positions(pool, day=day, prices=latest_prices(["BTC", "USDT"]))
    print(f"IL of {len(computed):,} positions computed in {time.perf_counter() - started:.2f}s (one query)")
    with connection.cursor() as cursor:
        cursor.execute("""EXPLAIN (ANALYZE, FORMAT JSON)
            SELECT d.position_id, p.user_id, p.cost_a, p.cost_b, d.value_usd, d.price_a_usd, d.price_b_usd
              FROM pools_pooldeposit d JOIN pools_poolposition p ON p.id = d.position_id
             WHERE p.pool_id = %s AND p.status = 'active' AND p.shares > 0 AND d.created_at < now() + interval '1 day'
               AND d.value_usd > 0 ORDER BY d.position_id, d.id""", [pool.pk])
        plan = cursor.fetchone()[0][0]
    print(f"  its query: {plan['Execution Time']:.0f} ms in PostgreSQL ({plan['Plan']['Node Type']})")
    if args.compute_only:
        return
    started = time.perf_counter()
    result = risk_alerts_run(day=day)
    first = time.perf_counter() - started
    alert = result.alerts[0].alert
    notified = Notification.objects.filter(kind="il_alert").count()
    print(f"IL alert: {len(result.alerts[0].past):,} of {result.alerts[0].positions:,} positions past 5 % "
          f"(worst {alert.worst_il:.4f}), {notified:,} holders notified, in {first:.2f}s")
    started = time.perf_counter()
    risk_alerts_run(day=day)
    print(f"rerun (nothing new sent: {Notification.objects.filter(kind='il_alert').count() == notified}): "
          f"{time.perf_counter() - started:.2f}s")
    _products(args.products)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        report = exposure_report()
        took = time.perf_counter() - started
    print(f"exposure report: {len(report.venues)} venues, {len(report.counterparties)} counterparties, "
          f"{len(report.breaches)} breaches, {len(queries)} queries, {took * 1000:.0f} ms")


def main() -> None:
    args = _parse()
    os.environ["NOTIFICATIONS_VIA_CELERY"] = "false"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    run_in_throwaway_database(lambda: bench(args), prefix="earn_risk_bench", keep=args.keep)


if __name__ == "__main__":
    main()
