"""Which places the front comes for (sim.fitting.attacked): the logistic fit against cases
drawn from a known law, and the chance over a projection's horizon."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.fitting.attacked import LABEL_DAYS, MIN_CASES, features, fit_attacked


def draw(rng, n, coef):
    axis = rng.exponential(0.3, n) * rng.choice([-1, 1, 1, 1], n)
    d = rng.uniform(0.5, 25.0, n)
    x = features(axis, d)
    p = 1 / (1 + np.exp(-(x @ coef)))
    return x, rng.uniform(size=n) < p


def test_the_fit_recovers_a_known_law_within_its_errors_and_they_cover_it():
    coef = np.array([1.0, 0.6, -0.9])
    rng = np.random.default_rng(2)
    inside = np.zeros(3)
    for _ in range(30):
        f = fit_attacked(*draw(rng, 800, coef))
        inside += np.abs(f.coef - coef) < 1.645 * f.se
    assert np.all(inside >= 22), inside  # 90% intervals: 27 of 30 expected
    f = fit_attacked(*draw(np.random.default_rng(3), 40_000, coef))
    assert np.all(np.abs(f.coef - coef) < 4 * f.se) and np.all(f.se < 0.05)
    names = [n for n, *_ in f.factors()]
    assert names == ["intercept", "axis activity", "log distance"]


def test_the_chance_over_a_horizon_is_a_constant_yearly_chance():
    f = fit_attacked(*draw(np.random.default_rng(4), 5000, np.array([0.0, 0.5, -0.5])))
    p = f.p_year(0.3, 4.0)
    z = f.coef @ np.array([1.0, math.asinh(0.3 / 0.1), math.log(4.0)])
    assert p == pytest.approx(1 / (1 + math.exp(-z)), rel=1e-12)
    assert f.p_within(0.3, 4.0, LABEL_DAYS) == pytest.approx(p, rel=1e-12)
    assert f.p_within(0.3, 4.0, 2 * LABEL_DAYS) == pytest.approx(1 - (1 - p) ** 2, rel=1e-12)
    assert f.p_within(0.3, 4.0, 0) == 0.0


def test_too_few_cases_of_either_outcome_fit_nothing():
    x, y = draw(np.random.default_rng(5), 2000, np.array([-6.0, 0.0, 0.0]))
    assert y.sum() < MIN_CASES
    assert fit_attacked(x, y) is None
