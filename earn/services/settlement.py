"""Settling what is due: standard redemptions at their settle time, fixed positions at maturity (or renewal).

Idempotent and resumable. Same lock order as subscriptions: the position row, then ledger accounts by
ascending id, and the product row last (a maturity's release of `sold_amount` is the last write).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from compliance.gate import blocking_codes
from core.audit import audit_record
from earn.calendar import maturity_date_for
from earn.lock_objects import position_lock
from earn.models import (
    Accrual,
    AccrualRun,
    Position,
    PositionChange,
    PositionStatus,
    Product,
    ProductStatus,
    Redemption,
    RedemptionStatus,
    TermType,
)
from earn.selectors.positions import interest_totals
from earn.selectors.products import terms_in_force
from earn.services.subscriptions import business_today
from ledger import services as ledger
from ledger.models import AccountKind, EntryKind
from ledger.services import Leg


@dataclass
class SettleResult:
    redemptions_settled: int = 0
    positions_matured: int = 0
    positions_renewed: int = 0
    waiting_for_accrual: int = 0


def settle(*, batch_size: int = 500, progress: Callable[[str, int], None] | None = None) -> SettleResult:
    """Settle standard redemptions due and fixed positions at maturity. Idempotent, resumable."""
    result = SettleResult()
    now = timezone.now()
    while True:
        with transaction.atomic():
            due = list(Redemption.objects.select_for_update(skip_locked=True)
                       .filter(status=RedemptionStatus.PENDING, settles_at__lte=now)
                       .select_related("position").order_by("id")[:batch_size])
            for redemption in due:
                _settle_redemption(redemption, now)
            result.redemptions_settled += len(due)
        if progress:
            progress("redemptions", result.redemptions_settled)
        if len(due) < batch_size:
            break
    return maturities_settle(business_today(), now=now, progress=progress, result=result)


def maturities_settle(today: dt.date, *, now: dt.datetime | None = None,
                      progress: Callable[[str, int], None] | None = None,
                      result: SettleResult | None = None) -> SettleResult:
    """Mature (or renew) fixed positions due on or before `today` whose last earning day is accrued.

    `settle` calls it for the business day; the accrual engine calls it before planning each day,
    so a catch-up over several days renews positions in time for the days after their maturity.
    """
    result = result or SettleResult()
    now = now or timezone.now()
    ids = list(Position.objects.filter(status=PositionStatus.ACTIVE, term_type=TermType.FIXED,
                                       maturity_date__lte=today).order_by("id").values_list("id", flat=True))
    for position_id in ids:
        outcome = _mature(position_id, today, now)
        if outcome == "matured":
            result.positions_matured += 1
        elif outcome == "renewed":
            result.positions_matured += 1
            result.positions_renewed += 1
        elif outcome == "waiting":
            result.waiting_for_accrual += 1
        if progress:
            progress("maturities", result.positions_matured)
    return result


def _settle_redemption(redemption: Redemption, now: dt.datetime) -> None:
    position = redemption.position
    asset = position.asset_id
    accounts = ledger.accounts_ensure([(position.user_id, asset, AccountKind.PENDING),
                                       (position.user_id, asset, AccountKind.AVAILABLE)])
    pending_amount = redemption.payout
    if pending_amount > 0:
        ledger.transfer(kind=EntryKind.SETTLEMENT, idempotency_key=f"settlement:{redemption.pk}",
                        debit=accounts[(position.user_id, asset, AccountKind.PENDING)],
                        credit=accounts[(position.user_id, asset, AccountKind.AVAILABLE)],
                        amount=pending_amount, reference=f"redemption:{redemption.pk}")
    Redemption.objects.filter(pk=redemption.pk).update(status=RedemptionStatus.SETTLED, settled_at=now)
    audit_record(actor=None, action="redemption.settle", obj=redemption, after={"settled_at": now})


def _accrued_through(position: Position, day: dt.date) -> bool:
    """Settlement waits until the last earning day's accrual has been run."""
    return (AccrualRun.objects.filter(date=day, status=AccrualRun.Status.DONE).exists()
            or Accrual.objects.filter(position=position, date=day).exists())


@transaction.atomic
def _mature(position_id: int, today: dt.date, now: dt.datetime) -> str:
    position = position_lock(position_id)
    if position.status != PositionStatus.ACTIVE or position.maturity_date is None or position.maturity_date > today:
        return "skipped"
    last_day = position.maturity_date - dt.timedelta(days=1)
    if not _accrued_through(position, last_day):
        return "waiting"
    product, asset, user_id = position.product, position.asset_id, position.user_id
    unpaid = interest_totals(position)["unpaid"]
    principal = position.principal
    renew_terms = _renewal_terms(position, today)
    acc = ledger.accounts_ensure([(user_id, asset, AccountKind.EARN), (user_id, asset, AccountKind.AVAILABLE),
                                  (user_id, asset, AccountKind.ACCRUED)])
    legs: list[Leg] = []
    if unpaid:
        legs += [Leg.debit(acc[(user_id, asset, AccountKind.ACCRUED)], unpaid),
                 Leg.credit(acc[(user_id, asset, AccountKind.AVAILABLE)], unpaid)]
        Accrual.objects.filter(position=position, paid_out=False).update(paid_out=True)
    PositionChange.objects.create(position=position, effective_date=position.maturity_date, amount=-principal,
                                  reason=PositionChange.Reason.MATURITY, created_at=now)
    if renew_terms is not None:
        value_date = position.maturity_date
        renewed = Position.objects.create(
            user_id=user_id, product=product, terms=renew_terms, asset_id=asset, term_type=TermType.FIXED,
            principal=principal, value_date=value_date,
            maturity_date=maturity_date_for(value_date, renew_terms.term_days), auto_renew=True,
            renewed_from=position, created_at=now)
        PositionChange.objects.create(position=renewed, effective_date=value_date, amount=principal,
                                      reason=PositionChange.Reason.RENEWAL, created_at=now)
        status = PositionStatus.RENEWED
    else:
        legs += [Leg.debit(acc[(user_id, asset, AccountKind.EARN)], principal),
                 Leg.credit(acc[(user_id, asset, AccountKind.AVAILABLE)], principal)]
        status = PositionStatus.MATURED
    Position.objects.filter(pk=position.pk).update(status=status, closed_at=now, principal=Decimal(0))
    if legs:
        ledger.entry_post(kind=EntryKind.SETTLEMENT, idempotency_key=f"maturity:{position.pk}", legs=legs,
                          reference=f"position:{position.pk}")
    audit_record(actor=None, action="position.mature", obj=position,
                 after={"principal": principal, "interest_paid": unpaid, "renewed": renew_terms is not None})
    if status == PositionStatus.MATURED:  # last: the product row is held only to commit
        Product.objects.filter(pk=product.pk).update(sold_amount=F("sold_amount") - principal)
    return "renewed" if renew_terms is not None else "matured"


def _renewal_terms(position: Position, today: dt.date):
    """Renew at the then-current terms if the customer asked, the product is live and can take it."""
    if not position.auto_renew:
        return None
    product = position.product
    terms = terms_in_force(product, today)
    if (product.status != ProductStatus.LIVE or terms is None or not terms.auto_renew_allowed
            or not terms.term_days or blocking_codes(position.user, product)):
        return None
    if terms.max_amount is not None and position.principal > terms.max_amount:
        return None
    if product.total_cap is not None and product.sold_amount > product.total_cap:
        return None
    return terms
