"""What ``advsim trace`` prints and writes: tables, the observed-series CSV, scenario blocks.

Works on a :class:`sim.trace.Trace`; imports neither shapely nor pyproj itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import AdvsimError
from .report import table

if TYPE_CHECKING:
    from .trace import Trace

CSV_COLUMNS = ("date", "sector", "value", "frame", "held_km2_within_radius",
               "front_km_within_radius", "radius_km", "contested", "file_date", "snapshot",
               "source")


def _num(x: float | None, fmt: str) -> str:
    return "" if x is None else format(x, fmt)


def csv_rows(result: Trace) -> list[list[str]]:
    """One row per place (sector = its slug; value = distance remaining, km) and per layer
    (value = km²) and snapshot. Snapshots with no attacker-held territory give no place row."""
    rows = []
    for place, series in result.places.values():
        for r in series:
            if r["distance_km"] is None:
                continue
            rows.append([r["date"], place.slug, _num(r["distance_km"], ".4f"), "remaining_km",
                         _num(r["held_km2_within_radius"], ".3f"),
                         _num(r["front_km_within_radius"], ".3f"), f"{result.radius_km:g}",
                         result.contested, r["file_date"], r["snapshot"], r["source"]])
    for name, series in result.areas.items():
        rows += [[r["date"], name, _num(r["area_km2"], ".3f"), "held_km2", "", "", "", "",
                  r["file_date"], r["snapshot"], r["source"]] for r in series]
    return rows


def write_trace_csv(path: str | os.PathLike[str], result: Trace) -> Path:
    """Write the observed series CSV (``date,sector,value,frame,...``) whole or not at all."""
    p = Path(path)
    if p.is_dir():
        raise AdvsimError(f"{p}: is a folder (-o/--output names a file)")
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(CSV_COLUMNS)
            w.writerows(csv_rows(result))
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def _header(result: Trace) -> list[str]:
    snaps = result.snapshots
    span = f"{snaps[0]['date']} to {snaps[-1]['date']}" if snaps else "none"
    out = [f"{len(snaps)} snapshot{'s' * (len(snaps) != 1)}, map dates {span}",
           f"Dates (--date-convention {result.date_convention}): {_convention(result)}"]
    if result.places:
        out.append(f"Attacker-held: {', '.join(result.attacker_held)}; contested (--contested "
                   f"{result.contested}): {_contested(result)}")
    out.append(f"Invalid polygons repaired: {result.repaired}")
    return out


def _convention(result: Trace) -> str:
    from .snapshots import DATE_CONVENTIONS

    return DATE_CONVENTIONS[result.date_convention]


def _contested(result: Trace) -> str:
    from .trace import CONTESTED_MEANS

    return CONTESTED_MEANS[result.contested]


def format_trace(result: Trace) -> str:
    """The readable report: a table per place and per layer."""
    out = _header(result)
    r_km = f"{result.radius_km:g}"
    for place, series in result.places.values():
        out += ["", f"{place.name} ({place.lat:.4f} N, {place.lon:.4f} E), sector {place.slug}: "
                    "distance to attacker-held territory (negative: inside it)"]
        rows = [[r["date"], _num(r["distance_km"], ".2f") or "none",
                 _num(r["held_km2_within_radius"], ".1f"), _num(r["front_km_within_radius"],
                                                               ".1f"), r["snapshot"]]
                for r in series]
        out += table(["map date", "distance km", f"held km² ≤{r_km} km",
                      f"contact line km ≤{r_km} km", "snapshot"], rows, indent="  ")
    for name, series in result.areas.items():
        out += ["", f"{name}: area of the layer (equal-area, EPSG:3035)"]
        rows = [[r["date"], _num(r["area_km2"], ".1f"), r["snapshot"]] for r in series]
        out += table(["map date", "area km²", "snapshot"], rows, indent="  ")
    return "\n".join(out)


def format_summary(result: Trace, *, output: str | None, chart: str | None) -> str:
    """One line per series (first and last value) and what was written."""
    out = _header(result)
    for place, series in result.places.values():
        known = [r for r in series if r["distance_km"] is not None]
        if known:
            a, b = known[0], known[-1]
            out.append(f"  {place.slug}: {a['distance_km']:.2f} km on {a['date']} -> "
                       f"{b['distance_km']:.2f} km on {b['date']} ({len(known)} dates)")
    for name, series in result.areas.items():
        a, b = series[0], series[-1]
        out.append(f"  {name}: {a['area_km2']:.1f} km² on {a['date']} -> "
                   f"{b['area_km2']:.1f} km² on {b['date']}")
    if output:
        out.append(f"Wrote {output} ({len(csv_rows(result))} rows: date,sector,value,frame,...)")
    if chart:
        out.append(f"Drew {chart}")
    return "\n".join(out)


def format_scenario(result: Trace, start: dt.date | None = None) -> str:
    """Axis-sector YAML blocks, one per place, whose ``length_km`` is the distance on
    ``start`` (default: the last map date), from the last snapshot on or before it."""
    if not result.places:
        raise AdvsimError("--scenario: no --to place to build an axis for")
    days = [r["date"] for r in result.snapshots]
    start_s = start.isoformat() if start else days[-1]
    out = [f"# advsim trace: axis sectors for a scenario starting {start_s}; paste under "
           "sectors: and add forces and advance (advsim calibrate prints an advance block)"]
    for place, series in result.places.values():
        before = [r for r in series if r["date"] <= start_s and r["distance_km"] is not None]
        if not before:
            raise AdvsimError(f"--start {start_s}: no snapshot of {place.name} on or before it "
                              f"(the map dates run {days[0]} to {days[-1]})")
        r = before[-1]
        where = (f"distance from attacker-held territory to {place.name} "
                 f"({place.lat:.4f}, {place.lon:.4f}) on map date {r['date']}, snapshot "
                 f"{r['snapshot']} (file date {r['file_date']}; {r['source']})")
        if r["distance_km"] <= 0:
            out += ["", f"# {place.slug}: no axis: {place.name} is already inside "
                        f"attacker-held territory ({r['distance_km']:.2f} km) on {r['date']}, "
                        f"snapshot {r['snapshot']}"]
            continue
        out += [
            "",
            f"{place.slug}:",
            "  kind: axis",
            f"  length_km: {r['distance_km']:.2f}   # advsim trace: {where}",
            "  objective:",
            f"    name: {place.name}",
        ]
    return "\n".join(out)
