"""The long quantile table of the forecast hubs (the hubverse ``model_out_tbl``): one row per
reference date, target, horizon, location and quantile level, with its value; every
forecaster's projections fill it, one writer writes it, and it is scored as it stands."""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AdvsimError
from .scores import QUANTILE_LEVELS, quantiles, wis_of_quantiles

if TYPE_CHECKING:
    from .backtest import Backtest

COLUMNS = ("reference_date", "target", "horizon", "location", "output_type", "output_type_id",
           "value")
# reference_date: the origin (YYYY-MM-DD); target: advance_km, held_km2 (the scenario's
# frame) or fall_day; horizon: days after the origin; location: the sector; output_type:
# "quantile"; output_type_id: the quantile level.
Key = tuple[str, str, int, str]  # (reference_date, target, horizon, location)


@dataclass(frozen=True, kw_only=True)
class QuantileTable:
    """Rows of the long quantile table, as columns."""

    reference_date: tuple[str, ...]
    target: tuple[str, ...]
    horizon: np.ndarray  # int days
    location: tuple[str, ...]
    output_type_id: np.ndarray  # quantile levels
    value: np.ndarray

    def __len__(self) -> int:
        return len(self.value)

    @classmethod
    def from_rows(cls, rows: Sequence[tuple]) -> QuantileTable:
        """From ``(reference_date, target, horizon, location, level, value)`` tuples."""
        cols = list(zip(*rows)) if rows else [()] * 6
        return cls(reference_date=tuple(str(x) for x in cols[0]),
                   target=tuple(str(x) for x in cols[1]),
                   horizon=np.asarray(cols[2], dtype=np.int64),
                   location=tuple(str(x) for x in cols[3]),
                   output_type_id=np.asarray(cols[4], dtype=float),
                   value=np.asarray(cols[5], dtype=float))

    @classmethod
    def of_ensembles(cls, forecasts: Sequence[tuple[dt.date, str, str, np.ndarray, np.ndarray]],
                     levels: Sequence[float] = QUANTILE_LEVELS) -> QuantileTable:
        """From ``(origin, target, location, horizons in days, members × horizons)``: each
        column's quantiles at ``levels``."""
        rows = []
        for origin, target, location, days, members in forecasts:
            q = quantiles(members, levels)
            for j, day in enumerate(np.asarray(days)):
                rows += [(origin.isoformat(), target, int(day), location, level, float(v))
                         for level, v in zip(levels, q[:, j])]
        return cls.from_rows(rows)

    @classmethod
    def of_backtests(cls, backtests: Sequence[Backtest]) -> QuantileTable:
        """The model's projections of every sector of every backtest (origin)."""
        return cls.of_ensembles([(bt.origin, b.sector.progress_name, name, b.days, b.ensemble)
                                 for bt in backtests for name, b in bt.sectors.items()])

    def keys(self) -> list[Key]:
        return list(zip(self.reference_date, self.target, (int(h) for h in self.horizon),
                        self.location))

    def columns(self) -> dict[str, np.ndarray]:
        n = len(self)
        return {"reference_date": np.asarray(self.reference_date, dtype=object),
                "target": np.asarray(self.target, dtype=object), "horizon": self.horizon,
                "location": np.asarray(self.location, dtype=object),
                "output_type": np.full(n, "quantile", dtype=object),
                "output_type_id": self.output_type_id, "value": self.value}

    def wis(self, observed: Mapping[Key, float]) -> dict[Key, float]:
        """The weighted interval score of each forecast (reference date, target, horizon,
        location) of the table that ``observed`` has a value for
        (:func:`sim.forecast.scores.wis_of_quantiles`)."""
        groups: dict[Key, list[int]] = {}
        for i, k in enumerate(self.keys()):
            groups.setdefault(k, []).append(i)
        out = {}
        for k, idx in groups.items():
            if k in observed:
                out[k] = float(wis_of_quantiles(self.output_type_id[idx], self.value[idx],
                                                observed[k]))
        return out

    def to_bytes(self, *, parquet: bool = False) -> bytes:
        """The table as the bytes of a CSV file, or of a Parquet file (needs pyarrow)."""
        import io

        from ..artifacts.tables import arrow_table, write_csv

        if parquet:
            import pyarrow.parquet as pq

            buf = io.BytesIO()
            pq.write_table(arrow_table(self.columns()), buf)
            return buf.getvalue()
        import tempfile

        with tempfile.TemporaryDirectory(prefix="advsim-") as tmp:
            csv_path = Path(tmp) / "quantiles.csv"
            write_csv(csv_path, self.columns())
            return csv_path.read_bytes()

    def write(self, path: str | os.PathLike[str], *, keep: bool = True) -> Path:
        """Write the table whole or not at all: CSV, or Parquet for a ``.parquet`` suffix
        (needs pyarrow); ``-`` is standard output, as CSV (``sim.artifacts.outputs``).
        ``keep`` False: a file of a folder being written."""
        from ..artifacts.outputs import output_file

        p = check_path(path)
        with output_file(path, flag="--quantiles", keep=keep) as f:
            f.write(self.to_bytes(parquet=p.suffix.lower() == ".parquet"))
        return p

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> QuantileTable:
        """A table :meth:`write` wrote."""
        p = Path(path)
        if p.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            cols = pq.read_table(p).to_pydict()
            rows: list[Sequence[Any]] = list(zip(*(cols[c] for c in COLUMNS)))
        else:
            from ..artifacts.tables import unescape_cell

            with open(p, newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                if tuple(next(reader, ())) != COLUMNS:
                    raise AdvsimError(f"{p}: not a quantile table (expected the columns "
                                      f"{','.join(COLUMNS)})")
                rows = [[unescape_cell(x) for x in r] for r in reader]
        return cls.from_rows([(r[0], r[1], int(r[2]), r[3], float(r[5]), float(r[6]))
                              for r in rows])


def check_path(path: str | os.PathLike[str]) -> Path:
    """The path of a quantile table, refused (one AdvsimError) unless it can be written: a
    .csv or .parquet file name (Parquet with pyarrow installed), not a folder. Writes
    nothing. ``-`` is standard output (CSV)."""
    from ..artifacts.outputs import check_output, is_stdout

    p = Path(path)
    if is_stdout(path):
        return p
    if p.is_dir():
        raise AdvsimError(f"quantiles: {p} is a folder (expected a file)", param="quantiles")
    if p.suffix.lower() not in (".csv", ".parquet"):
        raise AdvsimError(f"quantiles: {p}: expected a .csv or .parquet file",
                          param="quantiles")
    if p.suffix.lower() == ".parquet":
        try:
            import pyarrow
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise AdvsimError("quantiles: a .parquet file needs pyarrow (pip install "
                              "'advsim[parquet]'); or write a .csv", param="quantiles") from None
    check_output(path, flag="--quantiles")
    return p
