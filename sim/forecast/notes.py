"""Notes on what a backtest did not score, or scored in a frame other than the file's: kinds
and counts, merged by kind; their words are the presentation's (``sim.presentation.text``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# The kinds of note, and what each carries besides ``sector`` and ``count``.
UNUSED_SERIES = "unused_series"  # names: series not in the scenario
NONE_AFTER_START = "none_after_start"  # start
ALL_AFTER_HORIZON = "all_after_horizon"  # horizon_days
AFTER_HORIZON = "after_horizon"  # count, horizon_days, horizon_date
HORIZON_EXTENDED = "horizon_extended"  # from_days, to_days
FRAME_MISMATCH = "frame_mismatch"  # observed_km, axis_km
START_MISMATCH = "start_mismatch"  # observed, start_at, unit
CLIPPED = "clipped"  # count
NOT_SCORED = "sector_origins_not_scored"  # reasons: {reason: count}
BEYOND_HORIZON = "beyond_horizon"  # count, horizon_days

# Why a sector-origin is not scored.
NO_OBSERVATION_BEFORE = "no observation on or before the origin"
ALREADY_FALLEN = "objective already fallen"
NONE_WITHIN_HORIZON = "no observation within the horizon"


@dataclass(frozen=True, kw_only=True)
class Note:
    """One note: its kind, the sector it is about (if one), a count, and the values its words
    need (see the kinds above)."""

    kind: str
    sector: str | None = None
    count: int = 0
    detail: dict = field(default_factory=dict, hash=False, compare=True)


def merged(notes: Iterable[Note]) -> list[Note]:
    """Notes of many backtests as one list: counts of sector-origins not scored (by reason) and
    of dates beyond the horizon summed; any other note once."""
    out: list[Note] = []
    reasons: dict[str, int] = {}
    beyond: Note | None = None
    for n in notes:
        if n.kind == NOT_SCORED:
            for why, k in n.detail["reasons"].items():
                reasons[why] = reasons.get(why, 0) + k
        elif n.kind == BEYOND_HORIZON:
            beyond = n if beyond is None else Note(kind=BEYOND_HORIZON,
                                                   count=beyond.count + n.count,
                                                   detail=n.detail)
        elif n not in out:
            out.append(n)
    if reasons:
        out.append(Note(kind=NOT_SCORED, count=sum(reasons.values()),
                        detail={"reasons": reasons}))
    if beyond is not None:
        out.append(beyond)
    return out
