"""Running a sweep: its points' chunks on an executor, saved as they finish, then its folder."""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..artifacts.files import (
    atomic_dir,
    package_version,
    provenance,
    sha256_file,
    sha256_text,
    write_manifest,
)
from ..artifacts.tables import maybe_parquet_parts, write_csv, write_csv_parts
from ..engine import CHUNK_SIZE, simulate_chunk
from ..errors import AdvsimError
from ..model.scenario import Scenario
from ..running.batch import Planned, collect, run_chunks
from ..seeds import POINT_SEEDS
from .metrics import point_metrics
from .points import Plan, Point
from .store import Store, check_finished, check_same_sweep, locked, partial_dir
from .table import SweepResult, outcome_parts, points_table, sensitivity


def run_chunk(scenario: Scenario, seed: int, chunk: int, n: int) -> tuple[dict, float]:
    """One task: chunk ``chunk`` of a point's run, without the per-day histograms (a sweep does
    not draw fan charts), and the seconds it took."""
    t0 = time.perf_counter()
    out = simulate_chunk(scenario, seed, chunk, n, bands=False)
    empty = np.zeros((0, 0), dtype=np.int64)
    slim = {k: dataclasses.replace(v, band_counts=empty) for k, v in out.items()}
    return slim, time.perf_counter() - t0


def run_sweep(
    plan: Plan,
    out: str | os.PathLike[str],
    *,
    jobs: int | None = 1,
    executor: str = "local",
    scheduler: str | None = None,
    resume: bool = False,
    on_point: Callable[[int, int], None] | None = None,
    on_damaged: Callable[[str], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> SweepResult:
    """Run every point of ``plan`` not already finished in ``out`` and write the folder.

    Tasks are chunks of points (a point of up to ``chunk_size`` replications is one task); only
    the point's scenario, its seed and the chunk's place are sent to a worker. ``on_point(done,
    total)`` is called as points finish. On resume, a finished point whose files are damaged
    is computed again, and ``on_damaged`` receives a line ``FILE: what is wrong; point N is
    computed again`` (default: a warning). The numbers do not depend on ``jobs``, ``executor``
    or interruptions.
    """
    from ..running.executors import open_executor

    t0 = time.perf_counter()
    target = Path(out)
    if target.name.endswith(".partial"):
        target = target.with_name(target.name[: -len(".partial")])
    staging = partial_dir(target)
    if target.exists():
        if resume:
            check_finished(target)
            raise AdvsimError(f"{target}: this sweep is already complete (nothing to resume)")
        raise AdvsimError(f"{target}: already exists (choose another --out)")
    if staging.exists() and not resume:
        raise AdvsimError(
            f"{staging}: an unfinished sweep is there (continue it with --resume, "
            "or choose another --out)"
        )
    if staging.exists():
        check_same_sweep(staging, plan)

    with open_executor(executor, jobs, scheduler) as ex, \
            atomic_dir(target, staging=staging) as tmp, locked(tmp):
        store = Store(tmp)
        done, damaged = store.finished(plan)
        for line in damaged.values():
            if on_damaged:
                on_damaged(line)
            else:
                warnings.warn(line, stacklevel=2)
        session = store.begin(plan, ex.name, ex.workers, damaged)
        todo = [p for p in plan.points if p.index not in done]
        total = len(plan.points)
        if on_point:
            on_point(len(done), total)
        try:
            for index, record in _run_points(ex, todo, plan.sweep.replications, chunk_size):
                record["session"] = session
                store.save(index, record, plan.fingerprint())
                done[index] = record
                if on_point:
                    on_point(len(done), total)
        except AdvsimError as e:  # from the executor: what finished is kept, as on Ctrl-C
            raise AdvsimError(f"{e}; the finished points are kept in {staging} (continue "
                              f"with --resume --out {target})") from None
        result = _finish(tmp, plan, store, done, wall=time.perf_counter() - t0,
                         computed=len(todo), executor=ex)
    shutil.rmtree(target / "parts", ignore_errors=True)
    result.path = target
    return result


def _run_points(ex, points: Sequence[Point], replications: int, chunk_size: int):
    """Yield ``(point index, record)`` as points finish; a record holds the point's metrics, its
    per-replication table and the seconds its chunks took. Every chunk of every point is one
    task of the batch (:func:`sim.running.batch.run_chunks`)."""
    runs = [Planned(scenario=p.scenario, replications=replications, seed=p.seed)
            for p in points]
    for i, got in run_chunks(runs, ex, task=run_chunk, chunk_size=chunk_size):
        p = points[i]
        result = collect(p.scenario, replications, p.seed,
                         ((lo, outcome) for lo, (outcome, _) in got))
        table = result.table()
        table = {"point": np.full(replications * len(result.sectors), p.index), **table}
        yield p.index, {
            "point": p.index,
            "seed": p.seed,
            "metrics": point_metrics(result),
            "seconds": sum(seconds for _, (_, seconds) in got),
            "table": table,
        }


def _finish(tmp: Path, plan: Plan, store: Store, done: dict[int, dict], *, wall: float,
            computed: int, executor) -> SweepResult:
    from ..analysis.sensitivity import as_columns

    order = [p.index for p in plan.points]
    table = points_table(plan, [done[i] for i in order])
    write_csv(tmp / "points.csv", table)
    maybe_parquet_parts(tmp / "points.parquet", [table])
    write_csv_parts(tmp / "outcomes.csv", outcome_parts(plan, store, table))
    maybe_parquet_parts(tmp / "outcomes.parquet", outcome_parts(plan, store, table))
    sens = sensitivity(plan, table)
    write_csv(tmp / "sensitivity.csv", as_columns(sens))

    sessions = store.sessions()
    per_session = [0] * len(sessions)
    for r in done.values():
        if 0 <= r.get("session", -1) < len(sessions):
            per_session[r["session"]] += 1
    for s, n in zip(sessions, per_session):
        s["points_computed"] = n
    sessions[-1]["wall_seconds"] = round(wall, 3)
    store.write_sessions(sessions)
    sw = plan.sweep
    dask = executor.name == "dask"
    manifest = write_manifest(tmp, "sweep", {
        **provenance(
            seed=sw.seed,
            sweep_sha256=sha256_text(plan.spec_yaml),
            points_sha256=sha256_file(tmp / "points.csv"),
            scenario_sha256=sha256_text(plan.scenario_yaml),
            packages=("distributed",) if dask else (),
        ),
        "sweep": sw.name,
        "source": sw.source,
        "scenario_source": sw.scenario_file,
        "method": sw.method,
        **({"samples": sw.samples} if sw.method != "grid" else {"levels": sw.levels}),
        "points": len(plan.points),
        "replications": sw.replications,
        "point_seeds": POINT_SEEDS,
        "parameters": [p.path for p in sw.parameters],
        "metrics": list(plan.headline),
        "executor": executor.name,
        "workers": executor.workers,
        "wall_seconds": round(wall, 3),
        "compute_seconds": round(sum(r["seconds"] for r in done.values()), 3),
        "point_seconds": [round(done[i]["seconds"], 4) for i in order],
        "points_computed": computed,
        "resumed": len(sessions) > 1,
        "sessions": sessions,
        **({"dask": package_version("distributed")} if dask else {}),
    })
    return SweepResult(plan=plan, path=tmp, table=table, sensitivity=sens, wall_seconds=wall,
                       points_computed=computed, manifest=manifest)
