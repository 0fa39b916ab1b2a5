"""Reads the portal needs beyond the API's selectors: the earnings series and payout dates."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet, Sum
from django.utils import timezone

from earn.models import Accrual, PayoutMode, Position, PositionStatus, TermType
from earn.selectors.positions import positions_with_interest

if TYPE_CHECKING:
    from accounts.models import User


def earnings_by_asset(user: User, *, start: dt.date, end: dt.date) -> dict[str, list[tuple[dt.date, Decimal]]]:
    """{asset: [(day, interest posted that day)]} over [start, end], in one query."""
    rows = (Accrual.objects.filter(position__user=user, date__gte=start, date__lte=end)
            .values("date", "position__asset_id").annotate(total=Sum("posted")).order_by("date"))
    out: dict[str, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for row in rows:
        out[row["position__asset_id"]].append((row["date"], row["total"]))
    return dict(out)


def dashboard_positions(user: User) -> QuerySet[Position]:
    """Active positions with interest sums, product, asset and terms in one query."""
    return (positions_with_interest(user).filter(status=PositionStatus.ACTIVE)
            .select_related("terms").prefetch_related("terms__tiers").order_by("product_id", "id"))


def closed_positions(user: User, *, limit: int = 20) -> QuerySet[Position]:
    return (positions_with_interest(user).exclude(status=PositionStatus.ACTIVE)
            .select_related("terms").order_by("-closed_at", "-id")[:limit])


def position_for_user(user: User, position_id: int) -> Position | None:
    """The user's own position (None for anyone else's, so the page answers 404)."""
    return (positions_with_interest(user).select_related("terms", "product__asset")
            .filter(pk=position_id).first())


def next_payout(position: Position, today: dt.date) -> dt.date | None:
    """When interest next reaches the customer: daily payout tomorrow (once a full day has earned),
    at-maturity products on the maturity date."""
    if position.status != PositionStatus.ACTIVE:
        return None
    first = max(position.value_date + dt.timedelta(days=1), today + dt.timedelta(days=1))
    if position.term_type == TermType.FIXED and position.terms.payout == PayoutMode.AT_MATURITY:
        return position.maturity_date
    if position.maturity_date and first > position.maturity_date:
        return position.maturity_date
    return first


def yesterday_accruals(user: Any, day: dt.date) -> dict[int, tuple[Decimal, Decimal]]:
    """{position id: (interest posted for `day`, the APR it earned)} for the user's positions, one query."""
    rows = (Accrual.objects.filter(position__user=user, date=day)
            .values_list("position_id", "posted", "apr"))
    return {pid: (posted, apr) for pid, posted, apr in rows}


def prices_with_time(codes: list[str]) -> tuple[dict[str, Decimal], dt.datetime | None]:
    """The latest USD price per asset and the time of the oldest of them (what a total is "as of"), one query."""
    from pricing.models import PriceSnapshot

    if not codes:
        return {}, None
    rows = list(PriceSnapshot.objects.filter(asset_id__in=codes, as_of__lte=timezone.now())
                .order_by("asset_id", "-as_of", "-id").distinct("asset_id").values_list("asset_id", "price_usd",
                                                                                       "as_of"))
    return {a: p for a, p, _t in rows}, min((t for _a, _p, t in rows), default=None)


def portfolio_usd(balances: list[dict[str, Any]], pool_rows: list[Any],
                  prices: dict[str, Decimal]) -> tuple[Decimal, list[str]]:
    """Everything the customer holds (available, in Earn, interest owed, settling, committed, pool positions) in
    USD at the latest prices; the assets without a price are named and left out."""
    total, unpriced = Decimal(0), []
    for row in balances:
        held = row["available"] + row["earn"] + row["accrued"] + row["pending"] + row["committed"]
        if not held:
            continue
        if row["asset_code"] in prices:
            total += held * prices[row["asset_code"]]
        elif not row["asset_code"].startswith("LP"):  # pool shares are valued below, by their pool
            unpriced.append(row["asset_code"])
    for row in pool_rows:
        value = getattr(row, "value", {}) or {}
        if value.get("value_usd") is not None:
            total += Decimal(str(value["value_usd"]))
    return total.quantize(Decimal("0.01")), unpriced
