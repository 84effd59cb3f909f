"""Origins: the dates a forecast is made from, knowing only what was observed by then, and a
scenario restarted at one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TypeVar

from ..data.observed import ObservedSeries
from ..errors import AdvsimError
from ..model.scenario import OPEN_END, Scenario

T = TypeVar("T")


def thinned(items: Sequence[T], every_days: int, *, date: Callable[[T], dt.date]) -> list[T]:
    """The first of ``items`` (in date order), then each next one at least ``every_days``
    after the last picked: origins at observations, never closer than ``every_days``."""
    picked: list[T] = []
    for x in items:
        if not picked or (date(x) - date(picked[-1])).days >= every_days:
            picked.append(x)
    return picked


def calendar(series: Mapping[str, ObservedSeries], every_days: int | None = None,
                 dates: Sequence[dt.date] = ()) -> list[dt.date]:
    """Origins every ``every_days`` from the first date on which every series has an
    observation, while some observation lies after the origin; or the ``dates`` given."""
    last = max(s.dates[-1] for s in series.values())
    if dates:
        return sorted(set(dates))
    if every_days is None:
        raise AdvsimError("origins: give every_days (a whole number of days >= 1) or dates "
                          "(got neither)", param="origins")
    if every_days < 1:
        raise AdvsimError(f"origins: every_days must be a whole number of days >= 1 (got "
                          f"{every_days})", param="origins")
    first = max(s.dates[0] for s in series.values())
    out, d = [], first
    while d < last:
        out.append(d)
        d += dt.timedelta(days=every_days)
    return out


def at_origin(sc: Scenario, origin: dt.date, positions: Mapping[str, float]) -> Scenario:
    """The scenario as it stands at ``origin``: its start moved there, its dated events kept on
    their dates (shifted in days; strikes and modifiers already over dropped, those under way
    from day 0; reinforcements due earlier arrive on day 0, still with their readiness
    delays), and the sectors of ``positions`` restarted from them (see
    ``Sector.restarted``). Forces are as written: the losses and arrivals before the origin are
    not simulated."""
    shift = (origin - sc.start).days

    def window(w):
        end = w.end_day if w.end_day >= OPEN_END else w.end_day - shift
        return None if end <= 0 else replace(w, start_day=max(w.start_day - shift, 0),
                                             end_day=end)

    sectors = []
    for s in sc.sectors:
        s2 = replace(
            s,
            reinforcements=tuple(replace(r, day=max(r.day - shift, 0))
                                 for r in s.reinforcements),
            strikes=tuple(w for w in (window(k) for k in s.strikes) if w is not None),
            modifiers=tuple(w for w in (window(k) for k in s.modifiers) if w is not None),
        )
        if s.name in positions:
            s2 = s2.restarted(positions[s.name])
        sectors.append(s2)
    return replace(sc, start=origin, sectors=tuple(sectors))
