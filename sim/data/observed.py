"""Observed series: front-line positions or held areas by date, read from ``date,sector,value``.

A value is km advanced along an axis (from any fixed reference point) or km² held in an area
sector. An optional ``frame`` column says which: ``advanced_km`` (the default), ``remaining_km``
(the distance still to go to the objective, as ``advsim trace`` measures it: it may be negative
once the objective is passed) or ``held_km2``; one frame per sector. Dates may be irregular and
in any order; one file may hold several sectors; extra columns (``source``, notes) are kept as
text. Every bad row raises one ObservedError naming the
file, the line and the column. Only the standard library and numpy are imported here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ObservedError
from ..model.keypath import did_you_mean, printable

if TYPE_CHECKING:
    from .trace import Trace

COLUMNS = ("date", "sector", "value")
FRAMES = ("advanced_km", "remaining_km", "held_km2")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Control characters, but not tabs or the line breaks a quoted field may hold.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, kw_only=True)
class ObservedSeries:
    """One sector's observations, sorted by date: ``values`` are km advanced (axis) or km² held
    (area); ``lines`` are the file lines they came from, for located messages."""

    sector: str
    dates: tuple[dt.date, ...]
    values: np.ndarray
    lines: tuple[int, ...]
    file: str = "<observed>"
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)  # other columns, by date
    frame: str = "advanced_km"  # what the values are: one of FRAMES

    def __len__(self) -> int:
        return len(self.dates)

    def days_from(self, start: dt.date) -> np.ndarray:
        """Days of each observation from ``start`` (negative before it)."""
        return np.array([(d - start).days for d in self.dates], dtype=float)

    def between(self, since: dt.date | None = None, until: dt.date | None = None) -> ObservedSeries:
        """The observations dated within [since, until] (either end open when None)."""
        keep = [i for i, d in enumerate(self.dates)
                if (since is None or d >= since) and (until is None or d <= until)]
        return ObservedSeries(
            sector=self.sector, dates=tuple(self.dates[i] for i in keep),
            values=self.values[keep], lines=tuple(self.lines[i] for i in keep), file=self.file,
            extra={k: tuple(v[i] for i in keep) for k, v in self.extra.items()},
            frame=self.frame,
        )

    def advanced(self) -> ObservedSeries:
        """The series as km advanced: a ``remaining_km`` series becomes the decrease of the
        distance since its first observation; other frames are returned as they are."""
        if self.frame != "remaining_km" or not len(self):
            return self
        return ObservedSeries(sector=self.sector, dates=self.dates,
                              values=self.values[0] - self.values, lines=self.lines,
                              file=self.file, extra=self.extra, frame="advanced_km")

    def value_at(self, day: dt.date) -> float | None:
        """The value on ``day``: observed, or interpolated linearly between the observations
        either side; None outside the observed span."""
        days = self.days_from(day)
        if not days.size or days[0] > 0 or days[-1] < 0:
            return None
        return float(np.interp(0.0, days, self.values))


MAX_VALUE = 1e9  # km or km²
MAX_BYTES = 50 * 2**20  # an observed series: years of daily rows for many sectors


def read_observed(
    path: str | os.PathLike[str], *, on_rows: Callable[[int, int], None] | None = None,
) -> dict[str, ObservedSeries]:
    """Read an observed series CSV into one series per sector, in the order they first appear;
    ``on_rows(done, total)`` hears of the lines read, for a progress line."""
    fname = os.fspath(path)
    try:
        st = os.stat(fname)
        if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
            raise ObservedError("not a regular file (expected a CSV of date,sector,value)",
                                file=fname)
        if st.st_size > MAX_BYTES:
            raise ObservedError(f"too large: observed series are at most {MAX_BYTES >> 20} MB "
                                f"(got {st.st_size / 2**20:.3g} MB)", file=fname)
        with open(fname, encoding="utf-8-sig", newline="") as f:
            text = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ObservedError("no such file (expected a CSV of date,sector,value)",
                            file=fname) from None
    except IsADirectoryError:
        raise ObservedError("is a directory (expected a CSV of date,sector,value)",
                            file=fname) from None
    except UnicodeDecodeError as e:
        line = e.object[: e.start].count(b"\n") + 1
        raise ObservedError(f"not UTF-8 text ({e.reason} at byte {e.start})",
                            file=fname, line=line) from None
    except OSError as e:
        raise ObservedError(f"cannot read: {e.strerror or e}", file=fname) from None
    return parse_observed(text, file=fname, on_rows=on_rows)


ROWS_PER_REPORT = 50_000  # how often a long file's reading reports its progress


def parse_observed(
    text: str, *, file: str = "<observed>", on_rows: Callable[[int, int], None] | None = None,
) -> dict[str, ObservedSeries]:
    """Parse observed series from CSV text; see :func:`read_observed`."""
    if not text.strip():
        raise ObservedError("the file is empty (expected a header date,sector,value and rows)",
                            file=file, line=1)
    from ..artifacts.tables import unescape_cell

    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except csv.Error as e:
        raise ObservedError(f"bad CSV: {e}", file=file, line=1) from None
    names = [h.strip().lower() for h in header]
    for i, name in enumerate(names):
        if not name:
            raise ObservedError(f"column {i + 1} has no name (expected a header row)",
                                file=file, line=1)
        if name in names[:i]:
            raise ObservedError("the column appears twice", file=file, line=1, key=name)
    for col in COLUMNS:
        if col not in names:
            raise ObservedError(
                f"missing column{did_you_mean(col, names)} (expected a header with "
                f"date,sector,value; got {','.join(names)})", file=file, line=1, key=col,
            )
    at = {c: names.index(c) for c in names}
    extra_cols = [c for c in names if c not in (*COLUMNS, "frame")]
    frames: dict[str, tuple[str, int]] = {}

    controls = _CONTROL.search(text) is not None  # else no field need be searched for one
    rows: dict[str, list[tuple[dt.date, float, int, tuple[str, ...]]]] = {}
    seen: dict[tuple[str, dt.date], int] = {}
    lines = text.count("\n") if on_rows else 0
    try:
        end = reader.line_num
        for fields in reader:
            line, end = end + 1, reader.line_num  # a quoted field may span lines: name the first
            if on_rows and line % ROWS_PER_REPORT == 0:
                on_rows(line, lines)
            if not any(f.strip() for f in fields):
                continue  # a blank line
            if len(fields) != len(names) and any("\n" in f or "\r" in f for f in fields):
                raise ObservedError(
                    "a quote opened on this line is not closed (the row runs on to line "
                    f"{end})", file=file, line=line,
                )
            if len(fields) != len(names):
                missing = names[len(fields)] if len(fields) < len(names) else names[-1]
                raise ObservedError(
                    f"the row has {len(fields)} fields, the header {len(names)}"
                    + (" (a comma inside a value needs quotes)" if len(fields) > len(names)
                       else ""),
                    file=file, line=line, key=missing,
                )
            for name, f in zip(names, fields if controls else ()):
                bad = _CONTROL.search(f)
                if bad:
                    raise ObservedError(
                        f"control character {bad.group()!r} in {f!r} (expected plain text)",
                        file=file, line=line, key=name,
                    )
            date = _date(fields[at["date"]], file, line)
            sector = unescape_cell(fields[at["sector"]].strip())
            if not sector:
                raise ObservedError("empty (expected a sector name)", file=file, line=line,
                                    key="sector")
            if not sector.isprintable():
                raise ObservedError(f"a name is one line of text (got {printable(sector, 40)})",
                                    file=file, line=line, key="sector")
            frame = fields[at["frame"]].strip() if "frame" in at else ""
            frame = frame or "advanced_km"
            if frame not in FRAMES:
                raise ObservedError(
                    f"unknown frame {frame!r}{did_you_mean(frame, FRAMES)} (expected one of "
                    f"{', '.join(FRAMES)})", file=file, line=line, key="frame")
            if frames.setdefault(sector, (frame, line))[0] != frame:
                first, at_line = frames[sector]
                raise ObservedError(
                    f"sector {sector!r} is in frame {frame} here but {first} on line {at_line} "
                    "(expected one frame per sector)", file=file, line=line, key="frame")
            value = _value(fields[at["value"]], file, line,
                           signed=frame == "remaining_km")
            if (sector, date) in seen:
                raise ObservedError(
                    f"{date} repeats for sector {sector!r} (first on line "
                    f"{seen[sector, date]}; expected one value per sector and date)",
                    file=file, line=line, key="date",
                )
            seen[sector, date] = line
            extra = tuple(unescape_cell(fields[at[c]].strip()) for c in extra_cols)
            rows.setdefault(sector, []).append((date, value, line, extra))
    except csv.Error as e:
        raise ObservedError(f"bad CSV: {e}", file=file, line=reader.line_num) from None
    if not rows:
        raise ObservedError("no observations (expected rows of date,sector,value after the "
                            "header)", file=file, line=2)

    out = {}
    for sector, items in rows.items():
        items.sort(key=lambda r: r[0])
        out[sector] = ObservedSeries(
            sector=sector,
            dates=tuple(r[0] for r in items),
            values=np.array([r[1] for r in items], dtype=float),
            lines=tuple(r[2] for r in items),
            file=file,
            extra={c: tuple(r[3][j] for r in items) for j, c in enumerate(extra_cols)},
            frame=frames[sector][0],
        )
    return out


def pick_sector(series: dict[str, ObservedSeries], name: str | None, file: str) -> ObservedSeries:
    """The series of sector ``name``; with no name, the file's only sector."""
    if name is None:
        if len(series) == 1:
            return next(iter(series.values()))
        raise ObservedError(
            f"holds {len(series)} sectors ({', '.join(series)}): choose one with --sector",
            file=file,
        )
    if name not in series:
        raise ObservedError(
            f"no sector {name!r}{did_you_mean(name, series)} (the file has {', '.join(series)})",
            file=file, key="sector",
        )
    return series[name]


def write_observed(
    path: str | os.PathLike[str], series: Iterable[ObservedSeries], *, source: str = ""
) -> None:
    """Write series as ``date,sector,value[,source]``, in date order within each sector."""
    from ..artifacts.tables import csv_line

    with open(path, "w", newline="", encoding="utf-8") as f:
        f.write(csv_line([*COLUMNS, "source"] if source else COLUMNS))
        for s in series:
            for d, v in zip(s.dates, s.values.tolist()):
                f.write(csv_line([d.isoformat(), s.sector, f"{v:.6g}",
                                  *([source] if source else [])]))


def _date(raw: str, file: str, line: int) -> dt.date:
    s = raw.strip()
    if not _DATE.match(s):
        raise ObservedError(f"expected a date as YYYY-MM-DD, got {raw!r}", file=file, line=line,
                            key="date")
    try:
        return dt.date.fromisoformat(s)
    except ValueError as e:
        raise ObservedError(f"not a calendar date: {s} ({e})", file=file, line=line,
                            key="date") from None


def _value(raw: str, file: str, line: int, *, signed: bool = False) -> float:
    s = raw.strip()
    try:
        v = float(s)
    except ValueError:
        hint = " (no thousands separators)" if re.fullmatch(r"[\d.,]+", s) and "," in s else ""
        raise ObservedError(
            f"expected a number (km advanced, or km² held), got {raw!r}{hint}",
            file=file, line=line, key="value",
        ) from None
    if not math.isfinite(v):
        raise ObservedError(f"expected a finite number, got {raw!r}", file=file, line=line,
                            key="value")
    if abs(v) > MAX_VALUE:  # differences and rates of larger values overflow
        raise ObservedError(
            f"too large: {v:g} (expected at most {MAX_VALUE:g}: km along an axis, or km² "
            "held; the Earth's surface is 5.1e8 km²)", file=file, line=line, key="value")
    if v < 0 and not signed:
        raise ObservedError(
            f"must be >= 0 (got {v:g}; km advanced from a fixed reference point, or km² held)",
            file=file, line=line, key="value",
        )
    return v


# -- traced series --------------------------------------------------------------------------------

TRACE_COLUMNS = ("date", "sector", "value", "frame", "held_km2_within_radius",
               "front_km_within_radius", "radius_km", "contested", "file_date", "snapshot",
               "source")


def _num(x: float | None, fmt: str) -> str:
    return "" if x is None else format(x, fmt)


def trace_rows(result: Trace) -> list[list[str]]:
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
    """Write a trace as an observed series CSV (``date,sector,value,frame,...``), whole or not
    at all: one row per place (sector = its slug; value = distance remaining, km) and per
    layer (value = km²) and snapshot."""
    from ..artifacts.outputs import write_output
    from ..artifacts.tables import csv_line

    text = csv_line(TRACE_COLUMNS) + "".join(map(csv_line, trace_rows(result)))
    return write_output(path, text.encode("utf-8"), flag="-o/--output")
