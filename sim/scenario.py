"""The validated scenario: frozen, keyword-only dataclasses the engine reads (no I/O here)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .distributions import Distribution


def slug(name: str) -> str:
    """A name as a column- and file-safe word."""
    s = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower()
    return s or "x"


ATTRITION_MODELS = ("none", "daily_fraction", "lanchester_square", "lanchester_linear")
SIDES = ("attacker", "defender")


@dataclass(frozen=True, kw_only=True)
class Milestone:
    """A named point along the sector: km from the start (axis) or held km² (area)."""

    name: str
    at: float


@dataclass(frozen=True, kw_only=True)
class DefensiveLine:
    """A prepared line: on reaching it the advance holds for ``breach_days``, drawn per
    replication."""

    name: str
    at: float
    breach_days: Distribution


@dataclass(frozen=True, kw_only=True)
class Regime:
    name: str
    factor: float
    sojourn_days: Distribution
    next: tuple[tuple[str, float], ...]  # (regime name, probability), summing to 1


@dataclass(frozen=True, kw_only=True)
class Regimes:
    """A Markov chain of advance regimes with random sojourn times."""

    initial: str
    states: tuple[Regime, ...]


@dataclass(frozen=True, kw_only=True)
class ForceTerm:
    """force(t) = (R/R_ref)^elasticity, zero below the culmination ratio, capped at max_factor."""

    reference_ratio: float
    elasticity: float
    culmination_ratio: float = 0.0
    max_factor: float = 5.0


@dataclass(frozen=True, kw_only=True)
class Advance:
    base_m_per_day: Distribution
    noise: Distribution | None = None
    regimes: Regimes | None = None
    force: ForceTerm | None = None
    season: tuple[float, ...] = (1.0,) * 12  # multiplier by calendar month, January first


@dataclass(frozen=True, kw_only=True)
class Side:
    troops: float
    quality: float = 1.0


@dataclass(frozen=True, kw_only=True)
class Attrition:
    """``daily_fraction``: fractions lost per day; Lanchester models: the coefficients a (attacker
    loss rate) and b (defender loss rate). Each is drawn once per replication."""

    model: str = "none"
    attacker: Distribution | None = None
    defender: Distribution | None = None


@dataclass(frozen=True, kw_only=True)
class Reinforcement:
    side: str
    day: int
    troops: float
    readiness_days: Distribution | None = None


@dataclass(frozen=True, kw_only=True)
class Strikes:
    """Strikes on logistics: a Poisson process of ``rate_per_day`` over [start_day, end_day); each
    strike multiplies supply by ``factor`` for ``duration_days``."""

    start_day: int
    end_day: int
    rate_per_day: float
    factor: Distribution
    duration_days: Distribution


@dataclass(frozen=True, kw_only=True)
class Modifier:
    """A scheduled multiplier of the advance over [start_day, end_day)."""

    name: str
    start_day: int
    end_day: int
    factor: float


@dataclass(frozen=True, kw_only=True)
class Sector:
    name: str
    kind: str  # "axis" or "area"
    objective: str
    attacker: Side
    defender: Side
    advance: Advance
    attrition: Attrition = field(default_factory=Attrition)
    milestones: tuple[Milestone, ...] = ()
    lines: tuple[DefensiveLine, ...] = ()
    reinforcements: tuple[Reinforcement, ...] = ()
    strikes: tuple[Strikes, ...] = ()
    modifiers: tuple[Modifier, ...] = ()
    # axis
    length_km: float = 0.0
    # area
    area_km2: float = 0.0
    objective_km2: float = 0.0
    front_km: float = 0.0
    front_scales: bool = True

    @property
    def progress_unit(self) -> str:
        return "km" if self.kind == "axis" else "km2"


@dataclass(frozen=True, kw_only=True)
class ReleaseRule:
    """Release ``batch_troops`` to a sector whose own/enemy ratio is below ``below_ratio``,
    at most once every ``every_days`` per sector."""

    below_ratio: float
    batch_troops: float
    every_days: int = 1


@dataclass(frozen=True, kw_only=True)
class Reserve:
    """A theatre pool shared by sectors; released troops arrive after ``transit_days``."""

    name: str
    side: str
    troops: float
    sectors: tuple[str, ...]
    release: ReleaseRule
    transit_days: Distribution


@dataclass(frozen=True, kw_only=True)
class Scenario:
    name: str
    start: dt.date
    horizon_days: int
    sectors: tuple[Sector, ...]
    reserves: tuple[Reserve, ...] = ()
    replications: int = 10_000
    seed: int = 1
    checkpoints_days: tuple[int, ...] = (30, 90, 180, 365)
    percentiles: tuple[float, ...] = (5, 10, 25, 50, 75, 90, 95)
    description: str = ""

    def date_of(self, day: float) -> dt.date:
        """The calendar date on which a (fractional) scenario day falls."""
        return self.start + dt.timedelta(days=int(day // 1))

    def sector(self, name: str) -> Sector:
        for s in self.sectors:
            if s.name == name:
                return s
        raise KeyError(name)
