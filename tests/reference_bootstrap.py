"""The bootstrap of ``advsim compare`` as it was until the fast one replaced it (now
sim/analysis/bootstrap.py; at commit 1bd663b): kept unchanged as the reference that the fast
bootstrap must reproduce exactly, resample by resample. Do not edit."""

from __future__ import annotations

import math

import numpy as np

RESAMPLES = 2000
_BATCH_VALUES = 2_000_000


class _Sorted:
    """A sample sorted once, whose bootstrap medians come from resampling counts: the same
    numbers as ``median_rows`` of the resampled values, without sorting each resample.

    A resample's median lies, but for odds of about e^-50, within a band of ±5√n ranks about
    the sample's median; only counts inside the band are accumulated, and the rare resample
    outside it is done in full.
    """

    def __init__(self, x: np.ndarray) -> None:
        n = x.size
        self.order = np.argsort(x, kind="stable")
        self.x = x[self.order]
        # As numpy's linear interpolation: between ranks lo and lo + 1, which it touches even
        # at a fraction of 0 (so a median next to a censored value is censored, as in summary).
        pos = (n - 1) * 0.5
        self.lo, self.hi, self.frac = math.floor(pos), min(math.floor(pos) + 1, n - 1), pos % 1
        w = math.ceil(5 * math.sqrt(n)) + 2
        self.band = (max(0, self.lo - w), min(n, self.hi + w + 1))
        self.below = np.zeros(n)
        self.below[self.order[: self.band[0]]] = 1.0

    def medians(self, counts: np.ndarray) -> np.ndarray:
        """Median of each resample, given how often each value is drawn (rows of ``counts``,
        float)."""
        first, end = self.band
        before = counts @ self.below
        cum = before[:, None] + np.cumsum(counts[:, self.order[first:end]], axis=1)
        x_lo = self._at(counts, cum, before, self.lo)
        x_hi = self._at(counts, cum, before, self.hi)
        with np.errstate(invalid="ignore"):
            d = (x_hi - x_lo) * (self.frac if self.frac < 0.5 else 1 - self.frac)
            q = x_lo + d if self.frac < 0.5 else x_hi - d
        return np.where(np.isfinite(q), q, np.inf)

    def _at(self, counts: np.ndarray, cum: np.ndarray, before: np.ndarray, rank: int):
        """The value at ``rank`` (from 0) of each resample."""
        j = self.band[0] + (cum <= rank).sum(axis=1)
        out = (before > rank) | (cum[:, -1] <= rank)
        for i in np.flatnonzero(out):
            j[i] = np.searchsorted(np.cumsum(counts[i, self.order]), rank, side="right")
        return self.x[j]


def _counts(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """k bootstrap resamples of n replications, as draw counts per replication (float)."""
    idx = rng.integers(0, n, (k, n)) + (np.arange(k) * n)[:, None]
    return np.bincount(idx.ravel(), minlength=k * n).reshape(k, n).astype(float)



def reference_bootstrap(
    a_days: np.ndarray, b_days: np.ndarray, a_progress: np.ndarray, b_progress: np.ndarray,
    *, is_paired: bool, rng: np.random.Generator, resamples: int = RESAMPLES,
) -> dict[str, np.ndarray]:
    """Bootstrap replicates of second-minus-first differences: the median objective day,
    P(reached) and the median progress at each checkpoint. Paired resampling draws one set of
    replication indices for both runs."""
    na, nb = a_days.size, b_days.size
    if is_paired and na != nb:
        raise ValueError("paired samples must have the same size")
    c = a_progress.shape[1]
    batch = max(1, _BATCH_VALUES // max(na, nb))
    out = {"median_day": np.empty(resamples), "prob_reached": np.empty(resamples),
           "progress_median": np.empty((resamples, c))}
    sa, sb = _Sorted(a_days), _Sorted(b_days)
    pa = [_Sorted(a_progress[:, j]) for j in range(c)]
    pb = [_Sorted(b_progress[:, j]) for j in range(c)]
    ra, rb = np.isfinite(a_days).astype(float), np.isfinite(b_days).astype(float)
    for lo in range(0, resamples, batch):
        k = min(batch, resamples - lo)
        ca = _counts(rng, na, k)
        cb = ca if is_paired else _counts(rng, nb, k)
        with np.errstate(invalid="ignore"):
            out["median_day"][lo:lo + k] = sb.medians(cb) - sa.medians(ca)
        out["prob_reached"][lo:lo + k] = (cb @ rb) / nb - (ca @ ra) / na
        for j in range(c):
            out["progress_median"][lo:lo + k, j] = pb[j].medians(cb) - pa[j].medians(ca)
    return out
