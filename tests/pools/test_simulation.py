"""The outcome simulator's pure module (pools/simulation.py): no Django, zero volatility gives the IL table's
figures, a seed gives the same paths, the volatility of a known series, the GBM's spread."""

from __future__ import annotations

import ast
import math
import statistics
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from pools import amm, simulation

ROOT = Path(__file__).resolve().parents[2]


def test_the_module_imports_no_django_and_no_app():
    tree = ast.parse((ROOT / "pools" / "simulation.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert {name.split(".")[0] for name in imported} <= {"__future__", "hashlib", "math", "collections", "dataclasses",
                                                         "decimal", "numpy"}
    code = "import sys, pools.simulation; print('django' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_vectorised_il_is_the_amm_formula():
    ratios = np.array([float(r) for r in amm.IL_RATIOS])  # float-ok: test of the float formula
    for ratio, il in zip(amm.IL_RATIOS, simulation.impermanent_loss(ratios), strict=True):
        assert abs(Decimal(repr(float(il))) - amm.impermanent_loss(ratio)) < Decimal("1e-15")


@pytest.mark.parametrize("ratio", amm.IL_RATIOS)
def test_zero_volatility_reproduces_the_il_table(ratio):
    """σ = 0 and a drift that ends every path at r: every percentile is the table's IL(r), at its precision."""
    days = 365
    out = simulation.simulate(amount=1000.0, days=days, volatility=0.0, fee_apr=0.0, reward_apr=0.0, seed=1,
                              drift=math.log(float(ratio)) * simulation.DAYS_PER_YEAR / days)
    exact = amm.impermanent_loss(ratio)
    for value in (out.il.p5, out.il.p50, out.il.p95):
        got = Decimal(repr(value))
        assert got.quantize(Decimal("1e-10")) == exact.quantize(Decimal("1e-10"))
        assert (got * 100).quantize(Decimal("0.0001")) == (exact * 100).quantize(Decimal("0.0001"))
    assert out.p_income_beats_il == (1.0 if ratio == 1 else 0.0)  # no income: only a flat price breaks even
    hold = 1000 * (1 + float(ratio)) / 2
    assert out.hold_value.p50 == pytest.approx(hold, rel=1e-12)
    assert out.pool_value.p50 / out.hold_value.p50 - 1 == pytest.approx(float(exact), abs=1e-12)


def test_zero_volatility_without_drift_earns_the_apr_exactly_and_loses_nothing():
    out = simulation.simulate(amount=1000.0, days=73, volatility=0.0, fee_apr=0.15, reward_apr=0.05, seed=9)
    assert out.il == simulation.Band(0.0, 0.0, 0.0) and out.il_value == simulation.Band(0.0, 0.0, 0.0)
    assert out.income.p5 == out.income.p95 == pytest.approx(1000 * 0.20 * 73 / 365, rel=1e-12)
    assert out.p_income_beats_il == 1.0
    assert out.vs_hold.p50 == pytest.approx(40.0, rel=1e-12)


def test_a_seeded_run_is_reproducible_and_another_seed_differs():
    kwargs = {"amount": 2500.0, "days": 180, "volatility": 0.7, "fee_apr": 0.12, "reward_apr": 0.08}
    first = simulation.simulate(seed=simulation.seed_for(7, "2500", 180, "2026-06-30"), **kwargs)
    again = simulation.simulate(seed=simulation.seed_for(7, "2500", 180, "2026-06-30"), **kwargs)
    other = simulation.simulate(seed=simulation.seed_for(7, "2500", 180, "2026-07-01"), **kwargs)
    assert first == again
    assert first.position_value != other.position_value
    assert 0 <= simulation.seed_for(1) < 2 ** 64  # a plain 64-bit integer


def test_the_seed_is_the_same_in_another_process():
    code = "from pools.simulation import seed_for; print(seed_for(7, '2500', 180, '2026-06-30'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert int(out.stdout) == simulation.seed_for(7, "2500", 180, "2026-06-30")


def test_volatility_of_a_known_series():
    returns = [0.01, -0.02, 0.03, 0.0, -0.01, 0.02]
    prices = [Decimal(100)]
    for r in returns:
        prices.append(prices[-1] * Decimal(repr(math.exp(r))))
    expected = statistics.stdev(returns) * math.sqrt(365)
    assert simulation.annualised_volatility(prices) == pytest.approx(expected, rel=1e-9)
    assert simulation.annualised_volatility([Decimal(5)] * 40) == 0.0
    growing = [100 * 1.01 ** n for n in range(40)]  # a steady trend is no volatility
    assert simulation.annualised_volatility(growing) == pytest.approx(0.0, abs=1e-12)


def test_volatility_needs_enough_positive_prices():
    with pytest.raises(simulation.NotEnoughHistory):
        simulation.annualised_volatility([Decimal(1), Decimal(2)])
    with pytest.raises(simulation.NotEnoughHistory):
        simulation.annualised_volatility([Decimal(1)] * 30, min_returns=30)  # 29 returns
    with pytest.raises(ValueError, match="positive"):
        simulation.annualised_volatility([Decimal(1), Decimal(0), Decimal(2)])


def test_paths_spread_as_gbm_with_no_trend():
    """ln r at the end: mean 0, standard deviation σ·√T (10 000 paths: within a few standard errors)."""
    sigma, days = 0.8, 365
    ends = np.concatenate([chunk[:, -1] for chunk in simulation.log_price_paths(
        paths=10_000, days=days, volatility=sigma, seed=3)])
    assert ends.size == 10_000
    assert abs(ends.mean()) < 4 * sigma / math.sqrt(10_000)
    assert ends.std() == pytest.approx(sigma, rel=0.03)


def test_long_periods_step_in_several_days_and_cover_every_day():
    assert simulation.step_days(30).tolist() == [1.0] * 30
    steps = simulation.step_days(400)
    assert steps.size == 365 and steps.sum() == 400 and set(steps.tolist()) == {1.0, 2.0}
    assert simulation.step_days(3650).tolist() == [10.0] * 365
    out = simulation.simulate(amount=1000.0, days=3650, volatility=0.0, fee_apr=0.1, reward_apr=0.0, seed=1)
    assert out.steps == 365 and out.income.p50 == pytest.approx(1000.0, rel=1e-12)


def test_percentiles_are_ordered_and_the_chance_is_a_share():
    out = simulation.simulate(amount=1000.0, days=365, volatility=0.9, fee_apr=0.1, reward_apr=0.1, seed=5,
                              paths=2_000)
    for band in (out.position_value, out.hold_value, out.income, out.il_value, out.end_ratio, out.il):
        assert band.p5 <= band.p50 <= band.p95
    assert out.il.p95 <= 0 and out.il_value.p5 >= 0
    assert 0 < out.p_income_beats_il < 1


@pytest.mark.parametrize("bad", [{"amount": 0.0}, {"amount": float("nan")}, {"days": 0}, {"volatility": -0.1},
                                 {"volatility": float("inf")}, {"paths": 0}])
def test_bad_inputs_are_refused(bad):
    kwargs = {"amount": 1000.0, "days": 30, "volatility": 0.5, "fee_apr": 0.1, "reward_apr": 0.0, "seed": 1, **bad}
    with pytest.raises(ValueError):
        simulation.simulate(**kwargs)
