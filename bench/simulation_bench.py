#!/usr/bin/env python
"""The outcome simulator's cost: 10 000 price paths × 365 days (the API's and the portal's case), pure numpy.

    .venv/bin/python bench/simulation_bench.py
    .venv/bin/python bench/simulation_bench.py --paths 10000 --days 3650 --repeat 7

Times `pools.simulation.simulate` (draw the paths, IL and income per path, percentiles) after one warm-up run,
and the path generation alone; prints the best, the median and the worst of `--repeat` runs. No database, no
Django. The machine may be shared: read the figures as indicative, the best run as the least disturbed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from pools import simulation


def _time(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    fn()  # warm-up: imports, first allocation
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths", type=int, default=simulation.PATHS)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--volatility", type=float, default=0.6, help="annualised (default 0.6)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    seed = simulation.seed_for("bench", args.paths, args.days)

    def run() -> simulation.Outcome:
        return simulation.simulate(amount=1000.0, days=args.days, volatility=args.volatility, fee_apr=0.12,
                                   reward_apr=0.08, seed=seed, paths=args.paths)

    def paths_only() -> None:
        for chunk in simulation.log_price_paths(paths=args.paths, days=args.days, volatility=args.volatility,
                                                seed=seed):
            chunk[:, -1].sum()

    full, gen = _time(run, args.repeat), _time(paths_only, args.repeat)
    out = run()
    steps = simulation.step_days(args.days).size
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, load average {load:.2f} (shared machine: indicative)")
    print(f"{args.paths} paths × {args.days} days ({steps} steps per path, {args.paths * steps:,} normal draws)")
    for name, times in (("simulate (paths, IL, income, percentiles)", full), ("paths alone", gen)):
        print(f"  {name}: best {min(times):.3f} s, median {statistics.median(times):.3f} s, "
              f"worst {max(times):.3f} s over {len(times)} runs")
    print(f"  under 1 s: {'yes' if statistics.median(full) < 1 else 'NO'} (median)")
    print(f"  median position value {out.position_value.p50:.2f} vs hold {out.hold_value.p50:.2f}; "
          f"P(fees + rewards > IL) = {out.p_income_beats_il:.4f}")


if __name__ == "__main__":
    main()
