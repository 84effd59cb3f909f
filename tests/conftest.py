"""Helpers shared by the tests: a run of a built scenario, a built scenario's file changed where
the builder cannot go, and an interruptible advsim child."""

from __future__ import annotations

import sys

import pytest
import yaml

from sim.model import builder as B
from sim.model.scenario import Scenario
from sim.model.writer import dump
from sim.running.outcomes import Result
from sim.running.runner import simulate


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Every test's map and measurement cache is a folder of the test session's, never the
    user's own (a test that means the default unsets ADVSIM_CACHE itself)."""
    import os

    old = os.environ.get("ADVSIM_CACHE")
    os.environ["ADVSIM_CACHE"] = str(tmp_path_factory.mktemp("advsim-cache"))
    yield
    if old is None:
        os.environ.pop("ADVSIM_CACHE", None)
    else:
        os.environ["ADVSIM_CACHE"] = old


# The command line of an ``advsim`` child that a test interrupts with SIGINT. A test runner started
# in the background by a non-interactive shell (CI scripts, ``nohup``, ``cmd &``) has SIGINT
# ignored, as POSIX asks of such shells, and an ignored signal stays ignored through fork and
# exec: Python then installs no KeyboardInterrupt handler, and the child never sees the test's
# SIGINT. It runs to the end instead (a 2,000,000-replication run: longer than the test waits,
# on a loaded machine). The child takes SIGINT back itself before advsim starts.
ADVSIM_INTERRUPTIBLE = [
    sys.executable, "-c",
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from sim.cli import main; main()",
]


def run_built(sc: Scenario, *, replications: int, seed: int) -> tuple[Scenario, Result]:
    """A built scenario, checked as the loader checks a file and run in this process:
    (scenario, result)."""
    sc = B.checked(sc)
    return sc, simulate(sc, replications=replications, seed=seed, jobs=1)


def edited(sc: Scenario, changes: dict[str, object], drop: tuple[str, ...] = ()) -> str:
    """``sc`` written, then changed where the builder cannot go: values set at dotted key
    paths (or dropped), as a file from outside might have them, for the loader's messages."""
    raw = yaml.safe_load(dump(sc))
    for path, value in [*changes.items(), *((k, None) for k in drop)]:
        *parents, last = path.split(".")
        node = raw
        for k in parents:
            node = node[int(k) if isinstance(node, list) else k]
        if path in drop:
            del node[last]
        else:
            node[last] = value
    return yaml.safe_dump(raw, sort_keys=False)


def closing_series_csv(path, towns: dict[str, float]):
    """A traced series CSV (frame remaining_km): each town ``name: km`` closing 0.5 km every
    14 days from 2023-01-01, 30 observations; the input a reference class is built from."""
    import datetime as dt

    rows = ["date,sector,value,frame"]
    for name, km0 in towns.items():
        rows += [f"{dt.date(2023, 1, 1) + dt.timedelta(days=14 * i)},{name},"
                 f"{km0 - 0.5 * i:.4f},remaining_km" for i in range(30)]
    path.write_text("\n".join(rows) + "\n")
    return path
