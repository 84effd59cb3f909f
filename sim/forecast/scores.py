"""Scores of probabilistic forecasts given as ensembles: proper scoring rules and checks of
calibration. Pure functions of arrays: no scenario, no files."""

from __future__ import annotations

import math

import numpy as np

PIT_BINS = 10
# The 23 quantile levels of the forecast hubs (e.g. the US COVID-19 Forecast Hub): the median,
# the bounds of the central 20%, 40%, ..., 80%, 90%, 95% and 98% intervals, and 0.05 / 0.95.
QUANTILE_LEVELS = (0.01, 0.025, *(round(0.05 * i, 2) for i in range(1, 20)), 0.975, 0.99)


def fair_crps(ensemble: np.ndarray, y) -> np.ndarray:
    """Fair CRPS of ensemble members (axis 0) for observation(s) ``y`` (Ferro 2014):

        mean_i |X_i − y| − 1/(2m(m−1)) · Σ_i Σ_j |X_i − X_j|

    an unbiased estimate of the CRPS of the distribution the m members are drawn from. The
    double sum is 2·Σ_i (2i − m − 1)·X_(i) over the sorted members: O(m log m). One member
    (m = 1) gives the absolute error.
    """
    x = np.sort(np.asarray(ensemble, dtype=float), axis=0)
    m = x.shape[0]
    if m == 0:
        raise ValueError("an ensemble needs at least one member")
    mae = np.mean(np.abs(x - y), axis=0)
    if m == 1:
        return mae
    w = (2 * np.arange(1, m + 1) - m - 1).reshape((m,) + (1,) * (x.ndim - 1))
    return mae - np.sum(w * x, axis=0) / (m * (m - 1))


def censored_crps(ensemble: np.ndarray, y: float, *, fell: bool, cap: float) -> float:
    """The CRPS of a forecast of the day an objective falls, observed to ``cap`` only (the end
    of the data): ``y`` is the fall day where it ``fell``, else unknown beyond ``cap``. The
    integral of the squared gap between the forecast CDF and the observation's step up to
    ``cap`` only,

        ∫_{-∞}^{cap} (F(x) − 1{y ≤ x})² dx,

    which needs nothing past ``cap`` and is proper for the capped fall day (a fall not seen
    by the end of the data is neither dropped nor counted as fallen). It equals the fair CRPS
    of the members capped at ``cap`` against ``min(y, cap)``: above ``cap`` both steps are 1."""
    x = np.minimum(np.asarray(ensemble, dtype=float), cap)
    return float(fair_crps(x, min(float(y), cap) if fell else float(cap)))


def pit(ensemble: np.ndarray, y, rng: np.random.Generator) -> np.ndarray:
    """Randomised PIT of ``y`` under each column's ensemble: P(X < y) + U·P(X = y), U uniform
    on [0, 1]: uniform for a calibrated forecast even where members tie with the observation
    (at a capped objective, a line that holds, a map that did not change), which a plain
    P(X ≤ y) is not (the randomised PIT of Czado, Gneiting & Held 2009, Biometrics 65, for
    forecasts with atoms). Ties are exact equality: the callers put values within rounding
    of a threshold exactly at it first."""
    x = np.asarray(ensemble, dtype=float)
    below = np.mean(x < y, axis=0)
    tied = np.mean(x == y, axis=0)
    return below + rng.uniform(size=np.shape(below)) * tied


def covered(ensemble: np.ndarray, y, level: float) -> np.ndarray:
    """Whether ``y`` lies within each column's central ``level`` band (inclusive)."""
    lo, hi = np.quantile(ensemble, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return (lo <= y) & (y <= hi)


def brier(prob, outcome) -> float:
    """Mean squared difference between forecast probabilities and 0/1 outcomes."""
    p, o = np.asarray(prob, dtype=float), np.asarray(outcome, dtype=float)
    return float(np.mean((p - o) ** 2))


def score(ensemble: np.ndarray, y: np.ndarray, fallen: np.ndarray, observed_fallen: np.ndarray,
          rng: np.random.Generator) -> dict:
    """Every score of one forecast (members × dates) against observations at those dates, as
    means and date by date (for pooling)."""
    u = pit(ensemble, y, rng)
    crps = fair_crps(ensemble, y)
    w = wis(ensemble, y)
    c50, c90 = covered(ensemble, y, 0.5), covered(ensemble, y, 0.9)
    prob = np.mean(fallen, axis=0)
    sq = (prob - np.asarray(observed_fallen, dtype=float)) ** 2
    return {
        "n_obs": int(y.size),
        "crps": float(np.mean(crps)),
        "crps_by_date": [float(c) for c in crps],
        "wis": float(np.mean(w)),
        "wis_by_date": [float(c) for c in w],
        "coverage_50": float(np.mean(c50)),
        "coverage_90": float(np.mean(c90)),
        "covered_50": [bool(c) for c in c50],
        "covered_90": [bool(c) for c in c90],
        "pit": [float(v) for v in u],
        "pit_histogram": np.histogram(u, bins=PIT_BINS, range=(0, 1))[0].tolist(),
        "brier": brier(prob, observed_fallen),
        "brier_by_date": [float(v) for v in sq],
    }


def quantiles(ensemble: np.ndarray, levels=QUANTILE_LEVELS) -> np.ndarray:
    """Each column's quantiles at ``levels`` (rows), by linear interpolation between the
    sorted members (numpy's default, type 7)."""
    return np.quantile(np.asarray(ensemble, dtype=float), list(levels), axis=0)


def quantile_score(q: np.ndarray, y, level: float) -> np.ndarray:
    """The pinball loss of quantile ``q`` at ``level``: 2·(1{y < q} − level)·(q − y), twice
    the usual form, so that the median's is the absolute error."""
    q = np.asarray(q, dtype=float)
    return 2 * ((np.asarray(y) < q) - level) * (q - y)


def interval_score(lo, hi, y, alpha: float) -> np.ndarray:
    """The interval score of the central (1 − alpha) interval [lo, hi] (Gneiting & Raftery
    2007): its width plus 2/alpha times the distance by which ``y`` falls outside it."""
    lo, hi, y = (np.asarray(a, dtype=float) for a in (lo, hi, y))
    return (hi - lo) + 2 / alpha * (np.maximum(lo - y, 0) + np.maximum(y - hi, 0))


def wis(ensemble: np.ndarray, y, levels=QUANTILE_LEVELS) -> np.ndarray:
    """The weighted interval score of each column's quantiles at ``levels`` (Bracher et al.
    2021, PLoS Comput Biol 17; as the forecast hubs and scoringutils compute it):

        WIS = 1/(K + 1/2) · (1/2·|y − median| + Σ_k alpha_k/2 · IS_alpha_k)

    over the K central intervals the levels form (alpha_k = 2·level for each level below the
    median); equivalently, the mean of ``quantile_score`` over the 2K + 1 levels. In km or
    km², like the CRPS, which it approximates as the levels grow dense."""
    levels = tuple(float(v) for v in levels)
    lower = [v for v in levels if v < 0.5]
    if 0.5 not in levels or sorted(1 - v for v in lower) != sorted(v for v in levels if v > 0.5):
        raise ValueError("levels must hold the median and pairs symmetric about it")
    q = dict(zip(levels, quantiles(ensemble, levels)))
    k = len(lower)
    total = 0.5 * np.abs(np.asarray(y, dtype=float) - q[0.5])
    for v in lower:
        alpha = 2 * v
        total = total + alpha / 2 * interval_score(q[v], q[_pair(levels, v)], y, alpha)
    return total / (k + 0.5)


def wis_of_quantiles(levels, values, y) -> np.ndarray:
    """The weighted interval score of quantile ``values`` (axis 0) at ``levels``: the mean
    pinball loss over the levels (see :func:`wis`), for forecasts given as a quantile table
    rather than members."""
    levels = [float(v) for v in levels]
    q = np.asarray(values, dtype=float)
    losses = [quantile_score(q[i], y, v) for i, v in enumerate(levels)]
    return np.asarray(np.mean(losses, axis=0))


def _pair(levels: tuple[float, ...], v: float) -> float:
    return min(levels, key=lambda w: abs(w - (1 - v)))


def pit_uniformity(u) -> dict:
    """A Kolmogorov–Smirnov test of PIT values against the uniform (valid for randomised PITs,
    which are continuous), with the histogram of ``PIT_BINS`` bins. Pooled PITs of overlapping
    forecast windows (many origins, several dates each) are positively correlated, so the
    test's p-value is optimistic: it treats them as independent."""
    from scipy import stats

    u = np.asarray(u, dtype=float)
    hist = np.histogram(u, bins=PIT_BINS, range=(0, 1))[0].tolist()
    if u.size < 2:
        return {"histogram": hist, "test": "Kolmogorov-Smirnov against uniform",
                "ks_statistic": None, "ks_pvalue": None}
    res = stats.kstest(u, "uniform")
    return {"histogram": hist, "test": "Kolmogorov-Smirnov against uniform",
            "ks_statistic": float(res.statistic), "ks_pvalue": float(res.pvalue)}


def crps_skill(model: float, baseline: float) -> float | None:
    """1 − CRPS(model) / CRPS(baseline): positive where the model beats the baseline, 1 for a
    perfect model; None where the baseline's CRPS is 0 (it was exactly right)."""
    if not (baseline > 0 and math.isfinite(baseline)):
        return None
    return 1 - model / baseline
