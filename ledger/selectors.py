"""Reads of the ledger: assets, a customer's balances and postings."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from core.db_router import read_alias
from ledger.models import AccountKind, Asset, EntryKind, JournalEntry, LedgerAccount, Posting

BALANCE_KINDS = (AccountKind.AVAILABLE, AccountKind.EARN, AccountKind.ACCRUED, AccountKind.PENDING,
                 AccountKind.COMMITTED)


def asset_list() -> QuerySet[Asset]:
    return Asset.objects.order_by("code")


def asset_get(*, code: str) -> Asset | None:
    return Asset.objects.filter(code=code).first()


def balance_list(*, user_id: int) -> QuerySet:
    """One row per asset the user has an account in: available, earn, accrued, pending, committed (one query)."""
    zero = Value(0, output_field=LedgerAccount._meta.get_field("balance"))
    sums = {
        str(kind): Coalesce(Sum("balance", filter=Q(kind=kind)), zero)
        for kind in BALANCE_KINDS
    }
    return (
        LedgerAccount.objects.filter(owner_id=user_id, kind__in=BALANCE_KINDS)
        .values(asset_code=F("asset_id"))
        .annotate(scale=F("asset__scale"), **sums)
        .order_by("asset_code")
    )


def posting_list(*, user_id: int, start: dt.datetime | None = None, end: dt.datetime | None = None,
                 asset: str | None = None, kind: str | None = None) -> QuerySet:
    """The user's postings with their entry's kind, key and reference; `end` is exclusive.

    Rows are dicts, in (created_at, id) order. Only accounts owned by `user_id` are joined, so
    a customer never sees another owner's legs of a shared entry. History and its CSV export: read from
    the replica when there is one (core.db_router).
    """
    postings = Posting.objects.using(read_alias()).filter(account__owner_id=user_id)
    if start is not None:
        postings = postings.filter(created_at__gte=start)
    if end is not None:
        postings = postings.filter(created_at__lt=end)
    if asset:
        postings = postings.filter(asset_id=asset)
    if kind:
        postings = postings.filter(entry__kind=kind)
    return postings.values(
        "id", "created_at", "side", "amount", "entry_id",
        kind=F("entry__kind"), key=F("entry__idempotency_key"),
        reference=F("entry__reference"), asset_code=F("asset_id"), scale=F("asset__scale"),
        account_kind=F("account__kind"),
    ).order_by("created_at", "id")


def deposit_get(*, reference: str) -> JournalEntry | None:
    """The deposit entry posted under `reference`, if any (deposits are idempotent on it)."""
    return JournalEntry.objects.filter(kind=EntryKind.DEPOSIT, reference=reference).order_by("id").first()
