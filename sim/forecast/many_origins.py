"""Backtests from many origins: the scenario restarted at each origin date, knowing only what
was known then (the observations on or before the origin, the position observed there, and the
scenario's dates and events as written, shifted to the origin; those already over dropped),
every origin's chunks one batch (:mod:`sim.running.batch`), scored and pooled."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .. import __version__
from ..data.observed import ObservedSeries
from ..errors import AdvsimError, ObservedError
from ..model.scenario import MAX_HORIZON_DAYS, Scenario
from ..running.batch import Planned, simulate_batch
from ..running.outcomes import Result
from ..seeds import backtest_rng, origin_seed
from . import notes as N
from .backtest import (
    Backtest,
    SectorBacktest,
    load_inputs,
    read_series,
    score_sector,
    wanted_sectors,
)
from .forecasters import TRAILING_DAYS
from .notes import Note
from .origins import at_origin, calendar
from .pooling import pool
from .targets import check_frame, observed_positions

if TYPE_CHECKING:
    from ..running.executors import Executor
    from .quantiles import QuantileTable


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
    notes: list[Note] = field(default_factory=list)
    wall_seconds: float = 0.0

    def cases(self) -> list[SectorBacktest]:
        return [b for bt in self.origins for b in bt.sectors.values()]

    def __repr__(self) -> str:
        from ..presentation.notebook import count, short

        return short("OriginsBacktest", self.scenario.name,
                     [count(len(self.origins), "origin"), count(len(self.cases()), "case"),
                      count(self.replications, "replication"), f"seed {self.seed}"])

    def _repr_html_(self) -> str:
        """A notebook's view: the pooled scores of the model and of each baseline."""
        from ..presentation.notebook import SCORE_HEADER, html, score_rows

        p = self.pooled()
        return html(self.scenario.name, f"backtest from {len(self.origins)} origins against "
                    f"{self.observed_file} · {p.get('n_obs', 0):,} scored dates",
                    SCORE_HEADER, score_rows(p))

    def pooled(self) -> dict:
        """Scores pooled over every origin, sector and scored date."""
        return pool(self.cases())

    def summary(self) -> dict:
        """The JSON of ``advsim backtest --origins ... --json``."""
        from ..presentation.text_forecasts import BASELINE_WORDS, note_text

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
            "notes": [note_text(n) for n in self.notes],
        }

    def quantiles(self) -> QuantileTable:
        """The projections from every origin as the long quantile table."""
        from .quantiles import QuantileTable

        return QuantileTable.of_backtests(self.origins)


@dataclass(kw_only=True)
class OriginsPlan:
    """What a many-origin backtest will run: each origin's scenario and seed, with the sectors
    it scores (their scored days, position at the origin and dates left unscored)."""

    scenario: Scenario
    observed_file: str
    series: dict[str, ObservedSeries]
    frames: dict[str, tuple]  # sector: observed_positions(...)
    runs: list[tuple[Scenario, int, dict[str, tuple[np.ndarray, float, int]]]]
    replications: int
    seed: int
    horizon_days: int
    baseline_days: int
    notes: list[Note]

    def planned(self) -> list[Planned]:
        """The batch's runs, one per origin."""
        return [Planned(scenario=sc, replications=self.replications, seed=seed)
                for sc, seed, _ in self.runs]

    def scored(self, results: Sequence[Result], wall_seconds: float = 0.0) -> OriginsBacktest:
        """The backtest from the runs' results (in the order of :meth:`planned`)."""
        out = []
        for (sc, s_seed, todo), result in zip(self.runs, results):
            col = {d: j for j, d in enumerate(sc.checkpoints_days)}
            sectors = {}
            for n, (days_n, position, unscored) in todo.items():
                anchor, positions0, fallen_all, _ = self.frames[n]
                sectors[n] = score_sector(
                    sc, result, self.series[n], sc.sector(n), days_n, col, positions0,
                    fallen_all, anchor=anchor, position=position, unscored=unscored,
                    baseline_days=self.baseline_days, rng=backtest_rng(s_seed, n))
            out.append(Backtest(scenario=sc, result=result, observed_file=self.observed_file,
                                sectors=sectors))
        return OriginsBacktest(scenario=self.scenario, observed_file=self.observed_file,
                               origins=out, replications=self.replications, seed=self.seed,
                               horizon_days=self.horizon_days,
                               baseline_days=self.baseline_days, notes=list(self.notes),
                               wall_seconds=wall_seconds)


def plan_origins(
    scenario: Scenario | str | os.PathLike[str],
    observed: str | os.PathLike[str] | Mapping[str, ObservedSeries],
    *,
    every_days: int | None = None,
    dates: Sequence[dt.date] = (),
    overrides: Sequence[str] = (),
    replications: int | None = None,
    seed: int | None = None,
    sectors: Sequence[str] = (),
    until: dt.date | None = None,
    horizon_days: int | None = None,
    baseline_days: int = TRAILING_DAYS,
) -> OriginsPlan:
    """The runs of a many-origin backtest (see :func:`backtest_origins`), nothing simulated."""
    sc0, where, explicit = load_inputs(scenario, overrides, horizon_days)
    horizon = explicit if explicit is not None else sc0.horizon_days
    series_all, obs_file = read_series(observed)
    wanted, notes = wanted_sectors(sc0, where, series_all, sectors, obs_file)
    series = {n: series_all[n].between(None, until) for n in wanted}
    series = {n: s for n, s in series.items() if len(s)}
    if not series:
        raise ObservedError(f"no observation dated up to {until}", file=obs_file)
    for n, s in series.items():
        check_frame(sc0.sector(n), s)
    frames = {n: observed_positions(sc0.sector(n), s, sc0.start, obs_file)
              for n, s in series.items()}
    notes += [f[3] for f in frames.values() if f[3] is not None]
    origins = calendar(series, every_days, dates)
    if not origins:
        raise AdvsimError("origins: none has an observation after it", param="origins")
    n_reps = sc0.replications if replications is None else int(replications)
    base_seed = sc0.seed if seed is None else int(seed)

    runs = []
    skipped: dict[str, int] = {}
    for i, o in enumerate(origins):
        todo = {}
        for n, s in series.items():
            sector = sc0.sector(n)
            _, positions, fallen_all, _ = frames[n]
            rel = s.days_from(o)
            known = np.flatnonzero(rel <= 0)
            why = None
            if not known.size:
                why = N.NO_OBSERVATION_BEFORE
            else:
                k = known[-1]
                after = rel[rel > 0]
                keep = after[after <= horizon]
                if fallen_all[k] or sector.reached(sector.snap([positions[k]]),
                                                   sector.objective_at)[0]:
                    why = N.ALREADY_FALLEN
                elif not keep.size:
                    why = N.NONE_WITHIN_HORIZON
            if why is not None:
                skipped[why] = skipped.get(why, 0) + 1
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
        runs.append((sc.with_horizon(days[-1], tuple(days)), origin_seed(base_seed, i), todo))
    if skipped:
        notes.append(Note(kind=N.NOT_SCORED, count=sum(skipped.values()),
                          detail={"reasons": skipped}))
    if not runs:
        raise AdvsimError("origins: no origin has a sector to score (each needs an observation "
                          "on or before it and one within the horizon after it)",
                          param="origins")
    unscored_total = sum(v[2] for _, _, todo in runs for v in todo.values())
    if unscored_total:
        notes.append(Note(kind=N.BEYOND_HORIZON, count=unscored_total,
                          detail={"horizon_days": horizon}))
    return OriginsPlan(scenario=sc0, observed_file=obs_file, series=series, frames=frames,
                       runs=runs, replications=n_reps, seed=base_seed, horizon_days=horizon,
                       baseline_days=baseline_days, notes=notes)


# Bytes a replication's outcomes hold per checkpoint day, measured: 340 daily-observed origins
# of 1,000 replications over 365 days peaked at 4.2 GB (the estimate is 1.1 times that).
CHECKPOINT_BYTES = 40


def origins_memory(plan: OriginsPlan, jobs: int | None = 1) -> int:
    """Bytes a backtest from many origins needs at its peak: the runs in flight, as a run's
    estimate (:func:`sim.running.executors.memory_estimate`), and every origin's outcomes
    and progress at its checkpoints, all held until they are scored."""
    from ..engine import CHUNK_SIZE
    from ..running.executors import REPLICATION_BYTES, default_jobs, memory_estimate

    if not plan.runs:
        return 0
    sectors = max(len(sc.sectors) for sc, _, _ in plan.runs)
    days = max(sc.horizon_days for sc, _, _ in plan.runs)
    total = len(plan.runs) * plan.replications
    workers = min(jobs or default_jobs(), -(-total // CHUNK_SIZE))
    in_flight = memory_estimate(replications=min(total, workers * CHUNK_SIZE), days=days,
                                sectors=sectors, workers=workers, chunk_size=CHUNK_SIZE)
    held = sum(plan.replications * len(sc.sectors) * (REPLICATION_BYTES
                                                     + CHECKPOINT_BYTES * len(sc.checkpoints_days))
               for sc, _, _ in plan.runs)
    return int(in_flight + held)


def check_origins_memory(plan: OriginsPlan, *, jobs: int | None = 1,
                         force: bool = False) -> int:
    """``origins_memory(plan)``, refused (an AdvsimError with the figures, naming
    ``origins``) where it is more than is available, unless ``force``."""
    from ..running.executors import available_memory, gb

    need, have = origins_memory(plan, jobs), available_memory()
    if have is not None and need > have and not force:
        days = max(sc.horizon_days for sc, _, _ in plan.runs)
        raise AdvsimError(
            f"origins: {len(plan.runs):,} origins × {plan.replications:,} replications, up to "
            f"{days:,} days each, need about {gb(need)} of memory, more than the {gb(have)} "
            "available (use fewer origins, fewer replications, a shorter horizon, or force)",
            param=("origins", "force"))
    return need


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
    baseline_days: int = TRAILING_DAYS,
    force: bool = False,
) -> OriginsBacktest:
    """Backtests from many origins: every ``every_days`` (see
    :func:`sim.forecast.origins.calendar`) or on ``dates``. From each origin the scenario runs
    as :func:`sim.forecast.origins.at_origin` makes it, knowing only the observations on or
    before the origin (the position there is the last observation on or before it, never one
    interpolated from later data), for its horizon (the scenario's, ``--set horizon_days`` or
    ``horizon_days``: never extended; observation dates beyond it are unscored). Origin ``i``
    runs with seed ``origin_seed(seed, i)``; every chunk of every origin is a task of one
    batch. Work that needs more memory than is available is refused before any run starts
    (``origins_memory``), unless ``force``."""
    t0 = time.perf_counter()
    plan = plan_origins(scenario, observed, every_days=every_days, dates=dates,
                        overrides=overrides, replications=replications, seed=seed,
                        sectors=sectors, until=until, horizon_days=horizon_days,
                        baseline_days=baseline_days)
    check_origins_memory(plan, jobs=jobs, force=force)
    results = simulate_batch(plan.planned(), jobs=jobs, executor=executor, scheduler=scheduler,
                             bands=False)
    return plan.scored(results, wall_seconds=time.perf_counter() - t0)
