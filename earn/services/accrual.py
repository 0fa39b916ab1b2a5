"""The daily accrual engine: exactly-once interest per (position, day), set-based, in chunks.

For day D (ended), every position earning on D gets one accrual row: base = what it held as of
the end of D (its current principal minus changes effective after D, so a late run sees what an
on-time run would have), marginal tiers of the terms in force, exact at 18 dp, posted = floor to
the asset's scale of exact + previous carry. Each chunk (a range of customers: a customer's
positions are never split) is one transaction holding its accrual rows, its ledger entry (one
credit per customer account — the customer's positions summed; the accrual rows keep each
position's share, and reconcile checks they add up, day by day — and one platform debit per
asset) and the balance updates. The unique (position, date) key makes a replay fail rather than
pay twice; chunks skip positions already accrued, so a rerun after a crash finishes the rest.

Progress lives in the database: a day is planned once into `AccrualChunk` rows (customer id
ranges; rows planned by older releases bound position ids and are worked as planned), which
a worker claims with `FOR UPDATE SKIP LOCKED` and marks done in the chunk's own transaction. The
same chunks are worked by Celery (`accrual_dispatch` fans them out, `accrual_sweep` re-queues any
left behind) or inline by `run_accrual`. Days go strictly in order, because a day's carry and
compounded principal are the next day's input.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Min
from django.utils import timezone

from earn.interest_sql import APR_SQL, CARRY_SQL, EXACT_SQL, POSTED_SQL, yearly_inline_sql, yearly_sql
from earn.models import AccrualChunk, AccrualLease, AccrualRun, Position
from earn.services.settlement import maturities_settle
from ledger import bulk
from ledger.models import AccountKind, EntryKind

# pg_try_advisory_xact_lock key: one scheduler step (or lease change) at a time, across workers, beats and
# commands. The inline catch-up holds the lease named LEASE_NAME (earn.models.AccrualLease) between them.
ACCRUAL_LOCK = 0x41434352  # "ACCR"
LEASE_NAME = "accrual"

# The CTEs are MATERIALIZED and each per-position lookup is a correlated index probe or a hash join
# with a small set, so the plan stays linear in the chunk whatever the planner estimates (an inlined
# aggregate once turned into a nested loop: 129 positions/s at 20 000 positions). One probe of the
# (position, date) index finds the position's latest accrual up to the day: on the day itself, the
# position is already accrued (a replay) and is skipped; before it, its carry is the day's input.
# Changes effective after the day (subtracted from the principal: the base as of the end of the day)
# are read once per chunk — the few since midnight on a daily run — and joined by hash, not probed
# per position. The interest itself comes from earn.interest_sql, the fragments a test checks against
# earn.interest, computed in nested subqueries (`OFFSET 0` keeps each a step of its own, so a value
# is computed once per row) instead of one materialised CTE per step. The tiers come as arrays on the
# terms' row (`terms`, hashed once per chunk), summed by an expression instead of a subquery per
# position (about 1 µs a position); terms with more tiers than earn.interest_sql.INLINE_TIERS keep the
# subquery. `{range}` bounds the chunk: customer ids (chunks planned now) or position ids (chunks
# planned by older releases).
# earn_accrual is partitioned by month of `date` (core/partitions.py): the probe looks in the day's
# month's partition first, then in the previous month's (`month`, `recent`, pruned when the query is
# planned), and in the older ones only for a position with no accrual since (a new one) — the UNION ALL
# stops at its first row — so its cost does not grow with the months of history kept, and on every day
# but a month's first it is one index descent (both months in one arm took a descent into each).
_CANDIDATES_SQL = """
WITH in_force AS MATERIALIZED (
    SELECT DISTINCT ON (product_id) product_id, id FROM earn_productterms
     WHERE status = 'approved' AND effective_from <= %(day)s
     ORDER BY product_id, effective_from DESC, version DESC
), terms AS MATERIALIZED (
    SELECT t.id, t.payout, t.day_count_basis, r.n, r.lower, r.upper, r.apr
      FROM earn_productterms t
      LEFT JOIN (SELECT terms_id, count(*) AS n, array_agg(lower ORDER BY lower) AS lower,
                        array_agg(upper ORDER BY lower) AS upper, array_agg(apr ORDER BY lower) AS apr
                   FROM earn_ratetier GROUP BY terms_id) r ON r.terms_id = t.id
), later AS MATERIALIZED (
    SELECT c.position_id, sum(c.amount) AS amount FROM earn_positionchange c
     WHERE c.effective_date > %(day)s
       AND c.position_id IN (SELECT p.id FROM earn_position p WHERE {range} BETWEEN %(lo)s AND %(hi)s)
     GROUP BY c.position_id
), chunk AS MATERIALIZED (
    -- 3. what is posted and carried
    SELECT id AS position_id, user_id, asset_id, product_id, base, payout, apr, exact,
           {posted} AS posted,
           {carry} AS carry
      FROM (
        -- 2. the exact interest of the day and the blended APR
        SELECT *, {exact} AS exact, {apr} AS apr
          FROM (
            -- 1. the yearly interest over the tiers of the terms, the payout, the previous carry
            SELECT c.id, c.user_id, c.asset_id, c.product_id, c.base, a.scale,
                   CASE WHEN c.term_type = 'demand' AND c.auto_compound THEN 'compound' ELSE t.payout END AS payout,
                   {yearly} AS yearly,
                   t.day_count_basis AS basis,
                   coalesce(c.last_carry, 0) AS prev_carry
              FROM (
                -- 0. the positions earning on the day: base as of its end, terms, latest accrual up to it
                SELECT p.id, p.user_id, p.asset_id, p.product_id, p.auto_compound, p.term_type,
                       CASE WHEN p.term_type = 'demand' THEN f.id ELSE p.terms_id END AS tid,
                       p.principal - coalesce(l.amount, 0) AS base,
                       last.date AS last_date, last.carry AS last_carry
                  FROM earn_position p
                  LEFT JOIN in_force f ON f.product_id = p.product_id
                  LEFT JOIN later l ON l.position_id = p.id
                  LEFT JOIN LATERAL ((SELECT la.date, la.carry FROM earn_accrual la
                                       WHERE la.position_id = p.id AND la.date <= %(day)s AND la.date >= %(month)s
                                       ORDER BY la.date DESC LIMIT 1)
                                     UNION ALL
                                     (SELECT la.date, la.carry FROM earn_accrual la
                                       WHERE la.position_id = p.id AND la.date < %(month)s AND la.date >= %(recent)s
                                       ORDER BY la.date DESC LIMIT 1)
                                     UNION ALL
                                     (SELECT la.date, la.carry FROM earn_accrual la
                                       WHERE la.position_id = p.id AND la.date < %(recent)s
                                       ORDER BY la.date DESC LIMIT 1)
                                     LIMIT 1) last ON true
                 WHERE {range} BETWEEN %(lo)s AND %(hi)s
                   AND (p.status = 'active' OR p.closed_at >= %(day)s::date)
                   AND p.value_date <= %(day)s
                   AND (p.maturity_date IS NULL OR %(day)s < p.maturity_date)
                OFFSET 0) c
              JOIN terms t ON t.id = c.tid
              JOIN ledger_asset a ON a.code = c.asset_id
             WHERE c.base > 0 AND (c.last_date IS NULL OR c.last_date < %(day)s)
            OFFSET 0) priced
        OFFSET 0) exact
)
"""
# A chunk with an auto-compounding position: the candidates go into a temporary table first, because
# the compounding steps may turn a row's payout to `daily` before the rows are written.
_STAGED_SQL = "CREATE TEMP TABLE _accrual_chunk ON COMMIT DROP AS {candidates} SELECT * FROM chunk"
# The accrual rows, written from the candidates (`chunk`) or from the staged table: one text, so the two
# paths cannot drift apart in what a row holds.
_ACCRUAL_ROWS = """
    INSERT INTO earn_accrual (position_id, date, base, apr, exact, posted, carry, payout, paid_out, run_id, created_at)
    SELECT position_id, %(day)s, base, apr, exact, posted, carry, payout, payout <> 'at_maturity', %(run)s, %(now)s
      FROM {source}"""
# Every other chunk (nearly all): one statement computes the candidates, writes their accrual rows
# (a data-modifying CTE, run to completion whether read or not) and leaves only the chunk's credits
# — one row per customer account, the amount summed — in a small temporary table for the ledger
# entry; the per-position rows are not staged and read back.
_CREDITS_KIND = "CASE payout WHEN 'at_maturity' THEN 'accrued' WHEN 'compound' THEN 'earn' ELSE 'available' END"
_DIRECT_SQL = """CREATE TEMP TABLE _accrual_credits ON COMMIT DROP AS {candidates}, written AS ({rows}
)
SELECT user_id, asset_id, {kind} AS kind, sum(posted) AS amount, count(*) AS positions FROM chunk GROUP BY 1, 2, 3
"""
_UNITS = (("customer", "p.user_id"), ("position", "p.id"))
_CANDIDATES: dict[str, str] = {
    unit: _CANDIDATES_SQL.format(range=column, yearly=yearly_inline_sql(
        "c.base", "t.n", "t.lower", "t.upper", "t.apr",
        fallback=yearly_sql("c.base", "earn_ratetier r WHERE r.terms_id = c.tid")),
                                 exact=EXACT_SQL, apr=APR_SQL, posted=POSTED_SQL, carry=CARRY_SQL)
    for unit, column in _UNITS
}
_STAGED = {unit: _STAGED_SQL.format(candidates=sql) for unit, sql in _CANDIDATES.items()}
_DIRECT = {unit: _DIRECT_SQL.format(candidates=sql.rstrip(), rows=_ACCRUAL_ROWS.format(source="chunk"),
                                     kind=_CREDITS_KIND) for unit, sql in _CANDIDATES.items()}
_STAGED_ROWS = _ACCRUAL_ROWS.format(source="_accrual_chunk")
# Whether the range holds a position that may compound (any status: the test only picks the path).
_MAY_COMPOUND = {
    unit: f"""SELECT EXISTS (SELECT 1 FROM earn_position p WHERE {column} BETWEEN %(lo)s AND %(hi)s
                                AND p.term_type = 'demand' AND p.auto_compound)"""
    for unit, column in _UNITS
}


# Auto-compounding (demand positions with the switch on): the day's interest joins the principal and
# earns from the next day. The service-wide lock order (earn.lock_objects): positions in id order, then
# every ledger account the chunk's entry will post to (a compounding row may fall back to `available`)
# in id order, and the products last, by the conditional UPDATE of their `sold_amount`; a position
# closed or emptied since, or a product whose cap the interest would pass, is paid out instead.
_COMPOUND_STEPS = [
    """SELECT id FROM earn_position WHERE id IN (SELECT position_id FROM _accrual_chunk WHERE payout = 'compound')
        ORDER BY id FOR UPDATE""",
    """SELECT id FROM ledger_ledgeraccount
        WHERE (owner_id, asset_id, kind) IN (
                SELECT user_id, asset_id,
                       CASE payout WHEN 'at_maturity' THEN 'accrued' WHEN 'compound' THEN 'earn' ELSE 'available' END
                  FROM _accrual_chunk
                UNION ALL SELECT user_id, asset_id, 'available' FROM _accrual_chunk WHERE payout = 'compound')
           OR (owner_id IS NULL AND kind = 'yield_expense' AND asset_id IN (SELECT asset_id FROM _accrual_chunk))
        ORDER BY id FOR UPDATE""",
    """UPDATE _accrual_chunk c SET payout = 'daily' FROM earn_position p
        WHERE c.payout = 'compound' AND p.id = c.position_id AND (p.status <> 'active' OR p.principal = 0)""",
    """WITH want AS (SELECT product_id, sum(posted) AS s FROM _accrual_chunk WHERE payout = 'compound' GROUP BY 1),
            taken AS (UPDATE earn_product p SET sold_amount = p.sold_amount + w.s FROM want w
                       WHERE p.id = w.product_id AND (p.total_cap IS NULL OR p.sold_amount + w.s <= p.total_cap)
                       RETURNING p.id)
       UPDATE _accrual_chunk SET payout = 'daily'
        WHERE payout = 'compound' AND product_id NOT IN (SELECT id FROM taken)""",
    """UPDATE earn_position p SET principal = p.principal + c.posted FROM _accrual_chunk c
        WHERE c.payout = 'compound' AND c.posted > 0 AND p.id = c.position_id""",
    """INSERT INTO earn_positionchange (position_id, effective_date, amount, reason, created_at)
       SELECT position_id, %(next_day)s, posted, 'compound', %(now)s FROM _accrual_chunk
        WHERE payout = 'compound' AND posted > 0""",
]

# One credit per customer account: the chunk's rows summed per (customer, asset, account kind). A
# chunk holds every position of its customers, so that is one credit per account and day; the accrual
# rows keep each position's share, and reconcile checks they add up to the credit.
_CREDITS = f"""
    SELECT user_id, asset_id, {_CREDITS_KIND}, sum(posted) FROM _accrual_chunk WHERE posted > 0 GROUP BY 1, 2, 3
"""
_DIRECT_CREDITS = "SELECT user_id, asset_id, kind, amount FROM _accrual_credits WHERE amount > 0"


class Progress:
    """What a long run reports: a day planned (positions, chunks), then each chunk's rows."""

    def day_started(self, day: dt.date, positions: int, chunks: int) -> None:
        pass

    def chunk_done(self, day: dt.date, rows: int) -> None:
        pass


@dataclass
class AccrualDayResult:
    date: dt.date
    positions: int = 0
    posted: dict[str, Decimal] = field(default_factory=dict)
    chunks: int = 0


@dataclass(frozen=True)
class ChunkOutcome:
    chunk_id: int
    state: str  # "accrued", "already done", "busy" (another worker holds it)
    positions: int = 0
    posted: dict[str, Decimal] = field(default_factory=dict)
    run_finished: bool = False  # this call marked the run done
    run_done: bool = False  # the run is done (finished now or before): the next day may be queued


def last_completed_day(now: dt.datetime | None = None) -> dt.date:
    """Yesterday (UTC): the latest day that has ended."""
    now = now or timezone.now()
    return timezone.localtime(now, dt.UTC).date() - dt.timedelta(days=1)


def _refuse_unended(day: dt.date) -> None:
    if day > last_completed_day():
        raise ValueError(f"{day} has not ended yet (UTC); the latest day that can be accrued is "
                         f"{last_completed_day()}")


def _refuse_out_of_order(day: dt.date) -> None:
    earlier = days_pending(day - dt.timedelta(days=1))
    if earlier:
        raise ValueError(f"{earlier[0]} is not accrued yet; days are accrued in order "
                         f"(run without --date to catch up)")


def _chunk_bounds(day: dt.date, chunk_size: int) -> list[tuple[int, int, int]]:
    """(lo, hi, positions) customer id ranges holding about `chunk_size` positions that may earn on
    `day`. A customer is never split: a chunk closes after the customer whose positions reach its
    size, so it may hold a few more than `chunk_size` (one customer with more holds a chunk alone)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT min(user_id), max(user_id), sum(n) FROM (
                SELECT user_id, n, (sum(n) OVER (ORDER BY user_id) - n)::bigint / %s AS bucket FROM (
                    SELECT user_id, count(*) AS n FROM earn_position
                     WHERE (status = 'active' OR closed_at >= %s::date) AND value_date <= %s
                     GROUP BY user_id
                ) u
            ) b GROUP BY bucket ORDER BY 1
            """,
            [chunk_size, day, day],
        )
        return cursor.fetchall()


def run_plan(day: dt.date, *, chunk_size: int | None = None) -> AccrualRun:
    """The run of `day`, with its chunks written once (a day with nothing to accrue is done at once).

    Maturities due by `day` are settled first, so a renewal made during a catch-up earns from its
    value date instead of missing the days already accrued.
    """
    _refuse_unended(day)
    planned = AccrualRun.objects.filter(date=day, planned_at__isnull=False).first()
    if planned is not None:
        return planned  # planned once for good: no lock on the run row (workers finishing it take that lock)
    maturities_settle(day)  # positions that matured (and renewed) since: before the day is planned
    with transaction.atomic():
        AccrualRun.objects.get_or_create(date=day)
        run = AccrualRun.objects.select_for_update().get(date=day)
        if run.planned_at is None:
            bounds = _chunk_bounds(day, chunk_size or settings.ACCRUAL_CHUNK_SIZE)
            AccrualChunk.objects.bulk_create(
                [AccrualChunk(run=run, unit=AccrualChunk.Unit.CUSTOMER, lo=lo, hi=hi, planned=count)
                 for lo, hi, count in bounds])
            run.planned_at = timezone.now()
            fields = ["planned_at"]
            if not bounds:
                run.status, run.finished_at = AccrualRun.Status.DONE, run.planned_at
                fields += ["status", "finished_at"]
            run.save(update_fields=fields)
    return run


_FOREIGN_KEYS: list[str] = []


def _accrual_foreign_keys(cursor: Any) -> list[str]:
    """The (deferrable) foreign key of earn_accrual to earn_position, quoted; read once per process."""
    if not _FOREIGN_KEYS:
        cursor.execute("SELECT quote_ident(conname) FROM pg_constraint "
                       "WHERE conrelid = 'earn_accrual'::regclass AND confrelid = 'earn_position'::regclass "
                       "AND contype = 'f' AND condeferrable ORDER BY 1")
        _FOREIGN_KEYS.extend(name for (name,) in cursor.fetchall())
    return _FOREIGN_KEYS


def _accrue_range(run: AccrualRun, lo: int, hi: int, unit: str) -> tuple[int, dict[str, Decimal]]:
    """Accrue the positions of [lo, hi] (customer or position ids, by `unit`) not yet accrued on the
    run's day; inside the caller's transaction. One statement computes the candidates and writes
    their accrual rows, leaving the chunk's credits (a chunk that may compound stages the candidates
    first); the ledger entry (one credit per customer account, one platform debit per asset) is
    written from those."""
    day, now = run.date, timezone.now()
    recent = (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)  # the previous month's first day
    params: dict[str, Any] = {"day": day, "lo": lo, "hi": hi, "month": day.replace(day=1), "recent": recent,
                              "run": run.pk, "now": now, "next_day": day + dt.timedelta(days=1)}
    with connection.cursor() as cursor:
        # A chunk's statements cost 10⁵ planner units and more, where PostgreSQL would JIT-compile
        # them for each chunk: ~0.35 s of compiling against ~0.5 s of work (measured, 10 000 positions).
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(_MAY_COMPOUND[unit], params)
        if cursor.fetchone()[0]:
            rows, credits = _write_staged(cursor, unit, params)
        else:
            cursor.execute("DROP TABLE IF EXISTS _accrual_credits")
            cursor.execute(_DIRECT[unit], params)
            cursor.execute("SELECT coalesce(sum(positions), 0) FROM _accrual_credits")
            rows, credits = int(cursor.fetchone()[0]), _DIRECT_CREDITS
        if rows == 0:
            cursor.execute("DROP TABLE IF EXISTS _accrual_chunk, _accrual_credits")
            return 0, {}
        # The rows' checks against their positions (a foreign key deferred to the commit by default)
        # run here, before the ledger part locks the platform account that every chunk of the day
        # credits: two workers then overlap on these 10⁴ probes instead of queueing behind that lock
        # through each other's commit. Not the run's key: its check takes a share lock on the run row,
        # which the chunk finishing the day locks for update while holding the platform account — a
        # deadlock if taken this early (the benchmark's two workers found it).
        foreign_keys = _accrual_foreign_keys(cursor)
        if foreign_keys:
            cursor.execute(f"SET CONSTRAINTS {', '.join(foreign_keys)} IMMEDIATE")
        scope = "" if unit == AccrualChunk.Unit.POSITION else "customers:"
        result = bulk.entry_post_credits(
            kind=EntryKind.ACCRUAL, idempotency_key=f"accrual:{day.isoformat()}:{scope}{lo}-{hi}",
            reference=f"accrual:{day.isoformat()}", debit_kind=AccountKind.YIELD_EXPENSE,
            credits_sql=credits, params=[],
        )
        cursor.execute("DROP TABLE IF EXISTS _accrual_chunk, _accrual_credits")
    return rows, result.total


def _write_staged(cursor: Any, unit: str, params: dict[str, Any]) -> tuple[int, str]:
    """The candidates staged in a temporary table, the compounding steps applied to it, then the
    accrual rows written from it: (rows, the credits query)."""
    cursor.execute("DROP TABLE IF EXISTS _accrual_chunk")
    cursor.execute(_STAGED[unit], params)
    if cursor.rowcount == 0:
        return 0, _CREDITS
    for step in _COMPOUND_STEPS:
        cursor.execute(step, params)
    cursor.execute(_STAGED_ROWS, params)
    return cursor.rowcount, _CREDITS


def _run_finish_locked(run_id: int) -> bool:
    """Mark the run done if no chunk is pending; inside the caller's transaction.

    The run row is locked first, so of two last chunks committing at once the second waits for the
    first and then (READ COMMITTED: a fresh snapshot per statement) sees both chunks done; neither can
    miss the finish. True only for the call that finished it.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM earn_accrualrun WHERE id = %s FOR UPDATE", [run_id])
        row = cursor.fetchone()
        if row is None or row[0] != AccrualRun.Status.RUNNING:
            return False
        cursor.execute(
            """
            UPDATE earn_accrualrun r
               SET status = 'done', finished_at = %s,
                   positions = (SELECT coalesce(sum(positions), 0) FROM earn_accrualchunk WHERE run_id = r.id),
                   posted_total = (SELECT coalesce(sum(posted_total), 0) FROM earn_accrualchunk WHERE run_id = r.id)
             WHERE r.id = %s AND r.status = 'running' AND r.planned_at IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM earn_accrualchunk c WHERE c.run_id = r.id AND c.status = 'pending')
            """,
            [timezone.now(), run_id],
        )
        return cursor.rowcount == 1


def run_finish_if_complete(run_id: int) -> bool:
    """Mark the run done once no chunk is pending (its own transaction, or the caller's);
    true only for the call that finished it. Safe to call any number of times, from any path."""
    with transaction.atomic():
        return _run_finish_locked(run_id)


def runs_finish_complete() -> list[dt.date]:
    """Finish every running day whose chunks are all done: a day whose last chunk committed but
    whose finish was lost (a finish written by older code, a failover). Returns the days finished."""
    finished = []
    stuck = (AccrualRun.objects.filter(status=AccrualRun.Status.RUNNING, planned_at__isnull=False)
             .exclude(chunks__status=AccrualChunk.Status.PENDING).order_by("date").values_list("pk", "date"))
    for run_id, day in stuck:
        if run_finish_if_complete(run_id):
            finished.append(day)
    return finished


def _none_pending(run: AccrualRun) -> bool:
    return not AccrualChunk.objects.filter(run=run, status=AccrualChunk.Status.PENDING).exists()


def _run_is_done(run_id: int) -> bool:
    return AccrualRun.objects.filter(pk=run_id, status=AccrualRun.Status.DONE).exists()


def chunk_process(chunk_id: int, *, wait: bool = False) -> ChunkOutcome:
    """Work one chunk in one transaction. A chunk another worker holds is skipped (`busy`) unless
    `wait`; a done chunk is left alone, so a message delivered twice changes nothing.

    The chunk that completes its day marks the run done in the same transaction, so no lost
    statement after the commit can leave the day `running`; a chunk found done still finishes its
    run if that was lost (a run finished by an older release or a cut connection).
    """
    with transaction.atomic():
        chunk = (AccrualChunk.objects.select_for_update(skip_locked=not wait, of=("self",))
                 .select_related("run").filter(pk=chunk_id).first())
        if chunk is None:
            return ChunkOutcome(chunk_id, "busy")
        if chunk.status == AccrualChunk.Status.DONE:
            if chunk.run.status == AccrualRun.Status.DONE:
                return ChunkOutcome(chunk_id, "already done", run_done=True)
            finished = _run_finish_locked(chunk.run_id)
            return ChunkOutcome(chunk_id, "already done", run_finished=finished,
                                run_done=finished or _run_is_done(chunk.run_id))
        rows, totals = _accrue_range(chunk.run, chunk.lo, chunk.hi, chunk.unit)
        AccrualChunk.objects.filter(pk=chunk.pk).update(
            status=AccrualChunk.Status.DONE, finished_at=timezone.now(), positions=rows,
            posted_total=sum(totals.values(), Decimal(0)))
        finished = _run_finish_locked(chunk.run_id)
    return ChunkOutcome(chunk_id, "accrued", rows, totals, finished, run_done=finished)


def accrue_day(day: dt.date, *, chunk_size: int | None = None, progress: Progress | None = None) -> AccrualDayResult:
    """Accrue one ended day inline, chunk by chunk; resumes where an interrupted run stopped.

    Refuses days not yet ended and days whose predecessors are not accrued. Chunks a Celery worker
    is working on are waited for, not done twice.
    """
    _refuse_unended(day)
    _refuse_out_of_order(day)
    progress = progress or Progress()
    run = run_plan(day, chunk_size=chunk_size)
    result = AccrualDayResult(date=day)
    pending = list(AccrualChunk.objects.filter(run=run, status=AccrualChunk.Status.PENDING)
                   .order_by("lo").values_list("id", "planned"))
    progress.day_started(day, sum(n for _, n in pending), len(pending))
    for chunk_id, _ in pending:
        outcome = chunk_process(chunk_id, wait=True)
        result.chunks += 1
        result.positions += outcome.positions
        for asset, total in outcome.posted.items():
            result.posted[asset] = result.posted.get(asset, Decimal(0)) + total
        progress.chunk_done(day, outcome.positions)
    run_finish_if_complete(run.pk)
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


def _try_lock() -> bool:
    """The accrual lock, for the caller's transaction only (no session state: safe behind PgBouncer)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ACCRUAL_LOCK])
        return bool(cursor.fetchone()[0])


def _lease_live(now: dt.datetime) -> bool:
    """Whether an inline catch-up holds the lease now (call under the accrual lock)."""
    return AccrualLease.objects.filter(name=LEASE_NAME, holder__isnull=False, expires_at__gt=now).exists()


def _lease_take(holder: uuid.UUID) -> bool:
    """Take the inline catch-up's lease, in a transaction of its own under the accrual lock: refused while
    a dispatch holds the lock or another catch-up holds an unexpired lease."""
    with transaction.atomic():
        if not _try_lock():
            return False
        now = timezone.now()
        AccrualLease.objects.get_or_create(name=LEASE_NAME)
        if _lease_live(now):
            return False
        AccrualLease.objects.filter(name=LEASE_NAME).update(
            holder=holder, expires_at=now + dt.timedelta(seconds=settings.ACCRUAL_CHUNK_TIMEOUT))
        return True


def _lease_renew(holder: uuid.UUID) -> None:
    """Push the lease's expiry out again (after each chunk): a live run never loses it to the clock."""
    AccrualLease.objects.filter(name=LEASE_NAME, holder=holder).update(
        expires_at=timezone.now() + dt.timedelta(seconds=settings.ACCRUAL_CHUNK_TIMEOUT))


def _lease_release(holder: uuid.UUID) -> None:
    AccrualLease.objects.filter(name=LEASE_NAME, holder=holder).update(holder=None, expires_at=None)


class _Renewing(Progress):
    """Passes progress on and renews the lease after every chunk."""

    def __init__(self, holder: uuid.UUID, inner: Progress | None) -> None:
        self.holder, self.inner = holder, inner or Progress()

    def day_started(self, day: dt.date, positions: int, chunks: int) -> None:
        self.inner.day_started(day, positions, chunks)

    def chunk_done(self, day: dt.date, rows: int) -> None:
        _lease_renew(self.holder)
        self.inner.chunk_done(day, rows)


def accrue_pending(*, until: dt.date | None = None, chunk_size: int | None = None,
                   progress: Progress | None = None) -> list[AccrualDayResult] | None:
    """Catch up inline: accrue every pending day in order. None if another run holds the lock or the lease.

    Exclusion across the run's many transactions is a lease row (`AccrualLease`), not a session advisory
    lock: sessions are not ours to keep behind a transaction pooler.
    """
    holder = uuid.uuid4()
    if not _lease_take(holder):
        return None
    try:
        renewing = _Renewing(holder, progress)
        return [accrue_day(day, chunk_size=chunk_size, progress=renewing) for day in days_pending(until)]
    finally:
        _lease_release(holder)


@dataclass(frozen=True)
class Dispatch:
    state: str  # "dispatched", "in progress", "up to date", "locked"
    date: dt.date | None = None
    chunks: int = 0


def _hand_out(chunks: list[int], enqueue: Callable[[int], object]) -> None:
    """Stamp the chunks as queued now and send them once this transaction commits."""
    AccrualChunk.objects.filter(pk__in=chunks).update(
        enqueued_at=timezone.now(), dispatches=F("dispatches") + 1)
    transaction.on_commit(lambda: [enqueue(chunk_id) for chunk_id in chunks])


def accrual_dispatch(enqueue: Callable[[int], None], *, chunk_size: int | None = None) -> Dispatch:
    """The scheduler's step: plan the oldest pending day and hand its chunks to workers.

    Holds the accrual advisory lock for its transaction only, so a second beat (or a call while an
    inline run holds the lease) is a no-op. Chunks already handed out are left to the
    workers and the sweeper; the worker that finishes a day calls this again for the next one.
    A day whose chunks are all done but which is still `running` (its finish was lost) is finished
    here and the next day dispatched, instead of answering "in progress" for ever.
    """
    with transaction.atomic():
        if not _try_lock() or _lease_live(timezone.now()):
            return Dispatch("locked")
        for day in days_pending():
            run = run_plan(day, chunk_size=chunk_size)
            if run.status == AccrualRun.Status.DONE or (_none_pending(run) and _run_finish_locked(run.pk)):
                continue  # done, or every chunk done and only the finish was lost: on to the next day
            fresh = list(AccrualChunk.objects.filter(run=run, status=AccrualChunk.Status.PENDING,
                                                     enqueued_at__isnull=True).order_by("lo")
                         .values_list("id", flat=True))
            _hand_out(fresh, enqueue)
            return Dispatch("dispatched" if fresh else "in progress", day, len(fresh))
        return Dispatch("up to date")


def accrual_sweep(enqueue: Callable[[int], None], *, timeout: int | None = None) -> list[int]:
    """Hand out again every pending chunk queued longer than `timeout` seconds ago and not being
    worked on (a worker holds its row lock): messages lost with a worker or a flushed broker.

    First finishes any day whose chunks are all done but whose finish was lost. Only the chunk rows
    are locked (`of=("self",)`): a lock on the joined run row would make SKIP LOCKED skip every chunk
    of a day while any of its chunks is being worked on (the worker finishing it locks the run).
    """
    runs_finish_complete()
    timeout = settings.ACCRUAL_CHUNK_TIMEOUT if timeout is None else timeout
    cutoff = timezone.now() - dt.timedelta(seconds=timeout)
    with transaction.atomic():
        stale = list(AccrualChunk.objects.select_for_update(skip_locked=True, of=("self",))
                     .filter(status=AccrualChunk.Status.PENDING, run__status=AccrualRun.Status.RUNNING,
                             enqueued_at__lt=cutoff).order_by("id").values_list("id", flat=True))
        _hand_out(stale, enqueue)
    return stale

