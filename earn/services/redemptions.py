"""Redeeming positions: the plan (shared by the preview and the real thing), the write, the idempotent submit.

Settlement of what is due: `earn.services.settlement`; customer switches: `earn.services.position_switches`.
Same lock order as subscriptions: the position row, then ledger accounts by ascending id, and the
product row last (the release of `sold_amount` is the last write before commit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.idempotency import idempotent
from core.money import floor_to_scale, parse_amount
from core.refusals import message_for
from core.rows import insert
from earn import errors, signals
from earn.interest import simple_interest
from earn.lock_objects import position_lock
from earn.models import (
    Accrual,
    EarlyRedemption,
    Position,
    PositionChange,
    PositionStatus,
    Redemption,
    RedemptionMode,
    RedemptionStatus,
    TermType,
)
from earn.selectors.positions import interest_totals, not_yet_earning
from earn.selectors.products import terms_in_force
from ledger import services as ledger
from ledger.models import AccountKind, EntryKind
from ledger.services import Leg

if TYPE_CHECKING:
    from accounts.models import User


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
        raise errors.RedemptionRefused(message_for(errors.POSITION_CLOSED), code=errors.POSITION_CLOSED)
    if mode not in RedemptionMode.values:
        raise errors.InvalidAmount(_("Mode must be fast or standard."), field="mode")
    if position.term_type == TermType.DEMAND:
        terms = terms_in_force(product, today) or position.terms
        if terms.redemption_modes and mode not in terms.redemption_modes:
            raise errors.RedemptionRefused(message_for(errors.MODE_NOT_AVAILABLE), code=errors.MODE_NOT_AVAILABLE,
                                           field="mode")
        value = parse_amount(amount, scale=scale) if amount not in (None, "") else position.principal
        if value > position.principal:
            raise errors.InvalidAmount(_("Amount is more than the position holds."), field="amount")
        return RedemptionPlan(value, value, Decimal(0), Decimal(0), Decimal(0), False, mode,
                              _next_midnight(now) if mode == RedemptionMode.STANDARD else None)
    # Fixed term: whole position only, and before maturity only under the product's rule.
    if amount not in (None, "") and parse_amount(amount, scale=scale) != position.principal:
        raise errors.InvalidAmount(_("A fixed-term position is redeemed in full."), field="amount")
    if position.maturity_date and today >= position.maturity_date:
        raise errors.RedemptionRefused(message_for(errors.POSITION_MATURED), code=errors.POSITION_MATURED)
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


def redemption_create(*, user: User, position_id: int, amount: Any | None, mode: str) -> Redemption:
    """Redeem (part of) a position: fast pays available now, standard via pending at the next settle."""
    with transaction.atomic():
        return _redeem(user=user, position_id=position_id, amount=amount, mode=mode)


def _redeem(*, user: User, position_id: int, amount: Any | None, mode: str) -> Redemption:
    """The redemption itself, inside the caller's transaction (no savepoint of its own)."""
    position = position_lock(position_id, user=user)
    now = timezone.now()
    today = timezone.localtime(now, dt.UTC).date()
    plan = redemption_plan(position=position, amount=amount, mode=mode, now=now)
    product = position.product
    asset = product.asset_id
    standard = plan.mode == RedemptionMode.STANDARD
    # Plain INSERTs and UPDATEs (core.rows): the ORM's compiler cost more Python than these statements.
    redemption = insert(Redemption(
        position=position, amount=plan.amount, payout=plan.payout, forfeited=plan.forfeited, mode=plan.mode,
        early=plan.early, status=RedemptionStatus.PENDING if standard else RedemptionStatus.SETTLED,
        settles_at=plan.settles_at, settled_at=None if standard else now, created_at=now,
    ))
    _record_principal_out(position, plan.amount, today, PositionChange.Reason.REDEMPTION, now)
    remaining = position.principal - plan.amount
    closes = remaining == 0 and position.term_type == TermType.FIXED
    with connection.cursor() as cursor:
        if closes:
            cursor.execute("UPDATE earn_position SET principal = %s, status = %s, closed_at = %s WHERE id = %s",
                           [remaining, PositionStatus.REDEEMED.value, now, position.pk])
        else:
            cursor.execute("UPDATE earn_position SET principal = %s WHERE id = %s", [remaining, position.pk])
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
    signals.redemption_confirmed.send(sender=Redemption, redemption=redemption)  # an outbox row: before the last write
    # Last: the product row is then held only to commit (subscriptions queue on it).
    with connection.cursor() as cursor:
        cursor.execute("UPDATE earn_product SET sold_amount = sold_amount - %s WHERE id = %s",
                       [plan.amount, product.pk])
    return redemption


def _record_principal_out(position: Position, amount: Decimal, today: dt.date, reason: str,
                          now: dt.datetime) -> None:
    """Take first from money not yet earning (removed from tomorrow), the rest stops earning today."""
    pending = min(not_yet_earning(position, today), amount)
    rest = amount - pending
    if pending:
        insert(PositionChange(position=position, effective_date=today + dt.timedelta(days=1), amount=-pending,
                              reason=reason, created_at=now))
    if rest:
        insert(PositionChange(position=position, effective_date=today, amount=-rest, reason=reason, created_at=now))


def redemption_submit(*, user: User, position_id: int, amount: Any | None, mode: str, idempotency_key: str | None,
                      render: Callable[[Redemption], Any]) -> tuple[int, Any, bool]:
    payload = {"position": position_id, "amount": None if amount is None else str(amount), "mode": mode}
    # `idempotent` runs the action in its own (outermost) transaction: no savepoint for the redemption.
    return idempotent(user=user, key=idempotency_key, scope="redemptions", payload=payload,
                      action=lambda: (201, render(_redeem(user=user, position_id=position_id, amount=amount,
                                                          mode=mode))))
