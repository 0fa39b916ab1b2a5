#!/usr/bin/env python
"""The longer schemathesis run: tests/api_fuzz with many more examples per operation, then its figures.

    .venv/bin/python bench/fuzz_api.py [--examples 100] [--seed N] [-k EXPR]

`make test` runs the same test with a few examples per operation (FUZZ_MAX_EXAMPLES, default 8);
this raises it, runs every operation of the OpenAPI schema as a customer and as staff on PostgreSQL
(the test database TEST_DATABASE_NAME, default `test_earn_fuzz`, created afresh), and prints how many
requests each operation got, the answers by status, every 5xx, and the failures pytest reported
(a 5xx, or an answer whose status, content type, headers or body the schema does not describe).
Exit status is pytest's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTEST = ROOT / ".venv" / "bin" / "pytest"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="max examples per operation and identity")
    parser.add_argument("--seed", type=int, default=None, help="schemathesis seed (default: the test's)")
    parser.add_argument("-k", dest="keyword", default=None, help="pytest -k expression, e.g. 'subscriptions'")
    args = parser.parse_args()
    if not 0 < args.examples <= 5000:
        parser.error("--examples must be between 1 and 5000")

    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "tally.json"
        env = dict(os.environ, FUZZ_MAX_EXAMPLES=str(args.examples), FUZZ_REPORT=str(report))
        env.setdefault("TEST_DATABASE_NAME", "test_earn_fuzz")
        if args.seed is not None:
            env["FUZZ_SEED"] = str(args.seed)
        command = [str(VENV_PYTEST) if VENV_PYTEST.exists() else "pytest", "tests/api_fuzz/test_schemathesis.py",
                   "-q", "--create-db", "-o", "console_output_style=classic"]
        if args.keyword:
            command += ["-k", args.keyword]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        rows = json.loads(report.read_text()) if report.exists() else []

    by_status: Counter = Counter()
    by_operation: dict[str, Counter] = defaultdict(Counter)
    server_errors: Counter = Counter()
    for row in rows:
        by_status[row["status"]] += row["count"]
        by_operation[row["operation"]][row["identity"]] += row["count"]
        if row["status"] >= 500:
            server_errors[(row["identity"], row["operation"], row["status"])] += row["count"]
    total = sum(by_status.values())
    # Each failure section is headed "____ test_api_fuzz_as_customer[POST /api/v1/…] ____" and lists
    # schemathesis' findings as "| - ST103 Undocumented status code"-style lines.
    failed: dict[str, list[str]] = {}
    section = None
    for line in done.stdout.splitlines():
        header = re.fullmatch(r"_{3,} (test_\S+\[.+\]) _{3,}", line.strip())
        if header:
            section = header.group(1)
            failed[section] = []
        elif (section and (finding := re.match(r"\s*\|?\s*- (\S+ .+)$", line)) and finding.group(1)[:2].isupper()
              and finding.group(1) not in failed[section]):
            failed[section].append(finding.group(1))
    log = Path(tempfile.gettempdir()) / f"fuzz_api_{os.getpid()}.log"
    log.write_text(done.stdout + done.stderr)
    summary = next((line for line in reversed(done.stdout.splitlines()) if re.search(r"\d+ (passed|failed)", line)),
                   "(no pytest summary)")

    print(f"schemathesis over the OpenAPI schema: {len(by_operation)} operations × customer and staff, "
          f"up to {args.examples} examples each")
    print(f"requests:   {total} in {elapsed:.0f}s")
    print("by status:  " + ", ".join(f"{status}: {count}" for status, count in sorted(by_status.items())))
    print(f"5xx:        {sum(server_errors.values())}")
    for (identity, operation, status), count in sorted(server_errors.items()):
        print(f"  {status} × {count}  {operation}  (as {identity})")
    print(f"pytest:     {summary.strip('= ')}")
    for name, findings in failed.items():
        print(f"  FAILED {name}: {'; '.join(findings) or 'see the log'}")
    print(f"pytest output: {log}")
    print("\nrequests per operation (customer / staff):")
    for operation in sorted(by_operation, key=lambda op: (op.split(" ", 1)[1], op)):
        counts = by_operation[operation]
        print(f"  {counts['customer']:>6} / {counts['staff']:<6} {operation}")
    if done.returncode not in (0, 1):
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
