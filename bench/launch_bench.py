#!/usr/bin/env python
"""Launch bench: customers commit to an oversubscribed launch through a real gunicorn, then the allocation
job runs; the books are checked.

    .venv/bin/python bench/launch_bench.py [--customers 2000] [--commitments 10000] [--concurrency 16]

In order (everything on loopback; the throwaway database and the server are removed at the end):

1. creates `earn_bench_launch_<pid>` on the server of DATABASE_URL (else the embedded one), migrates it;
2. seeds N customers (funded in USDT through ledger.deposit_credit, an API token and an acknowledgement of
   the product's disclosure each) and one live pro-rata launch product; the commitments' amounts are drawn
   first (seeded), so the quota is one fifth of the demand;
3. starts gunicorn (`-w 2 --threads 4`, money throttle raised), warms it for `--warmup` seconds (default 2)
   with requests that write nothing (the trivial GET, a commitment refused by validation), and sends exactly
   M `POST /api/v1/commitments` from C client threads (each customer's commitments spread over the run, a
   fresh Idempotency-Key each), and `GET /api/v1/assets` for as long, for the ratio: the two alternate in
   `--rounds` rounds (default 4; a share of the commitments, then the trivial load for as long) so a drifting
   machine weighs on both alike;
4. closes the window and runs the allocation job (`launch_allocate`, what the Celery task and
   `manage.py launch_allocate` run), timed;
5. checks with SQL: one commitment row per 201; Σ allocated + Σ refunded = Σ committed to the unit;
   Σ allocated = quota; every committed account back to zero; no customer balance below zero; then
   `manage.py reconcile`.

Exit status 0 only with no 5xx or connection error and every check passed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import itertools
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdb import run_in_throwaway_database
from load_subscribe import (
    HOST,
    LoadResult,
    Seed,
    classify,
    cpu_measured,
    free_port,
    money_headers,
    print_result,
    process_cpu,
    reconcile,
    run_load,
    server_start,
    server_stop,
    server_wait,
    trivial_requests,
    warm_up,
)

ASSET = "USDT"


def plan_amounts(count: int, seed_value: int) -> list[Decimal]:
    """The commitments' amounts, drawn before seeding (so the quota can be a fifth of the demand)."""
    rng = random.Random(seed_value)
    return [Decimal(rng.randint(1000, 100000)) / 100 for _ in range(count)]  # 10.00 … 1000.00 USDT


def seed(*, customers: int, funding: Decimal, quota: Decimal) -> Seed:
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from accounts.tokens import api_token_create
    from compliance.services.acknowledgements import acknowledgement_create
    from ledger.services import deposit_credit
    from tests.earn.factories import launch_product

    product = launch_product(ASSET, "fixed", method="pro_rata", quota=quota, min_lot="1", hours=24 * 7)
    disclosure = product.disclosure  # type: ignore[attr-defined]
    statements = [s["key"] for s in disclosure.risk_statements]
    tokens: list[str] = []
    now = timezone.now()
    with transaction.atomic():
        for i in range(customers):
            user = User.objects.create_user(email=f"launch{i}@bench.example", password=None, country="SG",
                                            kyc_status="verified", kyc_verified_at=now, kyc_source="bench")
            deposit_credit(user_id=user.pk, asset=ASSET, amount=funding, reference=f"bench-launch-funding-{i}")
            acknowledgement_create(user=user, product_id=product.pk, disclosure_version=disclosure.version,
                                   statements=statements, language="en")
            tokens.append(api_token_create(user=user, name="bench")[1])
    connection.close()
    return Seed(products={ASSET: product.pk}, tokens=tokens)


def run_commitments(port: int, seeded: Seed, amounts: list[Decimal], *, concurrency: int,
                    indices: range | None = None, cpu: Callable[[], Counter] = Counter) -> LoadResult:
    """Exactly len(amounts) commitments (those of `indices`): request i is customer i mod N, so each commits
    len/N times. `cpu`: as run_load's."""
    result = LoadResult("commit (POST /api/v1/commitments)")
    product = seeded.products[ASSET]
    work = iter(indices if indices is not None else range(len(amounts)))
    take = threading.Lock()
    merge = threading.Lock()
    gate = threading.Barrier(concurrency + 1)

    def worker() -> None:
        outcomes: Counter = Counter()
        samples: list[tuple[tuple[str, str], float]] = []
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        gate.wait()
        while True:
            with take:
                i = next(work, None)
            if i is None:
                break
            token = seeded.tokens[i % len(seeded.tokens)]
            body = json.dumps({"product": product, "amount": str(amounts[i])}).encode()
            headers = money_headers(token)
            started = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/commitments", body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                outcomes[("commit", f"connection error ({type(exc).__name__})")] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
                continue
            key = ("commit", classify(response.status, data))
            outcomes[key] += 1
            samples.append((key, time.perf_counter() - started))
        conn.close()
        with merge:
            result.outcomes.update(outcomes)
            for key, latency in samples:
                result.latencies.append(latency)
                result.by_outcome.setdefault(key, []).append(latency)
                result.first_seen.setdefault(key, 0.0)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    with cpu_measured(result, cpu):
        gate.wait()
        for thread in threads:
            thread.join()
        result.elapsed = time.perf_counter() - started
    return result


def allocate(product_id: int) -> tuple[float, object]:
    """Close the window (as the clock would) and run the allocation job; returns (seconds, run)."""
    from django.utils import timezone

    from earn.models import Product
    from earn.services.launch import launch_allocate

    now = timezone.now()
    Product.objects.filter(pk=product_id).update(launch_window_start=now - dt.timedelta(days=1),
                                                 launch_window_end=now)
    started = time.perf_counter()
    run = launch_allocate(product_id)
    return time.perf_counter() - started, run


def check_books(product_id: int, created: int, quota: Decimal) -> bool:
    from django.db import connection

    print("\n== checks (SQL)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), sum(amount), sum(allocated), sum(refunded), count(*) FILTER "
                       "(WHERE status <> 'settled') FROM earn_launchcommitment WHERE product_id = %s", [product_id])
        rows, committed, allocated, refunded, unsettled = cursor.fetchone()
        cursor.execute("SELECT count(*), coalesce(sum(principal), 0) FROM earn_position WHERE product_id = %s",
                       [product_id])
        positions, principal = cursor.fetchone()
        cursor.execute("SELECT count(*) FILTER (WHERE balance <> 0) FROM ledger_ledgeraccount WHERE kind = 'committed'")
        committed_left = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM ledger_ledgeraccount WHERE owner_id IS NOT NULL AND balance < 0")
        overdrawn = cursor.fetchone()[0]
    rows_ok = rows == created
    sums_ok = allocated + refunded == committed
    quota_ok = allocated == principal and allocated <= quota
    print(f"commitment rows {rows} for {created} × 201  {'ok' if rows_ok else 'MISMATCH (lost or doubled)'}")
    print(f"allocations + refunds = commitments: {allocated.normalize():f} + {refunded.normalize():f} = "
          f"{(allocated + refunded).normalize():f} vs {committed.normalize():f}  "
          f"{'ok (to the unit)' if sums_ok else 'MISMATCH'}")
    print(f"quota {quota.normalize():f}: allocated {allocated.normalize():f}, {positions} positions holding "
          f"{principal.normalize():f}  {'ok' if quota_ok else 'MISMATCH'}")
    print(f"unsettled commitments {unsettled}; committed accounts not back to zero {committed_left}; "
          f"customer accounts below zero {overdrawn}")
    return rows_ok and sums_ok and quota_ok and unsettled == 0 and committed_left == 0 and overdrawn == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--commitments", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the amounts")
    parser.add_argument("--rounds", type=int, default=4,
                        help="commitments and the trivial load alternate in this many rounds")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of requests that write nothing before the timed rounds (0: none)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database (for inspection)")
    args = parser.parse_args()
    if not (0 < args.customers <= args.commitments <= 100_000 and 0 < args.concurrency <= 64
            and 0 <= args.warmup <= 60 and 1 <= args.rounds <= 20):
        parser.error("keep the load bounded: 0 < customers <= commitments <= 100000, 0 < concurrency <= 64")
    amounts = plan_amounts(args.commitments, args.seed)
    demand = sum(amounts, Decimal(0))
    quota = (demand / 5).quantize(Decimal("0.01"))
    per_customer = Counter(i % args.customers for i in range(args.commitments))
    funding = max(sum((amounts[i] for i in range(args.commitments) if i % args.customers == c), Decimal(0))
                  for c in range(args.customers)) + 1
    outcome = {"ok": False}

    def bench() -> None:
        t0 = time.perf_counter()
        seeded = seed(customers=args.customers, funding=funding, quota=quota)
        product_id = seeded.products[ASSET]
        print(f"seeded {args.customers} customers ({funding} {ASSET} each) and launch product {product_id} "
              f"(pro-rata, quota {quota} = demand {demand} / 5) in {time.perf_counter() - t0:.1f}s")
        from core.audit import audit_chain

        # The seed's audit events, as the worker would have chained them meanwhile: a seed slower than
        # AUDIT_CHAIN_MAX_LAG_SECONDS left them stale, and /healthz (the server's readiness) answered 503.
        audit_chain()
        port = free_port()
        log_path = Path(f"/tmp/earn_bench_launch_{os.getpid()}.gunicorn.log")
        server = server_start(port, workers=args.workers, threads=args.threads, log_path=log_path)
        try:
            server_wait(port, server)
            print(f"gunicorn on {HOST}:{port} (-w {args.workers} --threads {args.threads}); {args.concurrency} "
                  f"clients; {args.commitments} commitments, {max(per_customer.values())} per customer")
            warm_up(port, seeded, concurrency=args.concurrency, seconds=args.warmup,
                    posts=[("/api/v1/commitments", {"product": product_id, "amount": "0"})])
            commits = LoadResult("commit (POST /api/v1/commitments)")
            trivial = LoadResult("GET /api/v1/assets")
            # Alternating rounds: each share of the commitments, then the trivial load for as long (at least
            # 10 s in all, at most 120 s), so that a drift of the machine's load weighs on both alike.
            bounds = [len(amounts) * r // args.rounds for r in range(args.rounds + 1)]
            def cpu() -> Counter:
                return process_cpu(server.pid, None)

            for start, end in itertools.pairwise(bounds):
                batch = run_commitments(port, seeded, amounts, concurrency=args.concurrency, indices=range(start, end),
                                        cpu=cpu)
                commits.add(batch)
                trivial.add(run_load(trivial.name, port, concurrency=args.concurrency,
                                     seconds=max(10.0, min(batch.elapsed * args.rounds, 120.0)) / args.rounds,
                                     make_request=trivial_requests(seeded), cpu=cpu))
        finally:
            server_stop(server)
        print_result(commits)
        print_result(trivial)
        print(f"\ncommitments/s: {commits.throughput:.1f}; GET /api/v1/assets: {trivial.throughput:.1f} req/s")
        ratio = trivial.throughput / commits.throughput if commits.throughput else float("inf")
        print(f"ratio (trivial / commit throughput): {ratio:.2f}")
        failures = commits.failures() + trivial.failures()
        print(f"5xx and connection errors: {failures}")
        created = commits.count("commit", "201")
        seconds, run = allocate(product_id)
        print(f"\nallocation job: {run.commitments} commitments from {run.customers} customers allocated, "  # type: ignore[attr-defined]
              f"positions opened and refunds posted in {seconds:.2f}s (status {run.status})")  # type: ignore[attr-defined]
        books = check_books(product_id, created, quota)
        clean = reconcile()
        outcome["ok"] = books and clean and failures == 0 and created == args.commitments
        print(f"\nresult: {'OK' if outcome['ok'] else 'PROBLEMS FOUND'}")
        if outcome["ok"]:
            log_path.unlink(missing_ok=True)
        else:
            print(f"gunicorn log kept: {log_path}")

    run_in_throwaway_database(bench, prefix="earn_bench_launch", keep=args.keep_db)
    return 0 if outcome["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
