"""Places to measure from: a shipped towns file (``sim/data/towns.csv``) or ``LAT,LON``.

Only the standard library is imported here, so resolving a place costs nothing.
"""

from __future__ import annotations

import csv
import difflib
import math
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import ScenarioError

TOWNS_FILE = Path(__file__).parent / "towns.csv"
_LATLON = re.compile(r"^\s*([+-]?\d+(?:\.\d*)?)\s*,\s*([+-]?\d+(?:\.\d*)?)\s*$")


class PlaceError(ScenarioError):
    """A place that cannot be resolved, or a bad towns file: ``FILE: what is wrong``."""


@dataclass(frozen=True, kw_only=True)
class Place:
    """A point to measure from, in WGS84 degrees; ``slug`` names its sector in observed series."""

    name: str
    lat: float
    lon: float
    slug: str
    source: str = ""


def slugify(name: str) -> str:
    """Lower-case ASCII words joined by hyphens: 'Chasiv Yar' -> 'chasiv-yar'."""
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")


def load_towns(path: str | os.PathLike[str] | None = None) -> dict[str, Place]:
    """The towns of a CSV with columns ``name,lat,lon`` (optional ``aliases``, separated by
    ``;``, and ``source``), keyed by every lower-case name, alias and slug."""
    fname = os.fspath(path) if path is not None else str(TOWNS_FILE)
    try:
        with open(fname, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise PlaceError(f"cannot read the towns file: {e.strerror or e}", file=fname) from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise PlaceError(f"not a CSV of name,lat,lon ({e})", file=fname) from None
    if not rows or not {"name", "lat", "lon"} <= set(rows[0]):
        raise PlaceError("expected a CSV with columns name,lat,lon", file=fname, line=1)
    towns: dict[str, Place] = {}
    for i, row in enumerate(rows, start=2):
        name = (row.get("name") or "").strip()
        try:
            lat, lon = float(row["lat"]), float(row["lon"])
        except (TypeError, ValueError):
            raise PlaceError(f"lat,lon must be numbers (got {row.get('lat')!r}, "
                             f"{row.get('lon')!r})", file=fname, line=i) from None
        if not name or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise PlaceError("expected a name and lat in [-90, 90], lon in [-180, 180]",
                             file=fname, line=i)
        place = Place(name=name, lat=lat, lon=lon, slug=slugify(name),
                      source=(row.get("source") or "").strip())
        aliases = [a.strip() for a in (row.get("aliases") or "").split(";") if a.strip()]
        for key in {name.casefold(), place.slug, *(a.casefold() for a in aliases)}:
            towns.setdefault(key, place)
    return towns


def resolve_place(text: str, towns: dict[str, Place], *, towns_file: str = str(TOWNS_FILE),
                  ) -> Place:
    """A place from a town name (case-insensitive) or ``LAT,LON`` in degrees."""
    m = _LATLON.match(text)
    if m:
        lat, lon = float(m.group(1)), float(m.group(2))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or not math.isfinite(lat + lon):
            raise PlaceError(f"{text!r}: latitude must be in [-90, 90] and longitude in "
                             "[-180, 180] (expected LAT,LON in degrees)", file="--to")
        name = f"{lat:g},{lon:g}"
        slug = f"{abs(lat):g}{'n' if lat >= 0 else 's'}-{abs(lon):g}{'e' if lon >= 0 else 'w'}"
        return Place(name=name, lat=lat, lon=lon, slug=slug, source="given as LAT,LON")
    key = text.strip().casefold()
    if key in towns:
        return towns[key]
    if slugify(text) in towns:
        return towns[slugify(text)]
    names = sorted({p.name for p in towns.values()})
    close = difflib.get_close_matches(text.strip(), names, n=1, cutoff=0.6)
    close = close or difflib.get_close_matches(key, list(towns), n=1, cutoff=0.6)
    hint = f" (did you mean {towns[close[0].casefold()].name!r}?)" if close else ""
    raise PlaceError(f"no place {text!r} in the towns file{hint}; give a town from "
                     f"{towns_file} or LAT,LON", file="--to")
