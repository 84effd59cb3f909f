"""Trace folders: what ``advsim trace`` measured, written with the sha256 of every snapshot it
read, and read back, checked, by ``Trace.from_folder``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AdvsimError
from .files import claim_dir, claimed, input_hashes, provenance, read_manifest, write_manifest
from .tables import read_csv_columns, write_csv

if TYPE_CHECKING:
    from ..data.trace import Trace

TRACE_FILES = ("trace.json", "snapshots.csv", "series.csv")
SNAPSHOT_COLUMNS = ("snapshot", "file_date", "date", "format", "date_from", "repaired", "source")


def write_trace(trace: Trace, out: str | os.PathLike[str], *,
                inputs: Iterable[str | os.PathLike[str]] = (), overwrite: bool = False) -> Path:
    """Write ``trace`` as the folder ``out``, all or nothing: trace.json (the JSON of ``advsim
    trace --json``), snapshots.csv (one row per snapshot read, in map-date order), series.csv
    (the observed series that calibrate and backtest read) and manifest.json (kind ``trace``;
    among its ``inputs`` the sha256 of each snapshot file and of ``inputs``: the towns, layer
    map, dates or clip files given)."""
    from ..data.observed import write_trace_csv

    claim = claim_dir(out, overwrite=overwrite)
    with claimed(claim) as tmp:
        (tmp / "trace.json").write_text(json.dumps(trace.to_dict(), indent=1) + "\n",
                                        encoding="utf-8")
        write_csv(tmp / "snapshots.csv", {
            c: np.array([s[c] for s in trace.snapshots],
                        dtype=np.int64 if c == "repaired" else object)
            for c in SNAPSHOT_COLUMNS})
        write_trace_csv(tmp / "series.csv", trace)
        files = [*trace.files, *inputs]
        write_manifest(tmp, "trace", {
            **provenance(seed=None, packages=("shapely", "pyproj")),
            "inputs": input_hashes(dict.fromkeys(os.fspath(f) for f in files)),
            "snapshots": len(trace.snapshots),
            "snapshot_files": [os.fspath(f) for f in trace.files],
            "places": [p.name for p, _ in trace.places.values()],
            "areas": list(trace.areas),
        })
    return claim.target


def read_trace(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The fields of the Trace a trace folder holds (its charts' geometry is not kept), once
    the folder is checked against its manifest. Every failure is one AdvsimError naming the
    folder."""
    path, spec = Path(folder), os.fspath(folder)
    manifest = read_manifest(path, "trace", spec, required=TRACE_FILES)
    try:
        doc = json.loads((path / "trace.json").read_text(encoding="utf-8"))
        places = {info["sector"]: (name, info) for name, info in doc["places"].items()}
        fields = {
            "areas": {name: a["series"] for name, a in doc["areas"].items()},
            "repaired": int(doc["repaired"]), "radius_km": float(doc["radius_km"]),
            "contested": doc["contested"], "attacker_held": tuple(doc["attacker_held"]),
            "date_convention": doc["date_convention"], "layer_map": doc["layer_map"],
        }
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise AdvsimError(f"{spec}: trace.json: not the JSON of advsim trace ({e!r})") from None
    cols = read_csv_columns(path / "snapshots.csv", spec)
    missing = [c for c in SNAPSHOT_COLUMNS if c not in cols]
    if missing:
        raise AdvsimError(f"{spec}: snapshots.csv has no column {missing[0]!r}")
    snapshots = [{c: int(cols[c][i]) if c == "repaired" else cols[c][i]
                  for c in SNAPSHOT_COLUMNS} for i in range(len(cols["snapshot"]))]
    return {"places": places, "snapshots": snapshots, "manifest": manifest,
            "files": list(manifest.get("snapshot_files") or ()), **fields}
