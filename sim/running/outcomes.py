"""The outcome of a run, simulated or read back from its folder: one type for both."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .. import __version__
from ..analysis.summary import (
    band_percentiles,
    censored_percentiles,
    forces_band_percentiles,
    percentile_se,
    pkey,
    prob_se,
)
from ..artifacts.tables import TABLES, constant
from ..errors import AdvsimError
from ..model.scenario import Scenario, Sector, slug

if TYPE_CHECKING:
    from ..engine import SectorChunk


def sector_description(s: Sector, sc: Scenario) -> dict:
    """What a sector is, in the shape of a run summary's sector (without any statistics)."""
    return {
        "kind": s.kind,
        "objective": {"name": s.objective},
        s.progress_name: {"days": list(sc.checkpoints_days)},
        "milestones": {m.name: {s.at_key: m.at} for m in s.milestones},
        **s.describe(),
    }


@dataclass(kw_only=True)
class SectorOutcomes:
    """One sector's per-replication outcomes, in replication order. Days are +inf where not
    reached within the horizon (censored, never missing)."""

    sector: Sector
    checkpoints_days: tuple[int, ...]
    objective_day: np.ndarray
    milestone_days: np.ndarray  # (replications, milestones)
    progress: np.ndarray  # (replications, checkpoints): km advanced or km² held
    attacker_losses: np.ndarray
    defender_losses: np.ndarray
    base_m_per_day: np.ndarray
    strikes: np.ndarray
    band_counts: np.ndarray | None = None  # per-day histograms of u, from a simulation
    stored_bands: dict[str, np.ndarray] | None = None  # per-day bands, from a folder
    # The day during which each side falls to its breakpoint (+inf: not within the horizon);
    # None where unknown (a folder written before forces were recorded).
    attacker_breakpoint_day: np.ndarray | None = None
    defender_breakpoint_day: np.ndarray | None = None
    forces_counts: np.ndarray | None = None  # (sides, days, bins): histograms of troops
    forces_sums: np.ndarray | None = None  # and the troops in each bin
    # per-day bands of troops from a folder: {"attacker": {"day": ..., "p5": ...}, ...}
    stored_forces_bands: dict[str, dict[str, np.ndarray]] | None = None

    def __repr__(self) -> str:
        return (f"SectorOutcomes({self.name!r}: {self.kind}, {self.objective_day.size:,} "
                f"replications, P({self.objective}) = {self.reached.mean():.3f})")

    @property
    def name(self) -> str:
        return self.sector.name

    @property
    def kind(self) -> str:
        return self.sector.kind

    @property
    def objective(self) -> str:
        return self.sector.objective

    @property
    def objective_at(self) -> float:
        return self.sector.objective_at

    @property
    def progress_name(self) -> str:
        return self.sector.progress_name

    @property
    def reached(self) -> np.ndarray:
        return np.isfinite(self.objective_day)

    @property
    def milestones(self) -> dict[str, np.ndarray]:
        """Milestone name -> the day each replication reached it."""
        return {m.name: self.milestone_days[:, i] for i, m in enumerate(self.sector.milestones)}

    @property
    def milestone_at(self) -> dict[str, float]:
        """Milestone name -> its position (km along the axis, or km² held)."""
        return {m.name: m.at for m in self.sector.milestones}

    @classmethod
    def empty(cls, sector: Sector, n: int, checkpoints_days: tuple[int, ...]) -> SectorOutcomes:
        return cls(
            sector=sector, checkpoints_days=checkpoints_days,
            objective_day=np.empty(n), milestone_days=np.empty((n, len(sector.milestones))),
            progress=np.empty((n, len(checkpoints_days))), attacker_losses=np.empty(n),
            defender_losses=np.empty(n), base_m_per_day=np.empty(n),
            strikes=np.empty(n, dtype=np.int64), attacker_breakpoint_day=np.empty(n),
            defender_breakpoint_day=np.empty(n),
        )

    def put(self, lo: int, part: SectorChunk) -> None:
        """Place one chunk's outcomes at replications lo, lo + 1, ..."""
        hi = lo + part.objective_day.size
        for name in ("objective_day", "milestone_days", "progress", "attacker_losses",
                     "defender_losses", "base_m_per_day", "strikes", "attacker_breakpoint_day",
                     "defender_breakpoint_day"):
            getattr(self, name)[lo:hi] = getattr(part, name)
        if part.band_counts is not None:  # histograms: only where asked for
            if self.band_counts is None:
                self.band_counts = part.band_counts.astype(np.int64)  # sums of chunks: wide
            else:
                self.band_counts += part.band_counts
        if part.forces_counts is not None and part.forces_sums is not None:
            if self.forces_counts is None or self.forces_sums is None:
                self.forces_counts = part.forces_counts.astype(np.int64)
                self.forces_sums = part.forces_sums.copy()
            else:
                self.forces_counts += part.forces_counts
                self.forces_sums += part.forces_sums

    def breakpoint_days(self) -> dict[str, np.ndarray] | None:
        """Side -> the day during which it falls to its breakpoint (+inf: censored)."""
        a, d = self.attacker_breakpoint_day, self.defender_breakpoint_day
        return None if a is None or d is None else {"attacker": a, "defender": d}

    def forces_bands(self, percentiles,
                     source: str | None = None) -> dict[str, dict[str, np.ndarray]]:
        """Per-day percentiles of each side's troops: {"attacker": {"day": ..., "p5": ...},
        "defender": ...}; from the histograms of a simulation, or as read back from
        forces_bands.csv (``source``: the folder, for errors)."""
        what = source or "this result"
        if self.forces_counts is not None and self.forces_sums is not None:
            days = np.arange(self.forces_counts.shape[1])
            out = {}
            for i, side in enumerate(("attacker", "defender")):
                b = forces_band_percentiles(self.forces_counts[i], self.forces_sums[i],
                                            percentiles)
                out[side] = {"day": days, **{pkey(p): b[p] for p in b}}
            return out
        if not self.stored_forces_bands:
            raise AdvsimError(f"{what}: no forces_bands.csv (troops by day come with "
                              "advsim run)")
        keys = ("day", *map(pkey, percentiles))
        for side, band in self.stored_forces_bands.items():
            missing = [k for k in keys if k not in band]
            if missing:
                raise AdvsimError(f"{what}: forces_bands.csv lacks {missing[0]} of sector "
                                  f"{self.name!r}, {side}")
        return {side: {k: band[k] for k in keys}
                for side, band in self.stored_forces_bands.items()}

    def has_forces_bands(self) -> bool:
        return self.forces_counts is not None or bool(self.stored_forces_bands)

    def bands(self, percentiles, source: str | None = None) -> dict[str, np.ndarray]:
        """Per-day percentiles of progress: {"day": ..., "p5": ...}; from the histograms of a
        simulation, or as read back from bands.csv (``source``: the folder, for errors)."""
        if self.band_counts is not None:
            b = band_percentiles(self.band_counts, self.sector, percentiles)
            return {"day": np.arange(self.band_counts.shape[0]), **{pkey(p): b[p] for p in b}}
        what = source or "this result"
        if self.stored_bands is None:
            raise AdvsimError(f"{what}: no bands.csv (per-day bands come with advsim run)")
        keys = ("day", *map(pkey, percentiles))
        missing = [k for k in keys if k not in self.stored_bands]
        if missing:
            raise AdvsimError(f"{what}: bands.csv lacks {missing[0]} of sector {self.name!r}")
        return {k: self.stored_bands[k] for k in keys}


@dataclass(kw_only=True)
class Result:
    """Outcomes of ``replications`` runs of ``scenario`` from ``seed``: from ``simulate``, or
    read back from a results folder with :meth:`from_folder` (``source`` then names it)."""

    scenario: Scenario
    replications: int
    seed: int
    sectors: dict[str, SectorOutcomes]
    wall_seconds: float = 0.0
    jobs: int = 1
    source: str | None = None  # the folder (or SWEEP_DIR:POINT_ID) it was read from
    overrides: tuple[str, ...] = ()  # the --set values it was run with, where known
    scenario_sha256: str | None = None
    point: str | None = None  # a sweep point's id
    extra: dict = field(default_factory=dict)
    # Read back from a folder: its manifest (provenance), the scenario as resolved and run
    # (scenario.yaml) and the scenario file as run, comments included (None where the folder
    # predates it)
    manifest: dict = field(default_factory=dict, repr=False)
    scenario_yaml: str | None = field(default=None, repr=False)
    source_yaml: str | None = field(default=None, repr=False)
    # Each axis objective read 0.5 km nearer and farther (sim.running.readings), as the
    # summary's ``objective.shifted``: set where advsim run made them, read back from a folder
    shifted: dict[str, dict] = field(default_factory=dict, repr=False)

    @classmethod
    def from_folder(cls, spec: str | os.PathLike[str]) -> Result:
        """A results folder written by ``advsim run``, or a sweep point ``SWEEP_DIR:POINT_ID``.

        Every failure is an AdvsimError of one line that names ``spec``.
        """
        from ..artifacts.results import read_run

        f = read_run(spec)
        sectors = {}
        for s in f.scenario.sectors:
            cols = f.sectors[s.name]
            sectors[s.name] = SectorOutcomes(
                sector=s, checkpoints_days=f.scenario.checkpoints_days,
                stored_bands=None if f.bands is None else f.bands.get(s.name, {}),
                stored_forces_bands=(f.forces_bands or {}).get(s.name), **cols,
            )
        return cls(scenario=f.scenario, replications=f.replications, seed=f.seed,
                   sectors=sectors, source=f.spec, overrides=f.overrides,
                   scenario_sha256=f.scenario_sha256, point=f.point,
                   wall_seconds=f.wall_seconds, manifest=f.manifest or {},
                   scenario_yaml=f.scenario_yaml, source_yaml=f.source_yaml,
                   shifted=f.shifted or {})

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def start(self) -> dt.date:
        return self.scenario.start

    @property
    def horizon_days(self) -> int:
        return self.scenario.horizon_days

    def date_of(self, day: float) -> dt.date:
        return self.scenario.date_of(day)

    def __repr__(self) -> str:
        from ..presentation.notebook import count, short

        return short("Result", self.name, [count(len(self.sectors), "sector"),
                                           count(self.replications, "replication"),
                                           f"seed {self.seed}"])

    def _repr_html_(self) -> str:
        """A notebook's view: per sector, P(objective) and the P10, P50 and P90 of the day it
        falls, as dates."""
        from ..presentation.notebook import html

        sc = self.scenario
        rows = []
        for name, so in self.sectors.items():
            days = censored_percentiles(so.objective_day, (10, 50, 90))
            dates = [sc.date_of(d).isoformat() if d is not None else "> horizon" for d in days]
            rows.append([name, so.objective, f"{so.reached.mean():.3f}", *dates])
        source = f" · {self.source}" if self.source else ""
        return html(sc.name, f"{self.replications:,} replications · seed {self.seed} · from "
                    f"{sc.start} over {sc.horizon_days} days{source}",
                    ["sector", "objective", "P(reached)", "P10 date", "P50 date", "P90 date"],
                    rows)

    def plot(self, kind: str = "fan", output: str | os.PathLike[str] | None = None, *,
             labels: list[str] | None = None, sectors: list[str] | None = None,
             bin_days: int = 7, observed=None):
        """This run's chart of ``kind`` (fan, cdf, hist, milestones, forces): a matplotlib
        Figure, or with ``output`` that file and its path (the keywords as ``sim.plot``'s;
        ``observed=False``: the fan draws no history)."""
        from ..presentation.charts.base import (
            check_kind,
            check_output,
            figure_or_file,
            require_matplotlib,
        )
        from ..presentation.charts.runs import RUN_KINDS, draw

        check_kind(kind, RUN_KINDS)
        if output is not None:
            check_output(output)
        require_matplotlib()
        fig = draw([self], kind, labels=list(labels) if labels else None,
                   sectors=list(sectors) if sectors else None, bin_days=bin_days,
                   observed=observed)
        return figure_or_file(fig, output)

    def table(self, name: str | None = None) -> dict[str, np.ndarray]:
        """A table as columns (``pandas.DataFrame(result.table("outcomes"))``, say).

        ``name`` is one of ``TABLES``, as written to the results folder: ``"outcomes"``, one
        row per replication and sector of the values drawn or reached once; ``"progress"``,
        one row per sector, checkpoint day and replication (``quantity`` advance_km or
        held_km2, ``value``); ``"milestones"``, one row per sector, milestone and
        replication. Without ``name``: the wide table of earlier releases and of a sweep's
        outcomes (milestone days and progress at checkpoint days as columns; NaN in a column
        that is not the row's sector's, a milestone it lacks or the other kind's progress).
        Days are NaN (and dates NaT) where not reached within the horizon: censored, not
        missing (``objective_reached``, ``reached`` say which).
        """
        if name is not None:
            parts = list(self.table_parts(name))
            return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
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
            for side, d in (so.breakpoint_days() or {}).items():
                cols[f"{side}_breakpoint_day"] = np.where(np.isfinite(d), d, np.nan)
            parts.append(cols)
        names = list(dict.fromkeys(k for p in parts for k in p))
        out = {}
        for k in names:
            arrays = [p[k] if k in p else np.full(n, np.nan) for p in parts]
            out[k] = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
        return out

    def table_parts(self, name: str) -> Iterator[dict[str, np.ndarray]]:
        """The table ``name`` (see ``table``) in parts of one sector (and checkpoint day, or
        milestone) each, in the order of the file: at least one part, maybe of no rows."""
        if name not in TABLES:
            raise AdvsimError(f"table: {name!r} is not a table (one of {', '.join(TABLES)})",
                              param="table")
        n, sc = self.replications, self.scenario
        rep = np.arange(n)
        start = np.datetime64(sc.start.isoformat(), "D")

        def dates(days: np.ndarray) -> np.ndarray:
            whole = np.where(np.isfinite(days), np.floor(days), 0).astype("timedelta64[D]")
            return np.where(np.isfinite(days), start + whole, np.datetime64("NaT", "D"))

        def text(value: str) -> np.ndarray:
            return constant(value, n, object)

        yielded = False
        for sector, so in self.sectors.items():
            if name == "outcomes":
                day = np.where(so.reached, so.objective_day, np.nan)
                part = {"replication": rep, "sector": text(sector),
                        "objective_reached": so.reached, "objective_day": day,
                        "objective_date": dates(day), "attacker_losses": so.attacker_losses,
                        "defender_losses": so.defender_losses,
                        "base_m_per_day": so.base_m_per_day, "strikes": so.strikes}
                for side, bp in (so.breakpoint_days() or {}).items():
                    part[f"{side}_breakpoint_day"] = np.where(np.isfinite(bp), bp, np.nan)
                yield part
                yielded = True
            elif name == "progress":
                for j, d in enumerate(so.checkpoints_days):
                    yield {"replication": rep, "sector": text(sector),
                           "day": constant(d, n, np.int64),
                           "date": constant(start + np.timedelta64(d, "D"), n),
                           "quantity": text(so.progress_name), "value": so.progress[:, j]}
                    yielded = True
            else:
                for i, m in enumerate(so.sector.milestones):
                    ms_day = so.milestone_days[:, i]
                    reached = np.isfinite(ms_day)
                    yield {"replication": rep, "sector": text(sector),
                           "milestone": text(m.name), "reached": reached,
                           "day": np.where(reached, ms_day, np.nan), "date": dates(ms_day)}
                    yielded = True
        if not yielded:  # the columns, with no rows
            yield {k: v[:0] for k, v in next(_empty_parts(name)).items()}

    def to_arrow(self, table: str = "outcomes"):
        """A table (see ``table``) as a ``pyarrow.Table``, typed as its Parquet file: nulls
        where censored, the sector a dictionary, dates date32, units in the metadata."""
        from ..artifacts.tables import arrow_table, pyarrow

        if pyarrow() is None:
            raise AdvsimError("to_arrow needs pyarrow (pip install pyarrow)")
        return arrow_table(self.table(table), self.metadata())

    def to_pandas(self, table: str = "outcomes"):
        """A table (see ``table``) as a ``pandas.DataFrame``: the sector (and quantity,
        milestone) categorical, dates datetime64, NaN (pandas' null) where censored."""
        try:
            import pandas as pd
        except ImportError:
            raise AdvsimError("to_pandas needs pandas (pip install pandas)") from None
        cols = self.table(table)
        return pd.DataFrame({
            k: pd.Categorical(v) if v.dtype == object else
            v.astype("datetime64[s]") if v.dtype.kind == "M" else v
            for k, v in cols.items()})

    def to_polars(self, table: str = "outcomes"):
        """A table (see ``table``) as a ``polars.DataFrame``: nulls where censored (never
        NaN), the sector (and quantity, milestone) categorical, dates as Date."""
        try:
            import polars as pl
        except ImportError:
            raise AdvsimError("to_polars needs polars (pip install polars)") from None
        cols = self.table(table)
        frame = pl.DataFrame({k: v.astype(str) if v.dtype == object else v
                              for k, v in cols.items()}, nan_to_null=True)
        return frame.with_columns([pl.col(k).cast(pl.Categorical) for k, v in cols.items()
                                   if v.dtype == object])

    def metadata(self) -> dict[str, str]:
        """What a table's schema says of its run: advsim's version, the scenario, its hash
        (where known) and the seed."""
        return {"advsim": __version__, "scenario": self.scenario.name,
                "scenario_sha256": self.scenario_sha256 or "", "seed": str(self.seed),
                "replications": str(self.replications)}

    def bands(self, percentiles=None) -> dict[str, dict[str, np.ndarray]]:
        """Per-day percentile bands of each sector's progress, for fan charts."""
        ps = percentiles or self.scenario.percentiles
        return {name: so.bands(ps, self.source) for name, so in self.sectors.items()}

    def forces_bands(self, percentiles=None) -> dict[str, dict[str, dict[str, np.ndarray]]]:
        """Per-day percentile bands of each sector's troops by side: {sector: {side: band}}."""
        ps = percentiles or self.scenario.percentiles
        return {name: so.forces_bands(ps, self.source) for name, so in self.sectors.items()}

    def _forces_summary(self, so: SectorOutcomes) -> dict | None:
        """Troops by side at the checkpoint days and the day each side reaches its breakpoint;
        None for outcomes that carry neither (read back from an older folder)."""
        sc, ps = self.scenario, self.scenario.percentiles
        days = so.breakpoint_days()
        if days is None and not so.has_forces_bands():
            return None
        out: dict = {"days": list(sc.checkpoints_days)}
        bands = so.forces_bands(ps, self.source) if so.has_forces_bands() else None
        for side in ("attacker", "defender"):
            entry: dict = {"start": float(getattr(so.sector, side).troops)}
            if bands is not None:
                b = bands[side]
                at = np.searchsorted(b["day"], sc.checkpoints_days)
                entry["troops"] = {pkey(p): [_round(float(b[pkey(p)][i]), 1) for i in at]
                                   for p in ps}
            fraction = getattr(so.sector, side).breakpoint_fraction
            entry["breakpoint"] = {"fraction": fraction}
            if days is not None:
                d = days[side]
                entry["breakpoint"].update(prob_reached=float(np.isfinite(d).mean()),
                                           **self._days_and_dates(censored_percentiles(d, ps)))
            out[side] = entry
        return out

    def _days_and_dates(self, days: list[float | None]) -> dict:
        """Censored percentiles of a day as {"day": …, "date": …}; None beyond the horizon."""
        sc = self.scenario
        ps = sc.percentiles
        return {
            "day": {pkey(p): _round(d) for p, d in zip(ps, days)},
            "date": {pkey(p): sc.date_of(d).isoformat() if d is not None else None
                     for p, d in zip(ps, days)},
        }

    def summary(self) -> dict:
        """The run's summary in the JSON shape of ``advsim run --json``."""
        sc, n = self.scenario, self.replications
        ps = sc.percentiles
        sectors = {}
        for name, so in self.sectors.items():
            s = so.sector
            out = sectors[name] = sector_description(s, sc)  # then the statistics, in place
            prob = float(so.reached.mean())
            days = censored_percentiles(so.objective_day, ps)
            day_se = percentile_se(so.objective_day, ps)
            out["objective"].update(
                prob_reached=prob,
                prob_reached_se=prob_se(prob, n),
                **self._days_and_dates(days),
                day_se={pkey(p): _round(e) if d is not None else None
                        for p, d, e in zip(ps, days, day_se)},
                prob_by_day={
                    str(d): float((so.objective_day <= d).mean()) for d in sc.checkpoints_days
                },
            )
            if name in self.shifted:
                out["objective"]["shifted"] = self.shifted[name]
            q = np.percentile(so.progress, ps, axis=0) if n else np.full((len(ps), 0), np.nan)
            for p, row in zip(ps, q):
                out[so.progress_name][pkey(p)] = [_round(v, 3) for v in row]
            for i, m in enumerate(s.milestones):
                d = so.milestone_days[:, i]
                out["milestones"][m.name].update(
                    prob_reached=float(np.isfinite(d).mean()),
                    **self._days_and_dates(censored_percentiles(d, ps)),
                )
            out["losses"] = {
                side: {"mean": _round(float(arr.mean()), 1),
                       **{pkey(p): _round(float(v), 1)
                          for p, v in zip(ps, np.percentile(arr, ps))}}
                for side, arr in (("attacker", so.attacker_losses),
                                  ("defender", so.defender_losses))
            }
            forces = self._forces_summary(so)
            if forces is not None:
                out["forces"] = forces
        return {
            "advsim": __version__,
            "scenario": sc.name,
            "start": sc.start.isoformat(),
            "horizon_days": sc.horizon_days,
            "replications": n,
            "seed": self.seed,
            "percentiles": list(ps),
            "sectors": sectors,
        }


def _empty_parts(name: str) -> Iterator[dict[str, np.ndarray]]:
    """One part of table ``name`` with no rows: its columns and their types."""
    empty = {"replication": np.empty(0, np.int64), "sector": np.empty(0, object)}
    if name == "milestones":
        yield {**empty, "milestone": np.empty(0, object), "reached": np.empty(0, bool),
               "day": np.empty(0), "date": np.empty(0, "datetime64[D]")}
    elif name == "progress":
        yield {**empty, "day": np.empty(0, np.int64), "date": np.empty(0, "datetime64[D]"),
               "quantity": np.empty(0, object), "value": np.empty(0)}
    else:
        yield {**empty, "objective_reached": np.empty(0, bool), "objective_day": np.empty(0),
               "objective_date": np.empty(0, "datetime64[D]"),
               "attacker_losses": np.empty(0), "defender_losses": np.empty(0),
               "base_m_per_day": np.empty(0), "strikes": np.empty(0, np.int64)}


def _round(x: float | None, digits: int = 2) -> float | None:
    return None if x is None else round(float(x), digits)
