"""The outlook: every place near the front on a date, and when each may fall.

From the snapshots up to the outlook's date ``D`` only (:class:`sim.data.front.FrontSeries`
measured to every place of a gazetteer):

1. **The places asked about**: every place within ``radius_km`` of the held territory on the
   last map on or before ``D`` and still outside it.
2. **Where each stands**: its distance; the regime of the front's last step towards it
   (:func:`sim.fitting.reference.classify`: stalled, grinding, surging, setback) and how long
   the steps before it have been in that regime; the held km² within the radius and the share
   of bearings with held ground (how far it is surrounded).
3. **The class**: the approaches of *every* place of the gazetteer whose front came within
   ``within_km`` on or before ``D`` (:func:`class_of`), attacked or not, so the class is not
   only the towns the front came for; the advance model is fitted to it
   (:func:`sim.fitting.advance_fit.fit`), knowing nothing after ``D``.
4. **The projection**: each place is its own one-sector scenario (the fitted advance from the
   distance remaining, starting in the regime it is in), all run as one batch
   (:mod:`sim.running.batch`); place ``P`` runs with ``outlook_seed(seed, P)``, so its
   scenario file run alone (``--scenarios``) gives the same numbers.
5. **The fall's definition**: the headline counts a place fallen once its point lies inside the
   held territory, the contested (grey) zone not counted. Each place is read again under
   :data:`FALL_DEFINITIONS` (the point 0.5 km nearer or farther, the grey zone counted), on
   one more run of the same paths (:mod:`sim.running.readings`), so a user sees how much the
   answer rests on those choices.

The advance model's extensions (:data:`EXTENSIONS`; the default is what forward evaluation
kept, :data:`KEPT`): ``time-in-regime`` starts a place's regime part-way through, its first
sojourn the residual beyond the days the place has spent in it; ``activity``, ``encirclement``,
``tempo`` and ``approach-phase`` make the stalled sojourn depend on where the place stands
(:mod:`sim.fitting.stall_effects`), read from the covariates of every map
(:mod:`sim.data.covariates`).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import AdvsimError
from ..fitting.advance_fit import AdvanceFit, approach_scenario, fit
from ..fitting.attacked import AttackedFit, fit_attacked, labelled
from ..fitting.reference import WITHIN_KM, ReferenceClass, approach, classify
from ..fitting.stall_effects import TERMS, StallEffects, Where, fit_stall_effects
from ..seeds import outlook_seed

if TYPE_CHECKING:
    from ..data.covariates import Covariates
    from ..data.front import FrontSeries
    from ..data.snapshots import LayerMap
    from ..data.towns import Place
    from ..model.scenario import Observed, Scenario
    from ..running.executors import Executor

RADIUS_KM = 30.0
HORIZON_DAYS = 730
REPLICATIONS = 10_000
WITHIN_DAYS = (30, 90, 180, 365)  # P(fallen within) columns
QUANTILES = (0.1, 0.5, 0.9)


class OutlookError(AdvsimError):
    """An outlook that cannot be made as asked (no map by the date, no place in range)."""


@dataclass(frozen=True, kw_only=True)
class Standing:
    """Where a place stands on the outlook's map."""

    place: Place
    distance_km: float
    regime: str
    regime_days: int  # how long the steps up to the map have been in ``regime``
    held_km2: float = 0.0
    surrounded: float = 0.0  # share of bearings with held ground within the radius
    activity_km2_per_day: float = 0.0  # held km² gained within 10 km per day, last 90 days
    tempo_km2_per_day: float = 0.0  # the whole map's held km² gained per day, last 90 days
    axis_km2_per_day: float = 0.0  # held km² gained within the radius per day, last 90 days
    # The distance with the contested (grey) zone counted as held (<= distance_km; <= 0: the
    # place is in the grey zone), None where not measured (a named held layer).
    distance_contested_km: float | None = None

    @property
    def where(self) -> Where:
        return Where(distance_km=self.distance_km, activity_km2_per_day=self.activity_km2_per_day,
                     surrounded=self.surrounded, tempo_km2_per_day=self.tempo_km2_per_day)


@dataclass(frozen=True, kw_only=True)
class PlaceOutlook:
    """One place's projection: days from the map to its fall (inf: not within the horizon)."""

    standing: Standing
    fall_days: np.ndarray
    seed: int
    # The fall under the other definitions (FALL_DEFINITIONS), read on one more run of the
    # same paths (sim.running.readings); empty where not read.
    readings: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def p_within(self, days: float, reading: str | None = None) -> float:
        """P(fallen within ``days``), under the fall definition ``reading`` (None: the
        headline's)."""
        return float(np.mean(self._days(reading) <= days))

    def quantile_days(self, q: float, reading: str | None = None) -> float:
        """The ``q`` quantile of the fall day (inf where it lies beyond the horizon)."""
        x = np.sort(self._days(reading))
        k = int(np.ceil(q * len(x))) - 1
        return float(x[max(k, 0)])

    def _days(self, reading: str | None) -> np.ndarray:
        if reading is None:
            return self.fall_days
        if reading not in self.readings:
            raise OutlookError(f"no reading {reading!r} of {self.standing.place.name} (read: "
                               f"{', '.join(self.readings) or 'none'})", param="reading")
        return self.readings[reading]


@dataclass(frozen=True, kw_only=True)
class Outlook:
    asked: dt.date
    map_date: dt.date
    places: list[PlaceOutlook]  # by risk: P(fallen within 180 days), then nearest
    fit: AdvanceFit
    cls: ReferenceClass
    radius_km: float
    horizon_days: int
    replications: int
    seed: int
    files: tuple[str, ...]  # the snapshots read (map dates up to map_date)
    held: str
    layer_map: LayerMap | None = field(default=None, repr=False)
    scenarios: dict[str, Scenario] = field(default_factory=dict, repr=False)
    extensions: tuple[str, ...] = ()  # of the advance model (EXTENSIONS)
    stall_effects: StallEffects | None = field(default=None, repr=False)
    attacked: AttackedFit | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        from ..presentation.notebook import count, short

        return short("Outlook", f"of {self.map_date}",
                     [f"{count(len(self.places), 'place')} within {self.radius_km:g} km",
                      f"{self.replications:,} replications a place over "
                      f"{self.horizon_days} days", f"seed {self.seed}"])

    def _repr_html_(self, top: int = 10) -> str:
        """A notebook's view: the ``top`` places by risk, with P(fallen) and the median date."""
        from ..presentation.notebook import html

        rows = []
        for p in self.places[:top]:
            s, mid = p.standing, p.quantile_days(0.5)
            rows.append((s.place.name, f"{s.distance_km:.1f}", f"{s.regime} ({s.regime_days} d)",
                         f"{p.p_within(90):.2f}", f"{p.p_within(365):.2f}",
                         (self.map_date + dt.timedelta(days=int(mid))).isoformat()
                         if np.isfinite(mid) else f"> {self.horizon_days} d"))
        return html(f"Outlook of {self.map_date}",
                    f"{len(self.places)} places within {self.radius_km:g} km of the held "
                    f"territory, by risk · {self.replications:,} replications a place",
                    ["place", "km", "regime", "P(90 d)", "P(365 d)", "P50 date"], rows,
                    more=len(self.places) - top)

    def plot(self, output: str | os.PathLike[str] | None = None):
        """The outlook's map: a matplotlib Figure, or with ``output`` that file and its
        path."""
        from ..presentation.charts import figure_or_file, require_matplotlib
        from ..presentation.charts.outlook import outlook_figure

        require_matplotlib()
        return figure_or_file(outlook_figure(self), output)


# -- the model's extensions ------------------------------------------------------------------------

TIME_IN_REGIME = "time-in-regime"
EXTENSIONS = {
    TIME_IN_REGIME: "each place's regime starts part-way through: its first sojourn is what is "
                    "left of the regime's law beyond the days the place has spent in it",
    "activity": "a stall's length depends on the local front's activity (held km² gained within "
                "10 km over the last 90 days: quiet, slow or active)",
    "encirclement": "a stall's length depends on the share of bearings with held ground within "
                    "the radius",
    "tempo": "a stall's length depends on the theatre's tempo (the whole map's km² gained per "
             "day over the last 90 days)",
    "approach-phase": "a stall's length depends on the distance band the place stands in "
                      "(0-2, 2-5, 5-10, beyond 10 km)",
}
ATTACKED = "attacked"
EXTENSIONS[ATTACKED] = ("a place's front may not come at all: the chance it comes within the "
                        "projection from a logistic model of 'the front came 1 km nearer within "
                        "a year' on the activity within the radius and the distance, fitted to "
                        "every place on every map; otherwise its base pace is zero")
COVARIATE_EXTENSIONS = frozenset(TERMS) | {ATTACKED}  # the extensions that read the covariates
RECENT_YEAR = "recent-year"
RECENT_DAYS = 365
EXTENSIONS[RECENT_YEAR] = ("the advance is fitted to the class's last 365 days of steps only (each "
                           "approach seen from a year before the date), so a projection made in "
                           "an offensive year differs from one made in a quiet year")
# What forward evaluation kept (docs/outlook.md, the ablation): the outlook's default.
KEPT: frozenset[str] = frozenset({TIME_IN_REGIME})


def extensions_of(names) -> frozenset[str]:
    """The extensions named (``None``: the kept ones), each checked."""
    if names is None:
        return KEPT
    got = frozenset(names)
    unknown = sorted(got - set(EXTENSIONS))
    if unknown:
        raise OutlookError(f"unknown model extension {unknown[0]!r} (known: "
                           f"{', '.join(sorted(EXTENSIONS))})", param="extensions")
    return got


# -- the fall's definition ------------------------------------------------------------------------

SHIFT_KM = 0.5  # how far the centre point is known (towns.csv: GeoNames points within ~0.7 km)
NEARER, FARTHER, CONTESTED = "nearer", "farther", "contested"
FALL_DEFINITIONS = {  # reading -> what the fall means under it
    NEARER: f"the centre {SHIFT_KM:g} km nearer",
    FARTHER: f"the centre {SHIFT_KM:g} km farther",
    CONTESTED: "the contested (grey) zone counted as held",
}


def with_contested(stands: list[Standing], series: FrontSeries,
                   cache: Path | None = None) -> list[Standing]:
    """The places with their distance on the series' last map when the contested (grey) zone
    counts as held, measured in the series' own frame (:func:`sim.data.front.front_series`,
    cached under that convention); unchanged where the held territory is a named layer."""
    from dataclasses import replace

    from ..data.front import ATTACKER_HELD, front_series

    if series.held != ATTACKER_HELD or not stands:
        return stands
    got = front_series([series.files[-1]], series.places, layer_map=series.layer_map,
                       contested="attacker", cache=cache)
    column = {p.slug: j for j, p in enumerate(series.places)}
    # Counting more ground as held never moves it away: the min keeps that exact where the
    # unions' seam closing differs by a few millimetres.
    return [replace(s, distance_contested_km=min(
        float(got.distance_km[0, column[s.place.slug]]), s.distance_km)) for s in stands]


def read_definitions(scenarios: Sequence[Scenario], stands: Sequence[Standing], *,
                     jobs: int | None = 1, executor: str | Executor = "local",
                     scheduler: str | None = None,
                     on_chunk: Callable[[int, int], None] | None = None
                     ) -> list[dict[str, np.ndarray]]:
    """Each place's fall day under every definition of :data:`FALL_DEFINITIONS` (and the
    headline's, ``objective``), read on one more run of its scenario with its seed and
    replications, run on ``SHIFT_KM`` past the centre (:mod:`sim.running.readings`)."""
    from ..model.scenario import AxisSector
    from ..running.readings import readings_batch

    items = []
    for sc, s in zip(scenarios, stands):
        [sector] = sc.sectors
        assert isinstance(sector, AxisSector)  # a place's approach is an axis
        pts = {} if s.distance_contested_km is None else {
            sector.name: {CONTESTED: min(s.distance_contested_km, sector.length_km)}}
        items.append((sc, sc.replications, sc.seed, pts))
    got = readings_batch(items, shift_km=SHIFT_KM, jobs=jobs, executor=executor,
                         scheduler=scheduler, on_chunk=on_chunk)
    return [next(iter(g.values())) for g in got]


# -- where a place stands -------------------------------------------------------------------------


def regime_now(dates: Sequence[dt.date], distance_km: np.ndarray) -> tuple[str | None, int]:
    """The regime of the last step of a series and the days its run of steps has lasted
    (None, 0 with fewer than two observations)."""
    if len(dates) < 2:
        return None, 0
    states: list[tuple[str, int]] = []
    for i in range(len(dates) - 1, 0, -1):
        days = (dates[i] - dates[i - 1]).days
        state = classify(float(distance_km[i - 1] - distance_km[i]) * 1000.0 / days)
        if states and state != states[0][0]:
            break
        states.append((state, days))
    return states[0][0], sum(d for _, d in states)


def class_of(series: FrontSeries, *, within_km: float = WITHIN_KM) -> ReferenceClass:
    """The reference class of every place in ``series`` (up to its last map)."""
    approaches = []
    for j, p in enumerate(series.places):
        a = approach(p.slug, series.dates, series.distance_km[:, j], within_km,
                     source=p.name)
        if a is not None:
            approaches.append(a)
    until = series.dates[-1]
    first, last = series.files[0], series.files[-1]
    where = f"{first.name} … {last.name}" if len(series.files) > 1 else first.name
    return ReferenceClass(until=until, within_km=float(within_km),
                          approaches=tuple(approaches),
                          file=f"{len(series.files)} maps ({where} in {last.parent})")


def standing(series: FrontSeries, radius_km: float = RADIUS_KM,
             extent: tuple[float, float, float, float] | None = None) -> list[Standing]:
    """Every place within ``radius_km`` of the held territory on the series' last map and
    outside it, with its regime (not yet its surroundings); with ``extent`` (the map's lon/lat
    box, W, S, E, N), only the places inside it: beyond a clipped map's edge the held
    territory is not seen."""
    last = series.distance_km[-1]
    out = []
    for j in np.flatnonzero((last > 0) & (last <= radius_km)):
        p = series.places[j]
        if extent is not None and not (extent[0] <= p.lon <= extent[2]
                                       and extent[1] <= p.lat <= extent[3]):
            continue
        state, days = regime_now(series.dates, series.distance_km[:, j])
        out.append(Standing(place=p, distance_km=float(last[j]), regime=state or "stalled",
                            regime_days=days))
    return out


def map_extent(series: FrontSeries) -> tuple[float, float, float, float] | None:
    """The lon/lat box the last map was clipped to (None: not clipped)."""
    from ..data.front import read_held

    return read_held(series.files[-1], series.layer_map, series.held).clip_bbox


def with_surroundings(stands: list[Standing], series: FrontSeries,
                      radius_km: float = RADIUS_KM) -> list[Standing]:
    """The places with the held km² and share of bearings around them on the last map."""
    from dataclasses import replace

    if not stands:
        return stands
    (got,) = surroundings_on(series, len(series.files) - 1, [s.place for s in stands],
                             radius_km)
    return [replace(s, held_km2=float(got.held_km2[i]), surrounded=float(got.surrounded[i]))
            for i, s in enumerate(stands)]


def surroundings_on(series: FrontSeries, k: int, places: Sequence[Place],
                    *radii_km: float):
    """What map ``k`` of ``series`` shows around ``places`` within each radius: distance, held
    km² and the share of bearings with held ground (:class:`sim.data.front.Surroundings`), a
    tuple of one for each radius, from one reading of the map."""
    from ..data.front import Frame, held_polygons, held_union, read_held, surroundings

    frame = Frame.around(places)
    snap = read_held(series.files[k], series.layer_map, series.held)
    union = held_union(frame, held_polygons(snap, series.layer_map, series.held))
    points = frame.points(places)
    return tuple(surroundings(union, points, r) for r in radii_km)


def with_covariates(stands: list[Standing], series: FrontSeries,
                    cov: Covariates) -> list[Standing]:
    """The places with what the covariates' table says of them on the series' last map."""
    from dataclasses import replace

    k = len(series.dates) - 1
    index = {p.slug: j for j, p in enumerate(series.places)}
    act, axis, tempo = cov.activity(k), cov.axis_activity(k), cov.tempo(k)
    out = []
    for s in stands:
        j = index[s.place.slug]
        out.append(replace(s, held_km2=float(cov.held_km2[k, j]),
                           surrounded=float(cov.surrounded[k, j]),
                           activity_km2_per_day=float(act[j]), tempo_km2_per_day=tempo,
                           axis_km2_per_day=float(axis[j])))
    return out


def stall_effects_of(cls: ReferenceClass, series: FrontSeries, cov: Covariates,
                     extensions: frozenset[str]) -> StallEffects | None:
    """The stall law with the covariates of ``extensions`` fitted to the class's stalls, each
    read where its place stood on the map the stall began (None: no such extension)."""
    if not extensions & frozenset(TERMS):
        return None
    index = {p.slug: j for j, p in enumerate(series.places)}
    when = {d: k for k, d in enumerate(series.dates)}
    days, censored, where = [], [], []
    for sp in cls.spells():
        if sp.state != "stalled":
            continue
        k, j = when[sp.start], index[sp.town]
        days.append(sp.days)
        censored.append(sp.censored)
        where.append(Where(distance_km=float(series.distance_km[k, j]),
                           activity_km2_per_day=float(cov.activity(k)[j]),
                           surrounded=float(cov.surrounded[k, j]),
                           tempo_km2_per_day=cov.tempo(k)))
    if len(days) < 3:
        return None
    return fit_stall_effects(days, censored, where, sorted(extensions & frozenset(TERMS)))


def attacked_of(series: FrontSeries, cov: Covariates, extensions: frozenset[str],
                within_km: float = WITHIN_KM) -> AttackedFit | None:
    """With ``attacked``, the chance a place's front comes at all, fitted to every place on
    every map of the series (None: not asked, or too few cases of either outcome)."""
    if ATTACKED not in extensions:
        return None
    return fit_attacked(*labelled(series, cov, within_km))


def recent(cls: ReferenceClass, days: int = RECENT_DAYS) -> ReferenceClass:
    """The class seen over its last ``days`` only: each approach from its first observation on
    or after ``until − days`` (its earlier steps dropped; one that ended before, dropped)."""
    from dataclasses import replace

    cut = cls.until - dt.timedelta(days=days)
    out = []
    for a in cls.approaches:
        if a.dates[a.end] <= cut:
            continue
        start = max(a.start, next(i for i, d in enumerate(a.dates) if d >= cut))
        if start < a.end:
            out.append(replace(a, start=start))
    return replace(cls, approaches=tuple(out))


def fit_class(cls: ReferenceClass, extensions: frozenset[str],
              fitted: Callable[[ReferenceClass], AdvanceFit] = fit) -> AdvanceFit:
    """The advance fitted to the class (with ``recent-year``, to its last year), falling back
    to the whole class where the last year has too little movement to fit."""
    from ..fitting.reference import ClassError

    if RECENT_YEAR in extensions:
        try:
            return fitted(recent(cls))
        except ClassError:
            pass
    return fitted(cls)


# -- the projection -------------------------------------------------------------------------------


def traced(series: FrontSeries, place: Place) -> Observed | None:
    """The place's distances on the maps of ``series`` in its last ``OBSERVED_DAYS``, while
    it stood outside the held territory, as a scenario's ``observed:`` history (at most
    ``OBSERVED_MOST`` points, the last kept); None where there are none."""
    from ..model.scenario import OBSERVED_DAYS, Observed

    j = series.places.index(place)
    since = series.dates[-1] - dt.timedelta(days=OBSERVED_DAYS)
    keep = [k for k, d in enumerate(series.dates)
            if d >= since and np.isfinite(series.distance_km[k, j])
            and series.distance_km[k, j] >= 0]
    if not keep:
        return None
    source = (f"advsim outlook: distance from the held territory ({series.held}) to "
              f"{place.name}, maps {series.files[keep[0]].name} to {series.files[keep[-1]].name}")
    return Observed.thinned(source, [series.dates[k] for k in keep],
                            [round(float(series.distance_km[k, j]), 3) for k in keep])


def place_scenario(model: AdvanceFit, s: Standing, start: dt.date, *, horizon_days: int,
                   replications: int, seed: int,
                   extensions: frozenset[str] = KEPT,
                   effects: StallEffects | None = None,
                   attacked: AttackedFit | None = None,
                   observed: Observed | None = None) -> Scenario:
    """One place's approach as a scenario: the fitted advance from its distance, in its
    regime, from ``start``, with the run seed ``seed``; with ``time-in-regime``, that regime
    has already lasted the place's ``regime_days``; with ``effects``, its stalls last as
    long as the fitted stall law says for where it stands; with ``attacked``, its base pace is
    zero with the chance its front does not come within the horizon. ``observed``: the place's
    traced history, kept in the scenario for its fan chart (the projection does not read
    it)."""
    from dataclasses import replace

    from ..model import distributions as D

    sc = approach_scenario(model.block(), [(s.place.slug, s.distance_km, s.regime)],
                           horizon_days, start=start, replications=replications,
                           seed=seed)
    sector = replace(sc.sectors[0], objective=s.place.name, observed=observed)
    regimes = sector.advance.regimes
    if effects is not None and regimes is not None:
        mean, cv = effects.mean_cv(s.where)
        law = D.LogNormal.from_mean_cv(float(f"{mean:.4g}"), float(f"{cv:.4g}"))
        regimes = replace(regimes, states=tuple(
            replace(r, sojourn_days=law) if r.name == "stalled" else r
            for r in regimes.states))
        sector = replace(sector, advance=replace(sector.advance, regimes=regimes))
    base = sector.advance.base_m_per_day
    if attacked is not None and isinstance(base, D.LogNormal):
        p = round(attacked.p_within(s.axis_km2_per_day, s.distance_km, horizon_days), 4)
        if p < 1:
            base = D.ZeroInflatedLogNormal(p_move=max(p, 1e-4), moving_mean=base.mean,
                                           moving_cv=math.sqrt(math.expm1(base.sigma**2)))
            sector = replace(sector, advance=replace(sector.advance, base_m_per_day=base))
    regimes = sector.advance.regimes
    if (TIME_IN_REGIME in extensions and regimes is not None and s.regime_days
            and regimes.initial == s.regime):
        sector = replace(sector, advance=replace(sector.advance, regimes=replace(
            regimes, elapsed_days=float(s.regime_days))))
    return replace(sc, name=f"outlook-{s.place.slug}", sectors=(sector,),
                   description=(f"{s.place.name}: {s.distance_km:.2f} km from the held territory "
                                f"on {start}, {s.regime} for {s.regime_days} days; the advance "
                                f"fitted to the maps up to {model.until} "
                                f"({len(model.towns)} approaches)"))


def project(runs: Sequence[Scenario], *, jobs: int | None = 1,
            executor: str | Executor = "local", scheduler: str | None = None,
            on_chunk: Callable[[int, int], None] | None = None) -> list[np.ndarray]:
    """Days to the fall in each one-sector scenario (inf: not within its horizon), every
    scenario's chunks on one executor."""
    from ..running.batch import Planned, simulate_batch

    def days_of(res) -> np.ndarray:
        [out] = res.sectors.values()
        d = np.asarray(out.objective_day, dtype=float)
        return np.where(np.isfinite(d), d, np.inf)

    return simulate_batch([Planned(scenario=sc, replications=sc.replications, seed=sc.seed)
                           for sc in runs], jobs=jobs, executor=executor, scheduler=scheduler,
                          on_chunk=on_chunk, keep=days_of, bands=False)


def outlook(series: FrontSeries, day: dt.date | None = None, *, radius_km: float = RADIUS_KM,
            within_km: float = WITHIN_KM, horizon_days: int = HORIZON_DAYS,
            replications: int = REPLICATIONS, seed: int = 1, jobs: int | None = 1,
            executor: str | Executor = "local", scheduler: str | None = None,
            fitted: Callable[[ReferenceClass], AdvanceFit] = fit,
            extensions: frozenset[str] = KEPT, covariates: Covariates | None = None,
            definitions: bool = True, cache: Path | None = None,
            on_chunk: Callable[[int, int], None] | None = None,
            on_definitions: Callable[[int, int], None] | None = None) -> Outlook:
    """The outlook of every place near the front on ``day`` (default: the last map), from
    the maps up to it only (see the module), with the model's ``extensions``; those that read
    the covariates take them from ``covariates`` (measured over maps up to the day at least;
    measured here when not given). With ``definitions``, each place's fall is also read under
    :data:`FALL_DEFINITIONS` (the centre 0.5 km nearer or farther, the contested zone counted
    as held): one more run of every place (``on_definitions`` follows it), the contested
    distance measured on the outlook's map (cached in ``cache``, a folder, as the series'
    measurements are)."""
    asked = day or series.dates[-1]
    known = series.upto(series.dates[series.index_of(asked)])
    map_date = known.dates[-1]
    extent = map_extent(known)
    stands = standing(known, radius_km, extent)
    if not stands:
        w, south, e, n = extent or (0.0, 0.0, 0.0, 0.0)
        where = "" if extent is None else (f" inside the map's extent (lon {w:g} to {e:g}, "
                                           f"lat {south:g} to {n:g})")
        raise OutlookError(f"no place of the gazetteer within {radius_km:g} km of the held "
                           f"territory on {map_date} (and outside it){where}; widen "
                           "--radius-km or give other places")
    cls = class_of(known, within_km=within_km)
    model = fit_class(cls, extensions, fitted)
    effects = attacked = None
    if extensions & COVARIATE_EXTENSIONS:
        cov = covariates_for(known, radius_km, covariates)
        stands = with_covariates(stands, known, cov)
        effects = stall_effects_of(cls, known, cov, extensions)
        attacked = attacked_of(known, cov, extensions, within_km)
    else:
        stands = with_surroundings(stands, known, radius_km)
    if definitions:
        stands = with_contested(stands, known, cache)
    scenarios = {s.place.slug: place_scenario(model, s, map_date, horizon_days=horizon_days,
                                              replications=replications,
                                              seed=outlook_seed(seed, s.place.slug),
                                              extensions=extensions, effects=effects,
                                              attacked=attacked,
                                              observed=traced(known, s.place))
                 for s in stands}
    days = project(list(scenarios.values()), jobs=jobs, executor=executor,
                   scheduler=scheduler, on_chunk=on_chunk)
    read = read_definitions(list(scenarios.values()), stands, jobs=jobs, executor=executor,
                            scheduler=scheduler, on_chunk=on_definitions) if definitions \
        else [{} for _ in stands]
    places = [PlaceOutlook(standing=s, fall_days=d, seed=scenarios[s.place.slug].seed,
                           readings=r)
              for s, d, r in zip(stands, days, read)]
    places.sort(key=lambda p: (-p.p_within(180), -p.p_within(365), p.standing.distance_km))
    return Outlook(asked=asked, map_date=map_date, places=places, fit=model, cls=cls,
                   radius_km=radius_km, horizon_days=horizon_days, replications=replications,
                   seed=seed, files=tuple(str(f) for f in known.files), held=series.held,
                   layer_map=series.layer_map, scenarios=scenarios,
                   extensions=tuple(sorted(extensions)), stall_effects=effects,
                   attacked=attacked)


def covariates_for(series: FrontSeries, radius_km: float,
                   given: Covariates | None = None) -> Covariates:
    """The covariates of the series' maps: ``given`` cut to them (measured over the same
    places and radius, on at least these maps), else measured."""
    from ..data.covariates import measure_covariates

    if given is None:
        return measure_covariates(series, radius_km)
    k = len(series.dates) - 1
    if (given.dates[:k + 1] != series.dates or given.radius_km != radius_km
            or given.surrounded.shape[1] != len(series.places)):
        raise OutlookError("the covariates given were measured on other maps, places or "
                           "radius than the outlook's")
    return given.upto(k)


def outlook_of_maps(inputs: Sequence[str | os.PathLike[str]], day: dt.date | None = None, *,
                    radius_km: float = RADIUS_KM, horizon_days: int = HORIZON_DAYS,
                    replications: int = REPLICATIONS, seed: int = 1,
                    min_population: int = 5000, countries: Sequence[str] = (),
                    held: str = "attacker_held", places_file: str | None = None,
                    layers_file: str | None = None, date_convention: str = "auto",
                    cache: str | os.PathLike[str] | None = None, jobs: int | None = 1,
                    definitions: bool = True) -> Outlook:
    """``advsim outlook`` in one call: the outlook on ``day`` (default: the last map) of every
    gazetteer place of ``min_population`` or more within ``radius_km`` of the held territory
    of the map snapshots ``inputs`` (files or folders). ``cache`` (a folder) keeps each map's
    measurements for the next call; without it every map is measured."""
    from ..data.front import series_near
    from ..data.snapshots import load_layer_map, snapshot_paths

    layer_map = load_layer_map(layers_file)
    if held != "attacker_held":
        layer_map.layer(held)  # an unknown layer is one line, before anything is read
    series = series_near(snapshot_paths(inputs), radius_km=radius_km, layer_map=layer_map,
                         held=held, min_population=min_population, countries=countries,
                         places_file=places_file, date_convention=date_convention,
                         cache=None if cache is None else Path(cache))
    return outlook(series, day, radius_km=radius_km, horizon_days=horizon_days,
                   replications=replications, seed=seed, jobs=jobs, definitions=definitions,
                   cache=None if cache is None else Path(cache))


# -- as tables ------------------------------------------------------------------------------------

CDF_DAYS = (30, 60, 90, 180, 270, 365, 540, 730)  # the hub table's cdf points (within horizon)


def _day_or_none(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def place_rows(o: Outlook) -> list[dict]:
    """One record per place, by risk: where it stands and its projection (None: beyond the
    horizon)."""
    rows = []
    for rank, p in enumerate(o.places, start=1):
        s, pl = p.standing, p.standing.place
        q = {f"fall_day_p{round(100 * x)}": _day_or_none(p.quantile_days(x)) for x in QUANTILES}
        dates = {k.replace("day", "date"): (None if v is None else
                                            (o.map_date + dt.timedelta(days=int(v))).isoformat())
                 for k, v in q.items()}
        rows.append({
            "rank": rank, "place": pl.slug, "name": pl.name,
            "region": getattr(pl, "region", "") or "",
            "population": getattr(pl, "population", None),
            "lat": pl.lat, "lon": pl.lon, "distance_km": round(s.distance_km, 3),
            "regime": s.regime, "regime_days": s.regime_days,
            "surrounded_share": round(s.surrounded, 3),
            "held_km2_within_radius": round(s.held_km2, 1),
            **{f"p_fallen_{d}d": round(p.p_within(d), 4) for d in WITHIN_DAYS
               if d <= o.horizon_days},
            **q, **dates, "seed": p.seed,
            **definition_columns(o, p),
        })
    return rows


def definition_columns(o: Outlook, p: PlaceOutlook) -> dict:
    """A place's fall under each other definition (:data:`FALL_DEFINITIONS`), as columns named
    for it: the contested distance, then P(fallen within N days) and the 10th/50th/90th
    percentile day and date under each; none where the readings were not made."""
    if not p.readings:
        return {}
    d = p.standing.distance_contested_km
    out: dict = {"distance_contested_km": None if d is None else round(d, 3)}
    for name in FALL_DEFINITIONS:
        if name not in p.readings:
            continue
        shift = f"{SHIFT_KM:g}km".replace(".", "_")
        tag = {NEARER: f"nearer_{shift}", FARTHER: f"farther_{shift}",
               CONTESTED: "contested_held"}[name]
        out.update({f"p_fallen_{w}d_{tag}": round(p.p_within(w, name), 4)
                    for w in WITHIN_DAYS if w <= o.horizon_days})
        for x in QUANTILES:
            v = _day_or_none(p.quantile_days(x, name))
            out[f"fall_day_p{round(100 * x)}_{tag}"] = v
            out[f"fall_date_p{round(100 * x)}_{tag}"] = (
                None if v is None else (o.map_date + dt.timedelta(days=int(v))).isoformat())
    return out


def hub_rows(o: Outlook) -> list[tuple]:
    """The projections as the hub's long table: (reference_date, target, horizon, location,
    output_type, output_type_id, value). ``target`` is ``fall_day`` (days after the
    reference date), ``horizon`` the days simulated; quantile rows at the hub's 23 levels
    (inf where beyond the horizon: an empty, null, field in the CSV), cdf rows P(fallen by day
    ``output_type_id``)."""
    from .scores import QUANTILE_LEVELS

    ref = o.map_date.isoformat()
    out = []
    for p in o.places:
        loc = p.standing.place.slug
        out += [(ref, "fall_day", o.horizon_days, loc, "quantile", level,
                 p.quantile_days(level)) for level in QUANTILE_LEVELS]
        out += [(ref, "fall_day", o.horizon_days, loc, "cdf", d, p.p_within(d))
                for d in CDF_DAYS if d <= o.horizon_days]
    return out


def summary(o: Outlook) -> dict:
    """The outlook as JSON (``--json``)."""
    f = o.fit
    return {
        "date": o.asked.isoformat(), "map_date": o.map_date.isoformat(),
        "radius_km": o.radius_km, "horizon_days": o.horizon_days,
        "replications": o.replications, "seed": o.seed, "held": o.held,
        "snapshots": len(o.files), "last_snapshot": o.files[-1] if o.files else None,
        "class": {"approaches": len(o.cls.approaches),
                  "fell": sum(a.fell for a in o.cls.approaches),
                  "within_km": o.cls.within_km, "until": o.cls.until.isoformat()},
        "advance": {"base_mean_m_per_day": round(f.base_mean_m_per_day, 2),
                    "base_cv": round(f.base_cv, 3), "noise_sd": round(f.noise_sd, 3),
                    "regimes": {r.name: {"factor": round(r.factor, 4),
                                         "sojourn_mean_days": round(r.sojourn_mean_days, 1),
                                         "sojourn_cv": round(r.sojourn_cv, 3)}
                                for r in f.regimes},
                    "extensions": list(o.extensions)},
        "fall_definitions": {
            "headline": "the place's point inside the held territory, the contested (grey) "
                        "zone not counted",
            **({"others": FALL_DEFINITIONS, "shift_km": SHIFT_KM,
                "read_on": "one more run of each place with its seed and replications, run on "
                           f"{SHIFT_KM:g} km past the centre; every other definition is a "
                           "point of those same paths"}
               if any(p.readings for p in o.places) else {})},
        "places": place_rows(o),
    }
