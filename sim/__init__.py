"""advsim: discrete-event Monte Carlo projections of how fast a front line advances.

The Python API is the CLI's engine::

    import sim
    scenario = sim.load_scenario("scenarios/kurakhove.yaml")
    result = sim.simulate(scenario, replications=10_000, seed=1)
    result.summary()      # the JSON of ``advsim run --json``
    result.table()        # one row per replication and sector, as columns

Observed series, calibration and backtests: ``sim.read_observed``, ``sim.calibrate.calibrate``
and ``sim.backtest.backtest``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import AdvsimError, ObservedError, ScenarioError

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .loader import load_scenario
    from .observed import read_observed
    from .outcomes import Result
    from .runner import simulate

_LAZY = {
    "load_scenario": "loader", "simulate": "runner", "Result": "outcomes",
    "read_observed": "observed",
}


def __getattr__(name: str):
    # Imported on first use, so that ``advsim --help`` does not load numpy, SimPy or YAML.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AdvsimError", "ObservedError", "Result", "ScenarioError", "__version__", "load_scenario",
    "read_observed", "simulate",
]
