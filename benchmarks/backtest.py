"""Time a backtest from 50 origins at 2,000 replications per origin.

    python benchmarks/backtest.py            # about a minute on 2 cores
    python benchmarks/backtest.py --quick    # 5 origins at 200, to check that it runs

The series: a daily one drawn from scenarios/kurakhove-reported.yaml itself (the report's
model; replication 22 of seed 2024, the shipped synthetic series' draw), 150 days from its
start. Origins every 2 days from the start (50 of them), each projected 90 days
(horizon_days=90), scored at every daily observation within that. The baseline, in the same
process: the same engine work without the backtest, 50 plain runs of the scenario at 2,000
replications over 90 days, so the ratio is the cost of restarting, scoring and pooling.
Timings are printed, never asserted.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios/kurakhove-reported.yaml"  # the report's model: stays comparable


def main() -> int:
    sys.path.insert(0, str(ROOT))
    import sim
    from sim.forecast.many_origins import backtest_origins
    from sim.forecast.self_test import synthetic_observed

    quick = "--quick" in sys.argv
    origins, reps = (5, 200) if quick else (50, 2000)
    sc = sim.load_scenario(SCENARIO)
    truth = synthetic_observed(sc, list(range(1, 151)), seed=2024, replication=22)
    dates = [sc.start + dt.timedelta(days=2 * i) for i in range(origins)]
    plain = sim.load_scenario(SCENARIO, ["horizon_days=90"])
    print(f"{origins} origins x {reps:,} replications, 90-day horizon, daily observations")
    t0 = time.perf_counter()
    for i in range(origins):
        sim.simulate(plain, replications=reps, seed=i, jobs=1)
    base = time.perf_counter() - t0
    print(f"  baseline: {origins} plain runs, -j 1                 {base:7.2f} s")
    for jobs in (1, 2):
        t0 = time.perf_counter()
        obt = backtest_origins(SCENARIO, truth, dates=dates,
                               replications=reps, seed=1, jobs=jobs, horizon_days=90)
        wall = time.perf_counter() - t0
        p = obt.pooled()
        print(f"  backtest from {origins} origins, -j {jobs}              {wall:7.2f} s "
              f"({wall / base:.2f}x the baseline; {p['cases']} cases, {p['n_obs']:,} scored "
              f"dates)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
