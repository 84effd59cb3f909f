"""Runs a scenario's replications in fixed-size chunks, on any executor: in this process,
local worker processes or a Dask cluster. The numbers depend on neither."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator

from ..engine import CHUNK_SIZE, SectorChunk, simulate_chunk
from ..model.scenario import Scenario
from .executors import Executor, open_executor
from .outcomes import Result, SectorOutcomes


def chunks(replications: int, size: int = CHUNK_SIZE) -> list[tuple[int, int, int]]:
    """(chunk index, first replication, count) of each chunk: fixed by replication index."""
    return [(k, lo, min(size, replications - lo))
            for k, lo in enumerate(range(0, replications, size))]


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
    n = scenario.replications if replications is None else int(replications)
    seed = scenario.seed if seed is None else int(seed)
    if n < 1:
        raise ValueError(f"replications must be >= 1 (got {n})")
    parts = chunks(n, chunk_size)
    t0 = time.perf_counter()
    tasks = [(scenario, seed, k, count, bands) for k, _, count in parts]
    with _executor(executor, jobs, scheduler, len(parts)) as ex:

        def placed() -> Iterator[tuple[int, dict[str, SectorChunk]]]:
            for done, (i, out) in enumerate(ex.map_unordered(simulate_chunk, tasks), 1):
                yield parts[i][1], out
                if on_chunk:
                    on_chunk(done, len(parts))

        result = collect(scenario, n, seed, placed())
        result.jobs = ex.workers
    result.wall_seconds = time.perf_counter() - t0
    return result


@contextlib.contextmanager
def _executor(executor: str | Executor, jobs: int | None, scheduler: str | None,
              tasks: int) -> Iterator[Executor]:
    """The executor to use: one given open, or one opened for these tasks (no more local
    workers than tasks) and closed after them."""
    if not isinstance(executor, str):
        yield executor
        return
    if executor == "local" and scheduler:
        from ..errors import AdvsimError

        raise AdvsimError("scheduler: a Dask scheduler goes with executor dask",
                          param="scheduler")
    if executor == "local":
        from .executors import default_jobs

        jobs = min(jobs or default_jobs(), tasks)
    with open_executor(executor, jobs, scheduler) as ex:
        yield ex


def collect(
    scenario: Scenario, replications: int, seed: int,
    parts: Iterable[tuple[int, dict[str, SectorChunk]]],
) -> Result:
    """A run's Result from its chunks' outcomes, each given with its first replication; chunks
    may arrive in any order (sweeps run them as separate tasks)."""
    sectors = {
        s.name: SectorOutcomes.empty(s, replications, scenario.checkpoints_days)
        for s in scenario.sectors
    }
    for lo, out in parts:
        for name, part in out.items():
            sectors[name].put(lo, part)
    return Result(scenario=scenario, replications=replications, seed=seed, sectors=sectors)
