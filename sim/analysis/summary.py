"""Summaries of outcomes: censored percentiles with Monte Carlo errors, probabilities, bands."""

from __future__ import annotations

import math

import numpy as np

from ..engine import BINS, DONE_BIN
from ..model.scenario import Sector

# The percentiles of a fan chart's shades, in 10% steps (P5–P95, P15–P85, … P45–P55) and the
# median: bands files carry them beside the scenario's own percentiles.
FAN_PERCENTILES = (5.0, 15.0, 25.0, 35.0, 45.0, 50.0, 55.0, 65.0, 75.0, 85.0, 95.0)


def band_columns(percentiles) -> list[float]:
    """The percentiles a bands file holds: the scenario's and the fan chart's."""
    return sorted({float(p) for p in percentiles} | set(FAN_PERCENTILES))


def pkey(p: float) -> str:
    """JSON key of a percentile: 5 -> "p5", 2.5 -> "p2.5"."""
    return f"p{p:g}"


def censored_percentiles(days: np.ndarray, percentiles) -> list[float | None]:
    """Percentiles of a day that is +inf where censored; None where a percentile is censored.

    A percentile counts as censored when its interpolation touches a censored value: it lies
    beyond the horizon, and no number would be honest.
    """
    if days.size == 0:
        return [None for _ in percentiles]
    with np.errstate(invalid="ignore"):
        q = np.percentile(days, percentiles)
    return [float(v) if math.isfinite(v) else None for v in np.atleast_1d(q)]


def percentile_se(values: np.ndarray, percentiles) -> list[float | None]:
    """Distribution-free Monte Carlo standard error of each percentile: half the spread of the
    order statistics one binomial standard deviation either side of its rank."""
    x = np.sort(values)
    n = x.size
    out: list[float | None] = []
    for p in percentiles:
        f = p / 100
        sd = math.sqrt(n * f * (1 - f))
        lo = min(max(math.floor(n * f - sd) - 1, 0), n - 1)
        hi = min(max(math.ceil(n * f + sd) - 1, 0), n - 1)
        with np.errstate(invalid="ignore"):
            se = (x[hi] - x[lo]) / 2
        out.append(float(se) if math.isfinite(se) else None)
    return out


def prob_se(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n) if n else math.nan


def band_percentiles(counts: np.ndarray, geo: Sector, percentiles) -> dict[float, np.ndarray]:
    """Per-day percentiles of the sector's output (km advanced or km² held) from the per-day
    histograms of the progress coordinate, interpolating within bins.

    Bin 0 holds u == 0 exactly, bin j in 1..BINS holds ((j-1)w, jw] with w = objective / BINS,
    and DONE_BIN holds replications whose objective has fallen.
    """
    n = counts[0].sum()
    cdf = np.cumsum(counts, axis=1)
    rows = np.arange(counts.shape[0])
    width = geo.u_objective / BINS
    out: dict[float, np.ndarray] = {}
    decreasing = geo.direction < 0  # held area falls as progress grows
    for p in percentiles:
        target = max((1 - p / 100 if decreasing else p / 100) * n, 1e-9)
        j = np.minimum((cdf < target).sum(axis=1), DONE_BIN)  # first bin reaching the target
        below = np.where(j > 0, cdf[rows, np.maximum(j - 1, 0)], 0)
        frac = np.clip((target - below) / np.maximum(counts[rows, j], 1), 0.0, 1.0)
        u = np.where(j == 0, 0.0, (j - 1 + frac) * width)
        u = np.where(j == DONE_BIN, geo.u_objective, u)
        out[p] = geo.output(u)
    return out


def forces_band_percentiles(counts: np.ndarray, sums: np.ndarray,
                            percentiles) -> dict[float, np.ndarray]:
    """Per-day percentiles of a side's troops from its per-day histograms: the mean troops of
    the bin in which each percentile's rank falls. Bin 0 holds replications with none left;
    where every replication has the same troops (no noise), the bands are those troops."""
    n = counts[0].sum()
    cdf = np.cumsum(counts, axis=1)
    rows = np.arange(counts.shape[0])
    out: dict[float, np.ndarray] = {}
    for p in percentiles:
        target = max(p / 100 * n, 1e-9)
        j = np.minimum((cdf < target).sum(axis=1), counts.shape[1] - 1)
        c = counts[rows, j]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[p] = np.where(c > 0, sums[rows, j] / np.maximum(c, 1), 0.0)
    return out
