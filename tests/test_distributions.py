"""Statistical tests of the input distributions: samples against their analytic moments and laws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.model import distributions as D

N = 100_000  # draws per distribution
Z = 5.0  # standard errors allowed for a sample moment (two-sided chance ~6e-7 under a normal law)
P_MIN = 1e-3  # smallest acceptable p-value of a goodness-of-fit test


def _reference(name: str, params: dict) -> stats.rv_continuous:
    """The matching frozen scipy distribution, parametrised from the textbook definitions
    (independently of sim.model.distributions)."""
    if name == "uniform":
        return stats.uniform(loc=params["low"], scale=params["high"] - params["low"])
    if name == "triangular":
        lo, mode, hi = params["low"], params["mode"], params["high"]
        return stats.triang(c=(mode - lo) / (hi - lo), loc=lo, scale=hi - lo)
    if name == "pert":
        lo, mode, hi = params["low"], params["mode"], params["high"]
        lam = params.get("shape", 4.0)
        alpha = 1 + lam * (mode - lo) / (hi - lo)
        beta = 1 + lam * (hi - mode) / (hi - lo)
        return stats.beta(alpha, beta, loc=lo, scale=hi - lo)
    if name == "normal":
        return stats.norm(loc=params["mean"], scale=params["sd"])
    if name == "lognormal":
        if "cv" in params:
            s2 = math.log(1 + params["cv"] ** 2)
            return stats.lognorm(s=math.sqrt(s2), scale=params["mean"] * math.exp(-s2 / 2))
        return stats.lognorm(s=params["sigma"], scale=math.exp(params["mu"]))
    if name == "gamma":
        shape = (params["mean"] / params["sd"]) ** 2
        return stats.gamma(a=shape, scale=params["sd"] ** 2 / params["mean"])
    raise AssertionError(name)


CONTINUOUS = [
    ("uniform", {"low": 200.0, "high": 300.0}),
    ("triangular", {"low": 3.0, "mode": 10.0, "high": 40.0}),
    ("pert", {"low": 200.0, "mode": 250.0, "high": 300.0}),
    ("pert", {"low": 0.6, "mode": 0.8, "high": 0.95}),  # skewed
    ("pert", {"low": 0.0, "mode": 2.0, "high": 10.0, "shape": 6.0}),  # non-default shape
    ("normal", {"mean": -2.0, "sd": 3.0}),
    ("lognormal", {"mean": 1.0, "cv": 0.5}),
    ("lognormal", {"mu": 0.3, "sigma": 0.4}),
    ("gamma", {"mean": 1.0, "sd": 0.5}),
    ("gamma", {"mean": 7.0, "sd": 3.0}),
]
IDS = [f"{n}-{'-'.join(f'{k}{v:g}' for k, v in p.items())}" for n, p in CONTINUOUS]
SEEDS = [20241120 + i for i in range(len(CONTINUOUS))]  # one fixed seed per case


def moment_tolerances(var: float, mu4: float, n: int) -> tuple[float, float]:
    """Z standard errors of the sample mean and of the (unbiased) sample variance.

    Var(s^2) = (mu4 - sigma^4 (n - 3) / (n - 1)) / n, with mu4 the fourth central moment.
    """
    se_mean = math.sqrt(var / n)
    se_var = math.sqrt((mu4 - var**2 * (n - 3) / (n - 1)) / n)
    return Z * se_mean, Z * se_var


@pytest.mark.parametrize(("name", "params"), CONTINUOUS, ids=IDS)
def test_analytic_moments_agree_with_scipy(name, params):
    d = D.build(name, params)
    ref = _reference(name, params)
    assert d.mean == pytest.approx(ref.mean(), rel=1e-12, abs=1e-12)
    assert d.variance == pytest.approx(ref.var(), rel=1e-12)


@pytest.mark.parametrize(
    ("name", "params", "seed"), [(*c, s) for c, s in zip(CONTINUOUS, SEEDS)], ids=IDS
)
def test_continuous_samples_match_theory(name, params, seed):
    d = D.build(name, params)
    ref = _reference(name, params)
    x = d.sample(np.random.default_rng(seed), N)
    assert x.shape == (N,)

    mu4 = (float(ref.stats(moments="k")) + 3) * d.variance**2
    tol_mean, tol_var = moment_tolerances(d.variance, mu4, N)
    assert abs(x.mean() - d.mean) < tol_mean
    assert abs(x.var(ddof=1) - d.variance) < tol_var

    assert stats.kstest(x, ref.cdf).pvalue > P_MIN
    assert (x >= d.minimum).all()


def test_lognormal_parametrisations_agree():
    by_moments = D.build("lognormal", {"mean": 250.0, "cv": 0.3})
    s2 = math.log(1 + 0.3**2)
    by_logs = D.build("lognormal", {"mu": math.log(250.0) - s2 / 2, "sigma": math.sqrt(s2)})
    assert by_moments.mu == pytest.approx(by_logs.mu, rel=1e-14)
    assert by_moments.sigma == pytest.approx(by_logs.sigma, rel=1e-14)
    assert by_moments.mean == pytest.approx(250.0, rel=1e-14)
    assert math.sqrt(by_moments.variance) / by_moments.mean == pytest.approx(0.3, rel=1e-12)


def test_fixed_always_draws_its_value():
    d = D.build("fixed", {"value": 7.25})
    x = d.sample(np.random.default_rng(1), N)
    assert (x == 7.25).all()
    assert d.mean == 7.25
    assert d.variance == 0.0
    assert d.minimum == 7.25


def test_gamma_with_zero_sd_is_degenerate():
    d = D.build("gamma", {"mean": 3.0, "sd": 0.0})
    assert (d.sample(np.random.default_rng(1), 1000) == 3.0).all()


SAMPLES = (1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0, 8.0)


def _empirical_counts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, multiplicity = np.unique(np.asarray(SAMPLES), return_counts=True)
    observed = np.array([(x == v).sum() for v in values])
    assert observed.sum() == x.size  # no draw outside the sample list
    return observed, multiplicity / multiplicity.sum()


def test_empirical_samples_match_theory():
    d = D.build("empirical", {"samples": list(SAMPLES)})
    pop = np.asarray(SAMPLES)
    assert d.mean == pytest.approx(pop.mean(), rel=1e-14)
    assert d.variance == pytest.approx(((pop - pop.mean()) ** 2).mean(), rel=1e-14)

    x = d.sample(np.random.default_rng(20241121), N)
    mu4 = float(((pop - pop.mean()) ** 4).mean())
    tol_mean, tol_var = moment_tolerances(d.variance, mu4, N)
    assert abs(x.mean() - d.mean) < tol_mean
    assert abs(x.var(ddof=1) - d.variance) < tol_var

    observed, prob = _empirical_counts(x)
    assert stats.chisquare(observed, prob * N).pvalue > P_MIN
    assert (x >= d.minimum).all()
    assert d.minimum == 1.0


# -- the tolerances can fail ---------------------------------------------------------------------


def test_ks_detects_a_shifted_pert():
    """A Pert whose range is off by 1% of its span (a quarter of a standard deviation at most)
    is rejected by the same KS test and by the mean's tolerance."""
    params = {"low": 200.0, "mode": 250.0, "high": 300.0}
    d = D.build("pert", params)
    x = d.sample(np.random.default_rng(20241120), N)
    wrong = {k: v + 1.0 for k, v in params.items()}
    assert stats.kstest(x, _reference("pert", wrong).cdf).pvalue < 1e-6
    assert abs(x.mean() - D.build("pert", wrong).mean) > Z * math.sqrt(d.variance / N)


def test_ks_detects_a_wrong_shape():
    """Gamma draws tested against a gamma of the same mean but 10% larger sd are rejected, and
    the variance tolerance catches the error too."""
    d = D.build("gamma", {"mean": 1.0, "sd": 0.5})
    x = d.sample(np.random.default_rng(20241120), N)
    wrong = _reference("gamma", {"mean": 1.0, "sd": 0.55})
    assert stats.kstest(x, wrong.cdf).pvalue < 1e-6
    mu4 = (float(wrong.stats(moments="k")) + 3) * wrong.var() ** 2
    _, tol_var = moment_tolerances(wrong.var(), mu4, N)
    assert abs(x.var(ddof=1) - wrong.var()) > tol_var


def test_chisquare_detects_wrong_empirical_weights():
    """Treating the empirical list as uniform over its distinct values (ignoring repeats) is
    rejected by the chi-square test."""
    d = D.build("empirical", {"samples": list(SAMPLES)})
    x = d.sample(np.random.default_rng(20241121), N)
    observed, prob = _empirical_counts(x)
    flat = np.full(prob.size, 1 / prob.size)
    assert stats.chisquare(observed, flat * N).pvalue < 1e-6
