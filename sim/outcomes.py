"""The outcome of a run: per-replication arrays per sector, the flat table and the summary."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import __version__
from .engine import Geometry, SectorChunk
from .scenario import Scenario, Sector, slug
from .summary import band_percentiles, censored_percentiles, percentile_se, pkey, prob_se


def sector_description(s: Sector, sc: Scenario) -> dict:
    """What a sector is, in the shape of a run summary's sector (without any statistics)."""
    at = "at_km" if s.kind == "axis" else "held_km2"
    out = {
        "kind": s.kind,
        "objective": {"name": s.objective},
        "advance_km" if s.kind == "axis" else "held_km2": {"days": list(sc.checkpoints_days)},
        "milestones": {m.name: {at: m.at} for m in s.milestones},
    }
    if s.kind == "axis":
        out["length_km"] = s.length_km
    else:
        out.update(area_km2=s.area_km2, objective_km2=s.objective_km2)
    return out


@dataclass(kw_only=True)
class SectorOutcomes:
    sector: Sector
    objective_day: np.ndarray
    milestone_days: np.ndarray
    progress: np.ndarray
    attacker_losses: np.ndarray
    defender_losses: np.ndarray
    base_m_per_day: np.ndarray
    strikes: np.ndarray
    band_counts: np.ndarray

    @property
    def geometry(self) -> Geometry:
        return Geometry.of(self.sector)

    @property
    def reached(self) -> np.ndarray:
        return np.isfinite(self.objective_day)

    @property
    def progress_name(self) -> str:
        return "advance_km" if self.sector.kind == "axis" else "held_km2"

    @classmethod
    def empty(cls, sector: Sector, n: int, checkpoints: int, horizon: int) -> SectorOutcomes:
        m = len(sector.milestones)
        return cls(
            sector=sector,
            objective_day=np.empty(n), milestone_days=np.empty((n, m)),
            progress=np.empty((n, checkpoints)), attacker_losses=np.empty(n),
            defender_losses=np.empty(n), base_m_per_day=np.empty(n),
            strikes=np.empty(n, dtype=np.int64),
            band_counts=np.zeros((horizon + 1, 0), dtype=np.int64),
        )

    def put(self, lo: int, part: SectorChunk) -> None:
        """Place one chunk's outcomes at replications lo, lo + 1, ..."""
        hi = lo + part.objective_day.size
        for name in ("objective_day", "milestone_days", "progress", "attacker_losses",
                     "defender_losses", "base_m_per_day", "strikes"):
            getattr(self, name)[lo:hi] = getattr(part, name)
        if self.band_counts.shape[1] == 0:
            self.band_counts = part.band_counts.astype(np.int64)  # sums of chunks: wide
        else:
            self.band_counts += part.band_counts


@dataclass(kw_only=True)
class Result:
    """Outcomes of ``replications`` runs of ``scenario`` from ``seed``."""

    scenario: Scenario
    replications: int
    seed: int
    sectors: dict[str, SectorOutcomes]
    wall_seconds: float = 0.0
    jobs: int = 1
    extra: dict = field(default_factory=dict)

    def table(self) -> dict[str, np.ndarray]:
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
            for i, day in enumerate(self.scenario.checkpoints_days):
                cols[f"{so.progress_name}_d{day}"] = so.progress[:, i]
            cols["attacker_losses"] = so.attacker_losses
            cols["defender_losses"] = so.defender_losses
            cols["base_m_per_day"] = so.base_m_per_day
            cols["strikes"] = so.strikes
            parts.append(cols)
        names = list(dict.fromkeys(k for p in parts for k in p))
        out = {}
        for k in names:
            arrays = []
            for p in parts:
                if k in p:
                    arrays.append(p[k])
                else:
                    arrays.append(np.full(n, np.nan))
            out[k] = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
        return out

    def bands(self, percentiles=None) -> dict[str, dict[str, np.ndarray]]:
        """Per-day percentile bands of each sector's progress, for fan charts."""
        ps = percentiles or self.scenario.percentiles
        out = {}
        for name, so in self.sectors.items():
            b = band_percentiles(so.band_counts, so.geometry, ps)
            out[name] = {"day": np.arange(so.band_counts.shape[0]),
                         **{pkey(p): b[p] for p in ps}}
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


def _round(x: float | None, digits: int = 2) -> float | None:
    return None if x is None else round(float(x), digits)
