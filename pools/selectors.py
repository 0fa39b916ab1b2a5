"""Reads for pools: prices, what a position is worth, the impermanent-loss table and yields.

`il_table(product, amount_usd)` and `pools.chart.il_chart_svg(...)` are what the portal and the PDF use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, localcontext
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.db_router import read_alias
from core.money import decimal_text, floor_to_scale
from earn.models import Product
from pools import amm, simulation
from pools.errors import PriceHistoryShort, PriceMissing
from pools.models import Pool, PoolPayout, PoolPosition, PoolPositionStatus
from pricing.selectors import daily_closes, latest_prices, newest_price_time

if TYPE_CHECKING:
    from accounts.models import User

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
    """Current yield of a pool: fee APR from the day's volume, reward APR from the emission, both on TVL.

    `apy_compounded`: the APY when the income is reinvested every day — (1 + APR/365)^365 − 1 — which is what
    compounding rewards (and fees, in a compounding pool) aims at; None above 1000 % APR, where it means nothing.
    """

    tvl_usd: Decimal
    fee_apr: Decimal
    reward_apr: Decimal
    apy_compounded: Decimal | None

    @property
    def apr(self) -> Decimal:
        return self.fee_apr + self.reward_apr


def income_base_usd(pool: Pool, tvl_usd: Decimal) -> Decimal:
    """The liquidity the pool's volume and emission are spread over: the whole venue pool (the product's vetted
    TVL) when known and larger than ours — our customers then get their share of it — else our own liquidity."""
    venue = pool.product.tvl_usd
    return venue if venue is not None and venue > tvl_usd else tvl_usd


def income_share(pool: Pool, prices: dict[str, Decimal]) -> Decimal:
    """Our part of the venue pool's daily fees and emission: our liquidity / the venue's (1 when unknown)."""
    tvl = pool_tvl_usd(pool, prices)
    base = income_base_usd(pool, tvl)
    return tvl / base if base > 0 else Decimal(0)


def pool_yield(pool: Pool, prices: dict[str, Decimal], *, extra_usd: Decimal = Decimal(0)) -> PoolYield:
    """APRs as they stand, with `extra_usd` of new liquidity added (a preview); zero when nothing is deposited.

    Fee APR = fee rate × daily volume × 365 / the venue pool's TVL; reward APR = emission × reward price × 365 /
    the same TVL (our own liquidity when the venue's is not known).
    """
    tvl = pool_tvl_usd(pool, prices) + extra_usd
    base = income_base_usd(pool, tvl)
    if base <= 0:
        return PoolYield(Decimal(0), Decimal(0), Decimal(0), None)
    fee_apr = pool.fee_rate * pool.daily_volume_usd * amm.DAYS_PER_YEAR / base
    reward_price = prices.get(pool.reward_asset_id or "", Decimal(0))
    reward_apr = pool.daily_emission * reward_price * amm.DAYS_PER_YEAR / base
    q = Decimal("1e-10")
    apr = fee_apr + reward_apr
    apy = amm.apy_compounded(apr).quantize(q) if apr <= 10 else None
    return PoolYield(floor_to_scale(tvl, USD_PLACES), fee_apr.quantize(q), reward_apr.quantize(q), apy)


def _text(value: Decimal | None, scale: int | None = None) -> str | None:
    return decimal_text(value, scale)


def pool_summary(pool: Pool, prices: dict[str, Decimal] | None = None) -> dict[str, Any]:
    """The `pool` object of a product (API.md, GET /products/{id}), JSON-ready: pair, venue, fee, reserves, yields."""
    a, b = pool.asset_a, pool.asset_b
    try:
        prices = prices if prices is not None else pool_prices(pool)
        if pool.asset_a_id not in prices or pool.asset_b_id not in prices:
            raise PriceMissing("")
        y: PoolYield | None = pool_yield(pool, prices)
    except PriceMissing:
        prices, y = {}, None
    price = pool.reserve_b / pool.reserve_a if pool.reserve_a else None
    return {
        "id": pool.pk, "pair": [a.code, b.code], "venue": pool.product.venue, "chain": pool.product.chain,
        "contract_address": pool.product.contract_address, "fee_rate": _text(pool.fee_rate),
        "fee_mode": pool.fee_mode, "reserve_a": _text(pool.reserve_a, a.scale),
        "reserve_b": _text(pool.reserve_b, b.scale),
        "total_shares": _text(pool.total_shares, pool.share_asset.scale), "share_asset": pool.share_asset_id,
        "pool_price": _text(price, b.scale) if price is not None else None,
        "prices_usd": {code: _text(p) for code, p in sorted(prices.items())},
        "reward_asset": pool.reward_asset_id, "daily_emission": _text(pool.daily_emission),
        "daily_volume_usd": _text(pool.daily_volume_usd, 2),
        "tvl_usd": _text(y.tvl_usd, 2) if y else None, "fee_apr": _text(y.fee_apr) if y else None,
        "reward_apr": _text(y.reward_apr) if y else None, "apr": _text(y.apr) if y else None,
        "apy_compounded": _text(y.apy_compounded) if y else None,
    }


def pool_summaries_bulk(product_ids: list[int]) -> dict[int, dict[str, Any]]:
    """{product id: pool summary} for the pools of these products, in two queries (pools, prices)."""
    if not product_ids:
        return {}
    pools = list(Pool.objects.filter(product_id__in=product_ids)
                 .select_related("asset_a", "asset_b", "share_asset", "reward_asset", "product"))
    if not pools:
        return {}
    codes = {c for p in pools for c in (p.asset_a_id, p.asset_b_id, p.reward_asset_id) if c}
    prices = latest_prices(codes)
    out = {}
    for pool in pools:
        own = {c: prices[c] for c in (pool.asset_a_id, pool.asset_b_id, pool.reward_asset_id) if c in prices}
        out[pool.product_id] = pool_summary(pool, own)
    return out


def il_table(product: Product | int, amount_usd: Decimal | str | None = None) -> dict[str, Any]:
    """The impermanent-loss table of a pool product for price ratios 0.25 … 5, personalised for `amount_usd`.

    Each row: the ratio, IL as a fraction and in percent, the loss in USD against simply holding what
    `amount_usd` bought (IL is a fraction of the held assets' value at the new price: −IL × amount × (1 + r) / 2,
    asset b at today's USD price), and the days of the current fee + reward APR that cover it (None when the
    pool earns nothing). Empty dict for non-pool products.
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
            "loss_usd": floor_to_scale(-il * amount * (1 + ratio) / 2, USD_PLACES) if il < 0 else Decimal(0),
            "break_even_days": amm.break_even_days(il, apr),
        })
    return {
        "pair": f"{pool.asset_a_id}/{pool.asset_b_id}", "price_of": pool.asset_a_id, "in": pool.asset_b_id,
        "amount_usd": amount, "fee_apr": yields.fee_apr if yields else None,
        "reward_apr": yields.reward_apr if yields else None, "apr": apr if yields else None,
        "formula": "IL(r) = 2·√r / (1 + r) − 1", "rows": rows,
    }


def il_table_json(table: dict[str, Any]) -> dict[str, Any]:
    """`il_table(...)` with amounts as API strings (what the API, the disclosure and the portal send)."""
    if not table:
        return {}
    return {**table, "amount_usd": _text(table["amount_usd"], 2), "fee_apr": _text(table["fee_apr"]),
            "reward_apr": _text(table["reward_apr"]), "apr": _text(table["apr"]),
            "rows": [{"ratio": _text(r["ratio"]), "il": _text(r["il"]), "il_percent": _text(r["il_percent"]),
                      "loss_usd": _text(r["loss_usd"], 2), "break_even_days": _text(r["break_even_days"])}
                     for r in table["rows"]]}


def il_rows_text(table: dict[str, Any]) -> str:
    """The table as plain lines for a disclosure body or a PDF."""
    lines = []
    for row in table.get("rows", []):
        days = row["break_even_days"]
        lines.append(f"×{row['ratio']}: {row['il_percent']} %, −{row['loss_usd']} USD"
                     + (f", {days} days" if days is not None else ""))
    return "\n".join(lines)


# --- Outcome simulator ---------------------------------------------------------------------------

SIMULATION_HISTORY_DAYS = 365  # the volatility is estimated on at most the last year of daily prices
SIMULATION_MAX_DAYS = 3650
SIMULATION_CACHE_SECONDS = 3600


@dataclass(frozen=True)
class PairHistory:
    """Daily closing price of asset a in asset b, oldest first, and what it rests on."""

    prices: list[Decimal]
    last_date: dt.date | None  # UTC day of the newest snapshot of either asset
    observed_days: int  # days on which either asset has a snapshot of its own (the rest are carried forward)


def pair_daily_prices(pool: Pool, *, at: dt.datetime | None = None,
                      days: int = SIMULATION_HISTORY_DAYS) -> PairHistory:
    """The pair's daily closes over the `days` up to the newest snapshot, in three queries.

    A day's close is each asset's newest snapshot of that UTC day; a day without one keeps the asset's last price
    (a stablecoin the feed leaves alone keeps its one price). The series starts at the first day in the window
    with a snapshot: an old price carried through empty months would read as months of calm."""
    at = at or timezone.now()
    codes = [pool.asset_a_id, pool.asset_b_id]
    newest = newest_price_time(codes, at=at)
    if newest is None:
        return PairHistory([], None, 0)
    last_day = newest.astimezone(dt.UTC).date()
    first_day = last_day - dt.timedelta(days=days)
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=dt.UTC)
    current = latest_prices(codes, at=start - dt.timedelta(microseconds=1))
    closes = daily_closes(codes, since=start, at=at)
    prices, observed, started = [], 0, False
    for offset in range(days + 1):
        day = first_day + dt.timedelta(days=offset)
        current.update(closes.get(day, {}))
        started = started or day in closes  # the series starts at the window's first snapshot, not before
        if started and pool.asset_a_id in current and pool.asset_b_id in current:
            prices.append(current[pool.asset_a_id] / current[pool.asset_b_id])
            observed += day in closes
    return PairHistory(prices, last_day, observed)


def simulated_decimal(value: float, places: int, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """A simulated figure as a Decimal: 12 significant digits (float noise off), then `places` decimals."""
    with localcontext() as ctx:
        ctx.prec = 12
        clean = +Decimal(repr(value))  # float-ok: an estimate from the simulation, converted at the edge
    return clean.quantize(Decimal(1).scaleb(-places), rounding=rounding)


def _usd(value: float) -> Decimal:
    return simulated_decimal(value, USD_PLACES, ROUND_DOWN)  # towards zero, as the IL table's losses


def _band(band: simulation.Band, convert: Callable[[float], Decimal]) -> dict[str, Decimal]:
    return {"p5": convert(band.p5), "p50": convert(band.p50), "p95": convert(band.p95)}


def _percent(fraction: Decimal, places: int = 2) -> Decimal:
    return (fraction * 100).quantize(Decimal(1).scaleb(-places))


def simulation_assumptions(result: dict[str, Any]) -> list[str]:
    """The simulation's assumptions in plain words, in the active language."""
    a, b = result["price_of"], result["in"]
    lines = [
        _("The price of %(a)s in %(b)s moves at random (geometric Brownian motion) as much as it did over its last "
          "%(days)s days of daily prices: a volatility of %(vol)s %% a year. No trend is assumed: a rise and a fall "
          "of the same size are equally likely. Prices can move more than their history suggests.")
        % {"a": a, "b": b, "days": result["history_days"], "vol": result["volatility_percent"]},
        _("The fee APR (%(fee)s %%) and the reward APR (%(reward)s %%) stay as they are today for the whole period, "
          "and so does your share of the pool. In reality both change with trading volume, the pool's size and "
          "the reward token's price.") % {"fee": result["fee_apr_percent"], "reward": result["reward_apr_percent"]},
        _("Fees and rewards are earned each day on what your share is worth that day, paid out and not "
          "reinvested; rewards are valued at today's price of the reward token."),
        _("Values are in USD with %(b)s kept at today's USD price: only the price of %(a)s relative to %(b)s is "
          "simulated. Simply holding means keeping the two assets you would deposit, in the same amounts.")
        % {"a": a, "b": b},
        _("Your pool share follows the constant-product rule: at the end it is worth what the final price gives, "
          "so each path's impermanent loss is the table's IL(r) = 2·√r / (1 + r) − 1 at its final price ratio r."),
        _("%(paths)s price paths, in steps of %(step)s; each figure is its own percentile across the paths (the 5th "
          "percentile is the outcome only 1 path in 20 does worse than). The same amount, period and price data "
          "(up to %(date)s) give the same figures each time.")
        % {"paths": result["paths"], "date": result["price_data_date"].isoformat(),
           "step": _("one day") if result["step_days"] == 1 else _("up to %(n)s days") % {"n": result["step_days"]}},
        _("This is an illustration of possible outcomes, not a forecast or a promise."),
    ]
    return lines


def pool_simulation(product: Product | int, amount_usd: Decimal, days: int, *,
                    at: dt.datetime | None = None) -> dict[str, Any]:
    """Simulated outcomes of depositing `amount_usd` for `days` against simply holding (`pools.simulation`).

    Inputs come from the database: the pair's daily prices (volatility), the pool's current fee and reward APRs
    with the amount added (as the IL table). Figures are Decimals rounded for display: USD to the cent towards
    zero, fractions to 4 places, IL as the table (10 places, percent to 4). Empty dict for a non-pool product;
    PriceHistoryShort below `simulation.MIN_RETURNS` + 1 days of prices (the volatility needs 30 daily changes).
    """
    pool = pool_for_product(product)
    if pool is None:
        return {}
    history = pair_daily_prices(pool, at=at)
    have, need = min(len(history.prices), history.observed_days), simulation.MIN_RETURNS + 1
    if history.last_date is None or have < need:
        raise PriceHistoryShort(
            _("Not enough price history to simulate %(pair)s: %(have)s days of prices, %(need)s needed.")
            % {"pair": f"{pool.asset_a_id}/{pool.asset_b_id}", "have": have, "need": need})
    volatility = simulation.annualised_volatility(history.prices, min_returns=simulation.MIN_RETURNS)
    yields = pool_yield(pool, pool_prices(pool, at=at), extra_usd=amount_usd)
    seed = simulation.seed_for(pool.product_id, amount_usd.normalize(), days, history.last_date.isoformat())
    inputs: dict[str, Any] = {"amount": float(amount_usd), "days": days, "volatility": volatility,  # float-ok
              "fee_apr": float(yields.fee_apr), "reward_apr": float(yields.reward_apr), "seed": seed}  # float-ok
    # The same inputs give the same paths (seeded), so a reload or a repeated request costs no simulation.
    cache_key = "pools:simulation:" + hashlib.sha256(repr(sorted(inputs.items())).encode()).hexdigest()
    out = cache.get(cache_key)
    if out is None:
        out = simulation.simulate(**inputs)
        cache.set(cache_key, out, SIMULATION_CACHE_SECONDS)
    il = _band(out.il, lambda v: simulated_decimal(v, 10))
    share = simulated_decimal(out.p_income_beats_il, 4)
    vol = simulated_decimal(volatility, 4)
    result: dict[str, Any] = {
        "pair": f"{pool.asset_a_id}/{pool.asset_b_id}", "price_of": pool.asset_a_id, "in": pool.asset_b_id,
        "amount_usd": amount_usd, "days": days, "paths": out.paths, "steps": out.steps,
        "step_days": -(-days // out.steps), "seed": str(seed), "price_data_date": history.last_date,
        "history_days": len(history.prices), "volatility": vol, "volatility_percent": _percent(vol),
        "fee_apr": yields.fee_apr, "reward_apr": yields.reward_apr, "apr": yields.apr,
        "fee_apr_percent": _percent(yields.fee_apr), "reward_apr_percent": _percent(yields.reward_apr),
        "percentiles": {
            "position_value_usd": _band(out.position_value, _usd), "pool_value_usd": _band(out.pool_value, _usd),
            "income_usd": _band(out.income, _usd), "hold_value_usd": _band(out.hold_value, _usd),
            "vs_hold_usd": _band(out.vs_hold, _usd), "il_usd": _band(out.il_value, _usd), "il": il,
            "il_percent": {k: (v * 100).quantize(Decimal("0.0001")) for k, v in il.items()},
            "end_ratio": _band(out.end_ratio, lambda v: simulated_decimal(v, 4)),
        },
        "p_income_beats_il": share, "p_income_beats_il_percent": _percent(share),
    }
    result["assumptions"] = simulation_assumptions(result)
    return result


def pool_simulation_json(result: dict[str, Any]) -> dict[str, Any]:
    """`pool_simulation(...)` with Decimals as API strings and the date in ISO form."""
    bands = result["percentiles"]
    scales = {"position_value_usd": 2, "pool_value_usd": 2, "income_usd": 2, "hold_value_usd": 2,
              "vs_hold_usd": 2, "il_usd": 2}
    return {
        **{k: v for k, v in result.items() if k not in ("percentiles",)},
        "amount_usd": _text(result["amount_usd"]), "price_data_date": result["price_data_date"].isoformat(),
        "volatility": _text(result["volatility"]), "volatility_percent": _text(result["volatility_percent"]),
        "fee_apr": _text(result["fee_apr"]), "reward_apr": _text(result["reward_apr"]), "apr": _text(result["apr"]),
        "fee_apr_percent": _text(result["fee_apr_percent"]), "reward_apr_percent": _text(result["reward_apr_percent"]),
        "p_income_beats_il": _text(result["p_income_beats_il"]),
        "p_income_beats_il_percent": _text(result["p_income_beats_il_percent"]),
        "percentiles": {name: {k: _text(v, scales.get(name)) for k, v in band.items()} for name, band in bands.items()},
    }


# --- Positions ---------------------------------------------------------------------------------

def pool_positions_for(user: User) -> QuerySet[PoolPosition]:
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
    """Daily fees and rewards of one position, oldest first; history, so from the replica when there is one."""
    return PoolPayout.objects.using(read_alias()).filter(position=position).order_by("date")


def user_holds_pool_product(user: User, product: Any) -> bool:
    """Whether the customer has (or had) a pool position in this product: they keep seeing it once closed."""
    return PoolPosition.objects.filter(user=user, product=product).exists()


def user_pool_holdings(user: User) -> dict[str, Decimal]:
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


def pool_holdings_by_product() -> dict[int, dict[str, Decimal]]:
    """{product id: {asset: reserve}} of every pool with shares out, in one query: the venue exposure source.

    Customers' active shares are all the shares (reconcile checks it), so they own the reserves in full."""
    rows = (Pool.objects.filter(total_shares__gt=0)
            .values_list("product_id", "asset_a_id", "reserve_a", "asset_b_id", "reserve_b"))
    return {pid: {a: ra, b: rb} for pid, a, ra, b, rb in rows}


def active_positions(pool: Pool) -> QuerySet[PoolPosition]:
    return PoolPosition.objects.filter(pool=pool, status=PoolPositionStatus.ACTIVE)


def business_day(moment: dt.datetime | None = None) -> dt.date:
    return timezone.localtime(moment or timezone.now(), dt.UTC).date()


def open_pool_positions_in_category(category: str, users: Any) -> Any:
    """One row (user id) per active pool position of `users` in products of `category` (a category rule's preview)."""
    return PoolPosition.objects.filter(status=PoolPositionStatus.ACTIVE, product__category=category,
                                       user__in=users).values_list("user_id")
