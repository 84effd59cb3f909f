"""Time in regime: a projection that starts in a regime which has already lasted ``elapsed_days``
draws its first sojourn from the residual law (T − e given T > e), from the same random numbers
as a fresh sojourn. Checked against the laws' closed forms, rejection sampling, and the engine's
exact days."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.errors import ScenarioError
from sim.model import builder as B
from sim.model import distributions as D
from sim.model.loader import parse_scenario
from sim.model.writer import dump
from sim.running.runner import simulate


@pytest.mark.parametrize("dist", [D.LogNormal.from_mean_cv(175.0, 1.5),
                                  D.Gamma(mean=60.0, sd=45.0)])
@pytest.mark.parametrize("times_mean", [0.1, 1.0, 2.3])
def test_the_residual_has_the_law_of_what_is_left_beyond_the_elapsed_days(dist, times_mean):
    elapsed = times_mean * dist.mean
    rng = np.random.default_rng(11)
    got = dist.residual(dist.sample(rng, 20_000), elapsed)
    pool = dist.sample(rng, 4_000_000)
    want = pool[pool > elapsed] - elapsed  # rejection: the definition
    assert want.size > 5_000
    assert stats.ks_2samp(got, want).pvalue > 1e-3
    # and a residual from a law 10% longer is told apart
    longer = got * 1.1
    assert stats.ks_2samp(longer, want).pvalue < 1e-6


def test_the_exponential_has_no_memory_and_the_lognormal_median_is_exact():
    rng = np.random.default_rng(5)
    exp = D.Gamma(mean=40.0, sd=40.0)  # shape 1: exponential
    draws = exp.sample(rng, 50_000)
    assert stats.kstest(exp.residual(draws, 300.0), "expon", args=(0, 40.0)).pvalue > 1e-3
    ln = D.LogNormal.from_mean_cv(100.0, 1.2)
    e = 250.0
    f_e = stats.lognorm.cdf(e, ln.sigma, scale=math.exp(ln.mu))
    median = stats.lognorm.ppf(f_e + (1 - f_e) / 2, ln.sigma, scale=math.exp(ln.mu)) - e
    at_median = np.array([math.exp(ln.mu)])  # the fresh law's median maps to the residual's
    assert ln.residual(at_median, e)[0] == pytest.approx(median, rel=1e-9)
    # a stall far in the tail keeps finite, ordered quantiles
    far = ln.residual(np.array([1.0, 100.0, 1e4]), 1e6)
    assert np.all(np.isfinite(far)) and np.all(np.diff(far) > 0)
    assert D.Fixed(value=30.0).residual(np.array([30.0]), 45.0)[0] == 0.0


def stall_then_move(elapsed: float) -> B.Scenario:
    """A stall of exactly 100 days, then a constant 250 m/day over 10 km (40 days)."""
    regimes = B.regimes(B.regime("stalled", 0.0, 100.0, {"moving": 1.0}),
                        B.regime("moving", 1.0, 10_000.0, {"stalled": 1.0}),
                        elapsed_days=elapsed)
    sector = B.axis("s", length_km=10, advance=B.advance(250, regimes=regimes),
                    attacker=1000, defender=1000)
    return B.scenario(sector, name="residual", start="2024-06-01", horizon_days=365)


@pytest.mark.parametrize(("elapsed", "day"), [(0, 140.0), (30, 110.0), (99, 41.0), (250, 40.0)])
def test_a_stall_already_lasting_ends_sooner_by_exactly_its_elapsed_days(elapsed, day):
    so = simulate(stall_then_move(elapsed), replications=6, seed=3, jobs=1).sectors["s"]
    np.testing.assert_allclose(so.objective_day, day, rtol=1e-12)


def test_elapsed_days_are_written_and_read_back_and_refused_where_undefined(tmp_path):
    sc = stall_then_move(30.0)
    text = dump(sc)
    assert "elapsed_days: 30" in text
    assert parse_scenario(text).sectors[0].advance.regimes.elapsed_days == 30.0
    bad = text.replace("sojourn_days: 100\n", "sojourn_days: {dist: uniform, low: 50, high: 150}\n")
    with pytest.raises(ScenarioError, match="elapsed_days") as e:
        parse_scenario(bad, file="s.yaml")
    assert e.value.line is not None
    with pytest.raises(ScenarioError, match="elapsed_days"):
        parse_scenario(text.replace("elapsed_days: 30", "elapsed_days: -1"), file="s.yaml")
