"""A throwaway database for a benchmark: created on the server of DATABASE_URL (else the embedded
server), migrated, handed to the benchmark, dropped at the end unless kept."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url:
        return url
    from config import embedded

    return embedded.database_url()


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def admin_connection(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)


def run_in_throwaway_database(bench: Callable[[], None], *, prefix: str, keep: bool = False) -> None:
    """Create `<prefix>_<pid>`, point Django at it, migrate, run `bench()`, drop it (unless `keep`)."""
    server = server_url()
    name = f"{prefix}_{os.getpid()}"
    with admin_connection(server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = with_database(server, name)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ.setdefault("DJANGO_DEBUG", "false")  # DEBUG would keep every query in memory
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        bench()
    finally:
        from django.db import connections

        connections.close_all()
        if keep:
            print(f"kept database {name}")
        else:
            with admin_connection(server) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reconcile_and_print() -> bool:
    """Run the ledger's reconciliation (with every app's checks), print its figures; true when clean."""
    import time

    from ledger.reconcile import ledger_reconcile

    started = time.perf_counter()
    report = ledger_reconcile()
    verdict = "clean" if report.ok else f"{len(report.mismatches)} MISMATCHES"
    print(f"reconcile: {report.accounts_checked:,} accounts, {report.entries_checked:,} entries in "
          f"{time.perf_counter() - started:.1f}s — {verdict}")
    for mismatch in report.mismatches[:10]:
        print(f"  {mismatch}")
    return report.ok
