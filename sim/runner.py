"""Runs a scenario's replications in fixed-size chunks, locally or across worker processes."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

from .engine import CHUNK_SIZE, SectorChunk, simulate_chunk
from .outcomes import Result, SectorOutcomes
from .scenario import Scenario


def chunks(replications: int, size: int = CHUNK_SIZE) -> list[tuple[int, int, int]]:
    """(chunk index, first replication, count) of each chunk: fixed by replication index."""
    return [(k, lo, min(size, replications - lo))
            for k, lo in enumerate(range(0, replications, size))]


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _run_chunk(args: tuple[Scenario, int, int, int]) -> dict[str, SectorChunk]:
    scenario, seed, k, n = args
    return simulate_chunk(scenario, seed, k, n)


def _pool(jobs: int) -> ProcessPoolExecutor:
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context(method),
        initializer=_worker_init, initargs=(os.getpid(),),
    )


def _worker_init(parent: int) -> None:
    """Workers leave Ctrl-C to the parent (which cancels what has not started), die quietly when
    stopped, and end when the parent is gone: a parent killed with SIGKILL cannot shut its pool
    down, and forked workers would otherwise wait forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="advsim-parent-watch", daemon=True).start()


def simulate(
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    jobs: int | None = 1,
    on_chunk: Callable[[int, int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Result:
    """Run the scenario and return its outcomes.

    ``replications`` and ``seed`` default to the scenario's own. ``jobs`` is the number of worker
    processes (None or 0: one per core); the numbers do not depend on it. ``on_chunk(done,
    total)`` is called as chunks finish. Chunk k always holds the same replications and draws
    from child k of the seed's SeedSequence; changing ``chunk_size`` changes the numbers.
    """
    n = scenario.replications if replications is None else int(replications)
    seed = scenario.seed if seed is None else int(seed)
    if n < 1:
        raise ValueError(f"replications must be >= 1 (got {n})")
    parts = chunks(n, chunk_size)
    jobs = min(jobs or default_jobs(), len(parts))
    t0 = time.perf_counter()
    tasks = [(scenario, seed, k, count) for k, _, count in parts]
    with _mapper(jobs) as pmap:

        def placed() -> Iterator[tuple[int, dict[str, SectorChunk]]]:
            for done, ((_, lo, _), out) in enumerate(zip(parts, pmap(_run_chunk, tasks)), 1):
                yield lo, out
                if on_chunk:
                    on_chunk(done, len(parts))

        result = collect(scenario, n, seed, placed())
    result.wall_seconds = time.perf_counter() - t0
    result.jobs = jobs
    return result


def collect(
    scenario: Scenario, replications: int, seed: int,
    parts: Iterable[tuple[int, dict[str, SectorChunk]]],
) -> Result:
    """A run's Result from its chunks' outcomes, each given with its first replication; chunks
    may arrive in any order (sweeps run them as separate tasks)."""
    sectors = {
        s.name: SectorOutcomes.empty(
            s, replications, len(scenario.checkpoints_days), scenario.horizon_days
        )
        for s in scenario.sectors
    }
    for lo, out in parts:
        for name, part in out.items():
            sectors[name].put(lo, part)
    return Result(scenario=scenario, replications=replications, seed=seed, sectors=sectors)


@contextlib.contextmanager
def _mapper(jobs: int) -> Iterator[Callable]:
    """``map`` in this process, or over a pool of ``jobs`` workers. If the caller is
    interrupted or fails, chunks not yet started are cancelled: the workers stop after the
    chunk they are running (a fraction of a second), and none is left behind."""
    if jobs <= 1:
        yield map
        return
    pool = _pool(jobs)
    try:
        yield pool.map
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
