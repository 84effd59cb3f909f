"""Do neighbouring places fall together? A measurement over forward evaluation's cases.

An outlook projects each place on its own seed, so for two places its answer to "both fallen
by a date" is the product of their probabilities. Towns of one operation may fall together
more often than that. Over the cases of a forward evaluation (:mod:`sim.forecast.forward`),
every pair of places within ``within_km`` of each other projected from the same origin is one
pair; where both outcomes are known at ``horizon_days`` (fallen by then, or seen standing past
it), it counts:

- ``observed_both``: the share of pairs in which both fell within the horizon;
- ``model_product``: the mean over pairs of the model's P(A) × P(B) (what the outlook says of
  "both", its places drawn independently);
- ``independent_observed``: m², with m the share fallen of the places in pairs (each pair
  counted both ways): what independence would give if every place had the pooled marginal;
- ``phi``: the correlation of the two places' outcomes, (observed_both − m²) / (m (1 − m)):
  0 for independent falls, 1 where a pair always falls or stands together;
- ``model_marginal``: the mean of the model's P over the same places, beside m, so a gap
  between ``observed_both`` and ``model_product`` can be told from miscalibrated marginals.

Intervals are a bootstrap over places (a place's cases at successive origins share its fall,
so the place is the unit): places drawn with replacement, each pair weighted by the number of
times each of its places was drawn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..data.places import great_circle_km
from ..errors import AdvsimError

if TYPE_CHECKING:
    from .forward import ForwardCase

WITHIN_KM = 15.0
HORIZON_DAYS = 180
BOOTSTRAP = 2000


def neighbour_pairs(cases: Sequence[ForwardCase], where: Mapping[str, tuple[float, float]],
                    *, within_km: float = WITHIN_KM, horizon_days: float = HORIZON_DAYS,
                    model: str = "class_model") -> list[tuple[str, str, int, int, float, float]]:
    """Every pair of places within ``within_km`` projected from one origin, both outcomes
    known at ``horizon_days``: (place A, place B, A fell, B fell, model P(A), model P(B))."""
    if not (math.isfinite(within_km) and within_km > 0):
        raise AdvsimError(f"within_km must be a positive number of km (got {within_km!r})",
                          param="within_km")
    if not (math.isfinite(horizon_days) and horizon_days > 0):
        raise AdvsimError(f"horizon_days must be a positive number of days (got "
                          f"{horizon_days!r})", param="horizon_days")
    missing = sorted({c.place for c in cases} - set(where))
    if missing:
        raise AdvsimError(f"no position for place {missing[0]!r} ({len(missing)} without one)",
                          param="where")
    by_origin: dict = {}
    for c in cases:
        if c.fell or c.cap > horizon_days:  # the outcome at the horizon is known
            by_origin.setdefault(c.origin, []).append(c)
    out: list[tuple[str, str, int, int, float, float]] = []
    for origin in sorted(by_origin):
        known = sorted(by_origin[origin], key=lambda c: c.place)
        out.extend((a.place, b.place, int(a.fell and a.observed_days <= horizon_days),
                    int(b.fell and b.observed_days <= horizon_days),
                    float(np.mean(a.members[model] <= horizon_days)),
                    float(np.mean(b.members[model] <= horizon_days)))
                   for i, a in enumerate(known) for b in known[i + 1:]
                   if a.place != b.place
                   and great_circle_km(*where[a.place], *where[b.place]) <= within_km)
    return out


def _statistics(fa, fb, pa, pb, w) -> dict[str, float]:
    total = w.sum()
    both = float((w * fa * fb).sum() / total)
    m = float((w * (fa + fb)).sum() / (2 * total))
    pm = float((w * (pa + pb)).sum() / (2 * total))
    product = float((w * pa * pb).sum() / total)
    var = m * (1 - m)
    return {"observed_both": both, "model_product": product, "independent_observed": m * m,
            "phi": (both - m * m) / var if var > 0 else math.nan,
            "observed_marginal": m, "model_marginal": pm,
            "ratio_to_model": both / product if product > 0 else math.nan}


def neighbour_falls(cases: Sequence[ForwardCase], where: Mapping[str, tuple[float, float]],
                    *, within_km: float = WITHIN_KM, horizon_days: float = HORIZON_DAYS,
                    rng: np.random.Generator, bootstrap: int = BOOTSTRAP,
                    level: float = 0.9) -> dict:
    """How often neighbouring places fell together (see the module), with the ``level``
    bootstrap interval over places of each statistic (null where it is undefined)."""
    pairs = neighbour_pairs(cases, where, within_km=within_km, horizon_days=horizon_days)
    out: dict = {"within_km": within_km, "horizon_days": horizon_days, "pairs": len(pairs),
                 "places": len({p for a, b, *_ in pairs for p in (a, b)}),
                 "level": level, "bootstrap": bootstrap}
    if not pairs:
        return out
    names = sorted({p for a, b, *_ in pairs for p in (a, b)})
    index = {p: i for i, p in enumerate(names)}
    ia = np.array([index[p[0]] for p in pairs])
    ib = np.array([index[p[1]] for p in pairs])
    fa, fb, pa, pb = (np.array([p[k] for p in pairs], dtype=float) for k in (2, 3, 4, 5))
    point = _statistics(fa, fb, pa, pb, np.ones(len(pairs)))
    draws: dict[str, list[float]] = {k: [] for k in point}
    for _ in range(bootstrap):
        counts = np.bincount(rng.integers(0, len(names), len(names)), minlength=len(names))
        w = (counts[ia] * counts[ib]).astype(float)
        if w.sum() == 0:
            continue
        for k, v in _statistics(fa, fb, pa, pb, w).items():
            draws[k].append(v)
    lo, hi = (1 - level) / 2, (1 + level) / 2
    for k, v in point.items():
        got = np.array([x for x in draws[k] if math.isfinite(x)])
        out[k] = None if not math.isfinite(v) else v
        out[f"{k}_interval"] = (None if not got.size or not math.isfinite(v) else
                                [float(np.quantile(got, lo)), float(np.quantile(got, hi))])
    return out
