"""Reference classes: how earlier approaches to towns went, read off traced map series.

A *reference class* is a set of approaches: towns whose distance to attacker-held territory
(``advsim trace``, frame ``remaining_km``) was once within ``within_km``, each followed from the
first observation within that distance to the town's fall (the first later observation with the
town's centre inside attacker-held territory, distance ≤ 0) or, censored, to ``until``. Only
observations dated on or before ``until`` are kept, so a class built ``--until`` a projection
date learns nothing from after it.

What the class says, derived from the series (never stored, so a class file holds only what
was measured and the definitions):

- **Origins**: every observation of an approach with the front within ``within_km`` and the
  town not yet fallen, with the distance remaining and the days until the fall, or censored at
  ``until`` (never dropped, never counted as fallen). Days-to-fall by remaining-distance band
  are Kaplan–Meier estimates over origins. An origin starts its own clock, so the class needs
  no delayed entry; origins of one town are strongly correlated, which no interval here
  pretends otherwise about (a town is the unit of evidence; see :mod:`sim.forecast.evaluation`).
- **Intervals and spells**: each step between successive observations has a pace (m/day of
  distance closed). A step is *standing still* when |pace| < ``STALL_M_PER_DAY``, a *setback*
  when the distance grew by more than that, *surging* at ``SURGE_M_PER_DAY`` or more and
  *grinding* in between. A spell is a run of steps in one state; a *stall*, as reported, is a
  spell of standing still lasting at least ``STALL_MIN_DAYS``. The first and last spell of an
  approach are censored (the state may have begun before, or gone on after, what is seen).

The thresholds are definitions fixed before any fit or score, not parameters fitted to them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ObservedError, ParameterTypeError, ScenarioError, instance, paths, shown

FORMAT = 1
WITHIN_KM = 25.0
STALL_M_PER_DAY = 20.0
STALL_MIN_DAYS = 21
SURGE_M_PER_DAY = 100.0
BANDS_KM = (0.0, 2.0, 5.0, 10.0, 25.0)
STATES = ("stalled", "grinding", "surging", "setback")
MIN_TOWNS = 2
MAX_TOWNS = 10_000
END_LINE = "# end of the reference class"  # written last: a file without it was cut short
MAX_WITHIN_KM = 1e4  # and distances in a class file: ±10,000 km
MAX_OBSERVATIONS = 100_000  # per town


class ClassError(ScenarioError):
    """A bad reference class input: a series, an option or a class file (located where it
    is in a file; an option's message starts with the parameter it names)."""

    def __str__(self) -> str:
        return super().__str__() if self.file or self.line is not None else self.message


@dataclass(frozen=True, kw_only=True)
class Approach:
    """One town's series up to ``until`` and the span of its approach within it: observations
    ``start`` (the first within range) to ``end`` (the fall, or the last observation)."""

    town: str
    dates: tuple[dt.date, ...]
    remaining_km: np.ndarray
    start: int
    end: int
    fell: bool
    source: str = ""

    @property
    def entered(self) -> dt.date:
        return self.dates[self.start]

    @property
    def fall_date(self) -> dt.date | None:
        return self.dates[self.end] if self.fell else None

    @property
    def last(self) -> dt.date:
        return self.dates[self.end]

    def value_at(self, day: dt.date) -> float | None:
        """The distance on ``day``, interpolated between observations; None outside them."""
        x = np.array([(d - day).days for d in self.dates], dtype=float)
        if x[0] > 0 or x[-1] < 0:
            return None
        return float(np.interp(0.0, x, self.remaining_km))


@dataclass(frozen=True, kw_only=True)
class Origin:
    town: str
    date: dt.date
    remaining_km: float
    days: int  # to the fall, or to ``until`` when censored
    fell: bool
    state: str | None  # the state of the step that ended here (None at the first observation)


@dataclass(frozen=True, kw_only=True)
class Step:
    town: str
    start: dt.date
    end: dt.date
    days: int
    pace_m_per_day: float
    state: str


@dataclass(frozen=True, kw_only=True)
class Spell:
    town: str
    state: str
    start: dt.date
    days: int
    advance_m: float
    censored: bool

    @property
    def pace_m_per_day(self) -> float:
        return self.advance_m / self.days


def classify(pace_m_per_day: float) -> str:
    if pace_m_per_day <= -STALL_M_PER_DAY:
        return "setback"
    if pace_m_per_day < STALL_M_PER_DAY:
        return "stalled"
    return "surging" if pace_m_per_day >= SURGE_M_PER_DAY else "grinding"


@dataclass(frozen=True, kw_only=True)
class ReferenceClass:
    until: dt.date
    within_km: float
    approaches: tuple[Approach, ...]
    sources: tuple[dict, ...] = ()
    file: str = "<class>"

    @property
    def towns(self) -> tuple[str, ...]:
        return tuple(a.town for a in self.approaches)

    def __repr__(self) -> str:
        from ..presentation.notebook import count, short

        return short("ReferenceClass", f"until {self.until}",
                     [f"{count(len(self.approaches), 'approach', 'approaches')} within "
                      f"{self.within_km:g} km", f"{sum(a.fell for a in self.approaches):,} fell"])

    def _repr_html_(self, top: int = 30) -> str:
        """A notebook's view: each approach, when it began, and its fall or last map."""
        from ..presentation.notebook import html

        rows = [(a.town, a.entered.isoformat(), f"{a.remaining_km[a.start]:.1f}",
                 f"{a.fall_date}" if a.fell else f"standing on {a.last}")
                for a in self.approaches[:top]]
        return html(f"Reference class until {self.until}",
                    f"{len(self.approaches)} approaches within {self.within_km:g} km · "
                    f"{self.file}", ["town", "within range from", "km then", "fell"], rows,
                    more=len(self.approaches) - top)

    def plot(self, output: str | os.PathLike[str] | None = None):
        """The approach chart: a matplotlib Figure, or with ``output`` that file and its
        path."""
        from ..presentation.charts import figure_or_file, require_matplotlib
        from ..presentation.charts.reference import approach_chart

        require_matplotlib()
        return figure_or_file(approach_chart(self), output)

    def without(self, town: str) -> ReferenceClass:
        return replace(self, approaches=tuple(a for a in self.approaches if a.town != town))

    def only(self, town: str) -> ReferenceClass:
        return replace(self, approaches=tuple(a for a in self.approaches if a.town == town))

    def steps(self) -> list[Step]:
        """Every step of every approach that begins within range, before the fall."""
        out = []
        for a in self.approaches:
            for i in range(a.start, a.end):
                r0, r1 = a.remaining_km[i], a.remaining_km[i + 1]
                if not 0 < r0 <= self.within_km:
                    continue
                days = (a.dates[i + 1] - a.dates[i]).days
                pace = (r0 - r1) * 1000 / days
                out.append(Step(town=a.town, start=a.dates[i], end=a.dates[i + 1], days=days,
                                pace_m_per_day=float(pace), state=classify(pace)))
        return out

    def spells(self) -> list[Spell]:
        """Runs of steps in one state, town by town; a run broken by a step out of range ends
        there, censored, as do the first and last runs of each approach."""
        out: list[Spell] = []
        by_town: dict[str, list[Step]] = {}
        for s in self.steps():
            by_town.setdefault(s.town, []).append(s)
        for town, steps in by_town.items():
            runs: list[list[Step]] = []
            for s in steps:
                if runs and runs[-1][-1].state == s.state and runs[-1][-1].end == s.start:
                    runs[-1].append(s)
                else:
                    runs.append([s])
            for k, run in enumerate(runs):
                joined_before = k > 0 and runs[k - 1][-1].end == run[0].start
                joined_after = k + 1 < len(runs) and runs[k + 1][0].start == run[-1].end
                out.append(Spell(
                    town=town, state=run[0].state, start=run[0].start,
                    days=sum(s.days for s in run),
                    advance_m=sum(s.pace_m_per_day * s.days for s in run),
                    censored=not (joined_before and joined_after),
                ))
        return out

    def transitions(self, spells: Sequence[Spell] | None = None) -> dict[str, dict[str, int]]:
        """Counts of one spell's state followed directly by the next's, within towns (of
        ``spells``, the class's own by default)."""
        counts: dict[str, dict[str, int]] = {}
        spells = self.spells() if spells is None else spells
        for a, b in itertools.pairwise(spells):
            if a.town == b.town and a.start + dt.timedelta(days=a.days) == b.start:
                counts.setdefault(a.state, {}).setdefault(b.state, 0)
                counts[a.state][b.state] += 1
        return counts

    def origins(self) -> list[Origin]:
        out = []
        for a in self.approaches:
            state = None
            for i in range(a.start, a.end):
                r = float(a.remaining_km[i])
                if i > 0:
                    days = (a.dates[i] - a.dates[i - 1]).days
                    state = classify((a.remaining_km[i - 1] - r) * 1000 / days)
                if not 0 < r <= self.within_km:
                    continue
                out.append(Origin(town=a.town, date=a.dates[i], remaining_km=r,
                                  days=(a.last - a.dates[i]).days, fell=a.fell, state=state))
        return out

    def digest(self) -> str:
        h = hashlib.sha256()
        h.update(f"{self.until} {self.within_km}".encode())
        for a in self.approaches:
            h.update(a.town.encode())
            h.update(np.asarray(a.remaining_km, dtype=float).tobytes())
            h.update(" ".join(str(d) for d in a.dates).encode())
        return h.hexdigest()


# -- Kaplan–Meier -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class KaplanMeier:
    """The Kaplan–Meier estimate of days-to-fall: S(t) just after each event time."""

    times: np.ndarray  # distinct event days, ascending
    survival: np.ndarray  # S at each of them
    n: int
    events: int
    last_day: int  # the longest follow-up, event or censored: S is unknown beyond it

    @classmethod
    def fit(cls, days: Sequence[float], fell: Sequence[bool]) -> KaplanMeier:
        d = np.asarray(days, dtype=float)
        e = np.asarray(fell, dtype=bool)
        times = np.unique(d[e])
        s, surv = 1.0, []
        for t in times:
            at_risk = np.count_nonzero(d >= t)
            s *= 1 - np.count_nonzero((d == t) & e) / at_risk
            surv.append(s)
        return cls(times=times, survival=np.array(surv), n=int(d.size), events=int(e.sum()),
                   last_day=int(d.max()) if d.size else 0)

    def cdf(self, t) -> np.ndarray:
        """P(fallen by day t), for t within the follow-up (NaN beyond it)."""
        t = np.asarray(t, dtype=float)
        k = np.searchsorted(self.times, t, side="right")
        s = np.concatenate([[1.0], self.survival])[k]
        return np.where(t <= self.last_day, 1 - s, np.nan)

    def quantile(self, q: float) -> float | None:
        """The first day by which a fraction ``q`` has fallen; None if the estimate never
        reaches ``q`` within the follow-up."""
        hit = np.flatnonzero(1 - self.survival >= q - 1e-12)
        return float(self.times[hit[0]]) if hit.size else None

    def sample(self, m: int, cap: float) -> np.ndarray:
        """``m`` evenly spread quantiles of days-to-fall (mid-point levels), the mass the
        estimate leaves beyond its follow-up (or beyond ``cap``) put at ``cap``."""
        u = (np.arange(m) + 0.5) / m
        f = 1 - self.survival
        k = np.searchsorted(f, u - 1e-12, side="left")
        out = np.full(m, float(cap))
        ok = k < f.size
        out[ok] = np.minimum(self.times[k[ok]], cap)
        return out


def km_by_band(origins: Sequence[Origin], bands: Sequence[float] = BANDS_KM
               ) -> list[tuple[tuple[float, float], list[Origin], KaplanMeier]]:
    out = []
    for lo, hi in itertools.pairwise(bands):
        sel = [o for o in origins if lo < o.remaining_km <= hi]
        if sel:
            out.append(((lo, hi), sel, KaplanMeier.fit([o.days for o in sel],
                                                       [o.fell for o in sel])))
    return out


# -- building a class from series ---------------------------------------------------------------


def build(series_files: Sequence[str | os.PathLike[str]], *, until: dt.date,
          within_km: float = WITHIN_KM) -> ReferenceClass:
    """The reference class of the ``remaining_km`` series in ``series_files`` (``advsim trace
    -o`` CSVs, or ``advsim trace --out`` folders, whose series.csv is first checked against the
    folder's manifest: a cut or edited file is refused by name), from observations on or
    before ``until``."""
    from ..data.observed import read_observed

    series_files = paths(series_files, "series_files", "traced series files (CSV)")
    if isinstance(until, dt.datetime) or not isinstance(until, dt.date):
        raise ParameterTypeError(f"until: expected a datetime.date (got {shown(until)})",
                                 param="until")
    instance(within_km, (int, float), "within_km", "a number of km")
    if not (math.isfinite(within_km) and 0 < within_km <= MAX_WITHIN_KM):
        raise ClassError(f"within_km must be a positive number of km, at most "
                         f"{MAX_WITHIN_KM:g} (got {within_km:g})", param="within_km")
    approaches: list[Approach] = []
    sources = []
    seen: dict[str, str] = {}
    first_dates: list[dt.date] = []
    for path in series_files:
        fname = os.fspath(path)
        if os.path.isdir(fname):
            from ..artifacts.files import read_manifest
            from ..artifacts.traces import TRACE_FILES

            read_manifest(fname, "trace", required=TRACE_FILES)
            fname = os.path.join(fname, "series.csv")
        series = read_observed(fname)
        sources.append({"file": Path(fname).name,
                        "sha256": hashlib.sha256(Path(fname).read_bytes()).hexdigest()})
        for name, s in series.items():
            if s.frame != "remaining_km":
                raise ObservedError(
                    f"the series is in frame {s.frame}; a reference class reads distances to "
                    "places (frame remaining_km, as advsim trace writes them)",
                    file=fname, line=s.lines[0] if s.lines else None, key=name)
            if name in seen:
                raise ObservedError(f"the town is also in {seen[name]} (each town once)",
                                    file=fname, line=s.lines[0], key=name)
            seen[name] = fname
            first_dates += s.dates[:1]
            kept = s.between(until=until)
            if not len(kept):
                continue
            a = approach(name, kept.dates, kept.values, within_km, source=Path(fname).name)
            if a is not None:
                approaches.append(a)
    if not seen:
        raise ClassError("no series in the files given")
    if first_dates and min(first_dates) > until:
        raise ClassError(f"no observation on or before until {until} (the first is "
                         f"{min(first_dates)})", param="until")
    if len(approaches) < MIN_TOWNS:
        names = ", ".join(a.town for a in approaches) or "none"
        raise ClassError(
            f"a reference class needs at least {MIN_TOWNS} towns approached within "
            f"{within_km:g} km on or before {until} (got {len(approaches)}: {names}; "
            f"{len(seen)} series read)", param="within_km" if len(seen) >= MIN_TOWNS else None)
    return ReferenceClass(until=until, within_km=float(within_km), approaches=tuple(approaches),
                          sources=tuple(sources))


def approach(town: str, dates: Sequence[dt.date], remaining_km, within_km: float,
             source: str = "") -> Approach | None:
    """The approach in one town's series: from its first observation within range (and not
    fallen) to the first fall after it; None if the front never came within range."""
    r = np.asarray(remaining_km, dtype=float)
    inside = np.flatnonzero((r > 0) & (r <= within_km))
    if not inside.size:
        return None
    start = int(inside[0])
    fallen = np.flatnonzero(r[start:] <= 0)
    fell = bool(fallen.size)
    end = start + int(fallen[0]) if fell else len(r) - 1
    if end == start:  # one observation: no follow-up
        return None
    return Approach(town=town, dates=tuple(dates), remaining_km=r, start=start, end=end,
                    fell=fell, source=source)


# -- the class file -------------------------------------------------------------------------------


def to_data(cls: ReferenceClass) -> dict:
    from .. import __version__

    return {
        "advsim_reference": FORMAT,
        "advsim": __version__,
        "until": cls.until.isoformat(),
        "within_km": cls.within_km,
        "definitions": {
            "stall_below_m_per_day": STALL_M_PER_DAY, "stall_min_days": STALL_MIN_DAYS,
            "surge_from_m_per_day": SURGE_M_PER_DAY, "fallen": "distance <= 0 km",
        },
        "sources": [dict(s) for s in cls.sources],
        "towns": {
            a.town: {
                "source": a.source,
                "approach": {"from": a.entered.isoformat(),
                             "fell": a.fall_date.isoformat() if a.fall_date else None},
                "series": [[d.isoformat(), round(float(v), 4)]
                           for d, v in zip(a.dates, a.remaining_km)],
            }
            for a in cls.approaches
        },
    }


def write_class(path: str | os.PathLike[str], cls: ReferenceClass) -> Path:
    """Write ``cls`` as a class file, whole, once ``read_class`` would read it back: a class
    its own reader refuses (too large, a distance out of range) is a ClassError naming the
    file, and nothing is written."""
    from ..artifacts.outputs import write_output
    from ..model.writer import dump_data

    text = dump_data(to_data(cls), flow_leaves=True, comments=[
        f"A reference class of approaches, built by advsim from traced map series on or before "
        f"{cls.until}.",
        "Derived from third-party map data: keep it out of version control. Read it with: "
        "advsim reference show FILE"])
    data = (text + END_LINE + "\n").encode()
    check_class_text(data, os.fspath(path))
    return write_output(path, data, flag="-o/--output")


def check_class_text(data: bytes, file: str) -> None:
    """Refuse (a ClassError naming ``file``, as not written) a class file's bytes that
    ``read_class`` would refuse: read back with the reader's own rules and limits."""
    from ..model.loader import MAX_FILE_BYTES

    if len(data) > MAX_FILE_BYTES:
        raise ClassError(f"not written: the class would be {len(data) / 2**20:.3g} MB, and a "
                         f"class file is read up to {MAX_FILE_BYTES / 2**20:.3g} MB (a class "
                         "keeps every town's series up to its until date: fewer towns, fewer "
                         "snapshots or an earlier until)", file=file)
    try:
        class_of_text(data.decode(), file)
    except ScenarioError as e:
        where = f"{e.key}: " if e.key else ""
        raise ClassError(f"not written: its reader would refuse it ({where}{e.message}"
                         f"{', line ' + str(e.line) if e.line else ''}; the series it was built "
                         "from holds this)", file=file) from None


def read_class(path: str | os.PathLike[str]) -> ReferenceClass:
    from ..model.loader import read_text

    fname = os.fspath(path)
    return class_of_text(read_text(fname, "a reference class YAML file"), fname)


def class_of_text(text: str, file: str) -> ReferenceClass:
    """A class file's text read and checked; one cut short (without its end line, which
    advsim writes last) is refused by name before anything else."""
    from ..model.loader import read_yaml

    if END_LINE not in text.splitlines():
        raise ClassError(f"cut short: no end line {END_LINE!r} (every class file advsim "
                         "writes ends with it; build the class again)", file=file,
                         line=text.count("\n") + (not text.endswith("\n")))
    data, lines = read_yaml(text, file)
    return parse_class(data, lines, file)


def parse_class(data: Any, lines: dict, file: str) -> ReferenceClass:
    """Check a class file's every value (a file edited by hand is refused at its line)."""
    from ..model.keypath import printable
    from ..model.loader import Context, Node

    ctx = Context(lines, file)
    root = Node(data, (), ctx).mapping(
        ("advsim_reference", "until", "within_km", "towns"),
        ("advsim", "definitions", "sources"))
    fmt = root["advsim_reference"].number(integer=True)
    if fmt != FORMAT:
        raise root["advsim_reference"].error(f"unknown class format {fmt} (expected {FORMAT})")
    until = _date(root["until"])
    within = root["within_km"].number(gt=0, le=MAX_WITHIN_KM)
    if root.has("definitions"):
        d = root["definitions"]
        d.mapping((), ("stall_below_m_per_day", "stall_min_days", "surge_from_m_per_day",
                       "fallen"))
        for key, want in (("stall_below_m_per_day", STALL_M_PER_DAY),
                          ("stall_min_days", STALL_MIN_DAYS),
                          ("surge_from_m_per_day", SURGE_M_PER_DAY)):
            if d.has(key) and d[key].number() != want:
                raise d[key].error(f"this advsim defines it as {want:g} (rebuild the class)")
    sources = tuple(s.value for s in root["sources"].list()) if root.has("sources") else ()
    towns = root["towns"]
    items = towns.items()
    if len(items) > MAX_TOWNS:
        raise towns.error(f"at most {MAX_TOWNS} towns (got {len(items)})")
    approaches = []
    for name, t in items:
        if not name.strip() or not name.isprintable():
            raise t.error(f"a town's name is one line of text (got {printable(name, 40)})")
        t.mapping(("series",), ("source", "approach"))
        if t.has("source") and not str(t["source"].value).isprintable():
            raise t["source"].error("a file name on one line (got "
                                    f"{printable(str(t['source'].value), 40)})")
        rows = t["series"].list(nonempty=True)
        if len(rows) > MAX_OBSERVATIONS:
            raise t["series"].error(f"at most {MAX_OBSERVATIONS} observations")
        dates: list[dt.date] = []
        values: list[float] = []
        for row in rows:
            pair = row.list()
            if len(pair) != 2:
                raise row.error("expected [date, remaining_km]")
            day = _date(row[0])
            if day > until:
                raise row[0].error(f"after the class's until date {until}")
            if dates and day <= dates[-1]:
                raise row[0].error(f"not after the previous date {dates[-1]} (dates must "
                                   "increase)")
            dates.append(day)
            values.append(row[1].number(ge=-MAX_WITHIN_KM, le=MAX_WITHIN_KM))
        a = approach(name, dates, values, within, source=t["source"].value
                     if t.has("source") else "")
        if a is None:
            raise t["series"].error(f"no approach within {within:g} km to follow (the front "
                                    "is never within range with a later observation)")
        if t.has("approach"):
            ap = t["approach"].mapping((), ("from", "fell"))
            if ap.has("from") and _date(ap["from"]) != a.entered:
                raise ap["from"].error(f"the series enters range on {a.entered}")
            stated = _date(ap["fell"]) if ap.has("fell") else None
            if stated != a.fall_date:
                raise (ap["fell"] if ap.has("fell") else ap).error(
                    f"the series says {a.fall_date or 'not fallen'} (fell: the first date with "
                    "the distance <= 0 after the approach begins)")
        approaches.append(a)
    if len(approaches) < MIN_TOWNS:
        raise towns.error(f"a reference class needs at least {MIN_TOWNS} towns "
                          f"(got {len(approaches)})")
    return ReferenceClass(until=until, within_km=within, approaches=tuple(approaches),
                          sources=sources, file=file)


def _date(n) -> dt.date:
    v = n.value
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            pass
    raise n.error(f"expected a date YYYY-MM-DD, got {v!r}")


# -- summaries for people -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SpellStats:
    state: str
    spells: int
    censored: int
    days_median: float
    days_p90: float
    days_max: int
    pace_m_per_day: float  # over all their days


def spell_stats(spells: Sequence[Spell], state: str, min_days: int = 0) -> SpellStats | None:
    sel = [s for s in spells if s.state == state and s.days >= min_days]
    if not sel:
        return None
    days = np.array([s.days for s in sel], dtype=float)
    return SpellStats(
        state=state, spells=len(sel), censored=sum(s.censored for s in sel),
        days_median=float(np.median(days)), days_p90=float(np.percentile(days, 90)),
        days_max=int(days.max()),
        pace_m_per_day=float(sum(s.advance_m for s in sel) / days.sum()),
    )


def window_paces(cls: ReferenceClass, window_days: int) -> np.ndarray:
    """Pace (m/day of distance closed) over every ``window_days`` window that ends at an
    observation of an approach, starts within it and lies within range."""
    out = []
    for a in cls.approaches:
        for i in range(a.start, a.end + 1):
            d1 = a.dates[i]
            d0 = d1 - dt.timedelta(days=window_days)
            if d0 < a.entered:
                continue
            r0 = a.value_at(d0)
            if r0 is not None and 0 < r0 <= cls.within_km:
                out.append((r0 - a.remaining_km[i]) * 1000 / window_days)
    return np.array(out, dtype=float)
