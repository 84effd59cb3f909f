"""A sweep point's metrics: which a scenario has, which the spec asks for, and their values."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..analysis.summary import censored_percentiles
from ..model.keypath import did_you_mean
from ..model.scenario import Scenario
from ..running.outcomes import Result
from .spec import Sweep

PERCENTILES = (10, 50, 90)


@dataclass(frozen=True)
class Metric:
    """One number per sweep point: ``quantity`` of ``sector`` (None: of every sector, as a spec
    may ask). ``prob_reached`` has no day or percentile; ``day`` (of the objective) has a
    ``percentile``; a progress (``advance_km``, ``held_km2``) has a checkpoint ``day`` and a
    ``percentile``."""

    sector: str | None
    quantity: str
    day: int | None = None
    percentile: int | None = None

    @property
    def name(self) -> str:
        """The metric without its sector: ``prob_reached``, ``day_p50``, ``held_km2_d90_p10``."""
        if self.percentile is None:
            return self.quantity
        if self.day is None:
            return f"{self.quantity}_p{self.percentile}"
        return f"{self.quantity}_d{self.day}_p{self.percentile}"

    @property
    def column(self) -> str:
        """Its column in points.csv: ``SECTOR.NAME``."""
        return self.name if self.sector is None else f"{self.sector}.{self.name}"

    def covers(self, other: Metric) -> bool:
        """Whether asking for this metric asks for ``other`` (one without a sector asks for it
        in every sector)."""
        return self == other or (self.sector is None and replace(other, sector=None) == self)

    @classmethod
    def parse(cls, text: str) -> Metric | None:
        """A metric as a spec or ``--metric`` names it, ``[SECTOR.]NAME``; None if ``text`` is
        not one. The only place a metric is read from text."""
        m = _METRIC.fullmatch(text)
        if m is None:
            return None
        if m["progress"]:
            metric = cls(m["sector"], m["progress"], int(m["day"]), int(m["pp"]))
        elif m["p"]:
            metric = cls(m["sector"], "day", None, int(m["p"]))
        else:
            metric = cls(m["sector"], "prob_reached")
        return metric if metric.column == text else None  # e.g. day_p050: not a column


_METRIC = re.compile(
    r"(?:(?P<sector>[^.]+)\.)?(?:prob_reached|day_p(?P<p>\d+)"
    r"|(?P<progress>[a-z][a-z0-9_]*?)_d(?P<day>\d+)_p(?P<pp>\d+))"
)


def sector_metrics(sector: str, progress: str, days: Sequence[int]) -> list[Metric]:
    """One sector's metrics in points.csv order: the probability of reaching the objective,
    P10/P50/P90 of the day it falls, and P10/P50/P90 of ``progress`` at each checkpoint day."""
    return [
        Metric(sector, "prob_reached"),
        *(Metric(sector, "day", None, p) for p in PERCENTILES),
        *(Metric(sector, progress, d, p) for d in days for p in PERCENTILES),
    ]


def scenario_metrics(sc: Scenario) -> tuple[Metric, ...]:
    """Every metric of a point of ``sc``, in points.csv order (progress is km advanced on an
    axis, km² held in an area)."""
    return tuple(m for s in sc.sectors for m in sector_metrics(
        s.name, s.progress_name, sc.checkpoints_days))


def metric_columns(sc: Scenario) -> tuple[str, ...]:
    """The metric columns of points.csv for a point of ``sc``."""
    return tuple(m.column for m in scenario_metrics(sc))


def requested(sweep: Sweep, metrics: Sequence[Metric]) -> tuple[Metric, ...]:
    """The spec's metrics among ``metrics``, in the spec's order (a metric without a sector
    stands for it in every sector); an unknown one is an error located in the spec."""
    out: list[Metric] = []
    for j, text in enumerate(sweep.metrics):
        asked = Metric.parse(text)
        hits = [m for m in metrics if asked is not None and asked.covers(m)]
        if not hits:
            names = list(dict.fromkeys(m.name for m in metrics))
            progress = sorted({m.quantity for m in metrics if m.day is not None})
            days = ", ".join(str(d) for d in sorted({m.day for m in metrics if m.day is not None}))
            known = [*names, *(m.column for m in metrics)]
            raise sweep.error(("metrics", j), (
                f"unknown metric {text!r}{did_you_mean(text, known)} (expected prob_reached, "
                f"day_p10, day_p50, day_p90 or {'/'.join(progress)}_dDAY_pP with DAY one of "
                f"{days} and P one of 10, 50, 90; SECTOR.METRIC for one sector)"
            ))
        out += [m for m in hits if m not in out]
    return tuple(out)


def point_metrics(result: Result) -> dict[str, float]:
    """Every metric of one point's run, by column; +inf where a day is censored."""
    out: dict[str, float] = {}
    days = result.scenario.checkpoints_days
    for name, so in result.sectors.items():
        objective_days = censored_percentiles(so.objective_day, PERCENTILES)
        q = np.percentile(so.progress, PERCENTILES, axis=0)
        for m in sector_metrics(name, so.progress_name, days):
            if m.percentile is None:
                value = float(so.reached.mean())
            elif m.day is None:
                d = objective_days[PERCENTILES.index(m.percentile)]
                value = math.inf if d is None else d
            else:
                value = float(q[PERCENTILES.index(m.percentile), days.index(m.day)])
            out[m.column] = value
    return out
