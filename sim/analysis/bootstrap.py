"""The bootstrap of a comparison: resamples of two runs' objective days and progress, their
medians, and the percentile intervals of the differences.

Up to ``DRAWN_UP_TO`` replications a resample is drawn index by index; beyond, each resample is
drawn as how many of its draws fall in each class of alike replications (multinomial counts),
the replications about each median one by one: the same law of resamples with other random
numbers (tests/test_compare_by_class.py proves it the drawn bootstrap). Censored days are +inf:
a median that touches one is censored, and so is an interval bound beyond the horizon.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
DRAWN_UP_TO = 100_000  # replications up to which resamples are drawn index by index
_DRAWN_BATCH_VALUES = 2_000_000  # resampled values held at once, to bound memory
_BATCH_VALUES = 1_000_000  # by class: slot counts held at once (8 MB: in cache)
BAND_SDS = 4.0  # a median's band of ranks, in standard deviations of a resample's median rank
_BAND_EXTRA = 2  # ranks added either side of the band (tests narrow it to none)
_MAX_VALUE_SLOTS = 32  # a band of at most this many distinct values has a slot per value


@dataclass(frozen=True)
class Difference:
    """A difference (second minus first) and its 95% bootstrap interval; None where censored.

    A bound of the interval is None when it lies beyond the horizon (the bootstrap medians
    there are censored).
    """

    value: float | None
    ci95: tuple[float | None, float | None] | None

    def json(self, digits: int) -> tuple[float | None, list[float | None] | None]:
        ci = None if self.ci95 is None else [round_or_none(b, digits) for b in self.ci95]
        return round_or_none(self.value, digits), ci


def censor_at(days: np.ndarray, horizon_days: float) -> np.ndarray:
    """Days past ``horizon_days`` become censored (+inf), as if the run had ended there."""
    return np.where(days <= horizon_days, days, np.inf)


def median_rows(x: np.ndarray) -> np.ndarray:
    """Median of each row (over axis 1); +inf where it touches a censored (+inf) value."""
    with np.errstate(invalid="ignore"):
        q = np.percentile(x, 50, axis=1)
    return np.where(np.isfinite(q), q, np.inf)


class _Column:
    """A sample sorted once, whose bootstrap medians come from how many draws of a resample land
    below a band of ranks about the sample's median, and where within it: the same numbers as
    ``median_rows`` of the resampled values, without sorting (or even counting) each resample.

    A resample's median lies, but for odds of about e^-50, within a band of ±5√n ranks about
    the sample's median; the rare resample outside it is done in full.
    """

    def __init__(self, x: np.ndarray) -> None:
        n = x.size
        self.order = np.argsort(x)  # any order of ties gives the same values at each rank
        self.x = x[self.order]
        # As numpy's linear interpolation: between ranks lo and lo + 1, which it touches even
        # at a fraction of 0 (so a median next to a censored value is censored, as in summary).
        pos = (n - 1) * 0.5
        self.lo, self.hi, self.frac = math.floor(pos), min(math.floor(pos) + 1, n - 1), pos % 1
        w = math.ceil(5 * math.sqrt(n)) + 2
        self.band = (max(0, self.lo - w), min(n, self.hi + w + 1))
        self.below = np.zeros(n, dtype=bool)  # by replication: ranked before the band
        self.below[self.order[: self.band[0]]] = True

    @property
    def in_band(self) -> np.ndarray:
        """The replications of the band, in rank order."""
        return self.order[self.band[0]:self.band[1]]

    def medians(self, before: np.ndarray, in_band: np.ndarray, draws: np.ndarray) -> np.ndarray:
        """Median of each resample, given how many of its draws rank before the band
        (``before``) and how many land on each rank of the band (rows of ``in_band``); the
        resamples' draws (rows of replication indices) serve the rare one outside the band."""
        cum = before[:, None] + np.cumsum(in_band, axis=1)
        x_lo = self._at(cum, before, self.lo, draws)
        x_hi = self._at(cum, before, self.hi, draws)
        with np.errstate(invalid="ignore"):
            d = (x_hi - x_lo) * (self.frac if self.frac < 0.5 else 1 - self.frac)
            q = x_lo + d if self.frac < 0.5 else x_hi - d
        return np.where(np.isfinite(q), q, np.inf)

    def _at(self, cum: np.ndarray, before: np.ndarray, rank: int,
            draws: np.ndarray) -> np.ndarray:
        """The value at ``rank`` (from 0) of each resample."""
        j = self.band[0] + (cum <= rank).sum(axis=1)
        out = (before > rank) | (cum[:, -1] <= rank)
        for i in np.flatnonzero(out):
            counts = np.bincount(draws[i], minlength=self.x.size)
            j[i] = np.searchsorted(np.cumsum(counts[self.order]), rank, side="right")
        return self.x[j]


class _Resamples:
    """What the medians and P(reached) of bootstrap resamples need from their draws, found in
    one pass over the draws: each replication carries a code of a few bits (ranked before the
    band of column c; reached the objective; in some column's band); a resample's histogram of
    codes gives how many of its draws rank before each band and how many reached, and only the
    few draws inside a band are looked at one by one."""

    BITS = 14  # flags per code table (and the band bit in the first)

    def __init__(self, columns: Sequence[_Column], reached: Sequence[np.ndarray]) -> None:
        self.columns = list(columns)
        n = reached[0].size
        self.flags = [c.below for c in self.columns] + [r.astype(bool) for r in reached]
        banded = np.zeros(n, dtype=bool)
        for c in self.columns:
            banded[c.in_band] = True
        # The replications in some band, numbered 0, 1, ...; each band as those numbers.
        self.banded = np.flatnonzero(banded)
        self.band_id = np.full(n, -1, dtype=np.int64)
        self.band_id[self.banded] = np.arange(self.banded.size)
        self.bands = [self.band_id[c.in_band] for c in self.columns]
        self.tables: list[tuple[np.ndarray, np.ndarray]] = []  # (code of each replication, bits)
        for lo in range(0, len(self.flags), self.BITS):
            group = self.flags[lo:lo + self.BITS]
            code = np.zeros(n, dtype=np.uint16)
            for b, f in enumerate(group):
                code |= f.astype(np.uint16) << b
            if lo == 0:
                code |= banded.astype(np.uint16) << len(group)
            values = np.arange(1 << (len(group) + (lo == 0)))
            bits = np.stack([(values >> b) & 1 for b in range(len(group))], axis=1)
            self.tables.append((code, bits.astype(float)))  # float: sums by BLAS, exact

    def counts(self, idx: np.ndarray) -> tuple[list[tuple[np.ndarray, np.ndarray]],
                                               list[np.ndarray]]:
        """For resamples given as rows of replication indices: per column, how many draws rank
        before its band and how many land on each rank of it; per ``reached``, how many draws
        reached the objective."""
        k, n = idx.shape
        if n <= 4 * self.tables[0][1].shape[0]:  # few draws: count each flag directly
            sums = np.stack([f[idx].sum(axis=1) for f in self.flags], axis=1)
            flat = np.flatnonzero(self.band_id[idx] >= 0)
        else:
            parts = []
            for t, (code, bits) in enumerate(self.tables):
                codes = code[idx]
                hist = np.stack([np.bincount(row, minlength=bits.shape[0]) for row in codes])
                parts.append(np.rint(hist @ bits).astype(np.int64))
                if t == 0:
                    flat = np.flatnonzero(codes >= (1 << bits.shape[1]))
            sums = np.concatenate(parts, axis=1)
        u = self.banded.size
        ids = (flat // n) * u + self.band_id[idx.ravel()[flat]]
        per_id = np.bincount(ids, minlength=k * u).reshape(k, u)
        out = [(sums[:, j], per_id[:, band]) for j, band in enumerate(self.bands)]
        return out, [sums[:, j] for j in range(len(self.columns), len(self.flags))]


class _BandColumn:
    """One sample (a run's objective days, or its progress at one checkpoint) prepared for the
    bootstrap of its median: the band of ranks about its median, and which replications rank
    below the band. A resample's median lies, but for odds of about 6e-5, within ±BAND_SDS
    standard deviations of its rank (√n / 2) of the sample's median, so it is found from how
    many of the resample's draws rank below the band and how many land on each slot of it: a
    rank, or, where the band holds few distinct values (progress piled up at a defensive line
    or at the objective), a value. A resample outside the band is done in full.

    The numbers are those of ``median_rows`` of the resampled values: numpy's linear
    interpolation between ranks lo and lo + 1, which it touches even at a fraction of 0 (so a
    median next to a censored value is censored, as in summary).
    """

    def __init__(self, x: np.ndarray) -> None:
        n = x.size
        self.x = x
        pos = (n - 1) * 0.5
        self.lo, self.hi, self.frac = math.floor(pos), min(math.floor(pos) + 1, n - 1), pos % 1
        w = math.ceil(BAND_SDS * math.sqrt(n) / 2) + _BAND_EXTRA
        first, end = max(0, self.lo - w), min(n, self.hi + w + 1)
        self.band = (first, end)
        if end - first >= n:
            members, below = np.argsort(x, kind="stable"), np.empty(0, np.int64)
        else:  # ranks only about the band: any order of ties gives the same values at each rank
            part = np.argpartition(x, (first, end - 1))
            members, below = part[first:end], part[:first]
            members = members[np.argsort(x[members], kind="stable")]
        self.below = np.zeros(n, dtype=bool)  # by replication: ranked before the band
        self.below[below] = True
        self.members = members  # the replications of the band, in rank order
        values = x[members]
        distinct, slot = np.unique(values, return_inverse=True)
        # few values in the band: a slot per value, and its replications need no names
        self.by_value = distinct.size <= _MAX_VALUE_SLOTS and distinct.size < values.size
        self.slot_values = distinct if self.by_value else values
        self.slot = slot.ravel() if self.by_value else np.arange(values.size)
        self._order: np.ndarray | None = None

    @property
    def slots(self) -> int:
        return self.slot_values.size

    def medians(self, before: np.ndarray, in_band: np.ndarray,
                full: Callable[[int], np.ndarray]) -> np.ndarray:
        """Median of each resample, given how many of its draws rank before the band
        (``before``) and how many land on each slot of the band (rows of ``in_band``);
        ``full(i)`` gives resample i's draw count per replication, for the rare resample whose
        median lies outside the band."""
        cum = np.cumsum(in_band, axis=1)
        cum += before[:, None]
        x_lo = self._at(cum, before, self.lo, full)
        x_hi = self._at(cum, before, self.hi, full)
        with np.errstate(invalid="ignore"):
            d = (x_hi - x_lo) * (self.frac if self.frac < 0.5 else 1 - self.frac)
            q = x_lo + d if self.frac < 0.5 else x_hi - d
        return np.where(np.isfinite(q), q, np.inf)

    def _at(self, cum: np.ndarray, before: np.ndarray, rank: int,
            full: Callable[[int], np.ndarray]) -> np.ndarray:
        """The value at ``rank`` (from 0) of each resample."""
        j = (cum <= rank).sum(axis=1)
        out = (before > rank) | (cum[:, -1] <= rank)
        x = self.slot_values[np.minimum(j, self.slots - 1)]
        for i in np.flatnonzero(out):
            if self._order is None:
                self._order = np.argsort(self.x, kind="stable")
            counts = full(int(i))[self._order]
            x[i] = self.x[self._order[np.searchsorted(np.cumsum(counts), rank, side="right")]]
        return x


class _Classes:
    """Bootstrap resamples of n replications, drawn as what the medians and P(reached) of
    ``columns`` need of them, exactly in law: a resample is n draws with replacement, so how
    many draws land in each class of replications is multinomial. The replications in the band
    of a column whose slots are ranks (the pool) are drawn one by one, as n uniform draws would
    reach them; the others fall into classes of replications alike for every column (below
    its band, in which of its value slots, or above; reached the objective or not), whose
    counts are one multinomial draw, with the pool's total as one more class.

    The pool's draws are counted into the bands' slots laid end to end (a replication in the
    bands of two columns counts in both), so that each band's counts are one block of a row.
    """

    def __init__(self, columns: Sequence[_BandColumn], reached: Sequence[np.ndarray]) -> None:
        self.columns = list(columns)
        n = self.n = reached[0].size
        ranked = [c for c in self.columns if not c.by_value]
        # The bands' slots laid end to end, and the replication at each; those in one band
        # (the single) are drawn apart from those in several (counted in each).
        self.offsets = np.cumsum([0, *(c.slots for c in ranked)]).tolist()
        self.slots = self.offsets[-1]
        at_slot = np.concatenate([c.members for c in ranked]) if ranked else \
            np.empty(0, np.int64)
        bands = np.bincount(at_slot, minlength=n)
        single, several = np.flatnonzero(bands == 1), np.flatnonzero(bands > 1)
        self.pool = np.concatenate([single, several])  # drawn one by one
        pooled = bands > 0
        at = np.full(n, -1, dtype=np.int64)
        at[self.pool] = np.arange(self.pool.size)
        slot_pool = at[at_slot]  # the pool index at each slot
        _, first = np.unique(slot_pool, return_index=True)  # every pool index has a slot
        self.first = first.astype(np.int64)  # each pool replication's first slot
        self.single = single.size
        many = slot_pool >= single.size
        order = np.argsort(slot_pool[many], kind="stable")
        slots_of = np.flatnonzero(many)[order]
        owner = slot_pool[many][order] - single.size
        most = int(bands.max()) if several.size else 0
        self.several_slots = np.full((several.size, most), -1, dtype=np.int64)
        if several.size:
            starts = np.searchsorted(owner, np.arange(several.size))
            self.several_slots[owner, np.arange(owner.size) - starts[owner]] = slots_of
        # Features whose counts a resample needs: per column, below its band, and (by value)
        # in each value slot; then each reached flag. A class is one combination of them.
        feats: list[np.ndarray] = []
        self.below_feature: list[int] = []
        self.slot_features: list[list[int]] = []
        state = np.zeros(n, dtype=np.int64)  # the class of each replication, as it grows
        radix = 1
        for c in self.columns:
            self.below_feature.append(len(feats))
            feats.append(c.below)
            level = np.where(c.below, 0, 1)
            if c.by_value:
                in_band = np.zeros(n, dtype=bool)
                in_band[c.members] = True
                where = np.full(n, -1, dtype=np.int64)
                where[c.members] = c.slot
                self.slot_features.append(list(range(len(feats), len(feats) + c.slots)))
                feats.extend(where == s for s in range(c.slots))
                level = np.where(in_band, 2 + where, level)
            else:
                self.slot_features.append([])
            state, radix = _combine(state, radix, level, c.slots + 2 if c.by_value else 2)
        self.reached_feature = list(range(len(feats), len(feats) + len(reached)))
        for r in reached:
            feats.append(np.asarray(r, dtype=bool))
            state, radix = _combine(state, radix, np.asarray(r, dtype=np.int64), 2)
        rest = np.flatnonzero(~pooled)
        keys, one, self._class = np.unique(state[rest], return_index=True,
                                           return_inverse=True)
        self._class = self._class.ravel()
        self._rest = rest
        sizes = np.bincount(self._class, minlength=keys.size)
        # the pool's two parts last (the very last: what the others leave)
        self.p = np.concatenate([sizes, [self.single, self.pool.size - self.single]]) / n
        features = np.stack(feats, axis=1) if feats else np.zeros((n, 0), dtype=bool)
        self.class_features = features[rest[one]].astype(float)  # sums by BLAS
        # a pool replication's features at its first slot only: each draw counted once
        self.slot_features_matrix = np.zeros((self.slots, features.shape[1]))
        self.slot_features_matrix[first] = features[self.pool]
        self._members: list[np.ndarray] | None = None

    def draw(self, rng: np.random.Generator, k: int,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """k resamples: each one's count per class (the pool's single and several last), and
        the pool's draws of each part (indices into it, resample by resample)."""
        counts = rng.multinomial(self.n, self.p, size=k)
        several = self.pool.size - self.single
        return (counts, rng.integers(0, self.single, int(counts[:, -2].sum())),
                rng.integers(0, several, int(counts[:, -1].sum())))

    def counts(self, drawn: tuple[np.ndarray, np.ndarray, np.ndarray],
               spare: np.random.Generator,
               ) -> tuple[list[tuple[np.ndarray, np.ndarray, Callable]], list[np.ndarray]]:
        """For resamples from ``draw``: per column, how many draws rank before its band, how
        many land on each slot of it, and the full resample (drawn from ``spare`` when a
        median needs it); per reached flag, how many draws reached the objective."""
        counts, ids, ids_several = drawn
        k, u = counts.shape[0], self.slots
        keys = np.repeat(np.arange(k) * u, counts[:, -2])
        keys += self.first[ids]
        if ids_several.size:  # counted in each of their bands
            slots = self.several_slots[ids_several]
            more = np.repeat(np.arange(k) * u, counts[:, -1])[:, None] + slots
            keys = np.concatenate([keys, more[slots >= 0]])
        per_slot = np.bincount(keys, minlength=k * u).reshape(k, u)
        counts = counts[:, :-2]
        sums = counts.astype(float) @ self.class_features  # exact: whole numbers
        sums += per_slot.astype(float) @ self.slot_features_matrix
        sums = np.rint(sums).astype(np.int64)
        fulls: dict[int, np.ndarray] = {}

        def full(i: int) -> np.ndarray:
            if i not in fulls:
                fulls[i] = self._full(counts[i], per_slot[i, self.first], spare)
            return fulls[i]

        out, r = [], 0
        for j, c in enumerate(self.columns):
            if c.by_value:
                slots = sums[:, self.slot_features[j]]
            else:
                slots = per_slot[:, self.offsets[r]:self.offsets[r + 1]]
                r += 1
            out.append((sums[:, self.below_feature[j]], slots, full))
        return out, [sums[:, f] for f in self.reached_feature]

    def _full(self, counts: np.ndarray, per_id: np.ndarray,
              spare: np.random.Generator) -> np.ndarray:
        """A resample's draw count per replication, given its count per class and per pool
        replication: the draws in a class are uniform over its replications."""
        if self._members is None:
            order = self._rest[np.argsort(self._class, kind="stable")]
            bounds = np.cumsum(np.bincount(self._class, minlength=counts.size))
            self._members = np.split(order, bounds[:-1])
        drawn = [members[spare.integers(0, members.size, m)]
                 for members, m in zip(self._members, counts.tolist()) if m]
        out = np.bincount(np.concatenate([np.empty(0, np.int64), *drawn]), minlength=self.n)
        out[self.pool] += per_id
        return out


def _combine(state: np.ndarray, radix: int, level: np.ndarray, levels: int,
             ) -> tuple[np.ndarray, int]:
    """Class numbers refined by one more feature of ``levels`` values; renumbered densely
    before they would overflow int64."""
    if radix * levels >= 2**62:
        _, state = np.unique(state, return_inverse=True)
        state = state.ravel().astype(np.int64)
        radix = int(state.max()) + 1 if state.size else 1
    return state * levels + level, radix * levels


def bootstrap(
    a_days: np.ndarray, b_days: np.ndarray, a_progress: np.ndarray, b_progress: np.ndarray,
    *, is_paired: bool, rng: np.random.Generator, resamples: int = RESAMPLES,
    on_resamples: Callable[[int, int], None] | None = None, by_class: bool | None = None,
) -> dict[str, np.ndarray]:
    """Bootstrap replicates of second-minus-first differences: the median objective day,
    P(reached) and the median progress at each checkpoint. Paired resampling resamples the
    replications as pairs (one set of replication indices for both runs).

    Up to DRAWN_UP_TO replications, each resample's n replication indices are drawn, as
    since the first release (the same numbers from the same seed). Beyond, where those draws
    would be most of the time (2e9 at 1e6 replications), each resample is drawn as its counts
    per class of alike replications (``_Classes``; ``by_class`` chooses either way): the
    same law of resamples, and so of every statistic and of their joint replicates, but other
    random numbers, so intervals differ from the drawn ones by bootstrap Monte Carlo error
    (about 0.06 of the statistic's bootstrap standard deviation at 2,000 resamples, as the
    drawn ones' own)."""
    na, nb = a_days.size, b_days.size
    if is_paired and na != nb:
        raise ValueError("paired samples must have the same size")
    if by_class is None:
        by_class = max(na, nb) > DRAWN_UP_TO
    if by_class:
        return _bootstrap_by_class(a_days, b_days, a_progress, b_progress, is_paired=is_paired,
                                   rng=rng, resamples=resamples, on_resamples=on_resamples)
    c = a_progress.shape[1]
    batch = max(1, _DRAWN_BATCH_VALUES // max(na, nb))  # as drawn since the first release
    out = {"median_day": np.empty(resamples), "prob_reached": np.empty(resamples),
           "progress_median": np.empty((resamples, c))}
    cols_a = [_Column(a_days), *(_Column(a_progress[:, j]) for j in range(c))]
    cols_b = [_Column(b_days), *(_Column(b_progress[:, j]) for j in range(c))]
    ra, rb = np.isfinite(a_days), np.isfinite(b_days)
    if is_paired:  # one set of draws for both: one pass over them
        both = _Resamples([*cols_a, *cols_b], [ra, rb])
    else:
        sides = _Resamples(cols_a, [ra]), _Resamples(cols_b, [rb])

    def draw(k: int) -> tuple[np.ndarray, np.ndarray]:  # the resamples' replication indices
        ia = rng.integers(0, na, (k, na))
        return ia, ia if is_paired else rng.integers(0, nb, (k, nb))

    sizes = [min(batch, resamples - lo) for lo in range(0, resamples, batch)]
    # The next batch is drawn in a thread (numpy draws without the GIL) while this one is
    # counted; one thread, in order, so the draws are those of one loop.
    with ThreadPoolExecutor(1) as pool:
        ahead = pool.submit(draw, sizes[0])
        for i, k in enumerate(sizes):
            lo = i * batch
            ia, ib = ahead.result()
            if i + 1 < len(sizes):
                ahead = pool.submit(draw, sizes[i + 1])
            if is_paired:
                counts, (hits_a, hits_b) = both.counts(ia)
                ca, cb = counts[:c + 1], counts[c + 1:]
            else:
                (ca, (hits_a,)), (cb, (hits_b,)) = sides[0].counts(ia), sides[1].counts(ib)
            med_a = [col.medians(*cnt, ia) for col, cnt in zip(cols_a, ca)]
            med_b = [col.medians(*cnt, ib) for col, cnt in zip(cols_b, cb)]
            _store(out, lo, k, med_a, med_b, hits_a / na, hits_b / nb)
            if on_resamples:
                on_resamples(lo + k, resamples)
    return out


def _store(out: dict[str, np.ndarray], lo: int, k: int, med_a: list[np.ndarray],
           med_b: list[np.ndarray], prob_a: np.ndarray, prob_b: np.ndarray) -> None:
    """Resamples lo..lo+k-1's differences, second minus first."""
    with np.errstate(invalid="ignore"):
        out["median_day"][lo:lo + k] = med_b[0] - med_a[0]
    out["prob_reached"][lo:lo + k] = prob_b - prob_a
    for j in range(len(med_a) - 1):
        out["progress_median"][lo:lo + k, j] = med_b[j + 1] - med_a[j + 1]


def _bootstrap_by_class(
    a_days: np.ndarray, b_days: np.ndarray, a_progress: np.ndarray, b_progress: np.ndarray,
    *, is_paired: bool, rng: np.random.Generator, resamples: int,
    on_resamples: Callable[[int, int], None] | None,
) -> dict[str, np.ndarray]:
    """``bootstrap`` with each resample drawn as its counts per class (``_Classes``)."""
    na, nb = a_days.size, b_days.size
    c = a_progress.shape[1]
    out = {"median_day": np.empty(resamples), "prob_reached": np.empty(resamples),
           "progress_median": np.empty((resamples, c))}
    cols_a = [_BandColumn(a_days), *(_BandColumn(a_progress[:, j]) for j in range(c))]
    cols_b = [_BandColumn(b_days), *(_BandColumn(b_progress[:, j]) for j in range(c))]
    ra, rb = np.isfinite(a_days), np.isfinite(b_days)
    spare = np.random.default_rng(rng.integers(0, 2**63, 4))  # for the rare full resample
    if is_paired:  # one resample for both
        sides = [_Classes([*cols_a, *cols_b], [ra, rb])]
    else:
        sides = [_Classes(cols_a, [ra]), _Classes(cols_b, [rb])]
    batch = max(1, min(resamples, _BATCH_VALUES // max(1, *(s.slots for s in sides))))

    def draw(k: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return [s.draw(rng, k) for s in sides]

    sizes = [min(batch, resamples - lo) for lo in range(0, resamples, batch)]
    with ThreadPoolExecutor(1) as pool:  # the next batch drawn while this one is counted
        ahead = pool.submit(draw, sizes[0])
        for i, k in enumerate(sizes):
            lo = i * batch
            drawn = ahead.result()
            if i + 1 < len(sizes):
                ahead = pool.submit(draw, sizes[i + 1])
            got = [s.counts(d, spare) for s, d in zip(sides, drawn)]
            if is_paired:
                (counts, (hits_a, hits_b)), = got
                ca, cb = counts[:c + 1], counts[c + 1:]
            else:
                (ca, (hits_a,)), (cb, (hits_b,)) = got
            med_a = [col.medians(*cnt) for col, cnt in zip(cols_a, ca)]
            med_b = [col.medians(*cnt) for col, cnt in zip(cols_b, cb)]
            _store(out, lo, k, med_a, med_b, hits_a / na, hits_b / nb)
            if on_resamples:
                on_resamples(lo + k, resamples)
    return out


def interval(replicates: np.ndarray, value: float | None) -> Difference:
    """The percentile interval (2.5%, 97.5%) of bootstrap replicates of a difference.

    Replicates are ±inf where one median is censored and NaN where both are; a NaN counts
    against both bounds, and a bound that lands on a non-finite replicate is None.
    """
    if value is None:
        return Difference(None, None)
    r = replicates[~np.isnan(replicates)]
    nan = replicates.size - r.size
    r = np.sort(r)
    lo_r = np.concatenate([np.full(nan, -np.inf), r])
    hi_r = np.concatenate([r, np.full(nan, np.inf)])
    with np.errstate(invalid="ignore"):
        lo = float(np.percentile(lo_r, 2.5)) if lo_r.size else math.nan
        hi = float(np.percentile(hi_r, 97.5)) if hi_r.size else math.nan
    return Difference(value, (lo if math.isfinite(lo) else None,
                              hi if math.isfinite(hi) else None))


def round_or_none(x: float | None, digits: int) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)
