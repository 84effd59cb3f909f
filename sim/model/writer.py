"""The loader's inverse: scenarios, sectors and advance blocks as commented YAML.

``load(dump(x)) == x``: every value goes through the YAML library, which quotes what a reader
would otherwise take for something else (``Yes``, ``*ref``, ``Site #3``, ``2e-8``); comments
(sources, provenance) are placed by key path, never written into the values.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from . import distributions as D
from .keypath import KeyPath, printable
from .provenance import Provenance
from .scenario import (
    DEFAULT_PERCENTILES,
    OPEN_END,
    Advance,
    AreaSector,
    Attrition,
    AxisSector,
    Observed,
    Reserve,
    Scenario,
    Sector,
    Side,
)

Dumpable = Scenario | Sector | Advance
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


class _Flow(dict):
    """A mapping written on one line: ``{dist: gamma, mean: 1, sd: 0.5}``."""


class _FlowList(list):
    """A list written on one line: ``[30, 90, 180]``."""


class _Block(dict):
    """A mapping written one key a line, whatever it holds."""


class _Dumper(yaml.SafeDumper):
    """Safe YAML that resolves text as the loader does (YAML 1.2's ``2e-8`` is a number), so
    such text is quoted."""

    def ignore_aliases(self, data: Any) -> bool:
        # a date is written as itself, never as an anchor and aliases: the start and a
        # traced point of the same day are often one object
        return isinstance(data, dt.date) or super().ignore_aliases(data)


def _resolvers() -> None:
    from .loader import YAML12_FLOAT

    _Dumper.add_implicit_resolver("tag:yaml.org,2002:float", YAML12_FLOAT,
                                  list("-+0123456789"))
    _Dumper.add_representer(_Flow, lambda d, v: d.represent_mapping(
        "tag:yaml.org,2002:map", v.items(), flow_style=True))
    _Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence(
        "tag:yaml.org,2002:seq", v, flow_style=True))
    _Dumper.add_representer(_Block, lambda d, v: d.represent_mapping(
        "tag:yaml.org,2002:map", v.items(), flow_style=False))


_resolvers()


# -- plain values ------------------------------------------------------------------------------


def number(x: float) -> int | float:
    """A number as a person writes it: 59000, not 59000.0 (the loader reads both the same)."""
    x = float(x)
    return int(x) if math.isfinite(x) and x.is_integer() and abs(x) < 1e15 else x


def dist_data(d: D.Distribution) -> int | float | dict:
    """A distribution as the loader reads it: a plain number when fixed."""
    if isinstance(d, D.Fixed):
        return number(d.value)
    if isinstance(d, D.LogNormal):
        return _Flow(dist="lognormal", **_lognormal(d))
    if isinstance(d, D.Empirical):
        return _Flow(dist="empirical", samples=_FlowList(number(x) for x in d.samples))
    name = next(n for n, cls in _CLASSES.items() if type(d) is cls)
    required, _ = D.SPECS[name]
    out = _Flow(dist=name)
    for key in required:
        out[key] = number(getattr(d, key))
    if isinstance(d, D.Pert) and d.shape != 4.0:
        out["shape"] = number(d.shape)
    return out


_CLASSES: dict[str, type] = {
    "uniform": D.Uniform, "triangular": D.Triangular, "pert": D.Pert, "normal": D.Normal,
    "gamma": D.Gamma, "zero_inflated_gamma": D.ZeroInflatedGamma,
    "zero_inflated_lognormal": D.ZeroInflatedLogNormal,
}


def _lognormal(d: D.LogNormal) -> dict[str, int | float]:
    """By mean and cv, in the fewest digits that give back exactly this distribution; by mu
    and sigma where none does."""
    try:
        mean = math.exp(d.mu + d.sigma**2 / 2)
        cv = math.sqrt(math.expm1(d.sigma**2))
    except OverflowError:
        return {"mu": number(d.mu), "sigma": number(d.sigma)}
    if math.isfinite(mean) and mean > 0 and math.isfinite(cv):
        means = [float(f"{mean:.{n}g}") for n in range(1, 18)]
        cvs = [float(f"{cv:.{n}g}") for n in range(1, 18)]
        for total in range(2, 35):
            for i in range(max(0, total - 18), min(17, total - 1)):
                m, c = means[i], cvs[total - 2 - i]
                try:
                    if m > 0 and D.LogNormal.from_mean_cv(m, c) == d:
                        return {"mean": number(m), "cv": number(c)}
                except (ValueError, OverflowError):
                    continue
    return {"mu": number(d.mu), "sigma": number(d.sigma)}


def advance_data(a: Advance) -> dict:
    """An ``advance:`` block as the loader reads it."""
    out: dict[str, Any] = {"base_m_per_day": dist_data(a.base_m_per_day)}
    if a.noise is not None:
        out["noise"] = dist_data(a.noise)
    if a.regimes is not None:
        regimes: dict[str, Any] = {"initial": a.regimes.initial}
        if a.regimes.elapsed_days:
            regimes["elapsed_days"] = number(a.regimes.elapsed_days)
        regimes["states"] = {
            r.name: {"factor": number(r.factor), "sojourn_days": dist_data(r.sojourn_days),
                     "next": _Flow((k, number(p)) for k, p in r.next)}
            for r in a.regimes.states}
        out["regimes"] = regimes
    if a.force is not None:
        f = a.force
        force = _Block(reference_ratio=number(f.reference_ratio), elasticity=number(f.elasticity))
        if f.culmination_ratio != 0.0:
            force["culmination_ratio"] = number(f.culmination_ratio)
        if f.max_factor != 5.0:
            force["max_factor"] = number(f.max_factor)
        out["force"] = force
    season = _Flow((MONTHS[i], number(x)) for i, x in enumerate(a.season) if x != 1.0)
    if season:
        out["season"] = season
    return out


def _side(s: Side) -> dict:
    out = _Flow(troops=number(s.troops))
    if s.quality != 1.0:
        out["quality"] = number(s.quality)
    if s.breakpoint_fraction != 0.0:
        out["breakpoint_fraction"] = number(s.breakpoint_fraction)
    return out


def _attrition(a: Attrition) -> dict:
    out: dict[str, Any] = {"model": a.model}
    for side in ("attacker", "defender"):
        d = getattr(a, side)
        if d is not None:
            out[side] = dist_data(d)
    return out


def _when(day: int, start: dt.date | None) -> int | dt.date:
    """A scenario day as a date where the start is known (and the date exists), else days."""
    if start is not None and 0 <= day <= (dt.date.max - start).days:
        return start + dt.timedelta(days=day)
    return day


def sector_data(s: Sector, start: dt.date | None = None) -> dict:
    """A sector's body (under its name) as the loader reads it; with ``start``, the days of its
    events are written as dates."""
    if isinstance(s, AxisSector) and s.start_km:
        raise ValueError(f"sector {s.name!r} was restarted at {s.start_km:g} km: a scenario file "
                         "cannot say so (write the sector it was restarted from)")
    out: dict[str, Any] = {"kind": s.kind}
    at = s.at_key
    if isinstance(s, AxisSector):
        out["length_km"] = number(s.length_km)
        out["objective"] = _Block(name=s.objective)
    elif isinstance(s, AreaSector):
        out["area_km2"] = number(s.area_km2)
        out["objective"] = _Block(name=s.objective, held_km2=number(s.objective_km2))
        front = _Flow(length_km=number(s.front_km))
        if not s.front_scales:
            front["scales_with_area"] = False
        out["front"] = front
    else:
        raise TypeError(f"not a sector kind the loader reads: {type(s).__name__}")
    if s.milestones:
        out["milestones"] = [_Flow(name=m.name, **{at: number(m.at)}) for m in s.milestones]
    if s.lines:
        out["lines"] = [{"name": ln.name, at: number(ln.at),
                         "breach_days": dist_data(ln.breach_days)} for ln in s.lines]
    out["forces"] = {"attacker": _side(s.attacker), "defender": _side(s.defender)}
    if s.attrition.model != "none":
        out["attrition"] = _attrition(s.attrition)
    out["advance"] = advance_data(s.advance)
    if s.reinforcements:
        out["reinforcements"] = []
        for r in s.reinforcements:
            when = _when(r.day, start)
            item = _Block(side=r.side, **{"date" if isinstance(when, dt.date) else "day": when},
                          troops=number(r.troops))
            if r.readiness_days is not None:
                item["readiness_days"] = dist_data(r.readiness_days)
            out["reinforcements"].append(item)
    if s.strikes:
        out["strikes"] = []
        for k in s.strikes:
            item = _Block(start=_when(k.start_day, start))
            if k.end_day != OPEN_END:
                item["end"] = _when(k.end_day, start)
            item.update(rate_per_day=number(k.rate_per_day), factor=dist_data(k.factor),
                        duration_days=dist_data(k.duration_days))
            out["strikes"].append(item)
    if s.modifiers:
        out["modifiers"] = []
        for m in s.modifiers:
            item = _Block(name=m.name, start=_when(m.start_day, start))
            if m.end_day != OPEN_END:
                item["end"] = _when(m.end_day, start)
            item["factor"] = number(m.factor)
            out["modifiers"].append(item)
    if s.observed is not None:
        out["observed"] = observed_data(s.observed, s.observed_key)
    return out


def observed_data(o: Observed, key: str) -> dict:
    """An ``observed:`` block as the loader reads it: its source, then a point a line."""
    return _Block(source=o.source, points=[_Flow(date=d, **{key: number(v)})
                                           for d, v in zip(o.dates, o.values)])


def _reserve(r: Reserve, sector_names: Sequence[str]) -> dict:
    out: dict[str, Any] = {"side": r.side, "troops": number(r.troops)}
    if tuple(r.sectors) != tuple(sector_names):
        out["sectors"] = _FlowList(r.sectors)
    release = _Flow(below_ratio=number(r.release.below_ratio),
                    batch_troops=number(r.release.batch_troops))
    if r.release.every_days != 1:
        release["every_days"] = r.release.every_days
    out["release"] = release
    out["transit_days"] = dist_data(r.transit_days)
    return out


def scenario_data(sc: Scenario) -> dict:
    """A scenario file's values, as the loader reads them."""
    out: dict[str, Any] = {"name": sc.name}
    if sc.description:
        out["description"] = sc.description
    out.update(start=sc.start, horizon_days=sc.horizon_days, replications=sc.replications,
               seed=sc.seed, checkpoints_days=_FlowList(sc.checkpoints_days))
    if tuple(sc.percentiles) != tuple(DEFAULT_PERCENTILES):
        out["percentiles"] = _FlowList(number(p) for p in sc.percentiles)
    out["sectors"] = {s.name: sector_data(s, sc.start) for s in sc.sectors}
    if sc.reserves:
        names = [s.name for s in sc.sectors]
        out["reserves"] = {r.name: _reserve(r, names) for r in sc.reserves}
    return out


def to_data(x: Dumpable, *, start: dt.date | None = None) -> dict:
    """Plain values (dicts, lists, numbers, text, dates) that the loader reads back to ``x``: a
    whole scenario; ``{name: body}`` for a sector; ``{"advance": block}`` for an advance."""
    if isinstance(x, Scenario):
        return scenario_data(x)
    if isinstance(x, Sector):
        return {x.name: sector_data(x, start)}
    if isinstance(x, Advance):
        return {"advance": advance_data(x)}
    raise TypeError(f"cannot write a {type(x).__name__} (a Scenario, Sector or Advance)")


# -- YAML ----------------------------------------------------------------------------------------


def dump(
    x: Dumpable,
    *,
    comments: Sequence[str] = (),
    provenance: Provenance | None = None,
    above: Mapping[KeyPath, str] | None = None,
    after: Mapping[KeyPath, str] | None = None,
    start: dt.date | None = None,
) -> str:
    """``x`` as YAML the loader reads back to ``x``: a scenario file, a sector to paste under
    ``sectors:`` or an ``advance:`` block to paste into a sector. ``comments`` (then the
    ``provenance``) head it; ``above`` and ``after`` put a comment above, or at the end of, the
    line of a key path (``("advance", "noise")``)."""
    head = [*comments, *(provenance_comments(provenance) if provenance else ())]
    return dump_data(to_data(x, start=start), comments=head, above=above, after=after)


def dump_data(
    data: Mapping[str, Any],
    *,
    comments: Sequence[str] = (),
    above: Mapping[KeyPath, str] | None = None,
    after: Mapping[KeyPath, str] | None = None,
    flow_leaves: bool = False,
) -> str:
    """Plain values as block YAML (``flow_leaves``: a list or mapping of plain values on one
    line), with comments as in :func:`dump`; the text reads back to ``data``."""
    from .loader import read_yaml

    text = yaml.dump(dict(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=None if flow_leaves else False, width=100)
    lines = text.rstrip("\n").split("\n")
    if above or after:
        _, at = read_yaml(text, "<written>")
        for path, note in (after or {}).items():
            i = at[tuple(path)] - 1
            lines[i] += "   " + " ".join(comment_lines(note)).replace(" # ", " ")
        for path, note in sorted((above or {}).items(), key=lambda kv: -at[tuple(kv[0])]):
            i = at[tuple(path)] - 1
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip(" -"))].replace("-", " ")
            lines[i:i] = [indent + c for c in comment_lines(note)]
    return "\n".join([*(c for n in comments for c in comment_lines(n)), *lines]) + "\n"


def comment_lines(text: str) -> list[str]:
    """``text`` as ``#`` lines: one per line of it, control characters shown escaped, so that
    nothing in it can end the comment."""
    return [("# " + printable(part)).rstrip() for part in (text.splitlines() or [""])]


def provenance_comments(p: Provenance) -> list[str]:
    """A provenance record in words, for the comments above a fitted block."""
    out = [f"fitted by {p.tool}: {p.method}"]
    if p.since or p.until:
        out.append(f"data: {p.since or 'the start'} to {p.until or 'the end'}")
    out += [f"input: {s.file}" + (f" (sha256 {s.sha256})" if s.sha256 else "")
            for s in p.inputs]
    out += [f"check {c.name}: {'passed' if c.passed else 'FAILED'}"
            + (f" ({c.detail})" if c.detail else "") for c in p.checks]
    return out
