"""Outcome simulator for a liquidity-mining position: seeded price paths against simply holding. No Django import.

The relative price r = price of a / price of b follows geometric Brownian motion with the volatility of the
pair's own daily history (`annualised_volatility`) and no trend (the median path stays at today's price: r and
1/r are equally likely, as impermanent loss treats them). On every path the position is a constant-product pool
share: worth amount·√r against amount·(1 + r)/2 for holding the two assets (the ratio is `amm.impermanent_loss`,
computed here on numpy arrays; a test holds the two equal), and it earns the current fee and reward APRs on its
value along the path (constant APRs, a constant share of the pool, income paid out and not reinvested).

Floats live only here (numpy); callers convert the figures to Decimal at the edge. Paths are drawn in chunks
(a cumulative sum of normal increments, in place) so 10 000 paths × 365 days stay well under a second. Periods
over a year are stepped in a few days at a time — at most `MAX_STEPS` steps, so the cost is bounded.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

DAYS_PER_YEAR = 365  # crypto trades every day: daily returns annualise over 365 (as pools.amm)
PATHS = 10_000
MAX_STEPS = 365  # one step a day up to a year; longer periods take steps of a few days
MIN_RETURNS = 30  # daily price changes (31 days of prices) needed before a volatility means anything
PERCENTILES = (5, 50, 95)
_CHUNK = 2_500  # paths per chunk: ~7 MB of float64 for 365 steps


class NotEnoughHistory(ValueError):
    """Too few prices to estimate a volatility."""


def daily_log_returns(prices: Sequence[Decimal | float]) -> np.ndarray:
    """ln(p[t] / p[t−1]) of a daily series, oldest first; every price must be positive."""
    values = np.asarray([float(p) for p in prices], dtype=np.float64)  # float-ok: volatility, not money
    if values.size and not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError("prices must be positive and finite")
    return np.diff(np.log(values))


def annualised_volatility(prices: Sequence[Decimal | float], *, min_returns: int = 2) -> float:
    """The sample standard deviation of daily log returns × √365: the σ of the GBM.

    Raises NotEnoughHistory below `min_returns` returns (at least 2: a standard deviation needs two).
    """
    returns = daily_log_returns(prices)
    if returns.size < max(2, min_returns):
        raise NotEnoughHistory(f"{returns.size} daily returns; {max(2, min_returns)} needed")
    return float(np.std(returns, ddof=1) * math.sqrt(DAYS_PER_YEAR))  # float-ok: a volatility, not money


def seed_for(*parts: object) -> int:
    """A 64-bit seed from the parts' text (product, amount, days, date of the price data): same inputs, same paths."""
    text = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


def step_days(days: int, max_steps: int = MAX_STEPS) -> np.ndarray:
    """The holding period cut into at most `max_steps` whole-day steps, as even as possible (longest first)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    steps = min(days, max_steps)
    base, extra = divmod(days, steps)
    return np.array([base + 1] * extra + [base] * (steps - extra), dtype=np.float64)


def impermanent_loss(ratio: np.ndarray) -> np.ndarray:
    """IL(r) = 2·√r/(1 + r) − 1 on an array: `pools.amm.impermanent_loss` for many paths at once."""
    return 2 * np.sqrt(ratio) / (1 + ratio) - 1


def log_price_paths(*, paths: int, days: int, volatility: float, seed: int, drift: float = 0.0,
                    max_steps: int = MAX_STEPS, chunk: int = _CHUNK):
    """Yield (rows, steps) arrays of ln r at the end of each step, r = 1 today, in chunks of paths.

    GBM: each step adds drift·Δt + σ·√Δt·Z with Z standard normal (Δt in years); `drift` is the trend of ln r
    (0: no trend, the median path stays flat). The generator is PCG64 seeded with `seed`.
    """
    if paths < 1 or volatility < 0 or not math.isfinite(volatility):
        raise ValueError("paths must be positive and volatility a finite number ≥ 0")
    dt = step_days(days, max_steps) / DAYS_PER_YEAR
    scale, shift = volatility * np.sqrt(dt), drift * dt
    rng = np.random.default_rng(seed)
    done = 0
    while done < paths:
        rows = min(chunk, paths - done)
        z = rng.standard_normal((rows, dt.size))
        z *= scale
        z += shift
        np.cumsum(z, axis=1, out=z)
        yield z
        done += rows


@dataclass(frozen=True)
class Band:
    """The 5th, 50th and 95th percentile of one figure across the paths."""

    p5: float
    p50: float
    p95: float

    @classmethod
    def of(cls, values: np.ndarray) -> Band:
        p5, p50, p95 = np.percentile(values, PERCENTILES)
        return cls(float(p5), float(p50), float(p95))  # float-ok: percentiles of simulated USD, converted at the edge


@dataclass(frozen=True)
class Outcome:
    """What the paths say. Values are in the currency of `amount` (USD) with asset b at today's price.

    Each band is its own percentile: the 5th-percentile position value and the 5th-percentile income need not
    come from the same path. `vs_hold` is per path (position value − hold value), then its percentiles.
    """

    amount: float
    days: int
    paths: int
    steps: int
    volatility: float
    fee_apr: float
    reward_apr: float
    seed: int
    end_ratio: Band  # price of a in b at the end, today = 1
    pool_value: Band  # what the shares return at the end
    income: Band  # fees plus rewards over the period
    position_value: Band  # pool value + income
    hold_value: Band  # the deposited assets simply held
    vs_hold: Band  # position value − hold value
    il: Band  # impermanent loss at the end, a fraction ≤ 0
    il_value: Band  # hold value − pool value (≥ 0)
    p_income_beats_il: float  # share of paths whose fees and rewards exceed the impermanent loss


def simulate(*, amount: float, days: int, volatility: float, fee_apr: float, reward_apr: float, seed: int,
             paths: int = PATHS, drift: float = 0.0, max_steps: int = MAX_STEPS) -> Outcome:
    """Simulate `paths` price paths over `days` and compare a pool position of `amount` with simply holding.

    Income on a step = (fee APR + reward APR) × step/365 × the position's value at the step's end (amount·√r).
    """
    if amount <= 0 or not math.isfinite(amount):
        raise ValueError("amount must be positive")
    apr = fee_apr + reward_apr
    dt = step_days(days, max_steps) / DAYS_PER_YEAR
    ends, incomes = [], []
    for log_r in log_price_paths(paths=paths, days=days, volatility=volatility, seed=seed, drift=drift,
                                 max_steps=max_steps):
        ends.append(np.exp(log_r[:, -1]))
        log_r *= 0.5
        np.exp(log_r, out=log_r)  # √r along each path
        incomes.append(amount * apr * (log_r @ dt))
    end = np.concatenate(ends)
    income = np.concatenate(incomes)
    pool = amount * np.sqrt(end)
    hold = amount * (1 + end) / 2
    il_value = hold - pool
    position = pool + income
    return Outcome(
        amount=amount, days=days, paths=paths, steps=int(dt.size), volatility=volatility, fee_apr=fee_apr,
        reward_apr=reward_apr, seed=seed, end_ratio=Band.of(end), pool_value=Band.of(pool),
        income=Band.of(income), position_value=Band.of(position), hold_value=Band.of(hold),
        vs_hold=Band.of(position - hold), il=Band.of(impermanent_loss(end)), il_value=Band.of(il_value),
        p_income_beats_il=float(np.mean(income > il_value)))  # float-ok: a probability, not money
