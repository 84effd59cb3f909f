"""Helpers shared by the tests: a run of a built scenario, and an interruptible advsim child."""

from __future__ import annotations

import sys

from sim.model import builder as B
from sim.model.scenario import Scenario
from sim.running.outcomes import Result
from sim.running.runner import simulate

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
