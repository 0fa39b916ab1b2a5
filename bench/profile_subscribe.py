#!/usr/bin/env python
"""Cost per request, in-process: subscriptions, a refusal, a redemption, a launch commitment, and the
trivial endpoint the load benches compare them with.

    .venv/bin/python bench/profile_subscribe.py [--requests 200]        # CPU ms per request
    .venv/bin/python bench/profile_subscribe.py --profile subscribe      # cProfile (CPU time) of one kind
    .venv/bin/python bench/profile_subscribe.py --callgrind --requests 20  # instructions per request

A throwaway database (as the other benches), the settings the load benches' gunicorn runs with
(`config.settings.local`, DEBUG off, the cache and broker of REDIS_URL, money throttle raised but
running), one customer funded and acknowledged, a live demand product without a cap, a full one (every
subscription to it is refused CAP_REACHED), a position to redeem from and an open pro-rata launch.
Each request goes through Django's full handler (every middleware, DRF, token authentication, the
on-commit hooks) with the test client. Kinds: `assets` (GET /api/v1/assets), `subscribe` (201),
`refuse` (409 CAP_REACHED), `redeem` (a fast redemption, 201), `commit` (POST /api/v1/commitments, 201).

Default: after a warm-up, N requests of each kind, interleaved, and the mean `time.process_time()`
per request: the Python (and libpq) CPU of this process. The machine's load inflates CPU time too
(shared caches), so compare the ratios of one run. PostgreSQL's own work is not in it (the statement
counts are held by tests/earn/test_subscription_statements.py).

`--callgrind [KIND ...]` runs each kind in a child under `valgrind --tool=callgrind` with instrumentation
on only around the N measured requests, and prints instructions per request: the same figure whatever
the machine's load (needs valgrind; about a minute per kind). Under valgrind a request takes over a second,
so each one pays what a web process does at most once a second (the audit chainer's and the notification
outbox's kick, a Celery publish each) and the count then depends on the machine's speed: run with
`AUDIT_CHAIN_KICK_SECONDS=3600 NOTIFICATION_OUTBOX_KICK_SECONDS=3600` to spread them as under load.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdb import ROOT, run_in_throwaway_database

KINDS = ("assets", "subscribe", "refuse", "redeem", "commit")
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable


def bench_env() -> None:
    """As the load benches' server: money and auth throttles raised out of the way (they still run)."""
    os.environ.update(THROTTLE_MONEY="1000000/min", THROTTLE_AUTH="1000000/min")


def seed() -> dict:
    """One customer, a live demand product (no cap), a full one, a position and an open launch."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from accounts.tokens import api_token_create
    from compliance.services.acknowledgements import acknowledgement_create
    from ledger.services import deposit_credit
    from tests.earn.factories import launch_product, live_product

    product = live_product("USDT", "demand", min_amount="1")
    full = live_product("USDT", "demand", min_amount="1", total_cap="1")  # full after the first subscription
    launch = launch_product("USDC", "fixed", method="pro_rata", quota=Decimal("1000000"), min_lot="1",
                            hours=24 * 7)
    user = User.objects.create_user(email="profile@bench.example", password=None, country="SG",
                                    kyc_status="verified", kyc_verified_at=timezone.now(), kyc_source="bench")
    deposit_credit(user_id=user.pk, asset="USDT", amount=Decimal("100000000"), reference="profile-USDT")
    deposit_credit(user_id=user.pk, asset="USDC", amount=Decimal("100000000"), reference="profile-USDC")
    for p in (product, full, launch):
        disclosure = p.disclosure
        acknowledgement_create(user=user, product_id=p.pk, disclosure_version=disclosure.version,
                               statements=[s["key"] for s in disclosure.risk_statements], language="en")
    token = api_token_create(user=user, name="profile")[1]
    connection.close()
    state = {"token": token, "product": product.pk, "full": full.pk, "launch": launch.pk}
    calls = make_calls(state, setup=True)
    state["position"] = calls["position"]  # type: ignore[assignment]
    return state


def make_calls(state: dict, *, setup: bool = False) -> dict:
    """A request maker per kind (each returns the status code); with `setup`, fills the full product and
    opens the position to redeem from."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {state['token']}", HTTP_HOST="127.0.0.1")

    def post(path: str, body: dict) -> Callable[[], int]:
        text = json.dumps(body)

        def call() -> int:
            return client.post(path, text, content_type="application/json",
                               HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex).status_code

        return call

    if setup:
        expect("subscribe", post("/api/v1/subscriptions", {"product": state["full"], "amount": "1"})())
        body = json.dumps({"product": state["product"], "amount": "1000000"})
        subscribed = client.post("/api/v1/subscriptions", body, content_type="application/json",
                                 HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
        expect("subscribe", subscribed.status_code)
        return {"position": subscribed.json()["position"]}
    return {
        "assets": lambda: client.get("/api/v1/assets").status_code,
        "subscribe": post("/api/v1/subscriptions", {"product": state["product"], "amount": "1"}),
        "refuse": post("/api/v1/subscriptions", {"product": state["full"], "amount": "1"}),
        "redeem": post(f"/api/v1/positions/{state['position']}/redemptions", {"amount": "0.5", "mode": "fast"}),
        "commit": post("/api/v1/commitments", {"product": state["launch"], "amount": "1"}),
    }


def expect(kind: str, status: int) -> None:
    wanted = {"assets": 200, "refuse": 409}.get(kind, 201)
    if status != wanted:
        raise SystemExit(f"{kind}: answered {status}, expected {wanted}")


def warm(calls: dict, kinds: tuple[str, ...], n: int) -> None:
    for _ in range(n):
        for kind in kinds:
            expect(kind, calls[kind]())


def backend_cpu() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend so far (a local server only; clock-tick samples,
    so only sums over many requests mean anything)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(calls: dict, kinds: tuple[str, ...], requests: int) -> dict[str, dict[str, float]]:
    """Mean process CPU, wall time and PostgreSQL backend CPU (ms) per request per kind; the kinds interleaved so
    the machine's load hits all alike. Wall time adds the waits on PostgreSQL (its work, the commit's WAL
    flush) and Redis."""
    spent = {name: dict.fromkeys(kinds, 0.0) for name in ("cpu", "wall", "postgres")}
    for _ in range(requests):
        for kind in kinds:
            backend = backend_cpu()
            started, started_wall = time.process_time(), time.perf_counter()
            status = calls[kind]()
            spent["cpu"][kind] += time.process_time() - started
            spent["wall"][kind] += time.perf_counter() - started_wall
            after = backend_cpu()
            if backend is not None and after is not None:
                spent["postgres"][kind] += after - backend
            expect(kind, status)
    return {name: {kind: value / requests * 1000 for kind, value in per_kind.items()}
            for name, per_kind in spent.items()}


def print_ratios(values: dict[str, float], unit: str, fmt: str) -> None:
    for kind in KINDS:
        if kind in values:
            print(f"  {kind:<10} {format(values[kind], fmt):>14} {unit}")
    if "assets" in values:
        for kind in KINDS[1:]:
            if kind in values:
                print(f"ratio {kind} / assets: {values[kind] / values['assets']:.2f}")


# --- callgrind: a child per kind, instrumented around the measured requests only ----------------------

def callgrind_child(kind: str, state_path: str, requests: int, warmup: int) -> None:
    import django

    django.setup()
    calls = make_calls(json.loads(Path(state_path).read_text()))
    warm(calls, (kind,), warmup)
    toggle = ["callgrind_control", "--instr=on", str(os.getpid())]
    subprocess.run(toggle, check=True, capture_output=True)
    for _ in range(requests):
        calls[kind]()
    subprocess.run([*toggle[:1], "--instr=off", toggle[2]], check=True, capture_output=True)


def callgrind_all(state: dict, kinds: list[str], requests: int, warmup: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        state_path = Path(tmp) / "state.json"
        state_path.write_text(json.dumps(state))
        for kind in kinds:
            done = subprocess.run(
                ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={tmp}/{kind}.out",
                 PYTHON, __file__, "--child", kind, "--state", str(state_path), "--requests", str(requests),
                 "--warmup", str(warmup)],
                env=dict(os.environ), capture_output=True, text=True, check=False, timeout=3600)
            found = re.search(r"Collected : (\d+)", done.stderr)
            if done.returncode != 0 or not found:
                raise SystemExit(f"callgrind run of {kind} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
            out[kind] = int(found.group(1)) / requests
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="measured requests per kind")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests per kind first")
    parser.add_argument("--profile", choices=KINDS, help="cProfile (CPU time) of this kind's requests")
    parser.add_argument("--callgrind", nargs="*", choices=KINDS, help="instructions per request under callgrind")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", metavar="FILE", help="with --profile: also write the pstats file (pstats, snakeviz)")
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    args = parser.parse_args()
    bench_env()
    if args.child:  # inside valgrind; the parent set DATABASE_URL and the settings module
        callgrind_child(args.child, args.state, args.requests, args.warmup)
        return 0

    def bench() -> None:
        state = seed()
        if args.callgrind is not None:
            kinds = args.callgrind or list(KINDS)
            counts = callgrind_all(state, kinds, args.requests, min(args.warmup, 5))
            print(f"instructions per request (callgrind, mean of {args.requests}):")
            print_ratios(counts, "Ir", ",.0f")
            return
        calls = make_calls(state)
        warm(calls, KINDS, args.warmup)
        if args.profile:
            profiler = cProfile.Profile(time.process_time)  # CPU, not waits on the database
            profiler.enable()
            for _ in range(args.requests):
                expect(args.profile, calls[args.profile]())
            profiler.disable()
            if args.dump:
                profiler.dump_stats(args.dump)
            for order in ("cumulative", "tottime"):
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
                print(out.getvalue())
            return
        figures = measure(calls, KINDS, args.requests)
        print(f"CPU per request (this process, mean of {args.requests}, after {args.warmup} warm-up; "
              f"load average {os.getloadavg()[0]:.1f}):")
        print_ratios(figures["cpu"], "ms", ".2f")
        print("PostgreSQL backend CPU per request (a local server; sampled at clock ticks):")
        print_ratios(figures["postgres"], "ms", ".2f")
        both = {kind: figures["cpu"][kind] + figures["postgres"][kind] for kind in KINDS}
        print("both (what one request costs the machine, bar the WSGI server and the client):")
        print_ratios(both, "ms", ".2f")
        print("wall time per request (one client, waits on PostgreSQL and Redis included):")
        print_ratios(figures["wall"], "ms", ".2f")

    run_in_throwaway_database(bench, prefix="earn_bench_profile")
    return 0


if __name__ == "__main__":
    sys.exit(main())
