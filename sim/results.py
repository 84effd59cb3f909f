"""Results folders: written whole into a temporary folder beside the target, then renamed;
and read back for compare and plot."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import AdvsimError
from .files import atomic_dir, provenance, sha256_text
from .outcomes import Result
from .scenario import slug

CSV_BLOCK_ROWS = 50_000


def new_run_dir(root: str | os.PathLike[str], name: str, seed: int) -> Path:
    """A folder name under ``root`` that no earlier run has used."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{slug(name)}-{stamp}-seed{seed}"
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    """Columns to CSV: booleans as true/false, NaN as an empty field, floats to 6 significant
    digits. Formatted a column at a time, in blocks of rows, so that memory stays flat."""
    write_csv_parts(path, [columns])


def write_csv_parts(path: Path, parts: Iterable[dict[str, np.ndarray]]) -> None:
    """Tables with the same columns, one after another in one CSV, holding one in memory at a
    time; formatted as ``write_csv``. No parts: an empty file."""
    with open(path, "w", encoding="utf-8") as f:
        names: list[str] | None = None
        for columns in parts:
            if names is None:
                names = list(columns)
                f.write(",".join(_quote(k) for k in names) + "\n")
            elif list(columns) != names:
                raise ValueError(f"{path}: a part has other columns than the first")
            arrays = [columns[k] for k in names]
            n = len(arrays[0]) if arrays else 0
            for lo in range(0, n, CSV_BLOCK_ROWS):
                block = [_format(a[lo : lo + CSV_BLOCK_ROWS]) for a in arrays]
                f.write("\n".join(map(",".join, zip(*block))) + "\n")


def _format(a: np.ndarray) -> list[str]:
    if a.dtype == bool:
        return np.where(a, "true", "false").tolist()
    if a.dtype.kind in "iu":
        return list(map(str, a.tolist()))
    if a.dtype.kind == "f":
        out = list(map("%.6g".__mod__, a.tolist()))
        for i in np.flatnonzero(~np.isfinite(a)).tolist():
            out[i] = ""
        return out
    return [_quote(str(v)) for v in a.tolist()]


def _quote(text: str) -> str:
    """A CSV field: quoted where it holds a comma, a quote or a line break."""
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_run(
    result: Result,
    *,
    resolved_yaml: str,
    source: str,
    overrides: tuple[str, ...] = (),
    root: str | os.PathLike[str] = "results",
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    plot: bool = False,
) -> Path:
    """Write a run's folder: scenario.yaml (resolved), manifest.json, summary.json,
    outcomes.csv (and outcomes.parquet where pyarrow is installed), bands.csv, and with
    ``plot`` the fan chart fan.png."""
    target = Path(out) if out else new_run_dir(root, result.scenario.name, result.seed)
    summary = result.summary()
    summary["results_dir"] = str(target)
    with atomic_dir(target, overwrite=overwrite) as tmp:
        (tmp / "scenario.yaml").write_text(resolved_yaml, encoding="utf-8")
        table = result.table()
        write_csv(tmp / "outcomes.csv", table)
        _maybe_parquet(tmp / "outcomes.parquet", table)
        write_csv(tmp / "bands.csv", _bands_table(result))
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
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        if plot:
            from .plots import write_fan

            write_fan(tmp)
    return target


def _bands_table(result: Result) -> dict[str, np.ndarray]:
    """Long table of per-day bands: sector, day, date, quantity, then one column per percentile."""
    parts = []
    for name, band in result.bands().items():
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


def _maybe_parquet(path: Path, table: dict[str, np.ndarray]) -> None:
    maybe_parquet_parts(path, [table])


def maybe_parquet_parts(path: Path, parts: Iterable[dict[str, np.ndarray]]) -> bool:
    """Tables with the same columns into one Parquet file where pyarrow is installed (one in
    memory at a time); returns whether it was written."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return False
    writer = None
    try:
        for table in parts:
            cols = {k: (v.astype(str) if v.dtype == object else v) for k, v in table.items()}
            t = pa.table(cols)
            if writer is None:
                writer = pq.ParquetWriter(path, t.schema)
            writer.write_table(t.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    return writer is not None


# -- reading folders back ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SectorOutcomesRead:
    """One sector's per-replication outcomes as read back from a results folder, in replication
    order. Days are +inf where not reached within the horizon (censored)."""

    name: str
    kind: str  # "axis" | "area"
    objective: str
    objective_at: float  # km along the axis, or km² held at which the objective falls
    objective_day: np.ndarray
    milestones: dict[str, np.ndarray]  # name -> day reached
    milestone_at: dict[str, float]  # name -> km along the axis, or km² held
    checkpoints_days: tuple[int, ...]
    progress: np.ndarray  # (replications, checkpoints): km advanced or km² held

    @property
    def progress_name(self) -> str:
        return "advance_km" if self.kind == "axis" else "held_km2"


@dataclass(frozen=True, kw_only=True)
class RunRead:
    """A run (or a sweep point) read back: what compare and plot need, nothing recomputed."""

    spec: str  # as named on the command line
    folder: Path
    scenario: str
    start: dt.date
    horizon_days: int
    replications: int
    seed: int
    overrides: tuple[str, ...]
    scenario_sha256: str | None
    sectors: dict[str, SectorOutcomesRead]
    point: str | None = None  # a sweep point's id

    def date_of(self, day: float) -> dt.date:
        return self.start + dt.timedelta(days=int(day // 1))

    def bands(self) -> dict[str, dict[str, np.ndarray]]:
        """Per-day bands of each sector from bands.csv: {sector: {"day": ..., "p5": ...}}."""
        path = self.folder / "bands.csv"
        if self.point is not None or not path.is_file():
            raise AdvsimError(f"{self.spec}: no bands.csv (per-day bands come with advsim run)")
        cols = read_csv_columns(path, self.spec)
        out: dict[str, dict[str, np.ndarray]] = {}
        sector = np.asarray(cols["sector"])
        for name in dict.fromkeys(cols["sector"]):
            sel = sector == name
            out[name] = {k: _floats(v, path)[sel] for k, v in cols.items()
                         if k == "day" or k.startswith("p")}
        return out


def read_csv_columns(path: Path, spec: str) -> dict[str, list[str]]:
    """A CSV file as columns of strings."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as e:
        raise AdvsimError(f"{spec}: cannot read {path.name} ({e})") from None
    if not rows or not rows[0]:
        raise AdvsimError(f"{spec}: {path.name} is empty")
    header, body = rows[0], rows[1:]
    if any(len(r) != len(header) for r in body):
        bad = next(i for i, r in enumerate(body, start=2) if len(r) != len(header))
        raise AdvsimError(f"{spec}: {path.name}:{bad}: {len(header)} fields expected")
    return {k: [r[i] for r in body] for i, k in enumerate(header)}


def _floats(values: list[str], path: Path, censored: bool = False) -> np.ndarray:
    """Numbers of a CSV column; an empty field is +inf where ``censored`` (a day not reached
    within the horizon), else NaN."""
    empty = math.inf if censored else math.nan
    try:
        return np.array([float(v) if v != "" else empty for v in values], dtype=float)
    except ValueError as e:
        raise AdvsimError(f"{path}: {e}") from None


def load_run(spec: str | os.PathLike[str]) -> RunRead:
    """Read a results folder written by ``advsim run`` (or a sweep point ``SWEEP_DIR:POINT_ID``).

    Every failure is an AdvsimError of one line that names ``spec``.
    """
    spec = str(spec)
    folder = Path(spec)
    if not folder.exists() and ":" in spec:
        head, point = spec.rsplit(":", 1)
        if Path(head).is_dir():
            return _load_sweep_point(spec, Path(head), point)
    if not folder.exists():
        raise AdvsimError(f"{spec}: no such results folder")
    if not folder.is_dir():
        raise AdvsimError(f"{spec}: not a folder (expected a results folder of advsim run)")
    if (folder / "points.csv").is_file() and not (folder / "outcomes.csv").is_file():
        raise AdvsimError(f"{spec}: a sweep folder; name one of its points as {spec}:POINT_ID")
    for name in ("summary.json", "manifest.json", "outcomes.csv"):
        if not (folder / name).is_file():
            raise AdvsimError(
                f"{spec}: not a results folder (no {name}; expected a folder written by "
                "advsim run)"
            )
    summary = _read_json(folder / "summary.json", spec)
    manifest = _read_json(folder / "manifest.json", spec)
    table = read_csv_columns(folder / "outcomes.csv", spec)
    try:
        return RunRead(
            spec=spec,
            folder=folder,
            scenario=str(summary["scenario"]),
            start=dt.date.fromisoformat(summary["start"]),
            horizon_days=int(summary["horizon_days"]),
            replications=int(summary["replications"]),
            seed=int(summary["seed"]),
            overrides=tuple(manifest.get("overrides", ())),
            scenario_sha256=manifest.get("scenario_sha256"),
            sectors=sectors_from_table(table, summary["sectors"], int(summary["replications"]),
                                       folder / "outcomes.csv", spec),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise AdvsimError(f"{spec}: summary.json or outcomes.csv lacks {e}") from None


def _load_sweep_point(spec: str, folder: Path, point: str) -> RunRead:
    """A point of a sweep folder, read like a run: its rows of the sweep's outcomes.csv, with
    the sectors of the sweep's scenario.yaml as the point's values change them."""
    from .loader import parse_scenario
    from .outcomes import sector_description

    if not (folder / "points.csv").is_file():
        raise AdvsimError(f"{spec}: {folder} is not a sweep folder (no points.csv)")
    points = read_csv_columns(folder / "points.csv", spec)
    if point not in points["point"]:
        raise AdvsimError(
            f"{spec}: no point {point!r} in the sweep (points 0 to {len(points['point']) - 1})"
        )
    row = points["point"].index(point)
    swept = list(_read_yaml(folder / "sweep.yaml", spec).get("parameters") or {})
    overrides = [f"{k}={points[k][row]}" for k in swept]  # scenario.yaml has the spec's set
    try:
        sc = parse_scenario((folder / "scenario.yaml").read_text(encoding="utf-8"),
                            file=str(folder / "scenario.yaml"), overrides=overrides)
    except OSError as e:
        raise AdvsimError(f"{spec}: cannot read scenario.yaml ({e})") from None
    table = read_csv_columns(folder / "outcomes.csv", spec)
    keep = [i for i, p in enumerate(table["point"]) if p == point]
    table = {k: [v[i] for i in keep] for k, v in table.items()}
    n = int(points["replications"][row])
    return RunRead(
        spec=spec, folder=folder, scenario=sc.name, start=sc.start,
        horizon_days=sc.horizon_days, replications=n, seed=int(points["seed"][row]),
        overrides=tuple(overrides), scenario_sha256=None, point=point,
        sectors=sectors_from_table(
            table, {s.name: sector_description(s, sc) for s in sc.sectors}, n,
            folder / "outcomes.csv", spec,
        ),
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
    table: dict[str, list[str]], sectors: dict, replications: int, path: Path, spec: str
) -> dict[str, SectorOutcomesRead]:
    """Per-sector arrays from outcome rows (one per replication and sector) and the sectors'
    descriptions in the summary's shape."""
    names = np.asarray(table["sector"])
    rep = _floats(table["replication"], path).astype(np.int64)
    out = {}
    for name, s in sectors.items():
        sel = np.flatnonzero(names == name)
        order = sel[np.argsort(rep[sel], kind="stable")]
        if not np.array_equal(rep[order], np.arange(replications)):
            raise AdvsimError(
                f"{spec}: outcomes.csv: sector {name!r} does not hold replications "
                f"0..{replications - 1} once each"
            )
        kind = s["kind"]
        progress_name = "advance_km" if kind == "axis" else "held_km2"
        days = tuple(int(d) for d in s[progress_name]["days"])
        at_key = "at_km" if kind == "axis" else "held_km2"

        def col(key: str, censored: bool = False, order=order) -> np.ndarray:
            if key not in table:
                raise AdvsimError(f"{spec}: outcomes.csv has no column {key!r}")
            return _floats([table[key][i] for i in order], path, censored)

        out[name] = SectorOutcomesRead(
            name=name,
            kind=kind,
            objective=s["objective"]["name"],
            objective_at=float(s["length_km"] if kind == "axis" else s["objective_km2"]),
            objective_day=col("objective_day", censored=True),
            milestones={m: col(f"milestone_{slug(m)}_day", censored=True)
                        for m in s["milestones"]},
            milestone_at={m: float(v[at_key]) for m, v in s["milestones"].items()},
            checkpoints_days=days,
            progress=np.column_stack([col(f"{progress_name}_d{d}") for d in days])
            if days else np.empty((replications, 0)),
        )
    return out
