"""Calibration: the campaign rate and the daily variability fitted from an observed series.

The model (gamma increments): the attacker's daily advances are independent, each gamma with
mean ``rate`` (m/day) and coefficient of variation ``cv``. A sum of independent gammas with a
common scale is gamma, so over a gap of Δ days the advance is exactly

    Gamma(shape = Δ / cv², scale = rate · cv²)      (mean rate·Δ, sd rate·cv·√Δ)

and the likelihood of a series is the product of its increments' densities, whatever the gaps.
This is the engine's advance with ``base_m_per_day`` fixed and ``noise: {dist: gamma, mean: 1,
sd: cv}``. The rate's maximum-likelihood estimate is the total advance over the total time; cv
is found by maximising the likelihood; 95% intervals are profile-likelihood intervals (with cv
fixed by the user, the rate's interval is exact). scipy is imported when a fit is made.

A map series has days on which nothing moved. Those gaps are zero increments, which gamma
increments cannot have: such a series is fitted with zero-inflated daily advances instead (the
attacker moves on a day with probability p_move, by a gamma amount when it does; see
:func:`zi_loglik`), the engine's ``noise: {dist: zero_inflated_gamma, p_move, mean: 1, sd}``.

An area sector's held km² become metres of advance through a fixed front:
advance (m) = km² taken / front (km) × 1000. A series in the ``remaining_km`` frame (distance
still to go, as ``advsim trace`` writes it) advances by the decrease of that distance; one in
the ``held_km2`` frame is an area sector.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..data.observed import ObservedSeries
from ..errors import ObservedError
from ..model.provenance import Check, Provenance, Source
from ..model.scenario import SECTOR_TYPES, Advance, AxisSector

LEVEL = 0.95
MIN_INCREMENTS = 3  # to fit cv as well as the rate
SETBACKS = ("error", "merge")
_K_RANGE = (1e-8, 1e8)  # shape per day, 1/cv²: cv from 1e-4 to 1e4


@dataclass(frozen=True, kw_only=True)
class Increments:
    """Advances between successive observations (or merged runs of them), in metres."""

    sector: str
    kind: str
    file: str
    start_dates: tuple[dt.date, ...]
    end_dates: tuple[dt.date, ...]
    gap_days: np.ndarray
    advance_m: np.ndarray
    merged: tuple[str, ...] = ()  # the setbacks pooled with a neighbouring gap, described
    front_km: float | None = None


def infer_kind(series: ObservedSeries, front_km: float | None = None) -> str:
    """The sector kind a series' frame implies: area for ``held_km2``, axis for
    ``remaining_km``; for ``advanced_km`` (the default frame) area only with a front."""
    if series.frame == "held_km2":
        return "area"
    if series.frame == "remaining_km":
        return "axis"
    return "area" if front_km is not None else "axis"


def _check_frame(series: ObservedSeries, kind: str) -> None:
    if series.frame != "advanced_km" and infer_kind(series) != kind:
        raise ObservedError(
            f"the series is in frame {series.frame}, which is an "
            f"{infer_kind(series)} sector, not {kind} (drop kind, or fix the frame column)",
            file=series.file, key=series.sector, param="kind",
        )


def increments(
    series: ObservedSeries,
    *,
    kind: str = "axis",
    front_km: float | None = None,
    setbacks: str = "error",
) -> Increments:
    """The series' increments as metres of advance over whole-day gaps.

    A gap with no change (the map did not move) is a zero increment: the zero-inflated model
    describes it. A gap in which the attacker lost ground (a counter-attack pushed the line
    back) has no density under either model. With ``setbacks="error"`` it raises an
    ObservedError at its line; with ``"merge"`` it is pooled with the following gaps (the last
    ones with the preceding gaps) until the pooled advance is not negative. Pooling keeps the
    total advance and time, so the rate's estimate is unchanged; it hides some variability, so
    cv is then somewhat underestimated.
    """
    if kind not in SECTOR_TYPES:
        raise ValueError(f"kind must be axis or area (got {kind!r})")
    if setbacks not in SETBACKS:
        raise ValueError(f"setbacks must be one of {SETBACKS} (got {setbacks!r})")
    geometry = SECTOR_TYPES[kind]  # what a value counts, and which way the attacker moves it
    if geometry.has_front and not (front_km and front_km > 0):
        raise ObservedError(
            "an area sector needs front_km (the front length converts km² taken into metres "
            "of advance)", file=series.file, key=series.sector, param="front_km",
        )
    if not geometry.has_front and front_km is not None:
        raise ObservedError("front_km applies to area sectors (use kind='area')",
                            file=series.file, key=series.sector, param=("front_km", "kind"))
    _check_frame(series, kind)
    if series.frame == "remaining_km":
        n = len(series)
        if n >= 2 and series.values[-1] > series.values[0]:
            raise ObservedError(
                f"the distance remaining grows from {series.values[0]:g} to "
                f"{series.values[-1]:g} km: the attacker lost ground over the window (the "
                "gamma model only advances)", file=series.file, key=series.sector,
            )
    shown = series  # messages quote the values as the file gives them
    series = series.advanced()  # remaining_km: km advanced since the first observation
    days = series.days_from(series.dates[0]) if len(series) else np.zeros(0)
    # metres advanced from the first observation's position (held area falls as it grows)
    position_m = geometry.direction * series.values * 1e3 / (front_km or 1.0)
    n = len(series)
    if n >= 2 and position_m[-1] < position_m[0]:
        if geometry is AxisSector:
            raise ObservedError(
                f"the values fall from {series.values[0]:g} to {series.values[-1]:g}: if they "
                "are km² held, use kind='area' with front_km (km advanced along an axis grow)",
                file=series.file, key=series.sector, param=("kind", "front_km"),
            )
        raise ObservedError(
            f"the held area grows from {series.values[0]:g} to {series.values[-1]:g} km²: if "
            "the values are km advanced, use kind='axis' (held area shrinks as the attacker "
            "advances)", file=series.file, key=series.sector, param="kind",
        )
    groups: list[tuple[int, int]] = []
    merged: list[str] = []
    first = 0
    for j in range(1, n):
        if position_m[j] >= position_m[first]:  # no change is a zero increment, not a setback
            groups.append((first, j))
            first = j
            continue
        if setbacks == "error":
            raise ObservedError(
                _setback(shown, kind, j - 1, j) + " (the gamma model only advances; "
                "setbacks='merge' pools such gaps with the next)",
                file=series.file, line=series.lines[j], key="value", param="setbacks",
            )
        merged.append(_setback(shown, kind, j - 1, j))
    while first < n - 1:  # trailing gaps without net advance: pool them with earlier ones
        if not groups:
            raise ObservedError(
                f"no net advance from {series.dates[0]} to {series.dates[-1]} (the gamma model "
                "needs the attacker to advance)", file=series.file, key=series.sector,
            )
        a, _ = groups.pop()
        if position_m[n - 1] > position_m[a]:
            groups.append((a, n - 1))
            first = n - 1
        else:
            first = a
    lo = np.array([g[0] for g in groups], dtype=np.intp)
    hi = np.array([g[1] for g in groups], dtype=np.intp)
    if not groups or not np.any(position_m[hi] > position_m[lo]):
        raise ObservedError(
            f"no net advance from {series.dates[0]} to {series.dates[-1]} (the model needs the "
            "attacker to advance)", file=series.file, key=series.sector,
        )
    return Increments(
        sector=series.sector, kind=kind, file=series.file,
        start_dates=tuple(series.dates[i] for i in lo),
        end_dates=tuple(series.dates[i] for i in hi),
        gap_days=days[hi] - days[lo], advance_m=position_m[hi] - position_m[lo],
        merged=tuple(merged), front_km=front_km,
    )


def _setback(series: ObservedSeries, kind: str, i: int, j: int) -> str:
    a, b = series.values[i], series.values[j]
    when = f"from {series.dates[i]} to {series.dates[j]}"
    if a == b and series.frame == "remaining_km":
        return f"no advance {when} ({a:g} km remaining on both dates)"
    if a == b:
        return f"no advance {when} (value {a:g} on both dates)"
    if series.frame == "remaining_km":
        return f"the attacker lost ground {when}: {a:g} km remaining, then {b:g} km"
    if SECTOR_TYPES[kind].has_front:
        return f"the held area grew {when}: {a:g} km², then {b:g} km²"
    return f"the attacker lost ground {when}: {a:g} km, then {b:g} km"


# -- the likelihood ------------------------------------------------------------------------------


def loglik(rate: float, k: float, gap_days: np.ndarray, advance_m: np.ndarray) -> float:
    """Log-likelihood of increments under gamma increments with mean ``rate`` m/day and
    ``k = 1/cv²``: each ``advance_m`` ~ Gamma(shape = gap·k, scale = rate/k)."""
    from scipy.special import gammaln

    shape = gap_days * k
    return float(np.sum((shape - 1) * np.log(advance_m) - advance_m * k / rate
                        - gammaln(shape) - shape * math.log(rate / k)))


class _GammaStats:
    """What the gamma likelihood needs of the increments, summed once: with shape gap·k,
    ℓ = k·Σgap·log d − Σlog d − (k/rate)·Σd − Σ_g n_g·lnΓ(g·k) − k·Σgap·log(rate/k), so each
    evaluation costs one term per distinct gap, not one per increment (a million daily rows
    are one term)."""

    def __init__(self, gap: np.ndarray, d: np.ndarray) -> None:
        log_d = np.log(d)
        self.gap_log_d, self.log_d = float(gap @ log_d), float(log_d.sum())
        self.d, self.gap = float(d.sum()), float(gap.sum())
        self.gaps, counts = np.unique(gap, return_counts=True)
        self.counts = counts.astype(float)

    def loglik(self, rate: float, k: float) -> float:
        from scipy.special import gammaln

        return (k * self.gap_log_d - self.log_d - k * self.d / rate
                - float(self.counts @ gammaln(self.gaps * k)) - k * self.gap * math.log(rate / k))

    def score_k(self, log_k: float, rate: float) -> float:
        """d loglik / dk (times k, which keeps its sign): decreasing in k, as loglik is
        concave."""
        from scipy.special import digamma

        k = math.exp(log_k)
        return k * (self.gap_log_d + self.gap * (log_k + 1 - math.log(rate))
                    - float(self.counts @ (self.gaps * digamma(self.gaps * k))) - self.d / rate)


def _k_hat(rate: float, st: _GammaStats) -> float | None:
    """The k maximising the likelihood at ``rate``; None when it runs to infinity (cv → 0)."""
    from scipy.optimize import brentq

    lo, hi = (math.log(x) for x in _K_RANGE)
    if st.score_k(hi, rate) >= 0:
        return None
    return math.exp(brentq(st.score_k, lo, hi, args=(rate,), xtol=1e-12, rtol=1e-12))


def _crossing(f, x0: float, step: float, limit: int = 200) -> float:
    """The x on the ray x0·step^j where the decreasing-away-from-x0 f crosses zero."""
    from scipy.optimize import brentq

    a = x0
    for _ in range(limit):
        b = a * step
        if f(b) < 0:
            lo, hi = sorted((a, b))
            return brentq(f, lo, hi, xtol=1e-12 * x0, rtol=1e-10)
        a = b
    return math.inf if step > 1 else 0.0


@dataclass(frozen=True, kw_only=True)
class GammaFit:
    """Maximum-likelihood fit of gamma increments, with intervals and a goodness-of-fit check."""

    rate_m_per_day: float
    rate_ci: tuple[float, float]
    cv: float
    cv_ci: tuple[float, float] | None  # None when cv was fixed
    loglik: float
    n: int
    interval_method: str
    pit: np.ndarray  # each increment's CDF under the fit: uniform if the model holds
    ks_statistic: float | None
    ks_pvalue: float | None
    lag1: float | None  # lag-1 autocorrelation of the PIT's normal scores
    lag1_pvalue: float | None

    @property
    def cv_fixed(self) -> bool:
        return self.cv_ci is None


def fit_gamma_increments(
    gap_days, advance_m, *, cv: float | None = None, level: float = LEVEL,
    file: str = "<observed>", sector: str = "",
) -> GammaFit:
    """Fit the rate (m/day) and cv of gamma increments to advances over gaps of days.

    With ``cv`` given it is held fixed and the rate's interval is exact: the total advance is
    Gamma(ΣΔ/cv², rate·cv²). Otherwise both are fitted by maximum likelihood and each interval
    is {θ : 2·(ℓ_max − ℓ_profile(θ)) ≤ χ²₁(level)}; the rate's estimate is Σadvance / Σgap,
    whatever cv, so the profile of cv is the likelihood at that rate.
    """
    from scipy import stats

    gap = np.asarray(gap_days, dtype=float)
    d = np.asarray(advance_m, dtype=float)
    if gap.shape != d.shape or gap.ndim != 1:
        raise ValueError("gap_days and advance_m must be 1-d arrays of the same length")
    if not (np.all(gap > 0) and np.all(d > 0)):
        raise ValueError("gaps and advances must be positive")
    n = d.size
    if cv is None and n < MIN_INCREMENTS:
        raise ObservedError(
            f"{n} increment{'s' * (n != 1)} between observations; fitting the daily variability "
            f"needs at least {MIN_INCREMENTS} (or fix it with cv)", file=file, key=sector,
            param="cv",
        )
    if cv is not None and not (cv > 0 and math.isfinite(cv)):
        raise ValueError(f"cv must be positive (got {cv})")
    rate = float(d.sum() / gap.sum())
    cut = stats.chi2.ppf(level, 1) / 2
    if cv is None:
        st = _GammaStats(gap, d)
        k = _k_hat(rate, st)
        if k is None:
            raise ObservedError(
                "the increments are proportional to their gaps (a straight line), so the daily "
                "variability cannot be fitted; fix it with cv", file=file, key=sector, param="cv",
            )
        lmax = st.loglik(rate, k)

        def rate_gap(r: float) -> float:
            kr = _k_hat(r, st)
            return (st.loglik(r, kr) if kr else -math.inf) - (lmax - cut)

        def k_gap(x: float) -> float:
            return st.loglik(rate, x) - (lmax - cut)

        rate_ci = (_crossing(rate_gap, rate, 0.5), _crossing(rate_gap, rate, 2.0))
        k_lo, k_hi = _crossing(k_gap, k, 0.5), _crossing(k_gap, k, 2.0)
        cv_hat = 1 / math.sqrt(k)
        cv_ci: tuple[float, float] | None = (1 / math.sqrt(k_hi), 1 / math.sqrt(k_lo))
        method = "profile likelihood"
    else:
        k = 1 / cv**2
        cv_hat, cv_ci = float(cv), None
        lmax = loglik(rate, k, gap, d)
        total = stats.gamma(gap.sum() * k)
        alpha = (1 - level) / 2
        rate_ci = (d.sum() * k / total.ppf(1 - alpha), d.sum() * k / total.ppf(alpha))
        method = "exact, given the fixed cv"
    pit = stats.gamma.cdf(d, gap * k, scale=rate / k)
    ks, ks_p, lag1, lag1_p = _fit_check(np.asarray(pit, dtype=float))
    return GammaFit(
        rate_m_per_day=rate, rate_ci=(float(rate_ci[0]), float(rate_ci[1])),
        cv=float(cv_hat), cv_ci=cv_ci, loglik=lmax, n=n, interval_method=method,
        pit=np.asarray(pit, dtype=float), ks_statistic=ks, ks_pvalue=ks_p,
        lag1=lag1, lag1_pvalue=lag1_p,
    )


# -- zero-inflated increments --------------------------------------------------------------------


class _Terms:
    """The flat (increment, moving days k = 1 … Δ) pairs of the positive increments, with what
    the likelihood needs of them that does not depend on the parameters."""

    def __init__(self, gap: np.ndarray, d: np.ndarray) -> None:
        from scipy.special import gammaln

        pos = np.flatnonzero(d > 0)
        g = gap[pos].astype(np.int64)
        self.zero_days = float(np.sum(gap[d == 0]))
        self.any_zero = bool(np.any(d == 0))
        self.n_pos = pos.size
        self.starts = np.r_[0, np.cumsum(g)[:-1]].astype(np.intp)
        idx = np.repeat(pos, g)
        self.k = (np.arange(int(g.sum())) - np.repeat(self.starts, g) + 1).astype(np.intp)
        n = gap[idx]
        kf = self.k.astype(float)
        self.kf, self.n_minus_k = kf, n - kf
        self.log_choose = gammaln(n + 1) - gammaln(kf + 1) - gammaln(n - kf + 1)
        self.x = d[idx]
        self.log_x = np.log(self.x)
        self.repeat = g
        self.k_values = np.arange(1, int(g.max()) + 1 if g.size else 1, dtype=float)


def zi_loglik(rate: float, p: float, k_shape: float, gap_days: np.ndarray,
              advance_m: np.ndarray, _terms: _Terms | None = None) -> float:
    """Log-likelihood of increments under zero-inflated daily advances: each day the attacker
    moves with probability ``p``, by a gamma amount of mean ``rate / p`` and shape ``k_shape``
    (1 / moving cv²). Over a gap of Δ days with k moving days the advance is Gamma(k·k_shape,
    scale rate / (p·k_shape)), so

        P(no advance) = (1 − p)^Δ;  density(d > 0) = Σ_k Binomial(k; Δ, p) · Gamma(d; …)

    exactly, for gaps of any length."""
    from scipy.special import gammaln

    t = _terms or _Terms(np.asarray(gap_days, dtype=float), np.asarray(advance_m, dtype=float))
    if p >= 1:
        if t.any_zero:
            return -math.inf
        log_q = np.where(t.n_minus_k == 0, 0.0, -np.inf)
        log_p = 0.0
    else:
        log_q = t.n_minus_k * math.log1p(-p)
        log_p = math.log(p)
    out = t.zero_days * math.log1p(-p) if t.any_zero else 0.0
    if not t.n_pos:
        return out
    scale = rate / (p * k_shape)
    shape = t.kf * k_shape
    lg_shape = gammaln(t.k_values * k_shape)[t.k - 1]
    v = (t.log_choose + t.kf * log_p + log_q + (shape - 1) * t.log_x - t.x / scale
         - lg_shape - shape * math.log(scale))
    top = np.maximum.reduceat(v, t.starts)
    return out + float(np.sum(top + np.log(np.add.reduceat(np.exp(v - np.repeat(top, t.repeat)),
                                                           t.starts))))


def zi_cdf(rate: float, p: float, k_shape: float, gap: float, x: float) -> float:
    """P(advance over a gap of ``gap`` days ≤ x) under the zero-inflated model."""
    from scipy import stats

    n = int(gap)
    k = np.arange(1, n + 1)
    w = stats.binom.pmf(k, n, p)
    below = stats.gamma.cdf(x, k * k_shape, scale=rate / (p * k_shape)) if x > 0 else 0.0
    return float((1 - p) ** n + np.sum(w * below))


def _zi_pit(rate: float, p: float, k_shape: float, gap: np.ndarray, d: np.ndarray,
            u: np.ndarray, t: _Terms) -> np.ndarray:
    """Every increment's :func:`zi_cdf` at once, over the flat (increment, moving days) pairs
    (a zero increment's is randomised by ``u`` within its atom): one pass whatever the rows."""
    from scipy.special import gammainc

    pit = u * (1 - p) ** gap
    if not t.n_pos:
        return pit
    log_w = t.log_choose + t.kf * math.log(p) + t.n_minus_k * math.log1p(-p)
    below = gammainc(t.kf * k_shape, t.x * (p * k_shape) / rate)
    pos = d > 0
    pit[pos] = (1 - p) ** gap[pos] + np.add.reduceat(np.exp(log_w) * below, t.starts)
    return np.minimum(pit, 1.0)


@dataclass(frozen=True, kw_only=True)
class ZeroInflatedFit:
    """Maximum-likelihood fit of zero-inflated daily advances (a day moves with probability
    ``p_move``, by a gamma amount of coefficient of variation ``cv`` when it does), with
    profile-likelihood intervals and the same goodness-of-fit check as :class:`GammaFit`."""

    rate_m_per_day: float  # the mean over all days, moving or not
    rate_ci: tuple[float, float]
    p_move: float
    p_move_ci: tuple[float, float]
    cv: float  # of a moving day's advance
    cv_ci: tuple[float, float] | None  # None when cv was fixed
    loglik: float
    n: int
    n_zero: int
    interval_method: str
    pit: np.ndarray  # randomised where the increment is zero (an atom)
    ks_statistic: float | None
    ks_pvalue: float | None
    lag1: float | None
    lag1_pvalue: float | None

    @property
    def cv_fixed(self) -> bool:
        return self.cv_ci is None

    @property
    def noise_sd(self) -> float:
        """The sd of the daily noise (mean 1) over all days: √((1 + cv²)/p − 1)."""
        return math.sqrt(max((1 + self.cv**2) / self.p_move - 1, 0.0))


def fit_zero_inflated(
    gap_days, advance_m, *, cv: float | None = None, level: float = LEVEL,
    file: str = "<observed>", sector: str = "", rng: np.random.Generator | None = None,
) -> ZeroInflatedFit:
    """Fit the zero-inflated model to advances (some zero) over whole-day gaps.

    The rate's estimate is Σ advance / Σ gap, as under gamma increments: at the maximum of the
    likelihood the expected number of moving days is p·ΣΔ and the gamma amounts' scale equation
    then gives Σd = rate·ΣΔ (the EM fixed point). p and the moving days' cv are found by
    maximising the likelihood at that rate. The 95% intervals are Wald intervals on the log
    scale of the rate and cv and the logit scale of p_move, from the observed information (a
    numerical Hessian at the maximum; their coverage is checked in the tests). With ``cv``
    given it is held fixed.
    """
    from scipy import optimize, stats

    gap = np.asarray(gap_days, dtype=float)
    d = np.asarray(advance_m, dtype=float)
    if gap.shape != d.shape or gap.ndim != 1:
        raise ValueError("gap_days and advance_m must be 1-d arrays of the same length")
    if not (np.all(gap >= 1) and np.all(gap == np.round(gap)) and np.all(d >= 0)
            and np.any(d > 0)):
        raise ValueError("gaps must be whole days and advances >= 0, some > 0")
    n, n_zero = d.size, int(np.sum(d == 0))
    if cv is None and n < MIN_INCREMENTS:
        raise ObservedError(
            f"{n} increment{'s' * (n != 1)} between observations; fitting the daily variability "
            f"needs at least {MIN_INCREMENTS} (or fix it with cv)", file=file, key=sector,
            param="cv",
        )
    cache = _Terms(gap, d)
    lo_k, hi_k = (math.log(x) for x in _K_RANGE)

    def unpack(x: np.ndarray) -> tuple[float, float, float]:
        log_r, logit_p, log_k = x
        p = 1 / (1 + math.exp(-logit_p)) if logit_p > -700 else 0.0
        k = 1 / cv**2 if cv is not None else math.exp(min(max(log_k, lo_k), hi_k))
        return math.exp(log_r), min(p, 1 - 1e-15), k

    def nll(x: np.ndarray) -> float:
        r, p, k = unpack(x)
        if not 0 < p < 1:
            return math.inf
        v = zi_loglik(r, p, k, gap, d, cache)
        return -v if math.isfinite(v) else math.inf

    def best(fixed: int | None, value: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        free = [i for i in range(3) if i != fixed and not (i == 2 and cv is not None)]

        def f(z: np.ndarray) -> float:
            x = start.copy()
            x[free] = z
            if fixed is not None:
                x[fixed] = value
            return nll(x)

        z0 = start[free]
        simplex = np.vstack([z0, z0 + 0.05 * np.eye(z0.size)])  # small: starts are close
        res = optimize.minimize(f, z0, method="Nelder-Mead",
                                options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000,
                                         "initial_simplex": simplex})
        x = start.copy()
        x[free] = res.x
        if fixed is not None:
            x[fixed] = value
        return float(res.fun), x

    rate = float(d.sum() / gap.sum())
    share = max(min(1 - n_zero / n, 0.99), 0.01)
    starts = [np.array([math.log(rate), math.log(q / (1 - q)), math.log(kk)])
              for q, kk in ((share, 1.0), (share, 0.2), (0.5, 4.0))]
    fits = [best(0, math.log(rate), x0) for x0 in starts]  # the rate is the MLE, see above
    nll_max, x_hat = min(fits, key=lambda t: t[0])
    nll_max, x_hat = best(None, 0.0, x_hat)  # all three free: the same optimum, polished
    r_hat, p_hat, k_hat = unpack(x_hat)

    # Wald intervals on the log (rate, cv) and logit (p_move) scales, from the observed
    # information: a numerical Hessian of the log-likelihood at the maximum.
    free = [0, 1] if cv is not None else [0, 1, 2]
    h = 1e-3
    m = len(free)
    hess = np.empty((m, m))
    for a_, i in enumerate(free):
        for b_, j in enumerate(free):
            if b_ < a_:
                hess[a_, b_] = hess[b_, a_]
                continue
            def at(di: float, dj: float, i: int = i, j: int = j) -> float:
                x = x_hat.copy()
                x[i] += di
                x[j] += dj
                return nll(x)
            hess[a_, b_] = (at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4 * h * h)
    try:
        cov = np.linalg.inv(hess)
        se = np.sqrt(np.maximum(np.diag(cov), 0.0))
    except np.linalg.LinAlgError:
        se = np.full(m, math.inf)
    z = stats.norm.ppf(0.5 + level / 2)

    def interval(i: int) -> tuple[float, float]:
        e = se[free.index(i)]
        return x_hat[i] - z * e, x_hat[i] + z * e

    lr, lp = interval(0), interval(1)
    rate_ci = (math.exp(lr[0]), math.exp(lr[1]))
    p_ci = (1 / (1 + math.exp(-lp[0])), 1 / (1 + math.exp(-lp[1])))
    if cv is None:
        lk = interval(2)
        cv_hat = 1 / math.sqrt(k_hat)
        cv_ci: tuple[float, float] | None = (
            1 / math.sqrt(math.exp(min(lk[1], hi_k))), 1 / math.sqrt(math.exp(max(lk[0], lo_k))))
    else:
        cv_hat, cv_ci = float(cv), None
    rng = rng if rng is not None else np.random.default_rng(0)
    u = rng.uniform(size=n)
    pit = _zi_pit(r_hat, p_hat, k_hat, gap, d, u, cache)
    ks, ks_p, lag1, lag1_p = _fit_check(pit)
    return ZeroInflatedFit(
        rate_m_per_day=r_hat, rate_ci=(float(rate_ci[0]), float(rate_ci[1])), p_move=p_hat,
        p_move_ci=(float(p_ci[0]), float(p_ci[1])), cv=float(cv_hat), cv_ci=cv_ci,
        loglik=-nll_max, n=n, n_zero=n_zero, interval_method="Wald, log scale",
        pit=pit, ks_statistic=ks, ks_pvalue=ks_p, lag1=lag1, lag1_pvalue=lag1_p,
    )


def _fit_check(pit: np.ndarray) -> tuple[float | None, float | None, float | None,
                                         float | None]:
    """KS of the PITs against the uniform, and the lag-1 autocorrelation of their normal
    scores with its p-value (both None with too few increments)."""
    from scipy import stats

    n = pit.size
    ks = ks_p = lag1 = lag1_p = None
    if n >= MIN_INCREMENTS:
        res = stats.kstest(pit, "uniform")
        ks, ks_p = float(res.statistic), float(res.pvalue)
    if n >= 5:
        z = stats.norm.ppf(np.clip(pit, 1e-12, 1 - 1e-12))
        z = z - z.mean()
        denom = float(np.sum(z * z))
        lag1 = float(np.sum(z[1:] * z[:-1]) / denom) if denom > 0 else 0.0
        lag1_p = float(2 * stats.norm.sf(abs(lag1) * math.sqrt(n)))
    return ks, ks_p, lag1, lag1_p


# -- a calibration -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """A fitted sector: its series, increments and fit; the typed advance block it implies,
    with its provenance; as JSON or as a scenario fragment."""

    series: ObservedSeries
    increments: Increments
    fit: GammaFit | ZeroInflatedFit

    @property
    def kind(self) -> str:
        return self.increments.kind

    @property
    def zero_inflated(self) -> bool:
        """Whether the fit is of the zero-inflated model (the series has gaps with no change)."""
        return isinstance(self.fit, ZeroInflatedFit)

    @property
    def rejected(self) -> bool:
        """Whether the goodness-of-fit check rejects the model at the 5% level (KS or lag-1)."""
        ps = [p for p in (self.fit.ks_pvalue, self.fit.lag1_pvalue) if p is not None]
        return bool(ps) and min(ps) < 0.05

    @property
    def model_text(self) -> str:
        if self.zero_inflated:
            return ("zero-inflated daily advances: each day the attacker moves with probability "
                    "p_move, by a gamma amount (mean rate/p_move, cv) when it does; over a gap "
                    "of D days, P(no advance) = (1 - p_move)^D, else a Binomial(D, p_move) "
                    "mixture of Gamma(shape = k/cv^2) over the k moving days")
        return ("gamma increments: over a gap of D days the advance is "
                "Gamma(shape = D/cv^2, scale = rate*cv^2)")

    def gaps_line(self) -> str:
        """One line on the gaps: how many moved, how many did not, how many were pooled."""
        inc = self.increments
        n = inc.advance_m.size
        zero = int(np.sum(inc.advance_m == 0))
        parts = [f"{n - zero} with an advance"]
        if zero:
            parts.append(f"{zero} with none ({int(inc.gap_days[inc.advance_m == 0].sum())} days "
                         "of no change: part of the model)")
        if inc.merged:
            first = inc.merged[0]
            parts.append(f"{len(inc.merged)} setback{'s' * (len(inc.merged) != 1)} pooled with a "
                         f"neighbouring gap (first: {first})")
        return f"Gaps: {n}: " + "; ".join(parts)

    @property
    def base_sd_m_per_day(self) -> float:
        """The rate's estimation uncertainty as a standard deviation: the 95% interval's width
        over 2 × 1.96."""
        lo, hi = self.fit.rate_ci
        return (hi - lo) / (2 * 1.959963984540054)

    def km2_per_day(self, m_per_day: float) -> float:
        return m_per_day * (self.increments.front_km or 0.0) / 1000.0

    def to_dict(self) -> dict:
        """The JSON of ``advsim calibrate --json``."""
        from ..model.writer import to_data

        f, inc, s = self.fit, self.increments, self.series
        out: dict = {
            "sector": s.sector,
            "kind": self.kind,
            "frame": s.frame,
            "observed": s.file,
            "model": self.model_text,
            "n_obs": len(s),
            "n_increments": f.n,
            "zero_increments": int(np.sum(inc.advance_m == 0)),
            "setbacks_merged": len(inc.merged),
            "first_date": s.dates[0].isoformat(),
            "last_date": s.dates[-1].isoformat(),
            "span_days": int(inc.gap_days.sum()),
            "rate_m_per_day": {"estimate": _sig(f.rate_m_per_day), "ci95": _sigs(f.rate_ci)},
        }
        if inc.front_km is not None:  # km² taken, converted at a front
            out["front_km"] = inc.front_km
            out["rate_km2_per_day"] = {
                "estimate": _sig(self.km2_per_day(f.rate_m_per_day)),
                "ci95": _sigs([self.km2_per_day(x) for x in f.rate_ci]),
            }
        out["cv"] = {"estimate": _sig(f.cv),
                     "ci95": _sigs(f.cv_ci) if f.cv_ci else None, "fixed": f.cv_fixed}
        if isinstance(f, ZeroInflatedFit):  # cv is then of a moving day's advance
            out["p_move"] = {"estimate": _sig(f.p_move), "ci95": _sigs(f.p_move_ci)}
        out["interval_method"] = f.interval_method
        out["loglik"] = _sig(f.loglik, 10)
        out["goodness_of_fit"] = {
            "pit": [round(float(u), 4) for u in f.pit],
            "ks_statistic": _sig(f.ks_statistic, 4),
            "ks_pvalue": _sig(f.ks_pvalue, 4),
            "lag1_autocorrelation": _sig(f.lag1, 4),
            "lag1_pvalue": _sig(f.lag1_pvalue, 4),
            "rejected": self.rejected,
        }
        out["advance"] = to_data(self.advance)["advance"]
        out["advance_yaml"] = self.advance_yaml()
        out["provenance"] = self.provenance.to_dict()
        return out

    @property
    def advance(self) -> Advance:
        """The fitted ``advance`` block, as the engine runs it: the rate drawn once per
        replication from its estimation uncertainty (gamma), and iid daily noise with the
        fitted cv (zero-inflated where some gaps show no change). Rounded as printed."""
        from ..model import distributions as D

        def sig(x: float, digits: int) -> float:
            return float(f"{x:.{digits}g}")

        base = D.Gamma(mean=sig(self.fit.rate_m_per_day, 4), sd=sig(self.base_sd_m_per_day, 3))
        f = self.fit
        if isinstance(f, ZeroInflatedFit):
            p = float(f"{f.p_move:.3g}")
            sd = math.sqrt(max((1 + f.cv**2) / p - 1, 0.0))
            sd = math.ceil(sd * 10 ** (2 - math.floor(math.log10(sd)))) / \
                10 ** (2 - math.floor(math.log10(sd))) if sd > 0 else 0.0  # up: sd >= its least
            noise: D.Distribution = D.ZeroInflatedGamma(p_move=p, mean=1.0, sd=sd)
        else:
            noise = D.Gamma(mean=1.0, sd=sig(f.cv, 3))
        return Advance(base_m_per_day=base, noise=noise)

    @cached_property
    def provenance(self) -> Provenance:
        """The series' file and checksum, its dates, the method, and the goodness-of-fit
        checks (KS and lag-1 at the 5% level) passed or failed."""
        f, s = self.fit, self.series
        checks = []
        if f.ks_pvalue is not None:
            checks.append(Check(name="KS of the PITs against uniform", passed=f.ks_pvalue >= 0.05,
                                detail=f"D = {f.ks_statistic:.3f}, p = {f.ks_pvalue:.3g}"))
        if f.lag1_pvalue is not None:
            checks.append(Check(name="lag-1 autocorrelation of the PITs' normal scores",
                                passed=f.lag1_pvalue >= 0.05,
                                detail=f"{f.lag1:+.2f}, p = {f.lag1_pvalue:.3g}"))
        method = (("zero-inflated " if self.zero_inflated else "") + "gamma increments, maximum "
                  f"likelihood ({f.interval_method} intervals)")
        return Provenance(tool="advsim calibrate", method=method, inputs=(Source.of(s.file),),
                          since=s.dates[0], until=s.dates[-1], checks=tuple(checks))

    def advance_yaml(self) -> str:
        """The advance block as YAML to paste into the sector, with comments on its origin."""
        from ..model.writer import dump

        f, s = self.fit, self.series
        lo, hi = f.rate_ci
        cv_note = ("fixed by --cv" if f.cv_ci is None
                   else f"95% interval {f.cv_ci[0]:.3g}–{f.cv_ci[1]:.3g}")
        lines = [
            f"advsim calibrate: {s.sector} ({self.kind}), {len(s)} observations "
            f"{s.dates[0]} to {s.dates[-1]} in {s.file}",
            f"rate {f.rate_m_per_day:.4g} m/day, 95% interval {lo:.4g}–{hi:.4g} "
            f"({f.interval_method}); " + (
                f"moves on a share {f.p_move:.3g} of days (95% interval "
                f"{f.p_move_ci[0]:.3g}–{f.p_move_ci[1]:.3g}), cv {f.cv:.3g} on those days "
                f"({cv_note})" if isinstance(f, ZeroInflatedFit)
                else f"daily cv {f.cv:.3g} ({cv_note})"),
        ]
        if self.rejected:
            lines.append("REJECTED by the fit check (KS or lag-1 p < 0.05): not a model of "
                         "this series; see the report")
        if self.increments.front_km is not None:
            lines.append(f"km² taken converted at a fixed front of {self.increments.front_km:g} "
                         f"km: front: {{length_km: {self.increments.front_km:g}, "
                         "scales_with_area: false}")
        return dump(self.advance, comments=lines, above={
            ("advance", "base_m_per_day"): "the campaign rate's estimation uncertainty, drawn "
                                           "once per replication",
            ("advance", "noise"): "independent day-to-day variation, mean 1",
        }).rstrip("\n")


def calibrate(
    series: ObservedSeries,
    *,
    kind: str | None = None,
    front_km: float | None = None,
    cv: float | None = None,
    setbacks: str = "error",
) -> Calibration:
    """Fit gamma increments to one sector's observed series (see the module's docstring), or,
    where some gaps show no change, the zero-inflated model (:func:`fit_zero_inflated`).
    ``kind`` defaults to the one the series' frame implies (:func:`infer_kind`)."""
    if kind is None:
        kind = infer_kind(series, front_km)
    if len(series) < 2:
        raise ObservedError(
            f"{len(series)} observation{'s' * (len(series) != 1)}; a fit needs at least two "
            "dates", file=series.file, key=series.sector,
        )
    inc = increments(series, kind=kind, front_km=front_km, setbacks=setbacks)
    fit: GammaFit | ZeroInflatedFit
    if np.any(inc.advance_m == 0):
        from ..seeds import calibrate_rng

        fit = fit_zero_inflated(inc.gap_days, inc.advance_m, cv=cv, file=series.file,
                                sector=series.sector, rng=calibrate_rng(series.sector))
    else:
        fit = fit_gamma_increments(inc.gap_days, inc.advance_m, cv=cv, file=series.file,
                                   sector=series.sector)
    return Calibration(series=series, increments=inc, fit=fit)


def _sig(x: float | None, digits: int = 6) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def _sigs(xs, digits: int = 6) -> list[float | None]:
    return [_sig(float(x), digits) for x in xs]
