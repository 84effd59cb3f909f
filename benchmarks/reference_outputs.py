"""Today's (commit 1bd663b) writing and reading of a results folder's tables, kept unchanged as
the baseline that benchmarks/outputs.py measures the new code against, in the same run.
Do not edit: these are the reference, not code in use."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from sim.errors import AdvsimError
from sim.model.scenario import Scenario, slug
from sim.running.outcomes import Result

CSV_BLOCK_ROWS = 50_000


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
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


def maybe_parquet(path: Path, table: dict[str, np.ndarray]) -> None:
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


def floats(values: list[str], path: Path, censored: bool = False) -> np.ndarray:
    """Numbers of a CSV column; an empty field is +inf where ``censored`` (a day not reached
    within the horizon), else NaN."""
    empty = math.inf if censored else math.nan
    try:
        return np.array([float(v) if v != "" else empty for v in values], dtype=float)
    except ValueError as e:
        raise AdvsimError(f"{path}: {e}") from None


def wide_table(self) -> dict[str, np.ndarray]:  # Result.table() of 1bd663b
    """One row per replication and sector, as columns (load with ``pandas.DataFrame``).

    ``objective_day`` and milestone days are NaN where not reached within the horizon
    (``objective_reached`` says which); they are censored, not missing.
    """
    n = self.replications
    parts = []
    for name, so in self.sectors.items():
        cols: dict[str, np.ndarray] = {
            "replication": np.arange(n),
            "sector": np.full(n, name, dtype=object),
            "objective_reached": so.reached,
            "objective_day": np.where(so.reached, so.objective_day, np.nan),
        }
        for i, m in enumerate(so.sector.milestones):
            d = so.milestone_days[:, i]
            cols[f"milestone_{slug(m.name)}_day"] = np.where(np.isfinite(d), d, np.nan)
        for i, day in enumerate(so.checkpoints_days):
            cols[f"{so.progress_name}_d{day}"] = so.progress[:, i]
        cols["attacker_losses"] = so.attacker_losses
        cols["defender_losses"] = so.defender_losses
        cols["base_m_per_day"] = so.base_m_per_day
        cols["strikes"] = so.strikes
        parts.append(cols)
    names = list(dict.fromkeys(k for p in parts for k in p))
    out = {}
    for k in names:
        arrays = [p[k] if k in p else np.full(n, np.nan) for p in parts]
        out[k] = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
    return out


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
        }
    return out


def write_tables(result, folder: Path) -> None:
    """The tables that write_run wrote: outcomes.csv, outcomes.parquet, bands.csv."""
    table = wide_table(result)
    write_csv(folder / "outcomes.csv", table)
    maybe_parquet(folder / "outcomes.parquet", table)
    write_csv(folder / "bands.csv", _bands_table(result))


def read_sectors(folder: Path, sc, replications: int) -> dict[str, dict[str, np.ndarray]]:
    """What read_run read of outcomes.csv: per-sector arrays."""
    table = read_csv_columns(folder / "outcomes.csv", str(folder))
    return sectors_from_table(table, sc, replications, folder / "outcomes.csv", str(folder))
