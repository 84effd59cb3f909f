"""Backtests: a scenario's projection scored against what was then observed.

The scenario runs from its start with a checkpoint at every observation date after it. At each
such date its ensemble of replications is scored against the observed value with proper
scoring rules and calibration checks: the fair ensemble CRPS (Ferro 2014), the coverage of the
central 50% and 90% bands, the probability integral transform (PIT: uniform when the forecast
is calibrated) and the Brier score of "objective fallen by this date". A naive baseline, the
rate at the start extrapolated linearly with the scenario's day-to-day noise, is scored the
same way, so the model's skill is measured against something.

Values are in the scenario's units: km advanced since the start (axis; observations are
anchored on their value at the start) or km² held (area), clipped to the range the model can
reach (0 to the objective along an axis; the objective's residue to the start area).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import __version__
from .errors import AdvsimError, ObservedError
from .observed import ObservedSeries, read_observed
from .outcomes import Result
from .scenario import MAX_HORIZON_DAYS, Scenario, Sector
from .scores import score
from .seeds import backtest_rng
from .summary import pkey

if TYPE_CHECKING:
    from .executors import Executor

BAND_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)  # the 90% and 50% central bands and median


# -- a backtest ----------------------------------------------------------------------------------


@dataclass(kw_only=True)
class SectorBacktest:
    """One sector's forecasts and observations at the scored dates, and their scores."""

    sector: Sector
    series: ObservedSeries  # every observation of the sector, for plots
    anchor: float | None  # the observed value at the start (axis: km advanced are counted from it)
    days: np.ndarray  # scored observation days, after the start
    dates: tuple[dt.date, ...]
    observed: np.ndarray  # at those days, in the scenario's units, clipped to the model's range
    clipped: int
    observed_fallen: np.ndarray
    ensemble: np.ndarray  # (replications, dates)
    fallen: np.ndarray  # (replications, dates): objective fallen by the date
    baseline: np.ndarray  # (replications, dates)
    baseline_fallen: np.ndarray
    baseline_method: str
    baseline_per_day: float  # km/day (axis) or km²/day (area) of the baseline
    scores: dict = field(default_factory=dict)
    baseline_scores: dict = field(default_factory=dict)

    @property
    def unit(self) -> str:
        return self.sector.position_unit

    def to_scenario_units(self, values: np.ndarray) -> np.ndarray:
        """Observed values as the scenario measures them (km since the start along an axis:
        counted from the value observed at the start)."""
        return _to_scenario_units(self.sector, values, self.anchor)


@dataclass(kw_only=True)
class Backtest:
    """A scenario's run and the scores of its sectors against observed series."""

    scenario: Scenario
    result: Result
    observed_file: str
    sectors: dict[str, SectorBacktest]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """The JSON of ``advsim backtest --json``."""
        sc = self.scenario
        out = {}
        for name, b in self.sectors.items():
            q = np.percentile(b.ensemble, BAND_PERCENTILES, axis=0)
            fell = np.flatnonzero(b.observed_fallen)
            model, base = dict(b.scores), dict(b.baseline_scores)
            skill = (1 - model["crps"] / base["crps"]) if base["crps"] > 0 else None
            out[name] = {
                "kind": b.sector.kind,
                "unit": b.unit,
                **model,
                "crps_skill": skill,
                "dates": [d.isoformat() for d in b.dates],
                "days": [int(d) for d in b.days],
                "observed": [float(v) for v in b.observed],
                "bands": {pkey(p): [float(v) for v in row]
                          for p, row in zip(BAND_PERCENTILES, q)},
                "objective": b.sector.objective,
                "objective_fell_observed": b.dates[fell[0]].isoformat() if fell.size else None,
                "observed_at_start": b.anchor,
                "clipped": b.clipped,
                "baseline": {"method": b.baseline_method,
                             "per_day": b.baseline_per_day, **base},
            }
        return {
            "advsim": __version__,
            "scenario": sc.name,
            "start": sc.start.isoformat(),
            "horizon_days": sc.horizon_days,
            "replications": self.result.replications,
            "seed": self.result.seed,
            "observed": self.observed_file,
            "sectors": out,
            "notes": list(self.notes),
        }

    def fan(self, name: str, percentiles: Sequence[float] = BAND_PERCENTILES) -> dict:
        """What a fan chart of sector ``name`` needs: per-day percentile bands of the model
        (day 0 to the horizon), every observation in the scenario's units with its day, and the
        baseline's percentiles at the scored days."""
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
            "observed": b.to_scenario_units(b.series.values),
            "scored_day": b.days,
            "baseline": {pkey(p): row for p, row in zip(percentiles, q)},
        }


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
) -> Backtest:
    """Run the scenario (a Scenario, or a file with ``overrides``) with a checkpoint at every
    observation date after its start (extending the horizon if observations run past it) and
    score each sector that the observed series name."""
    from .runner import simulate

    if isinstance(observed, Mapping):
        series_all = dict(observed)
        obs_file = next((s.file for s in series_all.values()), "<observed>")
    else:
        obs_file = os.fspath(observed)
        series_all = read_observed(obs_file)
    if isinstance(scenario, Scenario):
        if overrides:
            raise ValueError("overrides apply to a scenario file; change a Scenario with "
                             "dataclasses.replace")
        sc0, where = scenario, scenario.name
    else:
        from .loader import load_scenario

        sc0, where = load_scenario(scenario, overrides), os.fspath(scenario)
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
    series = {n: series_all[n].between(None, until).advanced() for n in wanted}
    scored_days = {}
    for n, s in series.items():
        d = s.days_from(sc0.start)
        scored_days[n] = d[d > 0]
        if not scored_days[n].size:
            notes.append(f"{n}: no observation after the start {sc0.start}, not scored")
    wanted = [n for n in wanted if scored_days[n].size]
    if not wanted:
        last = max((s.dates[-1] for s in series.values() if len(s)), default=None)
        which = f"the last is {last}" if last else f"none is dated up to {until}"
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
    # The run ends at the last observation: the model's days up to it do not depend on the
    # horizon (only which random numbers are drawn does).
    if days[-1] > sc0.horizon_days:
        notes.append(f"horizon extended from {sc0.horizon_days} to {days[-1]} days to reach "
                     "the last observation")
    sc = sc0.with_horizon(days[-1], tuple(days))
    result = simulate(sc, replications=replications, seed=seed, jobs=jobs, executor=executor,
                      scheduler=scheduler)
    col = {d: i for i, d in enumerate(days)}
    out = {}
    for n in wanted:
        b = _score_sector(sc, result, series[n], scored_days[n], col, obs_file)
        if b.clipped:
            notes.append(f"{n}: {b.clipped} observation(s) outside the model's range, clipped")
        start = b.sector.start_at
        if (b.sector.direction < 0 and b.anchor is not None
                and abs(b.anchor - start) > 0.01 * start):
            notes.append(f"{n}: {b.anchor:g} {b.sector.unit} observed at the start, but the "
                         f"scenario starts from {start:g} {b.sector.unit}")
        out[n] = b
    return Backtest(scenario=sc, result=result, observed_file=obs_file, sectors=out, notes=notes)


def _score_sector(sc: Scenario, result: Result, s: ObservedSeries, days: np.ndarray,
                  col: dict[int, int], obs_file: str) -> SectorBacktest:
    so = result.sectors[s.sector]
    sector = so.sector
    idx = [col[int(d)] for d in days]
    ensemble = so.progress[:, idx]
    fallen = so.objective_day[:, None] <= days[None, :]
    anchor = s.value_at(sc.start)
    values = s.values[s.days_from(sc.start) > 0]
    dates = tuple(d for d in s.dates if d > sc.start)
    if sector.direction > 0 and anchor is None:
        raise ObservedError(
            f"no observation on or before the scenario start {sc.start} to count km "
            f"advanced from (add a row {sc.start},{s.sector},0 if the values already count "
            "from the start)", file=obs_file, key=s.sector,
        )
    raw = _to_scenario_units(sector, values, anchor)
    observed_fallen = sector.reached(raw, sector.objective_at)
    y = sector.clip(raw)
    clipped = int(np.sum(y != raw))

    rng = backtest_rng(result.seed, s.sector)
    base, base_fallen, method, per_day = _baseline(sc, sector, s, anchor, days,
                                                  result.replications, rng)
    b = SectorBacktest(
        sector=sector, series=s, anchor=anchor, days=days, dates=dates, observed=y,
        clipped=clipped, observed_fallen=observed_fallen, ensemble=ensemble, fallen=fallen,
        baseline=base, baseline_fallen=base_fallen, baseline_method=method,
        baseline_per_day=per_day,
    )
    b.scores = score(ensemble, y, fallen, observed_fallen, rng)
    b.baseline_scores = score(base, y, base_fallen, observed_fallen, rng)
    return b


def _baseline(sc: Scenario, sector: Sector, s: ObservedSeries, anchor: float | None,
              days: np.ndarray, m: int, rng: np.random.Generator):
    """The naive forecast: the rate at the start, extrapolated linearly from the value at the
    start, with the scenario's iid daily noise (gamma with the noise's cv) and nothing else."""
    rel = s.days_from(sc.start)
    before = np.flatnonzero(rel <= 0)
    if before.size >= 2:
        i, j = before[-2], before[-1]
        # gained per day: km advanced, or km² taken
        per_day = sector.direction * (s.values[j] - s.values[i]) / (rel[j] - rel[i])
        method = (f"linear extrapolation of the rate between {s.dates[i]} and {s.dates[j]}, "
                  "the last two observations on or before the start")
    else:
        m_per_day = sector.advance.base_m_per_day.mean
        per_day = sector.per_day(m_per_day)
        method = (f"linear extrapolation of the scenario's mean base rate ({m_per_day:.4g} "
                  "m/day); fewer than two observations on or before the start")
    per_day = max(float(per_day), 0.0)
    noise = sector.advance.noise
    cv = math.sqrt(noise.variance) / noise.mean if noise is not None and noise.mean > 0 else 0.0
    gaps = np.diff(np.concatenate([[0.0], days]))
    if per_day > 0 and cv > 0:
        k = 1 / cv**2
        steps = rng.gamma(gaps * k, per_day / k, size=(m, gaps.size))
    else:
        steps = np.broadcast_to(gaps * per_day, (m, gaps.size))
    gained = np.cumsum(steps, axis=1)
    # From the start (an area: as observed there, if less than the scenario's start).
    start = sector.start_at if anchor is None or sector.direction > 0 else \
        min(anchor, sector.start_at)
    values = sector.gained(start, gained)
    fallen = sector.reached(values, sector.objective_at)
    return (values, fallen, f"{method}: {per_day:.4g} {sector.unit}/day, daily cv {cv:.3g}",
            per_day)


# -- synthetic observations ----------------------------------------------------------------------


def _to_scenario_units(sector: Sector, values: np.ndarray, anchor: float | None) -> np.ndarray:
    """Observed positions as the scenario measures them: along an axis, km advanced since the
    start, counted from ``anchor`` (the value observed at the start); an area's km² as they
    are."""
    return values - (anchor or 0.0) if sector.direction > 0 else values


def synthetic_observed(
    scenario: Scenario, days: Sequence[int], *, seed: int, replication: int = 0,
    file: str = "<synthetic>",
) -> dict[str, ObservedSeries]:
    """Series drawn from the scenario's own model: replication ``replication`` of a run seeded
    with ``seed``, observed at the start and at ``days`` (km advanced since the start, or km²
    held). Backtests of the same model against them should be calibrated."""
    from dataclasses import replace

    from .runner import simulate

    days = sorted({int(d) for d in days})
    if not days or days[0] < 1 or days[-1] > scenario.horizon_days:
        raise ValueError(f"days must lie in 1..{scenario.horizon_days}")
    sc = replace(scenario, checkpoints_days=tuple(days))
    result = simulate(sc, replications=replication + 1, seed=seed, jobs=1)
    out = {}
    for name, so in result.sectors.items():
        values = np.concatenate([[so.sector.start_at], so.progress[replication]])
        dates = (sc.start, *(sc.start + dt.timedelta(days=d) for d in days))
        out[name] = ObservedSeries(sector=name, dates=dates, values=values,
                                   lines=tuple(range(2, 2 + len(dates))), file=file)
    return out
