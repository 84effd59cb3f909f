"""Builders shared by the tests: scenario texts from sector bodies, the usual axis sector, and
a run of a scenario text."""

from __future__ import annotations

import sys
import textwrap

from sim.model.loader import parse_scenario
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


def scenario_text(sectors: dict[str, str] | str, *, name: str = "test",
                  start: str = "2024-06-01", horizon: int = 365,
                  checkpoints: tuple[int, ...] | None = None, extra: str = "") -> str:
    """A scenario with the given sectors: their bodies (YAML, unindented) by name, or one body
    for a sector named ``s``."""
    if isinstance(sectors, str):
        sectors = {"s": sectors}
    cps = f"checkpoints_days: {list(checkpoints)}\n" if checkpoints else ""
    body = "".join(
        f"  {sector}:\n" + textwrap.indent(textwrap.dedent(text).strip("\n"), "    ") + "\n"
        for sector, text in sectors.items()
    )
    return (f"name: {name}\nstart: {start}\nhorizon_days: {horizon}\n{cps}{extra}"
            f"sectors:\n{body}")


def axis_body(*, length_km: float = 35, rate: object = 250, attacker: float = 1000,
              defender: float = 1000, objective: str = "objective", advance: str = "",
              extra: str = "") -> str:
    """An axis sector's body: 35 km at a fixed 250 m/day (day 140) with no noise, unless told
    otherwise; ``advance`` adds keys to its advance, ``extra`` to the sector."""
    return (f"kind: axis\nlength_km: {length_km}\nobjective: {{name: {objective}}}\n"
            f"forces:\n  attacker: {{troops: {attacker}}}\n  defender: {{troops: {defender}}}\n"
            f"advance:\n  base_m_per_day: {rate}\n"
            + textwrap.indent(textwrap.dedent(advance).strip("\n"), "  ") + "\n"
            + textwrap.dedent(extra).strip("\n") + "\n")


def run_text(text: str, *, replications: int, seed: int):
    """The scenario text, parsed and run in this process: (scenario, result)."""
    sc = parse_scenario(text)
    return sc, simulate(sc, replications=replications, seed=seed, jobs=1)
