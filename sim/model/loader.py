"""Scenario loading: YAML (with line numbers) and ``--set`` overrides into a validated Scenario.

This and its inverse, the writer, are the only modules that import yaml. Every check of a
scenario's meaning lives here, and every failure raises one ScenarioError naming the file, the
line and the key path.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import os
import re
import stat
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import yaml

from ..errors import ScenarioError
from . import distributions as D
from .keypath import brief, did_you_mean, dotted, iso_date, kind_of, name_problem, printable
from .scenario import (
    ATTRITION_MODELS,
    MAX_HORIZON_DAYS,
    OPEN_END,
    SECTOR_TYPES,
    SIDES,
    Advance,
    Attrition,
    DefensiveLine,
    ForceTerm,
    Milestone,
    Modifier,
    Observed,
    Regime,
    Regimes,
    Reinforcement,
    ReleaseRule,
    Reserve,
    Scenario,
    Sector,
    Side,
    Strikes,
    default_checkpoints,
    slug,
)


class _Loader(yaml.SafeLoader):
    """YAML 1.1 as PyYAML reads it, but with YAML 1.2's floats: ``2e-8`` is a number, not text."""


# YAML 1.2's exponent floats: the writer resolves them too, so that it quotes text like "2e-8"
YAML12_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", YAML12_FLOAT, list("-+0123456789"))

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
Path = tuple[Any, ...]
MAX_FILE_BYTES = 5 * 2**20  # scenario files and sweep specs are a few kB
MAX_NODES = 100_000  # values written in one input (list items, keys, scalars)
MAX_VALUES = 1_000_000  # values once aliases are expanded ("billion laughs")
MAX_OPTION_BYTES = 2**20  # one --set or --vary value
MAX_FLOAT = sys.float_info.max
MAX_TROOPS = 1e9  # far beyond any army; keeps the attrition laws' products finite


def load_scenario(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> Scenario:
    """Read a scenario file, apply ``key.path=value`` overrides, and validate it."""
    return load_resolved(path, overrides)[0]


def load_resolved(
    path: str | os.PathLike[str], overrides: Sequence[str] = ()
) -> tuple[Scenario, str]:
    """The validated scenario and its resolved YAML (the file's values after the overrides)."""
    fname = os.fspath(path)
    return _parse(read_text(fname), fname, overrides)


def read_text(path: str | os.PathLike[str], what: str = "a scenario YAML file") -> str:
    """The text of an input file; a missing, unreadable, special (``/dev/zero``, a pipe) or
    too large one (over ``MAX_FILE_BYTES``) is a located ScenarioError, found before reading."""
    fname = os.fspath(path)
    try:
        st = os.stat(fname)
        if stat.S_ISDIR(st.st_mode):
            raise ScenarioError(f"is a directory (expected {what})", file=fname)
        if not stat.S_ISREG(st.st_mode):  # a device or a pipe: it may never end
            raise ScenarioError(f"not a regular file (expected {what})", file=fname)
        _check_bytes(st.st_size, fname)
        with open(fname, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)  # the file may have grown since stat
        _check_bytes(len(data), fname)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"no such file (expected {what})", file=fname) from None
    except IsADirectoryError:
        raise ScenarioError(f"is a directory (expected {what})", file=fname) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(f"cannot read: {e}", file=fname) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as text mode reads it


def _mb(n: float) -> str:
    return f"{n / 2**20:.3g} MB"


def _check_bytes(size: int, file: str) -> None:
    if size > MAX_FILE_BYTES:
        raise ScenarioError(
            f"too large: input files are at most {_mb(MAX_FILE_BYTES)} (got {_mb(size)})",
            file=file,
        )


def _check_size(text: str, file: str, *, located: bool = True) -> None:
    """Refuse input that holds more than ``MAX_NODES`` values, or more than ``MAX_VALUES``
    once its aliases are expanded, before anything is built of it: the events of the
    (C, where available) parser are counted, and each anchor's expanded size summed."""
    cls = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    nodes = values = 0
    anchors: dict[str, int] = {}
    open_: list[tuple[str | None, int]] = []  # collections being read: anchor, values before
    try:
        for ev in yaml.parse(text, Loader=cls):
            if isinstance(ev, yaml.AliasEvent):
                size = anchors.get(ev.anchor or "", 1)
            elif isinstance(ev, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
                size = 1
            elif isinstance(ev, yaml.CollectionEndEvent):
                anchor, before = open_.pop()
                if anchor is not None:
                    anchors[anchor] = values - before
                continue
            else:
                continue
            nodes += 1
            values += size
            if isinstance(ev, yaml.CollectionStartEvent):
                open_.append((ev.anchor, values - 1))
            elif isinstance(ev, yaml.ScalarEvent) and ev.anchor is not None:
                anchors[ev.anchor] = 1
            if nodes > MAX_NODES:
                raise ScenarioError(
                    f"too large: more than {MAX_NODES:,} values (an input holds at most "
                    f"{MAX_NODES:,})", file=file,
                    line=ev.start_mark.line + 1 if located and ev.start_mark else None,
                )
            if values > MAX_VALUES:
                raise ScenarioError(
                    f"more than {MAX_VALUES:,} values once aliases are expanded (expected at "
                    f"most {MAX_VALUES:,})", file=file,
                    line=ev.start_mark.line + 1 if located and ev.start_mark else None,
                )
    except yaml.YAMLError:
        return  # the composer below says what is wrong, and where


def parse_scenario(text: str, *, file: str = "<string>", overrides: Sequence[str] = ()) -> Scenario:
    """Validate a scenario given as YAML text."""
    return _parse(text, file, overrides)[0]


def parse_resolved(text: str, *, file: str = "<string>", overrides: Sequence[str] = (),
                   ) -> tuple[Scenario, str]:
    """``load_resolved`` of YAML text: the text a run keeps is then the text it parsed."""
    return _parse(text, file, overrides)


def _parse(text: str, file: str, overrides: Sequence[str]) -> tuple[Scenario, str]:
    data, lines = read_yaml(text, file)
    if data is None:
        raise ScenarioError("the file is empty (expected a scenario mapping)", file=file, line=1)
    data = apply_overrides(data, lines, overrides, file)
    scenario = build_scenario(data, lines, file)
    return scenario, dump_yaml(data)


def read_yaml(text: str, file: str) -> tuple[Any, dict[Path, int]]:
    """Parse YAML into plain Python values and a map from each key path to its line.

    Merge keys (``<<: *defaults``) are supported; a tag on a mapping or a list is refused, and
    a key that YAML 1.1 reads as a boolean or null (``no:``, ``on:``) is the text written."""
    _check_size(text, file)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        # Scanning a token or parsing a flow collection, the context marks where the bad text
        # begins (a key without ':', an unclosed quote or bracket); the problem mark is only
        # where the parser gave up, often a later line.
        opened = (e.context or "").startswith(("while scanning", "while parsing a flow"))
        mark = e.context_mark if opened and e.context_mark else e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(x for x in (e.context, e.problem) if x)
        if line is not None and e.problem_mark and e.problem_mark.line + 1 != line:
            what += f" (noticed on line {e.problem_mark.line + 1})"
        raise ScenarioError(f"invalid YAML: {what}", file=file, line=line) from None
    except yaml.reader.ReaderError as e:
        # str(e) goes on to a second line ("in <unicode string>, position N"): keep the first.
        line = text.count("\n", 0, e.position) + 1
        first = str(e).splitlines()[0]
        raise ScenarioError(f"invalid YAML: {first}", file=file, line=line) from None
    except yaml.YAMLError as e:
        raise ScenarioError(f"invalid YAML: {e}", file=file) from None
    except RecursionError:
        raise ScenarioError("invalid YAML: nested too deeply", file=file) from None
    lines: dict[Path, int] = {}
    if node is None:
        return None, lines
    constructor = _Loader("")
    inside: set[int] = set()  # the nodes being converted: an alias to one of them is a loop
    count = [0]  # values built; aliases can multiply them ("billion laughs")

    def convert(n: yaml.Node, path: Path) -> Any:
        lines[path] = n.start_mark.line + 1
        count[0] += 1
        if count[0] > MAX_VALUES:
            raise ScenarioError(
                f"more than {MAX_VALUES:,} values once aliases are expanded (expected a scenario)",
                file=file, line=n.start_mark.line + 1, key=dotted(path),
            )
        if id(n) in inside:
            raise ScenarioError(
                "an alias refers to a value that contains it (expected no recursive aliases)",
                file=file, line=n.start_mark.line + 1, key=dotted(path),
            )
        if isinstance(n, (yaml.MappingNode, yaml.SequenceNode)) and n.tag not in PLAIN_TAGS:
            raise ScenarioError(
                f"unsupported tag {_tag(n.tag)} (expected a plain mapping or list)",
                file=file, line=n.start_mark.line + 1, key=dotted(path),
            )
        if isinstance(n, yaml.MappingNode):
            inside.add(id(n))
            out: dict[Any, Any] = {}
            merged: dict[Any, Any] = {}
            for k, v in n.value:
                if k.tag == "tag:yaml.org,2002:merge":
                    merged = {**merge(v, path), **merged}  # an earlier source wins
                    continue
                key = convert(k, (*path, "<key>"))
                if isinstance(key, (dict, list)):
                    raise ScenarioError(
                        "a mapping key must be a plain value", file=file,
                        line=k.start_mark.line + 1, key=dotted(path),
                    )
                if (key is None or isinstance(key, bool)) and k.style is None:
                    key = k.value  # `no:` names "no", not False
                if key in out:
                    raise ScenarioError(
                        f"duplicate key {key!r}", file=file, line=k.start_mark.line + 1,
                        key=dotted((*path, key)),
                    )
                at = (*path, key)
                out[key] = convert(v, at)
                lines[at] = k.start_mark.line + 1
            inside.discard(id(n))
            if merged:
                out = {**{k: x for k, x in merged.items() if k not in out}, **out}
            return out
        if isinstance(n, yaml.SequenceNode):
            inside.add(id(n))
            items = [convert(v, (*path, i)) for i, v in enumerate(n.value)]
            inside.discard(id(n))
            return items
        try:
            return constructor.construct_object(n, deep=True)
        except yaml.MarkedYAMLError as e:
            # str(e) quotes the offending line on further lines: keep the one-line description.
            what = " ".join(x for x in (e.context, e.problem) if x)
            raise ScenarioError(
                f"bad value: {what}", file=file, line=n.start_mark.line + 1, key=dotted(path)
            ) from None
        except (yaml.YAMLError, ValueError) as e:
            raise ScenarioError(
                f"bad value: {e}", file=file, line=n.start_mark.line + 1, key=dotted(path)
            ) from None

    def merge(v: yaml.Node, path: Path) -> dict[Any, Any]:
        """The keys that ``<<: SOURCE`` brings, from a mapping or a list of mappings."""
        sources = v.value if isinstance(v, yaml.SequenceNode) else [v]
        if not all(isinstance(x, yaml.MappingNode) for x in sources):
            raise ScenarioError(
                "a merge key takes a mapping or a list of them (e.g. <<: *defaults)",
                file=file, line=v.start_mark.line + 1, key=dotted(path),
            )
        here = lines.get(path)
        out: dict[Any, Any] = {}
        for x in sources:
            out = {**convert(x, path), **out}
        if here is not None:
            lines[path] = here
        return out

    return convert(node, ()), lines


PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _tag(tag: str) -> str:
    return printable(tag.replace("tag:yaml.org,2002:", "!!"))


def apply_overrides(
    data: Any, lines: dict[Path, int], overrides: Iterable[str | tuple[str, Any]], file: str
) -> Any:
    """Return a copy of ``data`` with each ``key.path=value`` set; the value is read as YAML.

    An override may also be a ``(key.path, value)`` pair whose value is already read (a sweep's
    points); errors then name it as ``--set key.path``.
    """
    data = copy.deepcopy(data)
    for item in overrides:
        if isinstance(item, tuple):
            target, value = item
            where = f"{file} (--set {target})"
        else:
            where = f"{file} (--set {printable(item, 60)})"
            if "=" not in item:
                raise ScenarioError("expected key.path=value", file=where)
            target, _, raw = item.partition("=")
            try:
                value = parse_value(raw, file=where)
            except (ValueError, OverflowError) as e:  # a YAML date that no calendar holds
                raise ScenarioError(f"bad value: {e}", file=where, key=target.strip()) from None
            except RecursionError:
                raise ScenarioError("invalid YAML: nested too deeply", file=where) from None
        keys = target.strip().split(".")
        if not all(keys):
            raise ScenarioError("empty key in key path (expected key.path=value)", file=where)
        node = data
        path: Path = ()
        for i, key in enumerate(keys):
            last = i == len(keys) - 1
            if isinstance(node, list):
                if not (key.isascii() and key.isdigit()) or int(key) >= len(node):
                    raise ScenarioError(
                        f"no item {key} (the list has {len(node)} items, counted from 0)",
                        file=where, key=dotted((*path, key)),
                    )
                key = int(key)  # type: ignore[assignment]  # an item's index in the path
            elif isinstance(node, dict):
                if not last and key not in node:
                    raise ScenarioError(
                        f"no such key{did_you_mean(key, node)}", file=where,
                        key=dotted((*path, key)),
                    )
            else:
                raise ScenarioError(
                    "is not a mapping or list, so it has no keys", file=where, key=dotted(path)
                )
            path = (*path, key)
            if last:
                node[key] = value
                lines[path] = -1
                _forget_lines_below(lines, path)
            else:
                node = node[key]
    return data


def parse_value(raw: str, *, file: str = "--set") -> Any:
    """A value given on the command line, read as YAML (``2e-8``, ``2024-11-20``, ``[1, 2]``);
    text that is not valid YAML stays text, and nothing at all is None. A value over
    ``MAX_OPTION_BYTES``, or holding too many values (aliases expanded), is a ScenarioError
    located at ``file``."""
    size = len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_OPTION_BYTES:
        raise ScenarioError(
            f"too large: a value on the command line is at most {_mb(MAX_OPTION_BYTES)} "
            f"(got {_mb(size)})", file=file,
        )
    _check_size(raw, file, located=False)
    try:
        return yaml.load(raw, Loader=_Loader) if raw.strip() else None
    except yaml.YAMLError:
        return raw


def dump_yaml(data: Any) -> str:
    """Plain values as YAML that ``read_yaml`` reads back to the same values."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _forget_lines_below(lines: dict[Path, int], path: Path) -> None:
    for p in [p for p in lines if len(p) > len(path) and p[: len(path)] == path]:
        lines[p] = -1


class _Node:
    """A value in the scenario tree with its path: typed getters raise located ScenarioErrors."""

    def __init__(self, value: Any, path: Path, ctx: _Context) -> None:
        self.value = value
        self.path = path
        self.ctx = ctx

    # -- errors --------------------------------------------------------------------------------
    def error(self, message: str) -> ScenarioError:
        return self.ctx.error(self.path, message)

    def _show(self) -> str:
        return brief(self.value)

    # -- structure -----------------------------------------------------------------------------
    def mapping(self, required: Iterable[str] = (), optional: Iterable[str] = ()) -> _Node:
        """Check that this is a mapping with the required keys and no others."""
        if not isinstance(self.value, dict):
            raise self.error(f"expected a mapping, got {kind_of(self.value)}")
        required, optional = tuple(required), tuple(optional)
        allowed = required + optional
        for key in self.value:
            if key not in allowed:
                raise self.ctx.error(
                    (*self.path, key), f"unknown key{did_you_mean(key, allowed)}"
                )
        for key in required:
            if key not in self.value:
                raise self.ctx.error((*self.path, key), "missing (a required key)")
        return self

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and self.value.get(key) is not None

    def __getitem__(self, key: Any) -> _Node:
        return _Node(self.value[key], (*self.path, key), self.ctx)

    def get(self, key: str) -> _Node | None:
        return self[key] if self.has(key) else None

    def items(self) -> list[tuple[str, _Node]]:
        if not isinstance(self.value, dict):
            raise self.error(f"expected a mapping, got {kind_of(self.value)}")
        for key in self.value:
            if not isinstance(key, str):
                raise self.ctx.error((*self.path, key), "names must be text")
        return [(k, self[k]) for k in self.value]

    def list(self, *, nonempty: bool = False) -> list[_Node]:
        if not isinstance(self.value, list):
            raise self.error(f"expected a list, got {kind_of(self.value)}")
        if nonempty and not self.value:
            raise self.error("must not be empty")
        return [self[i] for i in range(len(self.value))]

    # -- scalars -------------------------------------------------------------------------------
    def text(self) -> str:
        if not isinstance(self.value, str) or not self.value.strip():
            raise self.error(f"expected a non-empty text, got {self._show()}")
        return self.value

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.error(f"expected true or false, got {self._show()}")
        return self.value

    def number(
        self,
        *,
        gt: float | None = None,
        ge: float | None = None,
        le: float | None = None,
        lt: float | None = None,
        integer: bool = False,
    ) -> float:
        v = self.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.error(f"expected a number, got {self._show()}")
        if isinstance(v, int) and abs(v) > MAX_FLOAT:
            raise self.error(f"expected a finite number, got {self._show()}")
        if not math.isfinite(v):
            raise self.error(f"expected a finite number, got {v}")
        if integer and v != int(v):
            raise self.error(f"expected a whole number, got {v}")
        for bound, ok, word in (
            (gt, lambda b: v > b, ">"), (ge, lambda b: v >= b, ">="),
            (lt, lambda b: v < b, "<"), (le, lambda b: v <= b, "<="),
        ):
            if bound is not None and not ok(bound):
                raise self.error(f"must be {word} {bound:g} (got {v:g})")
        return int(v) if integer else float(v)

    def day(self, *, ge: int | None = 0) -> int:
        """A scenario day: a whole number of days from the start, or a calendar date."""
        v = self.value
        if isinstance(v, dt.datetime):
            v = v.date()
        if isinstance(v, str) and iso_date(v) is not None:  # "2024-11-20", as JSON writes it
            v = iso_date(v)
        if isinstance(v, dt.date):
            days = (v - self.ctx.start).days
            if ge is not None and days < ge:
                raise self.error(
                    f"date {v} is before the scenario start {self.ctx.start} "
                    f"(expected a date on or after it)"
                )
            return days
        return int(self.number(ge=ge, integer=True))

    def dist(self, *, ge: float | None = None, gt: float | None = None) -> D.Distribution:
        """A plain number or ``{dist: NAME, ...}``; every draw must satisfy the bounds."""
        v = self.value
        if not isinstance(v, dict):
            value = self.number(ge=ge, gt=gt)
            return D.Fixed(value=value)
        if "dist" not in v:
            raise self.ctx.error(
                (*self.path, "dist"), "missing (expected a number or {dist: NAME, ...})"
            )
        name = self["dist"]
        if not isinstance(name.value, str) or name.value not in D.SPECS:
            raise name.error(
                f"unknown distribution {name.value!r}{did_you_mean(name.value, D.SPECS)} "
                f"(expected one of {', '.join(D.SPECS)})"
            )
        required, optional = D.SPECS[name.value]
        self.mapping(("dist", *required), optional)
        params: dict[str, Any] = {}
        for key in (*required, *optional):
            if key in v:
                if key == "samples":
                    params[key] = [x.number() for x in self[key].list(nonempty=True)]
                else:
                    params[key] = self[key].number()
        try:
            d = D.build(name.value, params)
            finite = math.isfinite(d.mean) and math.isfinite(d.variance)
        except ValueError as e:
            raise self.error(f"bad {name.value} parameters: {e}") from None
        except OverflowError:
            finite = False
        if not finite:
            raise self.error(
                f"bad {name.value} parameters: too large (its mean or variance overflows)"
            )
        lowest = d.minimum
        if ge is not None and lowest < ge:
            raise self.error(f"draws can fall below {ge:g} ({d!r} reaches {lowest:g})")
        # Continuous draws fall exactly on their lower bound with probability zero.
        atom = isinstance(d, (D.Fixed, D.Empirical)) or d.variance == 0 or (
            isinstance(d, D.ZeroInflated) and d.p_move < 1)  # an atom at 0
        if gt is not None and (lowest < gt or (lowest == gt and atom)):
            raise self.error(f"draws must be > {gt:g} ({d!r} reaches {lowest:g})")
        return d


class _Context:
    """Where the values of one input came from: lines in ``file``, or (line -1) the command
    line, labelled by ``origins`` (the longest key path prefix that names one) or ``--set``."""

    def __init__(
        self, lines: dict[Path, int], file: str, origins: dict[Path, str] | None = None
    ) -> None:
        self.lines = lines
        self.file = file
        self.origins = origins or {}
        self.start = dt.date(1970, 1, 1)

    def error(self, path: Path, message: str, *, shown: Path | None = None) -> ScenarioError:
        """An error at ``path``'s line (or its nearest parent's), naming the key path ``shown``
        (default ``path``)."""
        key = dotted(path if shown is None else shown)
        line = None
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                line = self.lines[path[:n]]
                break
        if line == -1:
            origin = next((self.origins[path[:n]] for n in range(len(path), -1, -1)
                           if path[:n] in self.origins), "--set")
            return ScenarioError(message, file=f"{self.file} ({origin})", key=key)
        return ScenarioError(message, file=self.file, line=line, key=key)


# Other YAML inputs (sweep specs) are checked with the same typed getters and located messages.
Node = _Node
Context = _Context


SCENARIO_KEYS = (
    "name", "description", "start", "horizon_days", "replications", "seed",
    "checkpoints_days", "percentiles", "sectors", "reserves",
)
SECTOR_KEYS = (
    "kind", "objective", "forces", "advance", "attrition", "milestones", "lines",
    "reinforcements", "strikes", "modifiers", "length_km", "area_km2", "front", "observed",
)


def build_scenario(data: Any, lines: dict[Path, int], file: str) -> Scenario:
    """Check a scenario's meaning and build the frozen Scenario."""
    ctx = _Context(lines, file)
    root = _Node(data, (), ctx).mapping(
        ("name", "start", "horizon_days", "sectors"), SCENARIO_KEYS
    )
    start = root["start"].value
    if isinstance(start, dt.datetime):
        start = start.date()
    if isinstance(start, str) and iso_date(start) is not None:  # "2024-11-20"
        start = iso_date(start)
    if not isinstance(start, dt.date):
        raise root["start"].error(f"expected a date as YYYY-MM-DD, got {root['start']._show()}")
    ctx.start = start
    horizon = int(root["horizon_days"].number(ge=1, le=MAX_HORIZON_DAYS, integer=True))
    if horizon > (dt.date.max - start).days:
        raise root["horizon_days"].error(
            f"runs past {dt.date.max}, the last date the calendar holds (start {start})"
        )

    sectors_node = root["sectors"]
    if not isinstance(sectors_node.value, dict) or not sectors_node.value:
        raise sectors_node.error("expected a mapping of sector names to sectors, with at least one")
    sectors = tuple(_sector(name, node, horizon) for name, node in sectors_node.items())

    reserves: tuple[Reserve, ...] = ()
    if root.has("reserves"):
        names = [s.name for s in sectors]
        reserves = tuple(_reserve(n, node, names) for n, node in root["reserves"].items())

    checkpoints = default_checkpoints(horizon)
    if root.has("checkpoints_days"):
        checkpoints = tuple(
            int(n.number(ge=1, le=horizon, integer=True))
            for n in root["checkpoints_days"].list(nonempty=True)
        )
        if list(checkpoints) != sorted(set(checkpoints)):
            raise root["checkpoints_days"].error("must be increasing, without repeats")
    percentiles: tuple[float, ...] = (5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0)
    if root.has("percentiles"):
        percentiles = tuple(
            n.number(gt=0, lt=100) for n in root["percentiles"].list(nonempty=True)
        )
        if list(percentiles) != sorted(set(percentiles)):
            raise root["percentiles"].error("must be increasing, without repeats")

    name = _named(root)
    if not name.isprintable():
        raise root["name"].error(
            f"contains a control character ({printable(name, 40)}; expected a name on one line)"
        )
    return Scenario(
        name=name,
        description=root["description"].text() if root.has("description") else "",
        start=start,
        horizon_days=horizon,
        replications=int(root["replications"].number(ge=1, le=1e9, integer=True))
        if root.has("replications") else 10_000,
        seed=int(root["seed"].number(ge=0, lt=2**63, integer=True)) if root.has("seed") else 1,
        checkpoints_days=checkpoints,
        percentiles=percentiles,
        sectors=sectors,
        reserves=reserves,
    )


def _sector(name: str, node: _Node, horizon: int) -> Sector:
    # Shown under "sectors", at the name's line: the name itself is what breaks the key path.
    _check_name(node, name, "sector", shown=node.path[:-1])
    node.mapping(("kind", "objective", "forces", "advance"), SECTOR_KEYS)
    kind = node["kind"].value
    if kind not in tuple(SECTOR_TYPES):  # a tuple: the value may be unhashable
        raise node["kind"].error(f"unknown sector kind {kind!r} (expected axis or area)")

    geometry: dict[str, Any] = {}
    obj = node["objective"]
    if kind == "axis":
        if not node.has("length_km"):
            raise node.ctx.error((*node.path, "length_km"), "missing (an axis needs its length)")
        for bad in ("area_km2", "front"):
            if node.has(bad):
                raise node[bad].error("belongs to area sectors (this sector is an axis)")
        geometry["length_km"] = length = node["length_km"].number(gt=0)
        obj.mapping(("name",), ())
        objective = obj["name"].text()

        def position(n: _Node) -> float:
            n.mapping(("name", "at_km"), ("breach_days",))
            return n["at_km"].number(gt=0, lt=length)
        coordinate = "at_km"
    else:
        if not node.has("area_km2"):
            raise node.ctx.error(
                (*node.path, "area_km2"), "missing (an area sector needs the area held at start)"
            )
        if not node.has("front"):
            raise node.ctx.error(
                (*node.path, "front"), "missing (an area sector needs its front length)"
            )
        if node.has("length_km"):
            raise node["length_km"].error("belongs to axis sectors (this sector is an area)")
        geometry["area_km2"] = area = node["area_km2"].number(gt=0)
        obj.mapping(("name", "held_km2"), ())
        objective = obj["name"].text()
        geometry["objective_km2"] = residue = obj["held_km2"].number(ge=0, lt=area)
        front = node["front"].mapping(("length_km",), ("scales_with_area",))
        geometry["front_km"] = front["length_km"].number(gt=0)
        geometry["front_scales"] = scales = (
            front["scales_with_area"].boolean() if front.has("scales_with_area") else True
        )

        def below_area(n: _Node, held: float) -> float:
            # A front ∝ √A works in √A: an area within rounding of the start would be reached
            # before the attacker moves.
            if scales and math.sqrt(held) >= math.sqrt(area):
                raise n.error(f"too close to area_km2 ({area:g}) to tell apart (got {held!r})")
            return held

        below_area(obj["held_km2"], residue)

        def position(n: _Node) -> float:
            n.mapping(("name", "held_km2"), ("breach_days",))
            return below_area(n["held_km2"], n["held_km2"].number(gt=residue, lt=area))
        coordinate = "held_km2"

    milestones: list[Milestone] = []
    if node.has("milestones"):
        for m in node["milestones"].list():
            if m.has("breach_days"):
                raise m["breach_days"].error("milestones have no breach delay (lines do)")
            at = position(m)
            label = _named(m)
            _check_name(m["name"], label, "milestone")
            same = [x.name for x in milestones if slug(x.name) == slug(label)]
            if same:
                raise m["name"].error(
                    f"{label!r} would share its outcomes column with milestone {same[0]!r} "
                    "(expected distinct names)"
                )
            milestones.append(Milestone(name=label, at=at))
    lines = []
    if node.has("lines"):
        for ln in node["lines"].list():
            at = position(ln)
            if not ln.has("breach_days"):
                raise ln.ctx.error(
                    (*ln.path, "breach_days"), "missing (how long the line holds)"
                )
            lines.append(DefensiveLine(
                name=_check_name(ln["name"], _named(ln), "line"), at=at,
                breach_days=ln["breach_days"].dist(ge=0),
            ))
        ats = [ln.at for ln in lines]
        order = sorted(ats) if kind == "axis" else sorted(ats, reverse=True)
        if ats != order or len(set(ats)) != len(ats):
            raise node["lines"].error(
                f"lines must be listed in the order the attacker meets them, by {coordinate}"
            )

    forces = node["forces"].mapping(SIDES, ())
    sides = {side: _side(forces[side]) for side in SIDES}

    return SECTOR_TYPES[kind](
        name=name,
        objective=objective,
        attacker=sides["attacker"],
        defender=sides["defender"],
        advance=_advance(node["advance"]),
        attrition=_attrition(node["attrition"]) if node.has("attrition") else Attrition(),
        milestones=tuple(milestones),
        lines=tuple(lines),
        reinforcements=tuple(_reinforcement(r) for r in node["reinforcements"].list())
        if node.has("reinforcements") else (),
        strikes=tuple(_strikes(s, horizon) for s in node["strikes"].list())
        if node.has("strikes") else (),
        modifiers=tuple(_modifier(m, horizon) for m in node["modifiers"].list())
        if node.has("modifiers") else (),
        observed=_observed(node["observed"], SECTOR_TYPES[kind].observed_key)
        if node.has("observed") else None,
        **geometry,
    )


def _observed(n: _Node, key: str) -> Observed:
    """A sector's traced history: its ``source`` and its ``points``, ``{date, KEY}`` each
    (``distance_km`` from the objective along an axis, ``held_km2`` in an area), oldest first;
    points after the start (a start moved back, ``--set start=...``) are what came after it."""
    n.mapping(("source", "points"), ())
    source = n["source"].text()
    if not source.isprintable():
        raise n["source"].error(f"contains a control character ({printable(source, 40)}; "
                                "expected one line)")
    dates: list[dt.date] = []
    values: list[float] = []
    for p in n["points"].list(nonempty=True):
        p.mapping(("date", key), ())
        d = p["date"].value
        if isinstance(d, dt.datetime):
            d = d.date()
        if isinstance(d, str) and iso_date(d) is not None:
            d = iso_date(d)
        if not isinstance(d, dt.date):
            raise p["date"].error(f"expected a date as YYYY-MM-DD, got {p['date']._show()}")
        if dates and d <= dates[-1]:
            raise p["date"].error(f"date {d} is not after the point before it ({dates[-1]}); "
                                  "expected points oldest first, one a date")
        dates.append(d)
        values.append(p[key].number(ge=0))
    return Observed(source=source, dates=tuple(dates), values=tuple(values))


def _check_name(n: _Node, name: str, what: str, *, shown: Path | None = None) -> str:
    """``name``, if it can be one key of a key path; else a located error."""
    problem = name_problem(name)
    if problem:
        raise n.ctx.error(n.path, (
            f"{what} name {name!r} {problem} (expected a name with no dot and no space at "
            "either end: key paths and output columns join names with dots)"
        ), shown=shown)
    return name


def _named(n: _Node) -> str:
    """A ``name``: text, or a number read as text (YAML reads ``name: 2025`` as a number)."""
    v = n["name"].value
    is_number = isinstance(v, (int, float)) and not isinstance(v, bool)
    return str(v) if is_number else n["name"].text()


def _side(n: _Node) -> Side:
    n.mapping(("troops",), ("quality", "breakpoint_fraction"))
    return Side(
        troops=n["troops"].number(ge=0, le=MAX_TROOPS),
        quality=n["quality"].number(gt=0, le=100) if n.has("quality") else 1.0,
        breakpoint_fraction=n["breakpoint_fraction"].number(ge=0, lt=1)
        if n.has("breakpoint_fraction") else 0.0,
    )


def _advance(n: _Node) -> Advance:
    n.mapping(("base_m_per_day",), ("noise", "regimes", "force", "season"))
    noise = None
    if n.has("noise"):
        noise = n["noise"].dist(ge=0)
        if abs(noise.mean - 1.0) > 1e-9:
            raise n["noise"].error(
                f"daily noise must have mean 1 (got mean {noise.mean:.6g}; "
                "e.g. {dist: lognormal, mean: 1, cv: 0.5})"
            )
    force = None
    if n.has("force"):
        f = n["force"].mapping(
            ("reference_ratio", "elasticity"), ("culmination_ratio", "max_factor")
        )
        force = ForceTerm(
            reference_ratio=f["reference_ratio"].number(gt=0),
            elasticity=f["elasticity"].number(ge=0, le=10),
            culmination_ratio=f["culmination_ratio"].number(ge=0)
            if f.has("culmination_ratio") else 0.0,
            max_factor=f["max_factor"].number(gt=0) if f.has("max_factor") else 5.0,
        )
    season = [1.0] * 12
    if n.has("season"):
        months = n["season"]
        if not isinstance(months.value, dict):
            raise months.error(
                f"expected a mapping of months to multipliers, got {kind_of(months.value)}"
            )
        for key in months.value:
            m = months[key]
            month = _month(key)
            if month is None:
                raise m.error(f"unknown month {key!r} (expected 1-12 or jan, feb, ...)")
            season[month] = m.number(ge=0)
    return Advance(
        base_m_per_day=n["base_m_per_day"].dist(),
        noise=noise,
        regimes=_regimes(n["regimes"]) if n.has("regimes") else None,
        force=force,
        season=tuple(season),
    )


def _month(key: Any) -> int | None:
    if isinstance(key, int) and not isinstance(key, bool) and 1 <= key <= 12:
        return key - 1
    if isinstance(key, str) and key[:3].lower() in MONTHS:
        return MONTHS.index(key[:3].lower())
    return None


def _regimes(n: _Node) -> Regimes:
    n.mapping(("states",), ("initial", "elapsed_days"))
    states_node = n["states"]
    items = states_node.items()
    if not items:
        raise states_node.error("must name at least one regime")
    names = [k for k, _ in items]
    states = []
    for name, s in items:
        s.mapping(("factor", "sojourn_days"), ("next",))
        others = [x for x in names if x != name]
        if s.has("next"):
            probs = []
            for target, p in s["next"].items():
                if target not in names:
                    raise p.error(f"unknown regime{did_you_mean(target, names)}")
                probs.append((target, p.number(ge=0, le=1)))
            total = sum(p for _, p in probs)
            if abs(total - 1) > 1e-6:
                raise s["next"].error(f"probabilities must sum to 1 (got {total:g})")
            nxt = tuple(probs)
        else:
            nxt = tuple((o, 1 / len(others)) for o in others) if others else ((name, 1.0),)
        states.append(Regime(
            name=name,
            factor=s["factor"].number(ge=-100, le=100),
            sojourn_days=s["sojourn_days"].dist(gt=0),
            next=nxt,
        ))
    initial = names[0]
    if n.has("initial"):
        initial = n["initial"].text()
        if initial not in names:
            raise n["initial"].error(f"unknown regime{did_you_mean(initial, names)}")
    elapsed = 0.0
    if n.has("elapsed_days"):
        elapsed = n["elapsed_days"].number(ge=0, le=MAX_HORIZON_DAYS * 10)
        first = states[names.index(initial)].sojourn_days
        if elapsed and not first.has_residual:
            raise n["elapsed_days"].error(
                f"the initial regime's sojourn_days ({type(first).__name__.lower()}) has no "
                "residual law; elapsed_days needs fixed, gamma or lognormal sojourns")
    return Regimes(initial=initial, states=tuple(states), elapsed_days=elapsed)


def _attrition(n: _Node) -> Attrition:
    n.mapping(("model",), ("attacker", "defender"))
    model = n["model"].value
    if model not in ATTRITION_MODELS:
        raise n["model"].error(
            f"unknown attrition model {model!r}{did_you_mean(model, ATTRITION_MODELS)} "
            f"(expected one of {', '.join(ATTRITION_MODELS)})"
        )
    if model == "none":
        n.mapping(("model",), ())
        return Attrition()
    n.mapping(("model", "attacker", "defender"), ())
    if model == "daily_fraction":
        def coef(s: str) -> D.Distribution:
            d = n[s].dist(ge=0)
            if d.mean >= 1 or (isinstance(d, D.Fixed) and d.value >= 1):
                raise n[s].error("a daily fraction must be below 1")
            return d
    else:
        def coef(s: str) -> D.Distribution:
            return n[s].dist(ge=0)
    return Attrition(model=model, attacker=coef("attacker"), defender=coef("defender"))


def _reinforcement(n: _Node) -> Reinforcement:
    n.mapping(("side", "troops"), ("day", "date", "readiness_days", "name"))
    if n.has("day") == n.has("date"):
        raise n.error("give exactly one of 'day' or 'date' (when the troops arrive)")
    side = n["side"].value
    if side not in SIDES:
        raise n["side"].error(f"unknown side {side!r} (expected attacker or defender)")
    return Reinforcement(
        side=side,
        day=(n["day"] if n.has("day") else n["date"]).day(),
        troops=n["troops"].number(ge=0, le=MAX_TROOPS),
        readiness_days=n["readiness_days"].dist(ge=0) if n.has("readiness_days") else None,
    )


def _window(n: _Node, horizon: int) -> tuple[int, int]:
    """Start and end days of a window given as dates or days; the end is optional, and a window
    already under way at the scenario's start begins at day 0."""
    start = n["start"].day(ge=None) if n.has("start") else 0
    end = n["end"].day(ge=None) if n.has("end") else max(OPEN_END, start + 1)
    if end <= start:
        raise n["end"].error(f"must come after the start (day {end} is not after day {start})")
    if end <= 0:
        raise n["end"].error("the window ends before the scenario starts")
    return max(start, 0), end


def _strikes(n: _Node, horizon: int) -> Strikes:
    n.mapping(("rate_per_day", "factor", "duration_days"), ("start", "end", "name"))
    start, end = _window(n, horizon)
    factor = n["factor"].dist(ge=0)
    if factor.mean > 1:
        raise n["factor"].error(f"a strike cuts supply: factor must be <= 1 (mean {factor.mean:g})")
    return Strikes(
        start_day=start,
        end_day=end,
        rate_per_day=n["rate_per_day"].number(ge=0, le=100),
        factor=factor,
        duration_days=n["duration_days"].dist(ge=0),
    )


def _modifier(n: _Node, horizon: int) -> Modifier:
    n.mapping(("factor", "start"), ("end", "name"))
    start, end = _window(n, horizon)
    return Modifier(
        name=_named(n) if n.has("name") else "modifier",
        start_day=start,
        end_day=end,
        factor=n["factor"].number(ge=-10, le=100),
    )


def _reserve(name: str, n: _Node, sector_names: list[str]) -> Reserve:
    n.mapping(("side", "troops", "release", "transit_days"), ("sectors",))
    side = n["side"].value
    if side not in SIDES:
        raise n["side"].error(f"unknown side {side!r} (expected attacker or defender)")
    sectors = tuple(sector_names)
    if n.has("sectors"):
        listed = []
        for s in n["sectors"].list(nonempty=True):
            if s.value not in sector_names:
                raise s.error(f"unknown sector{did_you_mean(s.value, sector_names)}")
            listed.append(s.value)
        sectors = tuple(listed)
    r = n["release"].mapping(("below_ratio", "batch_troops"), ("every_days",))
    return Reserve(
        name=name,
        side=side,
        troops=n["troops"].number(ge=0, le=MAX_TROOPS),
        sectors=sectors,
        release=ReleaseRule(
            below_ratio=r["below_ratio"].number(gt=0),
            batch_troops=r["batch_troops"].number(gt=0, le=MAX_TROOPS),
            every_days=int(r["every_days"].number(ge=1, integer=True))
            if r.has("every_days") else 1,
        ),
        transit_days=n["transit_days"].dist(ge=0),
    )

