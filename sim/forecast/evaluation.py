"""Leave-one-town-out evaluation of fall-day projections made from a reference class.

For each town of the class (the split :func:`sim.forecast.splits.leave_one_town_out`), the
advance model is fitted to the *other* towns only, and the town's fall day is projected from
origins every ``every_days`` along its approach (:func:`sim.forecast.origins.thinned`: the
first origin, then the next observation at least ``every_days`` later, while the front is
within range and the town stands). A projection is scored against what the map then showed, up
to the class's ``until`` date: the fall day if the town fell by then, otherwise "not by
``until``", with the censored CRPS (:func:`sim.forecast.scores.censored_crps`): forecast and
observation capped at the same point (one day past ``until``), so the scores are proper for
the capped fall day and a censored observation is never counted as fallen nor dropped.

Forecasters scored, all from the same origins (:mod:`sim.forecast.forecasters`):
``class_model`` (the engine running the advance fitted to the other towns, from the distance
remaining, starting in the regime of the last step seen), any other advance blocks given (run
the same way, on the same random numbers), ``reference_class``, ``persistence`` and
``trailing_rate``. Every town's every simulated forecaster is one batch
(:mod:`sim.running.batch`); town ``T`` runs with ``evaluation_seed(seed, T)``.

Scores (:mod:`sim.forecast.scores`): censored CRPS and WIS in days, coverage of the central
50% and 90% intervals, the randomised PIT and its uniformity test, and CRPS skill against each
baseline. Origins of one town share its outcome, so pooled PITs are correlated and their
test's p-value is optimistic; per-town figures show how much one town weighs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import instance, whole_number
from ..fitting.advance_fit import Approaches, fall_days_batch, fit
from ..fitting.reference import BANDS_KM, KaplanMeier, Origin, ReferenceClass, km_by_band
from ..model.scenario import Advance
from ..seeds import evaluation_rng, evaluation_seed
from . import scores as S
from .forecasters import (
    CLASS_MODEL,
    FALL_BASELINES,
    PERSISTENCE,
    TRAILING_DAYS,
    TRAILING_RATE,
    persistence_fall,
    reference_class_fall,
    trailing_rate_fall,
)
from .origins import thinned
from .splits import leave_one_town_out

if TYPE_CHECKING:
    from ..running.executors import Executor

EVERY_DAYS = 30
REPLICATIONS = 400


@dataclass(frozen=True, kw_only=True)
class Case:
    """One projection: a town, an origin, what happened, and every forecast's members."""

    town: str
    origin: dt.date
    remaining_km: float
    observed_days: float  # the fall day from the origin, or cap when it had not fallen
    fell: bool
    cap: float  # days from the origin to one day past until
    members: dict[str, np.ndarray]


def eval_origins(cls: ReferenceClass, town: str, every_days: int = EVERY_DAYS) -> list[Origin]:
    """The origins projected along ``town``'s approach."""
    return thinned(cls.only(town).origins(), every_days, date=lambda o: o.date)


def trailing_fall(cls: ReferenceClass, o: Origin, cap: float,
                  window_days: int = TRAILING_DAYS) -> np.ndarray:
    """The trailing-rate forecast of ``o``'s fall day, from its town's series up to it."""
    a = next(x for x in cls.approaches if x.town == o.town)
    rel = np.array([(d - o.date).days for d in a.dates], dtype=float)
    return trailing_rate_fall(o.remaining_km, rel, np.asarray(a.remaining_km, dtype=float),
                              cap, window_days)


def evaluate(cls: ReferenceClass, *, others: Mapping[str, Advance] | None = None,
             every_days: int = EVERY_DAYS, replications: int = REPLICATIONS, seed: int = 1,
             jobs: int | None = 1, executor: str | Executor = "local",
             scheduler: str | None = None,
             on_chunk: Callable[[int, int], None] | None = None,
             on_fit: Callable[[int, int], None] | None = None,
             force: bool = False) -> Evaluation:
    """Leave-one-town-out projections of every town's fall day, scored (see the module).
    ``others``: more advance blocks to score, by a label each (``versus_labels``). Work that
    needs more memory than is available is refused before any run starts
    (:func:`evaluation_memory`), unless ``force``. ``on_fit(done, total)`` follows the towns'
    fits, ``on_chunk(done, total)`` the simulation's chunks."""
    instance(cls, ReferenceClass, "cls", "a ReferenceClass (sim.fitting.reference.read_class)")
    whole_number(every_days, "every_days", low=1, high=100_000)
    whole_number(replications, "replications", low=1, high=10**7)
    whole_number(seed, "seed", low=0, high=2**63 - 1)
    others = {} if others is None else dict(instance(others, Mapping, "others",
                                                     "advance blocks by label"))
    for label, block in others.items():
        check_label(label)
        instance(block, Advance, "others", "advance blocks (sim.model.scenario.Advance) by label")
    plans = []  # (town, train, origins, caps)
    batch: list[Approaches] = []
    folds = list(leave_one_town_out(cls))
    for k, (town, train) in enumerate(folds, 1):
        if on_fit is not None:
            on_fit(k - 1, len(folds))
        origins = eval_origins(cls, town, every_days)
        if not origins:
            continue
        model = fit(train).block()
        caps = [float((cls.until - o.date).days + 1) for o in origins]
        spec = [(f"o{i}", o.remaining_km, o.state) for i, o in enumerate(origins)]
        run_seed = evaluation_seed(seed, town)
        batch.extend(Approaches(block=block, origins=spec, horizon_days=int(max(caps)),
                                replications=replications, seed=run_seed)
                     for block in (model, *others.values()))
        plans.append((town, train, origins, caps))
    check_evaluation_memory(batch, len(others), every_days=every_days, jobs=jobs, force=force)
    simulated = iter(fall_days_batch(batch, jobs=jobs, executor=executor, scheduler=scheduler,
                                     on_chunk=on_chunk))
    cases: list[Case] = []
    for town, train, origins, caps in plans:
        runs = {name: next(simulated) for name in (CLASS_MODEL, *others)}
        train_origins = train.origins()
        bands = km_by_band(train_origins)
        pooled = KaplanMeier.fit([o.days for o in train_origins], [o.fell for o in train_origins])
        for i, (o, cap) in enumerate(zip(origins, caps)):
            members = {name: np.minimum(days[i], cap) for name, days in runs.items()}
            members["reference_class"] = reference_class_fall(bands, pooled, o.remaining_km,
                                                              cap, replications)
            members[PERSISTENCE] = persistence_fall(cap)
            members[TRAILING_RATE] = trailing_fall(cls, o, cap)
            cases.append(Case(town=town, origin=o.date, remaining_km=o.remaining_km,
                              observed_days=float(o.days) if o.fell else cap, fell=o.fell,
                              cap=cap, members=members))
    return Evaluation(cls=cls, cases=cases, forecasts=(CLASS_MODEL, *others, *FALL_BASELINES),
                      every_days=every_days, replications=replications, seed=seed)


# Bytes each case (a town's origin) holds per replication and forecast until it is scored (a
# simulated forecast's fall days as run and capped, the reference class's draws), and the
# margin over what was measured: 4,101 daily origins of 8 towns, -j 1, peaked at 206 MB with
# 100 replications and 321 MB with 400 (the estimate: 222 and 349 MB).
CASE_BYTES_PER_FORECAST = 16
MARGIN = 1.1


def evaluation_memory(batch: Sequence[Approaches], others: int = 0, jobs: int | None = 1) -> int:
    """Bytes a leave-one-town-out evaluation of ``batch`` needs at its peak: the interpreter
    and workers, the runs in flight (a town's run is a sector per origin, its outcomes held
    until its fall days are taken) and every case's projections, all held until they are
    scored."""
    from ..engine import CHUNK_SIZE
    from ..running.executors import BASE_BYTES, REPLICATION_BYTES, WORKER_BYTES, default_jobs

    if not batch:
        return 0
    replications = max(a.replications for a in batch)
    total = sum(a.replications for a in batch)
    workers = min(jobs or default_jobs(), -(-total // CHUNK_SIZE))
    in_flight = (min(workers, len(batch)) * max(len(a.origins) for a in batch) * replications
                 * REPLICATION_BYTES)
    cases = sum(len(a.origins) for a in batch) // (1 + others)
    held = cases * replications * CASE_BYTES_PER_FORECAST * (2 + others)
    return int(MARGIN * (BASE_BYTES + max(workers - 1, 0) * WORKER_BYTES + in_flight + held))


def check_evaluation_memory(batch: Sequence[Approaches], others: int = 0, *,
                            every_days: int = EVERY_DAYS, jobs: int | None = 1,
                            force: bool = False) -> int:
    """``evaluation_memory(batch)``, refused (an AdvsimError with the figures, naming
    ``every_days``) where it is more than is available, unless ``force``; before any run
    starts."""
    from ..errors import AdvsimError
    from ..running.executors import available_memory, gb

    need, have = evaluation_memory(batch, others, jobs), available_memory()
    if have is not None and need > have and not force:
        cases = sum(len(a.origins) for a in batch) // (1 + others)
        reps = max(a.replications for a in batch)
        raise AdvsimError(
            f"every_days {every_days}: {cases:,} origins × {reps:,} replications × "
            f"{2 + others} forecasts need about {gb(need)} of memory, more than the {gb(have)} "
            "available (space the origins further apart, use fewer replications, or force)",
            param=("every_days", "force"))
    return need


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """Every projection of a leave-one-town-out evaluation, and their scores."""

    cls: ReferenceClass
    cases: list[Case]
    forecasts: tuple[str, ...]
    every_days: int
    replications: int
    seed: int

    def scores(self, name: str, town: str | None = None) -> dict:
        """Pooled scores of one forecast (over one town's cases when ``town`` is given)."""
        cases = [c for c in self.cases if town is None or c.town == town]
        rng = evaluation_rng(self.seed)
        crps, wis, pit, c50, c90 = [], [], [], [], []
        for c in cases:
            x = np.sort(c.members[name])
            y = c.observed_days
            crps.append(float(S.censored_crps(x, y, fell=c.fell, cap=c.cap)))
            wis.append(float(S.wis(x, y)))
            pit.append(float(S.pit(x, y, rng)))
            c50.append(bool(S.covered(x, y, 0.5)))
            c90.append(bool(S.covered(x, y, 0.9)))
        return {"cases": len(cases), "crps_days": float(np.mean(crps)),
                "wis_days": float(np.mean(wis)), "coverage_50": float(np.mean(c50)),
                "coverage_90": float(np.mean(c90)), "pit": S.pit_uniformity(pit)}

    def table(self) -> dict:
        """Every forecast's pooled scores, its skill against each baseline, and per town."""
        pooled = {name: self.scores(name) for name in self.forecasts}
        for name, s in pooled.items():
            s["crps_skill"] = {b: S.crps_skill(s["crps_days"], pooled[b]["crps_days"])
                               for b in FALL_BASELINES if b != name}
        towns = list(dict.fromkeys(c.town for c in self.cases))
        per_town = {}
        for t in towns:
            mine = {name: self.scores(name, t) for name in self.forecasts}
            base = mine[TRAILING_RATE]["crps_days"]
            row = {name: {"cases": s["cases"], "crps_days": s["crps_days"],
                          "coverage_50": s["coverage_50"], "coverage_90": s["coverage_90"],
                          "crps_skill_vs_trailing": S.crps_skill(s["crps_days"], base)}
                   for name, s in mine.items()}
            c = next(c for c in self.cases if c.town == t)
            per_town[t] = {"fell": c.fell, "forecasts": row}
        return {"towns": len(towns), "cases": len(self.cases), "every_days": self.every_days,
                "replications": self.replications, "seed": self.seed,
                "until": self.cls.until.isoformat(), "within_km": self.cls.within_km,
                "bands_km": list(BANDS_KM), "pooled": pooled, "per_town": per_town}


RESERVED = (CLASS_MODEL, *FALL_BASELINES)  # the forecasters every evaluation scores


def check_label(label: object, param: str = "others") -> str:
    """``label`` if it can name another forecaster: one line of text, none of the names (or
    words) of the forecasters every evaluation scores."""
    from ..errors import AdvsimError

    if not isinstance(label, str) or not label.strip() or not label.isprintable():
        raise AdvsimError(f"{param}: a label is one line of text (got {label!r})", param=param)
    if label in RESERVED or label.replace(" ", "_") in RESERVED:
        raise AdvsimError(f"{param}: {label!r} names a forecaster every evaluation scores "
                          f"({', '.join(RESERVED)}); choose another label", param=param)
    return label


def versus_labels(paths: Sequence[str], labels: Sequence[str] = ()) -> list[str]:
    """A unique label for each scenario file scored beside the class: ``labels`` in order
    where given (one per file, each unique), else each file's stem, or its path where the stem
    is taken (by another file or by a forecaster every evaluation scores)."""
    from pathlib import Path

    from ..errors import AdvsimError

    if labels:
        if len(labels) != len(paths):
            raise AdvsimError(f"labels: one per scenario file ({len(paths)} files, "
                              f"{len(labels)} labels)", param="labels")
        out = [check_label(x, "labels") for x in labels]
        for i, x in enumerate(out):
            if x in out[:i]:
                raise AdvsimError(f"labels: {x!r} is given twice (for {paths[out.index(x)]} "
                                  f"and {paths[i]}; expected one label per file)",
                                  param="labels")
        return out
    out = []
    for path in paths:
        label = Path(path).stem
        taken = label.replace(" ", "_") in RESERVED or label in out or not label.isprintable()
        if taken:
            label = str(Path(path).with_suffix("")) if label.isprintable() else repr(path)
        n, base = 2, label
        while label in out or label.replace(" ", "_") in RESERVED:
            label, n = f"{base} ({n})", n + 1
        out.append(label)
    return out


def advance_of(path: str, sector: str | None = None) -> tuple[str, Advance]:
    """A scenario file's advance block (its first sector's, or ``sector``'s), as loaded and
    checked, with the sector's name; the force term is left out (an approach has no forces to
    weigh)."""
    from dataclasses import replace

    from ..errors import ScenarioError
    from ..model.loader import load_scenario

    sc = load_scenario(path)  # every value checked, located, as run
    names = [s.name for s in sc.sectors]
    name = sector if sector is not None else names[0]
    if name not in names:
        raise ScenarioError(f"no sector {name!r} (the file has {', '.join(names)})",
                            file=path, key="sectors")
    return name, replace(sc.sector(name).advance, force=None)
