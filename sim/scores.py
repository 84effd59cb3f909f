"""Scores of probabilistic forecasts given as ensembles: proper scoring rules and checks of
calibration. Pure functions of arrays: no scenario, no files."""

from __future__ import annotations

import numpy as np

PIT_BINS = 10


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


def pit(ensemble: np.ndarray, y, rng: np.random.Generator) -> np.ndarray:
    """Randomised PIT of ``y`` under each column's ensemble: P(X < y) + U·P(X = y), uniform on
    [0, 1] for a calibrated forecast even where members tie (at a capped objective)."""
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
    """Every score of one forecast (members × dates) against observations at those dates."""
    u = pit(ensemble, y, rng)
    return {
        "n_obs": int(y.size),
        "crps": float(np.mean(fair_crps(ensemble, y))),
        "crps_by_date": [float(c) for c in fair_crps(ensemble, y)],
        "coverage_50": float(np.mean(covered(ensemble, y, 0.5))),
        "coverage_90": float(np.mean(covered(ensemble, y, 0.9))),
        "pit": [float(v) for v in u],
        "pit_histogram": np.histogram(u, bins=PIT_BINS, range=(0, 1))[0].tolist(),
        "brier": brier(np.mean(fallen, axis=0), observed_fallen),
    }
