"""A sweep spec and its parameters: reading it, ``--vary``/``--set`` over it, and its checks."""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ScenarioError
from ..model.keypath import brief, did_you_mean, is_number, iso_date, kind_of, printable, show
from ..model.loader import (
    Context,
    Node,
    apply_overrides,
    build_scenario,
    parse_value,
    read_text,
    read_yaml,
)

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
        if is_number(value):
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
            origins[("parameters", key)] = f"--vary {printable(item, 60)}"
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
        hint = did_you_mean(m, METHODS)
        raise root["method"].error(f"unknown method {m!r}{hint} (expected grid, lhs or sobol)")
    n_samples: int | None = None
    if root.has("samples"):
        if m == "grid":
            raise root["samples"].error(
                "applies to lhs and sobol (a grid takes levels, per parameter or for all)"
            )
        n_samples = int(root["samples"].number(ge=1, le=MAX_POINTS, integer=True))
    elif m != "grid":
        n_samples = DEFAULT_SAMPLES
    if m == "sobol" and n_samples is not None and n_samples & (n_samples - 1):
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
    elif m == "sobol" and n_samples is not None:
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
    where = f"{file} (--vary {printable(item, 60)})"
    if "=" not in item:
        raise ScenarioError("expected key.path=LOW:HIGH or key.path=a,b,c", file=where)
    key, _, raw = item.partition("=")
    key = key.strip()
    if not key or not all(key.split(".")):
        raise ScenarioError("empty key in key path (expected key.path=LOW:HIGH)", file=where)
    raw = raw.strip()
    if raw.count(",") >= MAX_POINTS:  # counted before any value is read
        raise ScenarioError(
            f"a list of {raw.count(',') + 1:,} values (at most {MAX_POINTS:,}: a sweep has at "
            f"most {MAX_POINTS:,} points)", file=where, key=key,
        )
    if ":" in raw and "," not in raw:
        low, high, *flags = (s.strip() for s in raw.split(":"))
        out: dict[str, Any] = {"low": parse_value(low, file=where),
                               "high": parse_value(high, file=where)}
        for flag in flags:
            if flag not in ("log", "int"):
                raise ScenarioError(
                    f"unknown flag {flag!r} (expected LOW:HIGH, LOW:HIGH:log or LOW:HIGH:int)",
                    file=where, key=key,
                )
            out["log" if flag == "log" else "integer"] = True
        return key, out
    return key, [parse_value(v, file=where) for v in raw.split(",") if v.strip()]


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
        if not from_override(e, scenario_file):
            raise
        raise node.error(scenario_message(e, scenario_file, key)) from None
    return base


def _parameter(
    key: str, node: Node, method: str, default_levels: int, *, own_levels: bool = True
) -> Parameter:
    v = node.value
    if isinstance(v, list):
        if not v:
            raise node.error("no values (expected a list of values, or low and high)")
        if len(v) > MAX_POINTS:
            raise node.error(f"a list of {len(v):,} values (at most {MAX_POINTS:,}: a sweep "
                             f"has at most {MAX_POINTS:,} points)")
        seen: set[Any] = set()
        for i, x in enumerate(v):
            try:
                again = x in seen
                seen.add(x)
            except TypeError:  # a list or mapping: compared with the earlier values instead
                again = x in v[:i]
            if again:
                raise node[i].error(f"repeats the value {brief(x)} (expected distinct values)")
        return Parameter(path=key, values=tuple(v))
    if not isinstance(v, dict):
        raise node.error(
            f"expected low and high, or a list of values (got {kind_of(v)}); "
            "e.g. {low: 100, high: 300} or [14, 30, 60]"
        )
    node.mapping(("low", "high"), RANGE_KEYS[2:])
    low, high = node["low"].value, node["high"].value
    low, high = iso_date(low) or low, iso_date(high) or high  # "2024-11-20" is a date too
    log = node["log"].boolean() if node.has("log") else False
    integer = node["integer"].boolean() if node.has("integer") else False
    if isinstance(low, dt.datetime):
        low = low.date()
    if isinstance(high, dt.datetime):
        high = high.date()
    if isinstance(low, dt.date) or isinstance(high, dt.date):
        for side, x in (("low", low), ("high", high)):
            if not isinstance(x, dt.date):
                raise node[side].error(f"expected a date like the other end (got {kind_of(x)})")
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
        raise node.error(f"empty range: low and high are both {show(low)} (expected low < high)")
    if low > high:
        raise node["low"].error(
            f"low ({show(low)}) is above high ({show(high)}) (expected low < high)"
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
                f"({', '.join(show(x) for x in values)}); expected fewer levels"
            )
    return p




def from_override(e: ScenarioError, file: str) -> bool:
    """Whether ``e`` is about a value set over the scenario file (not one of the file's own)."""
    return e.file is not None and e.file.startswith(f"{file} (--set")


def scenario_message(e: ScenarioError, file: str, key: str) -> str:
    """The scenario's own message, without the file where it is the overridden value (and
    without its key path where that is the ``key`` being set)."""
    if from_override(e, file):
        return f"{e.key}: {e.message}" if e.key and e.key != key else e.message
    return str(e)


def _round6(v: float) -> float:
    """Six significant digits: the value points.csv shows is the value that ran."""
    return float(f"{v:.6g}")


def _pow2_near(n: int) -> int:
    return 1 << max(1, round(math.log2(max(n, 1))))


def _scenario_name(data: Any) -> str:
    return str(data.get("name", "scenario")) if isinstance(data, dict) else "scenario"
