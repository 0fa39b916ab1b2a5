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
from core.idempotency import IdempotentRequest
from core.money import floor_to_scale, parse_amount
from core.refusals import message_for
from core.rows import prepared_cursor
from earn import errors, signals
from earn.interest import simple_interest
from earn.lock_objects import position_lock
from earn.models import (
    Accrual,
    EarlyRedemption,
    Position,
    PositionChange,
    PositionStatus,
    ProductTerms,
    Redemption,
    RedemptionMode,
    RedemptionStatus,
    TermType,
)
from earn.selectors.positions import RedemptionRead, interest_totals
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


_UNREAD: Any = object()


def redemption_plan(*, position: Position, amount: Any | None, mode: str, now: dt.datetime | None = None,
                    terms_in_force_today: ProductTerms | None = _UNREAD) -> RedemptionPlan:
    """Decide a redemption without writing; raises RedemptionRefused / InvalidAmount. `terms_in_force_today`: the
    product's terms in force, when the caller read them (earn.selectors.positions.redemption_read)."""
    now = now or timezone.now()
    today = timezone.localtime(now, dt.UTC).date()
    product = position.product
    scale = product.asset.scale
    if position.status != PositionStatus.ACTIVE or position.principal <= 0:
        raise errors.RedemptionRefused(message_for(errors.POSITION_CLOSED), code=errors.POSITION_CLOSED)
    if mode not in RedemptionMode.values:
        raise errors.InvalidAmount(_("Mode must be fast or standard."), field="mode")
    if position.term_type == TermType.DEMAND:
        in_force = terms_in_force(product, today) if terms_in_force_today is _UNREAD else terms_in_force_today
        terms = in_force or position.terms
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


def _redeem(*, user: User, position_id: int, amount: Any | None, mode: str,
            terms_in_force_today: ProductTerms | None = _UNREAD) -> Redemption:
    """The redemption itself, inside the caller's transaction (no savepoint of its own)."""
    position = position_lock(position_id, user=user)
    now = timezone.now()
    today = timezone.localtime(now, dt.UTC).date()
    plan = redemption_plan(position=position, amount=amount, mode=mode, now=now,
                           terms_in_force_today=terms_in_force_today)
    product = position.product
    asset = product.asset_id
    standard = plan.mode == RedemptionMode.STANDARD
    redemption = _redemption_write(position, plan, today=today, now=now)
    if plan.early and (plan.reversed_accrued or plan.interest_payout):
        Accrual.objects.filter(position=position, paid_out=False).update(paid_out=True)
    target = AccountKind.PENDING if standard else AccountKind.AVAILABLE
    owner = position.user_id
    key, reference = f"redemption:{redemption.pk}", f"position:{position.pk}"
    if plan.payout == plan.amount and not plan.forfeited:  # principal back, nothing else: a transfer
        ledger.owner_transfer(kind=EntryKind.REDEMPTION, idempotency_key=key, owner_id=owner, asset=asset,
                              debit_kind=AccountKind.EARN, credit_kind=target, amount=plan.amount, reference=reference)
    else:
        ledger.entry_post(kind=EntryKind.REDEMPTION, idempotency_key=key, legs=_legs(plan, owner, asset, target),
                          reference=reference)
    audit_record(actor=user, action="redemption.create", obj=redemption,
                 after={"position": position.pk, "amount": plan.amount, "payout": plan.payout,
                        "forfeited": plan.forfeited, "mode": plan.mode, "early": plan.early})
    signals.redemption_confirmed.send(sender=Redemption, redemption=redemption)  # an outbox row: before the last write
    # Last: the product row is then held only to commit (subscriptions queue on it).
    with prepared_cursor() as cursor:
        cursor.execute("UPDATE earn_product SET sold_amount = sold_amount - %s WHERE id = %s",
                       [plan.amount, product.pk])
    return redemption


def _legs(plan: RedemptionPlan, owner: int, asset: str, target: str) -> list[Leg]:
    """The entry of a redemption that forfeits interest or pays unpaid interest out with the principal."""
    acc = ledger.accounts_ensure([(owner, asset, AccountKind.EARN), (owner, asset, target),
                                  (owner, asset, AccountKind.ACCRUED), (None, asset, AccountKind.PENALTY_INCOME),
                                  (None, asset, AccountKind.YIELD_EXPENSE)])
    payout_to = acc[(owner, asset, target)]
    legs = [Leg.debit(acc[(owner, asset, AccountKind.EARN)], plan.amount)]
    if plan.principal_payout:
        legs.append(Leg.credit(payout_to, plan.principal_payout))
    if plan.clawback:
        legs.append(Leg.credit(acc[(None, asset, AccountKind.PENALTY_INCOME)], plan.clawback))
    if plan.reversed_accrued or plan.interest_payout:
        legs.append(Leg.debit(acc[(owner, asset, AccountKind.ACCRUED)], plan.reversed_accrued + plan.interest_payout))
        if plan.reversed_accrued:
            legs.append(Leg.credit(acc[(None, asset, AccountKind.YIELD_EXPENSE)], plan.reversed_accrued))
        if plan.interest_payout:
            legs.append(Leg.credit(payout_to, plan.interest_payout))
    return legs


def _redemption_write(position: Position, plan: RedemptionPlan, *, today: dt.date, now: dt.datetime) -> Redemption:
    """The redemption row, the position's principal changes and its new principal (and status, when a fixed lot
    closes), in one statement. The principal leaves first from money not yet earning (added today, earning from
    tomorrow: removed from tomorrow), the rest stops earning today."""
    standard = plan.mode == RedemptionMode.STANDARD
    remaining = position.principal - plan.amount
    closes = remaining == 0 and position.term_type == TermType.FIXED
    redemption = Redemption(
        position=position, amount=plan.amount, payout=plan.payout, forfeited=plan.forfeited, mode=plan.mode,
        early=plan.early, status=RedemptionStatus.PENDING if standard else RedemptionStatus.SETTLED,
        settles_at=plan.settles_at, settled_at=None if standard else now, created_at=now)
    with prepared_cursor() as cursor:
        cursor.execute(
            """
            WITH red AS (
                INSERT INTO earn_redemption (position_id, amount, payout, forfeited, mode, early, status, settles_at,
                                             settled_at, created_at)
                VALUES (%(position)s, %(amount)s, %(payout)s, %(forfeited)s, %(mode)s, %(early)s, %(status)s,
                        %(settles_at)s, %(settled_at)s, %(now)s)
                RETURNING id
            ), pending AS (  -- added today, earning from tomorrow (never below zero), at most the amount
                SELECT least(greatest(coalesce(sum(c.amount), 0), 0), %(amount)s) AS amount
                  FROM earn_positionchange c WHERE c.position_id = %(position)s AND c.effective_date > %(today)s
            ), change AS (
                INSERT INTO earn_positionchange (position_id, effective_date, amount, reason, created_at)
                SELECT %(position)s, out.effective_date, -out.amount, %(reason)s, %(now)s
                  FROM pending, LATERAL (VALUES (%(tomorrow)s::date, pending.amount),
                                                (%(today)s::date, %(amount)s - pending.amount))
                       AS out (effective_date, amount)
                 WHERE out.amount <> 0
            ), pos AS (
                UPDATE earn_position SET principal = %(remaining)s,
                       status = CASE WHEN %(closes)s THEN %(redeemed)s ELSE status END,
                       closed_at = CASE WHEN %(closes)s THEN %(now)s ELSE closed_at END
                 WHERE id = %(position)s
            )
            SELECT id FROM red
            """,
            {"position": position.pk, "amount": plan.amount, "payout": plan.payout, "forfeited": plan.forfeited,
             "mode": plan.mode, "early": plan.early, "status": redemption.status, "settles_at": plan.settles_at,
             "settled_at": redemption.settled_at, "now": now, "today": today,
             "tomorrow": today + dt.timedelta(days=1), "reason": PositionChange.Reason.REDEMPTION.value,
             "remaining": remaining, "closes": closes, "redeemed": PositionStatus.REDEEMED.value})
        redemption.pk = cursor.fetchone()[0]
    redemption._state.adding = False
    redemption._state.db = connection.alias
    position.principal = remaining
    if closes:
        position.status, position.closed_at = PositionStatus.REDEEMED, now
    return redemption


def redemption_submit(*, user: User, position_id: int, amount: Any | None, mode: str, idempotency_key: str | None,
                      render: Callable[[Redemption], Any], read: RedemptionRead | None = None) -> tuple[int, Any, bool]:
    """The entry point for API and portal: idempotent on the key.

    `read` (earn.selectors.positions.redemption_read, which the API makes first for its 404) decides a refusal
    before any transaction: refused redemptions are not recorded, so one needs no claim of the key, only the
    knowledge, from the same snapshot as the position, that the key holds no answer to replay."""
    payload = {"position": position_id, "amount": None if amount is None else str(amount), "mode": mode}
    request = IdempotentRequest.of(user=user, key=idempotency_key, scope="redemptions", payload=payload)
    in_force = _UNREAD
    if read is not None and not read.answered:
        # Raises what the transaction would (the position row is unchanged while a redemption holding it runs).
        redemption_plan(position=read.position, amount=amount, mode=mode, terms_in_force_today=read.terms_in_force)
        in_force = read.terms_in_force
    # `run` runs the action in its own (outermost) transaction: no savepoint for the redemption.
    return request.run(lambda: (201, render(_redeem(user=user, position_id=position_id, amount=amount, mode=mode,
                                                    terms_in_force_today=in_force))))
