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

An area sector's held km² become metres of advance through a fixed front:
advance (m) = km² taken / front (km) × 1000. A series in the ``remaining_km`` frame (distance
still to go, as ``advsim trace`` writes it) advances by the decrease of that distance; one in
the ``held_km2`` frame is an area sector.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from .errors import ObservedError
from .observed import ObservedSeries
from .scenario import SECTOR_TYPES, AxisSector

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

    A gap in which the attacker made no net advance (a counter-attack pushed the line back, or
    the map did not change) has no density under the gamma model. With ``setbacks="error"`` it
    raises an ObservedError at its line; with ``"merge"`` it is pooled with the following gaps
    (the last ones with the preceding gaps) until the pooled advance is positive. Pooling keeps
    the total advance and time, so the rate's estimate is unchanged; it hides some variability,
    so cv is then somewhat underestimated.
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
        if position_m[j] > position_m[first]:
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


def _score_k(log_k: float, rate: float, gap: np.ndarray, d: np.ndarray) -> float:
    """d loglik / dk (times k, which keeps its sign): decreasing in k, as loglik is concave."""
    from scipy.special import digamma

    k = math.exp(log_k)
    return float(np.sum(gap * (np.log(d) - math.log(rate) + log_k + 1 - digamma(gap * k))
                        - d / rate) * k)


def _k_hat(rate: float, gap: np.ndarray, d: np.ndarray) -> float | None:
    """The k maximising the likelihood at ``rate``; None when it runs to infinity (cv → 0)."""
    from scipy.optimize import brentq

    lo, hi = (math.log(x) for x in _K_RANGE)
    if _score_k(hi, rate, gap, d) >= 0:
        return None
    return math.exp(brentq(_score_k, lo, hi, args=(rate, gap, d), xtol=1e-12, rtol=1e-12))


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
        k = _k_hat(rate, gap, d)
        if k is None:
            raise ObservedError(
                "the increments are proportional to their gaps (a straight line), so the daily "
                "variability cannot be fitted; fix it with cv", file=file, key=sector, param="cv",
            )
        lmax = loglik(rate, k, gap, d)

        def rate_gap(r: float) -> float:
            kr = _k_hat(r, gap, d)
            return (loglik(r, kr, gap, d) if kr else -math.inf) - (lmax - cut)

        def k_gap(x: float) -> float:
            return loglik(rate, x, gap, d) - (lmax - cut)

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
    ks = lag1 = lag1_p = None
    ks_p = None
    if n >= MIN_INCREMENTS:
        res = stats.kstest(pit, "uniform")
        ks, ks_p = float(res.statistic), float(res.pvalue)
    if n >= 5:
        z = stats.norm.ppf(np.clip(pit, 1e-12, 1 - 1e-12))
        z = z - z.mean()
        denom = float(np.sum(z * z))
        lag1 = float(np.sum(z[1:] * z[:-1]) / denom) if denom > 0 else 0.0
        lag1_p = float(2 * stats.norm.sf(abs(lag1) * math.sqrt(n)))
    return GammaFit(
        rate_m_per_day=rate, rate_ci=(float(rate_ci[0]), float(rate_ci[1])),
        cv=float(cv_hat), cv_ci=cv_ci, loglik=lmax, n=n, interval_method=method,
        pit=np.asarray(pit, dtype=float), ks_statistic=ks, ks_pvalue=ks_p,
        lag1=lag1, lag1_pvalue=lag1_p,
    )


# -- a calibration -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """A fitted sector: its series, increments and fit, as JSON or as a scenario fragment."""

    series: ObservedSeries
    increments: Increments
    fit: GammaFit

    @property
    def kind(self) -> str:
        return self.increments.kind

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
        f, inc, s = self.fit, self.increments, self.series
        out: dict = {
            "sector": s.sector,
            "kind": self.kind,
            "frame": s.frame,
            "observed": s.file,
            "model": "gamma increments: over a gap of D days the advance is "
                     "Gamma(shape = D/cv^2, scale = rate*cv^2)",
            "n_obs": len(s),
            "n_increments": f.n,
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
        out["interval_method"] = f.interval_method
        out["loglik"] = _sig(f.loglik, 10)
        out["goodness_of_fit"] = {
            "pit": [round(float(u), 4) for u in f.pit],
            "ks_statistic": _sig(f.ks_statistic, 4),
            "ks_pvalue": _sig(f.ks_pvalue, 4),
            "lag1_autocorrelation": _sig(f.lag1, 4),
            "lag1_pvalue": _sig(f.lag1_pvalue, 4),
        }
        out["advance"] = self.advance()
        out["advance_yaml"] = self.advance_yaml()
        return out

    def advance(self) -> dict:
        """The fitted ``advance`` block: the rate drawn once per replication from its estimation
        uncertainty, and iid daily gamma noise with the fitted cv."""
        return {
            "base_m_per_day": {"dist": "gamma", "mean": _sig(self.fit.rate_m_per_day, 4),
                               "sd": _sig(self.base_sd_m_per_day, 3)},
            "noise": {"dist": "gamma", "mean": 1, "sd": _sig(self.fit.cv, 3)},
        }

    def advance_yaml(self) -> str:
        """The advance block as YAML to paste into the sector, with comments on its origin."""
        f, s = self.fit, self.series
        a = self.advance()
        b, z = a["base_m_per_day"], a["noise"]
        lo, hi = f.rate_ci
        cv_note = ("fixed by --cv" if f.cv_ci is None
                   else f"95% interval {f.cv_ci[0]:.3g}–{f.cv_ci[1]:.3g}")
        lines = [
            f"# advsim calibrate: {s.sector} ({self.kind}), {len(s)} observations "
            f"{s.dates[0]} to {s.dates[-1]} in {s.file}",
            f"# rate {f.rate_m_per_day:.4g} m/day, 95% interval {lo:.4g}–{hi:.4g} "
            f"({f.interval_method}); daily cv {f.cv:.3g} ({cv_note})",
        ]
        if self.increments.front_km is not None:
            lines.append(f"# km² taken converted at a fixed front of {self.increments.front_km:g} "
                         f"km: front: {{length_km: {self.increments.front_km:g}, "
                         "scales_with_area: false}")
        lines += [
            "advance:",
            "  # the campaign rate's estimation uncertainty, drawn once per replication",
            f"  base_m_per_day: {{dist: gamma, mean: {b['mean']:g}, sd: {b['sd']:g}}}",
            "  # independent day-to-day variation, mean 1",
            f"  noise: {{dist: gamma, mean: 1, sd: {z['sd']:g}}}",
        ]
        return "\n".join(lines)


def calibrate(
    series: ObservedSeries,
    *,
    kind: str | None = None,
    front_km: float | None = None,
    cv: float | None = None,
    setbacks: str = "error",
) -> Calibration:
    """Fit gamma increments to one sector's observed series (see the module's docstring).
    ``kind`` defaults to the one the series' frame implies (:func:`infer_kind`)."""
    if kind is None:
        kind = infer_kind(series, front_km)
    if len(series) < 2:
        raise ObservedError(
            f"{len(series)} observation{'s' * (len(series) != 1)}; a fit needs at least two "
            "dates", file=series.file, key=series.sector,
        )
    inc = increments(series, kind=kind, front_km=front_km, setbacks=setbacks)
    fit = fit_gamma_increments(inc.gap_days, inc.advance_m, cv=cv, file=series.file,
                               sector=series.sector)
    return Calibration(series=series, increments=inc, fit=fit)


def _sig(x: float | None, digits: int = 6) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def _sigs(xs, digits: int = 6) -> list[float | None]:
    return [_sig(float(x), digits) for x in xs]
