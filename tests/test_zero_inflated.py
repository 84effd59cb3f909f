"""The zero-inflated gamma: analytic moments against scipy's, draws against its distribution
function (an atom at 0 of mass 1 - p_move, and a gamma above), and the loader's checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import edited
from scipy import stats

from sim.errors import ScenarioError
from sim.model import builder as B
from sim.model import distributions as D
from sim.model.loader import parse_scenario
from sim.model.scenario import Scenario

CASES = [(0.3, 1.0, 2.0), (0.8, 1.0, 0.7), (1.0, 1.0, 0.5), (0.05, 2.0, 9.0)]


def moving(p: float, mean: float, sd: float):
    """The moving days' gamma, from the moments by hand: E[X²] = p·m²·(1 + c²)."""
    m = mean / p
    c2 = p * (sd**2 + mean**2) / mean**2 - 1
    return stats.gamma(a=1 / c2, scale=m * c2)


@pytest.mark.parametrize(("p", "mean", "sd"), CASES)
def test_moments_are_those_of_the_mixture(p, mean, sd):
    d = D.build("zero_inflated_gamma", {"p_move": p, "mean": mean, "sd": sd})
    g = moving(p, mean, sd)
    # the mixture's moments from scipy's gamma: E X = p·E G, E X² = p·E G²
    assert d.mean == pytest.approx(p * g.mean(), rel=1e-12)
    assert d.variance == pytest.approx(p * g.moment(2) - (p * g.mean()) ** 2, rel=1e-9)
    assert d.moving_mean == pytest.approx(g.mean(), rel=1e-12)


@pytest.mark.parametrize(("p", "mean", "sd"), CASES)
def test_draws_follow_the_mixture(p, mean, sd):
    d = D.build("zero_inflated_gamma", {"p_move": p, "mean": mean, "sd": sd})
    n = 40_000
    x = d.sample(np.random.default_rng(7), n)
    zeros = float(np.mean(x == 0))
    assert abs(zeros - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n) + 1e-12
    assert stats.kstest(x[x > 0], moving(p, mean, sd).cdf).pvalue > 1e-3
    assert abs(x.mean() - mean) < 5 * sd / math.sqrt(n)
    y = d.sample32(np.random.default_rng(8), n)
    assert y.dtype == np.float32 and abs(float(np.mean(y == 0)) - (1 - p)) < \
        5 * math.sqrt(p * (1 - p) / n) + 1e-12
    assert stats.kstest(y[y > 0].astype(float), moving(p, mean, sd).cdf).pvalue > 1e-3


def test_ks_tells_a_wrong_zero_share_apart():
    d = D.build("zero_inflated_gamma", {"p_move": 0.5, "mean": 1.0, "sd": 1.5})
    x = d.sample(np.random.default_rng(3), 20_000)
    wrong = moving(0.5, 1.0, 1.6)  # a 7% larger sd: a different moving-day shape
    assert stats.kstest(x[x > 0], wrong.cdf).pvalue < 1e-6


def test_too_small_an_sd_is_refused():
    # moving a fixed 1/p on a share p of days has sd mean·√((1-p)/p): nothing can be less
    with pytest.raises(ValueError, match="sd must be at least"):
        D.build("zero_inflated_gamma", {"p_move": 0.25, "mean": 1.0, "sd": 1.0})
    fixed = D.build("zero_inflated_gamma", {"p_move": 0.25, "mean": 1.0, "sd": math.sqrt(3)})
    x = fixed.sample(np.random.default_rng(1), 1000)
    assert set(np.round(x, 9)) == {0.0, 4.0}


def scenario(noise: D.Distribution | None = None) -> Scenario:
    return B.scenario(B.axis("a", length_km=10, objective="o", attacker=1, defender=1,
                             advance=B.advance(100, noise=noise)),
                      name="z", start="2024-01-01", horizon_days=30)


def with_noise(spec: dict) -> str:
    """The scenario's file with ``spec`` as its daily noise, as a file would spell it."""
    return edited(scenario(), {"sectors.a.advance.noise": spec})


def test_the_loader_takes_it_as_daily_noise_and_checks_its_mean():
    sc = parse_scenario(with_noise(
        {"dist": "zero_inflated_gamma", "p_move": 0.4, "mean": 1, "sd": 2}))
    noise = sc.sectors[0].advance.noise
    assert isinstance(noise, D.ZeroInflatedGamma) and noise.p_move == 0.4
    with pytest.raises(ScenarioError, match="daily noise must have mean 1"):
        parse_scenario(with_noise(
            {"dist": "zero_inflated_gamma", "p_move": 0.4, "mean": 2, "sd": 4}))
    with pytest.raises(ScenarioError, match="p_move must lie in"):
        parse_scenario(with_noise(
            {"dist": "zero_inflated_gamma", "p_move": 0, "mean": 1, "sd": 2}))


def test_the_engine_advances_by_the_mean_overall():
    """Over 30 days at 100 m/day the mean advance is 3 km whatever the share of moving days,
    with variance 30·(0.1 km)²·sd² (independent days)."""
    import sim

    sc = B.checked(scenario(D.ZeroInflatedGamma(p_move=0.3, mean=1, sd=2.5)))
    r = sim.simulate(sc, replications=4000, seed=2)
    x = r.sectors["a"].progress[:, -1]
    sd = 0.1 * 2.5 * math.sqrt(30)
    assert abs(x.mean() - 3.0) < 5 * sd / math.sqrt(x.size)
    assert x.std() == pytest.approx(sd, rel=0.08)


# -- the zero-inflated lognormal: a base pace that may be zero (a front that does not come) -------

ZILN = [(0.3, 50.0, 0.5), (1.0, 20.0, 1.2), (0.9, 80.0, 0.1)]


@pytest.mark.parametrize(("p", "m", "cv"), ZILN)
def test_the_zero_inflated_lognormal_has_the_mixtures_moments_and_law(p, m, cv):
    d = D.build("zero_inflated_lognormal", {"p_move": p, "moving_mean": m, "moving_cv": cv})
    s2 = math.log1p(cv * cv)
    ln = stats.lognorm(s=math.sqrt(s2), scale=m * math.exp(-s2 / 2))
    assert d.mean == pytest.approx(p * ln.mean(), rel=1e-12)
    assert d.variance == pytest.approx(p * ln.moment(2) - (p * ln.mean()) ** 2, rel=1e-9)
    x = d.sample(np.random.default_rng(4), 40_000)
    assert np.mean(x == 0) == pytest.approx(1 - p, abs=0.012)
    moving_draws = x[x > 0]
    assert stats.kstest(moving_draws, ln.cdf).pvalue > 1e-3
    x32 = d.sample32(np.random.default_rng(5), 40_000)
    assert np.mean(x32 == 0) == pytest.approx(1 - p, abs=0.012)
    assert stats.kstest(x32[x32 > 0], ln.cdf).pvalue > 1e-3


def test_the_zero_inflated_lognormal_writes_and_reads_back_and_is_checked():
    from sim.model.writer import dist_data

    d = D.ZeroInflatedLogNormal(p_move=0.35, moving_mean=54.0, moving_cv=0.46)
    data = dist_data(d)
    assert D.build(data["dist"], {k: v for k, v in data.items() if k != "dist"}) == d
    for bad, why in (({"p_move": 0.0, "moving_mean": 5, "moving_cv": 1}, "p_move"),
                     ({"p_move": 0.5, "moving_mean": -5, "moving_cv": 1}, "mean"),
                     ({"p_move": 1.5, "moving_mean": 5, "moving_cv": 1}, "p_move")):
        with pytest.raises(ValueError, match=why):
            D.build("zero_inflated_lognormal", bad)
