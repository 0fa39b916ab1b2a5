"""Reads about terms, positions and what they earn."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum

from earn.interest import Tier
from earn.models import Accrual, Position, PositionChange, PositionStatus, Product, ProductTerms


def tiers_of(terms: ProductTerms) -> list[Tier]:
    return [Tier(t.lower, t.upper, t.apr) for t in terms.tiers.all()]


def user_principal(user: Any, product: Product) -> Decimal:
    """Principal the user holds in the product now (active positions)."""
    total = (Position.objects.filter(user=user, product=product, status=PositionStatus.ACTIVE)
             .aggregate(total=Sum("principal"))["total"])
    return total or Decimal(0)


def not_yet_earning(position: Position, today: dt.date) -> Decimal:
    """Money added but not earning yet: the changes that take effect after today."""
    total = position.changes.filter(effective_date__gt=today).aggregate(total=Sum("amount"))["total"]
    return max(total or Decimal(0), Decimal(0))


def earning_base(position: Position, day: dt.date) -> Decimal:
    """What earns on `day`: the sum of changes effective on or before it."""
    total = PositionChange.objects.filter(position=position, effective_date__lte=day).aggregate(t=Sum("amount"))["t"]
    return total or Decimal(0)


def interest_totals(position: Position) -> dict[str, Decimal]:
    """Interest paid out so far, and earned but not yet paid (at-maturity products)."""
    sums = Accrual.objects.filter(position=position).aggregate(
        paid=Sum("posted", filter=Q(paid_out=True) & ~Q(payout="compound")),
        compounded=Sum("posted", filter=Q(payout="compound")),
        unpaid=Sum("posted", filter=Q(paid_out=False)),
    )
    return {key: value or Decimal(0) for key, value in sums.items()}


def positions_for_user(user: Any):  # type: ignore[no-untyped-def]
    return Position.objects.filter(user=user).select_related("product", "asset").order_by("-id")
