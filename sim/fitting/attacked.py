"""Which places the front comes for at all: a logistic model of "attacked within a year",
fitted to every place near the front on every map (attacked or not).

A place at map ``k`` (``0 < d ≤ within_km`` from the held territory, with a year of maps after
``k`` before the fit's cut-off) counts as **attacked** when the front comes at least
``CLOSED_KM`` (1 km) nearer to it on some map within the next ``LABEL_DAYS`` (365). The model:
``logit P(attacked) = a + b·asinh(axis / 0.1 km²/day) + c·log(d / 1 km)``, where ``axis`` is the
held km² gained within the outlook's radius of the place per day over the 90 days before ``k``
(:meth:`sim.data.covariates.Covariates.axis_activity`): the issue's "is the place on an active
axis". Fitted by maximum likelihood; intervals from the information matrix (the same place on
successive maps is one place seen again, so they are too narrow rather than too wide).

A projection over ``h`` days takes the chance that the front comes within it as
``1 − (1 − p)^(h / 365)`` (a constant yearly chance) and, with the rest, a front that does not
come: a base pace of zero for the whole projection (:class:`sim.model.distributions.
ZeroInflatedLogNormal`).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..data.covariates import Covariates
    from ..data.front import FrontSeries

LABEL_DAYS = 365
CLOSED_KM = 1.0
AXIS_SCALE_KM2_PER_DAY = 0.1
MIN_CASES = 30  # of each outcome, to fit at all
NAMES = ("intercept", "axis activity", "log distance")


@dataclass(frozen=True, kw_only=True)
class AttackedFit:
    coef: np.ndarray  # intercept, axis activity, log distance
    se: np.ndarray
    cases: int
    attacked: int

    def p_year(self, axis_km2_per_day: float, distance_km: float) -> float:
        x = features(np.array([axis_km2_per_day]), np.array([distance_km]))[0]
        return float(1.0 / (1.0 + math.exp(-float(x @ self.coef))))

    def p_within(self, axis_km2_per_day: float, distance_km: float, days: float) -> float:
        """The chance the front comes for the place within ``days``."""
        return 1.0 - (1.0 - self.p_year(axis_km2_per_day, distance_km)) ** (days / LABEL_DAYS)

    def factors(self, level: float = 0.90) -> list[tuple[str, float, float, float]]:
        """Each term's odds ratio with its Wald interval."""
        from scipy import stats

        z = stats.norm.ppf(0.5 + level / 2)
        return [(n, math.exp(b), math.exp(b - z * s), math.exp(b + z * s))
                for n, b, s in zip(NAMES, self.coef, self.se)]


def features(axis_km2_per_day: np.ndarray, distance_km: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(distance_km)),
                            np.arcsinh(np.asarray(axis_km2_per_day) / AXIS_SCALE_KM2_PER_DAY),
                            np.log(np.maximum(np.asarray(distance_km, dtype=float), 0.05))])


def labelled(series: FrontSeries, cov: Covariates, within_km: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Every (place, map) of the series in range with a year of maps after it: the features
    and whether the front came 1 km nearer within the year."""
    d = series.distance_km
    last = series.dates[-1]
    xs, ys = [], []
    for k, day in enumerate(series.dates):
        if day + dt.timedelta(days=LABEL_DAYS) > last:
            break
        j = np.flatnonzero((d[k] > 0) & (d[k] <= within_km))
        if not j.size:
            continue
        ahead = [i for i in range(k + 1, len(series.dates))
                 if series.dates[i] <= day + dt.timedelta(days=LABEL_DAYS)]
        nearest = d[ahead][:, j].min(axis=0) if ahead else d[k, j]
        xs.append(features(cov.axis_activity(k)[j], d[k, j]))
        ys.append(nearest <= d[k, j] - CLOSED_KM)
    if not xs:
        return np.empty((0, 3)), np.empty(0, dtype=bool)
    return np.vstack(xs), np.concatenate(ys)


def fit_attacked(x: np.ndarray, y: np.ndarray) -> AttackedFit | None:
    """The logistic fit (None with fewer than ``MIN_CASES`` of either outcome)."""
    from scipy import optimize

    y = np.asarray(y, dtype=float)
    if min(y.sum(), len(y) - y.sum()) < MIN_CASES:
        return None

    def nll(b):
        z = x @ b
        return float(np.sum(np.logaddexp(0.0, z) - y * z))

    def grad(b):
        p = 1.0 / (1.0 + np.exp(-(x @ b)))
        return x.T @ (p - y)

    res = optimize.minimize(nll, np.zeros(x.shape[1]), jac=grad, method="BFGS",
                            options={"gtol": 1e-8})
    p = 1.0 / (1.0 + np.exp(-(x @ res.x)))
    info = x.T @ (x * (p * (1 - p))[:, None])
    try:
        se = np.sqrt(np.clip(np.diag(np.linalg.inv(info)), 0.0, None))
    except np.linalg.LinAlgError:
        se = np.full(x.shape[1], np.inf)
    return AttackedFit(coef=res.x, se=se, cases=len(y), attacked=int(y.sum()))
