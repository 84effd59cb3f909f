"""advsim: discrete-event Monte Carlo projections of how fast a front line advances.

The Python API is the CLI's engine, with nothing written to disk unless asked::

    import sim
    scenario = sim.load_scenario("scenarios/kurakhove-reported.yaml")
    result = sim.simulate(scenario, replications=10_000, seed=1)
    result.summary()      # the JSON of ``advsim run --json``
    result.table()        # one row per replication and sector, as columns
    sim.compare([result, other])                  # the JSON of ``advsim compare --json``
    sim.plot(result, kind="fan")                  # a matplotlib Figure; output="fan.png" writes it
    result.plot(kind="cdf")                       # the same, of one run
    sim.backtest(scenario, "observed.csv")        # scores against what was observed
    sim.Result.from_folder("results/…")           # a run written by ``advsim run``
    sim.trace(["maps/"], [sim.place("Pokrovsk")])  # distances measured on map snapshots
    sim.outlook(["maps/"], radius_km=10)          # every place near the front, projected

Observed series and calibration: ``sim.read_observed``, ``sim.fitting.calibrate.calibrate``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import (
    AdvsimError,
    ObservedError,
    ParameterError,
    ParameterTypeError,
    ScenarioError,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .analysis.comparison import compare_runs as compare
    from .data.observed import read_observed
    from .data.towns import resolve_place as place
    from .data.trace import trace
    from .forecast.backtest import backtest
    from .forecast.outlook import outlook_of_maps as outlook
    from .model.loader import load_scenario
    from .presentation.charts import plot
    from .running.outcomes import Result
    from .running.runner import simulate

_LAZY = {
    "load_scenario": ("model.loader", "load_scenario"),
    "simulate": ("running.runner", "simulate"),
    "Result": ("running.outcomes", "Result"), "read_observed": ("data.observed", "read_observed"),
    "compare": ("analysis.comparison", "compare_runs"), "plot": ("presentation.charts", "plot"),
    "backtest": ("forecast.backtest", "backtest"), "trace": ("data.trace", "trace"),
    "place": ("data.towns", "resolve_place"), "outlook": ("forecast.outlook", "outlook_of_maps"),
}


def __getattr__(name: str):
    # Imported on first use, so that ``advsim --help`` does not load numpy, SimPy or YAML.
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    # The lazy names too, so that completion in a notebook offers ``sim.simulate``.
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AdvsimError", "ObservedError", "ParameterError", "ParameterTypeError", "Result",
    "ScenarioError", "__version__", "backtest",
    "compare", "load_scenario", "outlook", "place", "plot", "read_observed", "simulate", "trace",
]
