"""Sensitivity measures against functions whose answers are known in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis.sensitivity import prcc, ranks, sensitivity_table, sobol_indices


def test_ranks_put_censored_values_above_every_finite_one_and_share_ties():
    r = ranks(np.array([3.0, np.inf, 1.0, 3.0, np.inf]))
    assert r.tolist() == [2.5, 4.5, 1.0, 2.5, 4.5]


def test_prcc_finds_a_monotone_effect_and_ignores_an_irrelevant_input():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(400, 3))
    y = np.exp(4 * x[:, 0]) - 2 * x[:, 1] + 0.05 * rng.normal(size=400)  # x2 has no effect
    r, lo, hi = prcc(x, y)
    assert r[0] > 0.95 and -0.95 < r[1] < -0.5
    assert lo[2] < 0 < hi[2]  # the irrelevant input's interval covers zero
    assert abs(r[2]) < 0.15
    assert np.all(lo <= r) and np.all(r <= hi)


def test_prcc_is_undefined_for_a_constant_metric():
    x = np.random.default_rng(2).uniform(size=(30, 2))
    r, _, _ = prcc(x, np.ones(30))
    assert np.all(np.isnan(r))


def saltelli(f, n: int, d: int, rng):
    from scipy.stats import qmc

    u = qmc.Sobol(2 * d, scramble=True, rng=rng).random_base2(int(np.log2(n)))
    a, b = u[:, :d], u[:, d:]
    ab = np.stack([np.where(np.arange(d) == i, b, a) for i in range(d)])
    return f(a), f(b), np.stack([f(m) for m in ab])


def test_sobol_indices_of_an_additive_model_are_its_variance_shares():
    """y = 4 x0 + 2 x1 + 0 x2 with independent uniforms: S_i = ST_i = a_i² / Σ a_j²."""
    coef = np.array([4.0, 2.0, 0.0])
    rng = np.random.default_rng(3)
    fa, fb, fab = saltelli(lambda u: u @ coef, 1024, 3, rng)
    s = sobol_indices(fa, fb, fab, rng=rng, resamples=300)
    want = coef**2 / (coef**2).sum()  # 0.8, 0.2, 0
    assert s.first == pytest.approx(want, abs=0.05)
    assert s.total == pytest.approx(want, abs=0.05)
    for i in range(3):
        assert s.first_interval[i, 0] - 0.02 <= want[i] <= s.first_interval[i, 1] + 0.02
        assert s.total_interval[i, 0] <= s.total[i] <= s.total_interval[i, 1]


def test_sobol_total_index_sees_an_interaction_that_the_first_order_misses():
    """y = (x0 - ½)(x1 - ½): no first-order effect at all, all of the variance in the
    interaction, so S1 = 0 and ST = 1 for both inputs."""
    rng = np.random.default_rng(4)
    fa, fb, fab = saltelli(lambda u: (u[:, 0] - 0.5) * (u[:, 1] - 0.5), 1024, 2, rng)
    s = sobol_indices(fa, fb, fab, rng=rng, resamples=200)
    assert s.first == pytest.approx([0, 0], abs=0.08)
    assert s.total == pytest.approx([1, 1], abs=0.1)


def test_sensitivity_table_ranks_within_each_metric_and_explains_gaps():
    rng = np.random.default_rng(5)
    x = rng.uniform(size=(60, 2))
    params = {"weak": x[:, 0], "strong": x[:, 1]}
    metrics = {"m": 0.1 * x[:, 0] + x[:, 1] + 0.01 * rng.normal(size=60),
               "flat": np.full(60, 7.0),
               "censored": np.where(x[:, 1] > 0.8, np.inf, x[:, 1])}
    rows = sensitivity_table(params, metrics, rng=rng)
    by = {(r["metric"], r["parameter"]): r for r in rows}
    assert by[("m", "strong")]["rank"] == 1 and by[("m", "weak")]["rank"] == 2
    assert by[("flat", "weak")]["note"] == "the same at every point"
    # Censored values take part in ranks: the parameter that causes them still ranks first.
    assert by[("censored", "strong")]["rank"] == 1 and by[("censored", "strong")]["prcc"] > 0.9
    assert all(np.isnan(r["sobol_total"]) for r in rows)  # not a Sobol design
