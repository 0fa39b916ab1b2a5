"""Depositing into a pool product (its subscription): both assets in the pool ratio, or one asset half swapped.

One transaction: compliance gate, terms checks, the pool row locked, shares minted to the customer's
position, both assets moved from the customer's available balance into the pool's reserve accounts,
the audit event. Lock order of pool products: product, pool, position, ledger accounts (earn products' money
paths take their product row last instead, and a transaction holding one waits for nothing more, so
the two orders cannot form a cycle: earn.lock_objects).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.gate import GateContext, blocking_codes
from compliance.services.acknowledgements import refusal_record
from core.audit import audit_record
from core.errors import NotFound
from core.idempotency import idempotent
from core.money import floor_to_scale, parse_amount, to_decimal
from core.refusals import message_for
from earn import errors
from earn.calendar import maturity_date_for, value_date_for
from earn.models import Product, ProductStatus, ProductTerms, TermType
from earn.refusals import DEFAULT_MESSAGE
from earn.selectors.products import catalogue_product, terms_in_force
from ledger import services as ledger
from ledger.errors import InsufficientBalance
from ledger.models import AccountKind, EntryKind
from ledger.services import Leg
from notifications import events as notify
from pools import amm
from pools.errors import POOL_EMPTY, PoolError
from pools.models import DepositMode, Pool, PoolDeposit, PoolPosition, PoolPositionStatus, PoolShareChange
from pools.selectors import USD_PLACES, il_table, pool_for_product, pool_prices, pool_yield
from pools.services.pools import pool_lock

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class DepositPlan:
    """What a deposit takes and mints, computed the same way for the preview and the real thing."""

    mode: str
    asset_in: str
    amount_a: Decimal  # taken from the customer (one-asset: including the swapped half)
    amount_b: Decimal
    swap_in: Decimal = Decimal(0)
    swap_out: Decimal = Decimal(0)
    swap_fee: Decimal = Decimal(0)
    leftover: Decimal = Decimal(0)
    shares: Decimal = Decimal(0)
    reserve_a_after: Decimal = Decimal(0)
    reserve_b_after: Decimal = Decimal(0)
    value_usd: Decimal = Decimal(0)
    product_equivalent: Decimal = Decimal(0)  # the deposit in units of the product's asset, for min/max
    blocking: list[str] = field(default_factory=list)


def deposit_plan(pool: Pool, *, amount: Decimal, asset: str, mode: str, prices: dict[str, Decimal]) -> DepositPlan:
    """Amounts and shares for a deposit into `pool` as it stands (pure arithmetic on the row given)."""
    a, b = pool.asset_a_id, pool.asset_b_id
    sa, sb = pool.asset_a.scale, pool.asset_b.scale
    ra, rb, shares = pool.reserve_a, pool.reserve_b, pool.total_shares
    if asset not in (a, b):
        raise PoolError(_("This pool takes %(a)s and %(b)s.") % {"a": a, "b": b}, field="asset")
    if mode not in DepositMode.values:
        raise PoolError(_("Mode is pair or single."), field="mode")
    empty = shares == 0
    if empty:  # the first deposit sets the ratio: the market price
        ra, rb = prices[b], prices[a]
    try:
        if mode == DepositMode.PAIR:
            if asset == a:
                amount_a, amount_b = amount, amm.pair_amount(ra, rb, amount, sb)
            else:
                amount_a, amount_b = amm.pair_amount(rb, ra, amount, sa), amount
            minted = amm.shares_for_deposit(pool.reserve_a, pool.reserve_b, shares, amount_a, amount_b,
                                            pool.share_asset.scale)
            plan = DepositPlan(mode, asset, amount_a, amount_b, shares=minted,
                               reserve_a_after=pool.reserve_a + amount_a, reserve_b_after=pool.reserve_b + amount_b)
        else:
            if empty:
                raise PoolError(message_for(POOL_EMPTY), field="mode",
                                code=POOL_EMPTY)
            if asset == a:
                z = amm.zap(ra, rb, shares, amount, pool.fee_rate, sa, sb, pool.share_asset.scale)
                plan = DepositPlan(mode, asset, z.swap_in + z.deposit_in, Decimal(0), z.swap_in, z.swap_out,
                                   z.swap_fee, z.leftover, z.shares, ra + z.swap_in + z.deposit_in, rb)
            else:
                z = amm.zap(rb, ra, shares, amount, pool.fee_rate, sb, sa, pool.share_asset.scale)
                plan = DepositPlan(mode, asset, Decimal(0), z.swap_in + z.deposit_in, z.swap_in, z.swap_out,
                                   z.swap_fee, z.leftover, z.shares, ra, rb + z.swap_in + z.deposit_in)
    except ValueError as exc:
        raise errors.InvalidAmount(_("The amount is too small for this pool."), field="amount") from exc
    if plan.shares <= 0:
        raise errors.InvalidAmount(_("The amount is too small for this pool."), field="amount")
    value = floor_to_scale(plan.amount_a * prices[a] + plan.amount_b * prices[b], USD_PLACES)
    own = pool.product.asset_id
    equivalent = value / prices[own] if prices[own] else Decimal(0)
    return DepositPlan(**{**plan.__dict__, "value_usd": value,
                          "product_equivalent": floor_to_scale(equivalent, pool.product.asset.scale)})


def _blockers(user: User, product: Product, terms: ProductTerms | None, plan: DepositPlan | None,
              now: dt.datetime, gate: GateContext | None = None) -> list[str]:
    codes = blocking_codes(user, product, amount=plan.product_equivalent if plan is not None else None, ctx=gate)
    if product.status != ProductStatus.LIVE or terms is None:
        return [*codes, errors.PRODUCT_NOT_LIVE]
    if (terms.window_start and now < terms.window_start) or (terms.window_end and now >= terms.window_end):
        codes.append(errors.OUTSIDE_WINDOW)
    if plan is not None:
        if plan.product_equivalent < terms.min_amount:
            codes.append(errors.BELOW_MIN)
        if terms.max_amount is not None and plan.product_equivalent > terms.max_amount:
            codes.append(errors.ABOVE_MAX)
    return codes


def _insufficient(user: User, pool: Pool, plan: DepositPlan) -> bool:
    accounts = ledger.accounts_ensure([(user.pk, pool.asset_a_id, AccountKind.AVAILABLE),
                                       (user.pk, pool.asset_b_id, AccountKind.AVAILABLE)])
    return (accounts[(user.pk, pool.asset_a_id, AccountKind.AVAILABLE)].balance < plan.amount_a
            or accounts[(user.pk, pool.asset_b_id, AccountKind.AVAILABLE)].balance < plan.amount_b)


def _parse(pool: Pool, amount: Any, asset: str | None) -> tuple[Decimal, str]:
    asset = (asset or pool.product.asset_id).upper()
    scale = pool.asset_a.scale if asset == pool.asset_a_id else pool.asset_b.scale
    return parse_amount(amount, scale=scale), asset


def deposit_quote(*, user: User, product: Product, amount: Any, asset: str | None = None,
                  mode: str = DepositMode.PAIR) -> dict[str, Any]:
    """The preview: both amounts, the swap and its fee, shares, value, yields, the IL table and every blocker."""
    pool = pool_for_product(product)
    if pool is None:
        raise NotFound(_("This product has no pool."), field="product")
    value, asset = _parse(pool, amount, asset)
    now = timezone.now()
    prices = pool_prices(pool)
    plan = deposit_plan(pool, amount=value, asset=asset, mode=mode, prices=prices)
    terms = terms_in_force(product, now.date())
    codes = _blockers(user, product, terms, plan, now)
    if _insufficient(user, pool, plan):
        codes.append(errors.INSUFFICIENT_BALANCE)
    yields = pool_yield(pool, prices, extra_usd=plan.value_usd)
    value_date = value_date_for(now)
    maturity = (maturity_date_for(value_date, terms.term_days)
                if terms is not None and product.term_type == TermType.FIXED and terms.term_days else None)
    share_of_pool = plan.shares / (pool.total_shares + plan.shares)
    return {"plan": plan, "pool": pool, "value_date": value_date, "maturity_date": maturity, "yield": yields,
            "share_of_pool": share_of_pool, "est_daily_fees_usd": floor_to_scale(
                plan.value_usd * yields.fee_apr / amm.DAYS_PER_YEAR, USD_PLACES),
            "est_daily_rewards_usd": floor_to_scale(plan.value_usd * yields.reward_apr / amm.DAYS_PER_YEAR,
                                                    USD_PLACES),
            "il_table": il_table(product, plan.value_usd), "blocking": codes}


def _message(code: str) -> str:
    return message_for(code, DEFAULT_MESSAGE)


@transaction.atomic
def pool_deposit_create(*, user: User, product_id: int, amount: Any, asset: str | None = None,
                        mode: str = DepositMode.PAIR, compound_rewards: bool = False) -> PoolDeposit:
    """Deposit into a pool product; raises SubscriptionRefused with reason codes (as subscriptions do)."""
    if catalogue_product(product_id=product_id, user=user) is None:
        raise NotFound(_("No such product."), field="product")
    pool = pool_lock(product_id)
    product = pool.product
    value, asset = _parse(pool, amount, asset)
    now = timezone.now()
    terms = terms_in_force(product, now.date())
    prices = pool_prices(pool)
    plan = deposit_plan(pool, amount=value, asset=asset, mode=mode, prices=prices)
    gate = GateContext.load(user, [product.pk])  # also the acknowledgement the deposit is accepted on
    codes = _blockers(user, product, terms, plan, now, gate)
    if codes:
        raise errors.SubscriptionRefused(_message(codes[0]), codes=codes, field="amount")
    assert terms is not None
    value_date = value_date_for(now)
    position = _position_for(user, pool, terms, value_date, now, compound_rewards)
    PoolPosition.objects.filter(pk=position.pk).update(
        shares=F("shares") + plan.shares, cost_a=F("cost_a") + plan.amount_a, cost_b=F("cost_b") + plan.amount_b,
        cost_usd=F("cost_usd") + plan.value_usd)
    deposit = PoolDeposit.objects.create(
        position=position, mode=plan.mode, asset_in_id=asset, amount_a=plan.amount_a, amount_b=plan.amount_b,
        swap_fee=plan.swap_fee, shares=plan.shares, price_a_usd=prices[pool.asset_a_id],
        price_b_usd=prices[pool.asset_b_id], value_usd=plan.value_usd,
        acknowledgement_id=gate.latest_ack.get(product.pk), created_at=now)
    PoolShareChange.objects.create(position=position, effective_date=value_date, shares=plan.shares,
                                   reason="deposit", created_at=now)
    Pool.objects.filter(pk=pool.pk).update(reserve_a=plan.reserve_a_after, reserve_b=plan.reserve_b_after,
                                           total_shares=F("total_shares") + plan.shares, updated_at=now)
    uid, share = user.pk, pool.share_asset_id
    acc = ledger.accounts_ensure([(uid, pool.asset_a_id, AccountKind.AVAILABLE),
                                  (uid, pool.asset_b_id, AccountKind.AVAILABLE),
                                  (None, pool.asset_a_id, AccountKind.POOL_RESERVE),
                                  (None, pool.asset_b_id, AccountKind.POOL_RESERVE),
                                  (None, share, AccountKind.POOL_RESERVE), (uid, share, AccountKind.POOL_SHARE)])
    legs = [Leg.debit(acc[(None, share, AccountKind.POOL_RESERVE)], plan.shares),
            Leg.credit(acc[(uid, share, AccountKind.POOL_SHARE)], plan.shares)]
    for code, taken in ((pool.asset_a_id, plan.amount_a), (pool.asset_b_id, plan.amount_b)):
        if taken > 0:
            legs += [Leg.debit(acc[(uid, code, AccountKind.AVAILABLE)], taken),
                     Leg.credit(acc[(None, code, AccountKind.POOL_RESERVE)], taken)]
    try:
        ledger.entry_post(kind=EntryKind.POOL_DEPOSIT, idempotency_key=f"pool-deposit:{deposit.pk}", legs=legs,
                          reference=f"pool-position:{position.pk}")
    except InsufficientBalance as exc:
        raise errors.SubscriptionRefused(_message(errors.INSUFFICIENT_BALANCE),
                                         codes=[errors.INSUFFICIENT_BALANCE], field="amount") from exc
    audit_record(actor=user, action="pool.deposit", obj=deposit,
                 after={"product": product.pk, "position": position.pk, "mode": plan.mode, "asset": asset,
                        "amount_a": plan.amount_a, "amount_b": plan.amount_b, "swap_fee": plan.swap_fee,
                        "shares": plan.shares, "value_usd": plan.value_usd, "value_date": value_date,
                        "terms_version": terms.version})
    notify.pool_deposit_confirmed(deposit, pool=pool, position=position, value_date=value_date)
    return deposit


def _position_for(user: User, pool: Pool, terms: ProductTerms, value_date: dt.date, now: dt.datetime,
                  compound_rewards: bool) -> PoolPosition:
    product = pool.product
    if product.term_type == TermType.FIXED:
        return PoolPosition.objects.create(
            user=user, pool=pool, product=product, term_type=TermType.FIXED, value_date=value_date,
            maturity_date=maturity_date_for(value_date, terms.term_days), compound_rewards=compound_rewards,
            created_at=now)
    position = PoolPosition.objects.select_for_update().filter(user=user, pool=pool, term_type=TermType.DEMAND).first()
    if position is None:
        return PoolPosition.objects.create(user=user, pool=pool, product=product, term_type=TermType.DEMAND,
                                           value_date=value_date, compound_rewards=compound_rewards, created_at=now)
    if position.status != PoolPositionStatus.ACTIVE:
        PoolPosition.objects.filter(pk=position.pk).update(status=PoolPositionStatus.ACTIVE, closed_at=None,
                                                           value_date=value_date)
    if compound_rewards and not position.compound_rewards:
        PoolPosition.objects.filter(pk=position.pk).update(compound_rewards=True)
    return position


def pool_deposit_submit(*, user: User, product_id: int, amount: Any, asset: str | None, mode: str,
                        compound_rewards: bool, idempotency_key: str | None,
                        render: Callable[[PoolDeposit], Any]) -> tuple[int, Any, bool]:
    """API and portal entry point: idempotent on the key; refusals are recorded with their codes."""
    payload = {"product": product_id, "amount": str(amount), "asset": asset, "mode": mode,
               "compound_rewards": bool(compound_rewards)}
    try:
        return idempotent(user=user, key=idempotency_key, scope="pool-deposits", payload=payload,
                          action=lambda: (201, render(pool_deposit_create(
                              user=user, product_id=product_id, amount=amount, asset=asset, mode=mode,
                              compound_rewards=compound_rewards))))
    except errors.SubscriptionRefused as exc:
        try:
            recorded = to_decimal(amount)
        except (TypeError, ValueError):
            recorded = None
        refusal_record(user=user, product_id=product_id, amount=recorded, codes=exc.codes, detail=exc.message)
        raise


def pool_subscribe(*, user: User, product_id: int, amount: Any, idempotency_key: str | None) -> tuple[int, Any, bool]:
    """`POST /api/v1/subscriptions` for a pool product: both assets of the pair in the pool ratio."""
    return pool_deposit_submit(user=user, product_id=product_id, amount=amount, asset=None, mode="pair",
                               compound_rewards=False, idempotency_key=idempotency_key, render=deposit_summary)


def deposit_summary(deposit: PoolDeposit) -> dict[str, Any]:
    """A deposit as plain JSON (the answer of POST /subscriptions for a pool product)."""
    position = deposit.position
    pool = Pool.objects.select_related("asset_a", "asset_b", "share_asset").get(pk=position.pool_id)
    return {"id": deposit.pk, "pool_position": position.pk, "product": position.product_id, "mode": deposit.mode,
            "asset_a": pool.asset_a_id, "amount_a": format(floor_to_scale(deposit.amount_a, pool.asset_a.scale), "f"),
            "asset_b": pool.asset_b_id, "amount_b": format(floor_to_scale(deposit.amount_b, pool.asset_b.scale), "f"),
            "shares": format(floor_to_scale(deposit.shares, pool.share_asset.scale), "f"),
            "value_date": position.value_date.isoformat(),
            "maturity_date": position.maturity_date.isoformat() if position.maturity_date else None,
            "created_at": deposit.created_at.isoformat()}
