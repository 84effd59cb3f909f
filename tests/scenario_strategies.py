"""Hypothesis strategies for valid scenarios, as the plain data a scenario file holds.

Shared by the property tests (which run them) and the fuzz tests (which break them). Every value
is drawn inside the range the loader accepts, so each drawn document validates; the ranges are
kept modest so that a run of a few dozen replications stays fast.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

SECTOR_NAMES = ("north", "south", "kursk salient", "Pokrovsk axis", "été")
REGIME_NAMES = ("grinding", "stalled", "breakthrough", "counter-attack")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def dist(draw, lo: float, hi: float, *, positive: bool = False) -> Any:
    """A number or ``{dist: ...}`` whose draws stay within [lo, hi] (above lo if ``positive``);
    lognormal and gamma, unbounded above, appear only where ``hi`` is large enough to mean it."""
    low_end = lo + (hi - lo) * 0.01 if positive else lo
    x = floats(low_end, hi)
    kinds = ["number", "fixed", "uniform", "triangular", "pert", "empirical"]
    if lo <= 0 and hi >= 10:
        kinds += ["gamma", "lognormal"]
    kind = draw(st.sampled_from(kinds))
    if kind == "number":
        return draw(x)
    if kind == "fixed":
        return {"dist": "fixed", "value": draw(x)}
    if kind == "empirical":
        return {"dist": "empirical", "samples": draw(st.lists(x, min_size=1, max_size=5))}
    if kind in ("gamma", "lognormal"):
        mean = draw(floats(max(low_end, 0.1), hi / 2))
        if kind == "gamma":
            return {"dist": "gamma", "mean": mean, "sd": draw(floats(0, mean))}
        return {"dist": "lognormal", "mean": mean, "cv": draw(floats(0, 1.5))}
    a, b = sorted(draw(st.lists(x, min_size=2, max_size=2, unique=True)))
    if kind == "uniform":
        return {"dist": "uniform", "low": a, "high": b}
    mode = draw(floats(a, b))
    return {"dist": kind, "low": a, "mode": mode, "high": b}


@st.composite
def base_rate(draw, *, negative: bool) -> Any:
    """The campaign-level rate (m/day): any distribution; a normal one may draw below zero."""
    if negative and draw(st.booleans()):
        return {"dist": "normal", "mean": draw(floats(-50, 400)), "sd": draw(floats(0, 200))}
    return draw(dist(0, 600))


@st.composite
def noise(draw) -> Any:
    """Daily noise: non-negative with mean exactly 1."""
    w = draw(floats(0.05, 1.0))
    return draw(st.sampled_from([
        1,
        {"dist": "lognormal", "mean": 1, "cv": w},
        {"dist": "gamma", "mean": 1, "sd": w},
        {"dist": "uniform", "low": 1 - w, "high": 1 + w},
        {"dist": "pert", "low": 1 - w, "mode": 1, "high": 1 + w},
        {"dist": "triangular", "low": 1 - w, "mode": 1, "high": 1 + w},
        {"dist": "empirical", "samples": [1 - w, 1 + w]},
    ]))


@st.composite
def regimes(draw, *, negative: bool) -> dict:
    names = draw(st.lists(st.sampled_from(REGIME_NAMES), min_size=1, max_size=3, unique=True))
    states = {}
    for name in names:
        state: dict[str, Any] = {
            "factor": draw(floats(-1 if negative else 0, 3)),
            "sojourn_days": draw(dist(0, 40, positive=True)),
        }
        if draw(st.booleans()):
            weights = draw(st.lists(st.integers(0, 5), min_size=len(names), max_size=len(names))
                           .filter(any))
            state["next"] = {n: w / sum(weights) for n, w in zip(names, weights) if w}
        states[name] = state
    out: dict[str, Any] = {"states": states}
    if draw(st.booleans()):
        out["initial"] = draw(st.sampled_from(names))
    return out


@st.composite
def advance(draw, *, negative: bool) -> dict:
    out: dict[str, Any] = {"base_m_per_day": draw(base_rate(negative=negative))}
    if draw(st.booleans()):
        out["noise"] = draw(noise())
    if draw(st.booleans()):
        out["regimes"] = draw(regimes(negative=negative))
    if draw(st.booleans()):
        force: dict[str, Any] = {"reference_ratio": draw(floats(0.2, 5)),
                                 "elasticity": draw(floats(0, 3))}
        if draw(st.booleans()):
            force["culmination_ratio"] = draw(floats(0, 3))
        if draw(st.booleans()):
            force["max_factor"] = draw(floats(0.5, 10))
        out["force"] = force
    if draw(st.booleans()):
        months = draw(st.lists(st.sampled_from(MONTHS), max_size=3, unique=True))
        out["season"] = {m: draw(floats(0, 2)) for m in months}
    return out


@st.composite
def attrition(draw) -> dict | None:
    model = draw(st.sampled_from(
        [None, "none", "daily_fraction", "lanchester_square", "lanchester_linear"]))
    if model is None:
        return None
    if model == "none":
        return {"model": "none"}
    hi = {"daily_fraction": 0.05, "lanchester_square": 0.01, "lanchester_linear": 1e-6}[model]
    return {"model": model, "attacker": draw(dist(0, hi)), "defender": draw(dist(0, hi))}


def positions(lo: float, hi: float, *, max_size: int, descending: bool = False):
    """Sorted distinct points strictly inside (lo, hi)."""
    return st.lists(floats(0.01, 0.99), max_size=max_size, unique=True).map(
        lambda fs: sorted((lo + (hi - lo) * f for f in fs), reverse=descending)
    ).filter(lambda xs: len(set(xs)) == len(xs) and all(lo < x < hi for x in xs))


@st.composite
def sector(draw, horizon: int, *, negative: bool) -> dict:
    kind = draw(st.sampled_from(["axis", "area"]))
    s: dict[str, Any] = {"kind": kind}
    if kind == "axis":
        s["length_km"] = length = draw(floats(0.5, 80))
        s["objective"] = {"name": "objective"}
        lo, hi, coord, descending = 0.0, length, "at_km", False
    else:
        s["area_km2"] = area = draw(floats(10, 3000))
        residue = draw(st.one_of(st.just(0.0), floats(0, area / 2)))
        s["objective"] = {"name": "retaken", "held_km2": residue}
        s["front"] = {"length_km": draw(floats(1, 100)),
                      "scales_with_area": draw(st.booleans())}
        lo, hi, coord, descending = residue, area, "held_km2", True
    ms = draw(positions(lo, hi, max_size=3, descending=descending))
    if ms:
        s["milestones"] = [{"name": f"m{i}", coord: x} for i, x in enumerate(ms)]
    lines = draw(positions(lo, hi, max_size=3, descending=descending))
    if lines:
        s["lines"] = [{"name": f"line {i}", coord: x, "breach_days": draw(dist(0, 60))}
                      for i, x in enumerate(lines)]
    s["forces"] = {
        side: {"troops": draw(floats(0, 1e5))}
        | ({"quality": draw(floats(0.2, 3))} if draw(st.booleans()) else {})
        for side in ("attacker", "defender")
    }
    s["advance"] = draw(advance(negative=negative))
    a = draw(attrition())
    if a is not None:
        s["attrition"] = a
    reinforcements = []
    for _ in range(draw(st.integers(0, 3))):
        r: dict[str, Any] = {"side": draw(st.sampled_from(["attacker", "defender"])),
                             "day": draw(st.integers(0, horizon + 30)),
                             "troops": draw(floats(0, 2e4))}
        if draw(st.booleans()):
            r["readiness_days"] = draw(dist(0, 60))
        reinforcements.append(r)
    if reinforcements:
        s["reinforcements"] = reinforcements
    strikes = []
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.integers(-30, horizon))
        k: dict[str, Any] = {"start": start, "rate_per_day": draw(floats(0, 2)),
                             "factor": draw(dist(0, 1)), "duration_days": draw(dist(0, 30))}
        if draw(st.booleans()):
            k["end"] = max(start, 0) + draw(st.integers(1, horizon + 30))
        strikes.append(k)
    if strikes:
        s["strikes"] = strikes
    modifiers = []
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.integers(-10, horizon))
        m: dict[str, Any] = {"factor": draw(floats(-1 if negative else 0, 3)), "start": start}
        if draw(st.booleans()):
            m["end"] = max(start, 0) + draw(st.integers(1, horizon))
        modifiers.append(m)
    if modifiers:
        s["modifiers"] = modifiers
    return s


@st.composite
def scenarios(draw, *, negative: bool = True, reserves: bool = True,
              max_horizon: int = 400, max_sectors: int = 3) -> dict:
    """A valid scenario document. ``negative``: rates may be negative (a normal base rate,
    counter-attack regimes, modifiers below zero); ``reserves``: a theatre reserve may appear."""
    horizon = draw(st.integers(1, max_horizon))
    names = draw(st.lists(st.sampled_from(SECTOR_NAMES), min_size=1, max_size=max_sectors,
                          unique=True))
    doc: dict[str, Any] = {
        "name": "hypothesis",
        "start": draw(st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31))),
        "horizon_days": horizon,
    }
    if draw(st.booleans()):
        doc["checkpoints_days"] = sorted(draw(
            st.lists(st.integers(1, horizon), min_size=1, max_size=4, unique=True)))
    doc["sectors"] = {name: draw(sector(horizon, negative=negative)) for name in names}
    if reserves and draw(st.booleans()):
        doc["reserves"] = {"pool": {
            "side": draw(st.sampled_from(["attacker", "defender"])),
            "troops": draw(floats(0, 2e4)),
            "sectors": draw(st.lists(st.sampled_from(names), min_size=1, unique=True)),
            "release": {"below_ratio": draw(floats(0.5, 5)),
                        "batch_troops": draw(floats(100, 5000)),
                        "every_days": draw(st.integers(1, 30))},
            "transit_days": draw(dist(0, 30)),
        }}
    return doc
