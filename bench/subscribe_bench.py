#!/usr/bin/env python
"""Load benchmark for POST /api/v1/subscriptions against a real gunicorn, on a throwaway database.

    .venv/bin/python bench/subscribe_bench.py [--customers 200] [--concurrency 16] [--seconds 20]

What it does, in order (everything on loopback; the database and the server are removed at the end,
also on failure):

1. creates the database `earn_bench_sub_<pid>` on the server of DATABASE_URL
   (default postgres://postgres@127.0.0.1:5432/postgres), runs `manage.py migrate` into it;
2. seeds N customers (funded through ledger.deposit_credit, a DRF token each, an acknowledgement of
   the product's current disclosure) and one live USDT demand product whose total cap is hit
   mid-run (default cap = customers × 3 × amount / 2);
3. starts gunicorn (`-w 2 --threads 4`, money/auth throttles raised through THROTTLE_MONEY/THROTTLE_AUTH);
4. runs C client threads for S seconds of POST /api/v1/subscriptions (a fresh Idempotency-Key per
   request), then the same load against GET /api/v1/assets (a trivial authenticated DRF view);
5. prints counts, throughput, p50/p95/p99, the throughput ratio, outcomes by code, then checks the
   product's sold amount against the positions and the cap with SQL, and runs `manage.py reconcile`.

The client threads share the 2 CPUs with gunicorn and PostgreSQL, so absolute figures are only
comparable between runs on the same machine; the ratio is the more stable figure.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
GUNICORN = str(VENV_BIN / "gunicorn")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
SETTINGS = "config.settings.local"
HOST = "127.0.0.1"


# --- database ---------------------------------------------------------------------------------------

def database_url_for(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def admin_connect(base_url: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(base_url.replace("postgres://", "postgresql://", 1), autocommit=True)


def database_create(base_url: str, name: str) -> None:
    with admin_connect(base_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(base_url: str, name: str) -> None:
    with admin_connect(base_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def child_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": SETTINGS, **extra})
    return env


def manage(database_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], cwd=ROOT, env=child_env(database_url),
                          capture_output=True, text=True, check=False, timeout=600)
    if check and done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done


# --- seeding (in-process Django, pointed at the bench database) -------------------------------------

@dataclass
class Seed:
    product_id: int
    tokens: list[str]


def seed(database_url: str, *, customers: int, amount: Decimal, funding: Decimal, cap: Decimal) -> Seed:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection, transaction
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from compliance.services.acknowledgements import acknowledgement_create
    from ledger.services import deposit_credit
    from tests.earn.factories import live_product

    product = live_product("USDT", "demand", total_cap=cap, min_amount="1")
    disclosure = product.disclosure  # type: ignore[attr-defined]
    statements = [s["key"] for s in disclosure.risk_statements]
    tokens: list[str] = []
    with transaction.atomic():
        for i in range(customers):
            # No password: hashing 200 PBKDF2 passwords would dominate the seeding time.
            user = User.objects.create_user(email=f"bench{i}@bench.example", password=None, country="HK")
            deposit_credit(user_id=user.pk, asset="USDT", amount=funding, reference=f"bench-funding-{i}")
            acknowledgement_create(user=user, product_id=product.pk, disclosure_version=disclosure.version,
                                   statements=statements, language="en")
            tokens.append(Token.objects.create(user=user).key)
    connection.close()
    return Seed(product_id=product.pk, tokens=tokens)


# --- server -----------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_start(database_url: str, port: int, *, workers: int, threads: int, log_path: Path) -> subprocess.Popen:
    env = child_env(database_url, THROTTLE_MONEY="1000000/min", THROTTLE_AUTH="1000000/min",
                    DJANGO_DEBUG=os.environ.get("DJANGO_DEBUG", "false"))
    with open(log_path, "w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [GUNICORN, "config.wsgi:application", "-b", f"{HOST}:{port}", "-w", str(workers), "--threads",
             str(threads), "--timeout", "60", "--graceful-timeout", "5", "--error-logfile", "-",
             "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )


def server_wait(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode} before answering")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status < 500:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"gunicorn did not answer on {HOST}:{port} within {timeout:.0f}s")


def server_stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # the arbiter stops its own workers
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


# --- load -------------------------------------------------------------------------------------------

Request = tuple[str, str, bytes | None, dict[str, str]]


@dataclass
class LoadResult:
    name: str
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    by_outcome: dict[str, list[float]] = field(default_factory=dict)  # outcome -> latencies
    first_seen: dict[str, float] = field(default_factory=dict)  # outcome -> seconds into the run

    @property
    def requests(self) -> int:
        return sum(self.outcomes.values())

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float, latencies: list[float] | None = None) -> float:
        """Nearest-rank percentile in milliseconds."""
        ordered = sorted(self.latencies if latencies is None else latencies)
        if not ordered:
            return float("nan")
        rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
        return ordered[rank - 1] * 1000


def classify(status: int, body: bytes) -> str:
    if 200 <= status < 300:
        return str(status)
    if status >= 500:
        return f"5xx ({status})"
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        code = None
    return f"{status} {code}" if code else str(status)


def run_load(name: str, port: int, *, concurrency: int, seconds: float,
             make_request: Callable[[int, int], Request]) -> LoadResult:
    """`concurrency` threads, each on its own keep-alive connection, until the deadline."""
    result = LoadResult(name)
    lock = threading.Lock()
    start_gate = threading.Barrier(concurrency + 1)
    deadline = run_start = 0.0

    def worker(index: int) -> None:
        samples: list[tuple[str, float, float]] = []  # (outcome, seconds into the run, latency)
        outcomes: Counter = Counter()
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        start_gate.wait()
        n = 0
        while time.monotonic() < deadline:
            method, path, body, headers = make_request(index, n)
            n += 1
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                outcomes[f"connection error ({type(exc).__name__})"] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                continue
            outcome = classify(response.status, data)
            samples.append((outcome, started - run_start, time.perf_counter() - started))
            outcomes[outcome] += 1
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
        conn.close()
        with lock:
            result.outcomes.update(outcomes)
            for outcome, at, latency in samples:
                result.latencies.append(latency)
                result.by_outcome.setdefault(outcome, []).append(latency)
                result.first_seen[outcome] = min(at, result.first_seen.get(outcome, at))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    started = run_start = time.perf_counter()
    start_gate.wait()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    result.elapsed = time.perf_counter() - started
    return result


def subscribe_requests(seeded: Seed, amount: Decimal) -> Callable[[int, int], Request]:
    body = json.dumps({"product": seeded.product_id, "amount": str(amount)}).encode()
    tokens = seeded.tokens
    turn = itertools.count()  # next() is atomic under the GIL: one global round-robin over the customers

    def make(worker: int, n: int) -> Request:
        # With more customers than clients, requests in flight at the same time are for different customers.
        token = tokens[next(turn) % len(tokens)]
        return ("POST", "/api/v1/subscriptions", body,
                {"Authorization": f"Token {token}", "Content-Type": "application/json",
                 "Idempotency-Key": uuid.uuid4().hex})

    return make


def trivial_requests(seeded: Seed, path: str) -> Callable[[int, int], Request]:
    tokens = seeded.tokens
    turn = itertools.count()

    def make(worker: int, n: int) -> Request:
        token = tokens[next(turn) % len(tokens)]
        return ("GET", path, None, {"Authorization": f"Token {token}"})

    return make


def trivial_path(port: int, token: str) -> str:
    """GET /api/v1/assets if it exists, else GET /api/v1/positions."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    conn.request("GET", "/api/v1/assets", headers={"Authorization": f"Token {token}"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return "/api/v1/assets" if response.status == 200 else "/api/v1/positions"


# --- report -----------------------------------------------------------------------------------------

def print_result(result: LoadResult) -> None:
    print(f"\n== {result.name}")
    print(f"requests:    {result.requests} in {result.elapsed:.1f}s")
    print(f"throughput:  {result.throughput:.1f} req/s")
    print(f"latency ms:  p50 {result.percentile(50):.1f}  p95 {result.percentile(95):.1f}  "
          f"p99 {result.percentile(99):.1f}  max {max(result.latencies, default=0) * 1000:.1f}")
    print("outcomes:                          count   first at   p50 ms   p95 ms   p99 ms")
    for outcome, count in sorted(result.outcomes.items(), key=lambda kv: (-kv[1], kv[0])):
        lat = result.by_outcome.get(outcome, [])
        first = result.first_seen.get(outcome)
        print(f"  {outcome:<32} {count:>6}   {'' if first is None else f'{first:6.1f}s':>8} "
              f"{result.percentile(50, lat):8.1f} {result.percentile(95, lat):8.1f} {result.percentile(99, lat):8.1f}")


def invariants(database_url: str, product_id: int, created: int) -> bool:
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
        sold, cap = conn.execute("SELECT sold_amount, total_cap FROM earn_product WHERE id = %s",
                                 [product_id]).fetchone()
        principal = conn.execute(
            "SELECT COALESCE(SUM(principal), 0) FROM earn_position WHERE product_id = %s AND status = 'active'",
            [product_id]).fetchone()[0]
        subs, subs_total = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM earn_subscription WHERE product_id = %s",
            [product_id]).fetchone()
        overdrawn = conn.execute(
            "SELECT COUNT(*) FROM ledger_ledgeraccount WHERE owner_id IS NOT NULL AND balance < 0").fetchone()[0]
    oversell = max(Decimal(0), sold - cap) if cap is not None else Decimal(0)
    print("\n== invariants (SQL)")
    print(f"total_cap:                {cap}")
    print(f"sold_amount:              {sold}")
    print(f"sum active principal:     {principal}  ({'==' if principal == sold else '!='} sold_amount)")
    print(f"subscriptions:            {subs} rows, {subs_total} total  (201 responses: {created})")
    print(f"customer accounts < 0:    {overdrawn}")
    print(f"oversell: {oversell.normalize() if oversell else 0}")
    return principal == sold and subs_total == sold and subs == created and oversell == 0 and overdrawn == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--amount", type=Decimal, default=Decimal("100"), help="USDT per subscription")
    parser.add_argument("--funding", type=Decimal, default=None,
                        help="USDT deposited per customer (default 3 × amount)")
    parser.add_argument("--cap", type=Decimal, default=None,
                        help="product total cap (default customers × 3 × amount / 2)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database (for inspection)")
    args = parser.parse_args()
    if not (0 < args.seconds <= 300 and 0 < args.concurrency <= 64 and args.customers > 0):
        parser.error("keep the load bounded: 0 < seconds <= 300, 0 < concurrency <= 64, customers > 0")
    funding = args.funding if args.funding is not None else args.amount * 3
    cap = args.cap if args.cap is not None else args.customers * 3 * args.amount / 2

    base_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if urlsplit(base_url).hostname not in {"127.0.0.1", "localhost", "::1"}:
        parser.error("DATABASE_URL must point at a loopback server")
    name = f"earn_bench_sub_{os.getpid()}"
    bench_url = database_url_for(base_url, name)
    log_path = Path(f"/tmp/{name}.gunicorn.log")
    server: subprocess.Popen | None = None
    ok = False
    created_db = False
    try:
        t0 = time.perf_counter()
        database_create(base_url, name)
        created_db = True
        manage(bench_url, "migrate", "--noinput")
        print(f"database {name}: migrated in {time.perf_counter() - t0:.1f}s")
        t0 = time.perf_counter()
        seeded = seed(bench_url, customers=args.customers, amount=args.amount, funding=funding, cap=cap)
        print(f"seeded {args.customers} customers (funded {funding} USDT each), product {seeded.product_id} "
              f"(cap {cap}, {args.amount} USDT per request) in {time.perf_counter() - t0:.1f}s")

        port = free_port()
        server = server_start(bench_url, port, workers=args.workers, threads=args.threads, log_path=log_path)
        server_wait(port, server)
        print(f"gunicorn on {HOST}:{port} (-w {args.workers} --threads {args.threads}), log {log_path}")
        print(f"load: {args.concurrency} clients × {args.seconds:.0f}s per endpoint")

        subscribe = run_load("POST /api/v1/subscriptions", port, concurrency=args.concurrency,
                             seconds=args.seconds,
                             make_request=subscribe_requests(seeded, args.amount))
        path = trivial_path(port, seeded.tokens[0])
        trivial = run_load(f"GET {path}", port, concurrency=args.concurrency, seconds=args.seconds,
                           make_request=trivial_requests(seeded, path))
        print_result(subscribe)
        print_result(trivial)
        ratio = trivial.throughput / subscribe.throughput if subscribe.throughput else float("inf")
        print(f"\nratio (trivial / subscribe throughput): {ratio:.2f}")
        errors_5xx = (sum(c for o, c in subscribe.outcomes.items() if o.startswith(("5xx", "connection")))
                      + sum(c for o, c in trivial.outcomes.items() if o.startswith(("5xx", "connection"))))
        print(f"5xx / connection errors: {errors_5xx}")

        server_stop(server)
        consistent = invariants(bench_url, seeded.product_id, subscribe.outcomes.get("201", 0))
        reconcile = manage(bench_url, "reconcile", check=False)
        print(f"\n== manage.py reconcile (exit {reconcile.returncode})")
        print((reconcile.stdout + reconcile.stderr).rstrip())
        ok = consistent and reconcile.returncode == 0 and errors_5xx == 0
        print(f"\nresult: {'OK' if ok else 'PROBLEMS FOUND'}")
        if ok:
            log_path.unlink(missing_ok=True)
        else:
            print(f"gunicorn log kept: {log_path}")
    finally:
        if server is not None:
            server_stop(server)
        if created_db and not args.keep_db:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # Django may not be set up yet
                pass
            database_drop(base_url, name)
        elif created_db:
            print(f"kept database {name} ({bench_url})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
