"""Reads for pools: prices, what a position is worth, the impermanent-loss table and yields.

`il_table(product, amount_usd)` and `pools.chart.il_chart_svg(...)` are what the portal and the PDF use.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import floor_to_scale
from earn.models import Product
from pools import amm
from pools.errors import PriceMissing
from pools.models import Pool, PoolPayout, PoolPosition, PoolPositionStatus
from pricing.selectors import latest_prices

USD_PLACES = 2


def pool_for_product(product: Product | int) -> Pool | None:
    product_id = product if isinstance(product, int) else product.pk
    return (Pool.objects.select_related("asset_a", "asset_b", "share_asset", "reward_asset", "product")
            .filter(product_id=product_id).first())


def pool_prices(pool: Pool, *, at: dt.datetime | None = None) -> dict[str, Decimal]:
    """USD prices of the pool's assets (and its reward asset) from the newest snapshots; refuses if one is missing."""
    codes = [pool.asset_a_id, pool.asset_b_id] + ([pool.reward_asset_id] if pool.reward_asset_id else [])
    prices = latest_prices(codes, at=at)
    missing = [c for c in codes[:2] if c not in prices]
    if missing:
        raise PriceMissing(_("No price for %(codes)s yet.") % {"codes": ", ".join(missing)})
    return prices


def pool_tvl_usd(pool: Pool, prices: dict[str, Decimal]) -> Decimal:
    return pool.reserve_a * prices[pool.asset_a_id] + pool.reserve_b * prices[pool.asset_b_id]


@dataclass(frozen=True)
class PoolYield:
    """Current yield of a pool: fee APR from the day's volume, reward APR from the emission, both on TVL."""

    tvl_usd: Decimal
    fee_apr: Decimal
    reward_apr: Decimal
    reward_apy_compounded: Decimal

    @property
    def apr(self) -> Decimal:
        return self.fee_apr + self.reward_apr


def pool_yield(pool: Pool, prices: dict[str, Decimal], *, extra_usd: Decimal = Decimal(0)) -> PoolYield:
    """APRs as they stand (with `extra_usd` of new liquidity added, for a preview); 0 for an empty pool."""
    tvl = pool_tvl_usd(pool, prices) + extra_usd
    if tvl <= 0:
        return PoolYield(Decimal(0), Decimal(0), Decimal(0), Decimal(0))
    fee_apr = pool.fee_rate * pool.daily_volume_usd * amm.DAYS_PER_YEAR / tvl
    reward_price = prices.get(pool.reward_asset_id or "", Decimal(0))
    reward_apr = pool.daily_emission * reward_price * amm.DAYS_PER_YEAR / tvl
    q = Decimal("1e-10")
    return PoolYield(floor_to_scale(tvl, USD_PLACES), fee_apr.quantize(q), reward_apr.quantize(q),
                     amm.apy_compounded(fee_apr + reward_apr).quantize(q))


def il_table(product: Product | int, amount_usd: Decimal | str | None = None) -> dict[str, Any]:
    """The impermanent-loss table of a pool product for price ratios 0.25 … 5, personalised for `amount_usd`.

    Each row: the ratio, IL as a fraction and in percent, the loss in USD on `amount_usd`, and the days of the
    current fee + reward APR that cover it (None when the pool earns nothing). Empty dict for non-pool products.
    """
    pool = pool_for_product(product)
    if pool is None:
        return {}
    amount = Decimal(str(amount_usd)) if amount_usd not in (None, "") else Decimal(1000)
    try:
        yields: PoolYield | None = pool_yield(pool, pool_prices(pool), extra_usd=amount)
    except PriceMissing:
        yields = None
    apr = yields.apr if yields else Decimal(0)
    rows = []
    for ratio in amm.IL_RATIOS:
        il = amm.impermanent_loss(ratio)
        rows.append({
            "ratio": ratio, "il": il.quantize(Decimal("1e-10")),
            "il_percent": (il * 100).quantize(Decimal("0.0001")),
            "loss_usd": floor_to_scale(-il * amount, USD_PLACES) if il < 0 else Decimal(0),
            "break_even_days": amm.break_even_days(il, apr),
        })
    return {
        "pair": f"{pool.asset_a_id}/{pool.asset_b_id}", "price_of": pool.asset_a_id, "in": pool.asset_b_id,
        "amount_usd": amount, "fee_apr": yields.fee_apr if yields else None,
        "reward_apr": yields.reward_apr if yields else None, "apr": apr if yields else None,
        "formula": "IL(r) = 2·√r / (1 + r) − 1", "rows": rows,
    }


def il_rows_text(table: dict[str, Any]) -> str:
    """The table as plain lines for a disclosure body or a PDF."""
    lines = []
    for row in table.get("rows", []):
        days = row["break_even_days"]
        lines.append(f"×{row['ratio']}: {row['il_percent']} %, −{row['loss_usd']} USD"
                     + (f", {days} days" if days is not None else ""))
    return "\n".join(lines)


# --- Positions ---------------------------------------------------------------------------------

def pool_positions_for(user: Any) -> QuerySet[PoolPosition]:
    """A customer's pool positions with their pool and product (their own only)."""
    return (PoolPosition.objects.filter(user=user)
            .select_related("pool__asset_a", "pool__asset_b", "pool__reward_asset", "pool__share_asset", "product")
            .annotate(fees_a=Sum("payouts__fee_a"), fees_b=Sum("payouts__fee_b"), rewards=Sum("payouts__reward"))
            .order_by("-id"))


def position_value(position: PoolPosition, prices: dict[str, Decimal] | None = None) -> dict[str, Any]:
    """What the position would return now, its USD value, and simply holding the deposited assets instead."""
    pool = position.pool
    prices = prices if prices is not None else latest_prices([pool.asset_a_id, pool.asset_b_id])
    if position.shares > 0 and pool.total_shares > 0:
        a, b = amm.redemption_amounts(pool.reserve_a, pool.reserve_b, pool.total_shares, position.shares,
                                      pool.asset_a.scale, pool.asset_b.scale)
    else:
        a, b = Decimal(0), Decimal(0)
    pa, pb = prices.get(pool.asset_a_id), prices.get(pool.asset_b_id)
    if pa is None or pb is None:
        return {"amount_a": a, "amount_b": b, "value_usd": None, "hold_value_usd": None, "vs_hold_usd": None}
    value = floor_to_scale(a * pa + b * pb, USD_PLACES)
    hold = floor_to_scale(position.cost_a * pa + position.cost_b * pb, USD_PLACES)
    return {"amount_a": a, "amount_b": b, "value_usd": value, "hold_value_usd": hold, "vs_hold_usd": value - hold}


def position_history(position: PoolPosition) -> QuerySet[PoolPayout]:
    """Daily fees and rewards of one position, oldest first."""
    return PoolPayout.objects.filter(position=position).order_by("date")


def user_pool_holdings(user: Any) -> dict[str, Decimal]:
    """{asset: amount} the customer's active pool shares would return now (the compliance gate's exposure)."""
    holdings: dict[str, Decimal] = {}
    rows = (PoolPosition.objects.filter(user=user, status=PoolPositionStatus.ACTIVE, shares__gt=0,
                                        pool__total_shares__gt=0)
            .values_list("shares", "pool__total_shares", "pool__reserve_a", "pool__reserve_b", "pool__asset_a_id",
                         "pool__asset_b_id"))
    for shares, total, ra, rb, a, b in rows:
        holdings[a] = holdings.get(a, Decimal(0)) + ra * shares / total
        holdings[b] = holdings.get(b, Decimal(0)) + rb * shares / total
    return holdings


def active_positions(pool: Pool) -> QuerySet[PoolPosition]:
    return PoolPosition.objects.filter(pool=pool, status=PoolPositionStatus.ACTIVE)


def business_day(moment: dt.datetime | None = None) -> dt.date:
    return timezone.localtime(moment or timezone.now(), dt.UTC).date()
