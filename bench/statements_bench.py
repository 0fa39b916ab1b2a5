#!/usr/bin/env python
"""Monthly statements for N customers: the time and peak memory to build them and render each as PDF and CSV.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/statements_bench.py
    .venv/bin/python bench/statements_bench.py --customers 300        # minutes, not half an hour

A PDF takes most of a second (the embedded CJK font is parsed for every document; docs/BENCHMARKS.md),
so the default 2 000 customers take about half an hour on a busy 2-core machine.

Creates a throwaway database and N customers with set-based SQL through the ledger's triggers (a USDT
deposit each, a subscription into Earn for one in two, interest for one in four, BTC for one in ten,
all in February 2026), then, as `manage.py statements --month 2026-02` does, `statements_run` builds
every statement (figures from the ledger, stored once), and each statement is rendered as the portal
serves it: PDF (fpdf2, the embedded CJK font) and CSV, half in English and half in Traditional Chinese.
Prints the time of each phase, per statement, the PDF sizes, the peak resident memory of the process and
the peak of Python's allocations while rendering (tracemalloc, on a sample apart, as it slows rendering).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import tracemalloc

from benchdb import run_in_throwaway_database
from liabilities_bench import _customers, _load, _rss_mib


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2_000, help="customers (default 2 000)")
    parser.add_argument("--sample", type=int, default=100, help="statements rendered under tracemalloc (default 100)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    return parser.parse_args()


def _render(statements: list, languages: tuple[str, ...] = ("en", "zh-hant")) -> tuple[int, int, float, float]:
    """(PDF bytes, CSV bytes, PDF seconds, CSV seconds) of rendering every statement once."""
    from statements.render import statement_csv, statement_pdf

    pdf_bytes = csv_bytes = 0
    pdf_seconds = csv_seconds = 0.0
    for i, statement in enumerate(statements):
        language = languages[i % len(languages)]
        started = time.perf_counter()
        pdf_bytes += len(statement_pdf(statement.figures, language))
        middle = time.perf_counter()
        csv_bytes += len(statement_csv(statement.figures, language).encode())
        pdf_seconds += middle - started
        csv_seconds += time.perf_counter() - middle
        if (i + 1) % 500 == 0:
            print(f"  … {i + 1:,} rendered", flush=True)
    return pdf_bytes, csv_bytes, pdf_seconds, csv_seconds


def _bench(args: argparse.Namespace) -> None:
    import time_machine

    from ledger.models import Asset, LedgerAccount
    from statements.models import Statement
    from statements.services import statements_run

    print(f"{args.customers:,} customers; {os.cpu_count()} CPUs, load average {_load()}")
    Asset.objects.get_or_create(code="USDT", defaults={"name": "Tether USD", "scale": 8})
    Asset.objects.get_or_create(code="BTC", defaults={"name": "Bitcoin", "scale": 8})
    for asset, kind in (("USDT", "external"), ("BTC", "external"), ("USDT", "yield_expense")):
        LedgerAccount.objects.get_or_create(owner=None, asset_id=asset, kind=kind)
    moment = dt.datetime(2026, 2, 10, 12, tzinfo=dt.UTC)
    started = time.perf_counter()
    with time_machine.travel(moment, tick=True):
        _customers(1, args.customers, moment)
    print(f"setup: {args.customers:,} customers with their February postings in {time.perf_counter() - started:.1f}s")
    month = dt.date(2026, 2, 1)
    with time_machine.travel(dt.datetime(2026, 3, 1, 1, tzinfo=dt.UTC), tick=True):
        started = time.perf_counter()
        run = statements_run(month)
        built = time.perf_counter() - started
    print(f"build (statements_run, figures from the ledger): {built:.1f}s for {run.statements:,} statements, "
          f"{built / max(run.statements, 1) * 1000:.1f} ms each (load {_load()})", flush=True)
    statements = list(Statement.objects.filter(month=month).order_by("id"))
    rss_before = _rss_mib()
    started = time.perf_counter()
    pdf_bytes, csv_bytes, pdf_seconds, csv_seconds = _render(statements)
    rendered = time.perf_counter() - started
    n = len(statements)
    print(f"render PDF + CSV: {rendered:.1f}s for {n:,} statements, {rendered / n * 1000:.1f} ms each (PDF "
          f"{pdf_seconds / n * 1000:.1f} ms, CSV {csv_seconds / n * 1000:.2f} ms); PDF {pdf_bytes / n / 1024:.0f} KiB "
          f"and CSV {csv_bytes / n:.0f} bytes on average (load {_load()})", flush=True)
    print(f"peak resident memory of this process: {_rss_mib():.0f} MiB (before rendering {rss_before:.0f} MiB)")
    tracemalloc.start()
    _render(statements[:args.sample])
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"Python allocations rendering {min(args.sample, len(statements))} statements: {peak / 2**20:.1f} MiB peak "
          "(memory does not grow with the number rendered: each statement is rendered and dropped)")
    print(f"total build + render: {built + rendered:.1f}s, {(built + rendered) / len(statements) * 1000:.1f} ms a "
          f"customer → {(built + rendered) / len(statements) * 1_000_000 / 3600:.1f} h per million on one process")


def main() -> int:
    args = _parse()
    run_in_throwaway_database(lambda: _bench(args), prefix="earn_statements_bench", keep=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
