"""Scenarios made in code: small functions that build the typed scenario without YAML text.

A number where a distribution goes is fixed at that number; sides are given as troops or as a
:class:`~sim.model.scenario.Side`; everything else is the scenario's own types. Nothing here is
checked as the loader checks a file: :func:`checked` sends a built scenario through the writer
and the loader when a test or a caller wants that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from . import distributions as D
from .scenario import (
    OPEN_END,
    Advance,
    AreaSector,
    Attrition,
    AxisSector,
    DefensiveLine,
    ForceTerm,
    Milestone,
    Modifier,
    Regime,
    Regimes,
    Reinforcement,
    Reserve,
    Scenario,
    Sector,
    Side,
    Strikes,
    default_checkpoints,
)

Dist = D.Distribution | float
Troops = Side | float


def dist(x: Dist) -> D.Distribution:
    """A distribution, or a number fixed at it."""
    return x if isinstance(x, D.Distribution) else D.Fixed(value=float(x))


def _opt(x: Dist | None) -> D.Distribution | None:
    return None if x is None else dist(x)


def regime(name: str, factor: float, sojourn_days: Dist,
           next: Mapping[str, float] | None = None) -> Regime:
    """A regime; ``next`` (regime name: probability) is filled in by :func:`regimes` when
    left out: every other regime equally likely, as the loader does."""
    return Regime(name=name, factor=float(factor), sojourn_days=dist(sojourn_days),
                  next=tuple((k, float(p)) for k, p in (next or {}).items()))


def regimes(*states: Regime, initial: str | None = None, elapsed_days: float = 0.0) -> Regimes:
    """A chain of regimes, starting in ``initial`` (default: the first), which has already
    lasted ``elapsed_days`` at the start."""
    names = [s.name for s in states]
    filled = []
    for s in states:
        if not s.next:
            others = [n for n in names if n != s.name]
            nxt = tuple((o, 1 / len(others)) for o in others) if others else ((s.name, 1.0),)
            s = Regime(name=s.name, factor=s.factor, sojourn_days=s.sojourn_days, next=nxt)
        filled.append(s)
    return Regimes(initial=initial or names[0], states=tuple(filled),
                   elapsed_days=float(elapsed_days))


def advance(base_m_per_day: Dist, *, noise: Dist | None = None, regimes: Regimes | None = None,
            force: ForceTerm | None = None,
            season: Mapping[int, float] | Sequence[float] | None = None) -> Advance:
    """An advance block; ``season`` by month number (1-12) or as twelve multipliers."""
    months = [1.0] * 12
    if isinstance(season, Mapping):
        for m, x in season.items():
            months[m - 1] = float(x)
    elif season is not None:
        months = [float(x) for x in season]
    return Advance(base_m_per_day=dist(base_m_per_day), noise=_opt(noise), regimes=regimes,
                   force=force, season=tuple(months))


def side(troops: Troops) -> Side:
    return troops if isinstance(troops, Side) else Side(troops=float(troops))


def attrition(model: str, attacker: Dist, defender: Dist) -> Attrition:
    return Attrition(model=model, attacker=dist(attacker), defender=dist(defender))


def line(name: str, at: float, breach_days: Dist) -> DefensiveLine:
    return DefensiveLine(name=name, at=float(at), breach_days=dist(breach_days))


def reinforcement(side: str, day: int, troops: float,
                  readiness_days: Dist | None = None) -> Reinforcement:
    return Reinforcement(side=side, day=int(day), troops=float(troops),
                         readiness_days=_opt(readiness_days))


def strikes(rate_per_day: float, factor: Dist, duration_days: Dist, *, start_day: int = 0,
            end_day: int = OPEN_END) -> Strikes:
    return Strikes(start_day=int(start_day), end_day=int(end_day),
                   rate_per_day=float(rate_per_day), factor=dist(factor),
                   duration_days=dist(duration_days))


def modifier(factor: float, *, start_day: int = 0, end_day: int = OPEN_END,
             name: str = "modifier") -> Modifier:
    return Modifier(name=name, start_day=int(start_day), end_day=int(end_day),
                    factor=float(factor))


def _common(advance_: Advance | Dist, attacker: Troops, defender: Troops,
            milestones: Mapping[str, float], lines: Iterable[DefensiveLine], **events) -> dict:
    return dict(
        advance=advance_ if isinstance(advance_, Advance) else advance(advance_),
        attacker=side(attacker), defender=side(defender),
        milestones=tuple(Milestone(name=k, at=float(v)) for k, v in milestones.items()),
        lines=tuple(lines), **{k: tuple(v) for k, v in events.items()},
    )


def axis(name: str, *, length_km: float, advance: Advance | Dist, objective: str = "objective",
         attacker: Troops = 1000, defender: Troops = 1000,
         attrition: Attrition | None = None, milestones: Mapping[str, float] | None = None,
         lines: Iterable[DefensiveLine] = (), reinforcements: Iterable[Reinforcement] = (),
         strikes: Iterable[Strikes] = (), modifiers: Iterable[Modifier] = ()) -> AxisSector:
    """An axis sector of ``length_km``; ``advance`` a block or a fixed rate in m/day;
    ``milestones`` name: km from the start."""
    return AxisSector(name=name, objective=objective, length_km=float(length_km),
                      attrition=attrition or Attrition(),
                      **_common(advance, attacker, defender, milestones or {}, lines,
                                reinforcements=reinforcements, strikes=strikes,
                                modifiers=modifiers))


def area(name: str, *, area_km2: float, front_km: float, advance: Advance | Dist,
         objective_km2: float = 0.0, front_scales: bool = True, objective: str = "objective",
         attacker: Troops = 1000, defender: Troops = 1000,
         attrition: Attrition | None = None, milestones: Mapping[str, float] | None = None,
         lines: Iterable[DefensiveLine] = (), reinforcements: Iterable[Reinforcement] = (),
         strikes: Iterable[Strikes] = (), modifiers: Iterable[Modifier] = ()) -> AreaSector:
    """An area sector of ``area_km2`` held, taken along ``front_km``; ``milestones`` name: km²
    still held."""
    return AreaSector(name=name, objective=objective, area_km2=float(area_km2),
                      objective_km2=float(objective_km2), front_km=float(front_km),
                      front_scales=front_scales, attrition=attrition or Attrition(),
                      **_common(advance, attacker, defender, milestones or {}, lines,
                                reinforcements=reinforcements, strikes=strikes,
                                modifiers=modifiers))


def scenario(*sectors: Sector, name: str = "scenario", start: dt.date | str = "2024-11-20",
             horizon_days: int = 365, checkpoints_days: Sequence[int] | None = None,
             percentiles: Sequence[float] | None = None, replications: int = 10_000,
             seed: int = 1, reserves: Iterable[Reserve] = (), description: str = "") -> Scenario:
    """A scenario of ``sectors``; checkpoints as the loader sets them when none are given."""
    day0 = dt.date.fromisoformat(start) if isinstance(start, str) else start
    out = Scenario(name=name, description=description, start=day0,
                   horizon_days=int(horizon_days), sectors=tuple(sectors),
                   reserves=tuple(reserves), replications=int(replications), seed=int(seed),
                   checkpoints_days=tuple(checkpoints_days) if checkpoints_days
                   else default_checkpoints(int(horizon_days)))
    if percentiles is not None:
        out = replace(out, percentiles=tuple(float(p) for p in percentiles))
    return out


def checked(sc: Scenario) -> Scenario:
    """``sc`` as the loader checks a file: written, read back and validated (a ScenarioError
    names the key path of anything the loader refuses)."""
    from .loader import parse_scenario
    from .writer import dump

    return parse_scenario(dump(sc), file=f"<built scenario {sc.name!r}>")
