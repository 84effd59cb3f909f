"""Many places measured on every snapshot at once: where the front stands from each.

``advsim trace`` measures a few places exactly, each in its own projection. An outlook asks
about every place of a gazetteer near the front (hundreds) on every snapshot, so here one
azimuthal equidistant projection centred on the places serves them all, and each measurement
is one vectorised call over the places: the union of the held territory is projected once per
snapshot. Distances through a frame whose centre lies within 400 km of both ends are within
0.1% of the geodesic (the frame's scale error off its radial lines is about (d/R)²/6): 10 m
at 10 km, less than the maps' own line width. Areas are measured in the frame too (within
0.2% at 400 km).

What a snapshot shows around a place (:class:`Surroundings`): the signed distance to the held
territory (negative inside it: the place has fallen), the held km² within a radius, and the
share of bearings along which held ground lies within the radius (1.0: surrounded; a place
facing one straight front line is near 0.5 at the line, less further away).

"The held territory" is what the attacker holds: the layer map's ``attacker_held`` roles (with
``contested="attacker"``, the contested grey zone too: a fall definition an outlook reports
beside the default, which leaves the grey out), or a named layer (``held="kursk_held"``: the
defender-held pocket in Kursk oblast, advancing on the places around it, the other side
attacking).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import AdvsimError
from .frames import Frame
from .snapshots import (
    CONTESTED,
    GEO_HINT,
    LayerMap,
    Snapshot,
    SnapshotError,
    load_layer_map,
    read_snapshot,
)
from .towns import Place
from .trace import DENSIFY_DEG, _union

try:
    import numpy as np
    import shapely
except ImportError:  # pragma: no cover - exercised only without the extra
    raise AdvsimError(GEO_HINT) from None

ATTACKER_HELD = "attacker_held"
BEARINGS = 72  # every 5 degrees
RADIUS_KM = 30.0


@dataclass(frozen=True, kw_only=True)
class Surroundings:
    """What one snapshot shows around each place (arrays over the places)."""

    distance_km: np.ndarray  # signed: > 0 outside the held territory, <= 0 inside (fallen)
    held_km2: np.ndarray  # held within the radius
    surrounded: np.ndarray  # share of bearings with held ground within the radius


def held_polygons(snap: Snapshot, layer_map: LayerMap, held: str = ATTACKER_HELD,
                  contested: str = "exclude"):
    """The lon/lat polygons of the held territory of a snapshot; with ``contested="attacker"``
    the contested (grey) zone counts as held too (``attacker_held`` only: a named layer says
    itself which grey it holds)."""
    if held == ATTACKER_HELD:
        return snap.role_polygons(layer_map.attacker_roles(contested))
    roles, values, box = layer_map.layer_spec(held)
    return snap.layer_polygons(roles, values, box)


def read_held(path: str | Path, layer_map: LayerMap, held: str = ATTACKER_HELD,
              date_convention: str = "auto", contested: str = "exclude") -> Snapshot:
    """One snapshot, keeping only what the held territory needs (with the contested zone,
    ``contested="attacker"``)."""
    if held == ATTACKER_HELD:
        roles = set(layer_map.attacker_roles(contested))
    else:
        spec_roles, values, _ = layer_map.layer_spec(held)
        roles = layer_map.roles_for(spec_roles, values)
    return read_snapshot(path, layer_map, roles=tuple(roles), date_convention=date_convention)


def held_union(frame: Frame, polygons):
    """The union of the held polygons in the frame (None when there are none)."""
    polygons = np.asarray(polygons, dtype=object).ravel()
    polygons = polygons[~shapely.is_empty(polygons)]
    if not polygons.size:
        return None
    return _union(frame.local(shapely.segmentize(polygons, DENSIFY_DEG)))


def distances_km(union, points: np.ndarray) -> np.ndarray:
    """Signed distance (km) from each point to ``union``: negative inside it."""
    if union is None:
        return np.full(len(points), np.inf)
    shapely.prepare(union)
    d = shapely.distance(union, points)
    inside = d == 0.0
    if inside.any():
        d[inside] = -shapely.distance(shapely.boundary(union), points[inside])
    return d / 1000.0


def surroundings(union, points: np.ndarray, radius_km: float = RADIUS_KM,
                 bearings: int = BEARINGS) -> Surroundings:
    """Distance, held km² and the share of bearings with held ground, for each point."""
    n = len(points)
    dist = distances_km(union, points)
    if union is None:
        return Surroundings(distance_km=dist, held_km2=np.zeros(n), surrounded=np.zeros(n))
    r = radius_km * 1000.0
    discs = shapely.buffer(points, r, quad_segs=32)
    near = dist < radius_km
    held = np.zeros(n)
    if near.any():
        held[near] = shapely.area(shapely.intersection(union, discs[near])) / 1e6
    xy = shapely.get_coordinates(points)
    theta = np.linspace(0.0, 2 * math.pi, bearings, endpoint=False)
    share = np.zeros(n)
    for i in np.flatnonzero(near):
        ends = np.column_stack([xy[i, 0] + r * np.sin(theta), xy[i, 1] + r * np.cos(theta)])
        rays = shapely.linestrings(
            np.stack([np.broadcast_to(xy[i], ends.shape), ends], axis=1))
        share[i] = float(np.mean(shapely.intersects(union, rays)))
    return Surroundings(distance_km=dist, held_km2=held, surrounded=share)


def extent(paths: Sequence[Path], layer_map: LayerMap, held: str = ATTACKER_HELD,
           margin_km: float = 60.0,
           date_convention: str = "auto") -> tuple[float, float, float, float] | None:
    """A lon/lat box (W, S, E, N) holding the held territory of the first and the last map,
    and ``margin_km`` around it: the places worth measuring (None: no held territory)."""
    boxes = []
    for path in {paths[0], paths[-1]}:
        polys = held_polygons(read_held(path, layer_map, held, date_convention), layer_map,
                              held)
        if len(polys):
            boxes.append(shapely.total_bounds(polys))
    if not boxes:
        return None
    w, s = min(b[0] for b in boxes), min(b[1] for b in boxes)
    e, n = max(b[2] for b in boxes), max(b[3] for b in boxes)
    dlat = margin_km / 110.5
    dlon = margin_km / (111.32 * math.cos(math.radians(min(max(abs(s), abs(n)), 85.0))))
    return (max(w - dlon, -180.0), max(s - dlat, -90.0), min(e + dlon, 180.0),
            min(n + dlat, 90.0))


# -- every place on every snapshot ----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FrontSeries:
    """Signed distances (km) from every place to the held territory on every snapshot."""

    places: tuple[Place, ...]
    dates: tuple[dt.date, ...]  # map dates, ascending
    files: tuple[Path, ...]
    distance_km: np.ndarray  # (dates, places)
    held: str
    layer_map: LayerMap

    def upto(self, day: dt.date) -> FrontSeries:
        """The series as known on ``day``: snapshots of map dates on or before it."""
        k = sum(d <= day for d in self.dates)
        return FrontSeries(places=self.places, dates=self.dates[:k], files=self.files[:k],
                           distance_km=self.distance_km[:k], held=self.held,
                           layer_map=self.layer_map)

    def index_of(self, day: dt.date) -> int:
        """The last snapshot on or before ``day``."""
        k = sum(d <= day for d in self.dates)
        if k == 0:
            raise SnapshotError(f"no map on or before {day} (the first is {self.dates[0]})",
                                file="--date")
        return k - 1


def front_series(paths: Sequence[Path], places: Sequence[Place], *,
                 layer_map: LayerMap | None = None, held: str = ATTACKER_HELD,
                 date_convention: str = "auto", frame: Frame | None = None,
                 contested: str = "exclude", cache: Path | None = None,
                 on_snapshot: Callable[[int, int], None] | None = None) -> FrontSeries:
    """Measure every place on every snapshot of ``paths`` (read one at a time); with
    ``contested="attacker"`` the contested (grey) zone counts as held (``attacker_held``
    only). With ``cache`` (a folder), each snapshot's measurements are kept there under a key
    of the snapshot's sha256 and name, the places, the held territory, the contested
    convention, the layer map and the date convention, so a second outlook on the same maps
    reads them instead of measuring again; an entry that does not read back whole is measured
    again. ``on_snapshot(done, total)`` follows the snapshots measured or read from the
    cache."""
    layer_map = layer_map or load_layer_map()
    if contested not in CONTESTED:
        raise AdvsimError(f"contested must be one of {', '.join(CONTESTED)} (got "
                          f"{contested!r})", param="contested")
    if held != ATTACKER_HELD:
        layer_map.layer_spec(held)  # an unknown layer is one line, before any file is read
        if contested != "exclude":
            raise AdvsimError(f"contested={contested!r} applies to attacker_held only; the "
                              f"layer {held!r} names the grey it holds itself",
                              param="contested")
    frame = frame or Frame.around(places)
    points = frame.points(places)
    setting = _setting(places, frame, layer_map, held, date_convention,
                       contested) if cache else ""
    rows: dict[dt.date, tuple[Path, np.ndarray]] = {}
    for k, path in enumerate(paths):
        if on_snapshot is not None:
            on_snapshot(k, len(paths))
        got = _cached(cache, path, setting, len(places)) if cache else None
        if got is None:
            snap = read_held(path, layer_map, held, date_convention, contested)
            union = held_union(frame, held_polygons(snap, layer_map, held, contested))
            got = (snap.map_date, distances_km(union, points))
            if cache:
                _keep(cache, path, setting, *got)
        day, dist = got
        if day in rows:
            raise SnapshotError(f"map date {day} repeats (also {rows[day][0]}); give one "
                                "publisher's snapshots", file=str(path))
        rows[day] = (Path(path), dist)
    dates = tuple(sorted(rows))
    return FrontSeries(places=tuple(places), dates=dates,
                       files=tuple(rows[d][0] for d in dates),
                       distance_km=np.array([rows[d][1] for d in dates]).reshape(
                           len(dates), len(places)),
                       held=held, layer_map=layer_map)


def series_near(paths: Sequence[Path], *, radius_km: float, layer_map: LayerMap,
                held: str = ATTACKER_HELD, min_population: int = 5000,
                countries: Sequence[str] = (), places_file: str | None = None,
                date_convention: str = "auto", cache: Path | None = None,
                on_progress: Callable[[str, int, int], None] | None = None,
                on_step: Callable[[str], None] | None = None) -> FrontSeries:
    """Every place of the gazetteer (or of ``places_file``) near the held territory of the
    first or the last map, measured on every map: what an outlook reads. ``countries``
    default to those the held layer advances into (UA, or RU for kursk_held).
    ``on_progress(phase, done, total)`` hears of "reading" (the first and last maps, then the
    places) and "measuring" (each map); ``on_step(words)`` of a step that reports nothing
    while it runs: "reading the gazetteer…", its places parsed in one call of about 2 s."""
    from .gazetteer import load_gazetteer, loaded

    box = extent(paths, layer_map, held, margin_km=radius_km + 30.0,
                 date_convention=date_convention)
    if box is None:
        raise AdvsimError(f"no {held} territory on the first or the last map "
                          f"({paths[0].name}, {paths[-1].name})", param="held")
    if on_progress:
        on_progress("reading", 1, 2)
    countries = tuple(countries) or (("RU",) if held == "kursk_held" else ("UA",))
    if on_step is not None and places_file is None and not loaded():
        on_step("reading the gazetteer…")
    places = load_gazetteer(min_population=min_population, countries=countries, bbox=box,
                            file=places_file)
    if not places:
        raise AdvsimError(f"no place of {places_file or 'the gazetteer'} near the maps' held "
                          f"territory (lon {box[0]:.2f} to {box[2]:.2f}, lat {box[1]:.2f} to "
                          f"{box[3]:.2f})", param="places")
    return front_series(paths, places, layer_map=layer_map, held=held,
                        date_convention=date_convention, cache=cache,
                        on_snapshot=(lambda done, total: on_progress("measuring", done, total))
                        if on_progress else None)


# -- the measurement cache -------------------------------------------------------------------------

CACHE_FORMAT = 1


def _setting(places: Sequence[Place], frame: Frame, layer_map: LayerMap, held: str,
             date_convention: str, contested: str = "exclude") -> str:
    import hashlib

    # The contested convention joins the key only when it is not the default, so the entries
    # measured before it existed still read back.
    grey = "" if contested == "exclude" else f" contested={contested}"
    h = hashlib.sha256(f"{CACHE_FORMAT} {held} {date_convention} {frame.lat!r} {frame.lon!r}"
                       f"{grey}".encode())
    h.update(Path(layer_map.file).read_bytes() if Path(layer_map.file).is_file()
             else layer_map.file.encode())
    for p in places:
        h.update(f"\n{p.slug} {p.lat!r} {p.lon!r}".encode())
    return h.hexdigest()


def _entry(cache: Path, path: Path | str, setting: str) -> Path:
    import hashlib

    from ..artifacts.files import sha256_file

    # The name too: a map's date may come from it, and two dates may show the same map.
    key = hashlib.sha256(f"{sha256_file(path)} {Path(path).name} {setting}".encode()
                         ).hexdigest()
    return Path(cache) / key[:2] / f"{key}.npz"


def _cached(cache: Path, path: Path | str, setting: str, n: int):
    entry = _entry(cache, path, setting)
    try:
        with np.load(entry) as z:
            day = dt.date.fromisoformat(str(z["map_date"]))
            dist = np.asarray(z["distance_km"], dtype=float)
    except (OSError, ValueError, KeyError):
        return None
    return (day, dist) if dist.shape == (n,) else None


def _keep(cache: Path, path: Path | str, setting: str, day: dt.date, dist: np.ndarray) -> None:
    import io

    from ..artifacts.files import atomic_write

    entry = _entry(cache, path, setting)
    buf = io.BytesIO()
    np.savez(buf, map_date=np.array(day.isoformat()), distance_km=dist)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(entry, buf.getvalue())
    except OSError:
        pass  # a cache that cannot be written only costs time
