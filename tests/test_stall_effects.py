"""The stall law with covariates (sim.fitting.stall_effects), fitted to spells drawn from a
known law. The covariates of every map and the outlook's use of them: tests/test_outlook.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.fitting.stall_effects import TEMPO_SCALE_KM2_PER_DAY, Where, fit_stall_effects, terms_of


def draw_spells(rng, n, beta, mu=4.0, sigma=1.2, censor_days=400.0):
    """Stalls from log T = mu + x·beta + sigma·e, each seen up to a uniform censoring time."""
    where = [Where(distance_km=float(rng.uniform(0.5, 25.0)),
                   activity_km2_per_day=float(rng.choice([0.0, 0.05, 0.5])),
                   surrounded=float(rng.uniform(0.0, 1.0)),
                   tempo_km2_per_day=float(rng.normal(0.0, 15.0))) for _ in range(n)]
    exts = ("activity", "encirclement", "tempo")
    x = np.array([terms_of(exts, w) for w in where])
    t = np.exp(mu + x @ beta + sigma * rng.standard_normal(n))
    c = rng.uniform(0.0, censor_days, n)
    return np.minimum(t, c), t > c, where, exts


def test_the_fit_recovers_a_known_law_and_its_intervals_cover_it():
    beta = np.array([0.0, -0.7, -1.0, -0.3])  # slow, active, surrounded, tempo
    rng = np.random.default_rng(7)
    inside, fits = np.zeros(4), 30
    for _ in range(fits):
        days, cens, where, exts = draw_spells(rng, 400, beta)
        e = fit_stall_effects(days, cens, where, exts)
        z = (e.beta - beta) / e.se
        inside += np.abs(z) < 1.645
        assert e.sigma == pytest.approx(1.2, abs=0.2)
    # a 90% interval covers the truth in about 90% of fits: 27 of 30 expected, 22 is p < 0.01
    assert np.all(inside >= 22), inside
    # with many spells the estimates close in on the truth: within 4 of their (small) errors
    days, cens, where, exts = draw_spells(np.random.default_rng(1), 20_000, beta)
    e = fit_stall_effects(days, cens, where, exts)
    assert np.all(e.se < 0.04)
    assert np.all(np.abs(e.beta - beta) < 4 * e.se), (e.beta, e.se)
    assert e.mu == pytest.approx(4.0, abs=0.1)
    assert e.censored == int(cens.sum()) and e.spells == 20_000


def test_the_stall_law_at_a_place_is_the_lognormal_of_its_terms():
    days, cens, where, _ = draw_spells(np.random.default_rng(3), 800,
                                          np.array([0.2, -0.5, -1.0, -0.2]))
    e = fit_stall_effects(days, cens, where, ["tempo", "activity", "encirclement"])
    assert e.extensions == ("activity", "encirclement", "tempo")  # the terms' own order
    w = Where(distance_km=3.0, activity_km2_per_day=0.5, surrounded=0.4, tempo_km2_per_day=20.0)
    m = e.mu + e.beta[1] + 0.4 * e.beta[2] + math.asinh(20.0 / TEMPO_SCALE_KM2_PER_DAY) * e.beta[3]
    mean, cv = e.mean_cv(w)
    assert mean == pytest.approx(math.exp(m + e.sigma**2 / 2), rel=1e-12)
    assert cv == pytest.approx(math.sqrt(math.expm1(e.sigma**2)), rel=1e-12)
    names = [n for n, *_ in e.factors()]
    assert names == ["slow front", "active front", "surrounded share", "theatre tempo"]
    for _, f, lo, hi in e.factors():
        assert lo < f < hi


def test_a_term_no_spell_varies_is_not_fitted():
    rng = np.random.default_rng(5)
    where = [Where(distance_km=20.0, activity_km2_per_day=0.0) for _ in range(200)]
    days = np.exp(4.0 + rng.standard_normal(200))
    e = fit_stall_effects(days, np.zeros(200, bool), where, ["activity", "approach-phase"])
    assert np.all(e.beta == 0.0) and np.all(np.isinf(e.se))
    assert e.mu == pytest.approx(np.log(days).mean(), abs=1e-3)


def test_the_phase_terms_are_the_distance_bands():
    at = [terms_of(["approach-phase"], Where(distance_km=d)).tolist()
          for d in (0.3, 2.0, 2.1, 5.0, 7.0, 10.0, 10.5, 24.0)]
    assert at == [[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 0, 0],
                  [0, 0, 0]]
