"""Statistical tests of the engine: fixed seeds, analytic moments and laws, tolerances from n."""

# Unless a test says otherwise, a sample mean must lie within Z standard errors of its expected
# value, the standard error coming from the theoretical variance and the sample size; a sample
# variance within Z standard errors from the theoretical fourth central moment mu4:
# Var(s^2) = (mu4 - sigma^4 (n - 3) / (n - 1)) / n.

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import run_built
from scipy import stats

from sim.model import builder as B
from sim.model import distributions as D
from sim.model.scenario import AxisSector, Scenario, Sector

N = 20_000  # replications: two engine chunks
Z = 5.0  # standard errors allowed (two-sided chance ~6e-7 under a normal law)
P_MIN = 1e-3  # smallest acceptable p-value of a goodness-of-fit test


def scenario(*sectors: Sector, horizon: int, checkpoints: tuple[int, ...]) -> Scenario:
    return B.scenario(*sectors, name="statistics", start="2024-06-01", horizon_days=horizon,
                      checkpoints_days=checkpoints)


def axis(name: str = "s", *, base: B.Dist, length_km: float = 10_000, **kw) -> AxisSector:
    """An axis sector; the default length is out of reach, so no replication stops early."""
    return B.axis(name, length_km=length_km, advance=base, **kw)


def run(sc: Scenario, *, replications: int = N, seed: int = 11):
    return run_built(sc, replications=replications, seed=seed)[1]


# -- moments -------------------------------------------------------------------------------------


def raw_to_cumulants(m: list[float]) -> list[float]:
    m1, m2, m3, m4 = m
    return [
        m1,
        m2 - m1**2,
        m3 - 3 * m2 * m1 + 2 * m1**3,
        m4 - 4 * m3 * m1 - 3 * m2**2 + 12 * m2 * m1**2 - 6 * m1**4,
    ]


def cumulants_to_raw(k: list[float]) -> list[float]:
    k1, k2, k3, k4 = k
    return [
        k1,
        k2 + k1**2,
        k3 + 3 * k2 * k1 + k1**3,
        k4 + 4 * k3 * k1 + 3 * k2**2 + 6 * k2 * k1**2 + k1**4,
    ]


def sum_of_iid(raw: list[float], T: int) -> list[float]:
    """Raw moments 1..4 of the sum of T iid copies (cumulants add)."""
    return cumulants_to_raw([T * k for k in raw_to_cumulants(raw)])


def central(raw: list[float]) -> tuple[float, float, float]:
    """Mean, variance and fourth central moment from raw moments 1..4."""
    m1, m2, m3, m4 = raw
    return m1, m2 - m1**2, m4 - 4 * m3 * m1 + 6 * m2 * m1**2 - 3 * m1**4


GAMMA_SHAPE = 4.0  # mean 1, sd 0.5
LOGN_S2 = math.log(1 + 0.5**2)  # mean 1, cv 0.5: sigma^2 = ln 1.25, mu = -sigma^2 / 2

NOISES = {
    "gamma": (
        D.Gamma(mean=1, sd=0.5),
        [math.gamma(GAMMA_SHAPE + k) / math.gamma(GAMMA_SHAPE) / GAMMA_SHAPE**k
         for k in range(1, 5)],
    ),
    "lognormal": (
        D.LogNormal.from_mean_cv(1, 0.5),
        [math.exp(-k * LOGN_S2 / 2 + k * k * LOGN_S2 / 2) for k in range(1, 5)],
    ),
}


def uniform_raw(low: float, high: float) -> list[float]:
    return [(high ** (k + 1) - low ** (k + 1)) / ((k + 1) * (high - low)) for k in range(1, 5)]


def progress_moments(base_raw: list[float], noise_raw: list[float], T: int):
    """Mean, variance and mu4 of km gained by day T: X = (B / 1000) * (noise_0 + ... + noise_T-1),
    with the base B drawn once per replication, independent of the daily noise."""
    s_raw = sum_of_iid(noise_raw, T)
    x_raw = [b * s / 1000 ** (k + 1) for k, (b, s) in enumerate(zip(base_raw, s_raw))]
    return central(x_raw)


def assert_moments(x: np.ndarray, mean: float, var: float, mu4: float) -> None:
    n = x.size
    se_mean = math.sqrt(var / n)
    se_var = math.sqrt((mu4 - var**2 * (n - 3) / (n - 1)) / n)
    assert abs(x.mean() - mean) < Z * se_mean, (x.mean(), mean, se_mean)
    assert abs(x.var(ddof=1) - var) < Z * se_var, (x.var(ddof=1), var, se_var)


def test_moment_helpers_agree_with_scipy():
    for ref, raw in ((stats.gamma(GAMMA_SHAPE, scale=1 / GAMMA_SHAPE), NOISES["gamma"][1]),
                     (stats.lognorm(math.sqrt(LOGN_S2), scale=math.exp(-LOGN_S2 / 2)),
                      NOISES["lognormal"][1])):
        np.testing.assert_allclose(raw, [ref.moment(k) for k in range(1, 5)], rtol=1e-12)
    # a sum of 50 gamma(4, 1/4) is gamma(200, 1/4): the cumulant route gives its moments
    s = stats.gamma(200, scale=0.25)
    np.testing.assert_allclose(sum_of_iid(NOISES["gamma"][1], 50),
                               [s.moment(k) for k in range(1, 5)], rtol=1e-10)


# -- daily noise and the campaign-level base -----------------------------------------------------

T_DAYS = 100


@pytest.mark.parametrize("noise", sorted(NOISES))
def test_iid_daily_noise_moments(noise):
    spec, noise_raw = NOISES[noise]
    base = 250.0
    result = run(scenario(axis(base=B.advance(base, noise=spec)),
                          horizon=T_DAYS, checkpoints=(T_DAYS,)))
    x = result.sectors["s"].progress[:, 0]
    mean, var, mu4 = progress_moments([base**k for k in range(1, 5)], noise_raw, T_DAYS)
    # the brief's closed forms, for the reader
    assert mean == pytest.approx(T_DAYS * base / 1000, rel=1e-12)
    assert var == pytest.approx(T_DAYS * (base / 1000) ** 2 * 0.25, rel=1e-9)
    assert_moments(x, mean, var, mu4)


def test_two_level_base_and_noise():
    """Var(X_T) = T^2 Var(B) + T E[B^2] Var(noise) (in m^2, /1e6 for km^2): the campaign-level
    uncertainty grows like T^2 and dominates the daily noise, which only grows like T."""
    low, high = 200.0, 300.0
    spec, noise_raw = NOISES["gamma"]
    checkpoints = (30, 365)
    result = run(scenario(axis(base=B.advance(D.Uniform(low=low, high=high), noise=spec)),
                          horizon=365, checkpoints=checkpoints))
    so = result.sectors["s"]
    base_raw = uniform_raw(low, high)
    var_b = (high - low) ** 2 / 12
    e_b2 = base_raw[1]
    var_noise = 0.25
    for i, T in enumerate(checkpoints):
        x = so.progress[:, i]
        mean, var, mu4 = progress_moments(base_raw, noise_raw, T)
        assert var == pytest.approx((T**2 * var_b + T * e_b2 * var_noise) / 1e6, rel=1e-9)
        assert_moments(x, mean, var, mu4)
    # with the base fixed at its mean, only daily noise: Var = T E[B]^2 Var(noise)
    iid_only = 365 * (((low + high) / 2) / 1000) ** 2 * var_noise
    assert so.progress[:, 1].var(ddof=1) > 10 * iid_only
    # and the base really is drawn once per replication from its distribution
    b = so.base_m_per_day
    assert abs(b.mean() - (low + high) / 2) < Z * math.sqrt(var_b / N)
    assert b.min() >= low
    assert b.max() <= high


# -- strikes -------------------------------------------------------------------------------------


def test_strike_counts_are_poisson():
    horizon = 100
    windows = {  # sector -> (rate per day, strikes, window length in days)
        "bounded": (0.15, B.strikes(0.15, 0.8, 3, start_day=20, end_day=80), 60),
        "to_horizon": (0.1, B.strikes(0.1, 0.8, 3, start_day=40, end_day=500),
                       horizon - 40),  # clipped at the horizon
        "open_ended": (0.05, B.strikes(0.05, 0.8, 3, start_day=10), horizon - 10),
    }
    result = run(scenario(*(axis(name, base=250, strikes=[block])
                            for name, (_, block, _) in windows.items()),
                          horizon=horizon, checkpoints=(horizon,)))
    for name, (rate, _, length) in windows.items():
        counts = result.sectors[name].strikes
        lam = rate * length
        assert abs(counts.mean() - lam) < Z * math.sqrt(lam / N), name
        # chi-square over bins <= lo, lo + 1, ..., >= hi: both tails pooled so that every
        # expected count is at least 5
        law = stats.poisson(lam)
        lo = 0
        while law.cdf(lo) * N < 5:
            lo += 1
        hi = lo + 1
        while law.sf(hi) * N >= 5:  # sf(hi) = P(K > hi) = P(K >= hi + 1)
            hi += 1
        observed = np.bincount(np.clip(counts, lo, hi) - lo, minlength=hi - lo + 1)
        inner = law.pmf(np.arange(lo + 1, hi))
        expected = np.concatenate([[law.cdf(lo)], inner, [law.sf(hi - 1)]]) * N
        assert expected.min() >= 5
        assert expected.sum() == pytest.approx(N)
        p = stats.chisquare(observed, expected).pvalue
        assert p > P_MIN, (name, p)


# -- censoring -----------------------------------------------------------------------------------


def test_censored_objective_day():
    """17 km in 100 days needs a base of at least 170 m/day: with base ~ U(100, 200), exactly
    30% of replications reach the objective, on day 17000 / base."""
    low, high, length, horizon = 100.0, 200.0, 17.0, 100
    result = run(scenario(axis(base=D.Uniform(low=low, high=high), length_km=length),
                          horizon=horizon, checkpoints=(50, horizon)))
    so = result.sectors["s"]
    p = (high - 1000 * length / horizon) / (high - low)
    assert p == pytest.approx(0.3)
    se = math.sqrt(p * (1 - p) / N)
    assert abs(so.reached.mean() - p) < 4 * se

    # censored replications are +inf, never the horizon
    assert np.isinf(so.objective_day[~so.reached]).all()
    assert (so.objective_day[so.reached] <= horizon).all()

    summary = json.loads(json.dumps(result.summary()))  # as the CLI prints it
    objective = summary["sectors"]["s"]["objective"]
    assert abs(objective["prob_reached"] - p) < 4 * se
    assert objective["prob_reached_se"] == pytest.approx(se, rel=0.05)
    day = objective["day"]
    for key in ("p50", "p75", "p90", "p95"):
        assert day[key] is None, key
        assert objective["date"][key] is None, key
    # P(day <= d) = P(base >= 1000 L / d): the q-quantile is 1000 L / (high - q (high - low));
    # the sample quantile's SE is sqrt(q (1 - q) / n) / f(d_q), f(d) = 1000 L / ((high - low) d^2)
    for key, q in (("p5", 0.05), ("p10", 0.10), ("p25", 0.25)):
        assert isinstance(day[key], float), key
        d_q = 1000 * length / (high - q * (high - low))
        f = 1000 * length / ((high - low) * d_q**2)
        tol = Z * math.sqrt(q * (1 - q) / N) / f + 0.005  # + the summary's rounding
        assert abs(day[key] - d_q) < tol, (key, day[key], d_q, tol)


# -- regimes -------------------------------------------------------------------------------------

REGIME_CHAINS = {
    # two states, exponential sojourns (gamma with sd = mean): a continuous-time Markov chain
    "two-state exponential": (
        B.regimes(B.regime("grinding", 1.0, D.Gamma(mean=20, sd=20)),
                  B.regime("stalled", 0.2, D.Gamma(mean=10, sd=10)), initial="grinding"),
        # stationary: time share proportional to mean sojourn, (1.0 * 20 + 0.2 * 10) / 30
        (1.0 * 20 + 0.2 * 10) / 30,
    ),
    # three states with the jump chain of scenarios/kurakhove-reported.yaml and gamma sojourns:
    # embedded chain nu = (grinding 0.5, stalled 0.3, breakthrough 0.2); time share nu_i m_i
    "three-state semi-Markov": (
        B.regimes(B.regime("grinding", 1.0, D.Gamma(mean=30, sd=15),
                           next={"stalled": 0.6, "breakthrough": 0.4}),
                  B.regime("stalled", 0.3, D.Gamma(mean=7, sd=4), next={"grinding": 1.0}),
                  B.regime("breakthrough", 2.0, D.Gamma(mean=4, sd=2), next={"grinding": 1.0}),
                  initial="stalled"),
        (0.5 * 30 * 1.0 + 0.3 * 7 * 0.3 + 0.2 * 4 * 2.0) / (0.5 * 30 + 0.3 * 7 + 0.2 * 4),
    ),
}


@pytest.mark.parametrize("chain", list(REGIME_CHAINS))
def test_regimes_long_run_factor(chain):
    """With a base of 1 km/day the km gained between two late checkpoints, per day, is the
    time average of the regime factor; past a burn-in its expectation is the stationary mean.

    The per-replication averages are independent across replications, so the tolerance is Z
    standard errors estimated from their sample standard deviation (the variance of a time
    average of a semi-Markov chain has no simple closed form)."""
    block, stationary = REGIME_CHAINS[chain]
    burn_in, end = 200, 600
    result = run(scenario(axis(base=B.advance(1000, regimes=block), length_km=100_000),
                          horizon=end, checkpoints=(burn_in, end)), replications=5_000)
    x = result.sectors["s"].progress
    avg = (x[:, 1] - x[:, 0]) / (end - burn_in)
    se = avg.std(ddof=1) / math.sqrt(avg.size)
    assert abs(avg.mean() - stationary) < Z * se, (avg.mean(), stationary, se)
    # the chain really switches: the time averages spread between the factors
    assert avg.std() > 0.01
    assert se < 0.01  # and the test has the power to tell the stationary mean from a neighbour
