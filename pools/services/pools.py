"""Creating pools and moving their reserves to a new price as arbitrage would.

Lock order of pool products (earn products: earn.lock_objects): the product row, then the pool row, then
position rows, then ledger accounts by ascending id (entries_post).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import NotFound, ValidationFailed
from core.money import to_decimal
from earn.lock_objects import product_lock
from earn.models import Product, Strategy
from ledger import services as ledger
from ledger.models import AccountKind, Asset, EntryKind
from ledger.services import Leg
from pools import amm
from pools.models import FeeMode, Pool, PoolRebalance
from pools.selectors import pool_prices

if TYPE_CHECKING:
    from accounts.models import User

SHARE_SCALE = 12


def share_asset_code(product_id: int, asset_a: str, asset_b: str) -> str:
    """LP<product><A><B>, cut to the 16 characters an asset code may have."""
    return f"LP{product_id}{asset_a}{asset_b}"[:16]


@transaction.atomic
def pool_create(*, actor: User, product: Product | int, asset_a: str, asset_b: str, fee_rate: Decimal | str,
                fee_mode: str = FeeMode.PAYOUT, reward_asset: str | None = None,
                daily_emission: Decimal | str = "0", daily_volume_usd: Decimal | str = "0") -> Pool:
    """Attach a vetted pool to a liquidity_mining product; its share asset (LP token) is created with it."""
    product = product_lock(product if isinstance(product, int) else product.pk)
    if product.strategy != Strategy.LIQUIDITY_MINING:
        raise ValidationFailed(_("Only a liquidity-mining product has a pool."), field="product")
    if Pool.objects.filter(product=product).exists():
        raise ValidationFailed(_("This product already has a pool."), field="product")
    codes = {asset_a, asset_b} | ({reward_asset} if reward_asset else set())
    known = set(Asset.objects.filter(code__in=codes).values_list("code", flat=True))
    if codes - known:
        raise NotFound(_("Unknown asset: %(codes)s") % {"codes": ", ".join(sorted(codes - known))}, field="asset")
    if asset_a == asset_b or product.asset_id not in (asset_a, asset_b):
        raise ValidationFailed(_("A pool pairs two different assets, one of them the product's."), field="asset_b")
    if fee_mode not in FeeMode.values:
        raise ValidationFailed(_("Fee income is compounded or paid out."), field="fee_mode")
    fee = to_decimal(fee_rate)
    if not Decimal(0) <= fee < Decimal("0.1"):
        raise ValidationFailed(_("The fee rate is a fraction below 0.1."), field="fee_rate")
    code = share_asset_code(product.pk, asset_a, asset_b)
    share_asset, _created = Asset.objects.get_or_create(
        code=code, defaults={"name": f"{asset_a}/{asset_b} pool share", "scale": SHARE_SCALE})
    now = timezone.now()
    pool = Pool.objects.create(product=product, asset_a_id=asset_a, asset_b_id=asset_b, share_asset=share_asset,
                               fee_rate=fee, fee_mode=fee_mode, reward_asset_id=reward_asset,
                               daily_emission=to_decimal(daily_emission),
                               daily_volume_usd=to_decimal(daily_volume_usd), created_at=now, updated_at=now)
    audit_record(actor=actor, action="pool.create", obj=pool,
                 after={"product": product.pk, "pair": [asset_a, asset_b], "fee_rate": fee, "fee_mode": fee_mode,
                        "reward_asset": reward_asset, "daily_emission": pool.daily_emission,
                        "share_asset": code})
    return pool


def pool_lock(product_id: int) -> Pool:
    """Lock the product row, then its pool row."""
    product_lock(product_id)
    pool = (Pool.objects.select_for_update(of=("self",))
            .select_related("asset_a", "asset_b", "share_asset", "reward_asset", "product__asset")
            .filter(product_id=product_id).first())
    if pool is None:
        raise NotFound(_("This product has no pool."), field="product")
    return pool


def reserve_legs(pool: Pool, delta_a: Decimal, delta_b: Decimal, counter_kind: str = AccountKind.EXTERNAL) -> list[Leg]:
    """Legs that change the pool's reserves by (delta_a, delta_b) against a platform account (default external)."""
    legs: list[Leg] = []
    for asset, delta in ((pool.asset_a_id, delta_a), (pool.asset_b_id, delta_b)):
        if delta == 0:
            continue
        reserve = ledger.platform_account(asset=asset, kind=AccountKind.POOL_RESERVE)
        other = ledger.platform_account(asset=asset, kind=counter_kind)
        if delta > 0:
            legs += [Leg.debit(other, delta), Leg.credit(reserve, delta)]
        else:
            legs += [Leg.debit(reserve, -delta), Leg.credit(other, -delta)]
    return legs


@transaction.atomic
def pool_rebalance(*, product_id: int, prices: dict[str, Decimal] | None = None) -> PoolRebalance | None:
    """Move the pool's reserves to the newest prices as arbitrageurs would (k kept); the trade is posted
    against `external`. None when the pool is empty or already at the price."""
    pool = pool_lock(product_id)
    if pool.total_shares == 0:
        return None
    prices = prices or pool_prices(pool)
    pa, pb = prices[pool.asset_a_id], prices[pool.asset_b_id]
    new_a, new_b = amm.rebalance(pool.reserve_a, pool.reserve_b, pa, pb, pool.asset_a.scale, pool.asset_b.scale)
    if (new_a, new_b) == (pool.reserve_a, pool.reserve_b):
        return None
    now = timezone.now()
    record = PoolRebalance.objects.create(pool=pool, price_a_usd=pa, price_b_usd=pb,
                                          reserve_a_before=pool.reserve_a, reserve_b_before=pool.reserve_b,
                                          reserve_a_after=new_a, reserve_b_after=new_b, created_at=now)
    ledger.entry_post(kind=EntryKind.TRANSFER, idempotency_key=f"pool-rebalance:{record.pk}",
                      legs=reserve_legs(pool, new_a - pool.reserve_a, new_b - pool.reserve_b),
                      reference=f"pool:{pool.pk}", memo="arbitrage to the market price")
    Pool.objects.filter(pk=pool.pk).update(reserve_a=new_a, reserve_b=new_b, updated_at=now)
    return record


def pools_rebalance_all() -> list[PoolRebalance]:
    """Re-balance every pool with liquidity to the newest prices (each pool in its own transaction)."""
    done = []
    for product_id in Pool.objects.filter(total_shares__gt=0).order_by("id").values_list("product_id", flat=True):
        record = pool_rebalance(product_id=product_id)
        if record is not None:
            done.append(record)
    return done
