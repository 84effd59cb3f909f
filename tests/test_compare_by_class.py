"""The bootstrap of ``advsim compare`` beyond 100,000 replications draws each resample as its
counts per class of alike replications (``sim.analysis.bootstrap._Classes``) instead of n
replication indices. These tests prove that it is the same bootstrap: the medians it finds are
those of the full resample it stands for; that full resample is n uniform draws with replacement (in
law); the law of the replicates is that of the drawn bootstrap (exactly, enumerated, at a
tiny n; by two-sample tests at larger n); and at 2,000 resamples its intervals agree with
the drawn bootstrap's within the Monte Carlo error both have."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from reference_bootstrap import reference_bootstrap
from scipy import stats

import sim.analysis.bootstrap as comparison
from sim.analysis.bootstrap import (
    _BandColumn,
    _Classes,
    bootstrap,
    interval,
    median_rows,
)
from sim.seeds import bootstrap_rng


def sample(rng: np.random.Generator, n: int, censored: float, ties: bool) -> tuple:
    """Objective days (censored +inf) and progress at 3 checkpoints, as in a run; with ``ties``
    the last checkpoint piles up at the objective (35 km) and days are whole."""
    rate = rng.gamma(4, 0.25, n)
    days = 35 / (0.15 * rate) * rng.lognormal(0, 0.1, n)
    days[rng.random(n) < censored] = np.inf
    progress = np.column_stack([rate * d * rng.lognormal(0, 0.2, n) for d in (30, 90, 180)])
    if ties:
        progress[:, 2] = np.minimum(np.round(progress[:, 2]), 35.0)
        days = np.round(days)
    return days, progress


def paired_runs(n: int, seed: int, censored: float = 0.2, ties: bool = True) -> tuple:
    rng = np.random.default_rng(seed)
    a_days, a_prog = sample(rng, n, censored, ties)
    b_days = a_days * 1.04 + rng.normal(0, 2, n)  # the same replications, moved
    b_days[rng.random(n) < 0.1] = np.inf
    b_prog = a_prog * 0.97 + rng.normal(0, 0.1, a_prog.shape)
    if ties:
        b_prog[:, 2] = np.minimum(np.round(b_prog[:, 2]), 35.0)
    return a_days, b_days, a_prog, b_prog


@pytest.fixture(params=[1.0, 4.0])
def band_sds(request, monkeypatch):
    """The band's half-width: today's, and one so narrow that resamples often fall outside
    it (and are done in full)."""
    monkeypatch.setattr(comparison, "BAND_SDS", request.param)
    return request.param


@pytest.mark.parametrize("n", [1, 2, 5, 40, 201, 3_000])
@pytest.mark.parametrize("ties", [False, True])
def test_medians_by_class_are_the_medians_of_the_full_resample(n, ties, band_sds):
    a_days, b_days, a_prog, b_prog = paired_runs(n, n + 1, ties=ties)
    columns = [a_days, *a_prog.T, b_days, *b_prog.T]
    cols = [_BandColumn(x) for x in columns]
    reached = [np.isfinite(a_days), np.isfinite(b_days)]
    classes = _Classes(cols, reached)
    if n >= 201:  # every kind of part is exercised: the pool, classes, slots by value
        assert 0 < classes.pool.size < n and classes.p.size > 2
        assert ties == any(c.by_value for c in cols)
    k = 60
    got, hits = classes.counts(classes.draw(np.random.default_rng(3), k),
                               np.random.default_rng(4))
    full = np.stack([got[0][2](i) for i in range(k)])  # the full resamples they stand for
    assert (full >= 0).all() and (full.sum(axis=1) == n).all()
    values = [np.stack([np.repeat(x, f) for f in full]) for x in columns]
    for col, x, cnt in zip(cols, values, got):
        assert np.array_equal(col.medians(*cnt), median_rows(x))
    for r, h in zip(reached, hits):
        assert np.array_equal(h, full @ r.astype(int))


@pytest.mark.parametrize("n", [7, 500])
def test_the_full_resample_is_n_uniform_draws(n, monkeypatch):
    # How often each replication is drawn, over many resamples: multinomial(n·R, 1/n), so
    # Pearson's statistic is chi-square with n - 1 degrees of freedom; and the counts of one
    # resample have the multinomial's variance (1 - 1/n) and covariance (-1/n).
    monkeypatch.setattr(comparison, "BAND_SDS", 1.0)
    a_days, b_days, a_prog, b_prog = paired_runs(n, 11)
    classes = _Classes([_BandColumn(x) for x in (a_days, *a_prog.T, b_days, *b_prog.T)],
                       [np.isfinite(a_days), np.isfinite(b_days)])
    rng, spare = np.random.default_rng(5), np.random.default_rng(6)
    full = []
    for _ in range(20):
        got, _ = classes.counts(classes.draw(rng, 200), spare)
        full += [got[0][2](i) for i in range(200)]
    full = np.array(full)
    r = full.shape[0]
    total = full.sum(axis=0)
    chi2 = ((total - r) ** 2 / r).sum()
    assert stats.chi2.sf(chi2, n - 1) > 1e-3
    var = full.var(axis=0, ddof=1).mean()
    se = math.sqrt(2 / (r * n))  # about, for a variance of about 1 pooled over n cells
    assert abs(var - (1 - 1 / n)) < 5 * se
    cov = np.cov(full[:, 0], full[:, 1])[0, 1]
    assert abs(cov + 1 / n) < 5 / math.sqrt(r)


def test_the_law_of_the_replicates_is_the_drawn_bootstrap_exactly_at_n_5(monkeypatch):
    # All 5^5 resamples of 5 paired replications, equally likely: the exact law of (median
    # day of each run, P(reached) difference, median progress of each run). With bands of
    # two ranks (numpy's median of 5 touches ranks 2 and 3), the classes, the pool and the
    # full resamples all take part.
    monkeypatch.setattr(comparison, "BAND_SDS", 0.0)
    monkeypatch.setattr(comparison, "_BAND_EXTRA", 0)
    n = 5
    a_days = np.array([3.0, 5.0, 7.0, 9.0, np.inf])
    b_days = np.array([4.0, 6.0, 8.0, np.inf, np.inf])
    a_prog = np.array([[4.0], [3.5], [3.0], [2.0], [1.0]])
    b_prog = np.array([[4.5], [3.6], [2.5], [2.2], [1.0]])
    exact: dict[tuple, int] = {}
    for idx in itertools.product(range(n), repeat=n):
        i = np.array(idx)
        key = (float(median_rows(a_days[None, i])[0]), float(median_rows(b_days[None, i])[0]),
               int(np.isfinite(b_days[i]).sum() - np.isfinite(a_days[i]).sum()),
               float(np.median(a_prog[i, 0])), float(np.median(b_prog[i, 0])))
        exact[key] = exact.get(key, 0) + 1
    cols = [_BandColumn(x) for x in (a_days, a_prog[:, 0], b_days, b_prog[:, 0])]
    classes = _Classes(cols, [np.isfinite(a_days), np.isfinite(b_days)])
    assert classes.p.size > 2  # not everything in the pool
    rng, spare = np.random.default_rng(7), np.random.default_rng(8)
    seen: dict[tuple, int] = {}
    draws = 40_000
    for _ in range(draws // 500):
        got, (ha, hb) = classes.counts(classes.draw(rng, 500), spare)
        med = [c.medians(*g) for c, g in zip(cols, got)]
        for row in zip(med[0], med[2], (hb - ha).tolist(), med[1], med[3]):
            key = (float(row[0]), float(row[1]), row[2], float(row[3]), float(row[4]))
            seen[key] = seen.get(key, 0) + 1
    assert set(seen) <= set(exact)  # nothing that cannot happen
    # Pearson's goodness of fit over the outcomes (those expected fewer than 5 times merged)
    expected = {k: draws * v / n**n for k, v in exact.items()}
    big = [k for k, e in expected.items() if e >= 5]
    obs = [seen.get(k, 0) for k in big] + [draws - sum(seen.get(k, 0) for k in big)]
    exp = [expected[k] for k in big] + [draws - sum(expected[k] for k in big)]
    chi2 = sum((o - e) ** 2 / e for o, e in zip(obs, exp) if e > 0)
    assert len(big) > 20
    assert stats.chi2.sf(chi2, len(obs) - 1) > 1e-3


@pytest.mark.parametrize(("n", "is_paired", "seed"), [
    (2_001, True, 1), (3_000, True, 2), (2_500, False, 3),
])
def test_the_law_of_the_replicates_is_the_drawn_bootstrap(n, is_paired, seed, band_sds):
    a_days, b_days, a_prog, b_prog = paired_runs(n, seed)
    if not is_paired:
        b_days, b_prog = b_days[: n - 300], b_prog[: n - 300]
    kw = {"is_paired": is_paired, "resamples": 4_000}
    new = bootstrap(a_days, b_days, a_prog, b_prog, rng=bootstrap_rng(seed, "s", 1),
                    by_class=True, **kw)
    old = reference_bootstrap(a_days, b_days, a_prog, b_prog, rng=bootstrap_rng(seed, "s", 2),
                              **kw)
    pairs = [(new["median_day"], old["median_day"]), (new["prob_reached"], old["prob_reached"])]
    pairs += [(new["progress_median"][:, j], old["progress_median"][:, j]) for j in range(3)]
    varied = 0
    for x, y in pairs:
        x, y = np.nan_to_num(x, posinf=1e9, neginf=-1e9), np.nan_to_num(y, posinf=1e9,
                                                                           neginf=-1e9)
        if np.unique(np.concatenate([x, y])).size == 1:  # a median at the objective in both
            continue
        varied += 1
        assert stats.ks_2samp(x, y).pvalue > 1e-3
        assert stats.mannwhitneyu(x, y).pvalue > 1e-3
    assert varied >= 4


def endpoint_tolerance(replicates: np.ndarray, resamples: int) -> tuple[float, float]:
    """4 × √2 × the Monte Carlo standard error of each endpoint (2.5% and 97.5%) of a
    percentile interval from ``resamples`` replicates: sqrt(p(1 - p) / B) / f(q), the density
    f read from the spread of the replicates about the quantile (±2%)."""
    out = []
    for p in (0.025, 0.975):
        lo, hi = np.percentile(replicates, [100 * max(p - 0.02, 0), 100 * min(p + 0.02, 1)])
        width = (hi - lo) / (min(p + 0.02, 1) - max(p - 0.02, 0))  # 1 / f(q)
        out.append(4 * math.sqrt(2) * math.sqrt(p * (1 - p) / resamples) * width)
    return out[0], out[1]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_intervals_agree_with_the_drawn_bootstrap_within_monte_carlo_error(seed):
    # At compare's 2,000 resamples, each endpoint of each interval by class is within 4 × √2
    # Monte Carlo standard errors of the drawn bootstrap's from the same data (each endpoint
    # carries one such error; √2 for the difference of two, 4 for odds of about 1e-4).
    n = 20_000
    a_days, b_days, a_prog, b_prog = paired_runs(n, seed, censored=0.05, ties=seed % 2 == 0)
    kw = {"is_paired": True, "resamples": comparison.RESAMPLES}
    new = bootstrap(a_days, b_days, a_prog, b_prog, rng=bootstrap_rng(seed, "s", 1),
                    by_class=True, **kw)
    old = bootstrap(a_days, b_days, a_prog, b_prog, rng=bootstrap_rng(seed, "s", 1),
                    by_class=False, **kw)
    checked = 0
    for key in new:
        for j in range(1 if new[key].ndim == 1 else new[key].shape[1]):
            x = new[key] if new[key].ndim == 1 else new[key][:, j]
            y = old[key] if old[key].ndim == 1 else old[key][:, j]
            ci_new, ci_old = interval(x, 0.0).ci95, interval(y, 0.0).ci95
            assert ci_new is not None and ci_old is not None
            tol = endpoint_tolerance(np.concatenate([x, y]), comparison.RESAMPLES)
            for a, b, t in zip(ci_new, ci_old, tol):
                assert a is not None and b is not None
                assert abs(a - b) <= t + 1e-12, (key, j, ci_new, ci_old, tol)
                checked += 1
    assert checked == 10
