#!/usr/bin/env python
"""Load test: customers subscribing and redeeming concurrently against capped products, through a real
gunicorn on loopback, on a throwaway PostgreSQL database; then the books are checked.

    .venv/bin/python bench/load_subscribe.py [--customers 200] [--concurrency 16] [--seconds 20]

In order (everything on loopback; the database and the server are removed at the end, also on failure):

1. creates `earn_bench_load_<pid>` on the server of DATABASE_URL (else the embedded one) and migrates it;
2. seeds N customers (funded in USDT and USDC through ledger.deposit_credit, an API token each, an
   acknowledgement of each product's disclosure) and two live demand products, USDT and USDC, whose
   total caps are reached mid-run (default cap = customers × amount / 4 per product);
3. starts gunicorn (`-w 2 --threads 4`; money/auth throttles raised through THROTTLE_MONEY/THROTTLE_AUTH);
4. after `--warmup` seconds (default 2) of requests that write nothing (the trivial GET, a subscription
   refused by validation, a redemption of no position), so that each gunicorn process has loaded its views
   and each thread opened its connection, runs C client threads for S seconds, each request for the next
   customer in turn: with probability `--redeem-share` a fast redemption of half a subscription from a
   position the customer holds, else
   a subscription to one of the two products (a fresh Idempotency-Key per request); and the same
   load against GET /api/v1/assets (a trivial authenticated DRF view) for the ratio, the two alternating
   in `--rounds` rounds (default 4, S / rounds seconds each) so that a drift of the machine's load
   (other processes on a shared host) weighs on both alike;
5. prints throughput, p50/p95/p99 and outcomes by status and error code, then checks with SQL, per
   product: sold_amount = sum of the positions' principal = subscribed − redeemed, sold ≤ cap, one row
   per 2xx answer (nothing lost or doubled), one notification outbox row per 2xx, no customer balance below
   zero; and runs `manage.py reconcile`
   (every entry balanced, every balance equal to its postings, registered checks).

Audit events are written unchained and chained in the background (core.audit): a thread of this script
stands in for the worker and beat, chaining every AUDIT_CHAIN_EVERY_SECONDS during the run (the seed's
events are chained before the server starts, so /healthz answers 200); at the end every event must be
chained and the chain must verify.

Exit status 0 only if there was no 5xx, no connection error, and every check passed. The client threads
share the CPUs with gunicorn and PostgreSQL, so absolute figures compare only between runs on the same
machine; the ratio is the steadier figure.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdb import ROOT, run_in_throwaway_database

VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
GUNICORN = str(VENV_BIN / "gunicorn")
HOST = "127.0.0.1"
ASSETS = ("USDT", "USDC")


# --- seeding (in-process Django, already pointed at the throwaway database) -------------------------

@dataclass
class Seed:
    products: dict[str, int]  # asset -> product id
    tokens: list[str]


def seed(*, customers: int, funding: Decimal, cap: Decimal) -> Seed:
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from accounts.tokens import api_token_create
    from compliance.services.acknowledgements import acknowledgement_create
    from ledger.services import deposit_credit
    from tests.earn.factories import live_product

    products = {asset: live_product(asset, "demand", total_cap=cap, min_amount="1") for asset in ASSETS}
    tokens: list[str] = []
    now = timezone.now()
    with transaction.atomic():
        for i in range(customers):
            # No password: hashing N PBKDF2 passwords would dominate the seeding time. SG has no
            # jurisdiction rule: the gate asks only for the acknowledgement, as in most markets.
            user = User.objects.create_user(email=f"bench{i}@bench.example", password=None, country="SG",
                                            kyc_status="verified", kyc_verified_at=now, kyc_source="bench")
            for asset, product in products.items():
                deposit_credit(user_id=user.pk, asset=asset, amount=funding, reference=f"bench-funding-{asset}-{i}")
                disclosure = product.disclosure  # type: ignore[attr-defined]
                acknowledgement_create(user=user, product_id=product.pk, disclosure_version=disclosure.version,
                                       statements=[s["key"] for s in disclosure.risk_statements], language="en")
            tokens.append(api_token_create(user=user, name="bench")[1])
    connection.close()
    return Seed(products={asset: p.pk for asset, p in products.items()}, tokens=tokens)


# --- server -----------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_start(port: int, *, workers: int, threads: int, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ, THROTTLE_MONEY="1000000/min", THROTTLE_AUTH="1000000/min",
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

@dataclass
class Request:
    kind: str  # what the request does, for the report ("subscribe", "redeem", "assets")
    method: str
    path: str
    body: bytes | None
    headers: dict[str, str]
    on_answer: Callable[[int, bytes], None] | None = None


@dataclass
class LoadResult:
    name: str
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)  # (kind, outcome) -> count
    by_outcome: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    first_seen: dict[tuple[str, str], float] = field(default_factory=dict)  # seconds into the run
    cpu_busy: float = 0.0  # CPU-seconds the whole machine spent busy during the load (/proc/stat)
    cpu_total: float = 0.0  # CPU-seconds the machine had (wall time × CPUs)
    rounds: list[float] = field(default_factory=list)  # throughput of each round, in order
    cpu_by: Counter = field(default_factory=Counter)  # CPU-seconds by process group (process_cpu)

    @property
    def requests(self) -> int:
        return sum(self.outcomes.values())

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def add(self, other: LoadResult) -> None:
        """Another round of the same load, run after this one's: its times shift by this one's length."""
        for key, at in other.first_seen.items():
            self.first_seen.setdefault(key, self.elapsed + at)
        self.elapsed += other.elapsed
        self.cpu_busy += other.cpu_busy
        self.cpu_total += other.cpu_total
        self.cpu_by.update(other.cpu_by)
        self.rounds += other.rounds or [other.throughput]
        self.latencies += other.latencies
        self.outcomes.update(other.outcomes)
        for key, latencies in other.by_outcome.items():
            self.by_outcome.setdefault(key, []).extend(latencies)

    def count(self, kind: str, outcome: str) -> int:
        return self.outcomes.get((kind, outcome), 0)

    def failures(self) -> int:
        return sum(n for (_kind, outcome), n in self.outcomes.items() if outcome.startswith(("5xx", "connection")))

    def percentile(self, p: float, latencies: list[float] | None = None) -> float:
        """Nearest-rank percentile in milliseconds."""
        ordered = sorted(self.latencies if latencies is None else latencies)
        if not ordered:
            return float("nan")
        rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
        return ordered[rank - 1] * 1000


def cpu_times() -> tuple[float, float]:
    """(busy, total) CPU-seconds of the whole machine since boot, from /proc/stat ((0, 0) elsewhere)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already in user
    return (total - idle) / ticks, total / ticks


def _stat_cpu(path: str) -> tuple[str, int, float]:
    """(comm, ppid, utime + stime seconds) of one /proc/<pid>[/task/<tid>]/stat."""
    with open(path) as stat:
        text = stat.read()
    comm = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu(server_pid: int, chainer_tid: int | None) -> Counter:
    """CPU-seconds since start by (group, pid): the gunicorn master and workers, every PostgreSQL process, Redis,
    the kernel's threads, this script's client threads, and its audit chainer thread (standing in for the
    worker). Empty without /proc."""
    groups: Counter = Counter()
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return groups
    for pid in pids:
        try:
            comm, ppid, cpu = _stat_cpu(f"/proc/{pid}/stat")
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if pid == server_pid or ppid == server_pid:
            groups[("gunicorn", pid)] += cpu
        elif comm == "postgres" or comm.startswith("postgres:"):
            groups[("PostgreSQL", pid)] += cpu
        elif comm.startswith("redis-server"):
            groups[("Redis", pid)] += cpu
        elif ppid == 2:  # the kernel's own threads (block I/O, journal, network), e.g. for WAL flushes
            groups[("kernel", pid)] += cpu
        elif pid == os.getpid():
            chainer = 0.0
            if chainer_tid is not None:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    chainer = _stat_cpu(f"/proc/{pid}/task/{chainer_tid}/stat")[2]
            groups[("clients", pid)] += cpu - chainer
            if chainer_tid is not None:
                groups[("chainer", pid)] += chainer
    return groups


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


class Chainer:
    """Chains audit events every few seconds on its own connection, as beat and a worker would."""

    def __init__(self) -> None:
        from django.conf import settings

        self.every = settings.AUDIT_CHAIN_EVERY_SECONDS
        self.stop = threading.Event()
        self.chained = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        from django.db import connection

        from core.audit import audit_chain

        try:
            while not self.stop.wait(self.every):
                self.chained += audit_chain(wait=False)
        finally:
            connection.close()

    def __enter__(self) -> Chainer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)


def audit_checks() -> bool:
    """Every audit event chained (the rest now) and the chain verifies."""
    from core.audit import audit_chain
    from core.audit_verify import audit_chain_verify

    chained = audit_chain()
    report = audit_chain_verify()
    state = "verifies" if report.intact else f"BROKEN at {report.broken_sequence}"
    print(f"\n== audit: {chained} events chained after the load; chain {state} ({report.checked} events, "
          f"{report.unchained} unchained)")
    return report.intact and report.unchained == 0


def run_load(name: str, port: int, *, concurrency: int, seconds: float,
             make_request: Callable[[], Request], cpu: Callable[[], Counter] = Counter) -> LoadResult:
    """`concurrency` threads, each on its own keep-alive connection, until the deadline; `cpu` gives CPU-seconds
    by process group (process_cpu), read before and after."""
    result = LoadResult(name)
    lock = threading.Lock()
    start_gate = threading.Barrier(concurrency + 1)
    deadline = run_start = 0.0

    def worker() -> None:
        samples: list[tuple[tuple[str, str], float, float]] = []  # (kind, outcome), seconds in, latency
        outcomes: Counter = Counter()
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        start_gate.wait()
        while time.monotonic() < deadline:
            request = make_request()
            started = time.perf_counter()
            try:
                conn.request(request.method, request.path, body=request.body, headers=request.headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                outcomes[(request.kind, f"connection error ({type(exc).__name__})")] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                continue
            key = (request.kind, classify(response.status, data))
            samples.append((key, started - run_start, time.perf_counter() - started))
            outcomes[key] += 1
            if request.on_answer is not None:
                request.on_answer(response.status, data)
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
        conn.close()
        with lock:
            result.outcomes.update(outcomes)
            for key, at, latency in samples:
                result.latencies.append(latency)
                result.by_outcome.setdefault(key, []).append(latency)
                result.first_seen[key] = min(at, result.first_seen.get(key, at))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    started = run_start = time.perf_counter()
    with cpu_measured(result, cpu):
        start_gate.wait()
        for thread in threads:
            thread.join(timeout=seconds + 60)
        result.elapsed = time.perf_counter() - started
    return result


@contextlib.contextmanager
def cpu_measured(result: LoadResult, cpu: Callable[[], Counter]) -> Iterator[None]:
    """The machine's busy CPU (/proc/stat) and each process group's (`cpu`, process_cpu) over the block."""
    busy_before, total_before = cpu_times()
    groups_before = cpu()
    yield
    busy_after, total_after = cpu_times()
    # By process: one that ended meanwhile (a connection past CONN_MAX_AGE) counts nothing, not minus its life.
    for (group, pid), seconds in cpu().items():
        result.cpu_by[group] += seconds - groups_before.get((group, pid), 0.0)
    result.cpu_busy, result.cpu_total = busy_after - busy_before, total_after - total_before


def money_headers(token: str) -> dict[str, str]:
    """A money request's headers: the customer's token, a JSON body and a fresh Idempotency-Key."""
    return {"Authorization": f"Token {token}", "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}


class MoneyMix:
    """Round-robin over the customers: redeem half a subscription from a position they hold (with
    probability `redeem_share`), else subscribe `amount` to one of the products."""

    def __init__(self, seeded: Seed, *, amount: Decimal, redeem_share: float, seed_value: int) -> None:
        self.seeded = seeded
        self.amount = amount
        self.redeem_share = redeem_share
        self.turn = itertools.count()  # next() is atomic under the GIL
        self.random = random.Random(seed_value)
        self.lock = threading.Lock()
        self.positions: dict[int, list[int]] = {}  # customer index -> position ids it subscribed into

    def __call__(self) -> Request:
        customer = next(self.turn) % len(self.seeded.tokens)
        auth = money_headers(self.seeded.tokens[customer])
        with self.lock:
            held = self.positions.get(customer, [])
            redeem = bool(held) and self.random.random() < self.redeem_share
            position = self.random.choice(held) if redeem else None
            asset = self.random.choice(ASSETS)
        if position is not None:
            body = json.dumps({"amount": str(self.amount / 2), "mode": "fast"}).encode()
            return Request("redeem", "POST", f"/api/v1/positions/{position}/redemptions", body, auth)
        body = json.dumps({"product": self.seeded.products[asset], "amount": str(self.amount)}).encode()

        def remember(status: int, data: bytes) -> None:
            if status == 201:
                position_id = json.loads(data)["position"]
                with self.lock:
                    held = self.positions.setdefault(customer, [])
                    if position_id not in held:
                        held.append(position_id)

        return Request("subscribe", "POST", "/api/v1/subscriptions", body, auth, remember)


def warm_up(port: int, seeded: Seed, *, posts: list[tuple[str, dict]], concurrency: int, seconds: float) -> None:
    """Requests that write nothing, through both loads' code, before the timed rounds: the trivial GET and
    `posts` (path, body), each refused (by validation, or 404). Each gunicorn process loads its URLconf and
    views and each thread opens its database connection here, which would otherwise charge that one-time
    work to whichever load runs first."""
    if seconds <= 0:
        return
    turn = itertools.count()

    def make() -> Request:
        n = next(turn)
        auth = money_headers(seeded.tokens[n % len(seeded.tokens)])
        kind = n % (len(posts) + 1)
        if kind == len(posts):
            return Request("warm-up", "GET", "/api/v1/assets", None, auth)
        path, body = posts[kind]
        return Request("warm-up", "POST", path, json.dumps(body).encode(), auth)

    warm = run_load("warm-up", port, concurrency=concurrency, seconds=seconds, make_request=make)
    outcomes = ", ".join(f"{n} × {outcome}" for (_kind, outcome), n in sorted(warm.outcomes.items()))
    print(f"warm-up: {warm.requests} requests in {warm.elapsed:.1f}s ({outcomes}), not counted")


def trivial_requests(seeded: Seed) -> Callable[[], Request]:
    turn = itertools.count()

    def make() -> Request:
        token = seeded.tokens[next(turn) % len(seeded.tokens)]
        return Request("assets", "GET", "/api/v1/assets", None, {"Authorization": f"Token {token}"})

    return make


# --- report -----------------------------------------------------------------------------------------

def print_result(result: LoadResult) -> None:
    print(f"\n== {result.name}")
    print(f"requests:    {result.requests} in {result.elapsed:.1f}s")
    print(f"throughput:  {result.throughput:.1f} req/s")
    print(f"latency ms:  p50 {result.percentile(50):.1f}  p95 {result.percentile(95):.1f}  "
          f"p99 {result.percentile(99):.1f}  max {max(result.latencies, default=0) * 1000:.1f}")
    if len(result.rounds) > 1:
        print("by round:    " + "  ".join(f"{rate:.1f}" for rate in result.rounds) + " req/s")
    if result.cpu_total:
        print(f"CPU busy:    {100 * result.cpu_busy / result.cpu_total:.0f} % of the machine's "
              f"{os.cpu_count()} CPUs (clients, gunicorn, PostgreSQL)")
    if result.cpu_by and result.requests:
        parts = dict(result.cpu_by)
        parts["other"] = result.cpu_busy - sum(parts.values())
        print("CPU ms/req:  " + "  ".join(f"{name} {1000 * seconds / result.requests:.2f}"
                                         for name, seconds in parts.items()))
    print("outcomes:                                       count   first at   p50 ms   p95 ms   p99 ms")
    for (kind, outcome), count in sorted(result.outcomes.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1])):
        lat = result.by_outcome.get((kind, outcome), [])
        first = result.first_seen.get((kind, outcome))
        print(f"  {kind:<10} {outcome:<32} {count:>6}   {'' if first is None else f'{first:6.1f}s':>8} "
              f"{result.percentile(50, lat):8.1f} {result.percentile(95, lat):8.1f} {result.percentile(99, lat):8.1f}")


def check_books(seeded: Seed, load: LoadResult) -> bool:
    """Per product: sold = Σ principal = subscribed − redeemed ≤ cap; one row per 2xx; no balance below zero."""
    from django.db import connection

    ok = True
    print("\n== checks (SQL)")
    with connection.cursor() as cursor:
        for asset, product_id in seeded.products.items():
            cursor.execute("SELECT sold_amount, total_cap FROM earn_product WHERE id = %s", [product_id])
            sold, cap = cursor.fetchone()
            cursor.execute("SELECT COALESCE(SUM(principal), 0) FROM earn_position WHERE product_id = %s", [product_id])
            principal = cursor.fetchone()[0]
            cursor.execute("SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM earn_subscription WHERE product_id = %s",
                           [product_id])
            subs, subscribed = cursor.fetchone()
            cursor.execute(
                "SELECT COUNT(*), COALESCE(SUM(r.amount), 0) FROM earn_redemption r "
                "JOIN earn_position p ON p.id = r.position_id WHERE p.product_id = %s", [product_id])
            redemptions, redeemed = cursor.fetchone()
            product_ok = principal == sold == subscribed - redeemed and (cap is None or sold <= cap)
            ok &= product_ok
            print(f"{asset}: cap {cap.normalize():f}, sold {sold.normalize():f}, "
                  f"Σ principal {principal.normalize():f}, subscribed {subscribed.normalize():f} "
                  f"− redeemed {redeemed.normalize():f}; "
                  f"oversell {max(Decimal(0), sold - cap).normalize():f}  {'ok' if product_ok else 'MISMATCH'}")
        cursor.execute("SELECT COUNT(*) FROM earn_subscription")
        subs_total = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM earn_redemption")
        redemptions_total = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM ledger_ledgeraccount WHERE owner_id IS NOT NULL AND balance < 0")
        overdrawn = cursor.fetchone()[0]
    created_subs, created_redemptions = load.count("subscribe", "201"), load.count("redeem", "201")
    rows_ok = subs_total == created_subs and redemptions_total == created_redemptions
    ok &= rows_ok and overdrawn == 0
    print(f"subscription rows {subs_total} for {created_subs} × 201; redemption rows {redemptions_total} for "
          f"{created_redemptions} × 201  {'ok' if rows_ok else 'MISMATCH (lost or doubled)'}")
    print(f"customer accounts below zero: {overdrawn}")
    return ok and notifications_once(created_subs + created_redemptions)


def notifications_once(confirmed: int) -> bool:
    """One outbox row per 201 (nobody drains them here: no worker runs), each for its own event."""
    from django.conf import settings
    from django.db import connection

    if not settings.NOTIFICATIONS_VIA_CELERY:
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM notifications_outboxmessage "
                       "WHERE key LIKE 'subscription:%%' OR key LIKE 'redemption:%%'")
        rows, keys = cursor.fetchone()
    ok = rows == keys == confirmed
    print(f"notification outbox rows {rows} ({keys} events) for {confirmed} × 201  {'ok' if ok else 'MISMATCH'}")
    return ok


def reconcile() -> bool:
    done = subprocess.run([PYTHON, str(ROOT / "manage.py"), "reconcile"], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, check=False, timeout=600)
    print(f"\n== manage.py reconcile (exit {done.returncode})")
    print((done.stdout + done.stderr).rstrip())
    return done.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each of the two loads")
    parser.add_argument("--rounds", type=int, default=4,
                        help="the two loads alternate in this many rounds (seconds / rounds each)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of requests that write nothing before the timed rounds (0: none)")
    parser.add_argument("--amount", type=Decimal, default=Decimal("100"), help="per subscription (redeem: half)")
    parser.add_argument("--redeem-share", type=float, default=0.3,
                        help="share of requests that redeem when the customer holds a position")
    parser.add_argument("--funding", type=Decimal, default=None, help="per customer and asset (default 4 × amount)")
    parser.add_argument("--cap", type=Decimal, default=None,
                        help="each product's total cap (default customers × amount / 4)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the request mix")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database (for inspection)")
    args = parser.parse_args()
    if not (0 < args.seconds <= 300 and 0 <= args.warmup <= 60 and 0 < args.concurrency <= 64 and args.customers > 0
            and 0 <= args.redeem_share <= 1 and 1 <= args.rounds <= 20):
        parser.error("keep the load bounded: 0 < seconds <= 300, 0 < concurrency <= 64, customers > 0")
    funding = args.funding if args.funding is not None else args.amount * 4
    cap = args.cap if args.cap is not None else args.customers * args.amount / 4
    outcome = {"ok": False}

    def bench() -> None:
        t0 = time.perf_counter()
        seeded = seed(customers=args.customers, funding=funding, cap=cap)
        print(f"seeded {args.customers} customers ({funding} USDT and USDC each), products "
              f"{seeded.products} (cap {cap} each) in {time.perf_counter() - t0:.1f}s")
        from core.audit import audit_chain

        audit_chain()  # the seed's events, as the worker would have done meanwhile
        port = free_port()
        log_path = Path(f"/tmp/earn_bench_load_{os.getpid()}.gunicorn.log")
        server = server_start(port, workers=args.workers, threads=args.threads, log_path=log_path)
        try:
            server_wait(port, server)
            print(f"gunicorn on {HOST}:{port} (-w {args.workers} --threads {args.threads}); "
                  f"load: {args.concurrency} clients × {args.seconds:.0f}s per endpoint in {args.rounds} alternating "
                  f"rounds, redeem share {args.redeem_share}")
            money = LoadResult("subscribe + redeem (POST /api/v1/subscriptions, POST …/redemptions)")
            trivial = LoadResult("GET /api/v1/assets")
            mix = MoneyMix(seeded, amount=args.amount, redeem_share=args.redeem_share, seed_value=args.seed)
            product = next(iter(seeded.products.values()))
            warm_up(port, seeded, concurrency=args.concurrency, seconds=args.warmup,
                    posts=[("/api/v1/subscriptions", {"product": product, "amount": "0"}),
                           ("/api/v1/positions/999999999/redemptions", {"amount": "1", "mode": "fast"})])
            with Chainer() as chainer:
                def cpu() -> Counter:
                    return process_cpu(server.pid, chainer.thread.native_id)

                # Alternating rounds: a machine whose load drifts (other processes) weighs on both alike.
                for _round in range(args.rounds):
                    money.add(run_load(money.name, port, concurrency=args.concurrency,
                                       seconds=args.seconds / args.rounds, make_request=mix, cpu=cpu))
                    trivial.add(run_load(trivial.name, port, concurrency=args.concurrency,
                                         seconds=args.seconds / args.rounds, make_request=trivial_requests(seeded),
                                         cpu=cpu))
        finally:
            server_stop(server)
        print_result(money)
        print_result(trivial)
        ratio = trivial.throughput / money.throughput if money.throughput else float("inf")
        print(f"\nratio (trivial / money throughput): {ratio:.2f}")
        failures = money.failures() + trivial.failures()
        print(f"5xx and connection errors: {failures}")
        books = check_books(seeded, money)
        clean = reconcile()
        audited = audit_checks()
        outcome["ok"] = books and clean and audited and failures == 0
        print(f"\nresult: {'OK' if outcome['ok'] else 'PROBLEMS FOUND'}")
        if outcome["ok"]:
            log_path.unlink(missing_ok=True)
        else:
            print(f"gunicorn log kept: {log_path}")

    run_in_throwaway_database(bench, prefix="earn_bench_load", keep=args.keep_db)
    return 0 if outcome["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
