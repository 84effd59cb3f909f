"""Measuring map snapshots: distance from a place to attacker-held territory, area and contact
line near it, and the area of a layer, date by date.

Distances and lengths are measured in an azimuthal equidistant projection centred on each place
(ellipsoidal: the distance from the centre is the geodesic distance), areas in a Lambert
azimuthal equal-area projection (centred on the place for the area within a radius, EPSG:3035
for a whole layer). Each place's transformers are built once and reused for every snapshot.
Only the polygons inside a lon/lat box a little larger than what is measured are projected; the
box grows until the measurement cannot depend on it. Snapshots are read one at a time, so memory
does not grow with their number.

shapely (>= 2) and pyproj are imported with this module: ``pip install 'advsim[geo]'``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AdvsimError, ParameterError, ParameterTypeError, shown
from ..errors import paths as path_list
from .frames import _ORIGIN, LocalFrame, _apply
from .snapshots import (
    CONTESTED,
    DATE_CONVENTIONS,
    GEO_HINT,
    LayerMap,
    Snapshot,
    SnapshotError,
    load_layer_map,
    read_snapshot,
    snapshot_paths,
)
from .towns import Place

try:
    import numpy as np
    import pyproj
    import shapely
except ImportError:  # pragma: no cover - exercised only without the extra
    raise AdvsimError(GEO_HINT) from None

RADIUS_KM = 30.0
# GeoJSON edges are straight in lon/lat; projecting only the vertices would make long ones
# straight in the projection instead. Edges longer than this (degrees) get vertices added first.
DENSIFY_DEG = 0.01
CLOSING_M = 1.0  # gaps narrower than 2 m between adjacent layers are closed (as the archive does)
_WORLD = (-180.0, -90.0, 180.0, 90.0)


def _check_radius(km: float, name: str = "radius_km") -> None:
    if not (isinstance(km, (int, float)) and 0 < km < math.inf):
        raise AdvsimError(f"{name} must be a finite number of km > 0 (got {km!r})", param=name)


@dataclass(frozen=True, kw_only=True)
class PlaceMeasure:
    """What a snapshot shows around a place. ``distance_km`` is signed: positive outside
    attacker-held territory, negative inside (minus the distance to its boundary), None when
    the snapshot has no attacker-held territory at all."""

    distance_km: float | None
    held_km2_within_radius: float
    front_km_within_radius: float
    local: shapely.Geometry | None = None  # attacker-held within 2 x keep_local_km (a chart)


def measure_place(
    frame: LocalFrame,
    polygons,
    radius_km: float = RADIUS_KM,
    *,
    clip_bbox: tuple[float, float, float, float] | None = None,
    keep_local_km: float | None = None,
) -> PlaceMeasure:
    """Measure attacker-held ``polygons`` (lon/lat) around the place of ``frame``.

    The contact line is the boundary of attacker-held territory within ``radius_km``, without
    the edges of the snapshot's ``clip_bbox``; international borders and coasts that lie within
    the radius are counted (the map does not say which edges they are).
    """
    _check_radius(radius_km)
    if keep_local_km is not None:
        _check_radius(keep_local_km, "keep_local_km")
    polygons = np.asarray(polygons, dtype=object).ravel()
    if polygons.size == 0:
        return PlaceMeasure(distance_km=None, held_km2_within_radius=0.0,
                            front_km_within_radius=0.0)
    bounds = shapely.total_bounds(polygons)
    keep_km = 2.0 * keep_local_km if keep_local_km is not None else 0.0
    half_km = max(radius_km, keep_km) * 1.05 + 2.0
    if not np.isfinite(bounds).all():
        raise AdvsimError("polygons: a coordinate is not a finite number", param="polygons")
    # The box doubles until it holds the answer; from about 20,000 km it is the whole of
    # lon/lat, where the search ends whatever the polygons are: at most about 15 rounds.
    while True:
        box = frame.box(half_km)
        whole = box == _WORLD
        covers = (box[0] <= bounds[0] and box[1] <= bounds[1]
                  and box[2] >= bounds[2] and box[3] >= bounds[3])
        pieces = polygons if covers else shapely.clip_by_rect(polygons, *box)
        pieces = pieces[~shapely.is_empty(pieces)]
        if pieces.size:
            union = _union(frame.local(shapely.segmentize(pieces, DENSIFY_DEG)))
            reach = float(shapely.distance(union, _ORIGIN))
            signed = reach
            if reach == 0.0:  # inside or on the boundary: how far to its edge
                reach = float(shapely.distance(shapely.boundary(union), _ORIGIN))
                signed = -reach if reach > 0 else 0.0
            # Edges the box cut lie at least half_km away: nearer, the answer is the map's.
            if covers or whole or reach < half_km * 1000.0:
                break
        elif covers or whole:
            raise AdvsimError(
                "polygons: they lie outside longitude/latitude degrees (their bounds are "
                f"{', '.join(f'{b:.6g}' for b in bounds)}; expected W, S, E, N within "
                "[-180, 180] and [-90, 90])", param="polygons")
        half_km *= 2.0

    disc = frame.disc(radius_km)
    held = shapely.intersection(union, disc)
    front = shapely.intersection(shapely.boundary(union), disc)
    if clip_bbox is not None and not _within(box, clip_bbox, inset=1e-6):
        edges = shapely.segmentize(shapely.box(*clip_bbox).exterior, 0.01)
        front = shapely.difference(front, shapely.buffer(frame.local(edges), CLOSING_M))
    local = None
    if keep_local_km is not None:
        local = shapely.intersection(union, frame.disc(keep_km))
    return PlaceMeasure(
        distance_km=signed / 1000.0,
        held_km2_within_radius=frame.area_km2(held),
        front_km_within_radius=float(shapely.length(front)) / 1000.0,
        local=local,
    )


def _union(local_pieces):
    """The union of adjacent layers' pieces, with sub-metre seams between them closed."""
    if local_pieces.size == 1:
        return local_pieces[0]
    u = shapely.union_all(local_pieces)
    return shapely.buffer(shapely.buffer(u, CLOSING_M, join_style="mitre"), -CLOSING_M,
                          join_style="mitre")


def _within(box, outer, inset: float) -> bool:
    return (box[0] > outer[0] + inset and box[1] > outer[1] + inset
            and box[2] < outer[2] - inset and box[3] < outer[3] - inset)


class AreaFrame:
    """Areas of lon/lat geometries in an equal-area projection (EPSG:3035, LAEA Europe)."""

    def __init__(self) -> None:
        self._fwd = _apply(pyproj.Transformer.from_crs(4326, 3035, always_xy=True))

    def area_km2(self, geom) -> float:
        return float(shapely.area(shapely.transform(geom, self._fwd))) / 1e6


def layer_area_km2(
    area_frame: AreaFrame,
    polygons,
    *,
    clip=None,
    bbox: tuple[float, float, float, float] | None = None,
) -> float:
    """km² of the union of ``polygons`` (lon/lat), optionally within a polygon ``clip``
    (prepared, lon/lat) and/or a lon/lat ``bbox`` (W, S, E, N)."""
    polygons = np.asarray(polygons, dtype=object).ravel()
    if polygons.size == 0:
        return 0.0
    if bbox is not None:
        polygons = shapely.clip_by_rect(polygons, *bbox)
    if clip is not None:
        polygons = shapely.intersection(polygons, clip)
    polygons = polygons[~shapely.is_empty(polygons)]
    if polygons.size == 0:
        return 0.0
    return area_frame.area_km2(shapely.segmentize(shapely.union_all(polygons), DENSIFY_DEG))


# -- tracing a series of snapshots ---------------------------------------------------------------


@dataclass(kw_only=True)
class Trace:
    """Series by place and by layer, one row per snapshot, in map-date order: from ``trace``,
    or read back from the folder ``write`` made with :meth:`from_folder` (without the charts'
    geometry, which is not kept)."""

    places: dict[str, tuple[Place, list[dict]]] = field(default_factory=dict)
    areas: dict[str, list[dict]] = field(default_factory=dict)
    snapshots: list[dict] = field(default_factory=list)  # name, file_date, map_date, format, ...
    repaired: int = 0
    radius_km: float = RADIUS_KM
    contested: str = "exclude"
    attacker_held: tuple[str, ...] = ()
    date_convention: str = "auto"
    layer_map: str = ""
    charts: dict[str, list[tuple[dt.date, shapely.Geometry]]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # the snapshot files, in map-date order
    manifest: dict = field(default_factory=dict, repr=False)  # read back: the folder's

    def write(self, out: str | os.PathLike[str], *,
              inputs: Iterable[str | os.PathLike[str]] = (), overwrite: bool = False) -> Path:
        """Write this trace as the folder ``out`` (see ``sim.artifacts.traces.write_trace``);
        ``inputs`` are the other files it was measured with (towns, layer map, dates, clip),
        whose sha256 the manifest keeps beside each snapshot's."""
        from ..artifacts.traces import write_trace

        return write_trace(self, out, inputs=inputs, overwrite=overwrite)

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str]) -> Trace:
        """A trace folder written by ``advsim trace --out`` (or ``write``), checked against
        its manifest's checksums first; a failure is one AdvsimError naming the folder."""
        from ..artifacts.traces import read_trace

        got = read_trace(folder)
        places = {slug: (Place(name=name, lat=info["lat"], lon=info["lon"], slug=slug,
                               source=info.get("source") or ""), info["series"])
                  for slug, (name, info) in got.pop("places").items()}
        return cls(places=places, **got)

    def __repr__(self) -> str:
        from ..presentation.notebook import count, short

        span = (f"{self.snapshots[0]['date']} … {self.snapshots[-1]['date']}"
                if self.snapshots else "no snapshot")
        return short("Trace", span, [count(len(self.places), "place"),
                                     count(len(self.areas), "area"),
                                     count(len(self.snapshots), "snapshot")])

    def _repr_html_(self) -> str:
        """A notebook's view: each place's distance and each layer's area on the first and the
        last map."""
        from ..presentation.notebook import html

        rows = []
        for p, series in self.places.values():
            if series:
                rows.append((p.name, "distance, km", series[0]["date"],
                             series[0]["distance_km"], series[-1]["date"],
                             series[-1]["distance_km"]))
        for name, series in self.areas.items():
            if series:
                rows.append((name, "area, km²", series[0]["date"], series[0]["area_km2"],
                             series[-1]["date"], series[-1]["area_km2"]))
        return html("Trace", f"of {len(self.snapshots):,} snapshots",
                    ["place or layer", "measure", "first map", "value", "last map", "value"],
                    rows)

    def plot(self, output: str | os.PathLike[str] | None = None):
        """The map chart of the places: a matplotlib Figure, or with ``output`` that file and
        its path. Needs the geometry that ``trace(..., chart_dates=6)`` keeps."""
        from ..presentation.charts import figure_or_file, require_matplotlib
        from ..presentation.charts.map import map_chart

        if not self.charts:
            raise AdvsimError("chart_dates: this trace kept no map geometry to plot (trace it "
                              "with chart_dates=6, say)", param="chart_dates")
        require_matplotlib()
        return figure_or_file(map_chart(self), output)

    def to_dict(self) -> dict:
        """The JSON of ``advsim trace --json``."""
        return {
            "places": {
                p.name: {"lat": p.lat, "lon": p.lon, "sector": p.slug, "source": p.source,
                         "series": rows}
                for p, rows in self.places.values()
            },
            "areas": {name: {"series": rows} for name, rows in self.areas.items()},
            "snapshots": len(self.snapshots),
            "repaired": self.repaired,
            "radius_km": self.radius_km,
            "contested": self.contested,
            "contested_means": CONTESTED_MEANS[self.contested],
            "attacker_held": list(self.attacker_held),
            "date_convention": self.date_convention,
            "date_convention_means": DATE_CONVENTIONS[self.date_convention],
            "layer_map": self.layer_map,
        }


CONTESTED_MEANS = {
    "exclude": "contested (grey) areas are not attacker-held: distances run to the attacker's "
               "own layers, as in the single-layer archive",
    "attacker": "contested (grey) areas count as attacker-held",
}


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


def trace(
    inputs: Iterable[str | os.PathLike[str]],
    places: Iterable[Place] = (),
    *,
    areas: Iterable[str] = (),
    layer_map: LayerMap | None = None,
    radius_km: float = RADIUS_KM,
    contested: str = "exclude",
    clip=None,
    bbox: tuple[float, float, float, float] | None = None,
    dates: dict[str, dt.date] | None = None,
    date_convention: str = "auto",
    chart_dates: Callable[[list[dt.date]], set[dt.date]] | int | None = None,
    chart_km: float | None = None,
    on_note: Callable[[str], None] | None = None,
    on_snapshot: Callable[[int, int], None] | None = None,
) -> Trace:
    """Measure every snapshot in ``inputs`` (files or folders) for each place and layer.

    ``clip`` (a lon/lat polygon) and ``bbox`` restrict the layer areas. With ``chart_dates``
    (a function of the sorted map dates giving the dates to keep, or a number of dates evenly
    spaced through them: ``Trace.plot`` draws them), the attacker-held territory
    within 2 × ``chart_km`` of each place is kept for those dates, read in a second pass.
    What is resolved without an error (a folder's entries that are not files) is said once
    through ``on_note`` (default: a warning). ``on_snapshot(done, total)`` follows the
    snapshots measured.
    """
    inputs = path_list(list(inputs) if isinstance(inputs, Iterator) else inputs, "inputs",
                       "snapshot files or folders")
    places = [places] if isinstance(places, (str, Place)) else list(places)
    if not all(isinstance(p, Place) for p in places):
        raise ParameterTypeError(
            f"places: expected a list of Places (sim.data.towns.resolve_place('Pokrovsk') "
            f"finds one by name; got {shown(places)})", param="places")
    _check_radius(radius_km)
    pick = chart_dates if callable(chart_dates) or chart_dates is None else None
    if isinstance(chart_dates, int) and not isinstance(chart_dates, bool):
        if chart_dates < 1:
            raise ParameterError(f"chart_dates: expected a number of dates from 1 (got "
                                 f"{chart_dates})", param="chart_dates")
        pick = evenly_spaced(chart_dates)
    elif pick is None and chart_dates is not None:
        raise ParameterTypeError(f"chart_dates: expected a number of dates or a function of "
                                 f"the map dates (got {shown(chart_dates)})", param="chart_dates")
    if contested not in CONTESTED:
        raise ValueError(f"contested must be one of {CONTESTED} (got {contested!r})")
    layer_map = layer_map or load_layer_map()
    places = list(places)
    areas = list(areas)
    seen: dict[str, Place] = {}
    for p in places:
        if p.slug in seen:
            if seen[p.slug] == p:
                raise SnapshotError(f"{p.name}: given twice", file="--to")
            raise SnapshotError(f"{p.name} and {seen[p.slug].name} would share the sector "
                                f"{p.slug!r}: give one of them", file="--to")
        seen[p.slug] = p
    layer_specs = {name: layer_map.layer_spec(name) for name in areas}
    roles = set(layer_map.attacker_roles(contested)) if places else set()
    for spec_roles, values, _box in layer_specs.values():
        roles |= layer_map.roles_for(spec_roles, values)
    paths = snapshot_paths(inputs, on_note=on_note)
    frames = {p.slug: LocalFrame(p.lat, p.lon) for p in places}
    area_frame = AreaFrame() if areas else None
    if clip is not None:
        shapely.prepare(clip)
    out = Trace(radius_km=radius_km, contested=contested, date_convention=date_convention,
                attacker_held=layer_map.attacker_roles(contested), layer_map=layer_map.file)
    place_rows: dict[str, list[dict]] = {p.slug: [] for p in places}
    area_rows: dict[str, list[dict]] = {a: [] for a in areas}
    by_date: dict[dt.date, Path] = {}
    read_files: list[str] = []

    def read(path: Path) -> Snapshot:
        return read_snapshot(path, layer_map, roles=tuple(roles), dates=dates,
                             date_convention=date_convention)

    for k, path in enumerate(paths):
        if on_snapshot is not None:
            on_snapshot(k, len(paths))
        snap = read(path)
        if snap.map_date in by_date:
            raise SnapshotError(
                f"map date {snap.map_date} repeats (also {by_date[snap.map_date]}); trace one "
                "publisher's snapshots at a time, or give --dates", file=str(path))
        by_date[snap.map_date] = path
        read_files.append(str(path))
        out.repaired += snap.repaired
        out.snapshots.append({"snapshot": snap.name, "file_date": snap.file_date.isoformat(),
                              "date": snap.map_date.isoformat(), "format": snap.format,
                              "date_from": snap.date_source, "repaired": snap.repaired,
                              "source": snap.source})
        common = {"date": snap.map_date.isoformat(), "file_date": snap.file_date.isoformat()}
        if places:
            attacker = snap.role_polygons(out.attacker_held)
            for p in places:
                m = measure_place(frames[p.slug], attacker, radius_km, clip_bbox=snap.clip_bbox)
                place_rows[p.slug].append({
                    **common,
                    "distance_km": _r(m.distance_km),
                    "held_km2_within_radius": _r(m.held_km2_within_radius, 3),
                    "front_km_within_radius": _r(m.front_km_within_radius, 3),
                    "snapshot": snap.name, "source": snap.source,
                })
        for name, (spec_roles, values, within) in layer_specs.items():
            assert area_frame is not None  # there are layers to measure
            polys = snap.layer_polygons(spec_roles, values, within)
            area_rows[name].append({
                **common,
                "area_km2": _r(layer_area_km2(area_frame, polys, clip=clip, bbox=bbox), 3),
                "snapshot": snap.name, "source": snap.source,
            })
        del snap

    order = sorted(range(len(out.snapshots)), key=lambda i: out.snapshots[i]["date"])
    out.snapshots = [out.snapshots[i] for i in order]
    out.files = [read_files[i] for i in order]
    out.places = {p.slug: (p, [place_rows[p.slug][i] for i in order]) for p in places}
    out.areas = {a: [area_rows[a][i] for i in order] for a in areas}

    if pick is not None and places:
        wanted = pick(sorted(by_date))
        km = chart_km or radius_km
        out.charts = {p.slug: [] for p in places}
        for day in sorted(wanted):
            snap = read(by_date[day])
            attacker = snap.role_polygons(out.attacker_held)
            for p in places:
                m = measure_place(frames[p.slug], attacker, radius_km,
                                  clip_bbox=snap.clip_bbox, keep_local_km=km)
                out.charts[p.slug].append((day, m.local))
    return out


def evenly_spaced(n: int) -> Callable[[list[dt.date]], set[dt.date]]:
    """Up to ``n`` dates evenly spaced through the series, the first and last included."""
    def pick(days: list[dt.date]) -> set[dt.date]:
        if len(days) <= n:
            return set(days)
        idx = np.unique(np.round(np.linspace(0, len(days) - 1, n)).astype(int))
        return {days[i] for i in idx}
    return pick
