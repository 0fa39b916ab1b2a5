"""Reads for statements: one customer's month computed from the ledger, with the per-product detail.

Balances and movements come from the customer's own ledger postings (credit +, debit −), so the opening
balance plus every movement is the closing balance, to the unit. Interest by product comes from the
accrual rows credited in the month (earn), rewards and fees by product from the pool payouts, forfeits
from the redemptions; their totals equal the ledger's interest, reward and fee movements.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from core.dates import LATEST
from core.db_router import read_alias
from core.money import floor_to_scale
from earn.models import Accrual, Product, Redemption
from ledger.models import AccountKind, Asset, LedgerAccount, Posting, Side
from pools.models import PoolPayout
from statements.models import Statement

EARN_KINDS = (AccountKind.EARN, AccountKind.POOL_SHARE)
INTO_EARN = ("subscription", "pool_deposit")
OUT_OF_EARN = ("redemption", "settlement", "pool_redemption")
ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=38, decimal_places=18))


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[first instant, first instant of the next month) in UTC."""
    start = dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)
    if (month.year, month.month) == (9999, 12):  # the month after is past the calendar (a ValueError, a traceback)
        return start, LATEST
    following = dt.datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=dt.UTC)
    return start, following


def _signed() -> dict[str, Any]:
    return {"credit": Coalesce(Sum("amount", filter=Q(side=Side.CREDIT)), ZERO),
            "debit": Coalesce(Sum("amount", filter=Q(side=Side.DEBIT)), ZERO)}


def _text(value: Decimal, scale: int) -> str:
    """At the asset's scale ("12.50000000"); a value finer than the scale keeps its digits."""
    at_scale = floor_to_scale(value, scale)
    return format(at_scale if at_scale == value else value, "f")


def _names(product_ids: set[int]) -> dict[int, dict[str, str]]:
    return {pk: {"en": en, "zh-hant": zh or en} for pk, en, zh in
            Product.objects.filter(pk__in=product_ids).values_list("pk", "name_en", "name_zh_hant")}


def statement_figures(user: Any, month: dt.date) -> dict[str, Any]:
    """Every number of a customer's statement for `month` (decimal strings at the asset's scale).

    From default, not the replica: the statement is written once and never rebuilt, and a replica a few
    seconds behind the month's last accrual would leave its interest out for good."""
    start, end = month_bounds(month)
    mine = Posting.objects.filter(account__owner_id=user.pk)
    opening: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in mine.filter(created_at__lt=start).values("asset_id", "account__kind").annotate(**_signed()):
        opening[row["asset_id"]][row["account__kind"]] += row["credit"] - row["debit"]
    moves: dict[str, dict[tuple[str, str], tuple[Decimal, Decimal]]] = defaultdict(dict)
    for row in (mine.filter(created_at__gte=start, created_at__lt=end)
                .values("asset_id", "entry__kind", "account__kind").annotate(**_signed())):
        moves[row["asset_id"]][(row["entry__kind"], row["account__kind"])] = (row["credit"], row["debit"])

    detail: dict[str, dict[str, dict[int, Decimal]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(Decimal)))
    for product, asset, amount in (Accrual.objects.filter(position__user=user, created_at__gte=start,
                                                          created_at__lt=end, posted__gt=0)
                                   .values_list("position__product_id", "position__asset_id")
                                   .annotate(total=Sum("posted")).order_by()):
        detail[asset]["interest"][product] += amount
    for row in (PoolPayout.objects.filter(position__user=user, created_at__gte=start, created_at__lt=end)
                .values("position__product_id", "position__product__pool__asset_a_id",
                        "position__product__pool__asset_b_id", "position__product__pool__reward_asset_id")
                .annotate(fa=Sum("fee_a"), fb=Sum("fee_b"), r=Sum("reward")).order_by()):
        product = row["position__product_id"]
        for asset, amount, section in ((row["position__product__pool__asset_a_id"], row["fa"], "fees"),
                                       (row["position__product__pool__asset_b_id"], row["fb"], "fees"),
                                       (row["position__product__pool__reward_asset_id"], row["r"], "rewards")):
            if asset and amount:
                detail[asset][section][product] += amount
    for product, asset, amount in (Redemption.objects.filter(position__user=user, created_at__gte=start,
                                                             created_at__lt=end, forfeited__gt=0)
                                   .values_list("position__product_id", "position__asset_id")
                                   .annotate(total=Sum("forfeited")).order_by()):
        detail[asset]["forfeits"][product] += amount

    codes = sorted(set(opening) | set(moves) | set(detail))
    scales = dict(Asset.objects.filter(code__in=codes).values_list("code", "scale"))
    names = _names({p for sections in detail.values() for products in sections.values() for p in products})
    assets = []
    for code in codes:
        scale = scales[code]
        kinds = sorted(set(opening[code]) | {k for _e, k in moves[code]})
        by_entry: dict[str, Decimal] = defaultdict(Decimal)
        closing_by_kind = dict(opening[code])
        into = out = Decimal(0)
        for (entry_kind, account_kind), (credit, debit) in moves[code].items():
            by_entry[entry_kind] += credit - debit
            closing_by_kind[account_kind] = closing_by_kind.get(account_kind, Decimal(0)) + credit - debit
            if account_kind in EARN_KINDS and entry_kind in INTO_EARN:
                into += credit
            if account_kind in EARN_KINDS and entry_kind in OUT_OF_EARN:
                out += debit
        opening_total = sum(opening[code].values(), Decimal(0))
        closing_total = sum(closing_by_kind.values(), Decimal(0))
        if not opening_total and not closing_total and not moves[code] and not detail[code]:
            continue
        assets.append({
            "asset": code, "scale": scale,
            "opening": _text(opening_total, scale), "closing": _text(closing_total, scale),
            "opening_by_kind": {k: _text(opening[code].get(k, Decimal(0)), scale) for k in kinds},
            "closing_by_kind": {k: _text(closing_by_kind.get(k, Decimal(0)), scale) for k in kinds},
            "movements": [{"kind": k, "amount": _text(v, scale)} for k, v in sorted(by_entry.items()) if v],
            "into_earn": _text(into, scale), "out_of_earn": _text(out, scale),
            **{section: [{"product": p, "name": names.get(p, {"en": str(p), "zh-hant": str(p)}),
                          "amount": _text(v, scale)} for p, v in sorted(detail[code][section].items())]
               for section in ("interest", "rewards", "fees", "forfeits")},
        })
    return {"month": f"{month:%Y-%m}", "from": start.isoformat(), "to": end.isoformat(),
            "customer": {"id": user.pk, "email": user.email, "name": getattr(user, "display_name", "") or ""},
            "assets": assets}


def statements_for(user: Any) -> list[Statement]:
    """A customer's statements, newest month first (from the replica when there is one)."""
    return list(Statement.objects.using(read_alias()).filter(user=user).order_by("-month")
                .only("id", "month", "created_at"))


def statement_for(user: Any, statement_id: int) -> Statement | None:
    """The customer's own statement (None for anyone else's, so the page answers 404); replica as above."""
    return Statement.objects.using(read_alias()).filter(pk=statement_id, user=user).first()


def statement_customers(after_user_id: int, end: dt.datetime, limit: int) -> list[User]:
    """Customers (in id order, after a cursor) with a ledger account opened before `end`: those who may have
    a statement (accounts are opened by their first posting)."""
    ids = (LedgerAccount.objects.filter(owner_id__gt=after_user_id, created_at__lt=end, owner__is_staff=False)
           .values_list("owner_id", flat=True).distinct().order_by("owner_id")[:limit])
    return list(User.objects.filter(pk__in=list(ids)).order_by("pk"))
