"""The local map projections every measurement shares: a place's azimuthal equidistant frame
(distances and lengths in metres) with its equal-area twin (areas), and one frame centred on a
set of places (many places measured at once). Geometry only: it knows no snapshot, place list
or chart, so measuring and drawing both build on it.

shapely (>= 2) and pyproj are imported with this module: ``pip install 'advsim[geo]'``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import AdvsimError
from .snapshots import GEO_HINT

try:
    import numpy as np
    import pyproj
    import shapely
except ImportError:  # pragma: no cover - exercised only without the extra
    raise AdvsimError(GEO_HINT) from None

if TYPE_CHECKING:
    from .towns import Place

_DISC_SEGMENTS = 256  # per quarter circle: the disc's area is within 1e-5 of pi R^2
_KM_PER_DEG_LAT_MIN = 110.5  # a degree of latitude is 110.57-111.69 km: a box this wide is enough
_KM_PER_DEG_LON_EQ = 111.32
_ORIGIN = shapely.Point(0.0, 0.0)


def _apply(transformer: pyproj.Transformer) -> Callable[[np.ndarray], np.ndarray]:
    def f(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])
    return f


class LocalFrame:
    """A place's local projections (metres): azimuthal equidistant for distances and lengths,
    Lambert azimuthal equal-area for areas; built once per place."""

    def __init__(self, lat: float, lon: float) -> None:
        self.lat, self.lon = float(lat), float(lon)
        ll = pyproj.CRS.from_epsg(4326)
        aeqd = pyproj.CRS.from_proj4(
            f"+proj=aeqd +lat_0={self.lat} +lon_0={self.lon} +ellps=WGS84 +units=m +no_defs")
        laea = pyproj.CRS.from_proj4(
            f"+proj=laea +lat_0={self.lat} +lon_0={self.lon} +ellps=WGS84 +units=m +no_defs")
        self._to_local = _apply(pyproj.Transformer.from_crs(ll, aeqd, always_xy=True))
        self._to_area = _apply(pyproj.Transformer.from_crs(aeqd, laea, always_xy=True))
        self._to_lonlat = _apply(pyproj.Transformer.from_crs(aeqd, ll, always_xy=True))
        self._discs: dict[float, shapely.Polygon] = {}

    def local(self, geoms):
        """lon/lat geometries in the azimuthal equidistant frame (m)."""
        return shapely.transform(geoms, self._to_local)

    def lonlat(self, geoms):
        return shapely.transform(geoms, self._to_lonlat)

    def area_km2(self, local_geom) -> float:
        """The area of a local-frame geometry, measured in the equal-area frame."""
        return float(shapely.area(shapely.transform(local_geom, self._to_area))) / 1e6

    def disc(self, radius_km: float) -> shapely.Polygon:
        """The points within ``radius_km`` (geodesic) of the place, in the local frame."""
        if radius_km not in self._discs:
            self._discs[radius_km] = _ORIGIN.buffer(radius_km * 1000.0,
                                                    quad_segs=_DISC_SEGMENTS)
        return self._discs[radius_km]

    def box(self, half_km: float) -> tuple[float, float, float, float]:
        """A lon/lat box (W, S, E, N) that holds every point within ``half_km`` of the place."""
        half = half_km * 1.02 + 0.5
        dlat = half / _KM_PER_DEG_LAT_MIN
        s, n = max(self.lat - dlat, -90.0), min(self.lat + dlat, 90.0)
        coslat = math.cos(math.radians(max(abs(s), abs(n))))
        if coslat < 1e-3 or half / (_KM_PER_DEG_LON_EQ * coslat) >= 180:
            return (-180.0, s, 180.0, n)
        dlon = half / (_KM_PER_DEG_LON_EQ * coslat)
        return (self.lon - dlon, s, self.lon + dlon, n)


class Frame:
    """An azimuthal equidistant projection (m) centred on a set of places."""

    def __init__(self, lat: float, lon: float) -> None:
        self.lat, self.lon = float(lat), float(lon)
        aeqd = pyproj.CRS.from_proj4(
            f"+proj=aeqd +lat_0={self.lat} +lon_0={self.lon} +ellps=WGS84 +units=m +no_defs")
        ll = pyproj.CRS.from_epsg(4326)
        self._fwd = pyproj.Transformer.from_crs(ll, aeqd, always_xy=True)
        self._to_local = _apply(self._fwd)
        self._to_lonlat = _apply(pyproj.Transformer.from_crs(aeqd, ll, always_xy=True))

    @classmethod
    def around(cls, places: Sequence[Place]) -> Frame:
        lats = [p.lat for p in places]
        lons = [p.lon for p in places]
        return cls((min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2)

    def local(self, geoms):
        return shapely.transform(geoms, self._to_local)

    def lonlat(self, geoms):
        return shapely.transform(geoms, self._to_lonlat)

    def points(self, places: Sequence[Place]) -> np.ndarray:
        x, y = self._fwd.transform([p.lon for p in places], [p.lat for p in places])
        return shapely.points(np.column_stack([x, y]))
