#!/usr/bin/env python
"""Compliance reports and the audit chain at scale: CSV export of 1 000 000 acknowledgements (time, peak
memory) and `audit_verify` over 1 000 000 chained audit events.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/report_bench.py
    .venv/bin/python bench/report_bench.py --acks 200000 --events 200000

Creates a throwaway database `earn_report_bench_<pid>` on the server of DATABASE_URL (else the embedded
server), migrates it, and drops it at the end (`--keep` keeps it).

- acknowledgements are written set-based (INSERT … SELECT generate_series), then exported: through the
  service the command uses (`compliance_report`: audited, COPY with the cells formatted and formula-escaped
  in SQL, to a file), through `GET /api/v1/staff/reports/acknowledgements` (the streamed HTTP response
  consumed chunk by chunk), and as a bare COPY of the same query (same joins, filter and order, the columns
  as stored, no formatting or escaping) to a file; `CSV/COPY ratio R` is each export's time over the bare
  COPY's, measured in the same run;
- audit events are loaded with COPY unchained, as `audit_record` writes them (canonical JSON payload, no
  hash), then chained by `core.audit.audit_chain` (what the worker runs after commits), then
  `manage.py audit_verify` checks the whole chain.

Peak memory is the process's resident set, sampled every 20 ms while each step runs (the high-water mark
of the step, not of the set-up). Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from benchdb import run_in_throwaway_database

LIMIT_MB = 200
RATIO_GOAL = 3


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--acks", type=int, default=1_000_000, help="acknowledgements (default 1 000 000)")
    parser.add_argument("--events", type=int, default=1_000_000, help="audit events (default 1 000 000)")
    parser.add_argument("--users", type=int, default=10_000, help="customers (default 10 000)")
    parser.add_argument("--audit-only", action="store_true", help="only the audit chain part (no exports)")
    parser.add_argument("--event-months", type=int, default=1,
                        help="spread the audit events over this many monthly partitions (default 1: June 2026)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    return parser.parse_args()


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measured(label: str, step: Callable[[], Any]) -> tuple[Any, float, float, float]:
    """Run `step`, returning (result, seconds, RSS before, peak RSS during) in MB."""
    before, peak, done = _rss_mb(), [0.0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        result = step()
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    peak[0] = max(peak[0], _rss_mb())
    print(f"  {label:<44} {elapsed:8.1f} s   RSS {before:6.1f} MB -> peak {peak[0]:6.1f} MB")
    return result, elapsed, before, peak[0]


def _setup_acks(args: argparse.Namespace) -> tuple[dt.datetime, dt.datetime]:
    from django.db import connection

    from accounts.models import User
    from tests.earn.factories import live_product

    User.objects.bulk_create(User(email=f"c{i}@bench.example", country="HK", password="!")
                             for i in range(args.users))
    product = live_product("USDT", "demand")
    disclosure = product.disclosure
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with connection.cursor() as cursor:
        # Their months' partitions first, as the monthly job would have made them (a tree before the partitioning
        # has none to make).
        cursor.execute("SELECT count(*) FROM pg_partitioned_table"
                       " WHERE partrelid = 'compliance_acknowledgement'::regclass")
        last = start + dt.timedelta(seconds=2.5 * args.acks + 1)
        months = (last.year - start.year) * 12 + last.month - start.month + 1 if cursor.fetchone()[0] else 0
        for m in range(months):
            cursor.execute("SELECT partition_month_ensure('compliance_acknowledgement'::regclass, %s)",
                           [dt.date(2026 + m // 12, m % 12 + 1, 1)])
        cursor.execute("SELECT min(id), count(*) FROM accounts_user WHERE email LIKE '%%@bench.example'")
        first_user, n_users = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO compliance_acknowledgement (user_id, product_id, disclosure_id, disclosure_version, sha256,
                   statements, language, accepted_at, ip_address, user_agent, previous_sha256)
            SELECT %s + (g %% %s), %s, %s, %s, %s, '["no_deposit_protection", "rates_can_change"]'::jsonb,
                   CASE WHEN g %% 3 = 0 THEN 'zh-hant' ELSE 'en' END,
                   %s::timestamptz + make_interval(secs => g * 2.5),
                   ('203.0.113.' || (g %% 250))::inet,
                   'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15',
                   ''
              FROM generate_series(1, %s) g
            """,
            [first_user, n_users, product.pk, disclosure.pk, disclosure.version, disclosure.sha256, start,
             args.acks],
        )
        cursor.execute("ANALYZE compliance_acknowledgement")
    end = start + dt.timedelta(seconds=2.5 * args.acks + 1)
    return start, end


def _setup_events(n: int, months: int = 1) -> None:
    """n unchained events after the existing ones, as audit_record writes them, loaded with COPY, in the
    partitions of `months` months from June 2026 (created first, as the monthly job would have)."""
    import json

    from django.db import connection

    from core.audit import event_body
    from core.models import AuditEvent

    last = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first()
    first_seq = (last or 0) + 1
    base = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    # One month (the default) keeps the 1 ms steps of the earlier runs; more spread the events evenly.
    step = dt.timedelta(microseconds=1000) if months <= 1 else dt.timedelta(days=30 * months) / n
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_partitioned_table WHERE partrelid = 'compliance_auditevent'::regclass")
        for m in range(max(months, 1) + 1 if cursor.fetchone()[0] else 0):  # (a tree before the partitioning)
            month = dt.date(2026 + (5 + m) // 12, (5 + m) % 12 + 1, 1)
            cursor.execute("SELECT partition_month_ensure('compliance_auditevent'::regclass, %s)", [month])
        raw = cursor.connection
        with raw.cursor() as pg, pg.copy(
            "COPY compliance_auditevent (sequence, created_at, actor_id, action, object_type, object_id, before, "
            "after, payload) FROM STDIN"
        ) as copy:
            for i in range(first_seq, first_seq + n):
                created = base + step * i
                after = {"product": i % 40, "amount": f"{i % 997}.50000000", "codes": ["NO_ACK"] if i % 7 else []}
                payload = event_body(sequence=i, created_at=created, actor_id=None, action="bench.event",
                                     object_type="earn.subscription", object_id=str(i), before=None, after=after)
                copy.write_row((i, created, None, "bench.event", "earn.subscription", str(i), None,
                                json.dumps(after), payload))
        cursor.execute("SELECT setval(pg_get_serial_sequence('compliance_auditevent', 'sequence'), %s)",
                       [first_seq + n - 1])
        cursor.execute("ANALYZE compliance_auditevent")


def _bare_copy(start: dt.datetime, end: dt.datetime, path: str) -> int:
    """The same rows as the report, COPY'd with no formatting or escaping: the floor an export can reach."""
    from django.db import connection

    sql = """COPY (SELECT a.id, a.accepted_at, u.email, u.country, a.product_id, p.name_en, a.disclosure_version,
                          a.sha256, a.language, a.ip_address, a.user_agent
                     FROM compliance_acknowledgement a JOIN accounts_user u ON u.id = a.user_id
                     JOIN earn_product p ON p.id = a.product_id
                    WHERE a.accepted_at >= %(start)s AND a.accepted_at < %(end)s
                    ORDER BY a.accepted_at, a.id) TO STDOUT WITH (FORMAT csv, HEADER)"""
    with connection.cursor() as wrapper, open(path, "wb") as out:
        cursor = wrapper.cursor
        with cursor.copy(sql, {"start": start, "end": end}) as copy:
            for data in copy:
                out.write(data)
        return cursor.rowcount



def _backend_cpu_s() -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend (None unless the server is local)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/comm") as comm, open(f"/proc/{pid}/stat") as stat:
            if not comm.read().startswith("postgres"):
                return None
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _vacuum_events() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE compliance_auditevent")  # the chainer rewrote every row once


def _audit_bench(args: argparse.Namespace) -> None:
    """COPY unchained events, chain them as the worker does, then `manage.py audit_verify` over the chain."""
    from django.core.management import call_command

    from core.audit import audit_chain

    measured(f"COPY {args.events:,} unchained audit events", lambda: _setup_events(args.events, args.event_months))
    chain_backend = _backend_cpu_s()
    _r, chain_s, _b, chain_peak = measured("audit_chain (the worker's step)", audit_chain)
    chain_backend = _backend_cpu_s() - chain_backend if chain_backend is not None else None
    measured("VACUUM ANALYZE audit events", _vacuum_events)
    out = io.StringIO()
    backend = _backend_cpu_s()
    _r, verify_s, _b, verify_peak = measured("manage.py audit_verify",
                                             lambda: call_command("audit_verify", stdout=out))
    backend = _backend_cpu_s() - backend if backend is not None else None
    print()
    print(f"audit_chain: {args.events:,} events in {chain_s:.1f} s ({args.events / chain_s:,.0f} events/s), "
          f"peak RSS {chain_peak:.0f} MB")
    print(f"audit_verify: {args.events:,} events in {verify_s:.1f} s ({args.events / verify_s:,.0f} events/s), "
          f"peak RSS {verify_peak:.0f} MB; {out.getvalue().strip()}")
    if backend is not None:  # wall time follows the machine's load; the server's CPU time does not
        print(f"audit_verify: PostgreSQL backend CPU {backend:.1f} s for {args.events:,} events")
    if chain_backend is not None:
        print(f"audit_chain: PostgreSQL backend CPU {chain_backend:.1f} s for {args.events:,} events")
    print(f"audit events in {args.event_months} monthly partition(s)")


def bench(args: argparse.Namespace) -> None:
    from rest_framework.test import APIRequestFactory, force_authenticate

    from accounts import roles
    from compliance.api.reports import StaffReportApi
    from compliance.services.reports import export_csv, report_export
    from tests.earn.factories import staff_user

    print(f"acknowledgements: {args.acks:,}; audit events: {args.events:,}; customers: {args.users:,}")
    if args.audit_only:
        _audit_bench(args)
        return
    (start, end), *_ = measured(f"insert {args.acks:,} acknowledgements (SQL)", lambda: _setup_acks(args))

    path = f"/tmp/report_bench_{os.getpid()}.csv"
    officer = staff_user(roles.COMPLIANCE_OFFICER, email="officer@bench.example")

    def export_to_file() -> int:
        export = report_export(actor=officer, kind="acknowledgements", start=start, end=end, fmt="csv",
                               channel="command")
        stream = export_csv(export)
        with open(path, "wb") as out:
            for chunk in stream:
                out.write(chunk)
        return stream.rows or 0

    rows, csv_s, _b, csv_peak = measured("CSV export to a file (compliance_report path)", export_to_file)
    size_mb = os.path.getsize(path) / 1024 / 1024
    copy_rows, copy_s, _b, copy_peak = measured("bare COPY of the same query to a file",
                                                lambda: _bare_copy(start, end, path))
    copy_mb = os.path.getsize(path) / 1024 / 1024
    os.unlink(path)
    view = StaffReportApi.as_view()

    def export_over_http() -> tuple[int, int]:
        request = APIRequestFactory().get(
            f"/api/v1/staff/reports/acknowledgements?from={start.date()}&to={end.date()}")
        force_authenticate(request, user=officer)
        response = view(request, kind="acknowledgements")
        assert response.status_code == 200, response.status_code
        total = chunks = 0
        for chunk in response.streaming_content:
            total += len(chunk)
            chunks += 1
        return total, chunks

    (size, chunks), http_s, _b, http_peak = measured("CSV export over GET /staff/reports (streamed)",
                                                     export_over_http)
    print()
    print(f"CSV export: {rows:,} rows, {size_mb:.0f} MB in {csv_s:.1f} s ({rows / csv_s:,.0f} rows/s), "
          f"peak RSS {csv_peak:.0f} MB (limit {LIMIT_MB} MB: {'OK' if csv_peak < LIMIT_MB else 'OVER'})")
    print(f"bare COPY: {copy_rows:,} rows, {copy_mb:.0f} MB in {copy_s:.1f} s, peak RSS {copy_peak:.0f} MB")
    print(f"CSV/COPY ratio R = {csv_s / copy_s:.2f} (file; goal <= {RATIO_GOAL})")
    print(f"HTTP export: {size / 1024 / 1024:.0f} MB in {chunks:,} chunks in {http_s:.1f} s, "
          f"peak RSS {http_peak:.0f} MB ({'OK' if http_peak < LIMIT_MB else 'OVER'})")
    print(f"CSV/COPY ratio R = {http_s / copy_s:.2f} (HTTP; goal <= {RATIO_GOAL})")
    _audit_bench(args)


if __name__ == "__main__":
    arguments = _parse()
    run_in_throwaway_database(lambda: bench(arguments), prefix="earn_report_bench", keep=arguments.keep)
