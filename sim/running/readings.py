"""The fall read again at other points of the same simulated paths: the objective nearer or
farther (where a town's centre lies is known to about ±0.5 km) and other definitions of the
fall (the contested zone counted as held).

The engine stops a replication at its objective, so a point beyond it needs the paths run on:
one more run of the same scenario and seed, each axis sector's objective moved ``shift_km``
farther, with milestones (which draw no random numbers) at the objective, ``shift_km`` before
it and at any other point asked for. Every reading comes from the replications of that one
run, so they are ordered path by path (nearer <= objective <= farther). The headline run's
own numbers differ from this run's reading at the objective by Monte Carlo error only: the
two runs share their seed, but not their draws once a replication has fallen and retired.

Where the pace does not depend on the distance left (every advance model so far), the day a
path passes ``x`` km from its start has the law of the fall day of an objective ``x`` km away:
each reading is that objective's fall, not an approximation of it. Area sectors (km² held)
have no centre to move and are not read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..errors import AdvsimError
from ..model.scenario import AxisSector, Milestone, Scenario, Sector

if TYPE_CHECKING:
    from .executors import Executor

SHIFT_KM = 0.5
NEARER, AT, FARTHER = "nearer", "objective", "farther"


def _check(shift_km: float, points: Mapping[str, Mapping[str, float]]) -> None:
    if not (isinstance(shift_km, (int, float)) and math.isfinite(shift_km) and shift_km > 0):
        raise AdvsimError(f"shift_km must be a positive number of km (got {shift_km!r})",
                          param="shift_km")
    for sector, pts in points.items():
        for name, km in pts.items():
            if name in (NEARER, AT, FARTHER):
                raise AdvsimError(f"points: {sector}.{name} is a reading's own name (expected "
                                  f"another)", param="points")
            if not (isinstance(km, (int, float)) and math.isfinite(km)):
                raise AdvsimError(f"points: {sector}.{name} must be a finite number of km "
                                  f"(got {km!r})", param="points")


def extended(sector: AxisSector, points: Mapping[str, float] | None = None,
             shift_km: float = SHIFT_KM) -> tuple[AxisSector, dict[str, float]]:
    """The sector run on ``shift_km`` past its objective, its own milestones replaced by the
    points read on the way (name -> km advanced from the scenario's start): ``objective``,
    ``nearer`` and each of ``points`` at or before the objective. Returns it and the points
    already passed at its start (fallen at day 0 under that reading)."""
    length = sector.length_km
    want = {NEARER: length - shift_km, AT: length, **(points or {})}
    for name, km in want.items():
        if km > length:
            raise AdvsimError(f"points: {sector.name}.{name} at {km:g} km lies beyond the "
                              f"objective ({length:g} km); only points up to it are read",
                              param="points")
    passed = {k: v for k, v in want.items() if v <= sector.start_km}
    ahead = sorted(((v, k) for k, v in want.items() if v > sector.start_km))
    return (replace(sector, length_km=length + shift_km,
                    milestones=tuple(Milestone(name=k, at=v) for v, k in ahead)), passed)


def readings_batch(items: Sequence[tuple[Scenario, int, int, Mapping[str, Mapping[str, float]]]],
                   *, shift_km: float = SHIFT_KM, jobs: int | None = 1,
                   executor: str | Executor = "local", scheduler: str | None = None,
                   on_chunk: Callable[[int, int], None] | None = None
                   ) -> list[dict[str, dict[str, np.ndarray]]]:
    """For each (scenario, replications, seed, points), the day each replication passes each
    point of each axis sector: ``nearer`` (``shift_km`` before the objective), ``objective``,
    ``farther`` (``shift_km`` beyond it) and the sector's ``points`` (name -> km advanced from
    the start); 0 for a point already passed at the start, inf where not within the horizon.
    Every scenario's runs go to one executor (:func:`sim.running.batch.simulate_batch`)."""
    from .batch import Planned, simulate_batch

    plans, layout = [], []
    for sc, n, seed, points in items:
        _check(shift_km, points)
        sectors: list[Sector] = []
        passed: dict[str, dict[str, float]] = {}
        for s in sc.sectors:
            if isinstance(s, AxisSector):
                ext, passed[s.name] = extended(s, points.get(s.name), shift_km)
                sectors.append(ext)
            else:
                sectors.append(s)
        plans.append(Planned(scenario=replace(sc, sectors=tuple(sectors)), replications=n,
                             seed=seed))
        layout.append(passed)

    def days_of(res) -> dict[str, dict[str, np.ndarray]]:
        out = {}
        for name, so in res.sectors.items():
            if not isinstance(so.sector, AxisSector):
                continue
            got = {m.name: so.milestone_days[:, i] for i, m in enumerate(so.sector.milestones)}
            got[FARTHER] = so.objective_day
            out[name] = {k: np.where(np.isfinite(d), np.asarray(d, dtype=float), np.inf)
                         for k, d in got.items()}
        return out

    runs = simulate_batch(plans, jobs=jobs, executor=executor, scheduler=scheduler,
                          on_chunk=on_chunk, keep=days_of, bands=False)
    for got, passed, plan in zip(runs, layout, plans):
        for sector, pts in passed.items():
            for k in pts:
                got[sector][k] = np.zeros(plan.replications)
    return runs


def objective_readings(sc: Scenario, *, replications: int | None = None,
                       seed: int | None = None, shift_km: float = SHIFT_KM,
                       jobs: int | None = 1, executor: str | Executor = "local",
                       scheduler: str | None = None,
                       on_chunk: Callable[[int, int], None] | None = None
                       ) -> dict[str, dict[str, np.ndarray]]:
    """Each axis sector's fall day with its objective ``shift_km`` nearer and farther (and at
    it), read on one more run of ``sc`` with the same seed (see the module)."""
    [got] = readings_batch([(sc, sc.replications if replications is None else replications,
                             sc.seed if seed is None else seed, {})],
                           shift_km=shift_km, jobs=jobs, executor=executor,
                           scheduler=scheduler, on_chunk=on_chunk)
    return got


def reading_summary(days: np.ndarray, percentiles: Sequence[float]) -> dict:
    """A reading's probability of falling within the horizon and its censored percentiles
    (None beyond the horizon), as the run's summary gives the objective's."""
    from ..analysis.summary import censored_percentiles, pkey

    return {"prob_reached": float(np.isfinite(days).mean()) if days.size else 0.0,
            "day": {pkey(p): None if d is None else round(d, 2)
                    for p, d in zip(percentiles, censored_percentiles(days, percentiles))}}


def readings_summary(readings: Mapping[str, Mapping[str, np.ndarray]],
                     percentiles: Sequence[float], shift_km: float = SHIFT_KM
                     ) -> dict[str, dict]:
    """Each sector's readings as its summary's ``objective.shifted`` block: the shift, and for
    ``nearer``, ``objective`` (this run's own reading) and ``farther`` the probability within
    the horizon and the censored percentiles of the day."""
    return {name: {"shift_km": shift_km,
                   **{k: reading_summary(got[k], percentiles) for k in (NEARER, AT, FARTHER)
                      if k in got}}
            for name, got in readings.items()}
