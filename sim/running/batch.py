"""Many scenarios' replications as one batch: every chunk of every scenario on one executor."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..engine import CHUNK_SIZE, SectorChunk, simulate_chunk
from ..errors import AdvsimError, instance, whole_number
from ..grouped import Member, group_key, groupable, simulate_group
from ..model.scenario import Scenario
from .executors import Executor, default_jobs, open_executor
from .outcomes import Result, SectorOutcomes

MAX_REPLICATIONS = 10**9  # as a scenario file's replications
# The most replications of a task of grouped sectors: the engine's chunk, whose arrays stay in
# cache. Runs of a chunk or more are not grouped (their days are already full).
GROUP_REPLICATIONS = CHUNK_SIZE


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
    histograms at all (see :func:`sim.engine.simulate_chunk`), the same numbers; and the
    sectors that share one model and that the advance alone moves (the approaches of fits,
    evaluations and outlooks) of runs smaller than a chunk run as members of groups
    (:mod:`sim.grouped`), up to GROUP_REPLICATIONS replications a task: the same numbers
    again, sector by sector."""
    runs = list(runs)
    results: list[Any] = [None] * len(runs)
    grouped = [not bands and r.replications < chunk_size and groupable(r.scenario)
               for r in runs]
    chunked = [r for r, g in zip(runs, grouped) if not g]
    where_chunked = [i for i, g in enumerate(grouped) if not g]
    n_chunked = sum(len(chunks(r.replications, chunk_size)) for r in chunked)
    members = [(i, lo, k, count, s) for i, r in enumerate(runs) if grouped[i]
               for k, lo, count in chunks(r.replications, chunk_size)
               for s in r.scenario.sectors]
    grouped_reps = sum(m[3] for m in members)
    # Tasks of whole chunks' sectors as a first guess of the workers (the numbers depend on
    # neither): enough tasks to keep them busy, few enough that each fills its days.
    est = max(1, jobs or default_jobs()) if isinstance(executor, str) else executor.workers
    size = min(GROUP_REPLICATIONS, max(1_000, -(-grouped_reps // (2 * est))))
    packs = pack_members(runs, members, size)
    total = n_chunked + len(packs)

    def finish(i: int, parts: list[tuple[int, dict[str, SectorChunk]]], ex: Executor) -> None:
        r = runs[i]
        result = collect(r.scenario, r.replications, r.seed, parts)
        result.jobs = ex.workers
        results[i] = keep(result) if keep else result

    with executor_for(executor, jobs, scheduler, max(total, 1)) as ex:
        task = simulate_chunk if bands else functools.partial(simulate_chunk, bands=False)
        tasks: list[tuple] = []
        where: list[tuple[int, int] | list[tuple[int, int, str]]] = []
        for j, r in zip(where_chunked, chunked):
            for k, lo, count in chunks(r.replications, chunk_size):
                tasks.append((task, r.scenario, r.seed, k, count))
                where.append((j, lo))
        for pack in packs:
            sc = runs[pack[0][0]].scenario
            tasks.append((simulate_group, [Member(sector=s, seed=runs[i].seed, chunk=k, n=count)
                                           for i, lo, k, count, s in pack],
                          sc.horizon_days, sc.start, sc.checkpoints_days))
            where.append([(i, lo, s.name) for i, lo, k, count, s in pack])
        left = [len(chunks(r.replications, chunk_size)) * (len(r.scenario.sectors) if g else 1)
                for r, g in zip(runs, grouped)]
        got: dict[int, dict[int, dict[str, SectorChunk]]] = {}
        for done, (t, out) in enumerate(ex.map_unordered(_call, tasks), 1):
            w = where[t]
            if isinstance(w, tuple):
                outs: list[tuple[int, int, dict[str, SectorChunk]]] = [(w[0], w[1], out)]
            else:
                outs = [(i, lo, {name: part}) for (i, lo, name), part in zip(w, out)]
            finished = set()
            for i, lo, parts in outs:
                got.setdefault(i, {}).setdefault(lo, {}).update(parts)
                left[i] -= 1
                if not left[i]:
                    finished.add(i)
            for i in sorted(finished):
                finish(i, sorted(got.pop(i).items()), ex)
            if on_chunk:
                on_chunk(done, total)
    return results


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


def pack_members(runs: Sequence[Planned], members: Sequence[tuple], size: int) -> list[list]:
    """Members (run, first replication, chunk, count, sector) in groups of one model
    (:func:`sim.grouped.group_key`), in the order given, packed into tasks of up to ``size``
    replications (a member alone may be more)."""
    by_key: dict[Any, list] = {}
    for m in members:
        by_key.setdefault(group_key(runs[m[0]].scenario, m[4]), []).append(m)
    packs: list[list] = []
    for group in by_key.values():
        pack: list = []
        reps = 0
        for m in group:
            if pack and reps + m[3] > size:
                packs.append(pack)
                pack, reps = [], 0
            pack.append(m)
            reps += m[3]
        if pack:
            packs.append(pack)
    return packs
