"""The batch runner: every chunk of every scenario on one executor, the same numbers as each
scenario run alone, on any number of workers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sim.model.loader import load_scenario
from sim.running.batch import Planned, chunks, simulate_batch
from sim.running.executors import Inline
from sim.running.runner import simulate

ROOT = Path(__file__).resolve().parents[1]


def same(a, b) -> bool:
    ta, tb = a.table(), b.table()
    return list(ta) == list(tb) and all(
        np.array_equal(ta[k], tb[k], equal_nan=np.asarray(ta[k]).dtype.kind == "f") for k in ta)


class Counting(Inline):
    """Runs tasks in this process and records each map_unordered call's task count."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def map_unordered(self, fn, tasks):
        self.calls.append(len(tasks))
        yield from reversed(list(super().map_unordered(fn, tasks)))  # finish out of order


@pytest.fixture(scope="module")
def runs() -> list[Planned]:
    kursk = load_scenario(ROOT / "scenarios/kursk.yaml")
    kura = load_scenario(ROOT / "scenarios/kurakhove.yaml")
    return [Planned(scenario=kursk, replications=1200, seed=4),
            Planned(scenario=kura, replications=500, seed=9),
            Planned(scenario=replace(kursk, horizon_days=90), replications=30, seed=4)]


def test_a_batch_gives_each_scenario_its_own_numbers_on_one_executor(runs):
    ex = Counting()
    batch = simulate_batch(runs, executor=ex, chunk_size=400)
    # one submission of every chunk of every scenario, whatever order they finish in
    assert ex.calls == [sum(len(chunks(r.replications, 400)) for r in runs)] == [3 + 2 + 1]
    for r, got in zip(runs, batch):
        alone = simulate(r.scenario, replications=r.replications, seed=r.seed, chunk_size=400)
        assert got.seed == r.seed and got.replications == r.replications
        assert same(got, alone)
    assert not same(batch[0], simulate(runs[0].scenario, replications=1200, seed=5,
                                       chunk_size=400))


def test_a_batch_is_the_same_on_one_or_two_workers(runs):
    one = simulate_batch(runs, jobs=1, chunk_size=400)
    two = simulate_batch(runs, jobs=2, chunk_size=400)
    assert all(same(a, b) for a, b in zip(one, two))


def test_progress_counts_every_chunk_of_the_batch(runs):
    seen = []
    simulate_batch(runs[1:], executor=Inline(), chunk_size=200,
                   on_chunk=lambda done, total: seen.append((done, total)))
    assert seen == [(k, 4) for k in range(1, 5)]  # 500 → 3 chunks, 30 → 1
