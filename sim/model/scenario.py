"""The validated scenario: frozen, keyword-only dataclasses the engine reads (no I/O here)."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from .distributions import Distribution


def slug(name: str) -> str:
    """A name as a column- and file-safe word."""
    s = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower()
    return s or "x"


MAX_HORIZON_DAYS = 36_500
OPEN_END = 2**62  # the end day of a window with no end: it lasts past any horizon
ATTRITION_MODELS = ("none", "daily_fraction", "lanchester_square", "lanchester_linear")
SIDES = ("attacker", "defender")
DEFAULT_PERCENTILES: tuple[float, ...] = (5, 10, 25, 50, 75, 90, 95)
OBSERVED_MOST = 30  # points of traced history a writer keeps in a scenario
OBSERVED_DAYS = 365  # and the days before the start they span


def default_checkpoints(horizon_days: int) -> tuple[int, ...]:
    """The checkpoints a scenario gets when it names none: 30, 90, 180 and 365 days within the
    horizon, and the horizon itself when it ends before a year."""
    days = tuple(d for d in (30, 90, 180, 365) if d <= horizon_days)
    return days if horizon_days in days or horizon_days >= 365 else (*days, horizon_days)


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
    # Days the initial regime has already lasted at the start: its first sojourn is then the
    # residual of its law beyond them (semi-Markov), not a fresh one.
    elapsed_days: float = 0.0


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
    """A side's troops in a sector, their quality (a multiplier of effective strength) and its
    breakpoint: the side counts as broken once its troops fall to ``breakpoint_fraction`` of
    the most it has had, counting arrivals as they arrive (0: once none are left)."""

    troops: float
    quality: float = 1.0
    breakpoint_fraction: float = 0.0


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
    """Strikes on logistics: a Poisson process of ``rate_per_day`` over [start_day, end_day)
    (``OPEN_END``: to the horizon, whatever it is); each strike multiplies supply by ``factor``
    for ``duration_days``."""

    start_day: int
    end_day: int
    rate_per_day: float
    factor: Distribution
    duration_days: Distribution


@dataclass(frozen=True, kw_only=True)
class Modifier:
    """A scheduled multiplier of the advance over [start_day, end_day) (``OPEN_END``: to the
    horizon)."""

    name: str
    start_day: int
    end_day: int
    factor: float


@dataclass(frozen=True, kw_only=True)
class Observed:
    """The sector's history up to the start, as measured on maps (``advsim trace``): dated
    positions in the quantity a reader thinks in (km from the objective along an axis, km²
    held in an area), oldest first, and where they came from. Charts draw it; the engine never
    reads it."""

    source: str
    dates: tuple[dt.date, ...]
    values: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.dates)

    @classmethod
    def thinned(cls, source: str, dates, values, most: int = OBSERVED_MOST) -> Observed:
        """The history of ``dates`` and ``values`` (oldest first) in at most ``most`` points,
        evenly spaced over the list, the first and the last kept: what a writer keeps of a
        long series, for a chart to draw (the writers give it the last ``OBSERVED_DAYS``)."""
        n = len(dates)
        keep = sorted({round(i * (n - 1) / (most - 1)) for i in range(most)}) if n > most \
            else range(n)
        return cls(source=source, dates=tuple(dates[i] for i in keep),
                   values=tuple(float(values[i]) for i in keep))


@dataclass(frozen=True, kw_only=True)
class Sector:
    """What every sector has: forces, the advance, events. Its geometry is its type:
    :class:`AxisSector` or :class:`AreaSector`, each of which maps its own positions (km
    advanced, km² held) to the engine's progress coordinate u, which starts at 0 and grows
    to ``u_objective`` as the attacker advances."""

    kind: ClassVar[str]
    progress_name: ClassVar[str]  # the outputs' name for progress: advance_km or held_km2
    unit: ClassVar[str]  # of positions: km or km²
    at_key: ClassVar[str]  # the key of a milestone's position in scenarios and summaries
    observed_key: ClassVar[str]  # the key of an observed point's position (see Observed)
    position_unit: ClassVar[str]  # what an observed position counts: km advanced, km² held
    has_front: ClassVar[bool]  # positions are km² taken along a front (not km along a route)

    name: str
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
    observed: Observed | None = None  # the traced history before the start, for charts

    # -- positions (km along the axis, or km² held) ------------------------------------------

    @property
    def start_at(self) -> float:
        """The position at the start."""
        raise NotImplementedError

    @property
    def objective_at(self) -> float:
        """The position at which the objective falls."""
        raise NotImplementedError

    @property
    def direction(self) -> float:
        """+1 where positions grow as the attacker advances (an axis), -1 where they shrink."""
        raise NotImplementedError

    def reached(self, value, at: float):
        """Whether position(s) ``value`` have reached position ``at`` (exactly at it counts)."""
        return self.direction * (np.asarray(value) - at) >= 0

    @property
    def thresholds(self) -> tuple[float, ...]:
        """Every position the model stops at or counts to: the start, the objective, the
        milestones and the lines."""
        return (self.start_at, self.objective_at, *(m.at for m in self.milestones),
                *(ln.at for ln in self.lines))

    def snap(self, values, rel: float = 1e-9) -> np.ndarray:
        """Positions within float rounding (``rel`` of the threshold's scale) of a threshold,
        put exactly at it: an observation clipped to an objective of 50 km² and a member
        that reached it compare as a tie, whatever arithmetic brought either there."""
        v = np.array(values, dtype=float)
        for at in self.thresholds:
            v[np.abs(v - at) <= rel * max(abs(at), 1.0)] = at
        return v

    def _exact(self, u: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``values`` (the positions at progress ``u``) with the members that stopped at a
        threshold put exactly at it: the start (u = 0), the objective (u ≥ u_objective) and
        the lines (where the engine holds them at the line's own u). Milestones are passed
        on the way, never stopped at."""
        u = np.asarray(u)
        lo, hi = sorted((self.start_at, self.objective_at))
        out = np.clip(np.array(values, dtype=float), lo, hi)  # (√A₀ − u)² rounds past A₀
        out[u <= 0] = self.start_at
        for ln in self.lines:
            out[u == self.u(ln.at)] = ln.at
        out[u >= self.u_objective] = self.objective_at
        return out

    def restarted(self, position: float) -> Sector:
        """The sector restarted from ``position`` (observed at a backtest's origin): the
        objective, the milestones and lines still ahead as they are, those already passed
        dropped (a line the position sits at too: how long it has held is not known). The
        position must lie strictly before the objective."""
        raise NotImplementedError

    def clip(self, values: np.ndarray) -> np.ndarray:
        """Positions clipped to the range the model can reach: start to objective."""
        lo, hi = sorted((self.start_at, self.objective_at))
        return np.clip(values, lo, hi)

    def gained(self, start: float, km_or_km2: np.ndarray) -> np.ndarray:
        """The positions after gaining ``km_or_km2`` from ``start``, stopping at the objective."""
        values = start + self.direction * np.asarray(km_or_km2)
        return np.minimum(values, self.objective_at) if self.direction > 0 else \
            np.maximum(values, self.objective_at)

    def per_day(self, m_per_day: float) -> float:
        """A rate of advance in m/day as positions per day (km/day, or km²/day taken)."""
        raise NotImplementedError

    def describe(self) -> dict:
        """The geometry's keys in a run summary's sector."""
        raise NotImplementedError

    # -- the engine's progress coordinate u --------------------------------------------------

    @property
    def u_objective(self) -> float:
        raise NotImplementedError

    @property
    def m_to_u(self) -> float:
        """du per metre of advance."""
        raise NotImplementedError

    def u(self, at: float) -> float:
        """Progress coordinate of a position."""
        raise NotImplementedError

    def output(self, u: np.ndarray) -> np.ndarray:
        """The position at progress u."""
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class AxisSector(Sector):
    """A route of ``length_km`` from the attacker's start to the objective; u is km advanced."""

    kind: ClassVar[str] = "axis"
    progress_name: ClassVar[str] = "advance_km"
    unit: ClassVar[str] = "km"
    at_key: ClassVar[str] = "at_km"
    observed_key: ClassVar[str] = "distance_km"  # from the objective, as the fan shows it
    position_unit: ClassVar[str] = "km advanced"
    has_front: ClassVar[bool] = False

    length_km: float
    # km advanced (from the scenario's start) at which this sector starts: 0 as written; a
    # backtest restarts it from the position observed at an origin (see restarted)
    start_km: float = 0.0

    direction = 1.0

    @property
    def start_at(self) -> float:
        return self.start_km

    @property
    def objective_at(self) -> float:
        return self.length_km

    def restarted(self, position: float) -> AxisSector:
        if not position < self.length_km:
            raise ValueError(f"position {position:g} km is not before the objective "
                             f"({self.length_km:g} km)")
        return replace(self, start_km=float(position),
                       milestones=tuple(m for m in self.milestones if m.at > position),
                       lines=tuple(ln for ln in self.lines if ln.at > position))

    def per_day(self, m_per_day: float) -> float:
        return m_per_day / 1000

    def describe(self) -> dict:
        return {"length_km": self.length_km}

    @property
    def u_objective(self) -> float:
        return self.length_km - self.start_km

    m_to_u = 1e-3

    def u(self, at: float) -> float:
        return at - self.start_km

    def output(self, u: np.ndarray) -> np.ndarray:
        if not self.start_km:
            return u
        return self._exact(u, self.start_km + np.asarray(u))


@dataclass(frozen=True, kw_only=True)
class AreaSector(Sector):
    """A salient of ``area_km2`` held by the defender, taken at front × advance km² a day; the
    objective falls at ``objective_km2`` held. With ``front_scales`` the front is
    front₀·√(A/A₀), and u = √A₀ − √A grows linearly with the advance; else u = A₀ − A."""

    kind: ClassVar[str] = "area"
    progress_name: ClassVar[str] = "held_km2"
    unit: ClassVar[str] = "km²"
    at_key: ClassVar[str] = "held_km2"
    observed_key: ClassVar[str] = "held_km2"
    position_unit: ClassVar[str] = "km² held"
    has_front: ClassVar[bool] = True

    area_km2: float
    objective_km2: float
    front_km: float
    front_scales: bool = True

    direction = -1.0

    @property
    def start_at(self) -> float:
        return self.area_km2

    @property
    def objective_at(self) -> float:
        return self.objective_km2

    def per_day(self, m_per_day: float) -> float:
        return m_per_day / 1000 * self.front_km

    def describe(self) -> dict:
        return {"area_km2": self.area_km2, "objective_km2": self.objective_km2}

    @property
    def u_objective(self) -> float:
        return self.u(self.objective_km2)

    @property
    def m_to_u(self) -> float:
        if self.front_scales:
            return self.front_km * 1e-3 / (2 * math.sqrt(self.area_km2))
        return self.front_km * 1e-3

    def u(self, at: float) -> float:
        if self.front_scales:
            return math.sqrt(self.area_km2) - math.sqrt(at)
        return self.area_km2 - at

    def output(self, u: np.ndarray) -> np.ndarray:
        # (√A₀ − (√A₀ − √A))² is A only to rounding: members at the start, at a line or at
        # the objective are put exactly there, so that they tie with observations there
        if self.front_scales:
            return self._exact(u, (math.sqrt(self.area_km2) - np.asarray(u)) ** 2)
        return self._exact(u, self.area_km2 - np.asarray(u))

    def restarted(self, position: float) -> AreaSector:
        if not position > self.objective_km2:
            raise ValueError(f"position {position:g} km² held is not before the objective "
                             f"({self.objective_km2:g} km²)")
        # A front ∝ √A keeps its law: front₀·√(A/A₀) at the new start
        front = self.front_km * math.sqrt(position / self.area_km2) if self.front_scales \
            else self.front_km
        return replace(self, area_km2=float(position), front_km=front,
                       milestones=tuple(m for m in self.milestones if m.at < position),
                       lines=tuple(ln for ln in self.lines if ln.at < position))


SECTOR_TYPES: dict[str, type[Sector]] = {"axis": AxisSector, "area": AreaSector}


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
    percentiles: tuple[float, ...] = DEFAULT_PERCENTILES
    description: str = ""

    def __repr__(self) -> str:
        from ..presentation.notebook import count, short

        return short("Scenario", self.name, [count(len(self.sectors), "sector"),
                                            f"from {self.start} over {self.horizon_days} days"])

    def _repr_html_(self) -> str:
        """A notebook's view: what each sector is, in words."""
        from ..presentation.notebook import html
        from ..presentation.words import headline

        return html(self.name, f"from {self.start} over {self.horizon_days} days",
                    ["sector", "what", "milestones"],
                    [(s.name, headline(s), len(s.milestones)) for s in self.sectors])

    def date_of(self, day: float) -> dt.date:
        """The calendar date on which a (fractional) scenario day falls."""
        return self.start + dt.timedelta(days=int(day // 1))

    def with_horizon(self, horizon_days: int, checkpoints_days: tuple[int, ...]) -> Scenario:
        """The same scenario over another horizon, with other checkpoints (within it); windows
        with no end still last to the horizon."""
        if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
            raise ValueError(f"horizon_days must lie in 1..{MAX_HORIZON_DAYS} (got {horizon_days})")
        if any(not 1 <= d <= horizon_days for d in checkpoints_days):
            raise ValueError(f"checkpoints must lie in 1..{horizon_days}")
        return replace(self, horizon_days=horizon_days,
                       checkpoints_days=tuple(sorted(set(checkpoints_days))))

    def sector(self, name: str) -> Sector:
        for s in self.sectors:
            if s.name == name:
                return s
        raise KeyError(name)
