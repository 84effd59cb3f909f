"""Results folders: claimed before the computation, written whole with the checksum of every
file in the manifest; and read back, checked, as arrays (``Result.from_folder`` makes a Result
of them)."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AdvsimError, ScenarioError
from ..model.scenario import Scenario, slug
from .files import (
    KINDS,
    Claim,
    FolderCheck,
    claim_dir,
    claimed,
    provenance,
    sha256_text,
    verify_folder_while_read,
    write_manifest,
)
from .tables import (
    TABLES,
    Labels,
    floats,
    maybe_parquet_parts,
    read_csv_columns,
    read_table,
    read_table_columns,
    read_table_parts,
    table_column_names,
    table_file,
    write_csv,
    write_csv_parts,
)

if TYPE_CHECKING:
    from ..running.outcomes import Result

def new_run_dir(root: str | os.PathLike[str], name: str, seed: int) -> Path:
    """A folder name under ``root`` that no earlier run has used."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{slug(name)[:80]}-{stamp}-seed{seed}"  # names have at most 255 bytes
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def write_run(
    result: Result,
    *,
    resolved_yaml: str,
    source: str,
    source_text: str | None = None,
    overrides: tuple[str, ...] = (),
    root: str | os.PathLike[str] = "results",
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    also: Mapping[str, Callable[[Path], object]] | None = None,
    claim: Claim | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write a run's folder: scenario.yaml (resolved), scenario.source.yaml (``source_text``:
    the scenario file as it was run, comments included, where given), manifest.json,
    summary.json, the tables (``write_tables``), forces_bands.csv, and with each file of
    ``also`` (name -> a function that writes that path: a chart, say), all or nothing.
    ``claim`` is the folder claimed (``claim_run``) before the computation; without it the
    folder is claimed now. The manifest (kind ``run``) holds the sha256 of every other file,
    and of the scenario file among its ``inputs``. ``on_progress(done, total)`` follows the
    tables' rows as they are written. summary.json is ``result.summary()``, as --json prints
    it (with each objective read nearer and farther where the run made those readings)."""
    if claim is None:
        claim = claim_run(result.scenario, result.seed, root=root, out=out, overwrite=overwrite)
    target = claim.target
    summary = result.summary()
    summary["results_dir"] = str(target)
    with claimed(claim) as tmp:
        (tmp / "scenario.yaml").write_text(resolved_yaml, encoding="utf-8")
        if source_text is not None:
            (tmp / SOURCE_FILE).write_text(source_text, encoding="utf-8")
        write_tables(tmp, result, sha256_text(resolved_yaml), on_progress)
        write_csv(tmp / "forces_bands.csv", _forces_bands_table(result))
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        for name, write in (also or {}).items():
            write(tmp / name)
        write_manifest(tmp, "run", {
            **provenance(seed=result.seed, scenario_sha256=sha256_text(resolved_yaml)),
            "scenario": result.scenario.name,
            "source": source,
            **({"inputs": {source: sha256_text(source_text)}} if source_text is not None
               else {}),
            "overrides": list(overrides),
            "replications": result.replications,
            "horizon_days": result.scenario.horizon_days,
            "jobs": result.jobs,
            "wall_seconds": round(result.wall_seconds, 3),
        })
    return target


SOURCE_FILE = "scenario.source.yaml"  # the scenario file as run, comments included


def claim_run(
    scenario: Scenario, seed: int, *, root: str | os.PathLike[str] = "results",
    out: str | os.PathLike[str] | None = None, overwrite: bool = False,
) -> Claim:
    """Claim the folder a run will write (``out``, else a new one under ``root``) before it is
    computed: two runs cannot both have it, and a folder that cannot be written is one error
    now rather than after the computation."""
    target = Path(out) if out else new_run_dir(root, scenario.name, seed)
    return claim_dir(target, overwrite=overwrite)


def write_tables(folder: Path, result: Result, scenario_sha256: str,
                 on_progress: Callable[[int, int], None] | None = None) -> list[str]:
    """A run's tables into ``folder``: outcomes, progress, milestones (``Result.table``) and
    bands, each as CSV and, where pyarrow is installed, Parquet; returns the file names.
    ``on_progress(done, total)`` counts rows written."""
    from .tables import pyarrow

    meta = {**result.metadata(), "scenario_sha256": scenario_sha256}
    n, sectors = result.replications, list(result.sectors.values())
    rows = {"outcomes": n * len(sectors),
            "progress": n * sum(len(so.checkpoints_days) for so in sectors),
            "milestones": n * sum(len(so.sector.milestones) for so in sectors),
            "bands": sum(result.horizon_days + 1 for _ in sectors)}
    formats = 2 if pyarrow() is not None else 1
    total, done = formats * sum(rows.values()), [0]
    lock = threading.Lock()

    def counted(parts):
        for part in parts:
            yield part
            with lock:
                done[0] += len(next(iter(part.values()))) if part else 0
                if on_progress:
                    on_progress(min(done[0], total), total)

    def parts(name):
        return [_bands_table(result)] if name == "bands" else result.table_parts(name)

    # Parquet is encoded by pyarrow outside the interpreter's lock: in a thread, beside the
    # CSV files, which Python formats.
    written = []
    pool = ThreadPoolExecutor(max_workers=1) if formats == 2 else None
    try:
        parquet = {name: pool.submit(maybe_parquet_parts, folder / f"{name}.parquet",
                                     counted(parts(name)), meta)
                   for name in (*TABLES, "bands")} if pool is not None else {}
        for name in (*TABLES, "bands"):
            write_csv_parts(folder / f"{name}.csv", counted(parts(name)))
        for name in (*TABLES, "bands"):
            written.append(f"{name}.csv")
            if name in parquet and parquet[name].result():
                written.append(f"{name}.parquet")
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return written


def _bands_table(result: Result) -> dict[str, np.ndarray]:
    """Long table of per-day bands: sector, day, date, quantity, then one column per percentile."""
    from ..analysis.summary import band_columns

    parts = []
    for name, band in result.bands(band_columns(result.scenario.percentiles)).items():
        so = result.sectors[name]
        days = band["day"]
        start = np.datetime64(result.scenario.start.isoformat())
        parts.append({
            "sector": np.full(days.size, name, dtype=object),
            "day": days,
            "date": start + days.astype("timedelta64[D]"),
            "quantity": np.full(days.size, so.progress_name, dtype=object),
            **{k: v for k, v in band.items() if k != "day"},
        })
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _forces_bands_table(result: Result) -> dict[str, np.ndarray]:
    """Long table of per-day bands of troops: sector, day, date, quantity (attacker_troops or
    defender_troops), then one column per percentile."""
    from ..analysis.summary import band_columns

    parts = []
    start = np.datetime64(result.scenario.start.isoformat())
    ps = band_columns(result.scenario.percentiles)
    for name, sides in result.forces_bands(ps).items():
        for side, band in sides.items():
            days = band["day"]
            parts.append({
                "sector": np.full(days.size, name, dtype=object),
                "day": days,
                "date": (start + days.astype("timedelta64[D]")).astype(str),
                "quantity": np.full(days.size, f"{side}_troops", dtype=object),
                **{k: v for k, v in band.items() if k != "day"},
            })
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


# -- reading folders back ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RunFiles:
    """What a results folder (or a sweep point) holds, as arrays: ``Result.from_folder`` makes
    a Result of it. ``sectors`` maps each sector to the per-replication arrays of its
    outcomes, in replication order; days are +inf where censored."""

    spec: str  # as named on the command line
    folder: Path
    scenario: Scenario
    replications: int
    seed: int
    overrides: tuple[str, ...]
    scenario_sha256: str | None
    sectors: dict[str, dict[str, np.ndarray]]
    bands: dict[str, dict[str, np.ndarray]] | None  # from bands.csv; None for a sweep point
    point: str | None = None
    wall_seconds: float = 0.0
    # from forces_bands.csv: {sector: {side: {"day": ..., "p5": ...}}}; None where absent
    forces_bands: dict[str, dict[str, dict[str, np.ndarray]]] | None = None
    manifest: dict[str, Any] | None = None  # the folder's manifest.json (a sweep's, for a point)
    scenario_yaml: str | None = None  # scenario.yaml: the scenario as resolved and run
    source_yaml: str | None = None  # scenario.source.yaml: the file as run, with its comments
    # summary.json's objective read nearer and farther, by sector (``objective.shifted``)
    shifted: dict[str, dict] | None = None


def read_run(spec: str | os.PathLike[str]) -> RunFiles:
    """Read a results folder written by ``advsim run`` (or a sweep point ``SWEEP_DIR:POINT_ID``).

    Every failure is an AdvsimError of one line that names ``spec``.
    """
    spec = str(spec)
    folder = Path(spec)
    if not folder.exists() and ":" in spec:
        head, point = spec.rsplit(":", 1)
        if Path(head).is_dir():
            return _read_sweep_point(spec, Path(head), point)
    if not folder.exists():
        raise AdvsimError(f"{spec}: no such results folder")
    if not folder.is_dir():
        raise AdvsimError(f"{spec}: not a folder (expected a results folder of advsim run)")
    if (folder / "points.csv").is_file() and not (folder / "outcomes.csv").is_file():
        raise AdvsimError(f"{spec}: a sweep folder; name one of its points as {spec}:POINT_ID")
    _check_kind(folder, spec)
    tables = [table_file(folder / f"{t}.csv") for t in ("bands", *TABLES)]
    check = verify_run(folder, spec, reads=[
        "summary.json", "scenario.yaml", SOURCE_FILE, *(t.name for t in tables),
        "forces_bands.csv"])
    try:
        files = _read_run(folder, spec, check)
    except Exception:
        check.done()  # a damaged file is the error to name, as if checked before reading
        raise
    check.done()
    return files


def _check_kind(folder: Path, spec: str) -> None:
    """A folder whose manifest names another kind (a trace's, say) is refused as that."""
    try:
        kind = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        return  # the checks that follow say what is wrong
    if isinstance(kind, str) and kind != "run":
        raise AdvsimError(f"{spec}: {KINDS.get(kind, f'a folder of kind {kind!r}')} "
                          f"(expected {KINDS['run']})")


def _read_run(folder: Path, spec: str, check: FolderCheck) -> RunFiles:
    for name in RUN_FILES:
        if not (folder / name).is_file():
            raise AdvsimError(
                f"{spec}: not a results folder (no {name}; expected a folder written by "
                "advsim run)"
            )
    check.ready("summary.json")
    summary = _read_json(folder / "summary.json", spec)
    manifest = _read_json(folder / "manifest.json", spec)
    check.ready("scenario.yaml")
    text = _read_text(folder / "scenario.yaml", spec)
    sc = _parse_scenario(text, folder / "scenario.yaml")
    source_yaml = None
    if (folder / SOURCE_FILE).is_file():
        check.ready(SOURCE_FILE)
        source_yaml = _read_text(folder / SOURCE_FILE, spec)
    try:
        n = int(summary["replications"])
        seed = int(summary["seed"])
        overrides = tuple(manifest.get("overrides", ()))
        sha = manifest.get("scenario_sha256")
        wall = float(manifest.get("wall_seconds", 0.0))
    except (KeyError, TypeError, ValueError) as e:
        raise AdvsimError(f"{spec}: summary.json or manifest.json lacks {e}") from None
    bands = {}
    if (folder / "bands.csv").is_file():
        check.ready(table_file(folder / "bands.csv").name)
        bands = _read_bands(folder / "bands.csv", spec)
    sectors = _read_tables(folder, sc, n, spec, check)
    forces = folder / "forces_bands.csv"
    if forces.is_file():
        check.ready(forces.name)
    return RunFiles(
        spec=spec, folder=folder, scenario=sc, replications=n, seed=seed, overrides=overrides,
        scenario_sha256=sha, wall_seconds=wall, bands=bands, sectors=sectors,
        forces_bands=_read_forces_bands(forces, spec) if forces.is_file() else None,
        manifest=manifest, scenario_yaml=text, source_yaml=source_yaml,
        shifted={name: sec["objective"]["shifted"]
                 for name, sec in (summary.get("sectors") or {}).items()
                 if isinstance(sec, dict) and isinstance(sec.get("objective"), dict)
                 and isinstance(sec["objective"].get("shifted"), dict)},
    )


OUTCOME_COLUMNS = ("attacker_losses", "defender_losses", "base_m_per_day", "strikes")
BREAKPOINT_COLUMNS = ("attacker_breakpoint_day", "defender_breakpoint_day")  # where recorded


def _read_tables(folder: Path, sc: Scenario, n: int, spec: str, check: FolderCheck,
                 ) -> dict[str, dict[str, np.ndarray]]:
    """Per-sector arrays from outcomes, progress and milestones (Parquet where there is one),
    a column (or, of the long tables, a part) in memory at a time beside what is kept; a
    sector's rows as written (in one block, in replication order) are kept without a copy."""
    out: dict[str, dict[str, np.ndarray]] = {s.name: {} for s in sc.sectors}
    empty = np.empty(0, np.int64)

    path = folder / "outcomes.csv"
    check.ready(table_file(path).name)
    breakpoints = [c for c in BREAKPOINT_COLUMNS if c in table_column_names(path, spec)]
    columns = read_table_columns(path, spec, ["replication", "sector", "objective_day",
                                              *OUTCOME_COLUMNS, *breakpoints])
    rep, names = next(columns)[1], next(columns)[1]
    groups = _rows_by_sector(names)
    orders = {s.name: _in_replication_order(rep, groups.get(s.name, empty), n, "outcomes",
                                            s.name, spec) for s in sc.sectors}
    del rep, names, groups
    for key, col in columns:
        for s in sc.sectors:
            x = col[orders[s.name]]
            if key == "strikes":
                x = _whole(x, "outcomes", "strikes", spec)
            else:
                x = np.asarray(x, dtype=float)
                if key == "objective_day" or key in breakpoints:  # censored: +inf
                    x = _censored(x)
            out[s.name][key] = x
        del col

    # The long tables part by part: the values of each sector and day (or milestone) are
    # kept, and each part let go once split. A part as written (one sector and day, every
    # replication in order) is its column.
    for name, key, value in (("progress", "day", "value"), ("milestones", "milestone", "day")):
        wanted = {s.name: list(sc.checkpoints_days) if name == "progress" else
                  [m.name for m in s.milestones] for s in sc.sectors}
        got = {s.name: np.empty((n, len(wanted[s.name]))) for s in sc.sectors}
        whole: set[tuple[str, object]] = set()
        pieces: dict[tuple[str, object], list[tuple[np.ndarray, np.ndarray]]] = {}
        path = folder / f"{name}.csv"
        check.ready(table_file(path).name)
        for part in read_table_parts(path, spec, ["replication", "sector", key, value]):
            for sector_name, rows in _rows_by_sector(part["sector"]).items():
                keys = part[key][rows]
                for k in _distinct(keys):
                    if k not in wanted.get(sector_name, ()):
                        continue
                    at = rows[keys == k]
                    if (sector_name, k) in whole:  # more rows than every replication once
                        raise _not_once(spec, name, _what(name, sector_name, k), n)
                    if at.size == n and not pieces.get((sector_name, k)) and \
                            _as_written(part["replication"], at, n):
                        got[sector_name][:, wanted[sector_name].index(k)] = part[value][at]
                        whole.add((sector_name, k))
                        continue
                    pieces.setdefault((sector_name, k), []).append(
                        (part["replication"][at], part[value][at]))
            del part
        for s in sc.sectors:
            for j, want in enumerate(wanted[s.name]):
                if (s.name, want) in whole:
                    continue
                found = pieces.pop((s.name, want), [])
                rep = np.concatenate([r for r, _ in found]) if found else np.empty(0, np.int64)
                vals = np.concatenate([v for _, v in found]) if found else np.empty(0)
                got[s.name][:, j] = vals[_in_replication_order(
                    rep, np.arange(rep.size), n, name, _what(name, s.name, want), spec)]
            if name == "progress":
                out[s.name]["progress"] = got[s.name]
            else:
                out[s.name]["milestone_days"] = _censored(got[s.name])
    return out


def _distinct(keys: Any) -> list:
    """The values of a column of keys (a part as written has one)."""
    if isinstance(keys, Labels):
        return keys.names
    if keys.size and (keys == keys[0]).all():
        return [keys[0]]
    return list(np.unique(keys))


def _what(table: str, sector: str, key: object) -> str:
    return f"{sector} on day {key}" if table == "progress" else f"{sector}: {key}"


def _as_written(rep: np.ndarray, rows: np.ndarray, n: int) -> bool:
    """Whether ``rows`` are one block of a part holding replications 0..n-1 in order."""
    return rows.size == n and (n == 0 or int(rows[-1]) - int(rows[0]) == n - 1) and \
        bool((rep[rows[0]:rows[0] + n] == np.arange(n)).all())


def _censored(x: np.ndarray) -> np.ndarray:
    """Days with null (NaN) as censored (+inf), in place (in columns read for the purpose)."""
    x[np.isnan(x)] = np.inf
    return x


def _rows_by_sector(names: Labels) -> dict[str, np.ndarray]:
    """Row numbers of each sector."""
    if not isinstance(names, Labels):
        raise AdvsimError("a column of sector names holds numbers")
    return names.groups()


def _in_replication_order(rep: np.ndarray, rows: np.ndarray, n: int, table: str, what: str,
                          spec: str) -> np.ndarray | slice:
    """``rows`` sorted by replication, checked to hold replications 0..n-1 once each; rows
    that are one block in order (as written) as a slice, which takes them without a copy."""
    r = rep[rows]
    if r.size == n and (r == np.arange(n)).all():  # as written
        if n and int(rows[-1]) - int(rows[0]) == n - 1 and (rows[1:] > rows[:-1]).all():
            return slice(int(rows[0]), int(rows[0]) + n)
        return rows
    order = rows[np.argsort(r, kind="stable")]
    if not np.array_equal(rep[order], np.arange(n)):
        raise _not_once(spec, table, what, n)
    return order


def _not_once(spec: str, table: str, what: str, n: int) -> AdvsimError:
    return AdvsimError(f"{spec}: {table}: {what} does not hold replications 0..{n - 1} "
                       "once each")


def _whole(x: np.ndarray, table: str, column: str, spec: str) -> np.ndarray:
    if x.dtype.kind in "iu":
        return x.astype(np.int64, copy=False)
    if not (np.isfinite(x).all() and (x == np.round(x)).all()):
        raise AdvsimError(f"{spec}: {table}: column {column!r} holds a value that is not a "
                          "whole number")
    return x.astype(np.int64)


RUN_FILES = ("summary.json", "manifest.json", "outcomes.csv", "scenario.yaml")


def verify_run(folder: Path, spec: str, reads: Sequence[str] = ()) -> FolderCheck:
    """What every reader of a run or sweep folder checks first: the folder is complete and
    each file matches its checksum in the manifest; the counts it gives are sane. The
    checksums are computed while the folder is read (``verify_folder_while_read``): the
    reader calls ``ready`` before it parses each of ``reads`` and ``done`` at the end."""
    manifest, check = verify_folder_while_read(folder, spec, first=RUN_FILES, reads=reads)
    for key, most in (("replications", 10**9), ("horizon_days", 36_500), ("points", 10**6)):
        v = manifest.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)
                              or not 0 < v <= most):
            raise AdvsimError(f"{spec}: manifest.json: {key} is {v!r} (expected a whole "
                              f"number from 1 to {most:,})")
    return check


def _read_bands(path: Path, spec: str) -> dict[str, dict[str, np.ndarray]]:
    """Per-day bands of each sector from bands.csv: {sector: {"day": ..., "p5": ...}}."""
    cols = read_table(path, spec)
    if "sector" not in cols:
        raise AdvsimError(f"{spec}: bands.csv has no column 'sector'")
    out: dict[str, dict[str, np.ndarray]] = {}
    for name, rows in _rows_by_sector(cols["sector"]).items():
        out[name] = {k: np.asarray(v[rows], dtype=float) for k, v in cols.items()
                     if k == "day" or k.startswith("p")}
    return out


def _read_forces_bands(path: Path, spec: str) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """Per-day bands of troops from forces_bands.csv: {sector: {side: {"day": ..., "p5": ...}}}."""
    cols = read_csv_columns(path, spec)
    for key in ("sector", "quantity"):
        if key not in cols:
            raise AdvsimError(f"{spec}: forces_bands.csv has no column {key!r}")
    quantity = np.asarray(cols["quantity"])
    numbers = {k: floats(v, path) for k, v in cols.items() if k == "day" or k.startswith("p")}
    out: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(cols["sector"]):
        groups.setdefault(name, []).append(i)
    for name, where in groups.items():  # each column converted once, not once per sector
        rows = np.asarray(where, dtype=np.intp)
        for side in ("attacker", "defender"):
            sel = rows[quantity[rows] == f"{side}_troops"]
            if sel.size:
                out.setdefault(name, {})[side] = {k: v[sel] for k, v in numbers.items()}
    return out


def _read_scenario(path: Path, spec: str, overrides: Sequence[str] = ()) -> Scenario:
    return _parse_scenario(_read_text(path, spec), path, overrides)


def _parse_scenario(text: str, path: Path, overrides: Sequence[str] = ()) -> Scenario:
    from ..model.loader import parse_scenario

    return parse_scenario(text, file=str(path), overrides=overrides)


def _read_text(path: Path, spec: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise AdvsimError(f"{spec}: cannot read {path.name} ({e})") from None


def _read_sweep_point(spec: str, folder: Path, point: str) -> RunFiles:
    """A point of a sweep folder, read like a run: its rows of the sweep's outcomes.csv, with
    the sectors of the sweep's scenario.yaml as the point's values change them."""
    if not (folder / "points.csv").is_file():
        raise AdvsimError(f"{spec}: {folder} is not a sweep folder (no points.csv)")
    verify_run(folder, spec).done()
    points = read_csv_columns(folder / "points.csv", spec)
    if point not in points["point"]:
        raise AdvsimError(
            f"{spec}: no point {point!r} in the sweep (points 0 to {len(points['point']) - 1})"
        )
    row = points["point"].index(point)
    manifest = _read_json(folder / "manifest.json", spec) if (folder / "manifest.json").is_file() \
        else {}
    swept = list(_read_yaml(folder / "sweep.yaml", spec).get("parameters") or {})
    overrides = [f"{k}={points[k][row]}" for k in swept]  # scenario.yaml has the spec's set
    sc = _read_scenario(folder / "scenario.yaml", spec, overrides)
    table = read_table(folder / "outcomes.csv", spec)
    if "point" not in table:
        raise AdvsimError(f"{spec}: outcomes.csv has no column 'point'")
    keep = np.flatnonzero(table["point"] == float(point))
    table = {k: v[keep] for k, v in table.items()}
    n = int(points["replications"][row])
    return RunFiles(
        spec=spec, folder=folder, scenario=sc, replications=n, seed=int(points["seed"][row]),
        overrides=tuple(overrides), scenario_sha256=None, point=point, bands=None,
        sectors=sectors_from_table(table, sc, n, folder / "outcomes.csv", spec),
        manifest=manifest, scenario_yaml=_read_text(folder / "scenario.yaml", spec),
    )


def _read_yaml(path: Path, spec: str) -> dict:
    from ..model.loader import read_text, read_yaml

    try:
        doc, _ = read_yaml(read_text(path, "a sweep spec"), str(path))
    except ScenarioError as e:
        raise AdvsimError(f"{spec}: cannot read {path.name} ({e.message})") from None
    if not isinstance(doc, dict):
        raise AdvsimError(f"{spec}: {path.name} is not a sweep spec")
    return doc


def _read_json(path: Path, spec: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AdvsimError(f"{spec}: cannot read {path.name} ({e})") from None


def sectors_from_table(
    table: dict[str, Any], sc: Scenario, replications: int, path: Path, spec: str
) -> dict[str, dict[str, np.ndarray]]:
    """Per-sector arrays of a wide outcome table (one row per replication and sector, progress
    and milestones as columns: a sweep's, or a run's of an earlier release), by the
    scenario's sectors, in replication order."""
    for key in ("sector", "replication"):
        if key not in table:
            raise AdvsimError(f"{spec}: {path.name} has no column {key!r}")
    rows = _rows_by_sector(table["sector"])
    rep = table["replication"]
    out = {}
    for s in sc.sectors:
        order = _in_replication_order(rep, rows.get(s.name, np.empty(0, np.int64)),
                                      replications, path.name, f"sector {s.name!r}", spec)

        def col(key: str, censored: bool = False, order=order) -> np.ndarray:
            if key not in table:
                raise AdvsimError(f"{spec}: {path.name} has no column {key!r}")
            try:
                x = np.asarray(table[key][order], dtype=float)
            except ValueError:
                raise AdvsimError(f"{spec}: {path.name}: column {key!r} holds a value that "
                                  "is not a number") from None
            return np.where(np.isnan(x), np.inf, x) if censored else x

        days = sc.checkpoints_days
        milestones = [col(f"milestone_{slug(m.name)}_day", censored=True) for m in s.milestones]
        out[s.name] = {
            "objective_day": col("objective_day", censored=True),
            "milestone_days": np.column_stack(milestones) if milestones
            else np.empty((replications, 0)),
            "progress": np.column_stack([col(f"{s.progress_name}_d{d}") for d in days])
            if days else np.empty((replications, 0)),
            "attacker_losses": col("attacker_losses"),
            "defender_losses": col("defender_losses"),
            "base_m_per_day": col("base_m_per_day"),
            "strikes": _whole(col("strikes"), path.name, "strikes", spec),
            **{f"{side}_breakpoint_day": col(f"{side}_breakpoint_day", censored=True)
               for side in ("attacker", "defender") if f"{side}_breakpoint_day" in table},
        }
    return out
