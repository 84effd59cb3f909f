"""Scores pooled over many cases (origin × sector) of backtests, read from each case's scores
date by date."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .forecasters import BASELINES
from .scores import crps_skill, pit_uniformity

if TYPE_CHECKING:
    from .backtest import SectorBacktest

HORIZON_BUCKET_DAYS = 30  # pooled Brier scores by horizon: days 1-30, 31-60, ...


def pool(cases: Sequence[SectorBacktest]) -> dict:
    """Scores pooled over the scored dates of ``cases`` (origin × sector), with how many
    origins, sectors and cases they rest on."""
    def cat(get) -> np.ndarray:
        return np.concatenate([np.asarray(get(c), dtype=float) for c in cases]) if cases \
            else np.zeros(0)

    n = int(sum(c.days.size for c in cases))
    out: dict = {
        "origins": len({c.origin for c in cases}),
        "sectors": len({c.sector.name for c in cases}),
        "cases": len(cases),
        "n_obs": n,
        "correlation_note": "the dates of one case, and overlapping windows of one series, are "
                            "positively correlated: the uniformity test's p-value is optimistic, "
                            "and the scores rest on fewer independent cases than they count",
    }
    if not n:
        return out
    crps = float(np.mean(cat(lambda c: c.scores["crps_by_date"])))
    out |= {
        "crps": crps,
        "wis": float(np.mean(cat(lambda c: c.scores["wis_by_date"]))),
        "coverage_50": float(np.mean(cat(lambda c: c.scores["covered_50"]))),
        "coverage_90": float(np.mean(cat(lambda c: c.scores["covered_90"]))),
        "coverage_90_by_case_sd": float(np.std([np.mean(c.scores["covered_90"])
                                                for c in cases])),
        "pit": pit_uniformity(cat(lambda c: c.scores["pit"])),
        "brier": float(np.mean(cat(lambda c: c.scores["brier_by_date"]))),
    }
    horizon = cat(lambda c: c.days)
    sq = cat(lambda c: c.scores["brier_by_date"])
    buckets = []
    top = int(horizon.max())
    for lo in range(1, top + 1, HORIZON_BUCKET_DAYS):
        hi = lo + HORIZON_BUCKET_DAYS - 1
        sel = (horizon >= lo) & (horizon <= hi)
        if sel.any():
            buckets.append({"horizon_days": [lo, hi], "n_obs": int(sel.sum()),
                            "brier": float(np.mean(sq[sel]))})
    out["brier_by_horizon"] = buckets
    out["baselines"] = {}
    for name in BASELINES:
        b_crps = float(np.mean(cat(lambda c, name=name: c.baselines[name].scores["crps_by_date"])))
        out["baselines"][name] = {
            "crps": b_crps,
            "wis": float(np.mean(cat(lambda c, name=name:
                                     c.baselines[name].scores["wis_by_date"]))),
            "coverage_50": float(np.mean(cat(lambda c, name=name:
                                             c.baselines[name].scores["covered_50"]))),
            "coverage_90": float(np.mean(cat(lambda c, name=name:
                                             c.baselines[name].scores["covered_90"]))),
            "crps_skill": crps_skill(crps, b_crps),
        }
    return out
