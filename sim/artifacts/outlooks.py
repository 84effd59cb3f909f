"""An outlook's folder, written whole or not at all: the places and their projections as tidy
tables, the hub's long quantile and cdf table, a GeoJSON of the places, the summary as JSON,
the map chart where matplotlib is installed, and a manifest naming every snapshot read with its
sha256. Also each place's scenario file (``--scenarios``)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .files import atomic_dir, input_hashes, provenance, write_manifest
from .tables import write_csv

if TYPE_CHECKING:
    from ..forecast.outlook import Outlook

KIND = "outlook"
PLACES = "places.csv"
QUANTILES = "quantiles.csv"
GEOJSON = "places.geojson"
SUMMARY = "outlook.json"
CHART = "map.png"
HUB_COLUMNS = ("reference_date", "target", "horizon", "location", "output_type",
               "output_type_id", "value")


def columns(rows: Sequence[dict]) -> dict[str, np.ndarray]:
    """Records as columns (None as an empty field)."""
    names = list(rows[0]) if rows else []
    out = {}
    for k in names:
        vals = [r[k] for r in rows]
        if all((isinstance(v, (int, float)) and not isinstance(v, bool)) or v is None
               for v in vals) and any(v is not None for v in vals):
            if all(isinstance(v, int) for v in vals):
                out[k] = np.array(vals, dtype=np.int64)
            else:
                out[k] = np.array([np.nan if v is None else v for v in vals], dtype=float)
        else:
            out[k] = np.array(["" if v is None else str(v) for v in vals], dtype=object)
    return out


def geojson(o: Outlook) -> dict:
    """The places as GeoJSON points with their standing and probabilities (for QGIS,
    kepler.gl)."""
    from ..forecast.outlook import place_rows

    feats = []
    for r in place_rows(o):
        props = {k: v for k, v in r.items() if k not in ("lat", "lon")}
        feats.append({"type": "Feature", "properties": props,
                      "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]}})
    return {"type": "FeatureCollection", "map_date": o.map_date.isoformat(),
            "features": feats}


def write_geojson(path: str | os.PathLike[str], o: Outlook) -> Path:
    """The places as GeoJSON into ``path`` (an output: ``-`` is standard output)."""
    from .outputs import write_output

    return write_output(path, (json.dumps(geojson(o), indent=1, allow_nan=False) + "\n")
                        .encode(), flag="--geojson")


def write_outlook(folder: str | os.PathLike[str], o: Outlook, *,
                  inputs: Sequence[str | os.PathLike[str]] = (), overwrite: bool = False,
                  chart: bool = True) -> Path:
    """Write the outlook's folder (see the module)."""
    from ..forecast.outlook import hub_rows, place_rows, summary

    target = Path(folder)
    with atomic_dir(target, overwrite=overwrite) as tmp:
        write_csv(tmp / PLACES, columns(place_rows(o)))
        hub = list(zip(*hub_rows(o)))
        write_csv(tmp / QUANTILES, {
            name: (np.array(col, dtype=object) if name not in ("horizon", "value",
                                                               "output_type_id")
                   else np.array(col, dtype=float if name != "horizon" else np.int64))
            for name, col in zip(HUB_COLUMNS, hub)})
        (tmp / GEOJSON).write_text(json.dumps(geojson(o), indent=1, allow_nan=False) + "\n",
                                   encoding="utf-8")
        (tmp / SUMMARY).write_text(json.dumps(summary(o), indent=1, allow_nan=False) + "\n",
                                   encoding="utf-8")
        if chart:
            try:
                import matplotlib  # noqa: F401
            except ImportError:
                pass
            else:
                from ..presentation.charts.outlook import outlook_map

                outlook_map(o, tmp / CHART, keep=False)
        write_manifest(tmp, KIND, {
            **provenance(seed=o.seed),
            "map_date": o.map_date.isoformat(),
            "snapshots": input_hashes(o.files),
            "inputs": input_hashes(inputs),
        })
    return target


@dataclass(frozen=True, kw_only=True)
class SavedOutlook:
    """An outlook as its folder holds it (what a report shows of it): the summary of
    ``--json`` with every place by risk, and the map chart where one was drawn."""

    manifest: dict[str, Any]
    summary: dict[str, Any]
    map_png: bytes | None = None
    path: Path | None = None

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str]) -> SavedOutlook:
        """Read a folder :func:`write_outlook` wrote, every file checked against the
        manifest's checksums; anything else is one AdvsimError."""
        from ..errors import AdvsimError
        from .files import read_manifest

        p = Path(folder)
        manifest = read_manifest(p, KIND, required=(SUMMARY,))
        try:
            summary = json.loads((p / SUMMARY).read_text(encoding="utf-8"))
            chart = (p / CHART).read_bytes() if CHART in manifest.get("files", {}) else None
        except (OSError, ValueError) as e:
            raise AdvsimError(f"{p}: cannot read the outlook ({e})") from None
        if not isinstance(summary, dict) or not isinstance(summary.get("places"), list):
            raise AdvsimError(f"{p}: {SUMMARY} holds no places (not an outlook's summary)")
        return cls(manifest=manifest, summary=summary, map_png=chart, path=p)


def write_scenarios(folder: str | os.PathLike[str], o: Outlook, *,
                    overwrite: bool = False) -> Path:
    """Each place's scenario file, ``<place>.yaml``: ``advsim run`` on it gives the outlook's
    numbers for that place (the same scenario, replications and seed)."""
    from dataclasses import replace

    from ..model.writer import dump

    target = Path(folder)
    named = ", ".join(o.extensions) or "none"
    fitted = replace(o.fit.provenance, tool="advsim outlook",
                     method=f"{o.fit.provenance.method}; model extensions: {named}")
    with atomic_dir(target, overwrite=overwrite) as tmp:
        for p in o.places:
            sc = o.scenarios[p.standing.place.slug]
            s = p.standing
            head = [f"advsim outlook of {o.map_date}: {s.place.name}, "
                    f"{s.distance_km:.2f} km from the held territory, {s.regime} "
                    f"for {s.regime_days} days",
                    "Edit and run: advsim run THIS_FILE"]
            (tmp / f"{p.standing.place.slug}.yaml").write_text(
                dump(sc, comments=head, provenance=fitted), encoding="utf-8")
    return target
