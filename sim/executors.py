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
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Protocol

from .errors import AdvsimError

EXECUTORS = ("local", "dask")


class Executor(Protocol):
    """Runs tasks and yields ``(task index, result)`` as they finish."""

    name: str
    workers: int

    def map_unordered(self, fn: Callable, tasks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        ...


def default_jobs() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


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
                yield pending.pop(fut), fut.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskCluster:
    """Tasks on a Dask cluster: the scheduler at ``address``, or a LocalCluster of ``jobs``
    single-threaded worker processes started here (and stopped on close)."""

    name = "dask"

    def __init__(self, jobs: int, address: str | None = None) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise AdvsimError(
                "executor: dask needs dask.distributed (pip install 'advsim[dask]')",
                param="executor") from None
        self._cluster = None
        try:
            if address:
                self.client = Client(address, timeout="20s")
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
        except (OSError, TimeoutError) as e:
            self.close()
            if address:
                raise AdvsimError(f"scheduler: {address}: cannot connect: {e}",
                                  param="scheduler") from None
            raise AdvsimError(f"a local Dask cluster: cannot connect: {e}") from None
        self.workers = max(1, len(self.client.nthreads()))

    def map_unordered(self, fn: Callable, tasks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        """Tasks of a worker that dies run again elsewhere (each is yielded once); only a task
        whose workers keep dying fails, as an AdvsimError."""
        from dask.distributed import KilledWorker, as_completed

        futures = {}
        for i, args in enumerate(tasks):
            futures[self.client.submit(fn, *args, pure=False)] = i
        try:
            for fut, result in as_completed(list(futures), with_results=True):
                yield futures.pop(fut), result
        except KilledWorker as e:
            raise AdvsimError(
                f"a task was lost: every Dask worker that ran it died ({e.allowed_failures + 1} "
                f"in all; the last, {e.last_worker.address}, may have run out of memory: see "
                "its log)"
            ) from None
        finally:
            if futures:
                self.client.cancel(list(futures))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if getattr(self, "client", None) is not None:
                self.client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()


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
