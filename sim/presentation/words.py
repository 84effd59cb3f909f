"""The words a person reads for a sector: the model names its quantities as data (``advance_km``,
``held_km2``; its numbers in km or km²), and presentation says them, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..model.scenario import Sector

QUANTITY_LABELS = {"advance_km": "Advance from the start line, km",
                   "held_km2": "Area still held by the defender, km²"}  # a chart's axis
PROGRESS_LABELS = {"advance_km": "Advance, km", "held_km2": "Held area, km²"}  # a table's rows


def quantity_label(sector: Sector) -> str:
    """The progress axis of a chart of ``sector``."""
    return QUANTITY_LABELS[sector.progress_name]


def progress_label(sector: Sector) -> str:
    """The progress rows of a report of ``sector``."""
    return PROGRESS_LABELS[sector.progress_name]


def position(sector: Sector, at: float, objective: bool = False) -> str:
    """A position for a label: "35 km", "≤ 50 km² held" (an objective is reached at or below
    its area)."""
    if sector.has_front:
        return f"{'≤ ' if objective else ''}{at:g} km² held"
    return f"{at:g} km"


def headline(sector: Sector) -> str:
    """What the sector is, in words: "axis of 35 km to Pokrovsk"."""
    geometry = sector.describe()
    if sector.has_front:
        return (f"area of {geometry['area_km2']:g} km² held; {sector.objective} at "
                f"≤ {geometry['objective_km2']:g} km²")
    return f"axis of {geometry['length_km']:g} km to {sector.objective}"
