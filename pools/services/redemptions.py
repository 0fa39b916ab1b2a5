"""Redeeming pool shares: burn them and return both assets at the current reserves.

Demand positions redeem any part at any time; fixed ones in full, at maturity (`pools_mature`) or early
under the terms' rule: not_allowed refuses, forfeit_interest withholds the trading fees the position was
paid, penalty_rate withholds penalty APR × days elapsed on what is returned. Each withdrawal records
what was returned against simply holding the deposited assets (the realised impermanent loss).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import NotFound
from core.idempotency import idempotent
from core.money import floor_to_scale, parse_amount
from core.refusals import message_for
from earn import errors
from earn.models import EarlyRedemption, TermType
from earn.selectors.products import terms_in_force
from earn.services.position_switches import switch_set
from ledger import services as ledger
from ledger.models import AccountKind, EntryKind
from ledger.services import Leg
from pools import amm
from pools.models import Pool, PoolPayout, PoolPosition, PoolPositionStatus, PoolShareChange, PoolWithdrawal
from pools.selectors import USD_PLACES, business_day
from pools.services.pools import pool_lock
from pricing.selectors import latest_prices


@dataclass(frozen=True)
class WithdrawalPlan:
    shares: Decimal
    amount_a: Decimal  # leaving the pool
    amount_b: Decimal
    withheld_a: Decimal
    withheld_b: Decimal
    value_usd: Decimal | None  # of what the customer receives
    hold_value_usd: Decimal | None  # the deposited assets for these shares, simply held
    early: bool
    maturity: bool

    @property
    def payout_a(self) -> Decimal:
        return self.amount_a - self.withheld_a

    @property
    def payout_b(self) -> Decimal:
        return self.amount_b - self.withheld_b


def withdrawal_plan(position: PoolPosition, pool: Pool, *, shares: Any | None, today: dt.date,
                    maturity: bool = False) -> WithdrawalPlan:
    """Decide a redemption without writing; raises RedemptionRefused / InvalidAmount."""
    if position.status != PoolPositionStatus.ACTIVE or position.shares <= 0:
        raise errors.RedemptionRefused(message_for(errors.POSITION_CLOSED), code=errors.POSITION_CLOSED)
    fixed = position.term_type == TermType.FIXED
    burn = position.shares if shares in (None, "") else parse_amount(shares, scale=pool.share_asset.scale,
                                                                    field="shares")
    if burn > position.shares:
        raise errors.InvalidAmount(_("That is more shares than the position holds."), field="shares")
    if fixed and burn != position.shares:
        raise errors.InvalidAmount(_("A fixed-term position is redeemed in full."), field="shares")
    early = fixed and not maturity and position.maturity_date is not None and today < position.maturity_date
    # The rule of the terms the deposit was made under (in force the day before the value date).
    terms = terms_in_force(position.product, position.value_date - dt.timedelta(days=1))
    rule = terms.early_redemption if terms else EarlyRedemption.NOT_ALLOWED
    if early and rule == EarlyRedemption.NOT_ALLOWED:
        raise errors.RedemptionRefused(message_for(errors.EARLY_REDEMPTION_NOT_ALLOWED),
                                       code=errors.EARLY_REDEMPTION_NOT_ALLOWED)
    amount_a, amount_b = amm.redemption_amounts(pool.reserve_a, pool.reserve_b, pool.total_shares, burn,
                                                pool.asset_a.scale, pool.asset_b.scale)
    withheld_a = withheld_b = Decimal(0)
    if early and rule == EarlyRedemption.FORFEIT_INTEREST:
        paid = PoolPayout.objects.filter(position=position).aggregate(a=Sum("fee_a"), b=Sum("fee_b"))
        withheld_a, withheld_b = min(paid["a"] or 0, amount_a), min(paid["b"] or 0, amount_b)
    elif early and rule == EarlyRedemption.PENALTY_RATE and terms is not None:
        days = max((today - position.value_date).days, 0)
        rate = (terms.penalty_apr or Decimal(0)) * days / terms.day_count_basis
        withheld_a = floor_to_scale(amount_a * rate, pool.asset_a.scale)
        withheld_b = floor_to_scale(amount_b * rate, pool.asset_b.scale)
    prices = latest_prices([pool.asset_a_id, pool.asset_b_id])
    pa, pb = prices.get(pool.asset_a_id), prices.get(pool.asset_b_id)
    value = hold = None
    if pa is not None and pb is not None:
        value = floor_to_scale((amount_a - withheld_a) * pa + (amount_b - withheld_b) * pb, USD_PLACES)
        part = burn / position.shares
        hold = floor_to_scale((position.cost_a * pa + position.cost_b * pb) * part, USD_PLACES)
    return WithdrawalPlan(burn, amount_a, amount_b, withheld_a, withheld_b, value, hold, early, maturity)


def _position_lock(position_id: int, user: Any | None) -> tuple[PoolPosition, Pool]:
    query = PoolPosition.objects.filter(pk=position_id)
    if user is not None:
        query = query.filter(user=user)
    product_id = query.values_list("product_id", flat=True).first()
    if product_id is None:
        raise NotFound(_("No such position."), field="position")
    pool = pool_lock(product_id)
    position = PoolPosition.objects.select_for_update(of=("self",)).select_related("product").get(pk=position_id)
    return position, pool


@transaction.atomic
def pool_redeem(*, user: Any | None, position_id: int, shares: Any | None = None,
                maturity: bool = False) -> PoolWithdrawal:
    """Burn shares and pay both assets to the customer's available balance (user None: the maturity job)."""
    position, pool = _position_lock(position_id, user)
    now = timezone.now()
    today = business_day(now)
    plan = withdrawal_plan(position, pool, shares=shares, today=today, maturity=maturity)
    part = plan.shares / position.shares
    closes = plan.shares == position.shares
    cost_a = position.cost_a if closes else floor_to_scale(position.cost_a * part, pool.asset_a.scale)
    cost_b = position.cost_b if closes else floor_to_scale(position.cost_b * part, pool.asset_b.scale)
    cost_usd = position.cost_usd if closes else floor_to_scale(position.cost_usd * part, USD_PLACES)
    withdrawal = PoolWithdrawal.objects.create(
        position=position, shares=plan.shares, amount_a=plan.amount_a, amount_b=plan.amount_b,
        withheld_a=plan.withheld_a, withheld_b=plan.withheld_b, value_usd=plan.value_usd or 0,
        hold_value_usd=plan.hold_value_usd or 0, early=plan.early, maturity=maturity, created_at=now)
    _record_shares_out(position, plan.shares, today, now)
    status = PoolPositionStatus.MATURED if maturity else PoolPositionStatus.REDEEMED
    PoolPosition.objects.filter(pk=position.pk).update(
        shares=F("shares") - plan.shares, cost_a=F("cost_a") - cost_a, cost_b=F("cost_b") - cost_b,
        cost_usd=F("cost_usd") - cost_usd, **({"status": status, "closed_at": now} if closes else {}))
    Pool.objects.filter(pk=pool.pk).update(reserve_a=F("reserve_a") - plan.amount_a,
                                           reserve_b=F("reserve_b") - plan.amount_b,
                                           total_shares=F("total_shares") - plan.shares, updated_at=now)
    uid, share = position.user_id, pool.share_asset_id
    keys = [(uid, share, AccountKind.POOL_SHARE), (None, share, AccountKind.POOL_RESERVE)]
    for code in (pool.asset_a_id, pool.asset_b_id):
        keys += [(uid, code, AccountKind.AVAILABLE), (None, code, AccountKind.POOL_RESERVE),
                 (None, code, AccountKind.PENALTY_INCOME)]
    acc = ledger.accounts_ensure(keys)
    legs = [Leg.debit(acc[(uid, share, AccountKind.POOL_SHARE)], plan.shares),
            Leg.credit(acc[(None, share, AccountKind.POOL_RESERVE)], plan.shares)]
    for code, out, payout, withheld in ((pool.asset_a_id, plan.amount_a, plan.payout_a, plan.withheld_a),
                                        (pool.asset_b_id, plan.amount_b, plan.payout_b, plan.withheld_b)):
        if out > 0:
            legs.append(Leg.debit(acc[(None, code, AccountKind.POOL_RESERVE)], out))
        if payout > 0:
            legs.append(Leg.credit(acc[(uid, code, AccountKind.AVAILABLE)], payout))
        if withheld > 0:
            legs.append(Leg.credit(acc[(None, code, AccountKind.PENALTY_INCOME)], withheld))
    ledger.entry_post(kind=EntryKind.POOL_REDEMPTION, idempotency_key=f"pool-redemption:{withdrawal.pk}",
                      legs=legs, reference=f"pool-position:{position.pk}")
    audit_record(actor=user, action="pool.maturity" if maturity else "pool.redeem", obj=withdrawal,
                 after={"position": position.pk, "shares": plan.shares, "amount_a": plan.amount_a,
                        "amount_b": plan.amount_b, "withheld_a": plan.withheld_a, "withheld_b": plan.withheld_b,
                        "value_usd": plan.value_usd, "hold_value_usd": plan.hold_value_usd, "early": plan.early})
    return withdrawal


def _record_shares_out(position: PoolPosition, shares: Decimal, today: dt.date, now: dt.datetime) -> None:
    """Shares not yet earning leave from tomorrow; the rest stop earning today."""
    pending = (PoolShareChange.objects.filter(position=position, effective_date__gt=today)
               .aggregate(s=Sum("shares"))["s"] or Decimal(0))
    first = min(max(pending, Decimal(0)), shares)
    if first:
        PoolShareChange.objects.create(position=position, effective_date=today + dt.timedelta(days=1),
                                       shares=-first, reason="redemption", created_at=now)
    if shares - first:
        PoolShareChange.objects.create(position=position, effective_date=today, shares=-(shares - first),
                                       reason="redemption", created_at=now)


def pool_redeem_submit(*, user: Any, position_id: int, shares: Any | None, idempotency_key: str | None,
                       render: Callable[[PoolWithdrawal], Any]) -> tuple[int, Any, bool]:
    payload = {"position": position_id, "shares": None if shares is None else str(shares)}
    return idempotent(user=user, key=idempotency_key, scope="pool-redemptions", payload=payload,
                      action=lambda: (201, render(pool_redeem(user=user, position_id=position_id, shares=shares))))


@transaction.atomic
def pool_position_set_compounding(*, user: Any, position_id: int, compound_rewards: bool) -> PoolPosition:
    """Reinvest rewards into the pool (or stop): applies from the next distribution."""
    position, _pool = _position_lock(position_id, user)
    return switch_set(user=user, position=position, field="compound_rewards", value=compound_rewards,
                      action="pool.compound_rewards")


def pools_mature(*, today: dt.date | None = None) -> int:
    """Return fixed-term pool positions at maturity (each in its own transaction); idempotent."""
    today = today or business_day()
    ids = list(PoolPosition.objects.filter(status=PoolPositionStatus.ACTIVE, term_type=TermType.FIXED,
                                           maturity_date__lte=today).order_by("id").values_list("id", flat=True))
    for position_id in ids:
        pool_redeem(user=None, position_id=position_id, maturity=True)
    return len(ids)
