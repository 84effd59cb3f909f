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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from ..model import distributions as D
from ..model.provenance import Check, Provenance, Source
from ..model.scenario import Advance, Regime, Regimes, Scenario
from .reference import (
    BANDS_KM,
    STATES,
    ClassError,
    KaplanMeier,
    Origin,
    ReferenceClass,
    Spell,
    km_by_band,
)

if TYPE_CHECKING:
    from ..running.executors import Executor
    from ..running.outcomes import Result

CHECK_LEVEL = 0.95  # the gap may be as large as this quantile of the towns' bootstrap gap
CHECK_BOOTSTRAP = 200
CHECK_ORIGINS = 40  # origins per band simulated by the check
CHECK_REPLICATIONS = 150  # per origin
SMOOTHING = 0.5  # counts added to every other regime's transitions
MAX_NOISE_SD = 5.0
MIN_MOVING_DAYS = 14  # a town's own rate needs at least a step of movement
METHOD = ("map steps classified by pace into regimes; factors = pooled pace / grinding pace; "
          "sojourns lognormal by censored maximum likelihood; base = lognormal across the "
          "towns' own rates; noise = step spread scaled to a day")


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
    """The advance model fitted to a class: its fitted state, the typed block the engine runs
    (``advance``, ``block()``) and where it came from (``provenance``)."""

    towns: tuple[str, ...]
    until: dt.date
    within_km: float
    base_mean_m_per_day: float
    base_cv: float
    town_rates: dict[str, float]  # each town's own grinding-equivalent m/day
    noise_sd: float
    regimes: tuple[RegimeFit, ...]
    initial: str  # the regime the class spends most days in
    provenance: Provenance  # the class's file and sources, its date, the method; checks added

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.regimes)

    @property
    def advance(self) -> Advance:
        """The fitted ``advance`` block, as the engine runs it (the model alone; its origin is
        in ``provenance``), rounded to 4 significant digits as printed."""
        def num(x: float) -> float:
            return float(f"{x:.4g}")

        return Advance(
            base_m_per_day=D.LogNormal.from_mean_cv(num(self.base_mean_m_per_day),
                                                    num(self.base_cv)),
            noise=D.Gamma(mean=1.0, sd=num(self.noise_sd)),
            regimes=Regimes(initial=self.initial, states=tuple(
                Regime(name=r.name, factor=num(r.factor),
                       sojourn_days=D.LogNormal.from_mean_cv(num(r.sojourn_mean_days),
                                                             num(r.sojourn_cv)),
                       next=_rounded(r.next))
                for r in self.regimes)),
        )

    def block(self, initial: str | None = None) -> Advance:
        """The advance block, starting in regime ``initial`` (default: the class's most
        common)."""
        a = self.advance
        if initial is None or a.regimes is None:
            return a
        return replace(a, regimes=replace(a.regimes, initial=initial))


def _rounded(probs: Sequence[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    """Probabilities to 4 decimals, the largest taking the rounding, so they sum to 1."""
    out = {k: round(p, 4) for k, p in probs}
    top = max(out, key=lambda k: out[k])
    out[top] = round(1 - sum(v for k, v in out.items() if k != top), 4)
    return tuple(out.items())


def fit(cls: ReferenceClass) -> AdvanceFit:
    """Fit the advance model to the class (see the module's docstring)."""
    steps = cls.steps()
    spells = cls.spells()
    days = {s: sum(x.days for x in steps if x.state == s) for s in STATES}
    metres = {s: sum(x.pace_m_per_day * x.days for x in steps if x.state == s) for s in STATES}
    if days["grinding"] + days["surging"] == 0:
        raise ClassError("the class never moves (no step of 20 m/day or more): there is "
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
        raise ClassError(
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
    sources = tuple(Source(file=str(x.get("file", "?")), sha256=x.get("sha256"))
                    for x in cls.sources)
    provenance = Provenance(tool="advsim reference fit", method=METHOD,
                            inputs=(Source.of(cls.file), *sources), until=cls.until)
    return AdvanceFit(towns=cls.towns, until=cls.until, within_km=cls.within_km,
                      base_mean_m_per_day=base_mean, base_cv=base_cv, town_rates=rates,
                      noise_sd=float(noise_sd), regimes=tuple(regimes), initial=initial,
                      provenance=provenance)


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
    # The simplex may try a spread of zero on the way (spells all of one length): that
    # point's likelihood is -inf or NaN, which the search steps away from; no warning.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        res = optimize.minimize(nll, [float(logd.mean()), math.log(s0)], method="Nelder-Mead",
                                options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000})
    mu, sigma = float(res.x[0]), math.exp(float(res.x[1]))
    sigma = min(sigma, 3.0)
    return (math.exp(mu + sigma**2 / 2), math.sqrt(math.expm1(sigma**2)),
            "lognormal, maximum likelihood with censored spells")


# -- simulating approaches ------------------------------------------------------------------


def approach_scenario(block: Advance, origins: Sequence[tuple[str, float, str | None]],
                      horizon_days: int, *, start: dt.date = dt.date(2000, 1, 1),
                      replications: int = CHECK_REPLICATIONS, seed: int = 1) -> Scenario:
    """A scenario of one axis sector per origin (name, km remaining, regime now): the same
    advance ``block`` (without its force term), no forces, lines or events."""
    from ..model import builder as B

    no_force = replace(block, force=None)
    names = {r.name for r in block.regimes.states} if block.regimes else set()
    sectors = []
    for name, km, state in origins:
        adv = no_force
        if state is not None and state in names and adv.regimes is not None:
            adv = replace(adv, regimes=replace(adv.regimes, initial=state))
        sectors.append(B.axis(name, length_km=max(float(km), 1e-3), objective=name,
                              advance=adv, attacker=1, defender=1))
    return B.scenario(*sectors, name="approaches", start=start, horizon_days=int(horizon_days),
                      replications=int(replications), seed=int(seed))


@dataclass(frozen=True, kw_only=True)
class Approaches:
    """Approaches to simulate: one ``advance`` block from each origin (name, km remaining,
    regime now), to ``horizon_days``, with ``replications`` each and the run's ``seed``."""

    block: Advance  # a scenario's advance block, its force term left out when run
    origins: Sequence[tuple[str, float, str | None]]
    horizon_days: int
    replications: int
    seed: int


def fall_days_batch(batch: Sequence[Approaches], *, jobs: int | None = 1,
                    executor: str | Executor = "local", scheduler: str | None = None,
                    on_chunk: Callable[[int, int], None] | None = None
                    ) -> list[list[np.ndarray]]:
    """Days to the fall from each origin of each item (replications each; inf where not within
    the horizon), every item's chunks submitted to one executor
    (:func:`sim.running.batch.simulate_batch`)."""
    from ..running.batch import Planned, simulate_batch

    runs = [Planned(scenario=approach_scenario(a.block, a.origins, a.horizon_days,
                                               replications=a.replications, seed=a.seed),
                    replications=a.replications, seed=a.seed) for a in batch]

    def days_of(res: Result) -> list[np.ndarray]:
        return [np.where(np.isfinite(d), d, np.inf)
                for d in (np.asarray(s.objective_day, dtype=float)
                          for s in res.sectors.values())]

    # Only the fall days are kept of each run: hundreds of runs' per-day histograms, held
    # together, took 18 GB in the leave-one-town-out evaluation.
    return simulate_batch(runs, jobs=jobs, executor=executor, scheduler=scheduler,
                          on_chunk=on_chunk, keep=days_of, bands=False)


def fall_days(block: Advance, origins: Sequence[tuple[str, float, str | None]],
              horizon_days: int, *, replications: int, seed: int, jobs: int | None = 1,
              executor: str | Executor = "local", scheduler: str | None = None
              ) -> list[np.ndarray]:
    """Days to the fall from each origin (replications each; inf where not within the
    horizon): :func:`fall_days_batch` of one item."""
    [days] = fall_days_batch([Approaches(block=block, origins=origins,
                                         horizon_days=horizon_days, replications=replications,
                                         seed=seed)],
                             jobs=jobs, executor=executor, scheduler=scheduler)
    return days


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

    def as_check(self) -> Check:
        """This band's check as a line of a fit's provenance."""
        return Check(name=f"days to fall from {self.band_km[0]:g}-{self.band_km[1]:g} km",
                     passed=self.passed,
                     detail=f"largest CDF gap {self.max_gap:.3f}, tolerance {self.tolerance:.3f}")


def check(block: Advance, cls: ReferenceClass, *, seed: int = 1, jobs: int | None = 1,
          executor: str | Executor = "local", scheduler: str | None = None,
          bands: Sequence[float] = BANDS_KM, per_band: int = CHECK_ORIGINS,
          replications: int = CHECK_REPLICATIONS,
          on_chunk: Callable[[int, int], None] | None = None) -> list[BandCheck]:
    """Simulated days-to-fall from the class's own origins against its Kaplan–Meier curve,
    every band's approaches in one batch (band ``b`` seeded ``fit_check_seed(seed, b)``);
    ``on_chunk(done, total)`` follows the batch's chunks."""
    from ..seeds import fit_check_bootstrap_rng, fit_check_seed

    grouped = km_by_band(cls.origins(), bands)
    batch = []
    for b, (_, sel, _) in enumerate(grouped):
        picked = _spread(sel, per_band)
        batch.append(Approaches(
            block=block, origins=[(f"o{i}", o.remaining_km, o.state)
                                  for i, o in enumerate(picked)],
            horizon_days=max(o.days for o in sel) + 1, replications=replications,
            seed=fit_check_seed(seed, b)))
    simulated = fall_days_batch(batch, jobs=jobs, executor=executor, scheduler=scheduler,
                                on_chunk=on_chunk)
    out = []
    for b, (((lo, hi), sel, km), days) in enumerate(zip(grouped, simulated)):
        pooled = np.concatenate(days)
        t = np.arange(0, km.last_day + 1)
        f_sim = np.searchsorted(np.sort(pooled), t, side="right") / pooled.size
        gap = float(np.nanmax(np.abs(f_sim - km.cdf(t))))
        tol = bootstrap_gap(sel, km, t, rng=fit_check_bootstrap_rng(seed, b))
        sim_median = float(np.median(pooled))
        out.append(BandCheck(
            band_km=(lo, hi), origins=len(sel), simulated_origins=len(batch[b].origins),
            km_median_days=km.quantile(0.5),
            sim_median_days=sim_median if math.isfinite(sim_median) else None,
            max_gap=gap, tolerance=tol, follow_up_days=km.last_day))
    return out


def bootstrap_gap(origins: Sequence[Origin], km: KaplanMeier, t: np.ndarray, *,
                  rng: np.random.Generator, draws: int = CHECK_BOOTSTRAP,
                  level: float = CHECK_LEVEL) -> float:
    """How far a band's Kaplan–Meier curve moves by chance: the ``level`` quantile of the
    largest gap between it and the curve of towns resampled with replacement (all of a town's
    origins together: origins of one town are not independent). A model is as close as the
    class can tell when its gap is within this."""
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


__all__ = ["AdvanceFit", "Approaches", "BandCheck", "KaplanMeier", "RegimeFit", "check",
           "fall_days", "fall_days_batch", "fit"]
