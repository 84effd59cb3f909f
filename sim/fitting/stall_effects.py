"""Covariates on how long a stall lasts: an accelerated-failure-time model of the stalled
regime's sojourn, fitted to a class's stall spells.

The advance model's stalled sojourn is lognormal, one law for every place
(:mod:`sim.fitting.advance_fit`). Here its log-mean depends on where the place stood when the
stall began: ``log T = mu + x·beta + sigma·e`` with ``e`` standard normal, fitted by maximum
likelihood with the censored spells contributing their survival, as the plain sojourn is.
``exp(beta_i)`` is the factor by which a unit of term ``i`` stretches a stall (above 1: stalls
last longer). A projection then draws the place's stalls (and, with time in regime, the
residual of the one it is in) from the law at the place's own terms on the origin's map; the
terms are held at their origin's values through the projection.

The terms, each from one switchable extension of the outlook (:data:`TERMS`), all fixed before
any forward evaluation was scored:

- ``activity``: the local front's activity (held km² gained within 10 km per day over the 90
  days before; :mod:`sim.data.covariates`), as two indicators against a quiet front: slow
  (0.01 to 0.1 km²/day) and active (above 0.1), the forward evaluation's groups;
- ``encirclement``: the share of bearings with held ground within the radius (0 to 1);
- ``tempo``: the theatre's km² gained per day over the 90 days before, as
  ``asinh(tempo / 10 km²/day)`` (about linear within ±10 km²/day, logarithmic beyond, so the
  offensives and counter-offensives of a few weeks do not carry the fit alone);
- ``approach-phase``: the distance band the place stood in (0–2, 2–5, 5–10 km, against beyond
  10 km): the last kilometres before a town fought at their own tempo.

Intervals are Wald intervals from the likelihood's curvature at its maximum (the spells of one
place are not independent, so they are too narrow rather than too wide).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

ACTIVITY_EDGES_KM2_PER_DAY = (0.01, 0.1)  # none | slow | active
TEMPO_SCALE_KM2_PER_DAY = 10.0
PHASE_EDGES_KM = (2.0, 5.0, 10.0)
MAX_SIGMA = 3.0
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True, kw_only=True)
class Where:
    """Where a place stood on a map: the values the terms read."""

    distance_km: float
    activity_km2_per_day: float = 0.0
    surrounded: float = 0.0
    tempo_km2_per_day: float = 0.0


def _activity(w: Where) -> tuple[float, ...]:
    lo, hi = ACTIVITY_EDGES_KM2_PER_DAY
    a = w.activity_km2_per_day
    return float(lo < a <= hi), float(a > hi)


def _phase(w: Where) -> tuple[float, ...]:
    a, b, c = PHASE_EDGES_KM
    d = w.distance_km
    return float(d <= a), float(a < d <= b), float(b < d <= c)


# extension name -> (term names, the terms of a Where)
TERMS: dict[str, tuple[tuple[str, ...], Callable[[Where], tuple[float, ...]]]] = {
    "activity": (("slow front", "active front"), _activity),
    "encirclement": (("surrounded share",), lambda w: (float(w.surrounded),)),
    "tempo": (("theatre tempo",),
              lambda w: (math.asinh(w.tempo_km2_per_day / TEMPO_SCALE_KM2_PER_DAY),)),
    "approach-phase": (("0-2 km", "2-5 km", "5-10 km"), _phase),
}


@dataclass(frozen=True, kw_only=True)
class StallEffects:
    """The fitted stall law: ``log T ~ N(mu + x·beta, sigma)``."""

    extensions: tuple[str, ...]  # in TERMS' order
    names: tuple[str, ...]
    mu: float
    beta: np.ndarray
    se: np.ndarray  # of beta
    sigma: float
    spells: int
    censored: int

    def terms(self, w: Where) -> np.ndarray:
        return terms_of(self.extensions, w)

    def mean_cv(self, w: Where) -> tuple[float, float]:
        """The stall sojourn's mean (days) and cv at ``w``."""
        m = self.mu + float(self.terms(w) @ self.beta)
        return math.exp(m + self.sigma**2 / 2), math.sqrt(math.expm1(self.sigma**2))

    def factors(self, level: float = 0.90) -> list[tuple[str, float, float, float]]:
        """Each term's factor on a stall's length, ``exp(beta)``, with its Wald interval."""
        from scipy import stats

        z = stats.norm.ppf(0.5 + level / 2)
        return [(n, math.exp(b), math.exp(b - z * s), math.exp(b + z * s))
                for n, b, s in zip(self.names, self.beta, self.se)]


def terms_of(extensions: Sequence[str], w: Where) -> np.ndarray:
    out: list[float] = []
    for e in extensions:
        out += TERMS[e][1](w)
    return np.array(out, dtype=float)


def fit_stall_effects(days: Sequence[float], censored: Sequence[bool],
                      where: Sequence[Where], extensions: Sequence[str]) -> StallEffects:
    """The stall law with the terms of ``extensions`` (see the module), by censored maximum
    likelihood on spells of ``days`` (``censored``: seen to last at least that long) that
    began at ``where``."""
    from scipy import optimize, special

    exts = tuple(e for e in TERMS if e in set(extensions))
    names = tuple(n for e in exts for n in TERMS[e][0])
    d = np.asarray(days, dtype=float)
    c = np.asarray(censored, dtype=bool)
    x = np.array([terms_of(exts, w) for w in where], dtype=float).reshape(len(d), len(names))
    logd = np.log(d)
    # A term that is constant over the spells (a group no spell fell in) has no effect to fit.
    free = np.ptp(x, axis=0) > 0 if len(d) else np.zeros(len(names), dtype=bool)

    def nll(theta):
        mu, b, log_sigma = theta[0], theta[1:-1], theta[-1]
        sigma = math.exp(log_sigma)
        z = (logd - mu - x[:, free] @ b) / sigma
        ll = (-0.5 * z[~c] ** 2 - log_sigma - HALF_LOG_2PI - logd[~c]).sum()
        ll += special.log_ndtr(-z[c]).sum()
        return -ll

    k = int(free.sum())
    theta0 = np.concatenate([[logd.mean()], np.zeros(k), [math.log(max(logd.std(), 0.1))]])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        res = optimize.minimize(nll, theta0, method="Nelder-Mead",
                                options={"xatol": 1e-7, "fatol": 1e-10, "maxiter": 20000,
                                         "maxfev": 40000, "adaptive": True})
        cov = _inverse_hessian(nll, res.x)
    beta, se = np.zeros(len(names)), np.full(len(names), np.inf)
    beta[free] = res.x[1:-1]
    se[free] = np.sqrt(np.clip(np.diag(cov)[1:-1], 0.0, None))
    return StallEffects(extensions=exts, names=names, mu=float(res.x[0]), beta=beta, se=se,
                        sigma=min(math.exp(float(res.x[-1])), MAX_SIGMA), spells=len(d),
                        censored=int(c.sum()))


def _inverse_hessian(f: Callable[[np.ndarray], float], x: np.ndarray,
                     h: float = 1e-4) -> np.ndarray:
    """The inverse of ``f``'s Hessian at ``x`` by central differences (inf where singular)."""
    n = len(x)
    hess = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            e_i, e_j = np.eye(n)[i] * h, np.eye(n)[j] * h
            hess[i, j] = hess[j, i] = (f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j)
                                       + f(x - e_i - e_j)) / (4 * h * h)
    try:
        return np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return np.full((n, n), np.inf)
