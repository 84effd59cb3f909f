"""The forecasters every backtest and evaluation scores, by one name each: the simulation, and
the baselines persistence, the trailing rate and the empirical reference class.

Each forecaster knows only what was known at the origin and answers one of the two targets
(:mod:`sim.forecast.targets`) with ensemble members:

- **position** at the scored dates after the origin (km advanced along an axis, km² held in an
  area): members × dates;
- **fall day**: days from the origin to the objective's fall, capped at ``cap`` (one day past
  the end of the data: "not by then"): members.

The simulation's members come from the engine (run as a batch, :mod:`sim.running.batch`); the
baselines are computed here:

- ``persistence``: no further change from the position at the origin (a point forecast: one
  value, scored as an ensemble whose members all sit there; its CRPS is the absolute error). Its
  fall day is never (the cap).
- ``trailing_rate``: the rate between the first and the last observation within the
  ``TRAILING_DAYS`` on or before the origin, extrapolated. For a position, with iid gamma daily
  noise of the scenario's own daily cv (so the spread grows as √days), and the scenario's mean
  base rate where the window holds fewer than two observations; for a fall day, the distance
  remaining over that rate (the cap where the front did not close).
- ``reference_class``: the training towns' Kaplan–Meier days-to-fall for the origin's distance
  band (all bands pooled where the band has no origin), no simulation; fall days only.

Names are identifiers (JSON keys, table columns); their words live in
:mod:`sim.presentation.text`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..model.scenario import Sector

MODEL = "model"  # the simulation of the scenario backtested
CLASS_MODEL = "class_model"  # the simulation of the advance fitted to the training towns
PERSISTENCE = "persistence"
TRAILING_RATE = "trailing_rate"
REFERENCE_CLASS = "reference_class"
BASELINES = (PERSISTENCE, TRAILING_RATE)  # of a position
FALL_BASELINES = (REFERENCE_CLASS, PERSISTENCE, TRAILING_RATE)  # of a fall day
TRAILING_DAYS = 90  # the trailing rate's window, days on or before the origin


@dataclass(kw_only=True)
class Forecast:
    """One forecaster's members at the scored dates of one case, how they were made (as
    structured fields: the words are the presentation's), and their scores."""

    name: str
    ensemble: np.ndarray  # (members, dates)
    fallen: np.ndarray  # (members, dates): objective fallen by the date
    per_day: float | None = None  # km/day (axis) or km²/day (area) extrapolated
    basis: dict = field(default_factory=dict)  # what the forecast rests on (see each maker)
    scores: dict = field(default_factory=dict)


def trailing_window(rel_days: np.ndarray, window_days: int = TRAILING_DAYS
                    ) -> tuple[int, int] | None:
    """The first and last observation (indices into ``rel_days``, days relative to the origin)
    within the ``window_days`` on or before the origin; None without two distinct days."""
    inside = np.flatnonzero((rel_days <= 0) & (rel_days >= -window_days))
    if inside.size >= 2 and rel_days[inside[-1]] > rel_days[inside[0]]:
        return int(inside[0]), int(inside[-1])
    return None


# -- a position at the scored dates ---------------------------------------------------------------


def persistence_position(sector: Sector, position: float, days: np.ndarray,
                         members: int) -> Forecast:
    """No further change from ``position`` at the origin."""
    still = np.full((members, days.size), float(position))
    return Forecast(name=PERSISTENCE, ensemble=still,
                    fallen=np.broadcast_to(sector.reached(still, sector.objective_at),
                                           still.shape),
                    per_day=0.0, basis={"position": float(position)})


def trailing_rate_position(sector: Sector, position: float, days: np.ndarray, members: int,
                           rel_days: np.ndarray, positions: np.ndarray, dates: Sequence,
                           rng: np.random.Generator,
                           window_days: int = TRAILING_DAYS) -> Forecast:
    """The observed rate over the trailing window extrapolated from ``position`` with gamma
    daily noise (``rel_days``/``positions``: every observation, days from the origin and
    values in the scenario's frame)."""
    w = trailing_window(rel_days, window_days)
    if w is not None:
        i, j = w
        per_day = sector.direction * (positions[j] - positions[i]) / (rel_days[j] - rel_days[i])
        basis = {"from": dates[i], "to": dates[j], "window_days": window_days}
    else:
        m_per_day = sector.advance.base_m_per_day.mean
        per_day = sector.per_day(m_per_day)
        basis = {"scenario_m_per_day": m_per_day, "window_days": window_days}
    per_day = max(float(per_day), 0.0)
    noise = sector.advance.noise
    cv = math.sqrt(noise.variance) / noise.mean if noise is not None and noise.mean > 0 else 0.0
    gaps = np.diff(np.concatenate([[0.0], days]))
    if per_day > 0 and cv > 0:
        k = 1 / cv**2
        steps = rng.gamma(gaps * k, per_day / k, size=(members, gaps.size))
    else:
        steps = np.broadcast_to(gaps * per_day, (members, gaps.size))
    values = sector.gained(position, np.cumsum(steps, axis=1))
    return Forecast(name=TRAILING_RATE, ensemble=values,
                    fallen=sector.reached(values, sector.objective_at), per_day=per_day,
                    basis={**basis, "unit": sector.unit, "cv": cv})


def position_baselines(sector: Sector, position: float, days: np.ndarray, members: int,
                       rel_days: np.ndarray, positions: np.ndarray, dates: Sequence,
                       rng: np.random.Generator, window_days: int = TRAILING_DAYS
                       ) -> dict[str, Forecast]:
    """Every baseline of a position, by name."""
    return {
        PERSISTENCE: persistence_position(sector, position, days, members),
        TRAILING_RATE: trailing_rate_position(sector, position, days, members, rel_days,
                                              positions, dates, rng, window_days),
    }


# -- the day an objective falls -------------------------------------------------------------------


def persistence_fall(cap: float) -> np.ndarray:
    """The front stays where it is: the objective does not fall (the cap)."""
    return np.array([float(cap)])


def trailing_rate_fall(remaining_km: float, rel_days: np.ndarray, remaining: np.ndarray,
                       cap: float, window_days: int = TRAILING_DAYS) -> np.ndarray:
    """The distance remaining over the rate it closed at within the trailing window (the cap
    where it did not close, or the window holds fewer than two observations)."""
    w = trailing_window(rel_days, window_days)
    if w is None:
        return np.array([float(cap)])
    i, j = w
    km_per_day = (remaining[i] - remaining[j]) / (rel_days[j] - rel_days[i])
    if km_per_day <= 0:
        return np.array([float(cap)])
    return np.array([float(min(remaining_km / km_per_day, cap))])


def reference_class_fall(bands, pooled, remaining_km: float, cap: float,
                         members: int) -> np.ndarray:
    """The training towns' Kaplan–Meier days-to-fall for ``remaining_km``'s band (``bands`` as
    :func:`sim.fitting.reference.km_by_band` gives them; ``pooled`` where the band has no
    origin), as ``members`` evenly spread quantiles capped at ``cap``."""
    for (lo, hi), _, curve in bands:
        if lo < remaining_km <= hi:
            return curve.sample(members, cap)
    return pooled.sample(members, cap)
