"""Forward evaluation: outlooks made on past dates, scored on what the maps showed after.

At each origin ``o`` (rolling: every ``every_days`` through the maps, or one date), the outlook
is made exactly as :func:`sim.forecast.outlook.outlook` makes it, from the maps up to ``o``
only: the places within the radius and outside the held territory, the class of every place's
approach up to ``o``, the advance fitted to it. Each place's projection is then scored against
the maps after ``o``: its fall day (the first later map with the place inside the held
territory), or, where it still stood on the last map, "not by then" (censored one day past the
last map, ``cap``). Fitting and scoring never share a date: nothing after ``o`` is read to make
the forecast, and nothing before it is scored.

Forecasters, all from the same origins (:mod:`sim.forecast.forecasters`): ``class_model`` (the
outlook's own projection), ``reference_class`` (the Kaplan–Meier days-to-fall of the origin's
class by distance band, no simulation), ``persistence`` (the front stands still: never) and
``trailing_rate`` (the place's own 90-day closing rate, extrapolated).

Scores of a fall day seen only up to ``cap``, each defined so that a place that had not fallen
is neither dropped nor counted as fallen:

- the censored CRPS (:func:`sim.forecast.scores.censored_crps`), in days;
- the randomised PIT; a censored outcome's PIT is uniform on [F(cap), 1], the interval the
  data allow (the randomised PIT of the capped members at the cap);
- coverage of the central 50% and 90% intervals: a fall inside the interval counts 1; a
  censored outcome counts the forecast's own probability that a fall at or after ``cap`` lies
  in the interval (the interval's mass there over the forecast's mass there; none: 0), so a
  forecast is credited only as far as it expected to be;
- the Brier score of "fallen within 30/90/180/365 days", over the cases whose outcome is known
  at that horizon (fallen, or seen standing beyond it), beside the Brier score of always saying
  those cases' own share fallen (the base rate, known only after the fact, so a baseline harder
  to beat than any rate known at the origin).

All pooled, and by distance band at the origin (0–2, 2–5, 5–10, 10–30 km), because errors
differ with the distance; by how surrounded the place was at the origin (the share of bearings
with held ground within the radius: up to a quarter, to a half, beyond); and by the local
front's activity (held km² gained within ``ACTIVITY_RADIUS_KM`` of the place per day over the
``ACTIVITY_DAYS`` before the origin: none, slow, active). The groups' edges were fixed before
any score was seen. Cases of one place at successive origins share its outcome: the pooled PIT
test's p-value is optimistic.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..data.covariates import ACTIVITY_DAYS, ACTIVITY_RADIUS_KM
from ..errors import AdvsimError
from ..fitting.advance_fit import AdvanceFit, fit
from ..fitting.reference import WITHIN_KM, ClassError, KaplanMeier, ReferenceClass, km_by_band
from ..fitting.stall_effects import ACTIVITY_EDGES_KM2_PER_DAY
from ..seeds import child_rng, name_key, outlook_seed
from . import scores as S
from .forecasters import (
    CLASS_MODEL,
    FALL_BASELINES,
    PERSISTENCE,
    REFERENCE_CLASS,
    TRAILING_RATE,
    persistence_fall,
    reference_class_fall,
    trailing_rate_fall,
)
from .outlook import (
    KEPT,
    RADIUS_KM,
    Standing,
    attacked_of,
    class_of,
    covariates_for,
    fit_class,
    map_extent,
    place_scenario,
    project,
    stall_effects_of,
    standing,
    with_covariates,
)

if TYPE_CHECKING:
    from ..data.covariates import Covariates
    from ..data.front import FrontSeries
    from ..model.scenario import Scenario
    from ..running.executors import Executor

EVERY_DAYS = 60
REPLICATIONS = 1000
BANDS_KM = (0.0, 2.0, 5.0, 10.0, 30.0)
BRIER_DAYS = (30, 90, 180, 365)
SURROUNDED_GROUPS = (0.0, 0.25, 0.5, 1.0)  # share of bearings with held ground
ACTIVITY_GROUPS = (("none", ACTIVITY_EDGES_KM2_PER_DAY[0]),  # km²/day, up to
                   ("slow", ACTIVITY_EDGES_KM2_PER_DAY[1]), ("active", float("inf")))
FORECASTS = (CLASS_MODEL, *FALL_BASELINES)
MIN_SCORED_DAYS = 30  # an origin needs at least this many days of maps after it


class ForwardError(AdvsimError):
    """A forward evaluation that cannot be made as asked."""


@dataclass(frozen=True, kw_only=True)
class ForwardCase:
    """One place at one origin: where it stood, what happened, and every forecast's members
    (days to the fall, inf: not within the simulated horizon)."""

    place: str  # slug
    name: str
    origin: dt.date
    distance_km: float
    regime: str
    regime_days: int
    observed_days: float  # the fall day after the origin, or cap
    fell: bool
    cap: float  # days from the origin to one day past the last map
    members: dict[str, np.ndarray]
    surrounded: float = 0.0  # share of bearings with held ground within the radius
    activity_km2_per_day: float = 0.0  # held km² gained nearby per day before the origin

    @property
    def band(self) -> tuple[float, float]:
        for lo, hi in itertools.pairwise(BANDS_KM):
            if lo < self.distance_km <= hi:
                return lo, hi
        return BANDS_KM[-2], BANDS_KM[-1]

    @property
    def surrounded_group(self) -> str:
        for lo, hi in itertools.pairwise(SURROUNDED_GROUPS):
            if self.surrounded <= hi:
                return f"{lo:g}-{hi:g}"
        return f"{SURROUNDED_GROUPS[-2]:g}-{SURROUNDED_GROUPS[-1]:g}"

    @property
    def activity_group(self) -> str:
        return next(name for name, top in ACTIVITY_GROUPS if self.activity_km2_per_day <= top)


def rolling_origins(dates: Sequence[dt.date], every_days: int = EVERY_DAYS) -> list[dt.date]:
    """Map dates at least ``every_days`` apart, from the first map with ``every_days`` of maps
    before it to the last with ``MIN_SCORED_DAYS`` of maps after it."""
    if every_days < 1:
        raise ForwardError(f"--every must be a whole number of days >= 1 (got {every_days})")
    first, last = dates[0] + dt.timedelta(days=every_days), dates[-1]
    out: list[dt.date] = []
    for d in dates:
        if d < first or (last - d).days < MIN_SCORED_DAYS:
            continue
        if not out or (d - out[-1]).days >= every_days:
            out.append(d)
    return out


def observed_fall(series: FrontSeries, j: int, k: int) -> tuple[float, bool, float]:
    """Place ``j``'s fall after map ``k``: (days, fell, cap)."""
    origin = series.dates[k]
    cap = float((series.dates[-1] - origin).days + 1)
    later = np.flatnonzero(series.distance_km[k + 1:, j] <= 0)
    if later.size:
        return float((series.dates[k + 1 + later[0]] - origin).days), True, cap
    return cap, False, cap


def evaluate_forward(series: FrontSeries, origins: Sequence[dt.date], *,
                     radius_km: float = RADIUS_KM, within_km: float = WITHIN_KM,
                     replications: int = REPLICATIONS, seed: int = 1, jobs: int | None = 1,
                     executor: str | Executor = "local", scheduler: str | None = None,
                     fitted: Callable[[ReferenceClass], AdvanceFit] = fit,
                     extensions: frozenset[str] = KEPT, covariates: Covariates | None = None,
                     on_chunk: Callable[[int, int], None] | None = None) -> Forward:
    """Outlooks at every origin, fitted on the maps up to it, scored on the maps after it,
    the model with ``extensions``; the covariates of every map (``covariates``, else measured
    here) give the places' surroundings and the local front's activity, and the extensions
    that read them, each origin cut to its maps."""
    if not origins:
        raise ForwardError("no origin to score: the maps span too little time (an origin "
                           f"needs maps before it and {MIN_SCORED_DAYS} days of maps after it)")
    cov_all = covariates_for(series, radius_km, covariates)
    plans: list[tuple[int, list[Standing], ReferenceClass]] = []
    skipped: list[tuple[dt.date, str]] = []
    runs: list[Scenario] = []
    for o in origins:
        k = series.index_of(o)
        if k + 1 >= len(series.dates):
            skipped.append((o, "no map after it"))
            continue
        known = series.upto(series.dates[k])
        stands = standing(known, radius_km, map_extent(known))
        cls = class_of(known, within_km=within_km)
        try:
            model = fit_class(cls, extensions, fitted)
        except ClassError as e:
            skipped.append((series.dates[k], f"no class to fit ({e.message})"))
            continue
        if not stands:
            skipped.append((series.dates[k], "no place within the radius"))
            continue
        cov = cov_all.upto(k)
        stands = with_covariates(stands, known, cov)
        effects = stall_effects_of(cls, known, cov, extensions)
        attacked = attacked_of(known, cov, extensions, within_km)
        horizon = (series.dates[-1] - series.dates[k]).days + 1
        at = series.dates[k].isoformat()
        runs.extend(place_scenario(model, s, series.dates[k], horizon_days=horizon,
                                   replications=replications,
                                   seed=outlook_seed(seed, f"{s.place.slug}@{at}"),
                                   extensions=extensions, effects=effects,
                                   attacked=attacked)
                    for s in stands)
        plans.append((k, stands, cls))
    if not plans:
        raise ForwardError("no origin could be scored: " + "; ".join(
            f"{d}: {why}" for d, why in skipped))
    simulated = iter(project(runs, jobs=jobs, executor=executor, scheduler=scheduler,
                             on_chunk=on_chunk))
    index = {p.slug: j for j, p in enumerate(series.places)}
    cases: list[ForwardCase] = []
    for k, stands, cls in plans:
        origin = series.dates[k]
        cls_origins = cls.origins()
        bands = km_by_band(cls_origins)
        pooled = KaplanMeier.fit([o.days for o in cls_origins], [o.fell for o in cls_origins])
        rel = np.array([(d - origin).days for d in series.dates[:k + 1]], dtype=float)
        for s in stands:
            j = index[s.place.slug]
            fall_day, fell, cap = observed_fall(series, j, k)
            members = {
                CLASS_MODEL: next(simulated),
                REFERENCE_CLASS: reference_class_fall(bands, pooled, s.distance_km, cap,
                                                      replications),
                PERSISTENCE: persistence_fall(cap),
                TRAILING_RATE: trailing_rate_fall(s.distance_km, rel,
                                                  series.distance_km[:k + 1, j], cap),
            }
            # A baseline puts "not by the end of the data" at cap: beyond the data, as inf.
            members = {k: (v if k == CLASS_MODEL else np.where(v >= cap, np.inf, v))
                       for k, v in members.items()}
            cases.append(_case(s, origin, fall_day, fell, cap, members))
    return Forward(cases=cases, origins=tuple(series.dates[k] for k, _, _ in plans),
                   skipped=tuple(skipped), radius_km=radius_km, replications=replications,
                   seed=seed, last_map=series.dates[-1], extensions=tuple(sorted(extensions)))


def _case(s: Standing, origin: dt.date, days: float, fell: bool, cap: float,
          members: dict[str, np.ndarray]) -> ForwardCase:
    return ForwardCase(place=s.place.slug, name=s.place.name, origin=origin,
                       distance_km=s.distance_km, regime=s.regime, regime_days=s.regime_days,
                       observed_days=days, fell=fell, cap=cap, members=members,
                       surrounded=s.surrounded, activity_km2_per_day=s.activity_km2_per_day)


# -- scores ---------------------------------------------------------------------------------------


def coverage(x: np.ndarray, y: float, fell: bool, cap: float, level: float) -> float:
    """The central ``level`` interval's coverage of a fall day seen to ``cap`` (see the
    module): 0/1 for a fall; for a censored outcome, the forecast's own probability that a
    fall after ``cap`` lies within the interval."""
    lo, hi = np.quantile(x, [(1 - level) / 2, (1 + level) / 2], method="inverted_cdf")
    if fell:
        return float(lo <= y <= hi)
    beyond = x >= cap  # not fallen by the last map (a baseline's "never" is capped there)
    if not beyond.any():
        return 0.0
    inside = beyond & (x >= lo) & (x <= hi)
    return float(inside.sum() / beyond.sum())


def case_scores(c: ForwardCase, name: str, rng: np.random.Generator) -> dict:
    x = np.asarray(c.members[name], dtype=float)
    capped = np.minimum(x, c.cap)
    y = c.observed_days
    brier = {}
    for h in BRIER_DAYS:
        if c.fell or c.cap > h:
            brier[h] = (float(np.mean(x <= h)), float(c.fell and y <= h))
    return {"crps": S.censored_crps(x, y, fell=c.fell, cap=c.cap),
            "pit": float(S.pit(capped, min(y, c.cap), rng)),
            "c50": coverage(x, y, c.fell, c.cap, 0.5),
            "c90": coverage(x, y, c.fell, c.cap, 0.9),
            "brier": brier}


def pooled_scores(cases: Sequence[ForwardCase], name: str, rng: np.random.Generator) -> dict:
    each = [case_scores(c, name, rng) for c in cases]
    pits = [e["pit"] for e in each]
    out = {"cases": len(each), "fell": sum(c.fell for c in cases),
           "crps_days": float(np.mean([e["crps"] for e in each])) if each else None,
           "coverage_50": float(np.mean([e["c50"] for e in each])) if each else None,
           "coverage_90": float(np.mean([e["c90"] for e in each])) if each else None,
           "mean_pit": float(np.mean(pits)) if each else None,
           "pit": S.pit_uniformity(pits)}
    for h in BRIER_DAYS:
        pairs = [e["brier"][h] for e in each if h in e["brier"]]
        out[f"brier_{h}"] = (S.brier([p for p, _ in pairs], [o for _, o in pairs])
                             if pairs else None)
        out[f"brier_{h}_cases"] = len(pairs)
        # Always saying the cases' own share fallen by h (known only after the fact: a baseline
        # harder to beat than any rate known at the origin).
        share = float(np.mean([o for _, o in pairs])) if pairs else None
        out[f"brier_{h}_base_rate"] = None if share is None else share * (1 - share)
    return out


@dataclass(frozen=True, kw_only=True)
class Forward:
    """Every case of a forward evaluation, and their scores."""

    cases: list[ForwardCase]
    origins: tuple[dt.date, ...]
    skipped: tuple[tuple[dt.date, str], ...]
    radius_km: float
    replications: int
    seed: int
    last_map: dt.date
    extensions: tuple[str, ...] = ()

    def __repr__(self) -> str:
        from ..presentation.notebook import count, short

        return short("Forward", f"evaluation to {self.last_map}",
                     [f"{count(len(self.cases), 'projection')} of "
                      f"{count(len({c.place for c in self.cases}), 'place')}",
                      f"from {count(len(self.origins), 'origin')}",
                      f"{sum(c.fell for c in self.cases):,} fell"])

    def _repr_html_(self) -> str:
        """A notebook's view: the pooled scores of every forecaster."""
        from ..presentation.notebook import html

        pooled = self.table()["pooled"]
        return html(f"Forward evaluation to {self.last_map}",
                    f"{len(self.cases):,} projections from {len(self.origins)} origins, "
                    f"each fitted on the maps up to its origin only",
                    ["forecast", "cover 50%", "cover 90%", "mean PIT", "CRPS d"],
                    [(name, s["coverage_50"], s["coverage_90"], s["mean_pit"], s["crps_days"])
                     for name, s in pooled.items()])

    def table(self) -> dict:
        """Pooled and by-band scores of every forecaster, with CRPS skill against each
        baseline (1 − CRPS / the baseline's CRPS)."""
        def block(cases: Sequence[ForwardCase]) -> dict:
            rng = child_rng(self.seed, name_key("outlook:pit"))
            got = {name: pooled_scores(cases, name, rng) for name in FORECASTS}
            for name, s in got.items():
                s["crps_skill"] = {
                    b: (S.crps_skill(s["crps_days"], got[b]["crps_days"])
                        if s["crps_days"] is not None and got[b]["crps_days"] is not None
                        else None)
                    for b in FALL_BASELINES if b != name}
            return got

        by_band = {}
        for lo, hi in itertools.pairwise(BANDS_KM):
            mine = [c for c in self.cases if c.band == (lo, hi)]
            if mine:
                by_band[f"{lo:g}-{hi:g}"] = block(mine)

        def grouped(key: Callable[[ForwardCase], str], names: Sequence[str]) -> dict:
            return {g: block(mine) for g in names
                    if (mine := [c for c in self.cases if key(c) == g])}
        return {"origins": [o.isoformat() for o in self.origins],
                "skipped": [{"origin": d.isoformat(), "why": why} for d, why in self.skipped],
                "cases": len(self.cases), "places": len({c.place for c in self.cases}),
                "fell": sum(c.fell for c in self.cases), "radius_km": self.radius_km,
                "replications": self.replications, "seed": self.seed,
                "last_map": self.last_map.isoformat(), "bands_km": list(BANDS_KM),
                "extensions": list(self.extensions),
                "pooled": block(self.cases), "by_band": by_band,
                "by_surrounded": grouped(
                    lambda c: c.surrounded_group,
                    [f"{a:g}-{b:g}" for a, b in itertools.pairwise(SURROUNDED_GROUPS)]),
                "by_activity": grouped(lambda c: c.activity_group,
                                       [name for name, _ in ACTIVITY_GROUPS]),
                "activity": {"radius_km": ACTIVITY_RADIUS_KM, "days": ACTIVITY_DAYS,
                             "groups_km2_per_day": dict(ACTIVITY_GROUPS[:-1])}}
