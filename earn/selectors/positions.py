"""Reads about terms, positions and what they earn."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from earn.interest import Tier
from earn.models import Accrual, Position, Product, ProductTerms
from earn.selectors.products import user_principal_by_product

if TYPE_CHECKING:
    from accounts.models import User


def tiers_of(terms: ProductTerms) -> list[Tier]:
    return [Tier(t.lower, t.upper, t.apr) for t in terms.tiers.all()]


def user_principal(user: User, product: Product) -> Decimal:
    """Principal the user holds in the product now (active positions)."""
    return user_principal_by_product(user, [product.pk])[product.pk]


def position_owned(position_id: int, user: User) -> bool:
    """Whether this is one of the customer's positions (the redemption API answers 404 before anything else)."""
    if not isinstance(position_id, int) or abs(position_id) >= 2**63:
        return False
    with connection.cursor() as cursor:  # plain SQL: asked on every redemption request
        cursor.execute("SELECT 1 FROM earn_position WHERE id = %s AND user_id = %s", [position_id, user.pk])
        return cursor.fetchone() is not None


def not_yet_earning(position: Position, today: dt.date) -> Decimal:
    """Money added but not earning yet: the changes that take effect after today."""
    with connection.cursor() as cursor:  # plain SQL: the redemption path asks on every request
        cursor.execute("SELECT sum(amount) FROM earn_positionchange WHERE position_id = %s AND effective_date > %s",
                       [position.pk, today])
        total = cursor.fetchone()[0]
    return max(total or Decimal(0), Decimal(0))


# Which accruals count as what: paid out to available, compounded into principal, or owed.
PAID_INTEREST = Q(paid_out=True) & ~Q(payout="compound")
COMPOUNDED_INTEREST = Q(payout="compound")
UNPAID_INTEREST = Q(paid_out=False)


def interest_totals(position: Position) -> dict[str, Decimal]:
    """Interest paid out so far, and earned but not yet paid (at-maturity products)."""
    sums = Accrual.objects.filter(position=position).aggregate(
        paid=Sum("posted", filter=PAID_INTEREST),
        compounded=Sum("posted", filter=COMPOUNDED_INTEREST),
        unpaid=Sum("posted", filter=UNPAID_INTEREST),
    )
    return {key: value or Decimal(0) for key, value in sums.items()}


def positions_with_interest(user: User) -> QuerySet[Position]:
    """The user's positions with paid and unpaid interest summed in the same query."""
    zero = Value(Decimal(0), output_field=DecimalField(max_digits=38, decimal_places=18))

    def total(condition: Q) -> Coalesce:
        sums = (Accrual.objects.filter(condition, position=OuterRef("pk")).order_by().values("position")
                .annotate(t=Sum("posted")).values("t"))
        return Coalesce(Subquery(sums), zero)

    return (Position.objects.filter(user=user).select_related("product", "asset")
            .annotate(paid_interest=total(PAID_INTEREST), accrued_interest=total(UNPAID_INTEREST)))
