"""A backtest from one origin: a scenario's projection of the position target scored against
what was then observed (from many origins: :mod:`sim.forecast.many_origins`).

From one origin (the scenario's start) the scenario runs with a checkpoint at every observation
date after it.

At each scored date the ensemble of replications is scored against the observed value with
proper scoring rules and calibration checks: the fair ensemble CRPS (Ferro 2014), the weighted
interval score of the 23 forecast-hub quantiles (WIS), the coverage of the central 50% and 90%
bands, the randomised PIT (uniform when the forecast is calibrated; Czado, Gneiting & Held
2009) and the Brier score of "objective fallen by this date". Two baselines are scored the same
way, so that skill is measured against something: persistence and the trailing rate
(:mod:`sim.forecast.forecasters`).

Values are in the scenario's frame (:mod:`sim.forecast.targets`). Observed values are clipped to
the range the model can reach and put exactly on a threshold (the objective, the start, a
milestone, a line) when within float rounding of it, so that they tie with the members there.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .. import __version__
from ..analysis.summary import pkey
from ..data.observed import ObservedSeries, read_observed
from ..errors import AdvsimError, ObservedError, ParameterError, instance, whole_number
from ..model.scenario import MAX_HORIZON_DAYS, Scenario, Sector
from ..running.outcomes import Result
from ..seeds import backtest_rng
from . import notes as N
from .forecasters import PERSISTENCE, TRAILING_DAYS, TRAILING_RATE, Forecast, position_baselines
from .notes import Note
from .scores import crps_skill, score
from .targets import check_frame, observed_positions, to_frame

if TYPE_CHECKING:
    from ..running.executors import Executor
    from .quantiles import QuantileTable

BAND_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)  # the 90% and 50% central bands and median


# -- a backtest and its sectors ------------------------------------------------------------------


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

    @property
    def baseline(self) -> np.ndarray:
        """The trailing rate's members (the baseline a fan chart draws)."""
        return self.baselines[TRAILING_RATE].ensemble

    def to_scenario_units(self, values: np.ndarray) -> np.ndarray:
        """Observed values as the scenario measures them (km since the start along an axis)."""
        return to_frame(self.sector, self.series, values, self.anchor)

    def summary(self) -> dict:
        from ..presentation.text_forecasts import baseline_method

        q = np.percentile(self.ensemble, BAND_PERCENTILES, axis=0)
        fell = np.flatnonzero(self.observed_fallen)
        base = {}
        for name, f in self.baselines.items():
            base[name] = {"method": baseline_method(f, self.sector), "per_day": f.per_day,
                          **f.scores,
                          "crps_skill": crps_skill(self.scores["crps"], f.scores["crps"])}
        return {
            "kind": self.sector.kind,
            "unit": self.unit,
            **self.scores,
            "crps_skill": base[TRAILING_RATE]["crps_skill"],
            "crps_skill_persistence": base[PERSISTENCE]["crps_skill"],
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
            "baseline": base[TRAILING_RATE],
            "baselines": base,
        }


@dataclass(kw_only=True)
class Backtest:
    """A scenario's run from one origin and the scores of its sectors against observed series."""

    scenario: Scenario  # as run (from the origin, to the horizon)
    result: Result
    observed_file: str
    sectors: dict[str, SectorBacktest]
    notes: list[Note] = field(default_factory=list)

    @property
    def origin(self) -> dt.date:
        return self.scenario.start

    def __repr__(self) -> str:
        from ..presentation.notebook import count, short

        return short("Backtest", self.scenario.name,
                     [f"from {self.origin}", count(len(self.sectors), "sector"),
                      count(sum(len(b.days) for b in self.sectors.values()), "scored date"),
                      count(self.result.replications, "replication")])

    def _repr_html_(self) -> str:
        """A notebook's view: each sector's scores against what was observed."""
        from ..presentation.notebook import html

        return html(self.scenario.name, f"backtest from {self.origin} against "
                    f"{self.observed_file} · {self.result.replications:,} replications",
                    ["sector", "unit", "scored dates", "CRPS", "cover 50%", "cover 90%",
                     "skill/trailing"],
                    [(name, b.unit, len(b.days), b.scores.get("crps"),
                      b.scores.get("coverage_50"), b.scores.get("coverage_90"),
                      b.summary()["crps_skill"]) for name, b in self.sectors.items()])

    def plot(self, output: str | os.PathLike[str] | None = None):
        """The backtest chart (observations over the model's fan): a matplotlib Figure, or
        with ``output`` that file and its path."""
        from ..presentation.charts import figure_or_file, require_matplotlib
        from ..presentation.charts.backtest import backtest_chart

        require_matplotlib()
        return figure_or_file(backtest_chart(self), output)

    def summary(self) -> dict:
        """The JSON of ``advsim backtest --json``."""
        from ..presentation.text_forecasts import BASELINE_WORDS, note_text

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
            "notes": [note_text(n) for n in self.notes],
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

    def quantiles(self) -> QuantileTable:
        """The projections of every sector as the long quantile table."""
        from .quantiles import QuantileTable

        return QuantileTable.of_backtests([self])


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
    baseline_days: int = TRAILING_DAYS,
) -> Backtest:
    """Run the scenario (a Scenario, or a file with ``overrides``) from its start with a
    checkpoint at every observation date after it and score each sector the observed series
    name.

    The horizon: an explicit one (``horizon_days``, or ``horizon_days=`` among the overrides)
    is honoured, and observation dates beyond it are reported as unscored; otherwise the run
    ends at the last observation (extending the scenario's horizon if need be, with a note).
    """
    from ..running.runner import simulate

    sc0, where, explicit = load_inputs(scenario, overrides, horizon_days)
    series_all, obs_file = read_series(observed)
    wanted, notes = wanted_sectors(sc0, where, series_all, sectors, obs_file)
    series = {n: series_all[n].between(None, until) for n in wanted}
    for n, s in series.items():
        check_frame(sc0.sector(n), s)
    scored_days, unscored = {}, {}
    for n, s in series.items():
        d = s.days_from(sc0.start)
        after = d[d > 0]
        keep = after if explicit is None else after[after <= explicit]
        scored_days[n], unscored[n] = keep, int(after.size - keep.size)
        if not after.size:
            notes.append(Note(kind=N.NONE_AFTER_START, sector=n,
                              detail={"start": sc0.start.isoformat()}))
        elif not keep.size:
            notes.append(Note(kind=N.ALL_AFTER_HORIZON, sector=n,
                              detail={"horizon_days": explicit}))
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
            notes.append(Note(kind=N.AFTER_HORIZON, sector=n, count=unscored[n],
                              detail={"horizon_days": explicit,
                                      "horizon_date": sc0.date_of(explicit).isoformat()}))
    # The run ends at the last scored observation: the model's days up to it do not depend on
    # the horizon (only which random numbers are drawn does).
    if explicit is None and days[-1] > sc0.horizon_days:
        notes.append(Note(kind=N.HORIZON_EXTENDED,
                          detail={"from_days": sc0.horizon_days, "to_days": days[-1]}))
    sc = sc0.with_horizon(days[-1] if explicit is None else explicit, tuple(days))
    result = simulate(sc, replications=replications, seed=seed, jobs=jobs, executor=executor,
                      scheduler=scheduler)
    col = {d: i for i, d in enumerate(days)}
    out = {}
    for n in wanted:
        s = series[n]
        sector = sc.sector(n)
        anchor, positions, fallen_all, note = observed_positions(sector, s, sc.start, obs_file)
        if note:
            notes.append(note)
        # As the scenario starts (an area: as observed there, if less than the scenario's).
        start = sector.start_at if anchor is None or sector.direction > 0 else \
            min(anchor, sector.start_at)
        b = score_sector(sc, result, s, sector, scored_days[n], col, positions, fallen_all,
                          anchor=anchor, position=start, unscored=unscored[n],
                          baseline_days=baseline_days, rng=backtest_rng(result.seed, n))
        if b.clipped:
            notes.append(Note(kind=N.CLIPPED, sector=n, count=b.clipped))
        if (sector.direction < 0 and anchor is not None
                and abs(anchor - sector.start_at) > 0.01 * sector.start_at):
            notes.append(Note(kind=N.START_MISMATCH, sector=n,
                              detail={"observed": float(anchor),
                                      "start_at": float(sector.start_at),
                                      "unit": sector.unit}))
        out[n] = b
    return Backtest(scenario=sc, result=result, observed_file=obs_file, sectors=out, notes=notes)


def load_inputs(scenario: Scenario | str | os.PathLike[str], overrides: Sequence[str],
              horizon_days: int | None) -> tuple[Scenario, str, int | None]:
    """The scenario, where it came from, and the horizon given explicitly (None if not)."""
    instance(scenario, (Scenario, str, os.PathLike), "scenario",
             "a Scenario or a scenario file's path")
    if isinstance(scenario, Scenario):
        if overrides:
            raise ParameterError("overrides: apply to a scenario file; change a Scenario with "
                                 "dataclasses.replace", param="overrides")
        sc0, where = scenario, scenario.name
    else:
        from ..model.loader import load_scenario

        sc0, where = load_scenario(scenario, overrides), os.fspath(scenario)
    explicit = whole_number(horizon_days, "horizon_days", low=1, high=MAX_HORIZON_DAYS,
                            none=True)
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


def read_series(observed) -> tuple[dict[str, ObservedSeries], str]:
    if isinstance(observed, Mapping):
        series_all = dict(observed)
        return series_all, next((s.file for s in series_all.values()), "<observed>")
    obs_file = os.fspath(instance(observed, (str, os.PathLike), "observed",
                                  "an observed series file's path, or series by sector"))
    return read_observed(obs_file), obs_file


def wanted_sectors(sc0: Scenario, where: str, series_all: dict[str, ObservedSeries],
            sectors: Sequence[str], obs_file: str) -> tuple[list[str], list[Note]]:
    """The scenario's sectors to score (those the series name, or ``sectors``), and a note on
    series no sector of the scenario has."""
    notes: list[Note] = []
    names = [s.name for s in sc0.sectors]
    for name in sectors:
        if name not in names:
            raise AdvsimError(f"{where}: sectors: {name!r}: no such sector "
                              f"(the scenario has {', '.join(names)})", param="sectors")
    wanted = [n for n in names if n in series_all and (not sectors or n in sectors)]
    unused = [n for n in series_all if n not in names]
    if unused:
        notes.append(Note(kind=N.UNUSED_SERIES, detail={"names": unused}))
    if not wanted:
        raise ObservedError(
            f"no sector of the scenario ({', '.join(names)}) appears in the file (it has "
            f"{', '.join(series_all)})", file=obs_file,
        )
    return wanted, notes


# -- scoring one sector from one origin ----------------------------------------------------------


def score_sector(sc: Scenario, result: Result, s: ObservedSeries, sector: Sector,
                  days: np.ndarray, col: dict[int, int], positions: np.ndarray,
                  fallen_all: np.ndarray, *, anchor: float | None, position: float,
                  unscored: int, baseline_days: int,
                  rng: np.random.Generator) -> SectorBacktest:
    """One sector from one origin (``sc.start``): the model's members at the scored ``days``,
    the baselines', the observations there, and every forecaster's scores."""
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

    baselines = position_baselines(sector, position, days, result.replications,
                                   s.days_from(sc.start), positions, s.dates, rng, baseline_days)
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
