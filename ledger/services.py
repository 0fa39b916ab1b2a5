"""The only code that posts to the ledger, and so the only code whose work moves balances.

`entries_post` writes any number of journal entries in a constant number of statements: the
entries (ON CONFLICT on the idempotency key) and their postings. Python never writes a balance:
PostgreSQL adds each INSERT's postings to their accounts' balances (one statement-level trigger,
ledger/sql/balances_from_postings.sql) and refuses any other UPDATE of a ledger account. Accounts
are locked in ascending id order first, then the idempotency keys are taken in sorted order, so two
concurrent postings touching the same accounts or keys queue instead of deadlocking.

Lock order across the service (see also earn): product rows, then position rows, then ledger
accounts by ascending id.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import is_multiple_of_scale, to_decimal
from ledger.errors import IdempotencyKeyReused, InsufficientBalance, InvalidAmount, UnbalancedEntry
from ledger.models import AccountKind, Asset, EntryKind, JournalEntry, LedgerAccount, Side


@dataclass(frozen=True)
class Leg:
    """One side of an entry: `amount` (> 0) debited or credited to an account."""

    account_id: int
    asset: str
    side: str
    amount: Decimal

    @classmethod
    def debit(cls, account: LedgerAccount, amount: Decimal | str) -> Leg:
        return cls(account.pk, account.asset_id, Side.DEBIT, to_decimal(amount))

    @classmethod
    def credit(cls, account: LedgerAccount, amount: Decimal | str) -> Leg:
        return cls(account.pk, account.asset_id, Side.CREDIT, to_decimal(amount))

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


def _asset_scales(codes: set[str]) -> dict[str, int]:
    scales = dict(Asset.objects.filter(code__in=codes).values_list("code", "scale"))
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
    scales = _asset_scales({leg.asset for spec in specs for leg in spec.legs})
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
    now = timezone.now()
    # Keys are inserted in sorted order: a unique-index insert waits on an uncommitted equal key,
    # so two concurrent batches sharing keys in different orders would otherwise deadlock.
    keys = sorted(by_key)
    with transaction.atomic(), connection.cursor() as cursor:
        # Accounts first, then keys: a transaction that already holds these accounts and is about
        # to post the same key must not find us holding the key while we wait for its accounts.
        locked = _lock_accounts(cursor, by_key.values())
        cursor.execute(
            """
            INSERT INTO ledger_journalentry (kind, idempotency_key, fingerprint, reference, memo, created_at)
            SELECT k, key, f, r, m, %s
              FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
                   WITH ORDINALITY AS t(k, key, f, r, m, n)
             ORDER BY n
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id, idempotency_key
            """,
            [now, [by_key[k].kind for k in keys], keys, [by_key[k].fingerprint for k in keys],
             [by_key[k].reference for k in keys], [by_key[k].memo for k in keys]],
        )
        created = {key: entry_id for entry_id, key in cursor.fetchall()}
        replayed = [k for k in keys if k not in created]
        if replayed:
            existing = JournalEntry.objects.filter(idempotency_key__in=replayed).values_list("idempotency_key",
                                                                                              "fingerprint")
            for key, fingerprint in existing:
                if fingerprint != by_key[key].fingerprint:
                    raise IdempotencyKeyReused(_("Idempotency key %(key)s was used for other content.")
                                               % {"key": key})
        if created:
            _write_postings(cursor, [(created[k], by_key[k]) for k in keys if k in created], locked, now)
    entries = JournalEntry.objects.in_bulk(keys, field_name="idempotency_key")
    return [entries[spec.idempotency_key] for spec in specs]


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


def _write_postings(cursor, created: list[tuple[int, EntrySpec]],
                    locked: dict[int, tuple[int | None, Decimal]], now) -> None:
    deltas: dict[int, Decimal] = defaultdict(Decimal)
    entry_ids, account_ids, assets, sides, amounts = [], [], [], [], []
    for entry_id, spec in created:
        for leg in spec.legs:
            entry_ids.append(entry_id)
            account_ids.append(leg.account_id)
            assets.append(leg.asset)
            sides.append(leg.side)
            amounts.append(leg.amount)
            deltas[leg.account_id] += leg.signed
    # The balances were read under FOR UPDATE in this transaction, so they are still current. The
    # database would refuse an overdraft too (CHECK on the balance the trigger writes); here it is a
    # domain error raised before anything is written.
    for account_id in sorted(deltas):
        owner_id, balance = locked[account_id]
        if owner_id is not None and balance + deltas[account_id] < 0:
            raise InsufficientBalance(account=account_id)
    # One statement: the posting trigger adds each account's delta to its balance, once per call.
    cursor.execute(
        """
        INSERT INTO ledger_posting (entry_id, account_id, asset_id, side, amount, created_at)
        SELECT e, a, s, d, x, %s FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::numeric[])
            AS t(e, a, s, d, x)
        """,
        [now, entry_ids, account_ids, assets, sides, amounts],
    )


def entry_post(*, kind: str, idempotency_key: str, legs: Sequence[Leg], reference: str = "",
               memo: str = "") -> JournalEntry:
    """Post one balanced entry; see `entries_post`."""
    return entries_post([EntrySpec(kind, idempotency_key, tuple(legs), reference, memo)])[0]


def accounts_ensure(keys: Iterable[tuple[int | None, str, str]]) -> dict[tuple[int | None, str, str], LedgerAccount]:
    """Get or create ledger accounts by (owner id or None, asset, kind), race-free."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO ledger_ledgeraccount (owner_id, asset_id, kind, balance, created_at)
            SELECT o, a, k, 0, %s FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS t(o, a, k)
            ON CONFLICT (owner_id, asset_id, kind) DO NOTHING
            """,
            [timezone.now(), [w[0] for w in wanted], [w[1] for w in wanted], [w[2] for w in wanted]],
        )
    match = Q()
    for owner_id, asset, kind in wanted:
        owner = Q(owner_id=owner_id) if owner_id is not None else Q(owner__isnull=True)
        match |= owner & Q(asset_id=asset, kind=kind)
    result = {(a.owner_id, a.asset_id, a.kind): a for a in LedgerAccount.objects.filter(match)}
    return {w: result[w] for w in wanted}


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


def transfer(*, kind: str, idempotency_key: str, debit: LedgerAccount, credit: LedgerAccount,
             amount: Decimal, reference: str = "", memo: str = "") -> JournalEntry:
    """A two-leg entry moving `amount` from one account to another of the same asset."""
    return entry_post(kind=kind, idempotency_key=idempotency_key, reference=reference, memo=memo,
                      legs=[Leg.debit(debit, amount), Leg.credit(credit, amount)])
