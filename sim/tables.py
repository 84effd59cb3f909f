"""Tables on disk, as columns of numpy arrays: CSV that every dataframe library reads the same
way (written in blocks, so memory stays flat), Parquet beside it where pyarrow is installed,
and CSV read back as columns."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .errors import AdvsimError

CSV_BLOCK_ROWS = 50_000


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
