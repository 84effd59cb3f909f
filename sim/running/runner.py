"""Runs one scenario's replications in fixed-size chunks, on any executor: in this process,
local worker processes or a Dask cluster. The numbers depend on neither. One scenario is the
batch of one (:mod:`sim.running.batch`)."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..engine import CHUNK_SIZE
from ..model.scenario import Scenario
from .batch import planned, simulate_batch
from .executors import Executor
from .outcomes import Result


def simulate(
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    jobs: int | None = 1,
    executor: str | Executor = "local",
    scheduler: str | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
    bands: bool = True,
) -> Result:
    """Run the scenario and return its outcomes.

    ``replications`` and ``seed`` default to the scenario's own. ``executor`` is ``"local"``
    (``jobs`` worker processes; None or 0: one per core; 1: this process), ``"dask"`` (a Dask
    LocalCluster of ``jobs`` workers, or the cluster whose ``scheduler`` address is given), or
    an open executor of ``sim.running.executors``; the numbers depend on none of these.
    ``on_chunk(done, total)`` is called as chunks finish. Chunk k always holds the same
    replications and draws from child k of the seed's SeedSequence; changing ``chunk_size``
    changes the numbers. ``bands=False`` skips the per-day histograms behind ``Result.bands``
    and the troops by day (fits, evaluations and backtests read neither): the numbers are the
    same.
    """
    t0 = time.perf_counter()
    [result] = simulate_batch([planned(scenario, replications, seed)], jobs=jobs,
                              executor=executor, scheduler=scheduler, on_chunk=on_chunk,
                              chunk_size=chunk_size, bands=bands)
    result.wall_seconds = time.perf_counter() - t0
    return result
