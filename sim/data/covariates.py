"""What every map shows around every place, beyond its distance: the covariates of the advance
model's extensions (:mod:`sim.fitting.stall_effects`).

For each map ``k`` of a :class:`sim.data.front.FrontSeries` and each place ``j``:

- ``held_near_km2[k, j]``: held km² within ``ACTIVITY_RADIUS_KM`` (10 km) of the place;
- ``held_km2[k, j]``: held km² within ``radius_km`` (the outlook's radius);
- ``surrounded[k, j]``: the share of 72 bearings along which held ground lies within
  ``radius_km`` (the outlook's radius): near 0.5 facing one straight front, 1 encircled;

and for the whole map, ``theatre_km2[k]``: the held territory's area. From these, at map ``k``:
the local front's **activity** (held km² gained within 10 km per day over the ``ACTIVITY_DAYS``
(90) before, from the last map at least that long before, or the first map) and the theatre's
**tempo** (the whole map's km² gained per day over the same days). Each map's values use that
map alone, so a table measured over all maps, cut at an origin, is what the maps up to the
origin give. With a cache folder, each map's row is kept under the snapshot's sha256 and the
measuring's setting (as the distances are: :func:`sim.data.front.front_series`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .frames import Frame
from .front import FrontSeries, held_polygons, held_union, read_held, surroundings
from .front import _entry as entry_of
from .front import _setting as setting_of

ACTIVITY_RADIUS_KM = 10.0
ACTIVITY_DAYS = 90
COVARIATES_FORMAT = 1


@dataclass(frozen=True, kw_only=True)
class Covariates:
    """The covariates of every place on every map of a series (arrays: maps × places)."""

    dates: tuple[dt.date, ...]
    held_near_km2: np.ndarray
    held_km2: np.ndarray
    surrounded: np.ndarray
    theatre_km2: np.ndarray
    radius_km: float

    def upto(self, k: int) -> Covariates:
        """The first ``k + 1`` maps."""
        return Covariates(dates=self.dates[:k + 1], held_near_km2=self.held_near_km2[:k + 1],
                          held_km2=self.held_km2[:k + 1],
                          surrounded=self.surrounded[:k + 1],
                          theatre_km2=self.theatre_km2[:k + 1], radius_km=self.radius_km)

    def before(self, k: int, days: int = ACTIVITY_DAYS) -> int:
        """The last map at least ``days`` before map ``k`` (or the first map)."""
        cut = self.dates[k] - dt.timedelta(days=days)
        return max(0, sum(d <= cut for d in self.dates[:k + 1]) - 1)

    def gained_per_day(self, values: np.ndarray, k: int) -> np.ndarray:
        """What ``values`` (a row a map) gained per day over the 90 days before map ``k``,
        from the last map at least that long before (zeros on the first map)."""
        then = self.before(k)
        days = (self.dates[k] - self.dates[then]).days
        return (values[k] - values[then]) / days if days else np.zeros_like(values[k])

    def activity(self, k: int) -> np.ndarray:
        """Held km² gained within 10 km of each place per day, over the 90 days before map
        ``k``: the local front's activity."""
        return self.gained_per_day(self.held_near_km2, k)

    def axis_activity(self, k: int) -> np.ndarray:
        """Held km² gained within the radius of each place per day, over the 90 days before
        map ``k``: whether the place is on an active axis."""
        return self.gained_per_day(self.held_km2, k)

    def tempo(self, k: int) -> float:
        """The whole map's held km² gained per day over the 90 days before map ``k``."""
        return float(self.gained_per_day(self.theatre_km2, k))


def measure_covariates(series: FrontSeries, radius_km: float, *, cache: Path | None = None,
                       date_convention: str = "auto",
                       on_snapshot: Callable[[int, int], None] | None = None) -> Covariates:
    """Every map of ``series`` read once more for the covariates of its places (see the
    module); with ``cache``, rows measured before are read back instead."""
    places = series.places
    frame = Frame.around(places)
    points = frame.points(places)
    setting = ""
    if cache:
        setting = setting_of(places, frame, series.layer_map, series.held, date_convention)
        setting = f"covariates {COVARIATES_FORMAT} {radius_km!r} {ACTIVITY_RADIUS_KM!r} {setting}"
    near, held, share, total = [], [], [], []
    n = len(places)
    for k, path in enumerate(series.files):
        if on_snapshot is not None:
            on_snapshot(k, len(series.files))
        got = _cached(cache, path, setting, n) if cache else None
        if got is None:
            snap = read_held(path, series.layer_map, series.held, date_convention)
            union = held_union(frame, held_polygons(snap, series.layer_map, series.held))
            wide = surroundings(union, points, radius_km)
            got = (held_within(union, points, wide.distance_km, ACTIVITY_RADIUS_KM),
                   wide.held_km2, wide.surrounded,
                   0.0 if union is None else float(union.area) / 1e6)
            if cache:
                _keep(cache, path, setting, *got)
        near.append(got[0])
        held.append(got[1])
        share.append(got[2])
        total.append(got[3])
    return Covariates(dates=series.dates, held_near_km2=np.array(near).reshape(-1, n),
                      held_km2=np.array(held).reshape(-1, n),
                      surrounded=np.array(share).reshape(-1, n),
                      theatre_km2=np.array(total, dtype=float), radius_km=float(radius_km))


def held_within(union, points: np.ndarray, distance_km: np.ndarray,
                radius_km: float) -> np.ndarray:
    """Held km² within ``radius_km`` of each point (``distance_km``: each point's to the held
    territory, so that only the points it can reach are measured)."""
    import shapely

    held = np.zeros(len(points))
    near = distance_km < radius_km
    if union is not None and near.any():
        discs = shapely.buffer(points[near], radius_km * 1000.0, quad_segs=32)
        held[near] = shapely.area(shapely.intersection(union, discs)) / 1e6
    return held


def _cached(cache: Path, path: Path, setting: str, n: int):
    try:
        with np.load(entry_of(cache, path, setting)) as z:
            near = np.asarray(z["held_near_km2"], dtype=float)
            held = np.asarray(z["held_km2"], dtype=float)
            share = np.asarray(z["surrounded"], dtype=float)
            total = float(z["theatre_km2"])
    except (OSError, ValueError, KeyError):
        return None
    return (near, held, share, total) if near.shape == held.shape == share.shape == (n,) \
        else None


def _keep(cache: Path, path: Path, setting: str, near: np.ndarray, held: np.ndarray,
          share: np.ndarray, total: float) -> None:
    import io

    from ..artifacts.files import atomic_write

    entry = entry_of(cache, path, setting)
    buf = io.BytesIO()
    np.savez(buf, held_near_km2=near, held_km2=held, surrounded=share,
             theatre_km2=np.array(total))
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(entry, buf.getvalue())
    except OSError:
        pass  # a cache that cannot be written only costs time
