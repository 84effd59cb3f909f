"""Where independent tasks run: in this process, in local worker processes, or on Dask workers.

Each executor takes a picklable function and a list of argument tuples and yields ``(task
index, result)`` as tasks finish, in whatever order they finish: callers that need an order
put results in place by index. Dask is imported only when asked for.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import re
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from ..errors import AdvsimError

EXECUTORS = ("local", "dask")

WAIT_SECONDS = 60.0  # how long a Dask cluster may be without workers (or scheduler)
POLL_SECONDS = 1.0
CONNECT_SECONDS = 20
SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")


class Executor(Protocol):
    """Runs tasks and yields ``(task index, result)`` as they finish."""

    name: str
    workers: int

    def map_unordered(self, fn: Callable, tasks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        ...


def default_jobs() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# Memory a run takes, measured (peak RSS of `advsim run -j 1` on the one-sector Kurakhove model,
# now kurakhove-reported.yaml, at 1e4 to 3e5 replications and 365 or 3,650 days, rounded up):
# the interpreter and libraries, and each further worker process; per replication and sector
# (the outcome arrays and the table written from them); per sector and simulated day (the
# summed per-day histograms and bands); and per chunk being computed, per sector and day.
BASE_BYTES = 160 * 2**20
WORKER_BYTES = 100 * 2**20
REPLICATION_BYTES = 400
DAY_BYTES = 20_000
COMPUTE_DAY_BYTES = 95_000


def memory_estimate(*, replications: int, days: int, sectors: int, workers: int,
                    chunk_size: int) -> int:
    """Bytes a run of ``replications`` × ``days`` × ``sectors`` needs at its peak on
    ``workers`` local processes: an estimate from measurements, 1 to 1.5 times what was
    measured."""
    chunks = -(-replications // chunk_size)
    per_chunk = min(replications, chunk_size) / chunk_size
    in_flight = min(workers, chunks)
    return int(BASE_BYTES + max(workers - 1, 0) * WORKER_BYTES
               + sectors * (replications * REPLICATION_BYTES + (days + 1) * DAY_BYTES
                            + in_flight * per_chunk * (days + 1) * COMPUTE_DAY_BYTES))


def check_memory(*, replications: int, days: int, sectors: int, jobs: int | None,
                 force: bool = False, chunk_size: int | None = None) -> tuple[int, int | None]:
    """(bytes needed, bytes available or None) of a run, refused (an AdvsimError naming
    ``replications``, with both figures) where it needs more than is available, unless
    ``force``; before anything is computed."""
    from ..engine import CHUNK_SIZE
    from ..errors import AdvsimError

    size = chunk_size or CHUNK_SIZE
    workers = min(jobs or default_jobs(), -(-replications // size))
    need = memory_estimate(replications=replications, days=days, sectors=sectors,
                           workers=workers, chunk_size=size)
    have = available_memory()
    if have is not None and need > have and not force:
        shape = (f"{replications:,} replications × {days:,} days × {sectors} sector"
                 f"{'s' if sectors != 1 else ''}")
        raise AdvsimError(
            f"replications: {shape} need about {gb(need)} of memory, more than the "
            f"{gb(have)} available (use fewer replications, a shorter horizon, or force)",
            param=("replications", "force"))
    return need, have


def gb(n: float) -> str:
    """Bytes as GB (MB below a tenth of one), as memory figures are shown."""
    return f"{n / 2**30:.1f} GB" if n >= 2**30 / 10 else f"{n / 2**20:.0f} MB"


def available_memory() -> int | None:
    """Bytes of memory this process may still use: the system's available memory, or the
    control group's limit where that is lower; None where neither can be read."""
    found: list[int] = []
    try:
        with open("/proc/meminfo") as f:
            found.extend(int(line.split()[1]) * 1024 for line in f
                         if line.startswith("MemAvailable:"))
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current") as f:
                found.append(int(limit) - int(f.read().strip()))
    except (OSError, ValueError):
        pass
    if not found and hasattr(os, "sysconf"):
        with contextlib.suppress(ValueError, OSError):
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return min(found) if found else None


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


class Inline:
    """Tasks one after another in this process (``-j 1``): no pickling, plain tracebacks."""

    name = "local"
    workers = 1

    def map_unordered(self, fn: Callable, tasks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        for i, args in enumerate(tasks):
            yield i, fn(*args)


class LocalPool:
    """Tasks on ``jobs`` local worker processes."""

    name = "local"

    def __init__(self, jobs: int) -> None:
        self.workers = jobs
        self._pool = _pool(jobs)
        try:  # start the workers now: a process limit is one line here, not a hang later
            self._pool.submit(int).result()
        except (OSError, BrokenProcessPool) as e:
            self._pool.shutdown(wait=False, cancel_futures=True)
            raise AdvsimError(f"jobs: cannot start {jobs} worker processes ({e})",
                              param="jobs") from None

    def map_unordered(self, fn: Callable, tasks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        # A bounded window of tasks in flight, so that results are consumed as they come and
        # an interrupt leaves little queued work behind.
        pending: dict[Any, int] = {}
        it = iter(enumerate(tasks))
        window = 4 * self.workers
        while True:
            for i, args in it:
                pending[self._pool.submit(fn, *args)] = i
                if len(pending) >= window:
                    break
            if not pending:
                return
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                i = pending.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    raise AdvsimError(
                        f"a worker process died (of {self.workers}; out of memory? try fewer "
                        "-j or replications)") from None
                yield i, result

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskCluster:
    """Tasks on a Dask cluster: the scheduler at ``address``, or a LocalCluster of ``jobs``
    single-threaded worker processes started here (and stopped on close)."""

    name = "dask"

    def __init__(self, jobs: int, address: str | None = None, *,
                 wait_seconds: float = WAIT_SECONDS) -> None:
        if address:
            check_address(address)
        self.wait_seconds = wait_seconds
        self.address = address
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise AdvsimError(
                "executor: dask needs dask.distributed (pip install 'advsim[dask]')",
                param="executor") from None
        self._cluster = None
        try:
            if address:
                self.client = Client(address, timeout=f"{CONNECT_SECONDS}s")
            else:
                # Loopback only, no dashboard: a private cluster for this one sweep. Its worker
                # processes start with Ctrl-C ignored: this process stops them on interrupt,
                # rather than each printing its own traceback. Its logs stay quiet: a worker
                # that dies is replaced and its tasks rerun (Dask logs that as an error), and
                # what cannot be recovered reaches the sweep as an exception.
                # Its HTTP server takes any free loopback port: on the default one, a second
                # cluster on the machine would print a warning.
                with _sigint_ignored(), warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    self._cluster = LocalCluster(
                        n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL,
                    )
                self.client = Client(self._cluster)
        except (OSError, TimeoutError, ValueError) as e:
            self.close()
            if address:
                raise AdvsimError(
                    f"scheduler: {address}: cannot connect (waited up to {CONNECT_SECONDS} s): "
                    f"{_one_line(e)}", param="scheduler") from None
            raise AdvsimError(f"a local Dask cluster: cannot connect: {e}") from None
        self.workers = max(1, len(self.client.nthreads()))

    def map_unordered(self, fn: Callable, tasks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        """Tasks of a worker that dies run again elsewhere (each is yielded once); only a task
        whose workers keep dying fails, as an AdvsimError, as does a cluster left without
        workers, or without its scheduler, for ``wait_seconds``."""
        from dask.distributed import KilledWorker
        from dask.distributed import wait as dask_wait

        futures = {}
        for i, args in enumerate(tasks):
            futures[self.client.submit(fn, *args, pure=False)] = i
        idle_since: float | None = None
        try:
            while futures:
                try:
                    # dask's wait() waits on default_client(), which another client entered as
                    # a context manager in this thread shadows: the futures' events would then
                    # be bound to that client's event loop and fail on ours.
                    with self.client.as_current():
                        done, _ = dask_wait(list(futures), timeout=POLL_SECONDS,
                                            return_when="FIRST_COMPLETED")
                except TimeoutError:
                    done = set()
                except Exception as e:  # FuturesCancelledError: the scheduler went away
                    if "Cancelled" not in type(e).__name__ and not isinstance(e, OSError):
                        raise
                    raise AdvsimError(f"the Dask scheduler{self._at()} went away or cancelled "
                                      f"the work (was it stopped?): {_one_line(e)}") from None
                for fut in done:
                    i = futures.pop(fut)
                    yield i, self._result(fut, KilledWorker)
                if done:
                    idle_since = None
                    continue
                problem = self._no_workers()
                if problem is None:
                    idle_since = None
                    continue
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= self.wait_seconds:
                    raise AdvsimError(f"{problem} for {self.wait_seconds:g} s; stopped waiting")
        finally:
            if futures:
                with contextlib.suppress(Exception):
                    self.client.cancel(list(futures))

    def _result(self, fut: Any, killed: Any) -> Any:
        try:
            return fut.result()
        except killed as e:
            raise AdvsimError(
                f"a task was lost: every Dask worker that ran it died ({e.allowed_failures + 1} "
                f"in all; the last, {e.last_worker.address}, may have run out of memory: see "
                "its log)"
            ) from None
        except CancelledError:  # the scheduler went away, or cancelled it
            raise AdvsimError(f"the Dask scheduler{self._at()} went away or cancelled the "
                              "work (was it stopped?)") from None
        except OSError as e:  # the connection broke
            raise AdvsimError(f"lost the connection to the Dask scheduler{self._at()}: "
                              f"{_one_line(e)}") from None

    def _at(self) -> str:
        return f" at {self.address}" if self.address else ""

    def _no_workers(self) -> str | None:
        """What the work is waiting for, if the cluster cannot run it now, else None."""
        if self.client.status != "running":
            return f"no connection to the Dask scheduler{self._at()}"
        try:
            n = len(self.client.nthreads())
        except Exception as e:
            return f"no answer from the Dask scheduler{self._at()} ({_one_line(e)})"
        return None if n else f"no Dask worker connected to the scheduler{self._at()}"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if getattr(self, "client", None) is not None:
                self.client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()


def check_address(address: str) -> None:
    """A Dask scheduler address, ``[SCHEME://]HOST:PORT``: one line if it cannot be one."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    bad = f"scheduler: {address!r} is not a Dask scheduler address (expected tcp://HOST:PORT"
    if scheme.lower() not in SCHEMES:
        raise AdvsimError(f"{bad}; schemes: {', '.join(SCHEMES)})", param="scheduler")
    if scheme.lower() in ("tcp", "tls", "ws", "wss"):
        m = re.fullmatch(r"(\[[^\]]*\]|[^:/\s\[\]]+)(?::(\d+))?/?", rest)
        if not m:
            raise AdvsimError(f"{bad})", param="scheduler")
        if m[2] is not None and not 1 <= int(m[2]) <= 65535:
            raise AdvsimError(f"scheduler: {address!r}: port {m[2]} is not a port (expected "
                              "1 to 65535)", param="scheduler")


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 200 else text[:197] + "..."


@contextlib.contextmanager
def _sigint_ignored():
    """Ignore SIGINT while child processes start (they inherit it); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def open_executor(kind: str = "local", jobs: int | None = 1, scheduler: str | None = None):
    """The executor for ``kind`` (``local`` or ``dask``) with ``jobs`` workers (None or 0: one
    per core); a Dask ``scheduler`` address means an existing cluster."""
    if kind not in EXECUTORS:
        raise AdvsimError(f"executor: unknown executor {kind!r} (expected local or dask)",
                          param="executor")
    jobs = jobs or default_jobs()
    if kind == "dask":
        ex: Inline | LocalPool | DaskCluster = DaskCluster(jobs, scheduler)
    elif jobs <= 1:
        ex = Inline()
    else:
        ex = LocalPool(jobs)
    try:
        yield ex
    finally:
        if not isinstance(ex, Inline):
            ex.close()
