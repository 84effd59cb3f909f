"""Which swept parameters move a sweep's metrics most: partial rank correlation and Sobol indices.

Both work on the table of points (one value of each parameter and each metric per point), so
they read the same data an analyst loads from ``points.csv``. A censored metric (an objective
day beyond the horizon at some points) enters rank statistics as a value above every finite
one, which is what it is; variance-based Sobol indices have no honest number for it and are
left empty for that metric.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054  # two-sided 95% quantile of the standard normal


def ranks(a: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank; +inf ranks above every finite value."""
    from scipy.stats import rankdata

    return rankdata(np.asarray(a, dtype=float)).astype(float)


def prcc(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Partial rank correlation of each column of ``x`` (points × parameters) with ``y``, with
    approximate 95% intervals (Fisher's z with n - k - 2 degrees of freedom).

    Each coefficient is the correlation of the ranks of one parameter and of ``y`` once the
    ranks of the other parameters are regressed out: a monotone effect of that parameter alone,
    from -1 to +1. NaN where it is undefined (a constant column or metric, too few points).
    """
    x = np.asarray(x, dtype=float)
    n, k = x.shape
    r = np.full(k, np.nan)
    lo, hi = np.full(k, np.nan), np.full(k, np.nan)
    if n < 3 or np.all(y == y[0]):
        return r, lo, hi
    rx = np.column_stack([ranks(x[:, i]) for i in range(k)])
    ry = ranks(y)
    for i in range(k):
        others = np.column_stack([np.ones(n), np.delete(rx, i, axis=1)])
        ex = _residual(others, rx[:, i])
        ey = _residual(others, ry)
        sx, sy = math.sqrt(ex @ ex), math.sqrt(ey @ ey)
        if sx < 1e-9 * n or sy < 1e-9 * n:
            continue
        r[i] = float(np.clip(ex @ ey / (sx * sy), -1.0, 1.0))
        dof = n - k - 2
        if dof > 0 and abs(r[i]) < 1:
            z, se = math.atanh(r[i]), 1 / math.sqrt(dof)
            lo[i], hi[i] = math.tanh(z - Z95 * se), math.tanh(z + Z95 * se)
    return r, lo, hi


def _residual(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(a, b, rcond=None)
    return b - a @ coef


@dataclass(frozen=True, kw_only=True)
class SobolIndices:
    """First-order (S1) and total (ST) indices per parameter with bootstrap percentile
    intervals."""

    first: np.ndarray
    total: np.ndarray
    first_interval: np.ndarray  # (parameters, 2)
    total_interval: np.ndarray


def sobol_indices(
    f_a: np.ndarray, f_b: np.ndarray, f_ab: np.ndarray, *, rng: np.random.Generator,
    resamples: int = 1000, level: float = 0.95,
) -> SobolIndices:
    """Sobol indices from the outputs at Saltelli's matrices: A and B (N points each) and, for
    each parameter i, A with column i taken from B (``f_ab[i]``).

    S1 by Saltelli et al. (2010), ST by Jansen (1999), both over the variance of A and B
    pooled; intervals from ``resamples`` bootstrap resamples of the N rows.
    """
    f_a, f_b, f_ab = (np.asarray(v, dtype=float) for v in (f_a, f_b, f_ab))
    # The first-order estimator multiplies raw outputs: centred, its variance no longer grows
    # with the metric's mean (a day ~150 that moves by ~10 is the usual case here).
    centre = np.mean(np.concatenate([f_a, f_b]))
    f_a, f_b, f_ab = f_a - centre, f_b - centre, f_ab - centre
    first, total = _sobol(f_a[None], f_b[None], f_ab[:, None])
    idx = rng.integers(0, f_a.size, size=(resamples, f_a.size))
    boot_first, boot_total = _sobol(f_a[idx], f_b[idx], f_ab[:, idx])
    q = [50 * (1 - level), 50 * (1 + level)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # resamples of a constant metric
        first_iv = np.nanpercentile(boot_first, q, axis=1).T
        total_iv = np.nanpercentile(boot_total, q, axis=1).T
    return SobolIndices(first=first[:, 0], total=total[:, 0],
                        first_interval=first_iv, total_interval=total_iv)


def _sobol(f_a: np.ndarray, f_b: np.ndarray, f_ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Estimates for each resample (rows of f_a, f_b) and parameter (first axis of f_ab)."""
    var = np.var(np.concatenate([f_a, f_b], axis=-1), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        first = np.mean(f_b * (f_ab - f_a), axis=-1) / var
        total = 0.5 * np.mean((f_a - f_ab) ** 2, axis=-1) / var
    bad = ~(var > 0)
    first[:, bad] = np.nan
    total[:, bad] = np.nan
    return first, total


COLUMNS = (
    "metric", "rank", "parameter", "prcc", "prcc_low", "prcc_high",
    "sobol_first", "sobol_first_low", "sobol_first_high",
    "sobol_total", "sobol_total_low", "sobol_total_high", "points", "note",
)


def sensitivity_table(
    parameters: Mapping[str, np.ndarray],
    metrics: Mapping[str, np.ndarray],
    *,
    sobol_base: int | None = None,
    rng: np.random.Generator,
) -> list[dict]:
    """One row per metric and parameter, ranked within each metric (1: most influential).

    ``parameters`` are numeric coordinates per point; ``metrics`` per point, +inf where
    censored. With ``sobol_base`` N, the points are Saltelli's design in the order A, B,
    AB_1 … AB_k, and the rank follows the total Sobol index; otherwise |PRCC|.
    """
    names = list(parameters)
    x = np.column_stack([parameters[p] for p in names]).astype(float)
    n = x.shape[0]
    rows: list[dict] = []
    for metric, y in metrics.items():
        y = np.asarray(y, dtype=float)
        r, lo, hi = prcc(x, y)
        note = ""
        if np.all(y == y[0]):
            note = "the same at every point"
        elif np.all(np.isnan(r)):
            note = "too few points or too little variation for rank correlations"
        s = None
        if sobol_base is not None:
            m = sobol_base
            if not np.all(np.isfinite(y)):
                note = note or "censored at some points: no Sobol indices (see PRCC)"
            else:
                s = sobol_indices(y[:m], y[m:2 * m], y[2 * m:].reshape(len(names), m), rng=rng)
        key = s.total if s is not None else np.abs(r)
        order = sorted(range(len(names)),
                       key=lambda i: (not math.isfinite(key[i]), -_finite(float(key[i])), i))
        for rank, i in enumerate(order, start=1):
            row = {
                "metric": metric, "rank": rank, "parameter": names[i],
                "prcc": r[i], "prcc_low": lo[i], "prcc_high": hi[i],
                "sobol_first": math.nan, "sobol_first_low": math.nan,
                "sobol_first_high": math.nan, "sobol_total": math.nan,
                "sobol_total_low": math.nan, "sobol_total_high": math.nan,
                "points": n, "note": note,
            }
            if s is not None:
                row.update(
                    sobol_first=s.first[i], sobol_first_low=s.first_interval[i, 0],
                    sobol_first_high=s.first_interval[i, 1], sobol_total=s.total[i],
                    sobol_total_low=s.total_interval[i, 0], sobol_total_high=s.total_interval[i, 1],
                )
            rows.append({k: float(v) if isinstance(v, (np.floating, float)) else v
                         for k, v in row.items()})
    return rows


def _finite(v: float) -> float:
    return v if math.isfinite(v) else 0.0


def as_columns(rows: Sequence[dict]) -> dict[str, np.ndarray]:
    """The rows of ``sensitivity_table`` as columns for ``write_csv``."""
    out: dict[str, np.ndarray] = {}
    for c in COLUMNS:
        vals = [row[c] for row in rows]
        if c in ("metric", "parameter", "note"):
            out[c] = np.array(vals, dtype=object)
        elif c in ("rank", "points"):
            out[c] = np.array(vals, dtype=np.int64)
        else:
            out[c] = np.array(vals, dtype=float)
    return out
