"""Distributions of uncertain inputs: small validated objects with analytic moments."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np


class Distribution:
    """Base class: every distribution has an analytic ``mean`` and ``variance``, the smallest value
    a draw can take (``minimum``), and samples from a ``numpy.random.Generator``."""

    if TYPE_CHECKING:  # analytic moments: properties, or fields of the dataclass (mean)

        @property
        def mean(self) -> float: ...

        @property
        def variance(self) -> float: ...

    @property
    def minimum(self) -> float:
        return -math.inf

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError

    def sample32(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draws in single precision, for the engine's many daily draws (noise): faster, and
        precise to 1e-7, far below any input's uncertainty."""
        return self.sample(rng, size).astype(np.float32)

    # Whether :meth:`residual` is defined (a duration's law beyond a time already elapsed).
    has_residual = False

    def residual(self, draws: np.ndarray, elapsed: float) -> np.ndarray:
        """What is left of a duration of this law that has already lasted ``elapsed``: maps
        unconditional ``draws`` T to draws of T − e given T > e, one for one and monotone (each
        draw's survival S(T) becomes S(e)·S(T), its quantile beyond e), so that it takes the
        same random numbers as the unconditional draws."""
        raise NotImplementedError(f"{type(self).__name__} has no residual law")


@dataclass(frozen=True, kw_only=True)
class Fixed(Distribution):
    value: float

    @property
    def mean(self) -> float:
        return self.value

    @property
    def variance(self) -> float:
        return 0.0

    @property
    def minimum(self) -> float:
        return self.value

    def sample(self, rng, size):
        return np.full(size, float(self.value))

    has_residual = True

    def residual(self, draws, elapsed):
        # Past its fixed length a duration has nothing left: it ends at once.
        return np.maximum(np.asarray(draws, dtype=float) - elapsed, 0.0)


@dataclass(frozen=True, kw_only=True)
class Uniform(Distribution):
    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.low <= self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12

    @property
    def minimum(self) -> float:
        return self.low

    def sample(self, rng, size):
        return rng.uniform(self.low, self.high, size)


def _check_range(low: float, mode: float, high: float) -> None:
    if not (low <= mode <= high and low < high):
        raise ValueError(f"needs low <= mode <= high and low < high (got {low}, {mode}, {high})")


@dataclass(frozen=True, kw_only=True)
class Triangular(Distribution):
    low: float
    mode: float
    high: float

    def __post_init__(self) -> None:
        _check_range(self.low, self.mode, self.high)

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    @property
    def variance(self) -> float:
        a, c, b = self.low, self.mode, self.high
        return (a * a + b * b + c * c - a * b - a * c - b * c) / 18

    @property
    def minimum(self) -> float:
        return self.low

    def sample(self, rng, size):
        return rng.triangular(self.low, self.mode, self.high, size)


@dataclass(frozen=True, kw_only=True)
class Pert(Distribution):
    """Beta-PERT: the usual reading of an expert range such as "200-300 m/day" (shape 4)."""

    low: float
    mode: float
    high: float
    shape: float = 4.0

    def __post_init__(self) -> None:
        _check_range(self.low, self.mode, self.high)
        if not self.shape > 0:
            raise ValueError(f"shape must be positive (got {self.shape})")

    @property
    def _ab(self) -> tuple[float, float]:
        span = self.high - self.low
        a = 1 + self.shape * (self.mode - self.low) / span
        b = 1 + self.shape * (self.high - self.mode) / span
        return a, b

    @property
    def mean(self) -> float:
        return (self.low + self.shape * self.mode + self.high) / (self.shape + 2)

    @property
    def variance(self) -> float:
        a, b = self._ab
        span = self.high - self.low
        return span**2 * a * b / ((a + b) ** 2 * (a + b + 1))

    @property
    def minimum(self) -> float:
        return self.low

    def sample(self, rng, size):
        a, b = self._ab
        return self.low + (self.high - self.low) * rng.beta(a, b, size)


@dataclass(frozen=True, kw_only=True)
class Normal(Distribution):
    mean: float
    sd: float

    def __post_init__(self) -> None:
        if not self.sd >= 0:
            raise ValueError(f"sd must be >= 0 (got {self.sd})")

    @property
    def variance(self) -> float:
        return self.sd**2

    @property
    def minimum(self) -> float:
        return self.mean if self.sd == 0 else -math.inf

    def sample(self, rng, size):
        return rng.normal(self.mean, self.sd, size)

    def sample32(self, rng, size):
        z = rng.standard_normal(size, dtype=np.float32)
        z *= self.sd
        z += self.mean
        return z


@dataclass(frozen=True, kw_only=True)
class LogNormal(Distribution):
    """Log-normal by the log's ``mu`` and ``sigma``; ``from_mean_cv`` builds it from a mean and
    coefficient of variation."""

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        if not self.sigma >= 0:
            raise ValueError(f"sigma must be >= 0 (got {self.sigma})")

    @classmethod
    def from_mean_cv(cls, mean: float, cv: float) -> LogNormal:
        if not mean > 0:
            raise ValueError(f"mean must be > 0 (got {mean})")
        if not cv >= 0:
            raise ValueError(f"cv must be >= 0 (got {cv})")
        sigma2 = math.log1p(cv * cv)
        return cls(mu=math.log(mean) - sigma2 / 2, sigma=math.sqrt(sigma2))

    @property
    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2)

    @property
    def variance(self) -> float:
        s2 = self.sigma**2
        return math.expm1(s2) * math.exp(2 * self.mu + s2)

    @property
    def minimum(self) -> float:
        return math.exp(self.mu) if self.sigma == 0 else 0.0

    def sample(self, rng, size):
        return rng.lognormal(self.mu, self.sigma, size)

    has_residual = True

    def residual(self, draws, elapsed):
        from scipy.special import log_ndtr, ndtri_exp

        draws = np.asarray(draws, dtype=float)
        if elapsed <= 0:
            return draws
        if self.sigma == 0:
            return np.maximum(draws - elapsed, 0.0)
        # In log space, so that a stall far into the tail keeps its quantiles: log S(e) +
        # log S(T), and back through the inverse of the normal's log-CDF.
        z_e = (math.log(elapsed) - self.mu) / self.sigma
        z = (np.log(draws) - self.mu) / self.sigma
        beyond = -ndtri_exp(log_ndtr(-z_e) + log_ndtr(-z))
        return np.maximum(np.exp(self.mu + self.sigma * beyond) - elapsed, 0.0)

    def sample32(self, rng, size):
        z = rng.standard_normal(size, dtype=np.float32)
        z *= self.sigma
        z += self.mu
        return np.exp(z, out=z)


@dataclass(frozen=True, kw_only=True)
class Gamma(Distribution):
    """Gamma by its mean and standard deviation."""

    mean: float
    sd: float

    def __post_init__(self) -> None:
        if not self.mean > 0:
            raise ValueError(f"mean must be > 0 (got {self.mean})")
        if not self.sd >= 0:
            raise ValueError(f"sd must be >= 0 (got {self.sd})")
        # Past a cv of 1e6 (shape 1e-12) nearly every draw is 0, and the scale sd² / mean
        # overflows: for the smallest means in double precision, for noise in single.
        if not self.sd <= 1e6 * self.mean:
            raise ValueError(f"sd must be at most 1e6 times the mean (got {self.sd:g})")

    @property
    def variance(self) -> float:
        return self.sd**2

    @property
    def minimum(self) -> float:
        return self.mean if self._point else 0.0

    @property
    def _point(self) -> bool:
        # Below a cv of 1e-16 every draw is the mean to double precision, and the shape
        # (mean / sd)² would overflow for the smallest sd.
        return self.sd <= 1e-16 * self.mean

    def sample(self, rng, size):
        if self._point:
            return np.full(size, float(self.mean))
        shape = (self.mean / self.sd) ** 2
        return rng.gamma(shape, self.sd**2 / self.mean, size)

    def sample32(self, rng, size):
        if self._point:
            return np.full(size, self.mean, dtype=np.float32)
        z = rng.standard_gamma((self.mean / self.sd) ** 2, size, dtype=np.float32)
        z *= self.sd**2 / self.mean
        return z

    has_residual = True

    def residual(self, draws, elapsed):
        from scipy.special import gammaincc, gammainccinv

        draws = np.asarray(draws, dtype=float)
        if elapsed <= 0:
            return draws
        if self._point:
            return np.maximum(draws - elapsed, 0.0)
        k, theta = (self.mean / self.sd) ** 2, self.sd**2 / self.mean
        tail = gammaincc(k, elapsed / theta) * gammaincc(k, draws / theta)
        return np.maximum(gammainccinv(k, tail) * theta - elapsed, 0.0)


class ZeroInflated(Distribution):
    """Zero with probability 1 − ``p_move``, else a draw of the ``_moving()`` law: what the
    zero-inflated laws share (an atom at zero below ``p_move`` < 1)."""

    p_move: float

    def _moving(self) -> Distribution:
        raise NotImplementedError

    @property
    def minimum(self) -> float:
        return 0.0 if self.p_move < 1 else self._moving().minimum

    def sample(self, rng, size):
        moves = rng.uniform(size=size) < self.p_move
        return np.where(moves, self._moving().sample(rng, size), 0.0)

    def sample32(self, rng, size):
        moves = rng.uniform(size=size) < self.p_move
        out = self._moving().sample32(rng, size)
        out[~moves] = 0.0
        return out


@dataclass(frozen=True, kw_only=True)
class ZeroInflatedGamma(ZeroInflated):
    """Zero with probability 1 − ``p_move``, else gamma: the daily advance of a front that
    moves on some days only (a map that did not change is a day without advance). By the
    overall ``mean`` and ``sd``; on a day it moves the draw has mean ``mean / p_move`` and
    coefficient of variation ``moving_cv``, where

        moving_cv² = p_move · (sd² + mean²) / mean² − 1    (≥ 0: sd² ≥ mean²·(1 − p)/p)

    which is what ``advsim calibrate`` fits to a series with days of no change."""

    p_move: float
    mean: float
    sd: float

    def __post_init__(self) -> None:
        if not 0 < self.p_move <= 1:
            raise ValueError(f"p_move must lie in (0, 1] (got {self.p_move})")
        if not self.mean > 0:
            raise ValueError(f"mean must be > 0 (got {self.mean})")
        if not self.sd >= 0:
            raise ValueError(f"sd must be >= 0 (got {self.sd})")
        least = self.mean * math.sqrt((1 - self.p_move) / self.p_move)
        if self.sd < least * (1 - 1e-9):
            raise ValueError(
                f"sd must be at least mean·√((1 − p_move)/p_move) = {least:.6g}, the sd of "
                f"moving a fixed amount on a share p_move of days (got {self.sd:g})")
        if not self.moving_cv <= 1e6:
            raise ValueError(f"sd is too large for p_move (moving cv {self.moving_cv:g})")

    @property
    def variance(self) -> float:
        return self.sd**2

    @property
    def moving_mean(self) -> float:
        """The mean of a day on which the front moves."""
        return self.mean / self.p_move

    @property
    def moving_cv(self) -> float:
        """The coefficient of variation of a day on which the front moves."""
        c2 = self.p_move * (self.sd**2 + self.mean**2) / self.mean**2 - 1
        return math.sqrt(max(c2, 0.0))

    def _moving(self) -> Gamma:
        m = self.moving_mean
        return Gamma(mean=m, sd=self.moving_cv * m)


@dataclass(frozen=True, kw_only=True)
class ZeroInflatedLogNormal(ZeroInflated):
    """Zero with probability 1 − ``p_move``, else lognormal of mean ``moving_mean`` and
    coefficient of variation ``moving_cv``: a pace drawn once per replication for a front that
    may not come at all (the outlook's ``attacked`` extension)."""

    p_move: float
    moving_mean: float
    moving_cv: float

    def __post_init__(self) -> None:
        if not 0 < self.p_move <= 1:
            raise ValueError(f"p_move must lie in (0, 1] (got {self.p_move})")
        self._moving()  # the moving part's own checks

    def _moving(self) -> LogNormal:
        return LogNormal.from_mean_cv(self.moving_mean, self.moving_cv)

    @property
    def mean(self) -> float:
        return self.p_move * self.moving_mean

    @property
    def variance(self) -> float:
        second = self.moving_mean**2 * (1 + self.moving_cv**2)
        return self.p_move * second - self.mean**2


@dataclass(frozen=True, kw_only=True)
class Empirical(Distribution):
    """Resamples a list of observed values with replacement."""

    samples: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.samples) == 0:
            raise ValueError("samples must not be empty")

    def __repr__(self) -> str:
        return f"Empirical(n={len(self.samples)}, mean={self.mean:g})"

    @property
    def mean(self) -> float:
        with np.errstate(over="ignore", invalid="ignore"):  # inf where too large
            return float(np.mean(self.samples))

    @property
    def variance(self) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.var(self.samples))

    @property
    def minimum(self) -> float:
        return float(min(self.samples))

    def sample(self, rng, size):
        return rng.choice(np.asarray(self.samples, dtype=float), size)


# name in YAML -> (required keys, optional keys); the loader checks keys, values and types.
SPECS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "fixed": (("value",), ()),
    "uniform": (("low", "high"), ()),
    "triangular": (("low", "mode", "high"), ()),
    "pert": (("low", "mode", "high"), ("shape",)),
    "normal": (("mean", "sd"), ()),
    "lognormal": ((), ("mean", "cv", "mu", "sigma")),
    "gamma": (("mean", "sd"), ()),
    "zero_inflated_gamma": (("p_move", "mean", "sd"), ()),
    "zero_inflated_lognormal": (("p_move", "moving_mean", "moving_cv"), ()),
    "empirical": (("samples",), ()),
}


def build(name: str, params: dict) -> Distribution:
    """Build a distribution from its YAML name and parameters; raises ValueError on bad values."""
    if name == "fixed":
        return Fixed(value=params["value"])
    if name == "uniform":
        return Uniform(low=params["low"], high=params["high"])
    if name == "triangular":
        return Triangular(low=params["low"], mode=params["mode"], high=params["high"])
    if name == "pert":
        return Pert(
            low=params["low"], mode=params["mode"], high=params["high"],
            shape=params.get("shape", 4.0),
        )
    if name == "normal":
        return Normal(mean=params["mean"], sd=params["sd"])
    if name == "lognormal":
        by_moments = {"mean", "cv"} & params.keys()
        by_logs = {"mu", "sigma"} & params.keys()
        if by_moments == {"mean", "cv"} and not by_logs:
            return LogNormal.from_mean_cv(params["mean"], params["cv"])
        if by_logs == {"mu", "sigma"} and not by_moments:
            return LogNormal(mu=params["mu"], sigma=params["sigma"])
        raise ValueError("lognormal takes either mean and cv, or mu and sigma")
    if name == "gamma":
        return Gamma(mean=params["mean"], sd=params["sd"])
    if name == "zero_inflated_gamma":
        return ZeroInflatedGamma(p_move=params["p_move"], mean=params["mean"], sd=params["sd"])
    if name == "zero_inflated_lognormal":
        return ZeroInflatedLogNormal(p_move=params["p_move"], moving_mean=params["moving_mean"],
                                     moving_cv=params["moving_cv"])
    if name == "empirical":
        return Empirical(samples=tuple(params["samples"]))
    raise ValueError(f"unknown distribution {name!r}")
