"""Two or more projections side by side: differences with bootstrap intervals, censoring kept.

The day an objective falls is censored at the horizon (+inf in the arrays): its distribution is
known exactly up to the horizon and not at all beyond it. Every statistic here uses only that
known part. Percentiles and medians are censored when they touch a censored replication
(``sim.analysis.summary.censored_percentiles``); a difference that involves a censored median
is None (``null`` in JSON), never a difference of horizons. Runs with different horizons are
compared up to the shorter one. The probability of reaching the objective and the two-sample
Kolmogorov–Smirnov statistic compare the two empirical distribution functions up to the
horizon, which with a fixed horizon are the Kaplan–Meier survival curves.

Two runs with the same seed and the same number of replications are paired: replication i of
each drew from the same random streams per sector and source (common random numbers: the
campaign-level rate, in particular, is the same draw), so the bootstrap resamples replications
as pairs, and the intervals are sharper. Otherwise the runs are resampled independently.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AdvsimError, ParameterTypeError, instance, shown
from ..seeds import bootstrap_rng
from .bootstrap import RESAMPLES, bootstrap, censor_at, interval, round_or_none
from .summary import censored_percentiles, pkey

if TYPE_CHECKING:
    from typing import TypeAlias

    from ..running.outcomes import Result, SectorOutcomes

    RunLike: TypeAlias = Result | str | os.PathLike[str]

PERCENTILES = (5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0)
BOOTSTRAP_SEED = 1


def paired(a: Result, b: Result) -> bool:
    """Whether replication i of ``a`` and of ``b`` share their random numbers."""
    return a.seed == b.seed and a.replications == b.replications


def ks_censored(a_days: np.ndarray, b_days: np.ndarray, horizon_days: float) -> tuple[float,
                                                                                        float]:
    """Two-sample Kolmogorov–Smirnov statistic and p-value of days censored at the horizon.

    Censored replications count as one common value past the horizon, so the statistic is the
    largest gap between the two distribution functions up to the horizon. The p-value assumes
    independent samples; for paired runs, which are positively correlated, it is conservative.
    The numbers are those of ``scipy.stats.ks_2samp(..., method="asymp")``, which is imported
    only where the p-value is not 0 (scipy's own cut-off: a gap too wide for chance).
    """
    past = horizon_days + 1.0
    a = np.sort(np.where(np.isfinite(a_days), a_days, past))
    b = np.sort(np.where(np.isfinite(b_days), b_days, past))
    na, nb = a.size, b.size
    if min(na, nb) == 0:
        raise ValueError("ks_censored: an empty sample")
    both = np.sort(np.concatenate([a, b]), kind="stable")  # two sorted runs: merged
    gaps = np.searchsorted(a, both, side="right") / na - np.searchsorted(b, both,
                                                                         side="right") / nb
    stat = float(max(gaps.max(), min(max(-gaps.min(), 0.0), 1.0)))
    m, k = sorted([float(na), float(nb)], reverse=True)
    en = round(m * k / (m + k))
    # scipy's kstwo.sf(stat, en): 0 once en·stat² ≥ 370 (for en > 140, 1/en < stat < 1/2)
    if en > 140 and 1 < en * stat < en - 1 and stat < 0.5 and en * stat * stat >= 370.0:
        return stat, 0.0
    from scipy.stats import distributions

    return stat, float(np.clip(distributions.kstwo.sf(stat, en), 0, 1))


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
    medians = [round_or_none(ma, 2), round_or_none(mb, 2)]
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
    from ..running.outcomes import Result

    accepts = "Results (sim.simulate, sim.Result.from_folder) or results folders"
    if not isinstance(runs, (list, tuple)):
        raise ParameterTypeError(f"runs: expected a list of two or more {accepts} (got "
                                 f"{shown(runs)})", param="runs")
    if len(runs) < 2:
        raise AdvsimError("compare: name at least two results folders")
    if match not in ("sector", "objective"):
        raise AdvsimError(f"match: {match!r} (expected sector or objective)", param="match")
    results = [r if isinstance(r, Result) else Result.from_folder(
        instance(r, (str, os.PathLike), "runs", accepts)) for r in runs]
    labels = list(labels) if labels else default_labels(len(results))
    if len(labels) != len(results):
        raise AdvsimError(f"labels: {len(labels)} labels for {len(results)} runs",
                          param="labels")
    if match == "objective":
        results = [results[0], *(_by_objective(results[0], r, labels[0], label)
                                 for r, label in zip(results[1:], labels[1:]))]
    common = [s for s in results[0].sectors if all(s in r.sectors for r in results[1:])]
    if sectors:
        missing = [s for s in sectors if s not in common]
        if missing:
            raise AdvsimError(f"sectors: {missing[0]!r} is not a sector of every run "
                              f"(common: {', '.join(common) or 'none'})", param="sectors")
        common = [s for s in common if s in sectors]
    if not common:
        if match == "objective":
            raise AdvsimError("compare: the runs share no objective (with match='objective', "
                              "sectors are matched by their objective's name)", param="match")
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
            per_run.append({pkey(p): round_or_none(v, 2)
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
            progress["runs"].append({pkey(p): [round_or_none(float(v), 3) for v in row]
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


def _by_objective(first: Result, r: Result, first_label: str = "A", label: str = "B"
                  ) -> Result:
    """``r`` with its sectors renamed to the first run's sectors of the same objective. An
    objective both runs have that two sectors of one run share cannot pair one to one: an
    AdvsimError naming both, never one kept silently."""
    import dataclasses

    def by_objective(run: Result) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, s in run.sectors.items():
            out.setdefault(s.objective, []).append(name)
        return out

    mine, theirs = by_objective(first), by_objective(r)
    for objective in (o for o in mine if o in theirs):
        for run_label, names in ((first_label, mine[objective]), (label, theirs[objective])):
            if len(names) > 1:
                both = " and ".join(repr(n) for n in names)
                raise AdvsimError(
                    f"match: sectors {both} of run {run_label} share the objective "
                    f"{objective!r}, and match='objective' pairs one sector per objective "
                    "(pair them by name, match='sector', or give each its own objective)",
                    param="match")
    renamed = {mine[s.objective][0]: s for s in r.sectors.values() if s.objective in mine}
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
        from ..presentation.notebook import one_line

        labels = " vs ".join(str(r.get("label", "?")) for r in self.get("runs", []))
        readings = "; ".join(one_line(r, 200) for r in self.readings().values())
        return f"<Comparison {one_line(labels)}: {readings}>"

    def _repr_html_(self) -> str:
        from ..presentation.notebook import html

        runs = ", ".join(str(r.get("label")) for r in self.get("runs", []))
        return html("Comparison", f"of {runs} ({self.get('differences', '')})",
                    ["sector", "reading"], list(self.readings().items()))


def default_labels(n: int) -> list[str]:
    """A, B, ..., Z, then R27, R28, ..."""
    return [chr(ord("A") + i) if i < 26 else f"R{i + 1}" for i in range(n)]


def _num(x: float, digits: int, sign: bool = False) -> str:
    # An ASCII minus: a reading is pasted into code and searched for.
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def reading(label: str, base: str, objective: str, c: dict, horizon_days: int) -> str:
    """One line that says what the comparison finds, e.g. "B vs A: Pokrovsk falls a median
    23 days later [18, 29]; P(reach) -0.12 [-0.15, -0.09]"."""
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
        # Whole days, as every day a person reads (sim.presentation.numbers); the JSON keeps
        # the fraction.
        bounds = ", ".join("…" if v is None else _num(v, 0) for v in (lo, hi))
        word = "later" if later else "earlier"
        unit = "day" if round(mag) == 1 else "days"
        median = f"{objective} falls a median {_num(mag, 0)} {unit} {word} [{bounds}]"
    p, (plo, phi) = c["prob_reached_diff"], c["prob_reached_diff_ci95"]
    digits = 2 if max(abs(p), abs(plo), abs(phi)) >= 0.05 else 3
    prob = (f"P(reach) {_num(p, digits, True)} "
            f"[{_num(plo, digits, True)}, {_num(phi, digits, True)}]")
    return f"{label} vs {base}: {median}; {prob}"
