"""Results folders: written whole into a temporary folder beside the target, then renamed."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import json
import math
import os
import platform
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from . import __version__
from .errors import AdvsimError
from .outcomes import Result, slug


def new_run_dir(root: str | os.PathLike[str], name: str, seed: int) -> Path:
    """A folder name under ``root`` that no earlier run has used."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{slug(name)}-{stamp}-seed{seed}"
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


@contextlib.contextmanager
def atomic_dir(target: Path, *, overwrite: bool = False, staging: Path | None = None):
    """Yield a temporary folder beside ``target``; on success it becomes ``target``, on any
    error or interrupt it is removed, so ``target`` is either complete or absent.

    With ``staging``, that named folder is used instead (created if need be) and kept on error
    or interrupt, so that a long job (a sweep) can continue from what it holds.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise AdvsimError(f"{target}: already exists (use --overwrite to replace it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    if staging is not None:
        tmp = Path(staging)
        tmp.mkdir(parents=True, exist_ok=True)
    else:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        if staging is None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    """Columns to CSV: booleans as true/false, NaN as an empty field, floats to 6 significant
    digits."""
    write_csv_parts(path, [columns])


def write_csv_parts(path: Path, parts: Iterable[dict[str, np.ndarray]]) -> None:
    """Tables with the same columns, one after another in one CSV, holding one in memory at a
    time; formatted as ``write_csv``. No parts: an empty file."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        names: list[str] | None = None
        for columns in parts:
            if names is None:
                names = list(columns)
                w.writerow(names)
            elif list(columns) != names:
                raise ValueError(f"{path}: a part has other columns than the first")
            w.writerows(zip(*(_format(columns[k]) for k in names)))


def _format(a: np.ndarray) -> list[str]:
    if a.dtype == bool:
        return np.where(a, "true", "false").tolist()
    if a.dtype.kind in "iu":
        return a.astype(str).tolist()
    if a.dtype.kind == "f":
        return ["" if not math.isfinite(v) else f"{v:.6g}" for v in a.tolist()]
    return [str(v) for v in a.tolist()]


def write_run(
    result: Result,
    *,
    resolved_yaml: str,
    source: str,
    overrides: tuple[str, ...] = (),
    root: str | os.PathLike[str] = "results",
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a run's folder: scenario.yaml (resolved), manifest.json, summary.json,
    outcomes.csv (and outcomes.parquet where pyarrow is installed) and bands.csv."""
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
            "advsim": __version__,
            "scenario": result.scenario.name,
            "source": source,
            "overrides": list(overrides),
            "scenario_sha256": hashlib.sha256(resolved_yaml.encode("utf-8")).hexdigest(),
            "seed": result.seed,
            "replications": result.replications,
            "horizon_days": result.scenario.horizon_days,
            "jobs": result.jobs,
            "wall_seconds": round(result.wall_seconds, 3),
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "numpy": np.__version__,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
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
