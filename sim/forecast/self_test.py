"""The model against series drawn from a scenario: synthetic observations, and the self-test
(many-origin backtests against many such series, pooled; calibrated by construction when the
model is the scenario itself)."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from .. import __version__
from ..data.observed import ObservedSeries
from ..errors import AdvsimError
from ..model.scenario import Scenario
from ..running.batch import simulate_batch
from .backtest import SectorBacktest
from .forecasters import TRAILING_DAYS
from .many_origins import OriginsBacktest, plan_origins
from .notes import Note, merged
from .pooling import pool

if TYPE_CHECKING:
    from ..running.executors import Executor


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


@dataclass(kw_only=True)
class SelfTest:
    """Many-origin backtests of a model against many series drawn from a scenario (itself, or
    the file as written when the model carries overrides), pooled."""

    truth: Scenario
    runs: list[OriginsBacktest]
    observe_every_days: int
    seed: int

    def __repr__(self) -> str:
        from ..presentation.notebook import count, one_line, short

        first = self.runs[0]
        return short("SelfTest", first.scenario.name,
                     [f"{count(len(self.runs), 'series', 'series')} drawn from "
                      f"{one_line(self.truth.name, 40)}",
                      f"observed every {self.observe_every_days} days",
                      count(len(self.cases()), "case"),
                      count(first.replications, "replication"), f"seed {first.seed}"])

    def _repr_html_(self) -> str:
        """A notebook's view: the pooled scores of the model and of each baseline."""
        from ..presentation.notebook import SCORE_HEADER, html, score_rows

        p = pool(self.cases())
        return html(self.runs[0].scenario.name,
                    f"self-test against {len(self.runs)} series drawn from {self.truth.name}, "
                    f"observed every {self.observe_every_days} days · "
                    f"{p.get('n_obs', 0):,} scored dates", SCORE_HEADER, score_rows(p))

    def cases(self) -> list[SectorBacktest]:
        return [c for r in self.runs for c in r.cases()]

    def notes(self) -> list[Note]:
        """The runs' notes, merged: counts of sector-origins and dates not scored summed."""
        return merged(n for r in self.runs for n in r.notes)

    def summary(self) -> dict:
        from ..presentation.text_forecasts import BASELINE_WORDS, note_text

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
            "notes": [note_text(n) for n in self.notes()],
        }


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
    baseline_days: int = TRAILING_DAYS,
) -> SelfTest:
    """Draw ``count`` series from the scenario as written (a file without its ``overrides``, or
    the Scenario), observed every ``observe_every_days`` over its horizon (replications 0 …
    count − 1 of a run seeded with ``self_test_seed(seed)``), and backtest the scenario with
    its ``overrides`` from many origins against each: every origin of every series one batch.
    Without overrides the model is scored against its own draws: calibrated by
    construction."""
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
    t0 = time.perf_counter()
    base_seed = truth.seed if seed is None else int(seed)
    t_seed = self_test_seed(base_seed)
    obs_days = list(range(observe_every_days, truth.horizon_days + 1, observe_every_days))
    draws = synthetic_many(truth, obs_days, seed=t_seed, count=count, file="<self-test>")
    plans = [plan_origins(model, d, every_days=every_days or observe_every_days * 4,
                          dates=dates, replications=replications, seed=base_seed,
                          horizon_days=horizon_days, baseline_days=baseline_days)
             for d in draws]
    batch = [p for plan in plans for p in plan.planned()]
    results = iter(simulate_batch(batch, jobs=jobs, executor=executor, scheduler=scheduler,
                                  bands=False))
    runs = [plan.scored([next(results) for _ in plan.runs],
                        wall_seconds=time.perf_counter() - t0) for plan in plans]
    return SelfTest(truth=truth, runs=runs, observe_every_days=observe_every_days, seed=t_seed)
