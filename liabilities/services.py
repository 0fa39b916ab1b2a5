"""Writes: build one date's liabilities snapshot, set-based, one transaction per asset.

Balances as of the end of D (00:00 UTC of D+1) are the accounts' balances now minus the postings made
since, read in one statement (one MVCC snapshot) from plain selects on the ledger tables. Interest is
counted by the day it is for, not the minute it was posted: the accrual of D, posted shortly after
midnight, is in D's snapshot, and a later day's accrual is not — so the build waits for D's accrual.

Leaves are computed in SQL into a temporary table: the salt is HMAC-SHA256 built from sha256() with the
key's pads (handed over as transaction-local settings), the leaf hash is sha256(). Python streams only
(hash, units) in hash order through a server-side cursor and hashes the tree block by block
(liabilities.merkle), so its memory stays flat whatever the number of customers. The leaves and the
nodes from the block roots up are stored; the levels inside a block are recomputed when a proof is
asked for (256 leaves read by index range).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.audit import audit_record
from core.dates import day_end, parse_day
from earn.services.accrual import days_pending
from ledger.models import Asset, JournalEntryKey
from liabilities import merkle
from liabilities.models import LiabilityNode, LiabilityRun, LiabilitySnapshot

LIABILITY_KINDS = ("available", "earn", "accrued", "pending", "committed")


class NotReady(Exception):
    """The day has not ended, or its accrual is not done yet (or NothingOwed)."""


class NothingOwed(NotReady):
    """The ledger had no entry by the end of the day: there is nothing to prove, now or later."""


def date_parse(text: str) -> dt.date:
    """'2026-03-02' → date; ValueError otherwise (exactly YYYY-MM-DD)."""
    try:
        return parse_day(text)
    except ValueError:
        raise ValueError(f"expected a date as YYYY-MM-DD, got {(text or '').strip()[:32]!r}") from None


def salt_key() -> bytes:
    key = settings.LIABILITIES_SALT_KEY
    if key:
        return key.encode()
    return hashlib.sha256(b"earn-liabilities-salt|" + settings.SECRET_KEY.encode()).digest()


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """(key ⊕ ipad, key ⊕ opad) of HMAC-SHA256, so SQL computes HMAC with two sha256() calls."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


# One asset's leaves at the end of the day, into a temporary table. `later` holds what each account
# moved after the cutoff, the day's own accrual (and any earlier day's, posted late) aside.
_LEAVES_SQL = """
CREATE TEMP TABLE _liab_leaves ON COMMIT DROP AS
WITH pads AS MATERIALIZED (
    SELECT decode(current_setting('earn.liabilities_ipad'), 'hex') AS ipad,
           decode(current_setting('earn.liabilities_opad'), 'hex') AS opad
), later AS MATERIALIZED (
    SELECT p.account_id, sum(CASE p.side WHEN 'C' THEN p.amount ELSE -p.amount END) AS delta
      FROM ledger_posting p JOIN ledger_journalentry e ON e.id = p.entry_id
     WHERE p.asset_id = %(asset)s AND p.created_at >= %(cutoff)s
       AND NOT (e.kind = 'accrual' AND e.reference <= %(accrual_ref)s)
     GROUP BY p.account_id
), balances AS MATERIALIZED (
    SELECT a.owner_id AS user_id,
           coalesce(sum(a.balance - coalesce(l.delta, 0)) FILTER (WHERE a.kind = 'available'), 0) AS available,
           coalesce(sum(a.balance - coalesce(l.delta, 0)) FILTER (WHERE a.kind = 'earn'), 0) AS earn,
           coalesce(sum(a.balance - coalesce(l.delta, 0)) FILTER (WHERE a.kind = 'accrued'), 0) AS accrued,
           coalesce(sum(a.balance - coalesce(l.delta, 0)) FILTER (WHERE a.kind = 'pending'), 0) AS pending,
           coalesce(sum(a.balance - coalesce(l.delta, 0)) FILTER (WHERE a.kind = 'committed'), 0) AS committed
      FROM ledger_ledgeraccount a LEFT JOIN later l ON l.account_id = a.id
     WHERE a.asset_id = %(asset)s AND a.owner_id IS NOT NULL
       AND a.kind IN ('available', 'earn', 'accrued', 'pending', 'committed')
     GROUP BY a.owner_id
), owed AS MATERIALIZED (
    SELECT b.*, (available + earn + accrued + pending + committed) * %(unit)s AS exact_units,
           sha256(k.opad || sha256(k.ipad || convert_to(%(day)s::text || '|' || user_id, 'UTF8'))) AS salt
      FROM balances b CROSS JOIN pads k
     WHERE available + earn + accrued + pending + committed <> 0
)
SELECT user_id, available, earn, accrued, pending, committed, salt, trunc(exact_units) AS units,
       exact_units = trunc(exact_units) AS whole,
       sha256(convert_to(%(prefix)s::text || '|' || encode(salt, 'hex') || '|customer-' || user_id || '|'
                         || %(asset)s::text || '|' || trunc(exact_units)::text, 'UTF8')) AS hash
  FROM owed
"""


@dataclass
class AssetOutcome:
    snapshot: LiabilitySnapshot
    created: bool
    seconds: dict[str, float] = field(default_factory=dict)  # per phase of the build (made now only)


class Progress:
    def asset_done(self, outcome: AssetOutcome) -> None:
        pass


def _require_ready(day: dt.date) -> None:
    if timezone.now() < day_end(day):
        raise NotReady(f"{day} has not ended yet")
    if day in days_pending(until=day):
        raise NotReady(f"the accrual of {day} is not done yet")
    # A snapshot is permanent: a day before the ledger's first entry (a mistyped year, say) would be an empty
    # run on record for good. Entry ids grow with time and the keys outlive detached months: one index probe.
    first = JournalEntryKey.objects.order_by("entry_id").values_list("entry_created_at", flat=True).first()
    if first is None or first >= day_end(day):
        since = f" (its first is of {first.date()})" if first is not None else ""
        raise NothingOwed(f"{day} is before the ledger's first entry{since}: nothing was owed")


def _tree(snapshot_rows: Any) -> tuple[list[list[merkle.Node]], int]:
    """(stored levels: block roots up to the root, leaf count) from (hash, units) rows in hash order."""
    def leaves() -> Any:
        for digest, units in snapshot_rows:
            yield bytes(digest), int(units)

    count = 0
    roots: list[merkle.Node] = []
    for block in merkle.blocks(leaves()):
        count += len(block)
        roots.append(merkle.block_root(block))
    return merkle.levels(roots), count


def _build_asset(day: dt.date, asset: Asset, seconds: dict[str, float]) -> LiabilitySnapshot | None:
    """One asset's snapshot inside the caller's transaction; None when no customer is owed any. `seconds`
    receives the time of each phase (leaves in SQL, tree in Python, writes)."""
    clock = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[phase] = now - clock
        clock = now

    ipad, opad = hmac_pads(salt_key())
    cutoff = day_end(day)
    params: dict[str, Any] = {"asset": asset.code, "cutoff": cutoff, "accrual_ref": f"accrual:{day.isoformat()}",
              "unit": Decimal(10) ** asset.scale, "day": day.isoformat(),
              "prefix": merkle.LEAF_PREFIX}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        # The key's pads reach the long statement as transaction-local settings, set by a statement of
        # their own: a slow-statement log line (which prints bound parameters) never carries them.
        cursor.execute("SELECT set_config('earn.liabilities_ipad', %s, true), "
                       "set_config('earn.liabilities_opad', %s, true)", [ipad.hex(), opad.hex()])
        cursor.execute("DROP TABLE IF EXISTS _liab_leaves")
        cursor.execute(_LEAVES_SQL, params)
        cursor.execute("""SELECT count(*), coalesce(bool_and(whole), true),
                                 coalesce(min(least(available, earn, accrued, pending, committed)), 0)
                            FROM _liab_leaves""")
        count, whole, lowest = cursor.fetchone()
        lap("leaves")
        if lowest < 0 or not whole:
            raise ValueError(f"{asset.code} at the end of {day}: a negative balance or one finer than the "
                             "asset's scale; the ledger needs reconciling first")
        if count == 0:
            cursor.execute("DROP TABLE _liab_leaves")
            return None
        with connection.connection.cursor(name="liabilities_leaves") as stream:
            stream.itersize = 20_000
            stream.execute("SELECT hash, units FROM _liab_leaves ORDER BY hash")
            stored, leaves = _tree(stream)
        lap("tree")
        root_hash, root_units = stored[-1][0]
        snapshot = LiabilitySnapshot.objects.create(
            date=day, asset=asset, scale=asset.scale, root=root_hash.hex(),
            total=Decimal(root_units).scaleb(-asset.scale), total_units=Decimal(root_units), leaves=leaves,
            cutoff=cutoff)
        cursor.execute(
            """INSERT INTO liabilities_liabilityleaf (snapshot_id, idx, user_id, hash, salt, units,
                                                      available, earn, accrued, pending, committed)
               SELECT %s, row_number() OVER (ORDER BY hash) - 1, user_id, hash, salt, units,
                      available, earn, accrued, pending, committed
                 FROM _liab_leaves""", [snapshot.pk])
        cursor.execute("DROP TABLE _liab_leaves")
        lap("store leaves")
    LiabilityNode.objects.bulk_create(
        [LiabilityNode(snapshot=snapshot, level=level, idx=idx, hash=digest, units=Decimal(units))
         for level, nodes in enumerate(stored) for idx, (digest, units) in enumerate(nodes)], batch_size=5000)
    audit_record(actor=None, action="liabilities.snapshot", obj=snapshot,
                 after={"date": day, "asset": asset.code, "root": snapshot.root, "total": snapshot.total,
                        "total_units": str(root_units), "leaves": leaves, "cutoff": cutoff})
    lap("store nodes, audit")
    return snapshot


def liabilities_build(day: dt.date, *, progress: Progress | None = None) -> tuple[LiabilityRun, list[AssetOutcome]]:
    """Build `day`'s snapshot of every asset not built yet (one transaction each); a built one is never
    rebuilt. Returns the run and, per asset with customers owed, its snapshot and whether it was made now."""
    _require_ready(day)
    progress = progress or Progress()
    LiabilityRun.objects.get_or_create(date=day)
    outcomes: list[AssetOutcome] = []
    for asset in Asset.objects.order_by("code"):
        with transaction.atomic():
            # Two builders of the same day queue here; the second finds the first one's snapshot.
            run = LiabilityRun.objects.select_for_update().get(date=day)
            existing = LiabilitySnapshot.objects.filter(date=day, asset=asset).first()
            if existing is not None:
                outcome = AssetOutcome(existing, created=False)
            elif run.status == LiabilityRun.Status.DONE:
                continue  # the asset had no customer owed when the day was built
            else:
                seconds: dict[str, float] = {}
                snapshot = _build_asset(day, asset, seconds)
                if snapshot is None:
                    continue
                run.assets_done += 1
                run.leaves += snapshot.leaves
                run.save(update_fields=["assets_done", "leaves"])
                outcome = AssetOutcome(snapshot, created=True, seconds=seconds)
        outcomes.append(outcome)
        progress.asset_done(outcome)
    with transaction.atomic():
        run = LiabilityRun.objects.select_for_update().get(date=day)
        if run.status != LiabilityRun.Status.DONE:
            run.status, run.finished_at = LiabilityRun.Status.DONE, timezone.now()
            run.save(update_fields=["status", "finished_at"])
    return run, outcomes


def yesterday(now: dt.datetime | None = None) -> dt.date:
    return timezone.localtime(now or timezone.now(), dt.UTC).date() - dt.timedelta(days=1)
