"""Targets: what a forecast is scored on, and observed series put in the scenario's frame.

Two targets: the **position** at a date after the origin (``advance_km`` along an axis, km
advanced since the scenario's start; ``held_km2`` in an area, km² held: a sector's
``progress_name``), and the **fall day** (``fall_day``: days from the origin to the fall of an
objective, censored at the end of the data).

A series in the ``remaining_km`` frame (distance to the objective, as ``advsim trace`` writes
it) counts km advanced as the observed distance at the start minus the distance, and the
objective falls where the observed distance reaches 0; a mismatch between the observed
distance at the start and the scenario's ``length_km`` is a note, never shifted.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..data.observed import ObservedSeries
from ..errors import ObservedError
from ..model.scenario import Sector
from .notes import FRAME_MISMATCH, Note

FALL_DAY = "fall_day"


def position_target(sector: Sector) -> str:
    """The name of a sector's position target: ``advance_km`` or ``held_km2``."""
    return sector.progress_name


def check_frame(sector: Sector, s: ObservedSeries) -> None:
    """A series' frame must be one its sector can be scored in."""
    bad = ((s.frame == "held_km2" and not sector.has_front)
           or (s.frame == "remaining_km" and sector.has_front))
    if bad:
        raise ObservedError(
            f"the series is in frame {s.frame}, which sector {sector.name!r} "
            f"(an {sector.kind} sector) cannot be scored in (expected "
            f"{'held_km2 or advanced_km' if sector.has_front else 'advanced_km or remaining_km'})",
            file=s.file, key=s.sector)


def to_frame(sector: Sector, s: ObservedSeries, values: np.ndarray,
              anchor: float | None) -> np.ndarray:
    """Observed values in the scenario's frame: along an axis, km advanced since the start,
    counted from ``anchor`` (the value observed at the start: km advanced, or the distance
    remaining, which falls as the attacker advances); an area's km² as they are."""
    values = np.asarray(values, dtype=float)
    if s.frame == "remaining_km":
        return (anchor or 0.0) - values
    return values - (anchor or 0.0) if sector.direction > 0 else values


def observed_positions(sector: Sector, s: ObservedSeries, start: dt.date, obs_file: str
                       ) -> tuple[float | None, np.ndarray, np.ndarray, Note | None]:
    """Every observation of ``s`` in the scenario's frame, whether the objective had fallen by
    each, the value at the start they count from (axis), and a note on a mismatch."""
    anchor = s.value_at(start)
    note = None
    if sector.direction > 0 and anchor is None:
        if s.frame == "remaining_km":
            raise ObservedError(
                f"no observation on or before the scenario start {start} to count km advanced "
                "from (the distance remaining there)", file=obs_file, key=s.sector)
        raise ObservedError(
            f"no observation on or before the scenario start {start} to count km "
            f"advanced from (add a row {start},{s.sector},0 if the values already count "
            "from the start)", file=obs_file, key=s.sector,
        )
    positions = to_frame(sector, s, s.values, anchor)
    if s.frame == "remaining_km":
        # The objective falls where the observed distance reaches 0.
        fallen = s.values <= 1e-9 * max(float(anchor or 0.0), 1.0)
        length = sector.objective_at - sector.start_at
        if anchor is not None and abs(anchor - length) > 0.01 * length:
            note = Note(kind=FRAME_MISMATCH, sector=s.sector,
                        detail={"observed_km": float(anchor), "axis_km": float(length)})
        positions = np.where(fallen, sector.objective_at, positions)
    else:
        fallen = sector.reached(sector.snap(positions), sector.objective_at)
    return anchor, positions, np.asarray(fallen, dtype=bool), note


