"""The fast bootstrap of ``advsim compare`` gives exactly the replicates of the one it replaced
(kept in ``reference_bootstrap.py``): same resamples from the same seed, same medians, same
differences, bit for bit, so every interval compare prints is unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from reference_bootstrap import _counts, _Sorted, reference_bootstrap

from sim.analysis.bootstrap import _Column, _Resamples, bootstrap, median_rows
from sim.seeds import bootstrap_rng


def sample(rng: np.random.Generator, n: int, censored: float, ties: bool) -> tuple:
    """Objective days (censored ones +inf) and progress at 3 checkpoints, correlated as in a
    run: a slow replication is slow on every one. With ``ties``, progress piles up at the
    objective (35 km) as it does at the last checkpoints."""
    rate = rng.gamma(4, 0.25, n)
    days = 35 / (0.15 * rate) * rng.lognormal(0, 0.1, n)
    days[rng.random(n) < censored] = np.inf
    progress = np.column_stack([rate * d * rng.lognormal(0, 0.2, n) for d in (30, 90, 180)])
    if ties:
        progress = np.minimum(np.round(progress, 1), 35.0)
        days = np.round(days)
    return days, progress


def same(a: dict, b: dict) -> bool:
    return all(np.array_equal(a[k], b[k], equal_nan=True) for k in a) and a.keys() == b.keys()


@pytest.mark.parametrize(("n", "censored", "ties"), [
    (1, 0.0, False), (2, 0.5, False), (7, 0.3, True), (200, 0.0, False), (201, 0.7, True),
    (5_000, 0.1, False), (20_001, 0.5, True),
])
@pytest.mark.parametrize("seed", [1, 7])
def test_paired_bootstrap_is_the_reference_bit_for_bit(n, censored, ties, seed):
    rng = np.random.default_rng(n + seed)
    a_days, a_prog = sample(rng, n, censored, ties)
    b_days, b_prog = a_days * 1.05, a_prog * 0.97  # paired runs: the same replications, moved
    b_days[::3] = np.inf  # and some reach the objective in one run only
    resamples = 300
    new = bootstrap(a_days, b_days, a_prog, b_prog, is_paired=True, resamples=resamples,
                    rng=bootstrap_rng(seed, "s", 1))
    old = reference_bootstrap(a_days, b_days, a_prog, b_prog, is_paired=True,
                              resamples=resamples, rng=bootstrap_rng(seed, "s", 1))
    assert same(new, old)
    # and the replicates are not trivially equal: they vary from resample to resample
    if n >= 200:
        assert np.unique(new["progress_median"][:, 0]).size > 5
        assert censored == 0 or np.unique(new["prob_reached"]).size > 10


@pytest.mark.parametrize(("na", "nb"), [(1, 3), (150, 150), (3_000, 4_500), (9_999, 2)])
@pytest.mark.parametrize("seed", [2, 3])
def test_independent_bootstrap_is_the_reference_bit_for_bit(na, nb, seed):
    rng = np.random.default_rng(na * nb + seed)
    a_days, a_prog = sample(rng, na, 0.2, False)
    b_days, b_prog = sample(rng, nb, 0.4, True)
    new = bootstrap(a_days, b_days, a_prog, b_prog, is_paired=False, resamples=250,
                    rng=bootstrap_rng(seed, "s", 2))
    old = reference_bootstrap(a_days, b_days, a_prog, b_prog, is_paired=False, resamples=250,
                              rng=bootstrap_rng(seed, "s", 2))
    assert same(new, old)


def test_many_checkpoints_spread_over_several_code_tables():
    # 2 runs x (1 + 9 checkpoints) columns and 2 reached flags: 22 flags, two tables
    rng = np.random.default_rng(4)
    n = 3_000
    a_days, _ = sample(rng, n, 0.3, False)
    a_prog = rng.gamma(2, 1, (n, 9)).cumsum(axis=1)
    b_days, b_prog = a_days + rng.normal(0, 1, n), a_prog + rng.normal(0, 0.1, (n, 9))
    assert len(_Resamples([_Column(a_days)] * 20, [a_days, b_days]).tables) == 2
    args = (a_days, b_days, a_prog, b_prog)
    assert same(bootstrap(*args, is_paired=True, resamples=120, rng=bootstrap_rng(5, "s", 1)),
                reference_bootstrap(*args, is_paired=True, resamples=120,
                                    rng=bootstrap_rng(5, "s", 1)))


@pytest.mark.parametrize("n", [1, 2, 5, 10, 11, 200, 201])
@pytest.mark.parametrize("censored", [0.0, 0.3, 0.7])
def test_medians_from_band_counts_equal_medians_of_the_resamples(n, censored):
    rng = np.random.default_rng(n)
    x = rng.exponential(size=n)
    x[rng.random(n) < censored] = np.inf
    idx = np.random.default_rng(5).integers(0, n, (40, n))
    resampled = x[idx]
    col = _Column(x)
    (counts,), _ = _Resamples([col], [np.isfinite(x)]).counts(idx)
    assert np.array_equal(col.medians(*counts, idx), median_rows(resampled))
    # the old implementation agrees too, from the same draws as counts
    old = _counts(np.random.default_rng(5), n, 40)
    assert np.array_equal(_Sorted(x).medians(old), median_rows(resampled))


@pytest.mark.parametrize("n", [10, 201, 4_000])
def test_a_resample_whose_median_leaves_the_band_is_done_in_full(n):
    # a band of one rank either side: most resamples land outside it
    rng = np.random.default_rng(n)
    x = rng.exponential(size=n)
    idx = rng.integers(0, n, (30, n))
    col = _Column(x)
    first, end = col.lo, col.hi + 1
    col.band = (first, end)
    col.below[:] = False
    col.below[col.order[:first]] = True
    (counts,), _ = _Resamples([col], [np.isfinite(x)]).counts(idx)
    assert np.array_equal(col.medians(*counts, idx), median_rows(x[idx]))
