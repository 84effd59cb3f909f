"""Runs one scenario's replications in fixed-size chunks, on any executor: in this process,
local worker processes or a Dask cluster. The numbers depend on neither. One scenario is the
batch of one (:mod:`sim.running.batch`)."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..engine import CHUNK_SIZE
from ..errors import whole_number
from ..model.scenario import Scenario
from .batch import planned, simulate_batch
from .executors import Executor, check_memory
from .outcomes import Result

MAX_JOBS = 1024


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
    force: bool = False,
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
    same. A run that needs more memory than is available is refused before it starts (an
    AdvsimError with both figures), unless ``force``; a bad argument is one AdvsimError (a
    TypeError or ValueError too) naming the parameter and what it accepts.
    """
    t0 = time.perf_counter()
    plan = planned(scenario, replications, seed)
    whole_number(jobs, "jobs", low=0, high=MAX_JOBS, none=True)
    whole_number(chunk_size, "chunk_size", low=1, high=10**9)
    if isinstance(executor, str) and executor == "local":
        check_memory(replications=plan.replications, days=scenario.horizon_days,
                     sectors=len(scenario.sectors), jobs=jobs, force=force,
                     chunk_size=chunk_size)
    [result] = simulate_batch([plan], jobs=jobs,
                              executor=executor, scheduler=scheduler, on_chunk=on_chunk,
                              chunk_size=chunk_size, bands=bands)
    result.wall_seconds = time.perf_counter() - t0
    return result
