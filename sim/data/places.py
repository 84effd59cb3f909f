"""A place to measure from, and the towns CSV that places are read from (the shipped
``sim/data/towns.csv`` or a user's). Only the standard library is imported here."""

from __future__ import annotations

import csv
import functools
import io
import math
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import ScenarioError
from .inputs import read_text

TOWNS_FILE = Path(__file__).parent / "towns.csv"
_COUNTRY = re.compile(r"^[A-Z]{2}$")
# Letters and digits of other scripts kept in slugs (not modifier letters such as U+02BC,
# which slugs never had).
_LETTERS = ("Lu", "Ll", "Lt", "Lo", "Nd")
MAX_TOWNS_BYTES = 20 * 2**20  # a towns CSV: GeoNames' 10,800 places are about 1 MB


class PlaceError(ScenarioError):
    """A place that cannot be resolved, or a bad towns file: ``FILE: what is wrong``."""


@dataclass(frozen=True, kw_only=True, slots=True)
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


@dataclass(frozen=True, kw_only=True, slots=True)
class TownRow:
    """One row of a towns CSV: its place (slug from its name alone), aliases and line."""

    place: Place
    aliases: tuple[str, ...]
    line: int


def slugify(name: str) -> str:
    """Lower-case words joined by hyphens, keeping the letters of every script: 'Chasiv Yar'
    -> 'chasiv-yar', 'Київ' -> 'київ'. Latin letters lose their accents ('Bílá' -> 'bila'), as
    they always did; a name of no letters or digits is spelled by its code points ('?' ->
    'u003f'), so a slug is never empty and names without letters do not collide."""
    if name.isascii():  # most names: each character is its own NFC and NFKD form
        spelled = _NOT_SLUG.sub("-", name.lower())
    else:
        spelled = "".join(map(_slug_char, unicodedata.normalize("NFC", name)))
    slug = _HYPHENS.sub("-", spelled).strip("-")
    if slug:
        return slug
    return "-".join(f"u{ord(c):04x}" for c in name.strip()) or "place"


_NOT_SLUG = re.compile(r"[^a-z0-9]")
_HYPHENS = re.compile(r"-{2,}")


@functools.lru_cache(maxsize=4096)
def _slug_char(c: str) -> str:
    """One character of a slug: its ASCII letters or digits (else hyphens), a letter of
    another script lower-cased, or nothing."""
    ascii_ = unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode()
    if ascii_:
        return _NOT_SLUG.sub("-", ascii_.lower())
    return c.lower() if unicodedata.category(c) in _LETTERS else ""


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
    text = read_text(fname, "a towns CSV of name,lat,lon", MAX_TOWNS_BYTES, PlaceError)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _town_rows(reader, fname)  # row by row: no list of every row's dict at once
    except csv.Error as e:
        raise PlaceError(f"not a CSV of name,lat,lon ({e})", file=fname) from None


def _town_rows(reader: csv.DictReader, fname: str) -> list[TownRow]:
    if not {"name", "lat", "lon"} <= set(reader.fieldnames or ()):
        raise PlaceError("expected a CSV with columns name,lat,lon", file=fname, line=1)
    out = []
    for i, row in enumerate(reader, start=2):
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
    if not out:
        raise PlaceError("expected a CSV with columns name,lat,lon", file=fname, line=1)
    return out


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points (degrees), km, on the mean Earth radius:
    within 0.5% of the geodesic, enough to say which places are near each other."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))
