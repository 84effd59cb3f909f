"""Tables on disk, as columns of numpy arrays: CSV that pandas, polars and DuckDB read with the
same types every time (floats always with a decimal point or an exponent, empty for null,
true/false, dates as YYYY-MM-DD; written in blocks, so memory stays flat), Parquet beside it
where pyarrow is installed (nulls, never NaN; strings as dictionaries; dates as date32; the
advsim version, scenario hash and units in the schema's metadata), and both read back as
columns, Parquet first."""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import AdvsimError

CSV_BLOCK_ROWS = 50_000

TABLES = ("outcomes", "progress", "milestones")  # a run's tables (``Result.table``)

# The unit of each column of a run's tables (outcomes, progress, milestones, bands); a
# progress value is in the unit its quantity names.
UNITS = {
    "replication": "index", "day": "day", "date": "date", "objective_day": "day",
    "objective_date": "date", "attacker_losses": "troops", "defender_losses": "troops",
    "base_m_per_day": "m/day", "strikes": "count",
    "value": "km for quantity advance_km, km² for held_km2",
}


def write_csv(path: Path, columns: Mapping[str, np.ndarray]) -> None:
    """Columns to CSV: booleans as true/false, NaN (and NaT) as an empty field, floats to 6
    significant digits, always with a decimal point or an exponent (35.0, not 35), dates as
    YYYY-MM-DD. Formatted a column at a time, in blocks of rows, so that memory stays flat."""
    write_csv_parts(path, [columns])


def write_csv_parts(path: Path, parts: Iterable[Mapping[str, np.ndarray]]) -> None:
    """Tables with the same columns, one after another in one CSV, holding one in memory at a
    time; formatted as ``write_csv``. No parts: an empty file."""
    memo: dict[tuple, tuple[np.ndarray, list[str]]] = {}
    with open(path, "w", encoding="utf-8") as f:
        names: list[str] | None = None
        for columns in parts:
            if names is None:
                names = list(columns)
                f.write(",".join(_quote(k) for k in names) + "\n")
            elif list(columns) != names:
                raise ValueError(f"{path}: a part has other columns than the first")
            arrays = [np.asarray(columns[k]) for k in names]
            n = len(arrays[0]) if arrays else 0
            for lo in range(0, n, CSV_BLOCK_ROWS):
                f.write(_block([a[lo : lo + CSV_BLOCK_ROWS] for a in arrays], memo))


def _block(arrays: Sequence[np.ndarray], memo: dict) -> str:
    """Rows of a block of columns as CSV lines; a column with one value throughout the block
    (a sector's name, a checkpoint's day) is formatted once, and a column of integers that
    parts share (the replication numbers of every part of a long table) once per block."""
    texts, varying = [], []
    for a in arrays:
        if _constant(a):
            texts.append(_format(a[:1])[0].replace("{", "{{").replace("}", "}}"))
            continue
        texts.append("{}")
        base = a.base if a.base is not None else a
        if a.dtype.kind in "iu":  # the same memory, held alive here: the same numbers
            key = (id(base), a.__array_interface__["data"][0], a.size, a.strides)
            kept = memo.get(key)
            if kept is None or kept[0] is not base:
                kept = memo[key] = (base, _format(a))
            varying.append(kept[1])
        else:
            varying.append(_format(a))
    template = ",".join(texts)
    lines = map(template.format, *varying) if varying else [template] * len(arrays[0])
    return "\n".join(lines) + "\n"


def _constant(a: np.ndarray) -> bool:
    if a.size < 2:
        return False
    if a.strides == (0,):  # one value broadcast (``constant``)
        return True
    if (a == a[0]).all():
        return True
    if a.dtype.kind == "f":
        return bool(np.isnan(a).all())
    if a.dtype.kind == "M":
        return bool(np.isnat(a).all())
    return False


def _format(a: np.ndarray, guard: bool = True) -> list[str]:
    if a.dtype == bool:
        return np.where(a, "true", "false").tolist()
    if a.dtype.kind in "iu":
        return list(map(str, a.tolist()))
    if a.dtype.kind == "f":
        out = list(map("%.6g".__mod__, a.tolist()))
        # A decimal point where %.6g leaves none: only values that round, at 6 significant
        # digits, to a whole number below 1e6 can lack one (and an exponent); test just those.
        finite = np.isfinite(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            size = np.abs(a)
            near = np.abs(a - np.round(a)) <= 10.0 ** (np.floor(np.log10(size)) - 5)
        for i in np.flatnonzero(finite & (size < 1e6) & near).tolist():
            if "." not in out[i] and "e" not in out[i]:
                out[i] += ".0"
        for i in np.flatnonzero(~finite).tolist():
            out[i] = ""
        return out
    if a.dtype.kind == "M":  # dates: few distinct ones, each formatted once
        values, inverse = np.unique(a.astype("datetime64[D]"), return_inverse=True)
        text = np.array(["" if np.isnat(v) else str(v) for v in values], dtype=object)
        return text[inverse.ravel()].tolist()
    items = [str(v) for v in a.tolist()]
    quoted = {v: _quote(v, guard) for v in set(items)}
    return list(map(quoted.__getitem__, items))


def csv_fields(a: np.ndarray) -> list[str]:
    """A column's fields as ``write_csv`` writes them (a label on a chart reads as the CSV),
    without the guard against formulas (a chart runs none)."""
    return _format(np.asarray(a), guard=False)


# A spreadsheet runs a cell starting with = + - @ (or a tab or carriage return) as a formula:
# such a text gets a leading ' (as OWASP advises for CSV injection), and so does one that
# starts with ' before them, so that reading takes exactly one ' off. Numbers stay numbers.
_FORMULA = re.compile(r"'*[=+\-@\t\r]")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def escape_cell(text: str) -> str:
    """A text cell as a spreadsheet shows it and never runs it: ``=1+2`` as ``'=1+2``; a
    number (``-1.5``) as it is. ``unescape_cell`` is its inverse."""
    if _FORMULA.match(text) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def unescape_cell(text: str) -> str:
    """A text cell as ``escape_cell`` had it: one leading ' taken off a formula's guard."""
    if text[:1] == "'" and _FORMULA.match(text):
        return text[1:]
    return text


def csv_line(fields: Iterable[str]) -> str:
    """One CSV line of text fields, each guarded and quoted as every CSV advsim writes."""
    return ",".join(_quote(f) for f in fields) + "\n"


def _quote(text: str, guard: bool = True) -> str:
    """A CSV field: guarded against formulas (``escape_cell``), and quoted where it holds a
    comma, a quote or a line break."""
    if guard:
        text = escape_cell(text)
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def constant(value: object, size: int, dtype: Any = None) -> np.ndarray:
    """A read-only column of one value, in no memory: CSV and Parquet write it once."""
    return np.broadcast_to(np.array(value, dtype=dtype), (size,))


def pyarrow() -> ModuleType | None:
    """pyarrow, where it is installed (None otherwise; tests replace this to go without)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet  # pa.parquet, for the callers
    except ImportError:
        return None
    return pa


def arrow_table(columns: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None):
    """Columns as a pyarrow Table: non-finite floats and NaT as nulls (never NaN), strings as
    dictionaries, datetime64 days as date32; ``metadata`` and the units of the columns (from
    ``UNITS``) in the schema."""
    pa = pyarrow()
    if pa is None:
        raise AdvsimError("pyarrow is not installed (pip install 'advsim[parquet]')")
    arrays, fields = [], []
    for name, v in columns.items():
        v = np.asarray(v)
        if v.strides == (0,) and v.dtype.kind not in "OUS":
            v = np.ascontiguousarray(v)
        if v.dtype.kind == "f":
            arr = _from_numpy(pa, v, ~np.isfinite(v))
        elif v.dtype.kind == "M":
            days = v.astype("datetime64[D]")
            arr = _from_numpy(pa, days.view(np.int64).astype(np.int32), np.isnat(days),
                              pa.date32())
        elif v.dtype.kind in "OUS" and v.size and _constant(v):
            arr = pa.DictionaryArray.from_arrays(
                _from_numpy(pa, np.zeros(v.size, np.int32)), _strings(pa, [str(v[0])]))
        elif v.dtype.kind in "OUS":
            arr = _strings(pa, [str(x) for x in v.tolist()]).dictionary_encode()
        else:
            arr = _from_numpy(pa, v)
        arrays.append(arr)
        unit = UNITS.get(name)
        fields.append(pa.field(name, arr.type, metadata={"unit": unit} if unit else None))
    meta = dict(metadata or {})
    units = {k: UNITS[k] for k in columns if k in UNITS}
    if units:
        meta["units"] = json.dumps(units, ensure_ascii=False)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=meta or None))


# Arrays are built from their buffers: pyarrow's own conversions of numpy arrays and lists
# import pandas (over a second of a run's writing) only to ask whether they are pandas objects.
def _from_numpy(pa: ModuleType, v: np.ndarray, null: np.ndarray | None = None,
                type: Any = None):
    """A numpy column (numbers or booleans) as an Arrow array; nulls where ``null``."""
    v = np.ascontiguousarray(v)
    if type is None:
        type = pa.bool_() if v.dtype == bool else pa.from_numpy_dtype(v.dtype)
    data = np.packbits(v, bitorder="little") if v.dtype == bool else v
    nulls = int(null.sum()) if null is not None else 0
    valid = (pa.py_buffer(np.packbits(~null, bitorder="little")) if nulls and null is not None
             else None)
    return pa.Array.from_buffers(type, v.size, [valid, pa.py_buffer(data)], null_count=nulls)


def _strings(pa: ModuleType, items: list[str]):
    """Texts as an Arrow string array."""
    encoded = [t.encode("utf-8") for t in items]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    kind = pa.string() if offsets[-1] < 2**31 else pa.large_string()
    offsets = offsets.astype(np.int32) if kind == pa.string() else offsets
    return pa.Array.from_buffers(kind, len(encoded), [None, pa.py_buffer(offsets),
                                                      pa.py_buffer(b"".join(encoded))])


def maybe_parquet(path: Path, table: Mapping[str, np.ndarray],
                  metadata: Mapping[str, str] | None = None) -> bool:
    return maybe_parquet_parts(path, [table], metadata)


def maybe_parquet_parts(path: Path, parts: Iterable[Mapping[str, np.ndarray]],
                        metadata: Mapping[str, str] | None = None) -> bool:
    """Tables with the same columns into one Parquet file where pyarrow is installed (one in
    memory at a time, a row group each), typed as ``arrow_table``; returns whether it was
    written."""
    pa = pyarrow()
    if pa is None:
        return False
    writer = None
    try:
        for table in parts:
            t = arrow_table(table, metadata)
            if writer is None:
                writer = pa.parquet.ParquetWriter(path, t.schema)
            writer.write_table(t.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    return writer is not None


TEXT = ("sector", "quantity", "milestone")  # columns of names, never numbers


class Labels:
    """A column of names read back, as codes into its few distinct values (a sector's name is
    not made a Python string per row): ``labels == "kursk"`` is a boolean mask,
    ``labels[rows]`` a Labels, ``labels.values()`` the names as an object array."""

    def __init__(self, codes: np.ndarray, names: Sequence[str]) -> None:
        self.codes = codes
        self.names = list(names)

    def __len__(self) -> int:
        return int(self.codes.size)

    @property
    def size(self) -> int:
        return int(self.codes.size)

    def __eq__(self, other: object) -> np.ndarray:  # type: ignore[override]
        hits = [i for i, v in enumerate(self.names) if v == other]
        return np.isin(self.codes, hits) if hits else np.zeros(self.codes.size, dtype=bool)

    def __getitem__(self, rows: Any) -> Labels:
        return Labels(self.codes[rows], self.names)

    def values(self) -> np.ndarray:
        return np.array(self.names, dtype=object)[self.codes] if self.names \
            else np.empty(self.codes.size, dtype=object)

    def groups(self) -> dict[str, np.ndarray]:
        """The row numbers of each name, in order of the rows."""
        if len(self.names) == 1:
            return {self.names[0]: np.arange(self.codes.size)}
        codes = self.codes
        order = np.arange(codes.size) if (codes[1:] >= codes[:-1]).all() else \
            np.argsort(codes, kind="stable")
        bounds = np.searchsorted(self.codes[order], np.arange(len(self.names) + 1))
        out: dict[str, np.ndarray] = {}
        for i, name in enumerate(self.names):
            rows = order[bounds[i]:bounds[i + 1]]
            out[name] = np.sort(np.concatenate([out[name], rows])) if name in out else rows
        return out
DATES = ("date", "objective_date")


def read_table(csv_path: Path, spec: str, columns: Sequence[str] | None = None,
               ) -> dict[str, Any]:
    """A table as numpy columns, from the Parquet file beside ``csv_path`` where there is one
    and pyarrow is installed, else from the CSV (through pyarrow's reader, or numpy's):
    nulls become NaN in numbers and NaT in dates, columns of names (and any text) ``Labels``.
    Only ``columns`` where given; a missing one is an AdvsimError naming ``spec`` and the
    file."""
    pa = pyarrow()
    if pa is None:
        return _read_numpy_csv(csv_path, spec, columns)
    parquet = csv_path.with_suffix(".parquet")
    path = parquet if parquet.is_file() else csv_path
    try:
        if path is parquet:
            return _read_parquet(pa, path, spec, columns)
        table = _read_arrow_csv(pa, path, spec, columns)
    except (OSError, pa.ArrowException) as e:
        raise AdvsimError(f"{spec}: cannot read {path.name} ({str(e).splitlines()[0]})"
                          ) from None
    return _unescape_columns(_from_arrow(pa, table))


def table_file(csv_path: Path) -> Path:
    """The file ``read_table`` reads for ``csv_path``: the Parquet beside it where there is one
    and pyarrow is installed, else the CSV."""
    parquet = csv_path.with_suffix(".parquet")
    return parquet if parquet.is_file() and pyarrow() is not None else csv_path


def table_column_names(csv_path: Path, spec: str) -> list[str]:
    """The columns of the table ``read_table`` reads for ``csv_path`` (from the Parquet
    schema, or the CSV's header)."""
    path = table_file(csv_path)
    try:
        if path.suffix == ".parquet":
            pa = pyarrow()
            assert pa is not None
            try:
                return list(pa.parquet.ParquetFile(path).schema_arrow.names)
            except pa.ArrowException as e:
                raise AdvsimError(f"{spec}: cannot read {path.name} "
                                  f"({str(e).splitlines()[0]})") from None
        with open(path, "rb") as f:
            line = f.readline().decode("utf-8", "replace").rstrip("\r\n")
    except OSError as e:
        raise AdvsimError(f"{spec}: cannot read {path.name} ({e})") from None
    return [unescape_cell(k) for k in next(csv.reader([line]), [])]


def read_table_parts(csv_path: Path, spec: str, columns: Sequence[str]
                     ) -> Iterator[dict[str, Any]]:
    """``read_table`` in parts: a Parquet file's row groups one at a time (a part of the table
    each, as written), else the whole CSV as one part; for readers that keep less than all."""
    pa = pyarrow()
    parquet = csv_path.with_suffix(".parquet")
    if pa is None or not parquet.is_file():
        yield read_table(csv_path, spec, columns)
        return
    try:
        f = pa.parquet.ParquetFile(parquet)
        _require(columns, f.schema_arrow.names, parquet, spec)
        groups = f.metadata.num_row_groups
    except (OSError, pa.ArrowException) as e:
        raise AdvsimError(f"{spec}: cannot read {parquet.name} ({str(e).splitlines()[0]})"
                          ) from None
    for i in range(groups):
        try:
            group = f.read_row_group(i, columns=list(columns))
        except (OSError, pa.ArrowException) as e:
            raise AdvsimError(f"{spec}: cannot read {parquet.name} "
                              f"({str(e).splitlines()[0]})") from None
        part = _from_arrow(pa, group)
        del group
        _release(pa)
        yield part


def _read_parquet(pa: ModuleType, path: Path, spec: str, columns: Sequence[str] | None,
                  ) -> dict[str, Any]:
    """A Parquet file a column at a time, so that only the numpy columns and one column's
    arrow buffers are ever in memory."""
    return dict(_parquet_columns(pa, path, spec, columns))


def _parquet_columns(pa: ModuleType, path: Path, spec: str, columns: Sequence[str] | None,
                     ) -> Iterator[tuple[str, Any]]:
    f = pa.parquet.ParquetFile(path)
    _require(columns, f.schema_arrow.names, path, spec)
    names = list(columns) if columns is not None else f.schema_arrow.names
    for name in names:
        col = _column(pa, f.read(columns=[name]).column(0))
        _release(pa)
        yield name, col


def _release(pa: ModuleType) -> None:
    """Hand the memory of arrow buffers let go back to the system: arrow's allocator keeps
    it for reuse otherwise, and a large table read column by column would hold as much again
    in buffers no longer used."""
    pa.default_memory_pool().release_unused()


def read_table_columns(csv_path: Path, spec: str, columns: Sequence[str]
                       ) -> Iterator[tuple[str, Any]]:
    """``read_table``'s columns as (name, column) one at a time, in the order of ``columns``:
    from a Parquet file each read only when asked for (a reader that splits each column and
    lets it go holds one at a time), else from the whole CSV, read once. A missing column is
    an AdvsimError before the first is given."""
    pa = pyarrow()
    parquet = csv_path.with_suffix(".parquet")
    if pa is None or not parquet.is_file():
        table = read_table(csv_path, spec, columns)
        for name in columns:
            yield name, table.pop(name)
        return
    try:
        yield from _parquet_columns(pa, parquet, spec, columns)
    except (OSError, pa.ArrowException) as e:
        raise AdvsimError(f"{spec}: cannot read {parquet.name} ({str(e).splitlines()[0]})"
                          ) from None


def _read_arrow_csv(pa: ModuleType, path: Path, spec: str, columns: Sequence[str] | None):
    import pyarrow.csv as pcsv

    with open(path, "rb") as f:
        raw = next(csv.reader([f.readline().decode("utf-8", "replace").rstrip("\r\n")]), [])
    written = {unescape_cell(k): k for k in raw}  # a column's name -> as written
    header = list(written)
    _require(columns, header, path, spec)
    types = {written[k]: pa.string() for k in header if k in TEXT}
    types.update({written[k]: pa.date32() for k in header if k in DATES})
    opts = pcsv.ConvertOptions(
        include_columns=None if columns is None else [written[c] for c in columns],
        column_types=types, true_values=["true"], false_values=["false"],
        strings_can_be_null=False)
    table = pcsv.read_csv(path, convert_options=opts)
    return table.rename_columns([unescape_cell(k) for k in table.column_names])


def _unescape_columns(table: dict[str, Any]) -> dict[str, Any]:
    """Text columns read from a CSV as they were before ``escape_cell`` (Labels: each distinct
    name once)."""
    for name, col in table.items():
        if isinstance(col, Labels):
            col.names = [unescape_cell(v) for v in col.names]
        elif isinstance(col, np.ndarray) and col.dtype == object:
            table[name] = np.array([unescape_cell(v) if isinstance(v, str) else v
                                    for v in col.tolist()], dtype=object)
    return table


def _require(columns: Sequence[str] | None, have: Sequence[str], path: Path, spec: str) -> None:
    missing = [c for c in columns or () if c not in have]
    if missing:
        raise AdvsimError(f"{spec}: {path.name} has no column {missing[0]!r}")


def _from_arrow(pa: ModuleType, table) -> dict[str, Any]:
    return {name: _column(pa, table.column(name)) for name in table.column_names}


def _column(pa: ModuleType, col) -> Any:
    """An arrow column as numpy (or Labels, for names)."""
    kind = col.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        col = col.dictionary_encode()
        kind = col.type
    if pa.types.is_dictionary(kind):
        return _labels(col)
    if pa.types.is_date32(kind):
        return _numpy(col, np.int32, np.iinfo(np.int64).min).astype(
            "datetime64[D]")  # the int64 minimum is NaT
    if pa.types.is_boolean(kind):
        return _numpy(col, bool, False)
    if pa.types.is_integer(kind) and col.null_count == 0:
        x = _numpy(col, kind.to_pandas_dtype(), 0)
        if x.dtype == np.int64 and x.size and x.min() >= -2**31 and x.max() < 2**31:
            x = x.astype(np.int32)  # replication numbers and days: half the memory
        return x
    if pa.types.is_floating(kind) or pa.types.is_integer(kind):
        if kind != pa.float64():  # (a cast imports pyarrow.compute: only where needed)
            col = col.cast(pa.float64())
        return _numpy(col, np.float64, np.nan)
    if pa.types.is_null(kind):
        return np.full(len(col), np.nan)
    return np.asarray(col.to_pylist(), dtype=object)


def _numpy(col, dtype: Any, null: Any) -> np.ndarray:
    """A fixed-width arrow column as numpy, nulls as ``null``, read from its buffers (arrow's
    own conversion imports pandas, which takes longer than reading a million rows)."""
    parts = []
    for c in col.chunks:
        n, off = len(c), c.offset
        validity, data = c.buffers()[:2]
        if np.dtype(dtype) == bool:
            bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
            x = bits[off:off + n].astype(bool)
        else:
            x = np.frombuffer(data, dtype=dtype, count=off + n)[off:].copy()
        if c.null_count:
            valid = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")
            x = x.astype(np.int64) if np.dtype(dtype) == np.int32 and null is not None \
                and not isinstance(null, float) else x
            x[~valid[off:off + n].astype(bool)] = null
        parts.append(x)
    return np.concatenate(parts) if parts else np.empty(0, dtype)


def pa_chunked(array):
    """An arrow Array as a one-chunk ChunkedArray."""
    pa = pyarrow()
    assert pa is not None
    return pa.chunked_array([array])


def _labels(col) -> Labels:
    """A dictionary-encoded arrow column as Labels, its chunks' dictionaries merged."""
    names: dict[str, int] = {}
    parts = []
    for chunk in col.chunks:
        own = [str(v) for v in chunk.dictionary.to_pylist()]
        remap = np.array([names.setdefault(v, len(names)) for v in own], dtype=np.int32)
        idx = _numpy(pa_chunked(chunk.indices), chunk.indices.type.to_pandas_dtype(), 0)
        parts.append(remap[idx] if remap.size else np.zeros(idx.size, np.int32))
    codes = np.concatenate(parts) if parts else np.empty(0, np.int32)
    return Labels(codes, list(names))


def _read_numpy_csv(path: Path, spec: str, columns: Sequence[str] | None,
                    ) -> dict[str, Any]:
    """Without pyarrow: the csv module's reader (C) and numpy's casts, a column at a time."""
    cols = read_csv_columns(path, spec)
    _require(columns, list(cols), path, spec)
    out: dict[str, Any] = {}
    for name in columns if columns is not None else cols:
        text = np.asarray(cols[name], dtype=str)
        if name in TEXT:
            names, codes = np.unique(text, return_inverse=True)
            out[name] = Labels(codes.ravel().astype(np.int32), names.tolist())
        elif name in DATES:
            out[name] = np.where(text == "", "NaT", text).astype("datetime64[D]")
        elif text.size and np.isin(text, ("true", "false")).all():
            out[name] = text == "true"
        else:
            try:
                out[name] = np.where(text == "", "nan", text).astype(float)
            except ValueError:
                out[name] = text.astype(object)
            else:
                whole = out[name]
                if name in ("replication", "strikes", "point", "day") and \
                        np.isfinite(whole).all() and (whole == np.round(whole)).all():
                    out[name] = whole.astype(np.int64)
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
    header, body = [unescape_cell(h) for h in rows[0]], rows[1:]
    if any(len(r) != len(header) for r in body):
        bad = next(i for i, r in enumerate(body, start=2) if len(r) != len(header))
        raise AdvsimError(f"{spec}: {path.name}:{bad}: {len(header)} fields expected")
    by_column = list(zip(*body)) if body else [() for _ in header]
    return {k: [unescape_cell(x) if x[:1] == "'" else x for x in v]
            for k, v in zip(header, by_column)}


def floats(values: list[str], path: Path, censored: bool = False) -> np.ndarray:
    """Numbers of a CSV column; an empty field is +inf where ``censored`` (a day not reached
    within the horizon), else NaN."""
    empty = math.inf if censored else math.nan
    try:
        return np.array([float(v) if v != "" else empty for v in values], dtype=float)
    except ValueError as e:
        raise AdvsimError(f"{path}: {e}") from None
