"""A progress line on stderr for long commands: the whole job's share done and its ETA, across
its phases (simulating, writing, reading, bootstrapping), shown only on a terminal and only
once the job has run for a second, so that quick commands print nothing."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TextIO

# ADVSIM_PROGRESS=1 shows the line even when stderr is not a terminal (tests, logs that want
# it); ADVSIM_PROGRESS=0 never shows it.
ENV = "ADVSIM_PROGRESS"


def wanted(quiet: bool = False, stream: TextIO | None = None) -> bool:
    """Whether to show progress: not with -q; on a terminal, or as ``ADVSIM_PROGRESS`` says."""
    if quiet:
        return False
    forced = os.environ.get(ENV, "")
    if forced in ("0", "1"):
        return forced == "1"
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:02.0f} min"


class Progress:
    """The progress of a job made of phases done one after another, each with its expected cost
    in any common unit (replication-days, rows, draws: what makes the ETA honest is that the
    units of the phases compare). ``update(phase, done, total)`` reports within a phase; the ETA
    is the remaining cost at the speed measured so far over the whole job.

    Nothing is drawn when disabled, before ``delay`` seconds, or more than ``rate`` times a
    second; ``close()`` erases the line, so what the command prints next starts clean. Used as
    a context manager, the line is also redrawn every ``tick`` seconds between updates, so a
    step that reports nothing (a fit, a pool of workers starting) still shows the job alive.
    """

    def __init__(self, label: str, phases: Mapping[str, float], *, enabled: bool,
                 stream: TextIO | None = None, delay: float = 1.0, rate: float = 10.0,
                 tick: float = 0.5, clock: Callable[[], float] = time.perf_counter) -> None:
        self.label = label
        self.phases = {k: max(float(v), 0.0) for k, v in phases.items()}
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.delay, self.interval, self.tick, self.clock = delay, 1.0 / rate, tick, clock
        self.started = clock()
        self.shown = False
        self.last = -1e9
        self.done_units = 0.0
        self.base_units = 0.0  # done before this session (a resumed sweep): not timed
        self.now = (next(iter(self.phases), ""), 0.0, 0.0)  # the phase, done and total shown
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.enabled and self.tick > 0 and self._ticker is None:
            self._stop = threading.Event()
            self._ticker = threading.Thread(target=self._tick, args=(self._stop,), daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def total_units(self) -> float:
        return sum(self.phases.values()) or 1.0

    def update(self, phase: str, done: float, total: float) -> None:
        """``done`` of ``total`` of ``phase`` is finished (every earlier phase is)."""
        names = list(self.phases)
        before = sum(self.phases[k] for k in names[: names.index(phase)])
        share = min(max(done / total, 0.0), 1.0) if total else 1.0
        with self._lock:
            self.done_units = before + self.phases[phase] * share
            self.now = (phase, done, total)
            now = self.clock()
            if not self.enabled or now - self.started < self.delay:
                return
            if now - self.last < self.interval and done < total:
                return
            self._draw(now)

    def _tick(self, stop: threading.Event) -> None:
        while not stop.wait(self.tick):
            with self._lock:
                now = self.clock()
                if now - self.started >= self.delay:
                    self._draw(now)

    def _draw(self, now: float, *, eta: bool = True) -> None:
        """Write the line (the lock held); ``eta``: with the ETA, where there is one."""
        phase, done, total = self.now
        self.last = now
        frac = min(self.done_units / self.total_units, 1.0)
        ran = self.done_units - self.base_units
        rest = self.total_units - self.done_units
        until = f" · ETA {_duration((now - self.started) * rest / ran)}" if ran > 0 and eta \
            else ""
        count = f" {done:,.0f}/{total:,.0f}" if total > 1 else ""
        self.stream.write(f"\r{self.label}: {phase}{count} · {100 * frac:.0f}%{until}\033[K")
        self.stream.flush()
        self.shown = True

    def say(self, step: str) -> None:
        """Show ``step`` (words: "reading the gazetteer…") as what the job does now, drawn at
        once, before the delay: for a step that holds the interpreter while it runs (a large
        file parsed in one call), during which neither the delay's end nor the ticker can
        draw. The next ``update`` replaces it."""
        with self._lock:
            self.now = (step, 0.0, 0.0)
            if self.enabled:  # no ETA: the speed so far says nothing of this step's
                self._draw(self.clock(), eta=False)

    def already(self, phase: str, done: float, total: float) -> None:
        """``done`` of ``total`` was finished before this session: it does not count towards
        the speed the ETA assumes."""
        self.update(phase, done, total)
        self.base_units = self.done_units

    def callback(self, phase: str) -> Callable[[int, int], None]:
        """``update`` for one phase, as an ``on_...(done, total)`` argument."""
        return lambda done, total: self.update(phase, done, total)

    def close(self) -> None:
        if self._ticker is not None and self._stop is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = self._stop = None
        with self._lock:
            if self.shown:
                self.stream.write("\r\033[K")
                self.stream.flush()
                self.shown = False


class CountingExecutor:
    """An open executor whose tasks report to ``on_task(done, total)`` as they finish."""

    def __init__(self, executor: Any, on_task: Callable[[int, int], None]) -> None:
        self.executor = executor
        self.name, self.workers = executor.name, executor.workers
        self.on_task = on_task

    def map_unordered(self, fn: Callable, tasks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        for done, item in enumerate(self.executor.map_unordered(fn, tasks), 1):
            self.on_task(done, len(tasks))
            yield item


# Seconds per unit of work, from benchmarks/README.md (2-core machine): what makes the ETA of a
# run cover its writing before the writing starts.
SIMULATE_SECONDS = 70e-9  # per replication-day-sector, per worker
WRITE_SECONDS = 0.2e-6  # per table row, in each format (CSV, Parquet)


def run_phases(scenario: Any, replications: int, jobs: int | None) -> dict[str, float]:
    """The expected seconds of a run's phases: simulating its chunks, writing its tables."""
    from ..artifacts.tables import pyarrow
    from ..engine import CHUNK_SIZE
    from ..running.executors import default_jobs

    chunks = -(-replications // CHUNK_SIZE)
    workers = max(1, min(jobs or default_jobs(), chunks))
    sectors = scenario.sectors
    per_replication = sum(1 + len(scenario.checkpoints_days) + len(s.milestones)
                          for s in sectors)
    formats = 2 if pyarrow() is not None else 1
    return {
        "simulating": replications * scenario.horizon_days * len(sectors) * SIMULATE_SECONDS
        / workers,
        "writing": replications * per_replication * formats * WRITE_SECONDS,
    }


READ_SECONDS = 0.3e-6  # per table row read back (Parquet)
RESAMPLE_SECONDS = 1e-9  # per table row of the larger run, per resample of compare's bootstrap


def folder_rows(spec: str) -> int:
    """About how many rows a results folder's tables hold, from their sizes on disk (0 when
    unknown): enough for an ETA, and read before anything else is."""
    from pathlib import Path

    folder = Path(str(spec))
    sizes = [f.stat().st_size for f in (folder / "outcomes.csv", folder / "progress.csv")
             if f.is_file()]
    return sum(sizes) // 40  # bytes per CSV row, about
