"""Redeeming positions and settling what is due (standard redemptions, maturities, renewals).

Same lock order as subscriptions: product row, then position row, then ledger accounts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.audit import audit_record
from compliance.gate import blocking_codes
from core.idempotency import idempotent
from core.money import floor_to_scale, parse_amount
from core.refusals import message_for
from earn import errors
from earn.calendar import maturity_date_for
from earn.interest import simple_interest
from earn.lock_objects import position_lock
from earn.models import (
    Accrual,
    AccrualRun,
    EarlyRedemption,
    Position,
    PositionChange,
    PositionStatus,
    Product,
    ProductStatus,
    Redemption,
    RedemptionMode,
    RedemptionStatus,
    TermType,
)
from earn.selectors.positions import interest_totals, not_yet_earning
from earn.selectors.products import terms_in_force
from earn.services.subscriptions import business_today
from ledger import services as ledger
from ledger.models import AccountKind, EntryKind
from ledger.services import Leg
from notifications import events as notify


@dataclass(frozen=True)
class RedemptionPlan:
    """What a redemption returns, computed the same way for the preview and the real thing."""

    amount: Decimal  # principal leaving the position
    principal_payout: Decimal  # principal returned (amount − clawback)
    interest_payout: Decimal  # unpaid at-maturity interest paid out now
    clawback: Decimal  # paid interest taken back from the principal → penalty income
    reversed_accrued: Decimal  # unpaid interest cancelled → back to yield expense
    early: bool
    mode: str
    settles_at: dt.datetime | None

    @property
    def payout(self) -> Decimal:
        return self.principal_payout + self.interest_payout

    @property
    def forfeited(self) -> Decimal:
        return self.clawback + self.reversed_accrued


def _next_midnight(now: dt.datetime) -> dt.datetime:
    day = timezone.localtime(now, dt.UTC).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def redemption_plan(*, position: Position, amount: Any | None, mode: str, now: dt.datetime | None = None
                    ) -> RedemptionPlan:
    """Decide a redemption without writing; raises RedemptionRefused / InvalidAmount."""
    now = now or timezone.now()
    today = timezone.localtime(now, dt.UTC).date()
    product = position.product
    scale = product.asset.scale
    if position.status != PositionStatus.ACTIVE or position.principal <= 0:
        raise errors.RedemptionRefused(_("This position has nothing left to redeem."), code="POSITION_CLOSED")
    if mode not in RedemptionMode.values:
        raise errors.InvalidAmount(_("Mode must be fast or standard."), field="mode")
    if position.term_type == TermType.DEMAND:
        terms = terms_in_force(product, today) or position.terms
        if terms.redemption_modes and mode not in terms.redemption_modes:
            raise errors.RedemptionRefused(_("This product does not offer %(mode)s redemption.") % {"mode": mode},
                                           code="MODE_NOT_AVAILABLE", field="mode", status=400)
        value = parse_amount(amount, scale=scale) if amount not in (None, "") else position.principal
        if value > position.principal:
            raise errors.InvalidAmount(_("Amount is more than the position holds."), field="amount")
        return RedemptionPlan(value, value, Decimal(0), Decimal(0), Decimal(0), False, mode,
                              _next_midnight(now) if mode == RedemptionMode.STANDARD else None)
    # Fixed term: whole position only, and before maturity only under the product's rule.
    if amount not in (None, "") and parse_amount(amount, scale=scale) != position.principal:
        raise errors.InvalidAmount(_("A fixed-term position is redeemed in full."), field="amount")
    if position.maturity_date and today >= position.maturity_date:
        raise errors.RedemptionRefused(_("This position has matured and is being settled."), code="POSITION_MATURED")
    terms = position.terms
    rule = terms.early_redemption
    if rule == EarlyRedemption.NOT_ALLOWED:
        raise errors.RedemptionRefused(message_for(errors.EARLY_REDEMPTION_NOT_ALLOWED),
                                       code=errors.EARLY_REDEMPTION_NOT_ALLOWED)
    totals = interest_totals(position)
    paid, unpaid = totals["paid"], totals["unpaid"]
    principal = position.principal
    if rule == EarlyRedemption.FORFEIT_INTEREST:
        clawback, reversed_accrued, interest_payout = min(paid, principal), unpaid, Decimal(0)
    else:  # penalty_rate: re-price the elapsed days at the penalty APR, claw back the difference
        elapsed = max((today - position.value_date).days, 0)
        due = floor_to_scale(simple_interest(principal, terms.penalty_apr or Decimal(0), elapsed,
                                             terms.day_count_basis), scale)
        excess = max(paid + unpaid - due, Decimal(0))
        reversed_accrued = min(excess, unpaid)
        clawback = min(excess - reversed_accrued, principal)
        interest_payout = unpaid - reversed_accrued
    return RedemptionPlan(principal, principal - clawback, interest_payout, clawback, reversed_accrued, True, mode,
                          _next_midnight(now) if mode == RedemptionMode.STANDARD else None)


@transaction.atomic
def redemption_create(*, user: Any, position_id: int, amount: Any | None, mode: str) -> Redemption:
    """Redeem (part of) a position: fast pays available now, standard via pending at the next settle."""
    position = position_lock(position_id, user=user)
    now = timezone.now()
    today = timezone.localtime(now, dt.UTC).date()
    plan = redemption_plan(position=position, amount=amount, mode=mode, now=now)
    product = position.product
    asset = product.asset_id
    standard = plan.mode == RedemptionMode.STANDARD
    redemption = Redemption.objects.create(
        position=position, amount=plan.amount, payout=plan.payout, forfeited=plan.forfeited, mode=plan.mode,
        early=plan.early, status=RedemptionStatus.PENDING if standard else RedemptionStatus.SETTLED,
        settles_at=plan.settles_at, settled_at=None if standard else now, created_at=now,
    )
    _record_principal_out(position, plan.amount, today, PositionChange.Reason.REDEMPTION, now)
    remaining = position.principal - plan.amount
    closes = remaining == 0 and position.term_type == TermType.FIXED
    Position.objects.filter(pk=position.pk).update(
        principal=remaining, **({"status": PositionStatus.REDEEMED, "closed_at": now} if closes else {}))
    Product.objects.filter(pk=product.pk).update(sold_amount=F("sold_amount") - plan.amount)
    if plan.early and (plan.reversed_accrued or plan.interest_payout):
        Accrual.objects.filter(position=position, paid_out=False).update(paid_out=True)
    target = AccountKind.PENDING if standard else AccountKind.AVAILABLE
    owner = position.user_id
    acc = ledger.accounts_ensure([(owner, asset, AccountKind.EARN), (owner, asset, target),
                                  (owner, asset, AccountKind.ACCRUED), (None, asset, AccountKind.PENALTY_INCOME),
                                  (None, asset, AccountKind.YIELD_EXPENSE)])
    earn, payout_to = acc[(owner, asset, AccountKind.EARN)], acc[(owner, asset, target)]
    accrued = acc[(owner, asset, AccountKind.ACCRUED)]
    penalty_income = acc[(None, asset, AccountKind.PENALTY_INCOME)]
    yield_expense = acc[(None, asset, AccountKind.YIELD_EXPENSE)]
    legs = [Leg.debit(earn, plan.amount)]
    if plan.principal_payout:
        legs.append(Leg.credit(payout_to, plan.principal_payout))
    if plan.clawback:
        legs.append(Leg.credit(penalty_income, plan.clawback))
    if plan.reversed_accrued or plan.interest_payout:
        legs.append(Leg.debit(accrued, plan.reversed_accrued + plan.interest_payout))
        if plan.reversed_accrued:
            legs.append(Leg.credit(yield_expense, plan.reversed_accrued))
        if plan.interest_payout:
            legs.append(Leg.credit(payout_to, plan.interest_payout))
    ledger.entry_post(kind=EntryKind.REDEMPTION, idempotency_key=f"redemption:{redemption.pk}", legs=legs,
                      reference=f"position:{position.pk}")
    audit_record(actor=user, action="redemption.create", obj=redemption,
                 after={"position": position.pk, "amount": plan.amount, "payout": plan.payout,
                        "forfeited": plan.forfeited, "mode": plan.mode, "early": plan.early})
    notify.redemption_confirmed(redemption)
    return redemption


def _record_principal_out(position: Position, amount: Decimal, today: dt.date, reason: str,
                          now: dt.datetime) -> None:
    """Take first from money not yet earning (removed from tomorrow), the rest stops earning today."""
    pending = min(not_yet_earning(position, today), amount)
    rest = amount - pending
    if pending:
        PositionChange.objects.create(position=position, effective_date=today + dt.timedelta(days=1),
                                      amount=-pending, reason=reason, created_at=now)
    if rest:
        PositionChange.objects.create(position=position, effective_date=today, amount=-rest, reason=reason,
                                      created_at=now)


def redemption_submit(*, user: Any, position_id: int, amount: Any | None, mode: str, idempotency_key: str | None,
                      render: Callable[[Redemption], Any]) -> tuple[int, Any, bool]:
    payload = {"position": position_id, "amount": None if amount is None else str(amount), "mode": mode}
    return idempotent(user=user, key=idempotency_key, scope="redemptions", payload=payload,
                      action=lambda: (201, render(redemption_create(user=user, position_id=position_id,
                                                                    amount=amount, mode=mode))))


@transaction.atomic
def position_set_auto_renew(*, user: Any, position_id: int, auto_renew: bool) -> Position:
    position = position_lock(position_id, user=user)
    if auto_renew and (position.term_type != TermType.FIXED or not position.terms.auto_renew_allowed):
        raise errors.InvalidAmount(_("Auto-renew is not available for this position."), field="auto_renew")
    before = position.auto_renew
    Position.objects.filter(pk=position.pk).update(auto_renew=auto_renew)
    position.auto_renew = auto_renew
    audit_record(actor=user, action="position.auto_renew", obj=position, before={"auto_renew": before},
                 after={"auto_renew": auto_renew})
    return position


@transaction.atomic
def position_set_auto_compound(*, user: Any, position_id: int, auto_compound: bool) -> Position:
    """Demand positions only: from the next accrual on, the day's interest joins the principal."""
    position = position_lock(position_id, user=user)
    if position.term_type != TermType.DEMAND or position.status != PositionStatus.ACTIVE:
        raise errors.InvalidAmount(_("Auto-compound is only available on active flexible positions."),
                                   field="auto_compound")
    before = position.auto_compound
    Position.objects.filter(pk=position.pk).update(auto_compound=auto_compound)
    position.auto_compound = auto_compound
    audit_record(actor=user, action="position.auto_compound", obj=position, before={"auto_compound": before},
                 after={"auto_compound": auto_compound})
    return position


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
        Product.objects.filter(pk=product.pk).update(sold_amount=F("sold_amount") - principal)
        status = PositionStatus.MATURED
    Position.objects.filter(pk=position.pk).update(status=status, closed_at=now, principal=Decimal(0))
    if legs:
        ledger.entry_post(kind=EntryKind.SETTLEMENT, idempotency_key=f"maturity:{position.pk}", legs=legs,
                          reference=f"position:{position.pk}")
    audit_record(actor=None, action="position.mature", obj=position,
                 after={"principal": principal, "interest_paid": unpaid, "renewed": renew_terms is not None})
    return "renewed" if renew_terms is not None else "matured"


def _renewal_terms(position: Position, today: dt.date):  # type: ignore[no-untyped-def]
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

