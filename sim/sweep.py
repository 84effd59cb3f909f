"""Parameter sweeps: a spec of key paths to vary, the points it makes, their runs and their table.

A sweep varies values of one base scenario, addressed by key path as ``--set`` does, over
ranges (``low``/``high``, optionally ``log``) or lists of values; ``method`` places the points
(a full ``grid``, a Latin hypercube ``lhs`` or Saltelli's ``sobol`` design), and each point
runs ``replications`` replications with a seed derived from the sweep's seed and the point's
index:

    point i's seed = SeedSequence(seed, spawn_key=(0, i)).generate_state(1, uint64)[0] >> 1

so a point's numbers do not depend on the other points, on the order they finish in or on
where they ran, and ``advsim run`` of the point's scenario with that seed reproduces them. The
LHS and Sobol designs draw from child ``(1,)`` and the Sobol bootstrap from child ``(2,)``.

Points are written to ``DIR.partial/parts/`` as they finish (each file renamed into place), so a
killed sweep keeps exactly the points that finished and ``--resume`` computes only the rest
(and any point whose files it finds damaged, saying so); once all are there the table, the
outcomes and the sensitivity are written and ``DIR.partial`` becomes ``DIR`` in one rename.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import math
import os
import platform
import shutil
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .engine import CHUNK_SIZE, simulate_chunk
from .errors import AdvsimError, ScenarioError
from .loader import (
    Context,
    Node,
    apply_overrides,
    build_scenario,
    dump_yaml,
    parse_value,
    read_text,
    read_yaml,
)
from .outcomes import Result
from .results import atomic_dir, maybe_parquet_parts, write_csv, write_csv_parts
from .runner import chunks, collect
from .scenario import Scenario
from .summary import censored_percentiles

METHODS = ("grid", "lhs", "sobol")
SPEC_KEYS = (
    "name", "description", "scenario", "method", "samples", "levels", "replications", "seed",
    "parameters", "metrics", "set",
)
RANGE_KEYS = ("low", "high", "log", "integer", "levels")
DEFAULT_LEVELS = 5
DEFAULT_SAMPLES = 64
DEFAULT_REPLICATIONS = 1000
DEFAULT_METRICS = ("prob_reached", "day_p50")
MAX_POINTS = 100_000
PERCENTILES = (10, 50, 90)
_POINT, _DESIGN, _BOOTSTRAP = range(3)  # SeedSequence children of the sweep seed


# -- the spec ---------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Parameter:
    """One swept key path: a range from ``low`` to ``high`` (numbers or dates) or ``values``."""

    path: str
    low: Any = None
    high: Any = None
    values: tuple[Any, ...] = ()
    log: bool = False
    integer: bool = False
    levels: int | None = None

    @property
    def is_range(self) -> bool:
        return self.low is not None

    @property
    def is_date(self) -> bool:
        return isinstance(self.low, dt.date)

    def at(self, u: float) -> Any:
        """The value at ``u`` in [0, 1): uniform over the range (over its logarithm with
        ``log``); whole numbers, dates and listed values each get an equal share of [0, 1)."""
        if not self.is_range:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        if self.is_date:
            span = (self.high - self.low).days
            return self.low + dt.timedelta(days=min(int(u * (span + 1)), span))
        if self.integer:
            lo, hi = int(self.low), int(self.high)
            if self.log:
                v = math.exp(math.log(lo) + u * (math.log(hi + 1) - math.log(lo)))
            else:
                v = lo + u * (hi - lo + 1)
            return min(math.floor(v), hi)
        if self.log:
            v = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            v = self.low + u * (self.high - self.low)
        return min(max(_round6(v), self.low), self.high)

    def grid(self, levels: int) -> list[Any]:
        """Evenly spaced values from low to high inclusive (geometrically with ``log``); a
        range of fewer whole numbers or dates than ``levels`` gives each one."""
        if not self.is_range:
            return list(self.values)
        n = self.levels or levels
        if not self.levels and (self.integer or self.is_date):
            span = (self.high - self.low).days if self.is_date else self.high - self.low
            n = min(n, span + 1)
        if self.is_date:
            span = (self.high - self.low).days
            return [self.low + dt.timedelta(days=round(span * j / (n - 1))) for j in range(n)]
        space = np.geomspace if self.log else np.linspace
        vals = space(float(self.low), float(self.high), n)
        if self.integer:
            return [round(float(v)) for v in vals]
        return [min(max(_round6(float(v)), self.low), self.high) for v in vals]

    def coordinate(self, value: Any) -> float:
        """A number for rank statistics: the value, a date's day number, a listed value's
        position where the values are not numbers."""
        if isinstance(value, dt.date):
            return float(value.toordinal())
        if _is_number(value):
            return float(value)
        return float(self.values.index(value))

    def as_yaml(self) -> Any:
        if not self.is_range:
            return list(self.values)
        out: dict[str, Any] = {"low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.integer:
            out["integer"] = True
        if self.levels:
            out["levels"] = self.levels
        return out


@dataclass(frozen=True, kw_only=True)
class Sweep:
    """A checked sweep spec with its base scenario (as values, after any ``set``)."""

    name: str
    description: str
    source: str  # the spec file (or, for --vary, the scenario file)
    scenario_file: str
    method: str
    samples: int | None
    levels: int
    replications: int
    seed: int
    parameters: tuple[Parameter, ...]
    metrics: tuple[str, ...]
    base: Any = field(repr=False)
    base_lines: dict = field(repr=False)
    ctx: Context = field(repr=False, compare=False)

    def error(self, path: tuple, message: str) -> ScenarioError:
        """An error located in the spec (or the --vary that gave the value)."""
        return self.ctx.error(path, message)


def load_sweep(
    path: str | os.PathLike[str],
    *,
    vary: Sequence[str] = (),
    sets: Sequence[str] = (),
    method: str | None = None,
    samples: int | None = None,
    levels: int | None = None,
    replications: int | None = None,
    seed: int | None = None,
    metrics: Sequence[str] = (),
) -> Sweep:
    """Read a sweep spec, or a plain scenario with ``vary`` items (``key.path=LOW:HIGH`` or
    ``key.path=a,b,c``), and apply the command line's choices over the spec's.

    Errors name the spec's file, line and key path (or the ``--vary`` item), as the scenario
    loader does.
    """
    fname = os.fspath(path)
    data, lines = read_yaml(read_text(fname, "a sweep spec or a scenario YAML file"), fname)
    if data is None:
        raise ScenarioError("the file is empty (expected a sweep spec)", file=fname, line=1)
    origins: dict[tuple, str] = {}
    from_scenario = isinstance(data, dict) and "sectors" in data
    if from_scenario:
        if not vary:
            raise ScenarioError(
                "is a scenario, not a sweep spec (give --vary key.path=LOW:HIGH or "
                "key.path=a,b,c, or a spec that names it under scenario:)", file=fname,
            )
        base, base_lines, scenario_file = data, lines, fname
        spec: dict[str, Any] = {"parameters": {}}
        lines = {("parameters",): -1}
        origins[("parameters",)] = "--vary"
    else:
        spec = dict(data) if isinstance(data, dict) else data
        base = None
        scenario_file = ""
    ctx = Context(lines, fname, origins)
    root = Node(spec, (), ctx).mapping((), SPEC_KEYS)
    spec = dict(spec)

    def cli(key: str, value: Any, label: str) -> None:
        if value is not None:
            spec[key] = value
            lines[(key,)] = -1
            origins[(key,)] = label
            for p in [p for p in lines if len(p) > 1 and p[0] == key]:
                del lines[p]

    cli("method", method, "--method")
    cli("samples", samples, "--samples")
    cli("levels", levels, "--levels")
    cli("replications", replications, "--replications")
    cli("seed", seed, "--seed")
    cli("metrics", list(metrics) or None, "--metric")
    if vary:
        params = dict(spec.get("parameters") or {})
        for item in vary:
            key, value = _parse_vary(item, fname)
            params[key] = value
            lines[("parameters", key)] = -1
            origins[("parameters", key)] = f"--vary {item}"
            for p in [p for p in lines if len(p) > 2 and p[:2] == ("parameters", key)]:
                del lines[p]
        spec["parameters"] = params
    root = Node(spec, (), ctx)

    if base is None:
        root.mapping(("scenario", "parameters"), SPEC_KEYS)
        rel = root["scenario"].text()
        scenario_file = os.path.normpath(os.path.join(os.path.dirname(fname), rel))
        if not os.path.isfile(scenario_file):
            raise root["scenario"].error(
                f"no such file {scenario_file} (expected a scenario YAML file, "
                "relative to the spec)"
            )
        base, base_lines = read_yaml(read_text(scenario_file), scenario_file)
        if base is None:
            raise ScenarioError("the file is empty (expected a scenario mapping)",
                                file=scenario_file, line=1)
    base = _with_fixed_values(root, base, base_lines, scenario_file, sets)

    m = root["method"].value if root.has("method") else "grid"
    if m not in METHODS:
        hint = _hint(m, METHODS)
        raise root["method"].error(f"unknown method {m!r}{hint} (expected grid, lhs or sobol)")
    n_samples = None
    if root.has("samples"):
        if m == "grid":
            raise root["samples"].error(
                "applies to lhs and sobol (a grid takes levels, per parameter or for all)"
            )
        n_samples = int(root["samples"].number(ge=1, le=MAX_POINTS, integer=True))
    elif m != "grid":
        n_samples = DEFAULT_SAMPLES
    if m == "sobol" and n_samples & (n_samples - 1):
        where = root["samples"] if root.has("samples") else root
        raise where.error(
            f"Sobol samples must be a power of 2 (got {n_samples}; e.g. {_pow2_near(n_samples)})"
        )
    n_levels = DEFAULT_LEVELS
    if root.has("levels"):
        if m != "grid":
            raise root["levels"].error(f"applies to method grid (method {m} takes samples)")
        n_levels = int(root["levels"].number(ge=2, le=MAX_POINTS, integer=True))

    params_node = root["parameters"]
    if not isinstance(params_node.value, dict) or not params_node.value:
        raise params_node.error(
            "expected a mapping of key paths to ranges or value lists, with at least one"
        )
    # --levels on the command line is for all ranges, over their own levels in the spec.
    parameters = tuple(_parameter(key, node, m, n_levels, own_levels=levels is None)
                       for key, node in params_node.items())

    if m == "grid":
        size = math.prod(len(p.grid(n_levels)) for p in parameters)
        if size > MAX_POINTS:
            raise params_node.error(f"a grid of {size:,} points (at most {MAX_POINTS:,})")
    elif m == "sobol":
        size = n_samples * (len(parameters) + 2)
        if size > MAX_POINTS:
            raise (root["samples"] if root.has("samples") else params_node).error(
                f"{n_samples} samples × ({len(parameters)} parameters + 2) = {size:,} points "
                f"(at most {MAX_POINTS:,})"
            )

    asked: tuple[str, ...] = DEFAULT_METRICS
    if root.has("metrics"):
        asked = tuple(n.text() for n in root["metrics"].list(nonempty=True))
    if root.has("name"):
        name = root["name"].text()
    else:
        name = f"{_scenario_name(base)} sweep" if from_scenario else Path(fname).stem
    return Sweep(
        name=name,
        description=root["description"].text() if root.has("description") else "",
        source=fname,
        scenario_file=scenario_file,
        method=m,
        samples=n_samples,
        levels=n_levels,
        replications=int(root["replications"].number(ge=1, le=1e9, integer=True))
        if root.has("replications") else DEFAULT_REPLICATIONS,
        seed=int(root["seed"].number(ge=0, lt=2**63, integer=True)) if root.has("seed") else 1,
        parameters=parameters,
        metrics=asked,
        base=base,
        base_lines=base_lines,
        ctx=ctx,
    )


def _parse_vary(item: str, file: str) -> tuple[str, Any]:
    """``key.path=LOW:HIGH[:log][:int]`` as a range, ``key.path=a,b,c`` as values."""
    where = f"{file} (--vary {item})"
    if "=" not in item:
        raise ScenarioError("expected key.path=LOW:HIGH or key.path=a,b,c", file=where)
    key, _, raw = item.partition("=")
    key = key.strip()
    if not key or not all(key.split(".")):
        raise ScenarioError("empty key in key path (expected key.path=LOW:HIGH)", file=where)
    raw = raw.strip()
    if ":" in raw and "," not in raw:
        low, high, *flags = (s.strip() for s in raw.split(":"))
        out: dict[str, Any] = {"low": parse_value(low), "high": parse_value(high)}
        for flag in flags:
            if flag not in ("log", "int"):
                raise ScenarioError(
                    f"unknown flag {flag!r} (expected LOW:HIGH, LOW:HIGH:log or LOW:HIGH:int)",
                    file=where, key=key,
                )
            out["log" if flag == "log" else "integer"] = True
        return key, out
    return key, [parse_value(v) for v in raw.split(",") if v.strip()]


def _with_fixed_values(
    root: Node, base: Any, lines: dict, scenario_file: str, sets: Sequence[str]
) -> Any:
    """The base scenario with the spec's ``set`` values and the command line's ``--set``; a bad
    ``set`` value is located in the spec."""
    if root.has("set"):
        fixed = root["set"]
        for key, node in fixed.items():
            base = _set_one(base, lines, key, node, scenario_file)
    if sets:
        base = apply_overrides(base, lines, sets, scenario_file)
    build_scenario(base, dict(lines), scenario_file)
    return base


def _set_one(base: Any, lines: dict, key: str, node: Node, scenario_file: str) -> Any:
    try:
        base = apply_overrides(base, lines, [(key, node.value)], scenario_file)
        build_scenario(base, dict(lines), scenario_file)
    except ScenarioError as e:
        if not _from_override(e, scenario_file):
            raise
        raise node.error(_scenario_message(e, scenario_file, key)) from None
    return base


def _parameter(
    key: str, node: Node, method: str, default_levels: int, *, own_levels: bool = True
) -> Parameter:
    v = node.value
    if isinstance(v, list):
        if not v:
            raise node.error("no values (expected a list of values, or low and high)")
        for i, x in enumerate(v):
            if x in v[:i]:
                raise node[i].error(f"repeats the value {x!r} (expected distinct values)")
        return Parameter(path=key, values=tuple(v))
    if not isinstance(v, dict):
        raise node.error(
            f"expected low and high, or a list of values (got {_kind(v)}); "
            "e.g. {low: 100, high: 300} or [14, 30, 60]"
        )
    node.mapping(("low", "high"), RANGE_KEYS[2:])
    low, high = node["low"].value, node["high"].value
    log = node["log"].boolean() if node.has("log") else False
    integer = node["integer"].boolean() if node.has("integer") else False
    if isinstance(low, dt.datetime):
        low = low.date()
    if isinstance(high, dt.datetime):
        high = high.date()
    if isinstance(low, dt.date) or isinstance(high, dt.date):
        for side, x in (("low", low), ("high", high)):
            if not isinstance(x, dt.date):
                raise node[side].error(f"expected a date like the other end (got {_kind(x)})")
        if log:
            raise node["log"].error("a range of dates has no logarithmic scale")
    else:
        for side in ("low", "high"):
            node[side].number(gt=0 if log else None)
        if integer:
            for side in ("low", "high"):
                node[side].number(integer=True)
            low, high = int(low), int(high)
    if low == high:
        raise node.error(f"empty range: low and high are both {_show(low)} (expected low < high)")
    if low > high:
        raise node["low"].error(
            f"low ({_show(low)}) is above high ({_show(high)}) (expected low < high)"
        )
    levels = None
    if node.has("levels") and own_levels:
        if method != "grid":
            raise node["levels"].error(f"applies to method grid (method {method} takes samples)")
        levels = int(node["levels"].number(ge=2, le=MAX_POINTS, integer=True))
    p = Parameter(path=key, low=low, high=high, log=log, integer=integer, levels=levels)
    if method == "grid":
        values = p.grid(default_levels)
        if len(set(values)) < len(values):
            raise (node["levels"] if levels else node).error(
                f"{len(values)} grid levels repeat values once made whole numbers or dates "
                f"({', '.join(_show(x) for x in values)}); expected fewer levels"
            )
    return p


# -- points -----------------------------------------------------------------------------------
def point_seed(sweep_seed: int, index: int) -> int:
    """Point ``index``'s run seed: 63 bits from child ``(0, index)`` of the sweep's seed."""
    ss = np.random.SeedSequence(sweep_seed, spawn_key=(_POINT, index))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def design(sweep: Sweep) -> list[dict[str, Any]]:
    """Each point's parameter values, in point order.

    grid: every combination, the last parameter varying fastest. lhs: ``samples`` points, one
    in each of ``samples`` equal strata of every parameter. sobol: Saltelli's design from a
    scrambled Sobol sequence: N = ``samples`` rows of A, then N of B, then for each parameter i
    N rows of A with column i from B, N × (parameters + 2) points in all.
    """
    ps = sweep.parameters
    if sweep.method == "grid":
        return [dict(zip((p.path for p in ps), combo))
                for combo in itertools.product(*(p.grid(sweep.levels) for p in ps))]
    from scipy.stats import qmc

    rng = np.random.default_rng(np.random.SeedSequence(sweep.seed, spawn_key=(_DESIGN,)))
    d = len(ps)
    if sweep.method == "lhs":
        u = _qmc(qmc.LatinHypercube, d, rng).random(sweep.samples)
    else:
        n = sweep.samples
        both = _qmc(qmc.Sobol, 2 * d, rng, scramble=True).random_base2(int(math.log2(n)))
        a, b = both[:, :d], both[:, d:]
        blocks = [a, b]
        for i in range(d):
            ab = a.copy()
            ab[:, i] = b[:, i]
            blocks.append(ab)
        u = np.vstack(blocks)
    return [{p.path: p.at(float(row[i])) for i, p in enumerate(ps)} for row in u]


def _qmc(cls, d: int, rng: np.random.Generator, **kw):
    try:
        return cls(d, rng=rng, **kw)
    except TypeError:  # scipy < 1.15 names it seed
        return cls(d, seed=rng, **kw)


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
    metric_columns: tuple[str, ...]  # every metric, in points.csv order
    headline: tuple[str, ...]  # the spec's metrics as columns: printed and ranked
    spec_yaml: str  # sweep.yaml: the spec as run, naming scenario.yaml beside it
    scenario_yaml: str  # scenario.yaml: the base scenario as run

    @property
    def sobol_base(self) -> int | None:
        return self.sweep.samples if self.sweep.method == "sobol" else None

    def fingerprint(self) -> str:
        return hashlib.sha256((self.spec_yaml + "\0" + self.scenario_yaml).encode()).hexdigest()


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
            shown = ", ".join(f"{k}={_show(v)}" for k, v in values.items())
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
    columns = metric_columns(points[0].scenario)
    headline = _headline(sweep, columns)
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
        sweep=sweep, points=tuple(points), metric_columns=columns, headline=headline,
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
    return f"{_show(value)} gives an invalid scenario: {_scenario_message(e, file, p.path)}{hint}"


def _from_override(e: ScenarioError, file: str) -> bool:
    return bool(e.file) and e.file.startswith(f"{file} (--set")


def _scenario_message(e: ScenarioError, file: str, key: str) -> str:
    """The scenario's own message, without the file where it is the overridden value (and
    without its key path where that is the ``key`` being set)."""
    if _from_override(e, file):
        return f"{e.key}: {e.message}" if e.key and e.key != key else e.message
    return str(e)


def _shape(sc: Scenario) -> tuple:
    return (sc.checkpoints_days, tuple(
        (s.name, s.kind, tuple(m.name for m in s.milestones)) for s in sc.sectors))


def metric_columns(sc: Scenario) -> tuple[str, ...]:
    """The per-point metrics of points.csv: per sector, the probability of reaching the
    objective, P10/P50/P90 of the day it falls, and P10/P50/P90 of progress at each checkpoint
    day (km advanced on an axis, km² held in an area)."""
    out = []
    for s in sc.sectors:
        progress = "advance_km" if s.kind == "axis" else "held_km2"
        out.append(f"{s.name}.prob_reached")
        out += [f"{s.name}.day_p{p}" for p in PERCENTILES]
        out += [f"{s.name}.{progress}_d{d}_p{p}" for d in sc.checkpoints_days for p in PERCENTILES]
    return tuple(out)


def _headline(sweep: Sweep, columns: tuple[str, ...]) -> tuple[str, ...]:
    bare = list(dict.fromkeys(c.split(".", 1)[1] for c in columns))
    out: list[str] = []
    for j, m in enumerate(sweep.metrics):
        hits = [c for c in columns if c == m or c.split(".", 1)[1] == m]
        if not hits:
            progress = sorted({b.split("_d")[0] for b in bare if "_d" in b})
            days = ", ".join(str(d) for d in _checkpoint_days(columns))
            raise sweep.error(("metrics", j), (
                f"unknown metric {m!r}{_hint(m, [*bare, *columns])} (expected prob_reached, "
                f"day_p10, day_p50, day_p90 or {'/'.join(progress)}_dDAY_pP with DAY one of "
                f"{days} and P one of 10, 50, 90; SECTOR.METRIC for one sector)"
            ))
        out += [c for c in hits if c not in out]
    return tuple(out)


def _checkpoint_days(columns: Sequence[str]) -> list[int]:
    """The checkpoint days named in metric columns."""
    days = {int(c.rsplit("_d", 1)[1].split("_")[0]) for c in columns if "_d" in c.split(".")[-1]}
    return sorted(days)


def point_metrics(result: Result) -> dict[str, float]:
    """The metrics of ``metric_columns`` for one point's run; +inf where a day is censored."""
    out: dict[str, float] = {}
    for name, so in result.sectors.items():
        out[f"{name}.prob_reached"] = float(so.reached.mean())
        for p, d in zip(PERCENTILES, censored_percentiles(so.objective_day, PERCENTILES)):
            out[f"{name}.day_p{p}"] = math.inf if d is None else d
        q = np.percentile(so.progress, PERCENTILES, axis=0)
        for j, day in enumerate(result.scenario.checkpoints_days):
            for i, p in enumerate(PERCENTILES):
                out[f"{name}.{so.progress_name}_d{day}_p{p}"] = float(q[i, j])
    return out


# -- running ----------------------------------------------------------------------------------
def run_chunk(scenario: Scenario, seed: int, chunk: int, n: int) -> tuple[dict, float]:
    """One task: chunk ``chunk`` of a point's run, without the per-day histograms (a sweep does
    not draw fan charts), and the seconds it took."""
    t0 = time.perf_counter()
    out = simulate_chunk(scenario, seed, chunk, n)
    empty = np.zeros((0, 0), dtype=np.int64)
    slim = {k: dataclasses.replace(v, band_counts=empty) for k, v in out.items()}
    return slim, time.perf_counter() - t0


@dataclass(kw_only=True)
class SweepResult:
    plan: Plan
    path: Path
    table: dict[str, np.ndarray]  # points.csv as columns
    sensitivity: list[dict]
    wall_seconds: float
    points_computed: int  # in this session (the rest were kept from an interrupted one)
    manifest: dict


def partial_dir(target: Path) -> Path:
    """Where an unfinished sweep for ``target`` lives."""
    return target.with_name(target.name + ".partial")


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
    from .executors import open_executor

    t0 = time.perf_counter()
    target = Path(out)
    if target.name.endswith(".partial"):
        target = target.with_name(target.name[: -len(".partial")])
    staging = partial_dir(target)
    if target.exists():
        if resume:
            _check_finished(target)
            raise AdvsimError(f"{target}: this sweep is already complete (nothing to resume)")
        raise AdvsimError(f"{target}: already exists (choose another --out)")
    if staging.exists() and not resume:
        raise AdvsimError(
            f"{staging}: an unfinished sweep is there (continue it with --resume, "
            "or choose another --out)"
        )
    if staging.exists():
        _check_same_sweep(staging, plan)

    with open_executor(executor, jobs, scheduler) as ex, \
            atomic_dir(target, staging=staging) as tmp, _locked(tmp):
        store = _Store(tmp)
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
                store.save(index, record)
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
    per-replication table and the seconds its chunks took."""
    parts = chunks(replications, chunk_size)
    tasks = [(p.scenario, p.seed, k, count) for p in points for k, _, count in parts]
    waiting: dict[int, list] = {}
    for t, (outcome, seconds) in ex.map_unordered(run_chunk, tasks):
        p = points[t // len(parts)]
        got = waiting.setdefault(p.index, [])
        got.append((parts[t % len(parts)][1], outcome, seconds))
        if len(got) < len(parts):
            continue
        del waiting[p.index]
        result = collect(p.scenario, replications, p.seed, ((lo, o) for lo, o, _ in got))
        table = result.table()
        table = {"point": np.full(replications * len(result.sectors), p.index), **table}
        yield p.index, {
            "point": p.index,
            "seed": p.seed,
            "metrics": point_metrics(result),
            "seconds": sum(s for *_, s in got),
            "table": table,
        }


class _Store:
    """The parts of an unfinished sweep: per point, its outcomes (``NNNNNN.npz``) and then its
    record (``NNNNNN.json``), each renamed into place, so a record means a finished point. A
    record holds the sha256 of its outcomes file and of its own content: a damaged point is
    found on resume, reported and computed again, never reused."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.parts = root / "parts"

    def begin(self, plan: Plan, executor: str, workers: int, damaged: Sequence[int] = ()) -> int:
        self.parts.mkdir(exist_ok=True)
        for name, text in (("sweep.yaml", plan.spec_yaml), ("scenario.yaml", plan.scenario_yaml)):
            if not (self.root / name).exists():
                _atomic_write(self.root / name, text.encode("utf-8"))
        sessions = self.sessions()
        sessions.append({"started": _now(), "executor": executor, "workers": workers,
                         **({"damaged_points": sorted(damaged)} if damaged else {})})
        self.write_sessions(sessions)
        return len(sessions) - 1

    def sessions(self) -> list[dict]:
        path = self.root / "sessions.json"
        if not path.exists():
            return []
        try:
            sessions = json.loads(path.read_bytes())
            if not isinstance(sessions, list) or not all(isinstance(s, dict) for s in sessions):
                raise ValueError("expected a list of sessions")
        except (OSError, ValueError) as e:  # ValueError: bad JSON, or not UTF-8
            raise AdvsimError(f"{path}: damaged ({e}); delete it to resume with the points "
                              "kept but without the history of earlier sessions") from None
        return sessions

    def write_sessions(self, sessions: list[dict]) -> None:
        _atomic_write(self.root / "sessions.json", (json.dumps(sessions, indent=1) + "\n").encode())

    def finished(self, plan: Plan) -> tuple[dict[int, dict], dict[int, str]]:
        """The finished points' records, and for each damaged point a line ``FILE: what is
        wrong``; a damaged point's files are removed, so that it is computed again."""
        self.parts.mkdir(exist_ok=True)
        done, damaged = {}, {}
        for f in sorted(self.parts.iterdir()):
            if f.name.startswith("."):  # a write that a kill interrupted
                f.unlink()
                continue
            if f.suffix != ".json" or not f.stem.isdigit():
                continue
            index = int(f.stem)
            try:
                done[index] = self._read(f, index, plan)
            except ValueError as e:
                damaged[index] = f"{e}; point {index} is computed again"
                f.unlink()
                f.with_suffix(".npz").unlink(missing_ok=True)
        return done, damaged

    def _read(self, f: Path, index: int, plan: Plan) -> dict:
        """Point ``index``'s record, checked against its outcomes file and the plan; a
        ValueError says what is wrong."""
        try:
            record = json.loads(f.read_bytes())
        except (OSError, ValueError) as e:  # ValueError: bad JSON, or not UTF-8
            raise ValueError(f"{f}: not a point record ({e})") from None
        if not isinstance(record, dict) or record.pop("sha256", None) != _digest(record):
            raise ValueError(f"{f}: does not match its checksum (damaged or edited)")
        if index >= len(plan.points) or record.get("point") != index \
                or record.get("seed") != plan.points[index].seed \
                or set(record.get("metrics") or ()) != set(plan.metric_columns):
            raise ValueError(f"{f}: a record of another sweep or point (expected point {index} "
                             "of this sweep)")
        npz = f.with_suffix(".npz")
        if not npz.exists():
            raise ValueError(f"{npz}: missing (its record {f.name} is there)")
        if _sha256(npz) != record.get("outcomes_sha256"):
            raise ValueError(f"{npz}: does not match the checksum in {f.name} (truncated, "
                             "damaged or edited)")
        record["metrics"] = {k: math.inf if v is None else v for k, v in record["metrics"].items()}
        return record

    def save(self, index: int, record: dict) -> None:
        table = record.pop("table")
        npz = self.parts / f"{index:06d}.npz"
        with _atomic_file(npz) as f:
            np.savez(f, **{k: v.astype(str) if v.dtype == object else v
                           for k, v in table.items()})
        stored = dict(record, metrics={k: None if math.isinf(v) else v
                                       for k, v in record["metrics"].items()},
                      outcomes_sha256=_sha256(npz))
        stored["sha256"] = _digest(stored)
        _atomic_write(self.parts / f"{index:06d}.json", (json.dumps(stored) + "\n").encode())

    def tables(self, indices: Sequence[int]) -> Iterator[dict[str, np.ndarray]]:
        for i in indices:
            with np.load(self.parts / f"{i:06d}.npz", allow_pickle=False) as z:
                yield {k: z[k] for k in z.files}


def _digest(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_same_sweep(staging: Path, plan: Plan) -> None:
    for name, text in (("sweep.yaml", plan.spec_yaml), ("scenario.yaml", plan.scenario_yaml)):
        f = staging / name
        if f.exists() and f.read_bytes() != text.encode("utf-8"):
            raise AdvsimError(
                f"{staging}: holds a different sweep (its {name} differs from this one's; "
                "resume with the same spec and options, or choose another --out)"
            )


def _check_finished(target: Path) -> None:
    """A finished sweep is not resumed; but say so only if its points.csv is the one it
    wrote, and name the file if not."""
    manifest = target / "manifest.json"
    try:
        data = json.loads(manifest.read_bytes())
    except (OSError, ValueError) as e:
        raise AdvsimError(f"{manifest}: cannot read the sweep's manifest ({e})") from None
    expected = data.get("points_sha256") if isinstance(data, dict) else None
    points = target / "points.csv"
    if expected and not points.is_file():
        raise AdvsimError(f"{points}: missing from a finished sweep")
    if expected and _sha256(points) != expected:
        raise AdvsimError(
            f"{points}: not the table this sweep wrote (its sha256 differs from manifest.json's "
            "points_sha256: edited or damaged); a finished sweep is not recomputed: run it "
            "again with another --out"
        )


@contextlib.contextmanager
def _locked(folder: Path):
    """One sweep at a time writes a folder. A POSIX record lock belongs to this process alone:
    forked workers do not inherit it, and it goes when the process does, even by SIGKILL."""
    try:
        import fcntl
    except ImportError:  # not on POSIX: no lock
        yield
        return
    with open(folder / ".lock", "w") as f:
        try:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise AdvsimError(f"{folder}: another advsim sweep is writing here") from None
        try:
            yield
        finally:
            fcntl.lockf(f, fcntl.LOCK_UN)
    (folder / ".lock").unlink(missing_ok=True)


@contextlib.contextmanager
def _atomic_file(path: Path):
    """Write ``path`` whole or not at all: a file written beside it, then renamed over it (a
    kill leaves the temporary file, which the next resume removes)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _atomic_write(path: Path, data: bytes) -> None:
    with _atomic_file(path) as f:
        f.write(data)


def _finish(tmp: Path, plan: Plan, store: _Store, done: dict[int, dict], *, wall: float,
            computed: int, executor) -> SweepResult:
    from .sensitivity import as_columns

    order = [p.index for p in plan.points]
    table = points_table(plan, [done[i] for i in order])
    write_csv(tmp / "points.csv", table)
    parquet = maybe_parquet_parts(tmp / "points.parquet", [table])
    write_csv_parts(tmp / "outcomes.csv", _outcome_parts(plan, store, table))
    maybe_parquet_parts(tmp / "outcomes.parquet", _outcome_parts(plan, store, table))
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
    manifest = {
        "advsim": __version__,
        "sweep": sw.name,
        "source": sw.source,
        "scenario_source": sw.scenario_file,
        "method": sw.method,
        **({"samples": sw.samples} if sw.method != "grid" else {"levels": sw.levels}),
        "points": len(plan.points),
        "replications": sw.replications,
        "seed": sw.seed,
        "point_seeds": "point i: SeedSequence(seed, spawn_key=(0, i)).generate_state(1, "
                       "uint64)[0] >> 1 (the seed column of points.csv)",
        "parameters": [p.path for p in sw.parameters],
        "metrics": list(plan.headline),
        "sweep_sha256": hashlib.sha256(plan.spec_yaml.encode()).hexdigest(),
        "points_sha256": _sha256(tmp / "points.csv"),
        "scenario_sha256": hashlib.sha256(plan.scenario_yaml.encode()).hexdigest(),
        "executor": executor.name,
        "workers": executor.workers,
        "wall_seconds": round(wall, 3),
        "compute_seconds": round(sum(r["seconds"] for r in done.values()), 3),
        "point_seconds": [round(done[i]["seconds"], 4) for i in order],
        "points_computed": computed,
        "resumed": len(sessions) > 1,
        "sessions": sessions,
        "files": sorted(["points.csv", "outcomes.csv", "sensitivity.csv", "sweep.yaml",
                         "scenario.yaml", "manifest.json", "sessions.json"]
                        + (["points.parquet", "outcomes.parquet"] if parquet else [])),
        "created": _now(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": _version("scipy"),
        **({"dask": _version("distributed")} if executor.name == "dask" else {}),
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return SweepResult(plan=plan, path=tmp, table=table, sensitivity=sens, wall_seconds=wall,
                       points_computed=computed, manifest=manifest)


def _outcome_parts(plan: Plan, store: _Store, table: dict[str, np.ndarray]):
    """Each point's per-replication table with the point's values as columns after ``point``
    (typed as in points.csv), so that the rows group by parameter without a join."""
    for row, part in enumerate(store.tables([p.index for p in plan.points])):
        n = part["point"].size
        values = {p.path: np.repeat(table[p.path][row:row + 1], n) for p in plan.sweep.parameters}
        yield {"point": part["point"], **values, **{k: v for k, v in part.items() if k != "point"}}


def points_table(plan: Plan, records: Sequence[dict]) -> dict[str, np.ndarray]:
    """points.csv as columns: ``point``, each parameter's value (by key path), the point's
    ``seed`` and ``replications``, then the metrics (censored days as NaN: empty in CSV)."""
    table: dict[str, np.ndarray] = {"point": np.array([r["point"] for r in records], np.int64)}
    for p in plan.sweep.parameters:
        vals = [plan.points[r["point"]].values[p.path] for r in records]
        table[p.path] = _column(vals)
    table["seed"] = np.array([r["seed"] for r in records], dtype=np.int64)
    table["replications"] = np.full(len(records), plan.sweep.replications, dtype=np.int64)
    for c in plan.metric_columns:
        col = np.array([r["metrics"][c] for r in records], dtype=float)
        table[c] = np.where(np.isinf(col), np.nan, col)
    return table


def sensitivity(plan: Plan, table: dict[str, np.ndarray]) -> list[dict]:
    """The sensitivity rows of the headline metrics (see ``sim.sensitivity``)."""
    from .sensitivity import sensitivity_table

    params = {p.path: np.array([p.coordinate(pt.values[p.path]) for pt in plan.points])
              for p in plan.sweep.parameters}
    metrics = {}
    for c in plan.headline:
        y = table[c].astype(float)
        metrics[c] = np.where(np.isnan(y), np.inf, y)  # NaN here only ever means censored
    rng = np.random.default_rng(np.random.SeedSequence(plan.sweep.seed, spawn_key=(_BOOTSTRAP,)))
    return sensitivity_table(params, metrics, sobol_base=plan.sobol_base, rng=rng)


def _column(vals: list[Any]) -> np.ndarray:
    if all(isinstance(v, bool) for v in vals):
        return np.array(vals, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return np.array(vals, dtype=np.int64)
    if all(_is_number(v) for v in vals):
        return np.array(vals, dtype=float)
    return np.array([v.isoformat() if isinstance(v, dt.date) else
                     v if isinstance(v, str) else json.dumps(v, default=str) for v in vals],
                    dtype=object)


def summary(result: SweepResult) -> dict:
    """The sweep in the JSON of ``advsim sweep --json``."""
    plan, sw = result.plan, result.plan.sweep
    rows = [{k: _json_value(col[j]) for k, col in result.table.items()}
            for j in range(len(plan.points))]
    return {
        "advsim": __version__,
        "sweep": sw.name,
        "scenario": plan.points[0].scenario.name,
        "method": sw.method,
        "points": len(plan.points),
        "replications": sw.replications,
        "seed": sw.seed,
        "results_dir": str(result.path),
        "parameters": {p.path: _json_value(p.as_yaml()) for p in sw.parameters},
        "metrics": list(plan.headline),
        "sensitivity": [{k: _json_value(v) for k, v in r.items()} for r in result.sensitivity],
        "table": rows,
    }


def _json_value(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


# -- small helpers ----------------------------------------------------------------------------
def _round6(v: float) -> float:
    """Six significant digits: the value points.csv shows is the value that ran."""
    return float(f"{v:.6g}")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _show(v: Any) -> str:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return f"{v:g}"
    return repr(v) if isinstance(v, str) else str(v)


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if _is_number(v):
        return f"a number ({v})"
    if isinstance(v, str):
        return f"a text ({v!r})"
    return "nothing" if v is None else type(v).__name__


def _hint(word: Any, known: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(str(word), list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _pow2_near(n: int) -> int:
    return 1 << max(1, round(math.log2(max(n, 1))))


def _scenario_name(data: Any) -> str:
    return str(data.get("name", "scenario")) if isinstance(data, dict) else "scenario"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return None
