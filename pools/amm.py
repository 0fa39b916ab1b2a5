"""Constant-product pool math with no Django import: Decimals only, explicit rounding, fast to property-test.

A pool holds reserves `ra` of asset a and `rb` of asset b and has issued `shares`. Every rounding here
favours the pool over the customer: what a customer puts in is rounded up, what they get out (shares
minted, assets returned, swap output) is rounded down. So k = ra·rb never decreases through a trade
and shares can never claim more than the reserves hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from typing import cast

_PRECISION = 80
IL_RATIOS = (Decimal("0.25"), Decimal("0.5"), Decimal("0.8"), Decimal("1.25"), Decimal("1.5"), Decimal("2"),
             Decimal("3"), Decimal("4"), Decimal("5"))
DAYS_PER_YEAR = 365


def _q(scale: int) -> Decimal:
    return Decimal(1).scaleb(-scale)


def floor_to(value: Decimal, scale: int) -> Decimal:
    return value.quantize(_q(scale), rounding=ROUND_FLOOR)


def ceil_to(value: Decimal, scale: int) -> Decimal:
    return value.quantize(_q(scale), rounding=ROUND_CEILING)


def _sqrt(value: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return value.sqrt()


# --- Deposits, shares, redemptions --------------------------------------------------------------

def pair_amount(ra: Decimal, rb: Decimal, amount_a: Decimal, scale_b: int) -> Decimal:
    """The amount of b that goes with `amount_a` at the pool ratio, rounded up (the pool is never short)."""
    if ra <= 0 or rb <= 0:
        raise ValueError("an empty pool has no ratio; the first deposit sets it")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return ceil_to(amount_a * rb / ra, scale_b)


def shares_for_deposit(ra: Decimal, rb: Decimal, shares: Decimal, amount_a: Decimal, amount_b: Decimal,
                       share_scale: int) -> Decimal:
    """Shares minted for depositing (amount_a, amount_b), rounded down.

    First deposit: sqrt(a·b) (the geometric mean, as Uniswap v2). Later: the smaller of the two
    pro-rata claims, so an off-ratio deposit donates its excess to the pool instead of diluting it.
    """
    if amount_a <= 0 or amount_b <= 0:
        raise ValueError("both amounts must be positive")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        if shares == 0:
            return floor_to(_sqrt(amount_a * amount_b), share_scale)
        return floor_to(min(amount_a * shares / ra, amount_b * shares / rb), share_scale)


def redemption_amounts(ra: Decimal, rb: Decimal, shares: Decimal, burn: Decimal, scale_a: int,
                       scale_b: int) -> tuple[Decimal, Decimal]:
    """What burning `burn` shares returns at the current reserves, each rounded down."""
    if burn <= 0 or burn > shares:
        raise ValueError("can only burn between 0 and all issued shares")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return floor_to(ra * burn / shares, scale_a), floor_to(rb * burn / shares, scale_b)


def swap_output(reserve_in: Decimal, reserve_out: Decimal, amount_in: Decimal, fee_rate: Decimal,
                scale_out: int) -> Decimal:
    """Output of selling `amount_in` into the pool with the fee kept in the pool, rounded down."""
    if amount_in <= 0:
        raise ValueError("amount_in must be positive")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        effective = amount_in * (1 - fee_rate)
        return floor_to(reserve_out * effective / (reserve_in + effective), scale_out)


@dataclass(frozen=True)
class ZapPlan:
    """A one-asset deposit: half is sold into the pool, the rest deposited with the proceeds."""

    swap_in: Decimal  # of the asset given, sold into the pool
    swap_out: Decimal  # of the other asset, bought (and deposited straight back)
    swap_fee: Decimal  # part of swap_in kept by the pool as its trading fee
    deposit_in: Decimal  # of the asset given, deposited beside swap_out
    leftover: Decimal  # of the asset given that the ratio does not take: stays with the customer
    shares: Decimal


def zap(reserve_in: Decimal, reserve_out: Decimal, shares: Decimal, amount: Decimal, fee_rate: Decimal,
        scale_in: int, scale_out: int, share_scale: int) -> ZapPlan:
    """Plan a one-asset deposit of `amount` (asset "in"): half swapped at the pool price, fee stated."""
    if reserve_in <= 0 or reserve_out <= 0 or shares <= 0:
        raise ValueError("a one-asset deposit needs a pool with liquidity")
    swap_in = floor_to(amount / 2, scale_in)
    out = swap_output(reserve_in, reserve_out, swap_in, fee_rate, scale_out)
    if swap_in <= 0 or out <= 0:
        raise ValueError("amount too small to swap")
    rin, rout = reserve_in + swap_in, reserve_out - out
    deposit_in = min(amount - swap_in, pair_amount(rout, rin, out, scale_in))
    minted = shares_for_deposit(rin, rout, shares, deposit_in, out, share_scale)
    return ZapPlan(swap_in, out, ceil_to(swap_in * fee_rate, scale_in), deposit_in, amount - swap_in - deposit_in,
                   minted)


# --- Prices and arbitrage ----------------------------------------------------------------------

def rebalance(ra: Decimal, rb: Decimal, price_a: Decimal, price_b: Decimal, scale_a: int,
              scale_b: int) -> tuple[Decimal, Decimal]:
    """Reserves after arbitrageurs trade the pool to the external price a/b, keeping k (never lowering it).

    The pool price rb/ra becomes price_a/price_b: ra' = sqrt(k / p), rb' = sqrt(k · p). ra' is rounded
    down and rb' = k / ra' rounded up, so ra'·rb' >= k.
    """
    if ra <= 0 or rb <= 0:
        return ra, rb
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        k = ra * rb
        p = price_a / price_b
        new_a = floor_to(_sqrt(k / p), scale_a)
        if new_a <= 0:
            return ra, rb
        return new_a, ceil_to(k / new_a, scale_b)


def impermanent_loss(ratio: Decimal) -> Decimal:
    """IL(r) = 2·sqrt(r)/(1 + r) − 1: pool value against simply holding, after a price ratio change r."""
    if ratio <= 0:
        raise ValueError("ratio must be positive")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return 2 * _sqrt(ratio) / (1 + ratio) - 1


def break_even_days(il: Decimal, apr: Decimal) -> Decimal | None:
    """Days of yield at `apr` that earn back a loss of `il` (a negative fraction); None when nothing is earned."""
    if apr <= 0:
        return None
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return ceil_to(-il / (apr / DAYS_PER_YEAR), 1) if il < 0 else Decimal(0)


def il_since_entry(lots: Sequence[tuple[Decimal, Decimal]], price_now: Decimal) -> tuple[Decimal, Decimal]:
    """(entry price, IL) of a position made of deposits `lots` = [(value at entry, price of a in b at entry)].

    Each deposit's IL is IL(price_now / its entry price); the position's is their average weighted by the
    deposits' values (a partial redemption takes every deposit pro rata, so the weights stay right). The entry
    price returned is the value-weighted average, for display. Fees and rewards are not in it: this is the
    loss against simply holding that the price move alone causes.
    """
    total = sum((value for value, _p in lots), Decimal(0))
    if total <= 0 or price_now <= 0:
        raise ValueError("a position with value and a positive price is needed")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        il = sum((value * impermanent_loss(price_now / entry) for value, entry in lots), Decimal(0)) / total
        entry_avg = sum((value * entry for value, entry in lots), Decimal(0)) / total
    return entry_avg, il


def apy_compounded(apr: Decimal, periods: int = DAYS_PER_YEAR) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return (1 + apr / periods) ** periods - 1


# --- Splitting a day's income -------------------------------------------------------------------

def largest_remainder(total: Decimal, weights: Sequence[tuple[int, Decimal]], scale: int) -> dict[int, Decimal]:
    """Split `total` by weight in whole units of `scale`; leftover units go to the largest remainders.

    Ties go to the lower key, so the split is deterministic. The parts always sum to `total` exactly.
    Integer arithmetic throughout (the same as the SQL in pools.services.distribution).
    """
    units = int((total / _q(scale)).to_integral_exact())
    if Decimal(units) * _q(scale) != total:
        raise ValueError("total is finer than the scale")
    if not weights or units == 0:
        return {key: Decimal(0) for key, _w in weights}
    # Weights (shares) are decimals; scale them to integers with a common exponent.
    exponent = min(cast(int, w.as_tuple().exponent) for _k, w in weights)  # finite weights: int exponents
    ints = [(key, int(w.scaleb(-exponent))) for key, w in weights]
    whole = sum(w for _k, w in ints)
    if whole <= 0:
        raise ValueError("weights must sum to more than zero")
    parts = {key: divmod(units * w, whole) for key, w in ints}
    left = units - sum(q for q, _r in parts.values())
    ranked = sorted(parts, key=lambda key: (-parts[key][1], key))
    bonus = set(ranked[:left])
    return {key: (Decimal(q + (1 if key in bonus else 0)) * _q(scale)) for key, (q, _r) in parts.items()}
