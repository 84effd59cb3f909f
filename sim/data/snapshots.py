"""Map snapshots: dated GeoJSON of who holds what, read into polygons by role.

Two formats are read. The single-layer format holds one (Multi)Polygon of attacker-held
territory per file and nothing else (cyterat/deepstate-map-data: ``deepstatemap_data_YYYYMMDD
.geojson``). The multi-layer format holds a publisher's layers as features told apart by a
property (DeepStateMap: ``properties.fill``); a layer map (YAML, ``sim/layers/``) says which
values are which role and which roles are attacker-held.

A snapshot's date comes from a ``--dates`` table, else a top-level ``date`` or ``snapshot_utc``
member, else ``YYYY-MM-DD`` or ``YYYYMMDD`` in its file name, else a file name that is a unix
time (the multi-layer archive's ``geojsons/{unix_ts}.geojson``: its UTC date). Its *map date*
(the day whose situation it shows) follows a date convention: see :data:`DATE_CONVENTIONS`.

shapely (>= 2) is imported with this module: ``pip install 'advsim[geo]'``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AdvsimError, ScenarioError
from .inputs import kind_of, read_bytes, read_text

GEO_HINT = "advsim trace needs shapely and pyproj: pip install 'advsim[geo]'"
try:
    import numpy as np
    import shapely
    from shapely.geometry import shape
except ImportError:  # pragma: no cover - exercised only without the extra
    raise AdvsimError(GEO_HINT) from None

LAYERS_FILE = Path(__file__).parent / "layers" / "deepstatemap.yaml"
CONTESTED = ("exclude", "attacker")
DATE_CONVENTIONS = {
    "auto": "map date = file date - 1 day for the single-layer archive's "
            "deepstatemap_data_YYYYMMDD files (downloaded at about 03:00 UTC, they show the map "
            "of the evening before); otherwise the snapshot's own date (snapshot_utc, date, a "
            "--dates row or the date in its name)",
    "same-day": "map date = the snapshot's date, for every file",
    "previous-day": "map date = the snapshot's date - 1 day, for every file",
}
_SINGLE_LAYER_NAME = re.compile(r"^deepstatemap_data_\d{8}\.geojson$")
_NAME_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")
_UNIX_NAME = re.compile(r"^(\d{9,10})\.(?:geo)?json$", re.IGNORECASE)
_POLYGONAL = ("Polygon", "MultiPolygon")
# Limits read before anything else: a multi-layer DeepStateMap snapshot is a few MB.
MAX_SNAPSHOT_BYTES = 50 * 2**20  # a snapshot or a clip region (GeoJSON)
MAX_DATES_BYTES = 5 * 2**20  # a --dates table: tens of thousands of rows
_MAX_INT_DIGITS = 30  # longer integers in GeoJSON are read as floats (then checked as numbers)


class SnapshotError(ScenarioError):
    """A bad snapshot or layer map: ``FILE: features[i]: what is wrong``."""


@dataclass(frozen=True, kw_only=True)
class LayerMap:
    """Which feature property values are which role, and which roles are attacker-held."""

    name: str
    property: str
    roles: dict[str, tuple[str, ...]]
    attacker_held: tuple[str, ...]
    contested: tuple[str, ...]
    layers: dict[str, dict] = field(default_factory=dict)  # name -> {roles, values, within_bbox}
    by_name: dict[str, tuple[str, ...]] = field(default_factory=dict)  # role -> name fragments
    file: str = str(LAYERS_FILE)

    def role_by_name(self, name: object) -> str | None:
        """The role a feature's ``name`` gives it over its layer's, if any."""
        if isinstance(name, str):
            for role, fragments in self.by_name.items():
                if any(f in name for f in fragments):
                    return role
        return None

    def role_of(self) -> dict[str, str]:
        """Property value -> role."""
        return {v: role for role, values in self.roles.items() for v in values}

    def attacker_roles(self, contested: str) -> tuple[str, ...]:
        if contested not in CONTESTED:
            raise ValueError(f"contested must be one of {CONTESTED} (got {contested!r})")
        extra = self.contested if contested == "attacker" else ()
        return (*self.attacker_held, *extra)

    def layer(self, name: str) -> dict:
        """A named layer for area measurement: a layers entry, or a role on its own."""
        if name in self.layers:
            return self.layers[name]
        if name in self.roles:
            return {"roles": [name], "values": [], "within_bbox": None}
        from ..model.keypath import did_you_mean

        known = [*self.layers, *self.roles]
        raise SnapshotError(f"areas {name!r}: no such layer or role{did_you_mean(name, known)}; "
                            f"the layer map has {', '.join(known)}", file=self.file,
                            param="areas")

    def layer_spec(self, name: str) -> tuple[set[str], set[str], tuple[float, ...] | None]:
        """A named layer's roles, extra property values and optional selecting box."""
        spec = self.layer(name)
        box = spec.get("within_bbox")
        return (set(spec.get("roles") or ()), set(spec.get("values") or ()),
                tuple(box) if box else None)

    def roles_for(self, roles: set[str], values: set[str]) -> set[str]:
        """The roles a snapshot must keep to find these roles and property values."""
        role_of = self.role_of()
        return set(roles) | {role_of[v] for v in values if v in role_of} | set(self.by_name)


def load_layer_map(path: str | os.PathLike[str] | None = None) -> LayerMap:
    """Read a layer map (YAML); the default is DeepStateMap's."""
    from ..model.loader import Context, read_text, read_yaml

    fname = os.fspath(path) if path is not None else str(LAYERS_FILE)
    try:
        doc, lines = read_yaml(read_text(fname, "a layer map YAML file"), fname)
    except ScenarioError as e:
        raise SnapshotError(e.message, file=e.file, line=e.line, key=e.key) from None
    ctx = Context(lines, fname)

    def need(cond: bool, key: str, what: str) -> None:
        if not cond:
            e = ctx.error(tuple(key.split(".")) if key else (), what)
            raise SnapshotError(e.message, file=e.file, line=e.line, key=e.key)

    need(isinstance(doc, dict), "", "expected a mapping with property, roles, attacker_held")
    roles = doc.get("roles")
    need(isinstance(roles, dict) and bool(roles), "roles",
         "expected a mapping of role: [property values]")
    clean = {}
    for role, values in roles.items():
        need(isinstance(values, list) and all(isinstance(v, str) for v in values),
             f"roles.{role}", "expected a list of property values (strings)")
        clean[str(role)] = tuple(values)
    for key in ("attacker_held", "contested"):
        lst = doc.get(key, [] if key == "contested" else None)
        need(isinstance(lst, list) and all(r in clean for r in lst), key,
             f"expected a list of roles among {', '.join(clean)}")
    need(bool(doc["attacker_held"]), "attacker_held", "expected at least one role")
    layers = doc.get("layers") or {}
    need(isinstance(layers, dict), "layers", "expected a mapping of layer: {roles, values}")
    for lname, spec in layers.items():
        need(isinstance(spec, dict) and bool(spec.get("roles") or spec.get("values")),
             f"layers.{lname}", "expected roles: [...] and/or values: [...]")
        need(all(r in clean for r in spec.get("roles") or ()), f"layers.{lname}.roles",
             f"expected roles among {', '.join(clean)}")
        box = spec.get("within_bbox")
        need(box is None or (isinstance(box, list) and len(box) == 4
                             and all(isinstance(x, (int, float)) for x in box)),
             f"layers.{lname}.within_bbox", "expected [W, S, E, N] in degrees")
    by_name = doc.get("by_name") or {}
    need(isinstance(by_name, dict) and all(
        r in clean and isinstance(v, list) and all(isinstance(x, str) for x in v)
        for r, v in by_name.items()), "by_name", "expected a mapping of role: [name fragments]")
    return LayerMap(
        name=str(doc.get("name", Path(fname).stem)), property=str(doc.get("property", "fill")),
        roles=clean, attacker_held=tuple(doc["attacker_held"]),
        contested=tuple(doc.get("contested", [])), layers=dict(layers),
        by_name={r: tuple(v) for r, v in by_name.items()}, file=fname,
    )


# -- dates ---------------------------------------------------------------------------------------


def read_dates_table(path: str | os.PathLike[str], *,
                     on_note: Callable[[str], None] | None = None) -> dict[str, dt.date]:
    """A ``file,date`` CSV: the map date of each snapshot, by file name. A file named on two
    rows keeps its last row, said once through ``on_note`` (default: a warning); two
    different dates for one file are an error."""
    fname = os.fspath(path)
    text = read_text(fname, "a CSV of file,date", MAX_DATES_BYTES, SnapshotError)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise SnapshotError(f"not a CSV of file,date ({e})", file=fname) from None
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["file", "date"]:
        raise SnapshotError("expected a CSV with header file,date", file=fname, line=1)
    out: dict[str, dt.date] = {}
    lines: dict[str, int] = {}
    repeated = []
    for i, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        try:
            name, day = os.path.basename(row[0].strip()), dt.date.fromisoformat(row[1].strip())
        except (IndexError, ValueError):
            raise SnapshotError(f"expected file,YYYY-MM-DD, got {','.join(row)!r}",
                                file=fname, line=i) from None
        if name in out:
            if out[name] != day:
                raise SnapshotError(f"{name}: dated {out[name]} on line {lines[name]} and "
                                    f"{day} here: give one date per file", file=fname, line=i)
            repeated.append(name)
        out[name], lines[name] = day, i
    if repeated:
        _note(f"{fname}: {len(repeated)} repeated row{'s' if len(repeated) > 1 else ''} with "
              f"the same date (first: {repeated[0]}), read once", on_note)
    return out


def _note(line: str, on_note: Callable[[str], None] | None) -> None:
    """Say once what was resolved without an error."""
    if on_note is not None:
        on_note(line)
    else:
        warnings.warn(line, stacklevel=3)


def load_geojson(raw: bytes, fname: str):
    """Parse GeoJSON text: malformed, too deeply nested or unreadable text is one located
    SnapshotError. Integers too long for their value to matter are read as floats, so an
    absurd coordinate is refused where it stands (see ``_geometry``)."""
    def parse_int(text: str) -> int | float:
        return int(text) if len(text) <= _MAX_INT_DIGITS else float(text)

    try:
        return json.loads(raw, parse_int=parse_int)
    except UnicodeDecodeError as e:
        raise SnapshotError(f"not GeoJSON (not UTF-8 text: {e.reason})", file=fname) from None
    except json.JSONDecodeError as e:
        raise SnapshotError(f"not GeoJSON (invalid JSON at line {e.lineno}: {e.msg})",
                            file=fname) from None
    except RecursionError:
        raise SnapshotError("not GeoJSON (nested too deeply: GeoJSON nests a few levels)",
                            file=fname) from None
    except ValueError as e:
        raise SnapshotError(f"not GeoJSON ({e})", file=fname) from None


def _date_of(path: Path, doc: dict, dates: dict[str, dt.date] | None) -> tuple[dt.date, str]:
    """The snapshot's own date and where it came from."""
    if dates and path.name in dates:
        return dates[path.name], "--dates"
    for key in ("date", "snapshot_utc"):
        raw = doc.get(key)
        if isinstance(raw, str):
            try:
                if key == "date":
                    return dt.date.fromisoformat(raw[:10]), key
                t = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
                if t.tzinfo is not None:
                    t = t.astimezone(dt.timezone.utc)
                return t.date(), key
            except (ValueError, OverflowError):
                raise SnapshotError(f"{key}: expected an ISO date, got {raw!r}",
                                    file=str(path)) from None
    m = _NAME_DATE.search(path.name)
    if m:
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))), "file name"
        except ValueError:
            pass
    m = _UNIX_NAME.match(path.name)
    if m:
        t = dt.datetime.fromtimestamp(int(m.group(1)), tz=dt.timezone.utc)
        return t.date(), "unix time in file name"
    raise SnapshotError(
        "no date (expected YYYY-MM-DD or YYYYMMDD in the file name or a unix time as its name, "
        "a top-level date or snapshot_utc member, or a row in --dates)", file=str(path),
    )


def map_date_offset(path: Path, date_source: str, convention: str) -> int:
    """Days between a snapshot's date and the day its map shows, under ``convention``."""
    if convention not in DATE_CONVENTIONS:
        raise ValueError(f"date convention must be one of {tuple(DATE_CONVENTIONS)}")
    if convention == "auto":
        return int(date_source == "file name" and bool(_SINGLE_LAYER_NAME.match(path.name)))
    return int(convention == "previous-day")


# -- snapshots -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """One map: its dates, format and polygons (lon/lat degrees) by role."""

    path: Path
    file_date: dt.date
    map_date: dt.date
    date_source: str
    format: str  # "single-layer" | "multi-layer"
    polygons: dict[str, np.ndarray]  # role -> array of shapely (Multi)Polygons
    representative: dict[str, np.ndarray]  # role -> their representative points
    values: dict[str, np.ndarray]  # role -> the property value of each polygon
    repaired: int
    clip_bbox: tuple[float, float, float, float] | None
    source: str

    @property
    def name(self) -> str:
        return self.path.name

    def role_polygons(self, roles) -> np.ndarray:
        parts = [self.polygons[r] for r in roles if r in self.polygons]
        return np.concatenate(parts) if parts else np.empty(0, dtype=object)

    def layer_polygons(self, roles: set[str], values: set[str], within_bbox=None) -> np.ndarray:
        """The polygons of ``roles`` or whose property value is in ``values`` (and whose
        representative point lies within ``within_bbox``)."""
        out = []
        for role, geoms in self.polygons.items():
            keep = np.full(len(geoms), role in roles) | np.isin(self.values[role], list(values))
            if within_bbox is not None:
                w, s, e, n = within_bbox
                xy = shapely.get_coordinates(self.representative[role])
                keep &= (xy[:, 0] >= w) & (xy[:, 0] <= e) & (xy[:, 1] >= s) & (xy[:, 1] <= n)
            out.append(geoms[keep])
        return np.concatenate(out) if out else np.empty(0, dtype=object)


def snapshot_paths(inputs, *, on_note: Callable[[str], None] | None = None) -> list[Path]:
    """The snapshot files named, a folder standing for its ``*.geojson`` and ``*.json`` files
    (sorted by name). A folder's entries that are not regular files (dangling links, pipes)
    are skipped, said once through ``on_note`` (default: a warning)."""
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        kind = kind_of(p)
        if kind is None and p.is_dir():
            found, skipped = [], []
            for q in sorted(p.iterdir()):
                if q.suffix.lower() not in (".geojson", ".json"):
                    continue
                what = kind_of(q)
                if what is None and q.is_file():
                    found.append(q)
                elif what is not None:
                    skipped.append(f"{q.name} ({what.split(',')[0]})")
            if skipped:
                _note(f"{p}: skipped {len(skipped)} entr{'ies' if len(skipped) > 1 else 'y'} "
                      f"that {'are not files' if len(skipped) > 1 else 'is not a file'}: "
                      + ", ".join(skipped[:3]) + (", ..." if len(skipped) > 3 else ""), on_note)
            if not found:
                raise SnapshotError("no snapshots in this folder (expected *.geojson files)",
                                    file=str(p))
            out += found
        elif kind is None:
            out.append(p)
        else:
            raise SnapshotError(kind if kind == "no such file or folder"
                                else f"{kind} (expected a GeoJSON snapshot or a folder of them)",
                                file=str(p))
    if not out:
        raise SnapshotError("no snapshots given (expected GeoJSON files or folders)",
                            file="advsim trace")
    seen: dict[Path, Path] = {}
    for p in out:
        key = p.resolve()
        if key in seen:
            raise SnapshotError(f"given twice (also as {seen[key]})", file=str(p))
        seen[key] = p
    return out


def read_snapshot(
    path: str | os.PathLike[str],
    layer_map: LayerMap,
    *,
    roles: tuple[str, ...] | None = None,
    dates: dict[str, dt.date] | None = None,
    date_convention: str = "auto",
) -> Snapshot:
    """Read one snapshot, keeping the polygons of ``roles`` (default: every role).

    Invalid polygons are repaired with ``shapely.make_valid`` (their polygonal part is kept)
    and counted in ``repaired``.
    """
    p = Path(path)
    fname = str(p)
    doc = load_geojson(read_bytes(p, "a GeoJSON snapshot", MAX_SNAPSHOT_BYTES, SnapshotError),
                       fname)
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature",
                                                             *_POLYGONAL):
        got = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise SnapshotError(f"not GeoJSON (expected a FeatureCollection, a Feature or a "
                            f"Polygon; got type {got!r})", file=fname)
    file_date, date_source = _date_of(p, doc, dates)
    offset = map_date_offset(p, date_source, date_convention)
    try:
        map_date = file_date - dt.timedelta(days=offset)
    except OverflowError:
        raise SnapshotError(f"map date before year 1 (file date {file_date} from its "
                            f"{date_source}, under --date-convention {date_convention})",
                            file=fname) from None

    if doc["type"] == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise SnapshotError("features: expected a list of features", file=fname)
    elif doc["type"] == "Feature":
        features = [doc]
    else:
        features = [{"type": "Feature", "properties": {}, "geometry": doc}]
    prop = layer_map.property
    multi = any(isinstance(f, dict) and isinstance(f.get("properties"), dict)
                and prop in f["properties"] for f in features)
    role_of = layer_map.role_of()
    wanted = set(roles) if roles is not None else set(layer_map.roles)
    geoms: dict[str, list] = {}
    values: dict[str, list] = {}
    n_repaired = 0
    for i, f in enumerate(features):
        key = f"features[{i}]"
        if not isinstance(f, dict) or f.get("type") != "Feature":
            raise SnapshotError("expected a GeoJSON Feature", file=fname, key=key)
        props = f.get("properties") or {}
        if multi:
            role = role_of.get(str(props.get(prop))) if isinstance(props, dict) else None
            if role is not None:
                role = layer_map.role_by_name(props.get("name")) or role
            if role is None or role not in wanted:
                continue  # markers, unmapped layers, or roles not asked for
            value = props[prop]
        else:
            role, value = layer_map.attacker_held[0], ""
        g = f.get("geometry")
        gtype = g.get("type") if isinstance(g, dict) else None
        members = ((g or {}).get("geometries") if gtype == "GeometryCollection" else [g]) or []
        kinds = {m.get("type") if isinstance(m, dict) else None for m in members}
        if not kinds or not kinds <= set(_POLYGONAL):
            what = gtype if gtype != "GeometryCollection" else (
                "a GeometryCollection with " + ", ".join(sorted(map(str, kinds))) if kinds
                else "an empty GeometryCollection")
            raise SnapshotError(
                f"geometry is {what or 'missing'}, not a Polygon or MultiPolygon"
                + (f" (layer {value})" if multi else ""), file=fname, key=key)
        geom = _geometry(g, gtype, fname, key)
        if gtype == "GeometryCollection":  # polygons exported one by one (KML): their union
            parts = shapely.get_parts(geom)
            bad = ~shapely.is_valid(parts)
            n_repaired += int(bad.sum())
            parts[bad] = [_polygonal(q) for q in shapely.make_valid(parts[bad])]
            geom = shapely.union_all(parts)
        if role in wanted:
            geoms.setdefault(role, []).append(geom)
            values.setdefault(role, []).append(value)
    if not multi and not geoms:
        raise SnapshotError("no polygons (expected a Polygon or MultiPolygon of attacker-held "
                            "territory, or features with properties."
                            f"{prop} as in the layer map {layer_map.file})", file=fname)

    repaired = n_repaired
    polygons, reps, vals = {}, {}, {}
    for role, lst in geoms.items():
        arr = np.array(lst, dtype=object)
        bad = ~shapely.is_valid(arr)
        if bad.any():
            repaired += int(bad.sum())
            arr[bad] = [_polygonal(g) for g in shapely.make_valid(arr[bad])]
        keep = ~shapely.is_empty(arr)
        polygons[role] = arr[keep]
        vals[role] = np.array(values[role], dtype=object)[keep]
        reps[role] = shapely.point_on_surface(polygons[role])
    clip_bbox = _clip_bbox(doc.get("clip_bbox"), fname)
    if multi:
        source = f"{layer_map.name} via {doc.get('source_repo') or p.parent.name}"
    elif _SINGLE_LAYER_NAME.match(p.name):
        source = "DeepStateMap via cyterat/deepstate-map-data"
    else:
        source = f"single-layer map via {doc.get('source_repo') or p.parent.name}"
    return Snapshot(
        path=p, file_date=file_date, map_date=map_date, date_source=date_source,
        format="multi-layer" if multi else "single-layer", polygons=polygons,
        representative=reps, values=vals, repaired=repaired, clip_bbox=clip_bbox,
        source=source,
    )


def read_region(path: str | os.PathLike[str]):
    """The union of every (Multi)Polygon in a GeoJSON file (a clip region), lon/lat."""
    fname = os.fspath(path)
    doc = load_geojson(read_bytes(fname, "a GeoJSON clip region", MAX_SNAPSHOT_BYTES,
                                  SnapshotError), fname)
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind == "FeatureCollection":
        items = [(f"features[{i}]", f.get("geometry") if isinstance(f, dict) else None)
                 for i, f in enumerate(doc.get("features") or [])]
    elif kind == "Feature":
        items = [("geometry", doc.get("geometry"))]
    else:
        items = [("", doc)]
    polys = []
    for key, g in items:
        gtype = g.get("type") if isinstance(g, dict) else None
        if gtype not in _POLYGONAL:
            raise SnapshotError(f"geometry is {gtype or 'missing'}, not a Polygon or "
                                "MultiPolygon (a clip region)", file=fname, key=key)
        geom = _geometry(g, gtype, fname, key)
        polys.append(geom if geom.is_valid else _polygonal(shapely.make_valid(geom)))
    if not polys:
        raise SnapshotError("no Polygon or MultiPolygon to clip to", file=fname)
    return shapely.union_all(polys)


def _clip_bbox(box: Any, fname: str) -> tuple[float, float, float, float] | None:
    """A snapshot's ``clip_bbox`` member: [W, S, E, N] in degrees, or absent."""
    if box is None:
        return None
    if not (isinstance(box, list) and len(box) == 4 and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in box)):
        raise SnapshotError(f"expected [W, S, E, N] in degrees (got {_shown(box)})",
                            file=fname, key="clip_bbox")
    w, s, e, n = (float(x) for x in box)
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        raise SnapshotError(f"expected [W, S, E, N] in degrees, W <= E in [-180, 180] and "
                            f"S <= N in [-90, 90] (got {_shown(box)})", file=fname,
                            key="clip_bbox")
    return (w, s, e, n)


def _not_finite(g: Any) -> float | None:
    """The first number in a geometry's coordinates that is not finite, if any."""
    stack = [g.get("coordinates"), g.get("geometries")] if isinstance(g, dict) else [g]
    while stack:
        x = stack.pop()
        if isinstance(x, float) and not math.isfinite(x):
            return x
        if isinstance(x, dict):
            stack += [x.get("coordinates"), x.get("geometries")]
        elif isinstance(x, list):
            stack += x
    return None


def _shown(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _polygonal(g):
    """The polygonal part of a repaired geometry (make_valid may add lines or points)."""
    parts = shapely.get_parts(g)
    polys = [q for q in parts if q.geom_type in _POLYGONAL]
    return shapely.union_all(polys) if polys else shapely.Polygon()


def _geometry(g: Any, gtype: str | None, fname: str, key: str):
    """A GeoJSON geometry (its type already checked) as a shapely one: bad coordinates and
    empty geometries are errors."""
    try:
        geom = shape(g)
        xy = shapely.get_coordinates(geom)
    except (ValueError, TypeError, IndexError, AttributeError, OverflowError, RecursionError,
            shapely.errors.ShapelyError) as e:
        odd = _not_finite(g)  # a NaN vertex leaves a ring unclosed: say what is wrong
        if odd is not None:
            raise SnapshotError(f"a coordinate is not a finite number ({odd}): expected "
                                "longitude, latitude in degrees", file=fname, key=key) from None
        raise SnapshotError(f"bad {gtype} coordinates ({_shown(str(e))})", file=fname,
                            key=key) from None
    if geom.is_empty:
        raise SnapshotError(f"geometry is an empty {gtype}", file=fname, key=key)
    if not np.isfinite(xy).all():
        x, y = xy[~np.isfinite(xy).all(axis=1)][0]
        raise SnapshotError(f"a coordinate is not a finite number ({x:g}, {y:g}): expected "
                            "longitude, latitude in degrees", file=fname, key=key)
    lon, lat = np.abs(xy).max(axis=0)
    if lon > 180 or lat > 90:
        raise SnapshotError(
            f"coordinates are not longitude/latitude degrees (up to |x| = {lon:.6g}, |y| = "
            f"{lat:.6g}; a projected export such as Web Mercator?): GeoJSON is in degrees, "
            "longitude in [-180, 180], latitude in [-90, 90]", file=fname, key=key)
    return geom
