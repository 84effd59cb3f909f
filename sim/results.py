"""Results folders: written whole into a temporary folder beside the target, then renamed."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

import numpy as np

from . import __version__
from .errors import AdvsimError
from .outcomes import Result, slug

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


@contextlib.contextmanager
def atomic_dir(target: Path, *, overwrite: bool = False):
    """Yield a temporary folder beside ``target``; on success it becomes ``target``, on any
    error or interrupt it is removed, so ``target`` is either complete or absent."""
    target = Path(target)
    if target.exists() and not overwrite:
        raise AdvsimError(f"{target}: already exists (use --overwrite to replace it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; the result is an ordinary folder
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
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    """Columns to CSV: booleans as true/false, NaN as an empty field, floats to 6 significant
    digits. Formatted a column at a time, in blocks of rows, so that memory stays flat."""
    arrays = list(columns.values())
    n = len(arrays[0]) if arrays else 0
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(_quote(k) for k in columns) + "\n")
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
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return
    cols = {k: (v.astype(str) if v.dtype == object else v) for k, v in table.items()}
    pq.write_table(pa.table(cols), path)
