"""A sweep's points, each with its values, seed and checked scenario: the plan that runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..artifacts.files import sha256_text
from ..errors import ScenarioError
from ..model.keypath import show
from ..model.loader import apply_overrides, build_scenario, dump_yaml
from ..model.scenario import Scenario
from ..seeds import point_seed
from .designs import design
from .metrics import Metric, requested, scenario_metrics
from .spec import Parameter, Sweep, scenario_message


@dataclass(frozen=True, kw_only=True)
class Point:
    index: int
    values: dict[str, Any]
    seed: int
    scenario: Scenario = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Every point of a sweep, checked, with the columns its table will have."""

    sweep: Sweep
    points: tuple[Point, ...]
    metrics: tuple[Metric, ...]  # every metric, in points.csv order
    ranked: tuple[Metric, ...]  # the spec's metrics: printed and ranked
    spec_yaml: str  # sweep.yaml: the spec as run, naming scenario.yaml beside it
    scenario_yaml: str  # scenario.yaml: the base scenario as run

    @property
    def metric_columns(self) -> tuple[str, ...]:
        """The metric columns of points.csv."""
        return tuple(m.column for m in self.metrics)

    @property
    def headline(self) -> tuple[str, ...]:
        """The columns of the spec's metrics."""
        return tuple(m.column for m in self.ranked)

    @property
    def sobol_base(self) -> int | None:
        return self.sweep.samples if self.sweep.method == "sobol" else None

    def fingerprint(self) -> str:
        """What a saved point must match to be reused: the spec as run (its method, design,
        replications and seed), the base scenario after --set, and the advsim version."""
        return sha256_text(self.spec_yaml + "\0" + self.scenario_yaml + "\0" + __version__)


def plan(sweep: Sweep) -> Plan:
    """Build and check the scenario of every point before anything runs, so that a bad value
    is one located error and nothing is written."""
    ps = sweep.parameters
    for p in ps:
        path = ("parameters", p.path)
        probes: list[tuple[tuple, Any]]
        if p.is_range:
            probes = [((*path, "low"), p.at(0.0)), ((*path, "high"), p.at(1 - 1e-12)),
                      (path, p.at(0.37))]
        else:
            probes = [((*path, j), v) for j, v in enumerate(p.values)]
        for where, value in probes:
            _probe(sweep, p, where, value)

    points = []
    shape = None
    for index, values in enumerate(design(sweep)):
        try:
            sc = _scenario_at(sweep, values)
        except ScenarioError as e:
            shown = ", ".join(f"{k}={show(v)}" for k, v in values.items())
            raise sweep.error(
                ("parameters",), f"point {index} ({shown}) gives an invalid scenario: {e}"
            ) from None
        this = _shape(sc)
        if shape is None:
            shape = this
        elif this != shape:
            raise sweep.error(
                ("parameters",),
                f"point {index} has other sectors, milestones or checkpoint days than point 0 "
                "(a sweep compares points on the same outputs; fix checkpoints_days in the "
                "scenario when varying the horizon)",
            )
        points.append(Point(index=index, values=values, seed=point_seed(sweep.seed, index),
                            scenario=sc))
    metrics = scenario_metrics(points[0].scenario)
    ranked = requested(sweep, metrics)
    spec = {
        "name": sweep.name,
        **({"description": sweep.description} if sweep.description else {}),
        "scenario": "scenario.yaml",
        "method": sweep.method,
        **({"samples": sweep.samples} if sweep.method != "grid" else {"levels": sweep.levels}),
        "replications": sweep.replications,
        "seed": sweep.seed,
        "parameters": {p.path: p.as_yaml() for p in ps},
        "metrics": list(sweep.metrics),
    }
    return Plan(
        sweep=sweep, points=tuple(points), metrics=metrics, ranked=ranked,
        spec_yaml=dump_yaml(spec), scenario_yaml=dump_yaml(sweep.base),
    )


def _probe(sweep: Sweep, p: Parameter, where: tuple, value: Any) -> None:
    """Check one value of one parameter, the others at the base scenario's values."""
    try:
        _scenario_at(sweep, {p.path: value})
    except ScenarioError as e:
        message = _probe_message(e, sweep, p, value)
        if message.startswith("not a key path"):
            where = ("parameters", p.path)
        raise sweep.error(where, message) from None


def _scenario_at(sweep: Sweep, values: dict[str, Any]) -> Scenario:
    lines = dict(sweep.base_lines)
    data = apply_overrides(sweep.base, lines, list(values.items()), sweep.scenario_file)
    return build_scenario(data, lines, sweep.scenario_file)


def _probe_message(e: ScenarioError, sweep: Sweep, p: Parameter, value: Any) -> str:
    file = sweep.scenario_file
    if e.file == f"{file} (--set {p.path})":  # the key path does not lead anywhere
        return f"not a key path of {file}: {e.key}: {e.message}"
    if e.key == p.path and e.message.startswith("unknown key"):
        return f"not a key path of {file}: {e.message}"
    hint = ""
    if "whole number" in e.message and p.is_range and not p.integer:
        hint = " (add integer: true to the range, or :int to --vary)"
    return f"{show(value)} gives an invalid scenario: {scenario_message(e, file, p.path)}{hint}"


def _shape(sc: Scenario) -> tuple:
    return (sc.checkpoints_days, tuple(
        (s.name, s.kind, tuple(m.name for m in s.milestones)) for s in sc.sectors))
