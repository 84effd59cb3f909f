"""Results folders: claimed before the computation, written whole with the checksum of every
file in the manifest; and read back, checked, as arrays (``Result.from_folder`` makes a Result
of them)."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import AdvsimError
from .files import (
    WRITTEN_BY,
    Claim,
    checksums,
    claim_dir,
    claimed,
    provenance,
    sha256_text,
    verify_folder,
)
from .scenario import Scenario, slug
from .tables import (
    floats,
    maybe_parquet,
    read_csv_columns,
    write_csv,
)

if TYPE_CHECKING:
    from .outcomes import Result

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
    overrides: tuple[str, ...] = (),
    root: str | os.PathLike[str] = "results",
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    also: Mapping[str, Callable[[Path], object]] | None = None,
    claim: Claim | None = None,
) -> Path:
    """Write a run's folder: scenario.yaml (resolved), manifest.json, summary.json,
    outcomes.csv (and outcomes.parquet where pyarrow is installed), bands.csv, and with
    each file of ``also`` (name -> a function that writes that path: a chart, say), all or
    nothing. ``claim`` is the folder claimed (``claim_run``) before the computation; without
    it the folder is claimed now. The manifest holds the sha256 of every other file."""
    if claim is None:
        claim = claim_run(result.scenario, result.seed, root=root, out=out, overwrite=overwrite)
    target = claim.target
    summary = result.summary()
    summary["results_dir"] = str(target)
    with claimed(claim) as tmp:
        (tmp / "scenario.yaml").write_text(resolved_yaml, encoding="utf-8")
        table = result.table()
        write_csv(tmp / "outcomes.csv", table)
        maybe_parquet(tmp / "outcomes.parquet", table)
        write_csv(tmp / "bands.csv", _bands_table(result))
        write_csv(tmp / "forces_bands.csv", _forces_bands_table(result))
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        manifest = {
            **provenance(seed=result.seed, scenario_sha256=sha256_text(resolved_yaml)),
            "scenario": result.scenario.name,
            "source": source,
            "overrides": list(overrides),
            "replications": result.replications,
            "horizon_days": result.scenario.horizon_days,
            "jobs": result.jobs,
            "wall_seconds": round(result.wall_seconds, 3),
            "written_by": WRITTEN_BY,
        }
        for name, write in (also or {}).items():
            write(tmp / name)
        names = [f.name for f in tmp.iterdir() if f.is_file() and not f.name.startswith(".")]
        manifest["files"] = checksums(tmp, names)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return target


def claim_run(
    scenario: Scenario, seed: int, *, root: str | os.PathLike[str] = "results",
    out: str | os.PathLike[str] | None = None, overwrite: bool = False,
) -> Claim:
    """Claim the folder a run will write (``out``, else a new one under ``root``) before it is
    computed: two runs cannot both have it, and a folder that cannot be written is one error
    now rather than after the computation."""
    target = Path(out) if out else new_run_dir(root, scenario.name, seed)
    return claim_dir(target, overwrite=overwrite)


def _bands_table(result: Result) -> dict[str, np.ndarray]:
    """Long table of per-day bands: sector, day, date, quantity, then one column per percentile."""
    from .summary import band_columns

    parts = []
    for name, band in result.bands(band_columns(result.scenario.percentiles)).items():
        so = result.sectors[name]
        days = band["day"]
        start = np.datetime64(result.scenario.start.isoformat())
        parts.append({
            "sector": np.full(days.size, name, dtype=object),
            "day": days,
            "date": (start + days.astype("timedelta64[D]")).astype(str),
            "quantity": np.full(days.size, so.progress_name, dtype=object),
            **{k: v for k, v in band.items() if k != "day"},
        })
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _forces_bands_table(result: Result) -> dict[str, np.ndarray]:
    """Long table of per-day bands of troops: sector, day, date, quantity (attacker_troops or
    defender_troops), then one column per percentile."""
    from .summary import band_columns

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
    verify_run(folder, spec)
    for name in RUN_FILES:
        if not (folder / name).is_file():
            raise AdvsimError(
                f"{spec}: not a results folder (no {name}; expected a folder written by "
                "advsim run)"
            )
    summary = _read_json(folder / "summary.json", spec)
    manifest = _read_json(folder / "manifest.json", spec)
    table = read_csv_columns(folder / "outcomes.csv", spec)
    sc = _read_scenario(folder / "scenario.yaml", spec)
    try:
        n = int(summary["replications"])
        seed = int(summary["seed"])
        overrides = tuple(manifest.get("overrides", ()))
        sha = manifest.get("scenario_sha256")
        wall = float(manifest.get("wall_seconds", 0.0))
    except (KeyError, TypeError, ValueError) as e:
        raise AdvsimError(f"{spec}: summary.json or manifest.json lacks {e}") from None
    bands = _read_bands(folder / "bands.csv", spec) if (folder / "bands.csv").is_file() else {}
    forces = folder / "forces_bands.csv"
    return RunFiles(
        spec=spec, folder=folder, scenario=sc, replications=n, seed=seed, overrides=overrides,
        scenario_sha256=sha, wall_seconds=wall, bands=bands,
        forces_bands=_read_forces_bands(forces, spec) if forces.is_file() else None,
        sectors=sectors_from_table(table, sc, n, folder / "outcomes.csv", spec),
    )


RUN_FILES = ("summary.json", "manifest.json", "outcomes.csv", "scenario.yaml")


def verify_run(folder: Path, spec: str) -> None:
    """What every reader of a run or sweep folder checks first: the folder is complete and
    each file matches its checksum in the manifest; the counts it gives are sane."""
    manifest = verify_folder(folder, spec, first=RUN_FILES)
    for key, most in (("replications", 10**9), ("horizon_days", 36_500), ("points", 10**6)):
        v = manifest.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)
                              or not 0 < v <= most):
            raise AdvsimError(f"{spec}: manifest.json: {key} is {v!r} (expected a whole "
                              f"number from 1 to {most:,})")


def _read_bands(path: Path, spec: str) -> dict[str, dict[str, np.ndarray]]:
    """Per-day bands of each sector from bands.csv: {sector: {"day": ..., "p5": ...}}."""
    cols = read_csv_columns(path, spec)
    out: dict[str, dict[str, np.ndarray]] = {}
    if "sector" not in cols:
        raise AdvsimError(f"{spec}: bands.csv has no column 'sector'")
    sector = np.asarray(cols["sector"])
    for name in dict.fromkeys(cols["sector"]):
        sel = sector == name
        out[name] = {k: floats(v, path)[sel] for k, v in cols.items()
                     if k == "day" or k.startswith("p")}
    return out


def _read_forces_bands(path: Path, spec: str) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """Per-day bands of troops from forces_bands.csv: {sector: {side: {"day": ..., "p5": ...}}}."""
    cols = read_csv_columns(path, spec)
    for key in ("sector", "quantity"):
        if key not in cols:
            raise AdvsimError(f"{spec}: forces_bands.csv has no column {key!r}")
    sector, quantity = np.asarray(cols["sector"]), np.asarray(cols["quantity"])
    out: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for name in dict.fromkeys(cols["sector"]):
        for side in ("attacker", "defender"):
            sel = (sector == name) & (quantity == f"{side}_troops")
            if sel.any():
                out.setdefault(name, {})[side] = {
                    k: floats(v, path)[sel] for k, v in cols.items()
                    if k == "day" or k.startswith("p")}
    return out


def _read_scenario(path: Path, spec: str, overrides: Sequence[str] = ()) -> Scenario:
    from .loader import parse_scenario

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise AdvsimError(f"{spec}: cannot read {path.name} ({e})") from None
    return parse_scenario(text, file=str(path), overrides=overrides)


def _read_sweep_point(spec: str, folder: Path, point: str) -> RunFiles:
    """A point of a sweep folder, read like a run: its rows of the sweep's outcomes.csv, with
    the sectors of the sweep's scenario.yaml as the point's values change them."""
    if not (folder / "points.csv").is_file():
        raise AdvsimError(f"{spec}: {folder} is not a sweep folder (no points.csv)")
    verify_run(folder, spec)
    points = read_csv_columns(folder / "points.csv", spec)
    if point not in points["point"]:
        raise AdvsimError(
            f"{spec}: no point {point!r} in the sweep (points 0 to {len(points['point']) - 1})"
        )
    row = points["point"].index(point)
    swept = list(_read_yaml(folder / "sweep.yaml", spec).get("parameters") or {})
    overrides = [f"{k}={points[k][row]}" for k in swept]  # scenario.yaml has the spec's set
    sc = _read_scenario(folder / "scenario.yaml", spec, overrides)
    table = read_csv_columns(folder / "outcomes.csv", spec)
    keep = [i for i, p in enumerate(table["point"]) if p == point]
    table = {k: [v[i] for i in keep] for k, v in table.items()}
    n = int(points["replications"][row])
    return RunFiles(
        spec=spec, folder=folder, scenario=sc, replications=n, seed=int(points["seed"][row]),
        overrides=tuple(overrides), scenario_sha256=None, point=point, bands=None,
        sectors=sectors_from_table(table, sc, n, folder / "outcomes.csv", spec),
    )


def _read_yaml(path: Path, spec: str) -> dict:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise AdvsimError(f"{spec}: cannot read {path.name} ({e})") from None
    if not isinstance(doc, dict):
        raise AdvsimError(f"{spec}: {path.name} is not a sweep spec")
    return doc


def _read_json(path: Path, spec: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AdvsimError(f"{spec}: cannot read {path.name} ({e})") from None


def sectors_from_table(
    table: dict[str, list[str]], sc: Scenario, replications: int, path: Path, spec: str
) -> dict[str, dict[str, np.ndarray]]:
    """Per-sector arrays of outcome rows (one per replication and sector), by the scenario's
    sectors, in replication order."""
    for key in ("sector", "replication"):
        if key not in table:
            raise AdvsimError(f"{spec}: outcomes.csv has no column {key!r}")
    names = np.asarray(table["sector"])
    rep = floats(table["replication"], path).astype(np.int64)
    out = {}
    for s in sc.sectors:
        sel = np.flatnonzero(names == s.name)
        order = sel[np.argsort(rep[sel], kind="stable")]
        if not np.array_equal(rep[order], np.arange(replications)):
            raise AdvsimError(
                f"{spec}: outcomes.csv: sector {s.name!r} does not hold replications "
                f"0..{replications - 1} once each"
            )

        def col(key: str, censored: bool = False, order=order) -> np.ndarray:
            if key not in table:
                raise AdvsimError(f"{spec}: outcomes.csv has no column {key!r}")
            return floats([table[key][i] for i in order], path, censored)

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
            "strikes": col("strikes").astype(np.int64),
            **{f"{side}_breakpoint_day": col(f"{side}_breakpoint_day", censored=True)
               for side in ("attacker", "defender") if f"{side}_breakpoint_day" in table},
        }
    return out
