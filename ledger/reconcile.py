"""Reconciliation: prove the stored balances and entries agree with the postings.

The built-in checks are set-based (one query each, whatever the number of accounts or entries):
- every account's stored balance equals credits minus debits of its postings (PostgreSQL maintains
  it from the postings and refuses other writes, so a mismatch means its triggers were bypassed);
- every journal entry has at least two postings and sums to zero per asset;
- the balances of each asset sum to zero across all accounts.

Other apps add their own checks with `register_check(name, fn)` (e.g. earn: positions vs the
ledger's earn balances), usually from `AppConfig.ready()`. A check returns a list of mismatch
strings, empty when clean. All checks run in one REPEATABLE READ snapshot, so postings committed
while the job runs cannot make two checks disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction

from ledger.models import ReconcileRun

logger = logging.getLogger(__name__)

Check = Callable[[], list[str]]

_checks: dict[str, Check] = {}

# Stored balance vs the postings, for every account (accounts without postings must be zero), plus
# the sums of months detached for retention (ledger_archivedpostings).
# Returns the number of accounts checked on every row, and one row of NULLs when all agree.
_ACCOUNTS_SQL = """
WITH computed AS (
    SELECT account_id, sum(total) AS total FROM (
        SELECT account_id, sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS total
          FROM ledger_posting
         GROUP BY account_id
        UNION ALL
        SELECT account_id, sum(amount) FROM ledger_archivedpostings GROUP BY account_id
    ) s GROUP BY account_id
), compared AS (
    SELECT acc.id, acc.owner_id, acc.asset_id, acc.kind, acc.balance, coalesce(c.total, 0) AS computed
      FROM ledger_ledgeraccount acc
      LEFT JOIN computed c ON c.account_id = acc.id
)
SELECT t.n, m.id, m.owner_id, m.asset_id, m.kind, m.balance, m.computed
  FROM (SELECT count(*) AS n FROM compared) t
  LEFT JOIN LATERAL (SELECT * FROM compared WHERE balance <> computed) m ON true
 ORDER BY m.id
"""

# Entries with fewer than two postings or a non-zero sum in some asset.
_ENTRIES_SQL = """
WITH per_asset AS (
    SELECT entry_id, asset_id, count(*) AS legs, sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS net
      FROM ledger_posting
     GROUP BY entry_id, asset_id
), per_entry AS (
    SELECT e.id, e.idempotency_key, coalesce(sum(pa.legs), 0) AS legs,
           coalesce(string_agg(pa.asset_id || ' ' || pa.net::text, ', ' ORDER BY pa.asset_id)
                    FILTER (WHERE pa.net <> 0), '') AS unbalanced
      FROM ledger_journalentry e
      LEFT JOIN per_asset pa ON pa.entry_id = e.id
     GROUP BY e.id, e.idempotency_key
)
SELECT t.n, m.id, m.idempotency_key, m.legs, m.unbalanced
  FROM (SELECT count(*) AS n FROM per_entry) t
  LEFT JOIN LATERAL (SELECT * FROM per_entry WHERE legs < 2 OR unbalanced <> '') m ON true
 ORDER BY m.id
"""

_ASSETS_SQL = """
SELECT asset_id, sum(balance) FROM ledger_ledgeraccount GROUP BY asset_id HAVING sum(balance) <> 0 ORDER BY asset_id
"""


@dataclass(frozen=True)
class Mismatch:
    check: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.detail}"


@dataclass
class ReconcileReport:
    accounts_checked: int = 0
    entries_checked: int = 0
    checks_run: list[str] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def as_dict(self) -> dict:
        """JSON-safe form (the Celery task's result)."""
        return {"ok": self.ok, "accounts_checked": self.accounts_checked, "entries_checked": self.entries_checked,
                "checks_run": list(self.checks_run),
                "mismatches": [{"check": m.check, "detail": m.detail} for m in self.mismatches]}


def register_check(name: str, fn: Check) -> None:
    """Add (or replace) a named check run by every reconciliation after the ledger's own."""
    _checks[name] = fn


def register_sql_checks(checks: dict[str, str], labels: dict[str, str]) -> None:
    """Register one check per query: each returns only mismatching rows, each row formatted by its label."""
    for name, sql in checks.items():
        register_check(name, _sql_check(name, sql, labels[name]))


def _sql_check(name: str, sql: str, label: str) -> Check:
    def check() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return [label.format(*row) for row in cursor.fetchall()]

    check.__name__ = name
    return check


def unregister_check(name: str) -> None:
    _checks.pop(name, None)


def registered_checks() -> dict[str, Check]:
    return dict(_checks)


def _fmt(amount: Decimal) -> str:
    return format(amount.normalize(), "f") if amount else "0"


def _check_accounts(report: ReconcileReport) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_ACCOUNTS_SQL)
        rows = cursor.fetchall()  # always one row at least: (count, NULL...) when clean
    report.accounts_checked = rows[0][0]
    for _total, account_id, owner_id, asset, kind, balance, computed in rows:
        if account_id is None:
            continue
        owner = owner_id if owner_id is not None else "platform"
        report.mismatches.append(Mismatch(
            "account_balance",
            f"account {account_id} ({owner}:{asset}:{kind}) stores {_fmt(balance)} but its postings sum to "
            f"{_fmt(computed)} (difference {_fmt(balance - computed)})",
        ))


def _check_entries(report: ReconcileReport) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_ENTRIES_SQL)
        rows = cursor.fetchall()
    report.entries_checked = rows[0][0]
    for _total, entry_id, key, legs, unbalanced in rows:
        if entry_id is None:
            continue
        if legs < 2:
            report.mismatches.append(Mismatch("entry_postings", f"entry {entry_id} ({key}) has {legs} posting(s)"))
        if unbalanced:
            report.mismatches.append(Mismatch("entry_balanced", f"entry {entry_id} ({key}) does not balance: "
                                                                f"{unbalanced}"))


def _check_asset_totals(report: ReconcileReport) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_ASSETS_SQL)
        for asset, total in cursor.fetchall():
            report.mismatches.append(Mismatch("asset_total", f"balances of {asset} sum to {_fmt(total)}, not 0"))


def _run(report: ReconcileReport) -> None:
    for name, builtin in (("account_balance", _check_accounts), ("entry", _check_entries),
                          ("asset_total", _check_asset_totals)):
        builtin(report)
        report.checks_run.append(name)
    for name, fn in list(_checks.items()):
        try:
            # A savepoint, so a check that fails in SQL cannot abort the snapshot for the others.
            with transaction.atomic():
                found = fn()
        except Exception as exc:
            logger.exception("reconciliation check %s failed", name)
            found = [f"check raised {type(exc).__name__}: {exc}"]
        report.checks_run.append(name)
        report.mismatches.extend(Mismatch(name, str(detail)) for detail in found)


def ledger_reconcile() -> ReconcileReport:
    """Run the ledger's checks and every registered one; read-only, one consistent snapshot."""
    report = ReconcileReport()
    if connection.in_atomic_block:
        # Already inside a transaction (a caller's, or a test's): use its snapshot as it is.
        _run(report)
    else:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            _run(report)
    _record(report)
    if report.ok:
        logger.info("reconciliation clean: %s accounts, %s entries", report.accounts_checked, report.entries_checked)
    else:
        logger.error("reconciliation found %s mismatch(es): %s", len(report.mismatches),
                     "; ".join(str(m) for m in report.mismatches[:20]))
    return report


def _record(report: ReconcileReport) -> None:
    """Keep the outcome (outside the read-only snapshot): the health of the books over time, and the metric."""
    ReconcileRun.objects.create(ok=report.ok, accounts_checked=report.accounts_checked,
                                entries_checked=report.entries_checked, mismatches=len(report.mismatches),
                                detail=[{"check": m.check, "detail": m.detail} for m in report.mismatches[:20]])
