"""Backtests: a scenario's projection scored against what was then observed, from one origin or
from many.

From one origin (the scenario's start) the scenario runs with a checkpoint at every observation
date after it. From many origins (:func:`backtest_origins`) it runs again from each origin date,
knowing only what was known then: the observations on or before the origin, the position
observed there (each scored sector restarts from it), and the scenario's dates and events as
written (shifted to the origin; those already over are dropped).

At each scored date the ensemble of replications is scored against the observed value with
proper scoring rules and calibration checks: the fair ensemble CRPS (Ferro 2014), the weighted
interval score of the 23 forecast-hub quantiles (WIS), the coverage of the central 50% and 90%
bands, the randomised PIT (uniform when the forecast is calibrated; Czado, Gneiting & Held
2009) and the Brier score of "objective fallen by this date". Two baselines are scored the same
way, so that skill is measured against something:

- **persistence**: no further change from the position at the origin. A point forecast, scored
  as an ensemble whose members are all that position (its CRPS is the absolute error).
- **trailing rate**: the rate of the observations over the ``baseline_days`` (default 90)
  before the origin, extrapolated linearly from the position at the origin, with gamma daily
  noise of the scenario's own daily cv (iid, so the spread grows as √days). Without two
  observations in that window: the scenario's mean base rate.

Values are in the scenario's frame: km advanced since the scenario's start along an axis, km²
held in an area. A series in the ``remaining_km`` frame (distance to the objective, as ``advsim
trace`` writes it) counts km advanced as the observed distance at the start minus the distance,
and the objective falls where the observed distance reaches 0; a mismatch between the observed
distance at the start and the scenario's ``length_km`` is reported as a note, never shifted.
Observed values are clipped to the range the model can reach and put exactly on a threshold
(the objective, the start, a milestone, a line) when within float rounding of it, so that they
tie with the members there.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import __version__
from ..analysis.summary import pkey
from ..data.observed import ObservedSeries, read_observed
from ..errors import AdvsimError, ObservedError
from ..model.scenario import MAX_HORIZON_DAYS, OPEN_END, Scenario, Sector
from ..running.outcomes import Result
from ..seeds import backtest_rng, origin_seed
from .scores import QUANTILE_LEVELS, crps_skill, pit_uniformity, quantiles, score

if TYPE_CHECKING:
    from ..running.executors import Executor

BAND_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)  # the 90% and 50% central bands and median
BASELINE_DAYS = 90
BASELINES = ("persistence", "trailing_rate")
BASELINE_WORDS = {
    "persistence": "persistence (no further change from the position at the origin)",
    "trailing_rate": "trailing rate (the observed rate before the origin, extrapolated)",
}
HORIZON_BUCKET_DAYS = 30  # pooled Brier scores by horizon: days 1-30, 31-60, ...


# -- forecasts and their scores ------------------------------------------------------------------


@dataclass(kw_only=True)
class Forecast:
    """A baseline's ensemble at the scored dates, how it was made, and its scores."""

    name: str
    method: str  # in words, with its noise model
    ensemble: np.ndarray  # (members, dates)
    fallen: np.ndarray  # (members, dates)
    per_day: float | None = None  # km/day (axis) or km²/day (area) extrapolated
    scores: dict = field(default_factory=dict)


@dataclass(kw_only=True)
class SectorBacktest:
    """One sector's forecasts and observations at the scored dates (from one origin), and their
    scores."""

    sector: Sector  # as run from this origin (restarted from the observed position, if so)
    series: ObservedSeries  # every observation of the sector, for plots
    origin: dt.date
    anchor: float | None  # the observed value at the start (axis: km advanced count from it)
    position: float  # at the origin, in the scenario's frame
    days: np.ndarray  # scored observation days, after the origin
    dates: tuple[dt.date, ...]
    observed: np.ndarray  # at those days, in the scenario's frame, clipped to the model's range
    clipped: int
    unscored: int  # observation dates after the horizon
    observed_fallen: np.ndarray
    ensemble: np.ndarray  # (replications, dates)
    fallen: np.ndarray  # (replications, dates): objective fallen by the date
    baselines: dict[str, Forecast]
    scores: dict = field(default_factory=dict)
    all_positions: np.ndarray | None = None  # every observation in the scenario's frame

    @property
    def unit(self) -> str:
        return self.sector.position_unit

    # The trailing-rate baseline under the names of the single baseline of earlier releases.
    @property
    def baseline(self) -> np.ndarray:
        return self.baselines["trailing_rate"].ensemble

    @property
    def baseline_scores(self) -> dict:
        return self.baselines["trailing_rate"].scores

    def to_scenario_units(self, values: np.ndarray) -> np.ndarray:
        """Observed values as the scenario measures them (km since the start along an axis)."""
        return _to_frame(self.sector, self.series, values, self.anchor)

    def summary(self) -> dict:
        q = np.percentile(self.ensemble, BAND_PERCENTILES, axis=0)
        fell = np.flatnonzero(self.observed_fallen)
        base = {}
        for name, f in self.baselines.items():
            base[name] = {"method": f.method, "per_day": f.per_day, **f.scores,
                          "crps_skill": crps_skill(self.scores["crps"], f.scores["crps"])}
        return {
            "kind": self.sector.kind,
            "unit": self.unit,
            **self.scores,
            "crps_skill": base["trailing_rate"]["crps_skill"],
            "crps_skill_persistence": base["persistence"]["crps_skill"],
            "origin": self.origin.isoformat(),
            "position_at_origin": self.position,
            "dates": [d.isoformat() for d in self.dates],
            "days": [int(d) for d in self.days],
            "observed": [float(v) for v in self.observed],
            "bands": {pkey(p): [float(v) for v in row] for p, row in zip(BAND_PERCENTILES, q)},
            "objective": self.sector.objective,
            "objective_fell_observed": self.dates[fell[0]].isoformat() if fell.size else None,
            "observed_at_start": self.anchor,
            "frame": self.series.frame,
            "clipped": self.clipped,
            "unscored_after_horizon": self.unscored,
            "baseline": base["trailing_rate"],
            "baselines": base,
        }


@dataclass(kw_only=True)
class Backtest:
    """A scenario's run from one origin and the scores of its sectors against observed series."""

    scenario: Scenario  # as run (from the origin, to the horizon)
    result: Result
    observed_file: str
    sectors: dict[str, SectorBacktest]
    notes: list[str] = field(default_factory=list)

    @property
    def origin(self) -> dt.date:
        return self.scenario.start

    def summary(self) -> dict:
        """The JSON of ``advsim backtest --json``."""
        sc = self.scenario
        return {
            "advsim": __version__,
            "scenario": sc.name,
            "start": sc.start.isoformat(),
            "horizon_days": sc.horizon_days,
            "replications": self.result.replications,
            "seed": self.result.seed,
            "observed": self.observed_file,
            "baselines": dict(BASELINE_WORDS),
            "sectors": {name: b.summary() for name, b in self.sectors.items()},
            "notes": list(self.notes),
        }

    def fan(self, name: str, percentiles: Sequence[float] = BAND_PERCENTILES) -> dict:
        """What a fan chart of sector ``name`` needs: per-day percentile bands of the model
        (day 0 to the horizon), every observation in the scenario's units with its day, and the
        trailing-rate baseline's percentiles at the scored days."""
        b = self.sectors[name]
        bands = self.result.bands(tuple(percentiles))[name]
        q = np.percentile(b.baseline, list(percentiles), axis=0)
        return {
            "sector": name,
            "kind": b.sector.kind,
            "unit": b.unit,
            "start": self.scenario.start,
            "day": bands["day"],
            "bands": {k: v for k, v in bands.items() if k != "day"},
            "observed_day": b.series.days_from(self.scenario.start),
            "observed": b.all_positions if b.all_positions is not None
            else b.to_scenario_units(b.series.values),
            "scored_day": b.days,
            "baseline": {pkey(p): row for p, row in zip(percentiles, q)},
        }

    def quantile_rows(self) -> list[tuple]:
        """The long quantile table's rows of this origin (see :func:`write_quantiles`)."""
        rows = []
        for name, b in self.sectors.items():
            q = quantiles(b.ensemble)
            for j, (day, date) in enumerate(zip(b.days, b.dates)):
                for level, value in zip(QUANTILE_LEVELS, q[:, j]):
                    rows.append((self.origin.isoformat(), b.sector.progress_name, int(day),
                                 date.isoformat(), name, level, float(value)))
        return rows


# -- one origin ----------------------------------------------------------------------------------


def backtest(
    scenario: Scenario | str | os.PathLike[str],
    observed: str | os.PathLike[str] | Mapping[str, ObservedSeries],
    *,
    overrides: Sequence[str] = (),
    replications: int | None = None,
    seed: int | None = None,
    jobs: int | None = 1,
    executor: str | Executor = "local",
    scheduler: str | None = None,
    sectors: Sequence[str] = (),
    until: dt.date | None = None,
    horizon_days: int | None = None,
    baseline_days: int = BASELINE_DAYS,
) -> Backtest:
    """Run the scenario (a Scenario, or a file with ``overrides``) from its start with a
    checkpoint at every observation date after it and score each sector the observed series
    name.

    The horizon: an explicit one (``horizon_days``, or ``horizon_days=`` among the overrides)
    is honoured, and observation dates beyond it are reported as unscored; otherwise the run
    ends at the last observation (extending the scenario's horizon if need be, with a note).
    """
    from ..running.runner import simulate

    sc0, where, explicit = _scenario(scenario, overrides, horizon_days)
    series_all, obs_file = _observed(observed)
    wanted, notes = _wanted(sc0, where, series_all, sectors, obs_file)
    series = {n: series_all[n].between(None, until) for n in wanted}
    for n, s in series.items():
        _check_frame(sc0.sector(n), s)
    scored_days, unscored = {}, {}
    for n, s in series.items():
        d = s.days_from(sc0.start)
        after = d[d > 0]
        keep = after if explicit is None else after[after <= explicit]
        scored_days[n], unscored[n] = keep, int(after.size - keep.size)
        if not after.size:
            notes.append(f"{n}: no observation after the start {sc0.start}, not scored")
        elif not keep.size:
            notes.append(f"{n}: every observation lies after the horizon ({explicit} days), "
                         "not scored")
    wanted = [n for n in wanted if scored_days[n].size]
    if not wanted:
        last = max((s.dates[-1] for s in series.values() if len(s)), default=None)
        which = f"the last is {last}" if last else f"none is dated up to {until}"
        if explicit is not None and any(unscored.values()):
            raise ObservedError(
                f"no observation within the horizon ({explicit} days from {sc0.start}; "
                f"{which})", file=obs_file, param="horizon_days")
        raise ObservedError(
            f"no observation after the scenario start {sc0.start} ({which}); a "
            "backtest scores what happened after the start (e.g. --set start=YYYY-MM-DD)",
            file=obs_file,
        )
    days = sorted({int(d) for n in wanted for d in scored_days[n]})
    if days[-1] > min(MAX_HORIZON_DAYS, (dt.date.max - sc0.start).days):
        latest = max(wanted, key=lambda n: scored_days[n][-1])
        s = series[latest]
        raise ObservedError(
            f"dated {s.dates[-1]}, {days[-1]} days after the scenario start {sc0.start}: "
            f"beyond the longest horizon a run can have ({MAX_HORIZON_DAYS} days)",
            file=s.file, line=s.lines[-1], key="date")
    for n in wanted:
        if unscored[n] and explicit is not None:
            notes.append(f"{n}: {unscored[n]} observation date(s) after the horizon "
                         f"({explicit} days, to {sc0.date_of(explicit)}): not scored")
    # The run ends at the last scored observation: the model's days up to it do not depend on
    # the horizon (only which random numbers are drawn does).
    if explicit is None and days[-1] > sc0.horizon_days:
        notes.append(f"horizon extended from {sc0.horizon_days} to {days[-1]} days to reach "
                     "the last observation")
    sc = sc0.with_horizon(days[-1] if explicit is None else explicit, tuple(days))
    result = simulate(sc, replications=replications, seed=seed, jobs=jobs, executor=executor,
                      scheduler=scheduler)
    col = {d: i for i, d in enumerate(days)}
    out = {}
    for n in wanted:
        s = series[n]
        sector = sc.sector(n)
        anchor, positions, fallen_all, note = _positions(sector, s, sc.start, obs_file)
        if note:
            notes.append(f"{n}: {note}")
        # As the scenario starts (an area: as observed there, if less than the scenario's).
        start = sector.start_at if anchor is None or sector.direction > 0 else \
            min(anchor, sector.start_at)
        b = _score_sector(sc, result, s, sector, scored_days[n], col, positions, fallen_all,
                          anchor=anchor, position=start, unscored=unscored[n],
                          baseline_days=baseline_days, rng=backtest_rng(result.seed, n))
        if b.clipped:
            notes.append(f"{n}: {b.clipped} observation(s) outside the model's range, clipped")
        if (sector.direction < 0 and anchor is not None
                and abs(anchor - sector.start_at) > 0.01 * sector.start_at):
            notes.append(f"{n}: {anchor:g} {sector.unit} observed at the start, but the "
                         f"scenario starts from {sector.start_at:g} {sector.unit}")
        out[n] = b
    return Backtest(scenario=sc, result=result, observed_file=obs_file, sectors=out, notes=notes)


def _scenario(scenario: Scenario | str | os.PathLike[str], overrides: Sequence[str],
              horizon_days: int | None) -> tuple[Scenario, str, int | None]:
    """The scenario, where it came from, and the horizon given explicitly (None if not)."""
    if isinstance(scenario, Scenario):
        if overrides:
            raise ValueError("overrides apply to a scenario file; change a Scenario with "
                             "dataclasses.replace")
        sc0, where = scenario, scenario.name
    else:
        from ..model.loader import load_scenario

        sc0, where = load_scenario(scenario, overrides), os.fspath(scenario)
    explicit = horizon_days
    if any(o.partition("=")[0].strip() == "horizon_days" for o in overrides):
        if horizon_days is not None and horizon_days != sc0.horizon_days:
            raise AdvsimError(
                f"horizon_days: {horizon_days} conflicts with --set horizon_days="
                f"{sc0.horizon_days} (give one)", param="horizon_days")
        explicit = sc0.horizon_days
    if explicit is not None and not 1 <= explicit <= MAX_HORIZON_DAYS:
        raise AdvsimError(f"horizon_days must lie in 1..{MAX_HORIZON_DAYS} (got {explicit})",
                          param="horizon_days")
    return sc0, where, explicit


def _observed(observed) -> tuple[dict[str, ObservedSeries], str]:
    if isinstance(observed, Mapping):
        series_all = dict(observed)
        return series_all, next((s.file for s in series_all.values()), "<observed>")
    obs_file = os.fspath(observed)
    return read_observed(obs_file), obs_file


def _wanted(sc0: Scenario, where: str, series_all: dict[str, ObservedSeries],
            sectors: Sequence[str], obs_file: str) -> tuple[list[str], list[str]]:
    notes: list[str] = []
    names = [s.name for s in sc0.sectors]
    for name in sectors:
        if name not in names:
            raise AdvsimError(f"{where}: sectors: {name!r}: no such sector "
                              f"(the scenario has {', '.join(names)})", param="sectors")
    wanted = [n for n in names if n in series_all and (not sectors or n in sectors)]
    unused = [n for n in series_all if n not in names]
    if unused:
        notes.append(f"not in the scenario, not scored: {', '.join(unused)}")
    if not wanted:
        raise ObservedError(
            f"no sector of the scenario ({', '.join(names)}) appears in the file (it has "
            f"{', '.join(series_all)})", file=obs_file,
        )
    return wanted, notes


# -- frames --------------------------------------------------------------------------------------


def _check_frame(sector: Sector, s: ObservedSeries) -> None:
    """A series' frame must be one its sector can be scored in."""
    bad = ((s.frame == "held_km2" and not sector.has_front)
           or (s.frame == "remaining_km" and sector.has_front))
    if bad:
        raise ObservedError(
            f"the series is in frame {s.frame}, which sector {sector.name!r} "
            f"({sector.headline()}) cannot be scored in (expected "
            f"{'held_km2 or advanced_km' if sector.has_front else 'advanced_km or remaining_km'})",
            file=s.file, key=s.sector)


def _to_frame(sector: Sector, s: ObservedSeries, values: np.ndarray,
              anchor: float | None) -> np.ndarray:
    """Observed values in the scenario's frame: along an axis, km advanced since the start,
    counted from ``anchor`` (the value observed at the start: km advanced, or the distance
    remaining, which falls as the attacker advances); an area's km² as they are."""
    values = np.asarray(values, dtype=float)
    if s.frame == "remaining_km":
        return (anchor or 0.0) - values
    return values - (anchor or 0.0) if sector.direction > 0 else values


def _positions(sector: Sector, s: ObservedSeries, start: dt.date, obs_file: str
               ) -> tuple[float | None, np.ndarray, np.ndarray, str | None]:
    """Every observation of ``s`` in the scenario's frame, whether the objective had fallen by
    each, the value at the start they count from (axis), and a note on a mismatch."""
    anchor = s.value_at(start)
    note = None
    if sector.direction > 0 and anchor is None:
        if s.frame == "remaining_km":
            raise ObservedError(
                f"no observation on or before the scenario start {start} to count km advanced "
                "from (the distance remaining there)", file=obs_file, key=s.sector)
        raise ObservedError(
            f"no observation on or before the scenario start {start} to count km "
            f"advanced from (add a row {start},{s.sector},0 if the values already count "
            "from the start)", file=obs_file, key=s.sector,
        )
    positions = _to_frame(sector, s, s.values, anchor)
    if s.frame == "remaining_km":
        # The objective falls where the observed distance reaches 0.
        fallen = s.values <= 1e-9 * max(float(anchor or 0.0), 1.0)
        length = sector.objective_at - sector.start_at
        if anchor is not None and abs(anchor - length) > 0.01 * length:
            note = (f"the observed distance to the objective at the start is {anchor:g} km, but "
                    f"the scenario's axis is {length:g} km: scored in the scenario's frame (km "
                    f"advanced since the start); the objective counts as fallen where the "
                    "observed distance reaches 0")
        positions = np.where(fallen, sector.objective_at, positions)
    else:
        fallen = sector.reached(sector.snap(positions), sector.objective_at)
    return anchor, positions, np.asarray(fallen, dtype=bool), note


# -- scoring one sector from one origin ----------------------------------------------------------


def _score_sector(sc: Scenario, result: Result, s: ObservedSeries, sector: Sector,
                  days: np.ndarray, col: dict[int, int], positions: np.ndarray,
                  fallen_all: np.ndarray, *, anchor: float | None, position: float,
                  unscored: int, baseline_days: int,
                  rng: np.random.Generator) -> SectorBacktest:
    so = result.sectors[s.sector]
    idx = [col[int(d)] for d in days]
    ensemble = so.progress[:, idx]
    fallen = so.objective_day[:, None] <= days[None, :]
    rel = s.days_from(sc.start)
    sel = np.isin(rel, days)
    raw = positions[sel]
    dates = tuple(d for d, k in zip(s.dates, sel) if k)
    observed_fallen = fallen_all[sel]
    y = sector.snap(sector.clip(raw))
    clipped = int(np.sum(np.abs(y - raw) > 1e-9 * np.maximum(np.abs(raw), 1.0)))
    y = np.where(observed_fallen, sector.objective_at, y)

    baselines = _baselines(sc, sector, s, positions, position, days, result.replications,
                           baseline_days, rng)
    b = SectorBacktest(
        sector=sector, series=s, origin=sc.start, anchor=anchor, position=float(position),
        days=days, dates=dates, observed=y, clipped=clipped, unscored=unscored,
        observed_fallen=observed_fallen, ensemble=ensemble, fallen=fallen,
        baselines=baselines, all_positions=positions,
    )
    b.scores = score(ensemble, y, fallen, observed_fallen, rng)
    for f in baselines.values():
        f.scores = score(f.ensemble, y, f.fallen, observed_fallen, rng)
    return b


def _baselines(sc: Scenario, sector: Sector, s: ObservedSeries, positions: np.ndarray,
               position: float, days: np.ndarray, m: int, window_days: int,
               rng: np.random.Generator) -> dict[str, Forecast]:
    """Persistence and the trailing rate, from ``position`` at the origin (``sc.start``)."""
    still = np.full((m, days.size), float(position))
    persistence = Forecast(
        name="persistence", ensemble=still,
        fallen=np.broadcast_to(sector.reached(still, sector.objective_at), still.shape),
        method="no further change from the position at the origin "
               f"({sector.format_at(position)}); a point forecast (no noise), scored as an "
               "ensemble whose members all sit there", per_day=0.0)

    rel = s.days_from(sc.start)
    inside = np.flatnonzero((rel <= 0) & (rel >= -window_days))
    if inside.size >= 2 and rel[inside[-1]] > rel[inside[0]]:
        i, j = inside[0], inside[-1]
        # gained per day: km advanced, or km² taken
        per_day = sector.direction * (positions[j] - positions[i]) / (rel[j] - rel[i])
        method = (f"linear extrapolation of the observed rate from {s.dates[i]} to "
                  f"{s.dates[j]} (the trailing {window_days} days on or before the origin)")
    else:
        m_per_day = sector.advance.base_m_per_day.mean
        per_day = sector.per_day(m_per_day)
        method = (f"linear extrapolation of the scenario's mean base rate ({m_per_day:.4g} "
                  f"m/day); fewer than two observations in the {window_days} days on or before "
                  "the origin")
    per_day = max(float(per_day), 0.0)
    noise = sector.advance.noise
    cv = math.sqrt(noise.variance) / noise.mean if noise is not None and noise.mean > 0 else 0.0
    gaps = np.diff(np.concatenate([[0.0], days]))
    if per_day > 0 and cv > 0:
        k = 1 / cv**2
        steps = rng.gamma(gaps * k, per_day / k, size=(m, gaps.size))
    else:
        steps = np.broadcast_to(gaps * per_day, (m, gaps.size))
    values = sector.gained(position, np.cumsum(steps, axis=1))
    trailing = Forecast(
        name="trailing_rate", ensemble=values,
        fallen=sector.reached(values, sector.objective_at), per_day=per_day,
        method=f"{method}: {per_day:.4g} {sector.unit}/day, with iid gamma daily noise of the "
               f"scenario's daily cv {cv:.3g}")
    return {"persistence": persistence, "trailing_rate": trailing}


# -- many origins --------------------------------------------------------------------------------


@dataclass(kw_only=True)
class OriginsBacktest:
    """Backtests of one scenario from many origins, and their pooled scores."""

    scenario: Scenario  # as loaded (before restarting at any origin)
    observed_file: str
    origins: list[Backtest]
    replications: int
    seed: int
    horizon_days: int
    baseline_days: int
    notes: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    def cases(self) -> list[SectorBacktest]:
        return [b for bt in self.origins for b in bt.sectors.values()]

    def pooled(self) -> dict:
        """Scores pooled over every origin, sector and scored date."""
        return pool(self.cases())

    def summary(self) -> dict:
        """The JSON of ``advsim backtest --origins ... --json``."""
        per_origin = []
        for bt in self.origins:
            sectors = {}
            for name, b in bt.sectors.items():
                s = b.summary()
                sectors[name] = {k: s[k] for k in (
                    "n_obs", "crps", "wis", "coverage_50", "coverage_90", "brier", "crps_skill",
                    "crps_skill_persistence", "position_at_origin", "dates", "observed", "pit",
                    "unscored_after_horizon")}
            per_origin.append({"origin": bt.origin.isoformat(), "seed": bt.result.seed,
                               "sectors": sectors})
        return {
            "advsim": __version__,
            "scenario": self.scenario.name,
            "observed": self.observed_file,
            "replications": self.replications,
            "seed": self.seed,
            "horizon_days": self.horizon_days,
            "baseline_days": self.baseline_days,
            "baselines": dict(BASELINE_WORDS),
            "pooled": self.pooled(),
            "origins": per_origin,
            "notes": list(self.notes),
        }

    def quantile_rows(self) -> list[tuple]:
        return [r for bt in self.origins for r in bt.quantile_rows()]


def pool(cases: Sequence[SectorBacktest]) -> dict:
    """Scores pooled over the scored dates of ``cases`` (origin × sector), with how many
    origins, sectors and cases they rest on."""
    def cat(get) -> np.ndarray:
        return np.concatenate([np.asarray(get(c), dtype=float) for c in cases]) if cases \
            else np.zeros(0)

    n = int(sum(c.days.size for c in cases))
    out: dict = {
        "origins": len({c.origin for c in cases}),
        "sectors": len({c.sector.name for c in cases}),
        "cases": len(cases),
        "n_obs": n,
        "correlation_note": "the dates of one case, and overlapping windows of one series, are "
                            "positively correlated: the uniformity test's p-value is optimistic, "
                            "and the scores rest on fewer independent cases than they count",
    }
    if not n:
        return out
    crps = float(np.mean(cat(lambda c: c.scores["crps_by_date"])))
    out |= {
        "crps": crps,
        "wis": float(np.mean(cat(lambda c: c.scores["wis_by_date"]))),
        "coverage_50": float(np.mean(cat(lambda c: c.scores["covered_50"]))),
        "coverage_90": float(np.mean(cat(lambda c: c.scores["covered_90"]))),
        "coverage_90_by_case_sd": float(np.std([np.mean(c.scores["covered_90"])
                                                for c in cases])),
        "pit": pit_uniformity(cat(lambda c: c.scores["pit"])),
        "brier": float(np.mean(cat(lambda c: c.scores["brier_by_date"]))),
    }
    horizon = cat(lambda c: c.days)
    sq = cat(lambda c: c.scores["brier_by_date"])
    buckets = []
    top = int(horizon.max())
    for lo in range(1, top + 1, HORIZON_BUCKET_DAYS):
        hi = lo + HORIZON_BUCKET_DAYS - 1
        sel = (horizon >= lo) & (horizon <= hi)
        if sel.any():
            buckets.append({"horizon_days": [lo, hi], "n_obs": int(sel.sum()),
                            "brier": float(np.mean(sq[sel]))})
    out["brier_by_horizon"] = buckets
    out["baselines"] = {}
    for name in BASELINES:
        b_crps = float(np.mean(cat(lambda c, name=name: c.baselines[name].scores["crps_by_date"])))
        out["baselines"][name] = {
            "crps": b_crps,
            "wis": float(np.mean(cat(lambda c, name=name:
                                     c.baselines[name].scores["wis_by_date"]))),
            "coverage_50": float(np.mean(cat(lambda c, name=name:
                                             c.baselines[name].scores["covered_50"]))),
            "coverage_90": float(np.mean(cat(lambda c, name=name:
                                             c.baselines[name].scores["covered_90"]))),
            "crps_skill": crps_skill(crps, b_crps),
        }
    return out


def origin_dates(series: Mapping[str, ObservedSeries], every_days: int | None = None,
                 dates: Sequence[dt.date] = ()) -> list[dt.date]:
    """Origins every ``every_days`` from the first date on which every series has an
    observation, while some observation lies after the origin; or the ``dates`` given."""
    last = max(s.dates[-1] for s in series.values())
    if dates:
        return sorted(set(dates))
    if not every_days or every_days < 1:
        raise AdvsimError(f"origins: every_days must be a whole number of days >= 1 (got "
                          f"{every_days})", param="origins")
    first = max(s.dates[0] for s in series.values())
    out, d = [], first
    while d < last:
        out.append(d)
        d += dt.timedelta(days=every_days)
    return out


def at_origin(sc: Scenario, origin: dt.date, positions: Mapping[str, float]) -> Scenario:
    """The scenario as it stands at ``origin``: its start moved there, its dated events kept on
    their dates (shifted in days; strikes and modifiers already over dropped, those under way
    from day 0; reinforcements due earlier arrive on day 0, still with their readiness
    delays), and the sectors of ``positions`` restarted from them (see
    ``Sector.restarted``). Forces are as written: the losses and arrivals before the origin are
    not simulated."""
    shift = (origin - sc.start).days

    def window(w):
        end = w.end_day if w.end_day >= OPEN_END else w.end_day - shift
        return None if end <= 0 else replace(w, start_day=max(w.start_day - shift, 0),
                                             end_day=end)

    sectors = []
    for s in sc.sectors:
        s2 = replace(
            s,
            reinforcements=tuple(replace(r, day=max(r.day - shift, 0))
                                 for r in s.reinforcements),
            strikes=tuple(w for w in (window(k) for k in s.strikes) if w is not None),
            modifiers=tuple(w for w in (window(k) for k in s.modifiers) if w is not None),
        )
        if s.name in positions:
            s2 = s2.restarted(positions[s.name])
        sectors.append(s2)
    return replace(sc, start=origin, sectors=tuple(sectors))


def backtest_origins(
    scenario: Scenario | str | os.PathLike[str],
    observed: str | os.PathLike[str] | Mapping[str, ObservedSeries],
    *,
    every_days: int | None = None,
    dates: Sequence[dt.date] = (),
    overrides: Sequence[str] = (),
    replications: int | None = None,
    seed: int | None = None,
    jobs: int | None = 1,
    executor: str | Executor = "local",
    scheduler: str | None = None,
    sectors: Sequence[str] = (),
    until: dt.date | None = None,
    horizon_days: int | None = None,
    baseline_days: int = BASELINE_DAYS,
) -> OriginsBacktest:
    """Backtests from many origins: every ``every_days`` (see :func:`origin_dates`) or on
    ``dates``. From each origin the scenario runs as :func:`at_origin` makes it, knowing only
    the observations on or before the origin (the position there is the last observation on
    or before it, never one interpolated from later data), for its horizon (the scenario's,
    ``--set horizon_days`` or ``horizon_days``: never extended; observation dates beyond it are
    unscored). Origin ``i`` runs with seed ``origin_seed(seed, i)``; every chunk of every
    origin is a task of one executor."""
    import time

    from ..engine import simulate_chunk
    from ..running.executors import default_jobs, open_executor
    from ..running.runner import chunks, collect

    t0 = time.perf_counter()
    sc0, where, explicit = _scenario(scenario, overrides, horizon_days)
    horizon = explicit if explicit is not None else sc0.horizon_days
    series_all, obs_file = _observed(observed)
    wanted, notes = _wanted(sc0, where, series_all, sectors, obs_file)
    series = {n: series_all[n].between(None, until) for n in wanted}
    series = {n: s for n, s in series.items() if len(s)}
    if not series:
        raise ObservedError(f"no observation dated up to {until}", file=obs_file)
    for n, s in series.items():
        _check_frame(sc0.sector(n), s)
    frames = {n: _positions(sc0.sector(n), s, sc0.start, obs_file) for n, s in series.items()}
    for n, (_, _, _, note) in frames.items():
        if note:
            notes.append(f"{n}: {note}")
    origins = origin_dates(series, every_days, dates)
    if not origins:
        raise AdvsimError("origins: none has an observation after it", param="origins")
    n_reps = sc0.replications if replications is None else int(replications)
    base_seed = sc0.seed if seed is None else int(seed)

    plans = []  # (origin index, scenario, seed, {sector: (days, position, unscored)})
    skipped: dict[str, int] = {}
    for i, o in enumerate(origins):
        todo = {}
        for n, s in series.items():
            sector = sc0.sector(n)
            _, positions, fallen_all, _ = frames[n]
            rel = s.days_from(o)
            known = np.flatnonzero(rel <= 0)
            if not known.size:
                skipped["no observation on or before the origin"] = \
                    skipped.get("no observation on or before the origin", 0) + 1
                continue
            k = known[-1]
            if fallen_all[k] or sector.reached(sector.snap([positions[k]]),
                                               sector.objective_at)[0]:
                skipped["objective already fallen"] = skipped.get("objective already fallen",
                                                                  0) + 1
                continue
            after = rel[rel > 0]
            keep = after[after <= horizon]
            if not keep.size:
                skipped["no observation within the horizon"] = \
                    skipped.get("no observation within the horizon", 0) + 1
                continue
            todo[n] = (keep, float(sector.clip(np.array([positions[k]]))[0]),
                       int(after.size - keep.size))
        if not todo:
            continue
        days = sorted({int(d) for v in todo.values() for d in v[0]})
        if days[-1] > min(MAX_HORIZON_DAYS, (dt.date.max - o).days):
            raise AdvsimError(f"origins: {o} lies too far before the last observation",
                              param="origins")
        sc = at_origin(sc0, o, {n: v[1] for n, v in todo.items()})
        sc = sc.with_horizon(days[-1], tuple(days))
        plans.append((i, sc, origin_seed(base_seed, i), todo))
    if skipped:
        notes.append("sector-origins not scored: " + "; ".join(
            f"{v} ({why})" for why, v in skipped.items()))
    if not plans:
        raise AdvsimError("origins: no origin has a sector to score (each needs an observation "
                          "on or before it and one within the horizon after it)",
                          param="origins")
    unscored_total = sum(v[2] for _, _, _, todo in plans for v in todo.values())
    if unscored_total:
        notes.append(f"{unscored_total} observation date(s) beyond the horizon ({horizon} days) "
                     "of their origin: not scored from it")

    tasks, where_task = [], []
    for p, (_, sc, s_seed, _) in enumerate(plans):
        for k, lo, count in chunks(n_reps):
            tasks.append((sc, s_seed, k, count, False))  # no per-day histograms
            where_task.append((p, lo))
    parts: list[list] = [[] for _ in plans]
    if isinstance(executor, str):
        if executor == "local" and scheduler:
            raise AdvsimError("scheduler: a Dask scheduler goes with executor dask",
                              param="scheduler")
        n_jobs = min(jobs or default_jobs(), len(tasks)) if executor == "local" else jobs
        with open_executor(executor, n_jobs, scheduler) as ex:
            for t, out in ex.map_unordered(simulate_chunk, tasks):
                parts[where_task[t][0]].append((where_task[t][1], out))
    else:
        for t, out in executor.map_unordered(simulate_chunk, tasks):
            parts[where_task[t][0]].append((where_task[t][1], out))

    results = []
    for p, (_i, sc, s_seed, todo) in enumerate(plans):
        result = collect(sc, n_reps, s_seed, parts[p])
        col = {d: j for j, d in enumerate(sc.checkpoints_days)}
        out = {}
        for n, (days_n, position, unscored) in todo.items():
            s = series[n]
            anchor, positions0, fallen_all, _ = frames[n]
            out[n] = _score_sector(
                sc, result, s, sc.sector(n), days_n, col, positions0, fallen_all,
                anchor=anchor, position=position, unscored=unscored,
                baseline_days=baseline_days, rng=backtest_rng(s_seed, n))
        results.append(Backtest(scenario=sc, result=result, observed_file=obs_file,
                                sectors=out))
    return OriginsBacktest(scenario=sc0, observed_file=obs_file, origins=results,
                           replications=n_reps, seed=base_seed, horizon_days=horizon,
                           baseline_days=baseline_days, notes=notes,
                           wall_seconds=time.perf_counter() - t0)


# -- the long quantile table ---------------------------------------------------------------------

QUANTILE_COLUMNS = ("origin_date", "target", "horizon_days", "target_date", "sector",
                    "quantile_level", "value")


def check_quantiles_path(path: str | os.PathLike[str]) -> Path:
    """The path of a quantile table, refused (one AdvsimError) unless it can be written: a
    .csv or .parquet file name (Parquet with pyarrow installed), not a folder. Writes
    nothing."""
    p = Path(path)
    if p.is_dir():
        raise AdvsimError(f"quantiles: {p} is a folder (expected a file)", param="quantiles")
    if p.suffix.lower() not in (".csv", ".parquet"):
        raise AdvsimError(f"quantiles: {p}: expected a .csv or .parquet file",
                          param="quantiles")
    if p.suffix.lower() == ".parquet":
        try:
            import pyarrow
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise AdvsimError("quantiles: a .parquet file needs pyarrow (pip install "
                              "'advsim[parquet]'); or write a .csv", param="quantiles") from None
    return p


def write_quantiles(path: str | os.PathLike[str], rows: Sequence[tuple]) -> Path:
    """Write projections as the forecast hubs' long quantile table, whole or not at all: one
    row per origin, target (``advance_km`` or ``held_km2``, in the scenario's frame), horizon
    in days, target date, sector and quantile level (the 23 standard levels), with its value.
    CSV, or Parquet for a ``.parquet`` suffix (needs pyarrow)."""
    from ..artifacts.files import atomic_file

    p = check_quantiles_path(path)
    if p.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols: list[Sequence] = list(zip(*rows)) if rows else [[] for _ in QUANTILE_COLUMNS]
        types = [pa.string(), pa.string(), pa.int32(), pa.string(), pa.string(), pa.float64(),
                 pa.float64()]
        table = pa.table({name: pa.array(list(c), type=t)
                          for name, c, t in zip(QUANTILE_COLUMNS, cols, types)})
        import io

        buf = io.BytesIO()
        pq.write_table(table, buf)
        with atomic_file(p) as f:
            f.write(buf.getvalue())
        return p
    lines = [",".join(QUANTILE_COLUMNS)]
    lines += [f"{o},{t},{h},{d},{_csv(s)},{q:g},{v:.6g}" for o, t, h, d, s, q, v in rows]
    with atomic_file(p) as f:
        f.write(("\n".join(lines) + "\n").encode("utf-8"))
    return p


def _csv(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n\r') else text


# -- synthetic observations ----------------------------------------------------------------------


def synthetic_observed(
    scenario: Scenario, days: Sequence[int], *, seed: int, replication: int = 0,
    file: str = "<synthetic>",
) -> dict[str, ObservedSeries]:
    """Series drawn from the scenario's own model: replication ``replication`` of a run seeded
    with ``seed``, observed at the start and at ``days`` (km advanced since the start, or km²
    held). Backtests of the same model against them should be calibrated."""
    return synthetic_many(scenario, days, seed=seed, count=replication + 1,
                          file=file)[replication]


def synthetic_many(
    scenario: Scenario, days: Sequence[int], *, seed: int, count: int,
    file: str = "<synthetic>",
) -> list[dict[str, ObservedSeries]]:
    """``count`` sets of series drawn from the scenario's own model (replications 0, 1, … of
    one run seeded with ``seed``), each observed at the start and at ``days``."""
    from ..running.runner import simulate

    days = sorted({int(d) for d in days})
    if not days or days[0] < 1 or days[-1] > scenario.horizon_days:
        raise ValueError(f"days must lie in 1..{scenario.horizon_days}")
    sc = replace(scenario, checkpoints_days=tuple(days))
    result = simulate(sc, replications=count, seed=seed, jobs=1, bands=False)
    dates = (sc.start, *(sc.start + dt.timedelta(days=d) for d in days))
    out = []
    for r in range(count):
        one = {}
        for name, so in result.sectors.items():
            values = np.concatenate([[so.sector.start_at], so.progress[r]])
            one[name] = ObservedSeries(sector=name, dates=dates, values=values,
                                       lines=tuple(range(2, 2 + len(dates))), file=file)
        out.append(one)
    return out


# -- the model against series drawn from itself ----------------------------------------------------


@dataclass(kw_only=True)
class SelfTest:
    """Many-origin backtests of a model against many series drawn from a scenario (itself, or
    the file as written when the model carries overrides), pooled."""

    truth: Scenario
    runs: list[OriginsBacktest]
    observe_every_days: int
    seed: int

    def cases(self) -> list[SectorBacktest]:
        return [c for r in self.runs for c in r.cases()]

    def summary(self) -> dict:
        first = self.runs[0]
        return {
            "advsim": __version__,
            "scenario": first.scenario.name,
            "self_test": {"series": len(self.runs), "truth": self.truth.name,
                          "observed_every_days": self.observe_every_days,
                          "truth_seed": self.seed},
            "replications": first.replications,
            "seed": first.seed,
            "horizon_days": first.horizon_days,
            "baseline_days": first.baseline_days,
            "baselines": dict(BASELINE_WORDS),
            "pooled": pool(self.cases()),
            "notes": self.notes(),
        }

    def notes(self) -> list[str]:
        """The runs' notes, with the counts of sector-origins and dates not scored summed."""
        skipped: dict[str, int] = {}
        beyond = 0
        other: list[str] = []
        for r in self.runs:
            for n in r.notes:
                if n.startswith("sector-origins not scored: "):
                    for part in n.removeprefix("sector-origins not scored: ").split("; "):
                        count, _, why = part.partition(" (")
                        skipped[why.rstrip(")")] = skipped.get(why.rstrip(")"), 0) + int(count)
                elif " observation date(s) beyond the horizon " in n:
                    beyond += int(n.split(" ", 1)[0])
                elif n not in other:
                    other.append(n)
        out = other
        if skipped:
            out.append("sector-origins not scored: " + "; ".join(
                f"{v} ({why})" for why, v in skipped.items()))
        if beyond:
            out.append(f"{beyond} observation date(s) beyond the horizon "
                       f"({self.runs[0].horizon_days} days) of their origin: not scored from it")
        return out


def self_test(
    scenario: str | os.PathLike[str] | Scenario,
    count: int,
    *,
    overrides: Sequence[str] = (),
    observe_every_days: int = 7,
    every_days: int | None = None,
    dates: Sequence[dt.date] = (),
    replications: int | None = None,
    seed: int | None = None,
    jobs: int | None = 1,
    executor: str | Executor = "local",
    scheduler: str | None = None,
    horizon_days: int | None = None,
    baseline_days: int = BASELINE_DAYS,
) -> SelfTest:
    """Draw ``count`` series from the scenario as written (a file without its ``overrides``, or
    the Scenario), observed every ``observe_every_days`` over its horizon (replications 0 …
    count − 1 of a run seeded with ``self_test_seed(seed)``), and backtest the scenario with
    its ``overrides`` from many origins against each. Without overrides the model is scored
    against its own draws: calibrated by construction."""
    from ..running.executors import default_jobs, open_executor
    from ..seeds import self_test_seed

    if count < 1:
        raise AdvsimError(f"self_test: count must be >= 1 (got {count})", param="self_test")
    if isinstance(scenario, Scenario):
        if overrides:
            raise ValueError("overrides apply to a scenario file")
        truth = model = scenario
    else:
        from ..model.loader import load_scenario

        truth = load_scenario(scenario)
        model = load_scenario(scenario, overrides)
    base_seed = truth.seed if seed is None else int(seed)
    t_seed = self_test_seed(base_seed)
    obs_days = list(range(observe_every_days, truth.horizon_days + 1, observe_every_days))
    draws = synthetic_many(truth, obs_days, seed=t_seed, count=count, file="<self-test>")
    def one(d: dict[str, ObservedSeries], ex: Executor) -> OriginsBacktest:
        return backtest_origins(model, d, executor=ex, every_days=every_days or
                                observe_every_days * 4, dates=dates, replications=replications,
                                seed=base_seed, horizon_days=horizon_days,
                                baseline_days=baseline_days)

    if isinstance(executor, str):
        with open_executor(executor, jobs or default_jobs(), scheduler) as ex:
            runs = [one(d, ex) for d in draws]
    else:
        runs = [one(d, executor) for d in draws]
    return SelfTest(truth=truth, runs=runs, observe_every_days=observe_every_days, seed=t_seed)
