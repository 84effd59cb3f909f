"""Two or more projections side by side: differences with bootstrap intervals, censoring kept.

The day an objective falls is censored at the horizon (+inf in the arrays): its distribution is
known exactly up to the horizon and not at all beyond it. Every statistic here uses only that
known part. Percentiles and medians are censored when they touch a censored replication
(``sim.summary.censored_percentiles``); a difference that involves a censored median is None
(``null`` in JSON), never a difference of horizons. Runs with different horizons are compared
up to the shorter one. The probability of reaching the objective and the two-sample
Kolmogorov–Smirnov statistic compare the two empirical distribution functions up to the
horizon, which with a fixed horizon are the Kaplan–Meier survival curves.

Two runs with the same seed and the same number of replications are paired: replication i of
each drew from the same random streams per sector and source (common random numbers: the
campaign-level rate, in particular, is the same draw), so the bootstrap resamples replications
as pairs, and the intervals are sharper. Otherwise the runs are resampled independently.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import AdvsimError
from .seeds import bootstrap_rng
from .summary import censored_percentiles, pkey

if TYPE_CHECKING:
    from typing import TypeAlias

    from .outcomes import Result, SectorOutcomes

    RunLike: TypeAlias = Result | str | os.PathLike[str]

PERCENTILES = (5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0)
RESAMPLES = 2000
BOOTSTRAP_SEED = 1
_BATCH_VALUES = 2_000_000  # resampled values held at once, to bound memory


@dataclass(frozen=True)
class Difference:
    """A difference (second minus first) and its 95% bootstrap interval; None where censored.

    A bound of the interval is None when it lies beyond the horizon (the bootstrap medians
    there are censored).
    """

    value: float | None
    ci95: tuple[float | None, float | None] | None

    def json(self, digits: int) -> tuple[float | None, list[float | None] | None]:
        ci = None if self.ci95 is None else [_round(b, digits) for b in self.ci95]
        return _round(self.value, digits), ci


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


def paired(a: Result, b: Result) -> bool:
    """Whether replication i of ``a`` and of ``b`` share their random numbers."""
    return a.seed == b.seed and a.replications == b.replications


def bootstrap(
    a_days: np.ndarray, b_days: np.ndarray, a_progress: np.ndarray, b_progress: np.ndarray,
    *, is_paired: bool, rng: np.random.Generator, resamples: int = RESAMPLES,
    on_resamples: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Bootstrap replicates of second-minus-first differences: the median objective day,
    P(reached) and the median progress at each checkpoint. Paired resampling draws one set of
    replication indices for both runs."""
    na, nb = a_days.size, b_days.size
    if is_paired and na != nb:
        raise ValueError("paired samples must have the same size")
    c = a_progress.shape[1]
    batch = max(1, _BATCH_VALUES // max(na, nb))  # as drawn since the first release
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
            with np.errstate(invalid="ignore"):
                out["median_day"][lo:lo + k] = med_b[0] - med_a[0]
            out["prob_reached"][lo:lo + k] = hits_b / nb - hits_a / na
            for j in range(c):
                out["progress_median"][lo:lo + k, j] = med_b[j + 1] - med_a[j + 1]
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


def ks_censored(a_days: np.ndarray, b_days: np.ndarray, horizon_days: float) -> tuple[float,
                                                                                        float]:
    """Two-sample Kolmogorov–Smirnov statistic and p-value of days censored at the horizon.

    Censored replications count as one common value past the horizon, so the statistic is the
    largest gap between the two distribution functions up to the horizon. The p-value assumes
    independent samples; for paired runs, which are positively correlated, it is conservative.
    """
    from scipy.stats import ks_2samp

    past = horizon_days + 1.0
    res = ks_2samp(np.where(np.isfinite(a_days), a_days, past),
                   np.where(np.isfinite(b_days), b_days, past), method="asymp")
    return float(res.statistic), float(res.pvalue)


def compare_sector(
    a: SectorOutcomes, b: SectorOutcomes, *, horizon_days: int, is_paired: bool,
    rng: np.random.Generator, resamples: int = RESAMPLES,
    on_resamples: Callable[[int, int], None] | None = None,
) -> dict:
    """Differences of ``b`` minus ``a`` for one sector, in the JSON shape of compare."""
    da, db = censor_at(a.objective_day, horizon_days), censor_at(b.objective_day, horizon_days)
    days = [d for d in a.checkpoints_days if d in b.checkpoints_days and d <= horizon_days]
    pa = a.progress[:, [a.checkpoints_days.index(d) for d in days]]
    pb = b.progress[:, [b.checkpoints_days.index(d) for d in days]]
    reps = bootstrap(da, db, pa, pb, is_paired=is_paired, rng=rng, resamples=resamples,
                     on_resamples=on_resamples)

    (ma,), (mb,) = censored_percentiles(da, [50]), censored_percentiles(db, [50])
    median = interval(reps["median_day"], None if ma is None or mb is None else mb - ma)
    prob = interval(reps["prob_reached"],
                    float(np.isfinite(db).mean() - np.isfinite(da).mean()))
    progress = [interval(reps["progress_median"][:, j],
                         float(np.median(pb[:, j]) - np.median(pa[:, j])))
                for j in range(len(days))]
    ks_stat, ks_p = ks_censored(da, db, horizon_days)
    md, mci = median.json(2)
    medians = [_round(ma, 2) if ma is not None else None, _round(mb, 2) if mb is not None else None]
    pdiff, pci = prob.json(4)
    return {
        "paired": is_paired,
        "median_days": medians,
        "median_diff_days": md,
        "median_diff_ci95": mci,
        "prob_reached_diff": pdiff,
        "prob_reached_diff_ci95": pci,
        "ks_stat": round(ks_stat, 4),
        "ks_pvalue": float(f"{ks_p:.3g}"),
        "progress_days": days,
        "progress_median_diff": [d.json(3)[0] for d in progress],
        "progress_median_diff_ci95": [d.json(3)[1] for d in progress],
    }


def compare_runs(
    runs: Sequence[RunLike], *, labels: Sequence[str] | None = None,
    sectors: Sequence[str] | None = None, resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED, percentiles: tuple[float, ...] = PERCENTILES,
    on_progress: Callable[[int, int], None] | None = None, match: str = "sector",
) -> Comparison:
    """Compare every run after the first with the first, per sector they share.

    ``runs`` are Results (from ``simulate`` or ``Result.from_folder``) or results folders (or
    sweep points ``SWEEP_DIR:POINT_ID``). Returns the JSON of ``advsim compare --json`` as a
    ``Comparison`` (a dict, with a short repr and a notebook view): the top-level differences
    of each sector are second minus first; ``comparisons`` holds each later run minus the
    first. ``on_progress(done, total)`` counts bootstrap resamples over every comparison.
    ``match="objective"`` pairs sectors by their objective's name instead of their own (two
    scenarios that lay out the same objective differently), under the first run's names.
    """
    from .outcomes import Result

    if len(runs) < 2:
        raise AdvsimError("compare: name at least two results folders")
    results = [r if isinstance(r, Result) else Result.from_folder(r) for r in runs]
    if match == "objective":
        results = [results[0], *(_by_objective(results[0], r) for r in results[1:])]
    elif match != "sector":
        raise AdvsimError(f"match: {match!r} (expected sector or objective)", param="match")
    labels = list(labels) if labels else default_labels(len(results))
    if len(labels) != len(results):
        raise AdvsimError(f"labels: {len(labels)} labels for {len(results)} runs",
                          param="labels")
    common = [s for s in results[0].sectors if all(s in r.sectors for r in results[1:])]
    if sectors:
        missing = [s for s in sectors if s not in common]
        if missing:
            raise AdvsimError(f"sectors: {missing[0]!r} is not a sector of every run "
                              f"(common: {', '.join(common) or 'none'})", param="sectors")
        common = [s for s in common if s in sectors]
    if not common:
        raise AdvsimError("compare: the runs share no sector (sectors are matched by name)")
    horizon = min(r.horizon_days for r in results)
    total = len(common) * (len(results) - 1) * resamples
    offset = [0]

    def resampled(done: int, _: int) -> None:
        if on_progress:
            on_progress(offset[0] + done, total)

    out_sectors = {}
    for name in common:
        first = results[0].sectors[name]
        entry: dict[str, Any] = {
            "objective": first.objective,
            "horizon_days": horizon,
            "objective_day": {"runs": [], "prob_reached": []},
            first.progress_name: {"days": [], "runs": []},
        }
        per_run = []
        for r in results:
            s = r.sectors[name]
            d = censor_at(s.objective_day, horizon)
            per_run.append({pkey(p): _round(v, 2)
                            for p, v in zip(percentiles, censored_percentiles(d, percentiles))})
            entry["objective_day"]["prob_reached"].append(float(np.isfinite(d).mean()))
        entry["objective_day"]["runs"] = per_run
        comparisons = []
        for j, r in enumerate(results[1:], start=1):
            c = compare_sector(first, r.sectors[name], horizon_days=horizon,
                               is_paired=paired(results[0], r),
                               rng=bootstrap_rng(seed, name, j), resamples=resamples,
                               on_resamples=resampled)
            offset[0] += resamples
            c["run"] = j
            c["reading"] = reading(labels[j], labels[0], first.objective, c, horizon)
            comparisons.append(c)
        days = comparisons[0]["progress_days"]
        progress = entry[first.progress_name]
        progress["days"] = days
        for r in results:
            s = r.sectors[name]
            cols = [s.checkpoints_days.index(d) for d in days]
            q = np.percentile(s.progress[:, cols], percentiles, axis=0) if days else []
            progress["runs"].append({pkey(p): [_round(float(v), 3) for v in row]
                                     for p, row in zip(percentiles, q)})
        c0 = comparisons[0]
        progress["median_diff"] = c0["progress_median_diff"]
        progress["median_diff_ci95"] = c0["progress_median_diff_ci95"]
        entry["objective_day"].update({k: c0[k] for k in (
            "median_diff_days", "median_diff_ci95", "prob_reached_diff",
            "prob_reached_diff_ci95", "ks_stat", "ks_pvalue")})
        entry["paired"] = c0["paired"]
        entry["reading"] = c0["reading"]
        entry["comparisons"] = comparisons
        out_sectors[name] = entry

    return Comparison({
        "runs": [
            {"label": lab, "path": r.source, "scenario": r.name, "start": r.start.isoformat(),
             "horizon_days": r.horizon_days, "replications": r.replications, "seed": r.seed,
             "overrides": list(r.overrides), "scenario_sha256": r.scenario_sha256,
             "point": r.point}
            for lab, r in zip(labels, results)
        ],
        "horizon_days": horizon,
        "bootstrap": {"resamples": resamples, "seed": seed, "interval": "percentile, 95%"},
        "differences": "each run minus the first",
        "sectors": out_sectors,
    })


def _by_objective(first: Result, r: Result) -> Result:
    """``r`` with its sectors renamed to the first run's sectors of the same objective."""
    import dataclasses

    names = {s.objective: name for name, s in first.sectors.items()}
    renamed = {names[s.objective]: s for s in r.sectors.values() if s.objective in names}
    return dataclasses.replace(r, sectors=renamed)


class Comparison(dict):
    """What ``compare_runs`` finds: the dict of ``advsim compare --json`` (``json.dumps`` of it
    is that JSON), with a short repr and an HTML view for notebooks."""

    def to_dict(self) -> dict:
        """A plain dict (a deep copy)."""
        import copy

        return copy.deepcopy(dict(self))

    def json(self, **kwargs) -> str:
        """The JSON of ``advsim compare --json``."""
        import json

        return json.dumps(self, **kwargs)

    def readings(self) -> dict[str, str]:
        return {name: s.get("reading", "") for name, s in self.get("sectors", {}).items()}

    def __repr__(self) -> str:
        labels = " vs ".join(r.get("label", "?") for r in self.get("runs", []))
        sectors = "; ".join(self.readings().values())
        return f"Comparison({labels}: {sectors})"

    def _repr_html_(self) -> str:
        from html import escape

        runs = ", ".join(escape(str(r.get("label"))) for r in self.get("runs", []))
        rows = "".join(
            f"<tr><td>{escape(name)}</td><td>{escape(text)}</td></tr>"
            for name, text in self.readings().items())
        return (f"<div><b>Comparison</b> of {runs} ({escape(self.get('differences', ''))})"
                f"<table><tr><th>sector</th><th>reading</th></tr>{rows}</table></div>")


def default_labels(n: int) -> list[str]:
    """A, B, ..., Z, then R27, R28, ..."""
    return [chr(ord("A") + i) if i < 26 else f"R{i + 1}" for i in range(n)]


def _num(x: float, digits: int, sign: bool = False) -> str:
    s = f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"
    return s.replace("-", "−")  # a typographic minus, for reading


def reading(label: str, base: str, objective: str, c: dict, horizon_days: int) -> str:
    """One line that says what the comparison finds, e.g. "B vs A: Pokrovsk falls a median
    23 days later [18, 29]; P(reach) −0.12 [−0.15, −0.09]"."""
    md, ci = c["median_diff_days"], c["median_diff_ci95"]
    if md is None:
        where = [lab for lab, m in zip((base, label), c["median_days"]) if m is None]
        median = (f"the median day {objective} falls is beyond the horizon (day {horizon_days}) "
                  f"in {' and '.join(where)}: no median difference")
    else:
        later = md >= 0
        mag = abs(md)
        # The interval in the same direction as the word: "23 days later [18, 29]".
        lo, hi = ci if later else [None if ci[1] is None else -ci[1],
                                   None if ci[0] is None else -ci[0]]
        width = (hi - lo) if lo is not None and hi is not None else math.inf
        digits = 1 if width < 10 or mag < 10 else 0
        bounds = ", ".join("…" if v is None else _num(v, digits) for v in (lo, hi))
        word = "later" if later else "earlier"
        unit = "day" if round(mag, digits) == 1 else "days"
        median = f"{objective} falls a median {_num(mag, digits)} {unit} {word} [{bounds}]"
    p, (plo, phi) = c["prob_reached_diff"], c["prob_reached_diff_ci95"]
    digits = 2 if max(abs(p), abs(plo), abs(phi)) >= 0.05 else 3
    prob = (f"P(reach) {_num(p, digits, True)} "
            f"[{_num(plo, digits, True)}, {_num(phi, digits, True)}]")
    return f"{label} vs {base}: {median}; {prob}"


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)
