"""The engine's advance model fitted to a reference class, and the check that it reproduces the
class's days-to-fall.

The model is the engine's: advance(t) = base × noise(t) × regime(t) m/day, with

- **regimes** stalled / grinding / surging / setback (those the class shows), a semi-Markov
  chain. A regime's factor is its pooled pace (metres closed over days spent in it, all towns)
  over the grinding pace; its sojourn time is lognormal, fitted by maximum likelihood to the
  class's spells with the first and last spell of each approach right-censored (lognormal: the
  class's stalls run from two weeks to most of two years, a heavy tail an exponential or gamma
  sojourn cannot carry); its next regime follows the counted spell-to-spell transitions, with
  half a count added to every other regime the class shows (so that no transition seen in one
  town but not the others is impossible).
- **base** (the grinding-equivalent pace) is a distribution *across towns*: each town's own
  pace, its metres over its moving days weighted by the regime factors, and a lognormal fitted
  to those towns' rates (mean and cv). It is the spread of the class, not the estimation error
  of a pooled mean, so a model fitted to many towns is not falsely confident about the next.
- **noise** is gamma with mean 1: the spread of moving steps' pace around their town's rate
  times the regime's factor, scaled from the map's step (about two weeks) to a day as for
  independent daily draws (sd_day = sd_step · √(days per step)).

Spells are read at the map's resolution (one to two weeks a step): a regime shorter than a step
is invisible and counted as a step, which the sojourns' fit inherits. The season is not fitted:
2.5 years of one war give too few mud seasons to tell one apart from the rest.

The check (:func:`check`): approaches simulated from the fitted model, from the class's own
origins (distance remaining, the regime of the last step seen), against the class's Kaplan–Meier
days-to-fall, band by band: the largest gap between the two CDFs within the follow-up, which
passes when it is within what resampling the class's towns moves the Kaplan–Meier curve by
(the 95th percentile of that gap). A class of a few dozen towns pins its curve down loosely:
tested on approaches simulated from a known model, a fixed tolerance of 0.15 fails the true
model itself in some bands.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .reference import (
    BANDS_KM,
    STATES,
    KaplanMeier,
    Origin,
    ReferenceClass,
    ReferenceError,
    Spell,
    km_by_band,
)

CHECK_LEVEL = 0.95  # the gap may be as large as this quantile of the towns' bootstrap gap
CHECK_BOOTSTRAP = 200
CHECK_ORIGINS = 40  # origins per band simulated by the check
CHECK_REPLICATIONS = 150  # per origin
SMOOTHING = 0.5  # counts added to every other regime's transitions
MAX_NOISE_SD = 5.0
MIN_MOVING_DAYS = 14  # a town's own rate needs at least a step of movement


@dataclass(frozen=True, kw_only=True)
class RegimeFit:
    name: str
    factor: float
    sojourn_mean_days: float
    sojourn_cv: float
    spells: int
    censored: int
    days: int  # spent in the regime, all towns
    next: tuple[tuple[str, float], ...]
    method: str  # of the sojourn fit


@dataclass(frozen=True, kw_only=True)
class AdvanceFit:
    towns: tuple[str, ...]
    until: dt.date
    within_km: float
    base_mean_m_per_day: float
    base_cv: float
    town_rates: dict[str, float]  # each town's own grinding-equivalent m/day
    noise_sd: float
    regimes: tuple[RegimeFit, ...]
    initial: str  # the regime the class spends most days in

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.regimes)

    def block(self, initial: str | None = None) -> dict:
        """The scenario's ``advance:`` mapping (the model alone, no provenance)."""
        def num(x: float) -> float:
            return float(f"{x:.4g}")

        return {
            "base_m_per_day": {"dist": "lognormal", "mean": num(self.base_mean_m_per_day),
                               "cv": num(self.base_cv)},
            "noise": {"dist": "gamma", "mean": 1, "sd": num(self.noise_sd)},
            "regimes": {
                "initial": initial or self.initial,
                "states": {
                    r.name: {
                        "factor": num(r.factor),
                        "sojourn_days": {"dist": "lognormal", "mean": num(r.sojourn_mean_days),
                                         "cv": num(r.sojourn_cv)},
                        "next": _rounded(r.next),
                    }
                    for r in self.regimes
                },
            },
        }


def _rounded(probs: Sequence[tuple[str, float]]) -> dict[str, float]:
    """Probabilities to 4 decimals, the largest taking the rounding, so they sum to 1."""
    out = {k: round(p, 4) for k, p in probs}
    top = max(out, key=lambda k: out[k])
    out[top] = round(1 - sum(v for k, v in out.items() if k != top), 4)
    return out


def fit(cls: ReferenceClass) -> AdvanceFit:
    """Fit the advance model to the class (see the module's docstring)."""
    steps = cls.steps()
    spells = cls.spells()
    days = {s: sum(x.days for x in steps if x.state == s) for s in STATES}
    metres = {s: sum(x.pace_m_per_day * x.days for x in steps if x.state == s) for s in STATES}
    if days["grinding"] + days["surging"] == 0:
        raise ReferenceError("the class never moves (no step of 20 m/day or more): there is "
                             "no pace to fit", file=cls.file)
    # With no grinding step, surging is the reference pace.
    ref = "grinding" if days["grinding"] else "surging"
    ref_pace = metres[ref] / days[ref]
    present = [s for s in STATES if days[s] > 0]
    factor = {s: metres[s] / days[s] / ref_pace for s in present}

    rates: dict[str, float] = {}
    for town in cls.towns:
        mine = [x for x in steps if x.town == town and x.state in ("grinding", "surging")]
        moving = sum(x.days for x in mine)
        if moving >= MIN_MOVING_DAYS:
            weighted = sum(x.days * factor[x.state] for x in mine)
            rates[town] = sum(x.pace_m_per_day * x.days for x in mine) / weighted
    if len(rates) < 2:
        raise ReferenceError(
            f"only {len(rates)} town(s) of the class moved for {MIN_MOVING_DAYS} days or more: "
            "a spread of rates across towns needs two", file=cls.file)
    logs = np.log(np.array(list(rates.values())))
    sigma = float(np.std(logs, ddof=1))
    base_mean = float(np.exp(logs.mean() + sigma**2 / 2))
    base_cv = float(math.sqrt(math.expm1(sigma**2)))

    ratios, weights = [], []
    for x in steps:
        if x.state in ("grinding", "surging") and x.town in rates:
            ratios.append(x.pace_m_per_day / (rates[x.town] * factor[x.state]))
            weights.append(x.days)
    r, w = np.array(ratios), np.array(weights, dtype=float)
    mean_r = np.average(r, weights=w)
    sd_step = math.sqrt(np.average((r - mean_r) ** 2, weights=w)) / mean_r
    noise_sd = min(sd_step * math.sqrt(np.average(w)), MAX_NOISE_SD)

    counts = cls.transitions(spells)
    regimes = []
    for s in present:
        in_s = [x for x in spells if x.state == s]
        mean, cv, method = fit_sojourn(in_s)
        others = [t for t in present if t != s]
        if others:
            c = {t: counts.get(s, {}).get(t, 0) + SMOOTHING for t in others}
            total = sum(c.values())
            nxt = tuple((t, c[t] / total) for t in others)
        else:
            nxt = ((s, 1.0),)
        regimes.append(RegimeFit(
            name=s, factor=factor[s], sojourn_mean_days=mean, sojourn_cv=cv, spells=len(in_s),
            censored=sum(x.censored for x in in_s), days=days[s], next=nxt, method=method))
    initial = max(present, key=lambda s: days[s])
    return AdvanceFit(towns=cls.towns, until=cls.until, within_km=cls.within_km,
                      base_mean_m_per_day=base_mean, base_cv=base_cv, town_rates=rates,
                      noise_sd=float(noise_sd), regimes=tuple(regimes), initial=initial)


def fit_sojourn(spells: Sequence[Spell]) -> tuple[float, float, str]:
    """Mean and cv of a lognormal sojourn, by maximum likelihood with censored spells
    contributing their survival; with fewer than two complete spells, the mean of the spells
    seen and cv 1 (stated as such)."""
    d = np.array([s.days for s in spells], dtype=float)
    c = np.array([s.censored for s in spells], dtype=bool)
    complete = d[~c]
    if complete.size < 2 or (np.ptp(complete) == 0 and not c.any()):  # no spread to fit
        mean = float(d.mean()) if d.size else 14.0
        return mean, 1.0, "too few complete spells: mean of those seen, cv 1 assumed"
    from scipy import optimize, stats

    logd = np.log(d)

    def nll(theta):
        mu, log_sigma = theta
        sigma = math.exp(log_sigma)
        ll = stats.norm.logpdf(logd[~c], mu, sigma).sum() - logd[~c].sum()
        ll += stats.norm.logsf(logd[c], mu, sigma).sum()
        return -ll

    s0 = max(float(np.std(logd)), 0.1)
    res = optimize.minimize(nll, [float(logd.mean()), math.log(s0)], method="Nelder-Mead",
                            options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000})
    mu, sigma = float(res.x[0]), math.exp(float(res.x[1]))
    sigma = min(sigma, 3.0)
    return (math.exp(mu + sigma**2 / 2), math.sqrt(math.expm1(sigma**2)),
            "lognormal, maximum likelihood with censored spells")


# -- simulating approaches ------------------------------------------------------------------


def approach_scenario(block: Mapping, origins: Sequence[tuple[str, float, str | None]],
                      horizon_days: int, *, start: dt.date = dt.date(2000, 1, 1),
                      replications: int = CHECK_REPLICATIONS, seed: int = 1):
    """A scenario of one axis sector per origin (name, km remaining, regime now): the same
    advance ``block`` (a scenario's ``advance:`` mapping), no forces, lines or events."""
    from ..model.loader import build_scenario

    sectors = {}
    no_force = {k: v for k, v in block.items() if k != "force"}
    for name, km, state in origins:
        adv = no_force
        if state is not None and "regimes" in adv and state in adv["regimes"]["states"]:
            adv = {**adv, "regimes": {**adv["regimes"], "initial": state}}
        sectors[name] = {"kind": "axis", "length_km": max(float(km), 1e-3),
                         "objective": {"name": name}, "advance": adv,
                         "forces": {"attacker": {"troops": 1}, "defender": {"troops": 1}}}
    data = {"name": "approaches", "start": start, "horizon_days": int(horizon_days),
            "replications": int(replications), "seed": int(seed), "sectors": sectors}
    return build_scenario(data, {}, "<reference>")


def fall_days(block: Mapping, origins: Sequence[tuple[str, float, str | None]],
              horizon_days: int, *, replications: int, seed: int, jobs: int = 1
              ) -> list[np.ndarray]:
    """Days to the fall from each origin (replications each; inf where not within the
    horizon)."""
    from ..running.runner import simulate

    sc = approach_scenario(block, origins, horizon_days, replications=replications, seed=seed)
    res = simulate(sc, replications=replications, seed=seed, jobs=jobs, bands=False)
    out = []
    for name, _, _ in origins:
        d = np.asarray(res.sectors[name].objective_day, dtype=float)
        out.append(np.where(np.isfinite(d), d, np.inf))
    return out


@dataclass(frozen=True, kw_only=True)
class BandCheck:
    band_km: tuple[float, float]
    origins: int
    simulated_origins: int
    km_median_days: float | None
    sim_median_days: float | None
    max_gap: float
    tolerance: float  # the CHECK_LEVEL quantile of the gap between the KM and a resampled KM
    follow_up_days: int

    @property
    def passed(self) -> bool:
        return self.max_gap <= self.tolerance


def check(block: Mapping, cls: ReferenceClass, *, seed: int = 1, jobs: int = 1,
          bands: Sequence[float] = BANDS_KM, per_band: int = CHECK_ORIGINS,
          replications: int = CHECK_REPLICATIONS) -> list[BandCheck]:
    """Simulated days-to-fall from the class's own origins against its Kaplan–Meier curve."""
    out = []
    for b, ((lo, hi), sel, km) in enumerate(km_by_band(cls.origins(), bands)):
        picked = _spread(sel, per_band)
        horizon = max(o.days for o in sel) + 1
        days = fall_days(block, [(f"o{i}", o.remaining_km, o.state)
                                 for i, o in enumerate(picked)],
                         horizon, replications=replications, seed=seed + b, jobs=jobs)
        pooled = np.concatenate(days)
        t = np.arange(0, km.last_day + 1)
        f_sim = np.searchsorted(np.sort(pooled), t, side="right") / pooled.size
        gap = float(np.nanmax(np.abs(f_sim - km.cdf(t))))
        tol = bootstrap_gap(sel, km, t, seed=seed + b)
        sim_median = float(np.median(pooled))
        out.append(BandCheck(
            band_km=(lo, hi), origins=len(sel), simulated_origins=len(picked),
            km_median_days=km.quantile(0.5),
            sim_median_days=sim_median if math.isfinite(sim_median) else None,
            max_gap=gap, tolerance=tol, follow_up_days=km.last_day))
    return out


def bootstrap_gap(origins: Sequence[Origin], km: KaplanMeier, t: np.ndarray, *, seed: int,
                  draws: int = CHECK_BOOTSTRAP, level: float = CHECK_LEVEL) -> float:
    """How far a band's Kaplan–Meier curve moves by chance: the ``level`` quantile of the
    largest gap between it and the curve of towns resampled with replacement (all of a town's
    origins together: origins of one town are not independent). A model is as close as the
    class can tell when its gap is within this."""
    rng = np.random.default_rng(seed)
    towns = sorted({o.town for o in origins})
    by_town = {tw: [o for o in origins if o.town == tw] for tw in towns}
    gaps = []
    for _ in range(draws):
        pick = rng.integers(0, len(towns), len(towns))
        sel = [o for i in pick for o in by_town[towns[i]]]
        k = KaplanMeier.fit([o.days for o in sel], [o.fell for o in sel])
        both = t[t <= min(k.last_day, km.last_day)]
        gaps.append(float(np.max(np.abs(k.cdf(both) - km.cdf(both)))) if both.size else 0.0)
    return float(np.quantile(gaps, level))


def _spread(origins: Sequence[Origin], k: int) -> list[Origin]:
    """``k`` origins spread evenly through the list (all of them if there are fewer)."""
    if len(origins) <= k:
        return list(origins)
    idx = np.unique(np.linspace(0, len(origins) - 1, k).round().astype(int))
    return [origins[i] for i in idx]


__all__ = ["AdvanceFit", "BandCheck", "KaplanMeier", "RegimeFit", "check", "fall_days", "fit"]
