"""Reads about terms, positions and what they earn."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from core.idempotency import ANSWERED_SQL, answered_params
from core.rows import RowShape, is_bigint, prepared_cursor
from earn.interest import Tier
from earn.lock_objects import (
    POSITION_ROW_COLUMNS,
    POSITION_ROW_FROM,
    POSITION_ROW_WIDTH,
    position_from_row,
)
from earn.models import Accrual, Position, Product, ProductTerms, TermsStatus
from earn.selectors.products import user_principal_by_product

if TYPE_CHECKING:
    from accounts.models import User


def tiers_of(terms: ProductTerms) -> list[Tier]:
    return [Tier(t.lower, t.upper, t.apr) for t in terms.tiers.all()]


def user_principal(user: User, product: Product) -> Decimal:
    """Principal the user holds in the product now (active positions)."""
    return user_principal_by_product(user, [product.pk])[product.pk]


@dataclass(frozen=True)
class RedemptionRead:
    """What a redemption request is decided on before its transaction: the customer's position (product, asset,
    own terms, owner), the product's terms in force today, and whether the request's Idempotency-Key already
    holds an answer — one snapshot, so a retry of a redemption that closed the position is replayed, not refused."""

    position: Position
    terms_in_force: ProductTerms | None
    answered: bool


_IN_FORCE = RowShape(ProductTerms, "tf")
_REDEMPTION_READ_SQL = f"""
    SELECT {POSITION_ROW_COLUMNS}, {_IN_FORCE.columns}, {ANSWERED_SQL}
      FROM {POSITION_ROW_FROM}
      LEFT JOIN LATERAL (SELECT * FROM "earn_productterms" tf
                          WHERE tf.product_id = pos.product_id AND tf.status = %(approved)s
                            AND tf.effective_from <= %(today)s
                          ORDER BY tf.effective_from DESC, tf.version DESC LIMIT 1) tf ON true
     WHERE pos.id = %(position)s AND pos.user_id = %(user)s"""


def redemption_read(*, position_id: int, user: User, idempotency_key: str | None,
                    today: dt.date) -> RedemptionRead | None:
    """The customer's position to redeem from, or None (not theirs, or no such position: the API's 404, answered
    before anything else). One prepared statement: every redemption request reads it."""
    if not is_bigint(position_id):
        return None
    with prepared_cursor() as cursor:
        cursor.execute(_REDEMPTION_READ_SQL, {"position": position_id, "user": user.pk, "today": today,
                                              "approved": TermsStatus.APPROVED.value,
                                              **answered_params(user, idempotency_key)})
        row = cursor.fetchone()
    if row is None:
        return None
    in_force = _IN_FORCE.instance(row, POSITION_ROW_WIDTH) if row[POSITION_ROW_WIDTH] is not None else None
    return RedemptionRead(position_from_row(row), in_force, bool(row[-1]))


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
