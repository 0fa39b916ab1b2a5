"""The only code that posts to the ledger, and so the only code whose work moves balances.

`entries_post` writes any number of journal entries in a constant number of statements: the
account locks, then one statement for the entries (ON CONFLICT on the idempotency key, RETURNING the
rows) and their postings; a single entry posted inside a caller's transaction needs no savepoint, because every
refusal (overdraft, reused key, unknown account) is decided before anything is written. Python never writes a balance:
PostgreSQL adds each INSERT's postings to their accounts' balances (one statement-level trigger,
ledger/sql/balances_from_postings.sql) and refuses any other UPDATE of a ledger account. Accounts
are locked in ascending id order first, then the idempotency keys are taken in sorted order, so two
concurrent postings touching the same accounts or keys queue instead of deadlocking.

Lock order on the money paths (see earn.lock_objects): position rows, then ledger accounts by
ascending id, then the product row last.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import is_multiple_of_scale, to_decimal
from core.rows import prepared_cursor
from ledger.errors import IdempotencyKeyReused, InsufficientBalance, InvalidAmount, UnbalancedEntry
from ledger.models import AccountKind, Asset, EntryKind, JournalEntry, JournalEntryKey, LedgerAccount, Side


@dataclass(frozen=True)
class Leg:
    """One side of an entry: `amount` (> 0) debited or credited to an account."""

    account_id: int
    asset: str
    side: str
    amount: Decimal
    # The asset's scale when the account came with its asset loaded (accounts_ensure joins it): saves
    # entries_post looking it up. Scales never change once an asset exists (the admin keeps them read-only).
    scale: int | None = field(default=None, compare=False)

    @classmethod
    def debit(cls, account: LedgerAccount, amount: Decimal | str) -> Leg:
        return cls(account.pk, account.asset_id, Side.DEBIT, to_decimal(amount), _known_scale(account))

    @classmethod
    def credit(cls, account: LedgerAccount, amount: Decimal | str) -> Leg:
        return cls(account.pk, account.asset_id, Side.CREDIT, to_decimal(amount), _known_scale(account))

    @property
    def signed(self) -> Decimal:
        return self.amount if self.side == Side.CREDIT else -self.amount


@dataclass(frozen=True)
class EntrySpec:
    kind: str
    idempotency_key: str
    legs: Sequence[Leg]
    reference: str = ""
    memo: str = ""
    fingerprint: str = field(default="", compare=False)

    def content_fingerprint(self) -> str:
        """sha256 of what the entry means (kind, reference, legs), independent of leg order."""
        legs = sorted((leg.account_id, leg.asset, leg.side, format(leg.amount.normalize(), "f")) for leg in self.legs)
        canonical = json.dumps([self.kind, self.reference, legs], separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _known_scale(account: LedgerAccount) -> int | None:
    return account.asset.scale if LedgerAccount.asset.is_cached(account) else None


def _asset_scales(specs: Iterable[EntrySpec]) -> dict[str, int]:
    """{asset: scale} for every leg; looked up only for legs that did not bring their asset's scale."""
    scales: dict[str, int] = {}
    codes: set[str] = set()
    for spec in specs:
        for leg in spec.legs:
            if leg.scale is not None and leg.asset not in scales:
                scales[leg.asset] = leg.scale
            codes.add(leg.asset)
    missing = codes - scales.keys()
    if missing:
        scales.update(Asset.objects.filter(code__in=missing).values_list("code", "scale"))
    unknown = codes - scales.keys()
    if unknown:
        raise InvalidAmount(_("Unknown asset: %(codes)s") % {"codes": ", ".join(sorted(unknown))}, field="asset")
    return scales


def _validate(spec: EntrySpec, scales: dict[str, int]) -> None:
    if len(spec.legs) < 2:
        raise UnbalancedEntry(_("A journal entry needs at least two postings."))
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for leg in spec.legs:
        if not isinstance(leg.amount, Decimal) or not leg.amount.is_finite() or leg.amount <= 0:
            raise InvalidAmount(_("Posting amounts must be positive."), field="amount")
        if not is_multiple_of_scale(leg.amount, scales[leg.asset]):
            raise InvalidAmount(
                _("%(amount)s has more decimals than %(asset)s allows (%(scale)s).")
                % {"amount": leg.amount, "asset": leg.asset, "scale": scales[leg.asset]},
                field="amount",
            )
        if leg.side not in (Side.DEBIT, Side.CREDIT):
            raise UnbalancedEntry(_("Unknown posting side."))
        totals[leg.asset] += leg.signed
    for asset, total in totals.items():
        if total != 0:
            raise UnbalancedEntry(_("Entry %(key)s does not balance in %(asset)s.")
                                  % {"key": spec.idempotency_key, "asset": asset})


def entries_post(specs: Sequence[EntrySpec]) -> list[JournalEntry]:
    """Post entries atomically; replays (same key, same content) return the existing entries.

    Raises IdempotencyKeyReused for a known key with other content, InsufficientBalance when a
    customer account would go below zero; in both cases nothing is written.
    """
    if not specs:
        return []
    scales = _asset_scales(specs)
    by_key: dict[str, EntrySpec] = {}
    for spec in specs:
        _validate(spec, scales)
        spec = EntrySpec(spec.kind, spec.idempotency_key, tuple(spec.legs), spec.reference, spec.memo,
                         spec.content_fingerprint())
        seen = by_key.get(spec.idempotency_key)
        if seen is not None and seen.fingerprint != spec.fingerprint:
            raise IdempotencyKeyReused(_("Idempotency key %(key)s was used for other content.")
                                       % {"key": spec.idempotency_key})
        by_key[spec.idempotency_key] = spec
    return _entries_post(specs, by_key)


def _entries_post(specs: Sequence[EntrySpec], by_key: dict[str, EntrySpec],
                  locked: dict[int, tuple[int | None, Decimal]] | None = None) -> list[JournalEntry]:
    if len(by_key) == 1 and connection.in_atomic_block:
        # One entry inside the caller's transaction: every refusal below comes before the first write,
        # so a savepoint would protect nothing (two statements saved on every money request).
        entries = _post(by_key, locked)
    else:
        with transaction.atomic():
            entries = _post(by_key, locked)
    return [entries[spec.idempotency_key] for spec in specs]


_ENTRY_COLUMNS = ("id", "kind", "idempotency_key", "fingerprint", "reference", "memo", "created_at")


def _post(by_key: dict[str, EntrySpec],
          locked: dict[int, tuple[int | None, Decimal]] | None) -> dict[str, JournalEntry]:
    """`locked`: the accounts' (owner, balance), when the caller locked them in this transaction just now."""
    now = timezone.now()
    # Keys are inserted in sorted order: a unique-index insert waits on an uncommitted equal key,
    # so two concurrent batches sharing keys in different orders would otherwise deadlock.
    keys = sorted(by_key)
    existing: dict[str, JournalEntry] = {}
    with prepared_cursor() as cursor:
        # Accounts first, then keys: a transaction that already holds these accounts and is about
        # to post the same key must not find us holding the key while we wait for its accounts.
        if locked is None:
            locked = _lock_accounts(cursor, by_key.values())
        if _overdrawn(locked, by_key.values()) is not None:
            # Replays move nothing: only entries not posted yet count against the balances.
            existing = _existing_entries(keys, by_key)
            overdrawn = _overdrawn(locked, [by_key[k] for k in keys if k not in existing])
            if overdrawn is not None:
                raise InsufficientBalance(account=overdrawn)
        legs = [(key, leg) for key in keys for leg in by_key[key].legs]
        # One statement: the keys (ON CONFLICT on the key table: a replay claims nothing), the entries of
        # the keys it claimed, with the ids claimed (the entries' trigger finds its key claimed by this
        # row), and their postings. The posting triggers run at its end, when all are in place.
        cursor.execute(
            f"""
            WITH claimed AS (
                INSERT INTO ledger_journalentrykey (idempotency_key, entry_id, entry_created_at)
                SELECT key, nextval('ledger_journalentry_id_seq'), %s
                  FROM unnest(%s::text[]) WITH ORDINALITY AS t(key, n)
                 ORDER BY n
                ON CONFLICT (idempotency_key) DO NOTHING
                RETURNING idempotency_key, entry_id
            ), entry AS (
                INSERT INTO ledger_journalentry (id, kind, idempotency_key, fingerprint, reference, memo, created_at)
                SELECT claimed.entry_id, k, key, f, r, m, %s
                  FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
                       WITH ORDINALITY AS t(k, key, f, r, m, n)
                  JOIN claimed ON claimed.idempotency_key = t.key
                 ORDER BY n
                RETURNING {", ".join(_ENTRY_COLUMNS)}
            ), posting AS (
                INSERT INTO ledger_posting (entry_id, account_id, asset_id, side, amount, created_at)
                SELECT entry.id, l.a, l.s, l.d, l.x, %s
                  FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[], %s::numeric[]) AS l(k, a, s, d, x)
                  JOIN entry ON entry.idempotency_key = l.k
            )
            SELECT {", ".join(_ENTRY_COLUMNS)} FROM entry
            """,
            [now, keys, now, [by_key[k].kind for k in keys], keys, [by_key[k].fingerprint for k in keys],
             [by_key[k].reference for k in keys], [by_key[k].memo for k in keys],
             now, [k for k, _leg in legs], [leg.account_id for _k, leg in legs], [leg.asset for _k, leg in legs],
             [leg.side for _k, leg in legs], [leg.amount for _k, leg in legs]],
        )
        created = {row[2]: JournalEntry.from_db("default", _ENTRY_COLUMNS, row) for row in cursor.fetchall()}
        replayed = [k for k in keys if k not in created]
        if replayed:
            # Only when one of the keys was known. A single entry wrote nothing above (its key conflicted),
            # so raising here leaves the caller's transaction as it was; a batch runs in its own savepoint.
            if any(k not in existing for k in replayed):
                existing = _existing_entries(keys, by_key)
            for key in replayed:
                if key not in existing:
                    # Claimed, but its entry is in a month detached for retention: the key stays taken.
                    raise IdempotencyKeyReused(_("Idempotency key %(key)s belongs to an archived entry.")
                                               % {"key": key})
            created.update({k: existing[k] for k in replayed})
    return created


def _existing_entries(keys: list[str], by_key: dict[str, EntrySpec]) -> dict[str, JournalEntry]:
    """The entries already posted under these keys; raises IdempotencyKeyReused if one differs."""
    # Unique through the key table, not the (partitioned) entries: at most one entry per key.
    existing = {entry.idempotency_key: entry for entry in JournalEntry.objects.filter(
        idempotency_key__in=keys, id__in=JournalEntryKey.objects.filter(idempotency_key__in=keys).values("entry_id"))}
    for key, entry in existing.items():
        if entry.fingerprint != by_key[key].fingerprint:
            raise IdempotencyKeyReused(_("Idempotency key %(key)s was used for other content.") % {"key": key})
    return existing


def _overdrawn(locked: dict[int, tuple[int | None, Decimal]], specs: Iterable[EntrySpec]) -> int | None:
    """The first customer account (by id) these entries would take below zero, else None.

    The balances were read under FOR UPDATE in this transaction, so they are still current. The
    database would refuse an overdraft too (CHECK on the balance the trigger writes); here it is a
    domain error raised before anything is written."""
    deltas: dict[int, Decimal] = defaultdict(Decimal)
    for spec in specs:
        for leg in spec.legs:
            deltas[leg.account_id] += leg.signed
    for account_id in sorted(deltas):
        owner_id, balance = locked[account_id]
        if owner_id is not None and balance + deltas[account_id] < 0:
            return account_id
    return None


def _lock_accounts(cursor, specs: Iterable[EntrySpec]) -> dict[int, tuple[int | None, Decimal]]:
    """Lock every account the specs touch, in ascending id order; returns id -> (owner id, balance)."""
    leg_assets: dict[int, set[str]] = defaultdict(set)
    for spec in specs:
        for leg in spec.legs:
            leg_assets[leg.account_id].add(leg.asset)
    cursor.execute(
        "SELECT id, owner_id, asset_id, balance FROM ledger_ledgeraccount WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
        [sorted(leg_assets)],
    )
    rows = cursor.fetchall()
    if len(rows) != len(leg_assets):
        raise InvalidAmount(_("Unknown ledger account."), field="account")
    for account_id, _owner_id, asset, _balance in rows:
        # The database refuses this too (composite foreign key); here it becomes a domain error.
        if leg_assets[account_id] != {asset}:
            raise InvalidAmount(_("Ledger account %(account)s holds %(asset)s only.")
                                % {"account": account_id, "asset": asset}, field="asset")
    return {account_id: (owner_id, balance) for account_id, owner_id, _asset, balance in rows}


def entry_post(*, kind: str, idempotency_key: str, legs: Sequence[Leg], reference: str = "",
               memo: str = "") -> JournalEntry:
    """Post one balanced entry; see `entries_post`."""
    return entries_post([EntrySpec(kind, idempotency_key, tuple(legs), reference, memo)])[0]


def accounts_ensure(keys: Iterable[tuple[int | None, str, str]]) -> dict[tuple[int | None, str, str], LedgerAccount]:
    """Get or create ledger accounts by (owner id or None, asset, kind), race-free; assets joined.

    One SELECT when the accounts exist (the usual case); an INSERT … ON CONFLICT DO NOTHING only for
    those missing, and a second SELECT only for any that another transaction created meanwhile.
    """
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    result = _accounts_by_key(wanted)
    missing = [w for w in wanted if w not in result]
    if missing:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH made AS (
                    INSERT INTO ledger_ledgeraccount (owner_id, asset_id, kind, balance, created_at)
                    SELECT o, a, k, 0, %s FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS t(o, a, k)
                    ON CONFLICT (owner_id, asset_id, kind) DO NOTHING
                    RETURNING {", ".join(_ACCOUNT_COLUMNS)}
                )
                SELECT made.*, asset.name, asset.scale FROM made JOIN ledger_asset asset ON asset.code = made.asset_id
                """,
                [timezone.now(), [w[0] for w in missing], [w[1] for w in missing], [w[2] for w in missing]],
            )
            for row in cursor.fetchall():
                account = LedgerAccount.from_db("default", _ACCOUNT_COLUMNS, row[:len(_ACCOUNT_COLUMNS)])
                asset = Asset.from_db("default", ("code", "name", "scale"), (account.asset_id, *row[-2:]))
                LedgerAccount.asset.field.set_cached_value(account, asset)
                result[(account.owner_id, account.asset_id, account.kind)] = account
        raced = [w for w in missing if w not in result]  # created by another transaction meanwhile
        if raced:
            result.update(_accounts_by_key(raced))
    return {w: result[w] for w in wanted}


_ACCOUNT_COLUMNS = ("id", "owner_id", "asset_id", "kind", "balance", "created_at")


def _accounts_by_key(wanted: list[tuple[int | None, str, str]]) -> dict[tuple[int | None, str, str], LedgerAccount]:
    """The accounts that exist, their assets joined: one plain statement (the OR of the keys, as the ORM
    wrote it; its compiler cost more Python than the statement on every redemption)."""
    match: list[str] = []
    params: list[Any] = []
    for owner_id, asset, kind in wanted:
        match.append("(la.owner_id = %s AND la.asset_id = %s AND la.kind = %s)" if owner_id is not None
                     else "(la.owner_id IS NULL AND la.asset_id = %s AND la.kind = %s)")
        params += [owner_id, asset, kind] if owner_id is not None else [asset, kind]
    result = {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(f'la.{c}' for c in _ACCOUNT_COLUMNS)}, asset.name, asset.scale "
                       "FROM ledger_ledgeraccount la JOIN ledger_asset asset ON asset.code = la.asset_id "
                       f"WHERE {' OR '.join(match)}", params)
        for row in cursor.fetchall():
            account = LedgerAccount.from_db("default", _ACCOUNT_COLUMNS, row[:len(_ACCOUNT_COLUMNS)])
            LedgerAccount.asset.field.set_cached_value(
                account, Asset.from_db("default", ("code", "name", "scale"), (account.asset_id, *row[-2:])))
            result[(account.owner_id, account.asset_id, account.kind)] = account
    return result


def account_for(*, owner_id: int | None, asset: str, kind: str) -> LedgerAccount:
    return accounts_ensure([(owner_id, asset, kind)])[(owner_id, asset, kind)]


def platform_account(*, asset: str, kind: str) -> LedgerAccount:
    return account_for(owner_id=None, asset=asset, kind=kind)


@transaction.atomic
def deposit_credit(*, user_id: int, asset: str, amount: Decimal | str, reference: str, memo: str = "") -> JournalEntry:
    """Credit a customer's available balance from the exchange wallet; idempotent on `reference`."""
    amount = to_decimal(amount)
    if amount <= 0:
        raise InvalidAmount(_("Amount must be positive."), field="amount")
    accounts = accounts_ensure([(None, asset, AccountKind.EXTERNAL), (user_id, asset, AccountKind.AVAILABLE)])
    return entry_post(
        kind=EntryKind.DEPOSIT,
        idempotency_key=f"deposit:{reference}",
        reference=reference,
        memo=memo,
        legs=[Leg.debit(accounts[(None, asset, AccountKind.EXTERNAL)], amount),
              Leg.credit(accounts[(user_id, asset, AccountKind.AVAILABLE)], amount)],
    )


def owner_accounts_sql(owner_id: int, asset: str, kinds: Sequence[str], *, now: dt.datetime,
                       when: str = "TRUE") -> tuple[str, list[Any]]:
    """Three CTEs that find, lock (ascending id) and read a customer's accounts of one asset, opening those
    missing: `owner_accounts` has rows of (id, kind, balance, scale). An account opened here is this
    transaction's own new row, so nobody else can lock it before commit; one opened meanwhile by another
    transaction is in neither part (its key conflicts), and `owner_transfer` falls back to `accounts_ensure`.
    `owner_transfer` runs them as its statement; a caller may put them after CTEs of its own and pass the rows
    on (`owner_transfer(locked_rows=…)`), `when` being an SQL condition it adds (e.g. that its own write came
    first)."""
    return (f"""
        owner_locked AS (
            SELECT la.id, la.kind, la.balance, a.scale
              FROM ledger_ledgeraccount la JOIN ledger_asset a ON a.code = la.asset_id
             WHERE la.owner_id = %s AND la.asset_id = %s AND la.kind = ANY(%s::text[]) AND ({when})
             ORDER BY la.id FOR UPDATE OF la
        ), owner_opened AS (
            INSERT INTO ledger_ledgeraccount (owner_id, asset_id, kind, balance, created_at)
            SELECT %s, a.code, t.k, 0, %s FROM unnest(%s::text[]) AS t(k) JOIN ledger_asset a ON a.code = %s
             WHERE ({when}) AND NOT EXISTS (SELECT 1 FROM ledger_ledgeraccount x
                                             WHERE x.owner_id = %s AND x.asset_id = %s AND x.kind = t.k)
            ON CONFLICT (owner_id, asset_id, kind) DO NOTHING
            RETURNING id, kind, balance
        ), owner_accounts AS (
            SELECT id, kind, balance, scale FROM owner_locked
             UNION ALL
            SELECT o.id, o.kind, o.balance, a.scale FROM owner_opened o JOIN ledger_asset a ON a.code = %s
        )""", [owner_id, asset, list(kinds), owner_id, now, list(kinds), asset, owner_id, asset, asset])


def owner_transfer(*, kind: str, idempotency_key: str, owner_id: int, asset: str, debit_kind: str, credit_kind: str,
                   amount: Decimal, reference: str = "", memo: str = "",
                   locked_rows: Iterable[Sequence[Any]] | None = None) -> JournalEntry:
    """Move `amount` between two of a customer's accounts in one asset (e.g. available → earn), opening
    the credited one if need be. The money path's form of `transfer`: the accounts are found (or opened), locked
    in ascending id order and their balances and scale read by one statement (`owner_accounts_sql`; its rows as
    `locked_rows` when the caller ran it in this transaction just now), and the entry posted by one more."""
    amount = to_decimal(amount)
    kinds = [debit_kind, credit_kind]
    if locked_rows is None:
        ctes, params = owner_accounts_sql(owner_id, asset, kinds, now=timezone.now())
        with prepared_cursor() as cursor:
            cursor.execute(f"WITH {ctes} SELECT id, kind, balance, scale FROM owner_accounts", params)
            locked_rows = cursor.fetchall()
    rows = {row[1]: row for row in locked_rows if row[1] in kinds}
    if any(k not in rows for k in kinds):  # opened meanwhile by another transaction, or an unknown asset
        accounts = accounts_ensure([(owner_id, asset, k) for k in kinds])
        return transfer(kind=kind, idempotency_key=idempotency_key, amount=amount, reference=reference,
                        memo=memo, debit=accounts[(owner_id, asset, debit_kind)],
                        credit=accounts[(owner_id, asset, credit_kind)])
    debit, credit = rows[debit_kind], rows[credit_kind]
    spec = EntrySpec(kind, idempotency_key, (Leg(debit[0], asset, Side.DEBIT, amount, debit[3]),
                                             Leg(credit[0], asset, Side.CREDIT, amount, credit[3])), reference, memo)
    scales = _asset_scales([spec])
    _validate(spec, scales)
    spec = EntrySpec(spec.kind, spec.idempotency_key, spec.legs, spec.reference, spec.memo, spec.content_fingerprint())
    locked: dict[int, tuple[int | None, Decimal]] = {row[0]: (owner_id, row[2]) for row in rows.values()}
    return _entries_post([spec], {idempotency_key: spec}, locked)[0]


def transfer(*, kind: str, idempotency_key: str, debit: LedgerAccount, credit: LedgerAccount,
             amount: Decimal, reference: str = "", memo: str = "") -> JournalEntry:
    """A two-leg entry moving `amount` from one account to another of the same asset."""
    return entry_post(kind=kind, idempotency_key=idempotency_key, reference=reference, memo=memo,
                      legs=[Leg.debit(debit, amount), Leg.credit(credit, amount)])
