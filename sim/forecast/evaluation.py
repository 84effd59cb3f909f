"""Leave-one-town-out evaluation of fall-day projections made from a reference class.

For each town of the class, the advance model is fitted to the *other* towns only, and the
town's fall day is projected from origins every ``every_days`` along its approach (the first
origin, then the next observation at least ``every_days`` later, while the front is within
range and the town stands). A projection is scored against what the map then showed, up to the
class's ``until`` date: the fall day if the town fell by then, otherwise "not by ``until``".
Forecast and observation are capped at the same point (one day past ``until``), so the scores
are proper for the capped fall day and a censored observation is never counted as fallen nor
dropped.

Forecasts scored, all from the same origins:

- ``class model``: the engine running the advance fitted to the other towns, from the distance
  remaining, starting in the regime of the last step seen;
- any other advance blocks given (e.g. the report's 200–300 m/day model), run the same way;
- ``reference class``: the other towns' Kaplan–Meier days-to-fall for the remaining-distance
  band, no simulation (its mass beyond their follow-up put past ``until``);
- ``persistence``: the front stays where it is (the town does not fall);
- ``trailing rate``: the distance closed over the 90 days before the origin, extrapolated
  (no fall if it did not close).

Scores (:mod:`sim.forecast.scores`): fair CRPS and WIS in days, coverage of the central 50% and 90%
intervals, the randomised PIT and its uniformity test, and CRPS skill against each baseline.
Origins of one town share its outcome, so pooled PITs are correlated and their test's p-value
is optimistic; per-town figures show how much one town weighs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..fitting.advance_fit import fall_days, fit
from ..fitting.reference import BANDS_KM, KaplanMeier, Origin, ReferenceClass, km_by_band
from ..model.scenario import Advance
from . import scores as S

EVERY_DAYS = 30
TRAILING_DAYS = 90
REPLICATIONS = 400
MODEL = "class model"
BASELINES = ("reference class", "persistence", "trailing rate")


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
    picked: list[Origin] = []
    for o in cls.only(town).origins():
        if not picked or (o.date - picked[-1].date).days >= every_days:
            picked.append(o)
    return picked


def trailing_days(cls: ReferenceClass, o: Origin, cap: float) -> float:
    a = next(x for x in cls.approaches if x.town == o.town)
    before = a.value_at(o.date - dt.timedelta(days=TRAILING_DAYS))
    if before is None:
        return cap
    rate_km_per_day = (before - o.remaining_km) / TRAILING_DAYS
    if rate_km_per_day <= 0:
        return cap
    return float(min(o.remaining_km / rate_km_per_day, cap))


def _empirical(bands, pooled: KaplanMeier, km: float, cap: float, m: int) -> np.ndarray:
    """The training towns' Kaplan–Meier days-to-fall for ``km``'s band (all bands pooled
    where the band has no origin), as ``m`` members capped at ``cap``."""
    for (lo, hi), _, curve in bands:
        if lo < km <= hi:
            return curve.sample(m, cap)
    return pooled.sample(m, cap)


def evaluate(cls: ReferenceClass, *, others: Mapping[str, Advance] | None = None,
             every_days: int = EVERY_DAYS, replications: int = REPLICATIONS, seed: int = 1,
             jobs: int = 1, on_town=None) -> Evaluation:
    """Leave-one-town-out projections of every town's fall day, scored (see the module)."""
    others = dict(others or {})
    cases: list[Case] = []
    towns = [t for t in cls.towns if eval_origins(cls, t, every_days)]
    for k, town in enumerate(towns):
        train = cls.without(town)
        model = fit(train).block()
        origins = eval_origins(cls, town, every_days)
        caps = [float((cls.until - o.date).days + 1) for o in origins]
        horizon = int(max(caps))
        spec = [(f"o{i}", o.remaining_km, o.state) for i, o in enumerate(origins)]
        runs = {MODEL: fall_days(model, spec, horizon, replications=replications,
                                 seed=seed + k, jobs=jobs)}
        for name, block in others.items():
            runs[name] = fall_days(block, spec, horizon, replications=replications,
                                   seed=seed + k, jobs=jobs)
        train_origins = train.origins()
        bands = km_by_band(train_origins)
        pooled = KaplanMeier.fit([o.days for o in train_origins], [o.fell for o in train_origins])
        for i, (o, cap) in enumerate(zip(origins, caps)):
            members = {name: np.minimum(days[i], cap) for name, days in runs.items()}
            members["reference class"] = _empirical(bands, pooled, o.remaining_km, cap,
                                                    replications)
            members["persistence"] = np.array([cap])
            members["trailing rate"] = np.array([trailing_days(cls, o, cap)])
            cases.append(Case(town=town, origin=o.date, remaining_km=o.remaining_km,
                              observed_days=float(o.days) if o.fell else cap, fell=o.fell,
                              cap=cap, members=members))
        if on_town:
            on_town(k + 1, len(towns))
    return Evaluation(cls=cls, cases=cases, forecasts=(MODEL, *others, *BASELINES),
                      every_days=every_days, replications=replications, seed=seed)


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    cls: ReferenceClass
    cases: list[Case]
    forecasts: tuple[str, ...]
    every_days: int
    replications: int
    seed: int

    def scores(self, name: str, town: str | None = None) -> dict:
        """Pooled scores of one forecast (over one town's cases when ``town`` is given)."""
        cases = [c for c in self.cases if town is None or c.town == town]
        rng = np.random.default_rng(self.seed)
        crps, wis, pit, c50, c90 = [], [], [], [], []
        for c in cases:
            x = np.sort(c.members[name])
            y = c.observed_days
            crps.append(float(S.fair_crps(x, y)))
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
                               for b in BASELINES if b != name}
        towns = sorted({c.town for c in self.cases}, key=[c.town for c in self.cases].index)
        per_town = {}
        for t in towns:
            mine = {name: self.scores(name, t) for name in self.forecasts}
            base = mine["trailing rate"]["crps_days"]
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
