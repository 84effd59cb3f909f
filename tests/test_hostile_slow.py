"""Slow within the limits (issue 24, item 16): work that scales with what is drawn or fitted,
and a refusal with the figures, before the work, where it cannot be small."""

from __future__ import annotations

import numpy as np
import pytest

from sim.data.observed import ObservedSeries
from sim.fitting import calibrate as cal


def _zero_inflated_series(n: int) -> ObservedSeries:
    import datetime as dt

    rng = np.random.default_rng(5)
    steps = np.where(rng.uniform(size=n) < 0.6, rng.gamma(2.0, 0.1, size=n), 0.0)
    steps[0] = 0.0
    start = dt.date(2000, 1, 1)
    return ObservedSeries(sector="north", values=np.cumsum(steps),
                          dates=tuple(start + dt.timedelta(days=i) for i in range(n)),
                          lines=tuple(range(2, n + 2)))


def test_the_zero_inflated_pits_are_computed_at_once_not_per_increment(monkeypatch):
    """10⁶ rows took 245 s in a Python loop calling zi_cdf (two scipy distributions) per row."""
    calls = []
    real = cal.zi_cdf
    monkeypatch.setattr(cal, "zi_cdf", lambda *a: calls.append(a) or real(*a))
    fit = cal.calibrate(_zero_inflated_series(3000)).fit
    assert isinstance(fit, cal.ZeroInflatedFit)
    assert calls == []
    # the same numbers as the one-increment CDF, whatever the gaps
    rng = np.random.default_rng(2)
    gap = rng.integers(1, 7, 400).astype(float)
    d = np.where(rng.uniform(size=400) < 0.3, 0.0, rng.gamma(2.0, 100.0, 400) * gap)
    u = rng.uniform(size=400)
    got = cal._zi_pit(150.0, 0.6, 1.7, gap, d, u, cal._Terms(gap, d))
    want = [u[i] * 0.4 ** int(gap[i]) if d[i] == 0 else real(150.0, 0.6, 1.7, gap[i], d[i])
            for i in range(400)]
    assert got == pytest.approx(want, abs=1e-12)
