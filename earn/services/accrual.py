"""The daily accrual engine: exactly-once interest per (position, day), set-based, in chunks.

For day D (ended), every position earning on D gets one accrual row: base = what it held as of
the end of D (its current principal minus changes effective after D, so a late run sees what an
on-time run would have), marginal tiers of the terms in force, exact at 18 dp, posted = floor to
the asset's scale of exact + previous carry. Each chunk of positions is one transaction holding
its accrual rows, its ledger entry (one credit posting per customer, one platform debit per
asset) and the balance updates. The unique (position, date) key makes a replay fail rather than
pay twice; chunks skip positions already accrued, so a rerun after a crash finishes the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Min
from django.utils import timezone

from earn.models import AccrualRun, Position
from ledger import bulk
from ledger.models import AccountKind, EntryKind

DEFAULT_CHUNK = 10_000
# pg_try_advisory_lock key: one accrual run at a time, across workers, beats and commands.
ACCRUAL_LOCK = 0x41434352  # "ACCR"

_CANDIDATES = """
CREATE TEMP TABLE _accrual_chunk ON COMMIT DROP AS
WITH cand AS (
    SELECT p.id, p.user_id, p.asset_id, p.term_type, p.terms_id, p.product_id,
           p.principal - coalesce((SELECT sum(c.amount) FROM earn_positionchange c
                                    WHERE c.position_id = p.id AND c.effective_date > %(day)s), 0) AS base
      FROM earn_position p
     WHERE p.id BETWEEN %(lo)s AND %(hi)s
       AND (p.status = 'active' OR p.closed_at >= %(day)s::date)
       AND p.value_date <= %(day)s
       AND (p.maturity_date IS NULL OR %(day)s < p.maturity_date)
       AND NOT EXISTS (SELECT 1 FROM earn_accrual a WHERE a.position_id = p.id AND a.date = %(day)s)
), in_force AS (
    SELECT DISTINCT ON (product_id) product_id, id FROM earn_productterms
     WHERE status = 'approved' AND effective_from <= %(day)s
     ORDER BY product_id, effective_from DESC, version DESC
), priced AS (
    SELECT c.*, t.id AS tid, t.day_count_basis AS basis, t.payout
      FROM cand c
      JOIN earn_productterms t ON t.id = CASE WHEN c.term_type = 'demand'
                                              THEN (SELECT f.id FROM in_force f WHERE f.product_id = c.product_id)
                                              ELSE c.terms_id END
     WHERE c.base > 0
), yearly AS (
    SELECT pr.id, sum(greatest(least(pr.base, coalesce(r.upper, pr.base)) - r.lower, 0) * r.apr) AS y
      FROM priced pr JOIN earn_ratetier r ON r.terms_id = pr.tid GROUP BY pr.id
), exact AS (
    SELECT pr.id AS position_id, pr.user_id, pr.asset_id, pr.base, pr.payout, a.scale,
           trunc(coalesce(y.y, 0) / pr.basis, 18) AS exact,
           trunc(coalesce(y.y, 0) / pr.base, 18) AS apr,
           coalesce((SELECT la.carry FROM earn_accrual la WHERE la.position_id = pr.id AND la.date < %(day)s
                      ORDER BY la.date DESC LIMIT 1), 0) AS prev_carry
      FROM priced pr LEFT JOIN yearly y ON y.id = pr.id JOIN ledger_asset a ON a.code = pr.asset_id
)
SELECT position_id, user_id, asset_id, base, payout, apr, exact,
       trunc(exact + prev_carry, scale) AS posted,
       exact + prev_carry - trunc(exact + prev_carry, scale) AS carry
  FROM exact
"""


@dataclass
class AccrualDayResult:
    date: dt.date
    positions: int = 0
    posted: dict[str, Decimal] = field(default_factory=dict)
    chunks: int = 0


def last_completed_day(now: dt.datetime | None = None) -> dt.date:
    """Yesterday (UTC): the latest day that has ended."""
    now = now or timezone.now()
    return timezone.localtime(now, dt.UTC).date() - dt.timedelta(days=1)


def _chunk_bounds(day: dt.date, chunk_size: int) -> list[tuple[int, int]]:
    """Id ranges of at most `chunk_size` candidate positions (deterministic for a given day)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT min(id), max(id) FROM (
                SELECT id, (row_number() OVER (ORDER BY id) - 1) / %s AS bucket FROM earn_position
                 WHERE (status = 'active' OR closed_at >= %s::date) AND value_date <= %s
            ) b GROUP BY bucket ORDER BY 1
            """,
            [chunk_size, day, day],
        )
        return [(lo, hi) for lo, hi in cursor.fetchall()]


def _accrue_chunk(run: AccrualRun, day: dt.date, lo: int, hi: int) -> tuple[int, dict[str, Decimal]]:
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS _accrual_chunk")
        cursor.execute(_CANDIDATES, {"day": day, "lo": lo, "hi": hi})
        cursor.execute(
            """
            INSERT INTO earn_accrual (position_id, date, base, apr, exact, posted, carry, payout, paid_out,
                                      run_id, created_at)
            SELECT position_id, %s, base, apr, exact, posted, carry, payout, payout <> 'at_maturity', %s, %s
              FROM _accrual_chunk
            """,
            [day, run.pk, now],
        )
        rows = cursor.rowcount
        if rows == 0:
            return 0, {}
        result = bulk.entry_post_credits(
            kind=EntryKind.ACCRUAL, idempotency_key=f"accrual:{day.isoformat()}:{lo}-{hi}",
            reference=f"accrual:{day.isoformat()}", debit_kind=AccountKind.YIELD_EXPENSE,
            credits_sql="""
                SELECT user_id, asset_id,
                       CASE payout WHEN 'at_maturity' THEN 'accrued' ELSE 'available' END, posted
                  FROM _accrual_chunk
            """,
            params=[],
        )
        cursor.execute("DROP TABLE _accrual_chunk")
    return rows, result.total


def accrue_day(day: dt.date, *, chunk_size: int = DEFAULT_CHUNK,
               progress: Callable[[int, int], None] | None = None) -> AccrualDayResult:
    """Accrue one ended day; resumes where an interrupted run stopped. Refuses days not yet ended."""
    if day > last_completed_day():
        raise ValueError(f"{day} has not ended yet (UTC); the latest day that can be accrued is "
                         f"{last_completed_day()}")
    run, _ = AccrualRun.objects.get_or_create(date=day)
    result = AccrualDayResult(date=day)
    if run.status == AccrualRun.Status.DONE:
        return result
    bounds = _chunk_bounds(day, chunk_size)
    for index, (lo, hi) in enumerate(bounds, start=1):
        rows, totals = _accrue_chunk(run, day, lo, hi)
        result.positions += rows
        result.chunks += 1
        for asset, total in totals.items():
            result.posted[asset] = result.posted.get(asset, Decimal(0)) + total
        if progress:
            progress(index, len(bounds))
    AccrualRun.objects.filter(pk=run.pk).update(
        status=AccrualRun.Status.DONE, finished_at=timezone.now(),
        positions=F("positions") + result.positions,
        posted_total=F("posted_total") + sum(result.posted.values(), Decimal(0)))
    return result


def days_pending(until: dt.date | None = None) -> list[dt.date]:
    """Every ended day not yet accrued, oldest first, from the first value date on."""
    until = until or last_completed_day()
    done = AccrualRun.objects.filter(status=AccrualRun.Status.DONE).order_by("-date").values_list("date", flat=True)
    last_done = done.first()
    start = (last_done + dt.timedelta(days=1)) if last_done else \
        Position.objects.aggregate(first=Min("value_date"))["first"]
    if start is None or start > until:
        return []
    return [start + dt.timedelta(days=i) for i in range((until - start).days + 1)]


def accrue_pending(*, until: dt.date | None = None, chunk_size: int = DEFAULT_CHUNK,
                   progress: Callable[[dt.date, int, int], None] | None = None) -> list[AccrualDayResult] | None:
    """Catch up: accrue every pending day in order. Returns None if another run holds the lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [ACCRUAL_LOCK])
        if not cursor.fetchone()[0]:
            return None
    try:
        results = []
        for day in days_pending(until):
            results.append(accrue_day(day, chunk_size=chunk_size,
                                      progress=(lambda i, n, d=day: progress(d, i, n)) if progress else None))
        return results
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [ACCRUAL_LOCK])
