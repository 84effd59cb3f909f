"""The engine and the benchmark's pure-numpy kernel are one model: equal in law (two-sample KS).

Each draws its own random numbers, so they agree in distribution, not draw for draw: the day
each objective falls (+inf where censored at the horizon, the same for both), the milestone days
and progress at every checkpoint. A kernel with a base rate 10% faster is told apart at the same
sizes, so the tests can fail.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import sim

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import kernel  # noqa: E402  (benchmarks/ is not a package)

SCENARIO = ROOT / "scenarios/kurakhove.yaml"
P_MIN = 1e-3  # fixed seeds: a p-value below this would mean the two models differ


def engine_and_kernel(sc, n: int, seed: int):
    return (sim.simulate(sc, replications=n, seed=seed, jobs=1, bands=False),
            kernel.run(sc, n, seed + 1000))


def ks_report(engine_result, kernel_out) -> list[tuple[str, float, float]]:
    """(what, KS statistic, p-value) of every compared outcome of every sector."""
    out = []
    for name, k in kernel_out.items():
        e = engine_result.sectors[name]
        pairs = [("objective day", e.objective_day, k.objective_day)]
        pairs += [(f"milestone {m.name}", e.milestone_days[:, i], k.milestone_days[:, i])
                  for i, m in enumerate(e.sector.milestones)]
        pairs += [(f"progress at day {d}", e.progress[:, i], k.progress[:, i])
                  for i, d in enumerate(e.checkpoints_days)]
        for what, a, b in pairs:
            r = stats.ks_2samp(a, b)  # +inf (censored) ranks above every day, in both
            out.append((f"{name}: {what}", float(r.statistic), float(r.pvalue)))
    return out


def pokrovsk():
    sc = sim.load_scenario(SCENARIO)
    return dataclasses.replace(sc, sectors=(sc.sector("pokrovsk"),))


def test_pokrovsk_engine_and_kernel_agree_in_law():
    sc = pokrovsk()
    e, k = engine_and_kernel(sc, 8_000, seed=3)
    assert 0.2 < e.sectors["pokrovsk"].reached.mean() < 0.9  # censoring matters here
    for what, d, p in ks_report(e, k):
        assert p > P_MIN, (what, d, p)
    # Strikes: Poisson counts of the same rate over the same window.
    assert abs(e.sectors["pokrovsk"].strikes.mean() - 0.1 * sc.horizon_days) < 0.5


def test_a_kernel_ten_percent_faster_is_told_apart():
    sc = pokrovsk()
    s = sc.sector("pokrovsk")
    base = s.advance.base_m_per_day
    faster = dataclasses.replace(s, advance=dataclasses.replace(
        s.advance, base_m_per_day=dataclasses.replace(base, mu=base.mu + np.log(1.10))))
    e = sim.simulate(sc, replications=8_000, seed=3, jobs=1, bands=False)
    k = kernel.run(dataclasses.replace(sc, sectors=(faster,)), 8_000, 1003)
    p = {what: p for what, _, p in ks_report(e, k)}
    assert p["pokrovsk: objective day"] < P_MIN


def test_both_sectors_retire_on_their_own_and_agree_in_law():
    # Kurakhove falls within days, Pokrovsk over months: each sector's law stays its own.
    sc = sim.load_scenario(SCENARIO)
    e, k = engine_and_kernel(sc, 6_000, seed=5)
    for what, d, p in ks_report(e, k):
        assert p > P_MIN, (what, d, p)


@pytest.mark.slow
def test_the_whole_file_at_100000_replications():
    sc = sim.load_scenario(SCENARIO)
    e, k = engine_and_kernel(sc, 100_000, seed=7)
    for what, d, p in ks_report(e, k):
        assert p > P_MIN, (what, d, p)
