"""A sweep point's metrics: which a scenario has, which the spec asks for, and their values."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..keypath import did_you_mean
from ..outcomes import Result
from ..scenario import Scenario
from ..summary import censored_percentiles
from .spec import Sweep

PERCENTILES = (10, 50, 90)


def metric_columns(sc: Scenario) -> tuple[str, ...]:
    """The per-point metrics of points.csv: per sector, the probability of reaching the
    objective, P10/P50/P90 of the day it falls, and P10/P50/P90 of progress at each checkpoint
    day (km advanced on an axis, km² held in an area)."""
    out = []
    for s in sc.sectors:
        progress = "advance_km" if s.kind == "axis" else "held_km2"
        out.append(f"{s.name}.prob_reached")
        out += [f"{s.name}.day_p{p}" for p in PERCENTILES]
        out += [f"{s.name}.{progress}_d{d}_p{p}" for d in sc.checkpoints_days for p in PERCENTILES]
    return tuple(out)


def requested(sweep: Sweep, columns: tuple[str, ...]) -> tuple[str, ...]:
    bare = list(dict.fromkeys(c.split(".", 1)[1] for c in columns))
    out: list[str] = []
    for j, m in enumerate(sweep.metrics):
        hits = [c for c in columns if c == m or c.split(".", 1)[1] == m]
        if not hits:
            progress = sorted({b.split("_d")[0] for b in bare if "_d" in b})
            days = ", ".join(str(d) for d in _checkpoint_days(columns))
            raise sweep.error(("metrics", j), (
                f"unknown metric {m!r}{did_you_mean(m, [*bare, *columns])} (expected prob_reached, "
                f"day_p10, day_p50, day_p90 or {'/'.join(progress)}_dDAY_pP with DAY one of "
                f"{days} and P one of 10, 50, 90; SECTOR.METRIC for one sector)"
            ))
        out += [c for c in hits if c not in out]
    return tuple(out)


def _checkpoint_days(columns: Sequence[str]) -> list[int]:
    """The checkpoint days named in metric columns."""
    days = {int(c.rsplit("_d", 1)[1].split("_")[0]) for c in columns if "_d" in c.split(".")[-1]}
    return sorted(days)


def point_metrics(result: Result) -> dict[str, float]:
    """The metrics of ``metric_columns`` for one point's run; +inf where a day is censored."""
    out: dict[str, float] = {}
    for name, so in result.sectors.items():
        out[f"{name}.prob_reached"] = float(so.reached.mean())
        for p, d in zip(PERCENTILES, censored_percentiles(so.objective_day, PERCENTILES)):
            out[f"{name}.day_p{p}"] = math.inf if d is None else d
        q = np.percentile(so.progress, PERCENTILES, axis=0)
        for j, day in enumerate(result.scenario.checkpoints_days):
            for i, p in enumerate(PERCENTILES):
                out[f"{name}.{so.progress_name}_d{day}_p{p}"] = float(q[i, j])
    return out
