"""Many scenarios' replications as one batch: every chunk of every scenario on one executor."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..engine import CHUNK_SIZE, SectorChunk, simulate_chunk
from ..errors import AdvsimError, instance, whole_number
from ..model.scenario import Scenario
from .executors import Executor, default_jobs, open_executor
from .outcomes import Result, SectorOutcomes

MAX_REPLICATIONS = 10**9  # as a scenario file's replications


@dataclass(frozen=True, kw_only=True)
class Planned:
    """One scenario of a batch: what runs, how many replications, and the run's seed."""

    scenario: Scenario
    replications: int
    seed: int


def chunks(replications: int, size: int = CHUNK_SIZE) -> list[tuple[int, int, int]]:
    """(chunk index, first replication, count) of each chunk: fixed by replication index."""
    return [(k, lo, min(size, replications - lo))
            for k, lo in enumerate(range(0, replications, size))]


def planned(scenario: Scenario, replications: int | None, seed: int | None) -> Planned:
    """A scenario with its replications and seed (each defaulting to the scenario's own); a
    bad argument is one AdvsimError naming the parameter and what it accepts."""
    instance(scenario, Scenario, "scenario",
             "a Scenario (sim.load_scenario(path) reads one from a file)")
    n = whole_number(replications, "replications", low=1, high=MAX_REPLICATIONS, none=True)
    s = whole_number(seed, "seed", low=0, high=2**63 - 1, none=True)
    return Planned(scenario=scenario, replications=scenario.replications if n is None else n,
                   seed=scenario.seed if s is None else s)


def collect(
    scenario: Scenario, replications: int, seed: int,
    parts: Iterable[tuple[int, dict[str, SectorChunk]]],
) -> Result:
    """A run's Result from its chunks' outcomes, each given with its first replication; chunks
    may arrive in any order."""
    sectors = {
        s.name: SectorOutcomes.empty(s, replications, scenario.checkpoints_days)
        for s in scenario.sectors
    }
    for lo, out in parts:
        for name, part in out.items():
            sectors[name].put(lo, part)
    return Result(scenario=scenario, replications=replications, seed=seed, sectors=sectors)


@contextlib.contextmanager
def executor_for(executor: str | Executor, jobs: int | None, scheduler: str | None,
                 tasks: int) -> Iterator[Executor]:
    """The executor to use: one given open, or one opened for ``tasks`` tasks (no more local
    workers than tasks; ``jobs`` None or 0: one per core) and closed after them."""
    if not isinstance(executor, str):
        yield executor
        return
    if executor == "local" and scheduler:
        raise AdvsimError("scheduler: a Dask scheduler goes with executor dask",
                          param="scheduler")
    if executor == "local":
        jobs = max(1, min(jobs or default_jobs(), tasks))
    with open_executor(executor, jobs, scheduler) as ex:
        yield ex


def run_chunks(
    runs: Sequence[Planned],
    ex: Executor,
    *,
    task: Callable[..., Any] = simulate_chunk,
    chunk_size: int = CHUNK_SIZE,
    on_chunk: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
    """Submit every chunk of every run to ``ex`` at once and yield ``(run index, [(first
    replication, task output), ...])`` as each run's last chunk finishes. ``task(scenario,
    seed, chunk, count)`` computes one chunk (default: the engine's). Chunk k of a run always
    holds the same replications and draws from child k of its seed: the numbers depend on
    neither the executor nor the other runs of the batch."""
    parts = [chunks(r.replications, chunk_size) for r in runs]
    tasks, where = [], []
    for i, (r, ps) in enumerate(zip(runs, parts)):
        for k, lo, count in ps:
            tasks.append((r.scenario, r.seed, k, count))
            where.append((i, lo))
    got: dict[int, list[tuple[int, Any]]] = {}
    for done, (t, out) in enumerate(ex.map_unordered(task, tasks), 1):
        i, lo = where[t]
        mine = got.setdefault(i, [])
        mine.append((lo, out))
        if on_chunk:
            on_chunk(done, len(tasks))
        if len(mine) == len(parts[i]):
            yield i, got.pop(i)


def simulate_batch(
    runs: Sequence[Planned],
    *,
    jobs: int | None = 1,
    executor: str | Executor = "local",
    scheduler: str | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
    keep: Callable[[Result], Any] | None = None,
    bands: bool = True,
) -> list[Any]:
    """Every run's Result, in the order given, from one executor that keeps every worker busy
    across runs (see :func:`run_chunks`; ``executor``, ``jobs`` and ``scheduler`` as in
    :func:`sim.running.runner.simulate`). With ``keep``, what it takes of each Result instead,
    the Result dropped as soon as it is taken: a batch of hundreds of runs then holds one
    run's per-day histograms at a time, not all of them. ``bands=False``: no per-day
    histograms at all (see :func:`sim.engine.simulate_chunk`), the same numbers."""
    runs = list(runs)
    total = sum(len(chunks(r.replications, chunk_size)) for r in runs)
    results: list[Any] = [None] * len(runs)
    with executor_for(executor, jobs, scheduler, max(total, 1)) as ex:
        task = simulate_chunk if bands else functools.partial(simulate_chunk, bands=False)
        for i, parts in run_chunks(runs, ex, task=task, chunk_size=chunk_size,
                                   on_chunk=on_chunk):
            r = runs[i]
            result = collect(r.scenario, r.replications, r.seed, parts)
            result.jobs = ex.workers
            results[i] = keep(result) if keep else result
    return results
