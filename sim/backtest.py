"""Backtests: a scenario's projection scored against what was then observed.

The scenario runs from its start with a checkpoint at every observation date after it. At each
such date its ensemble of replications is scored against the observed value with proper
scoring rules and calibration checks: the fair ensemble CRPS (Ferro 2014), the coverage of the
central 50% and 90% bands, the probability integral transform (PIT: uniform when the forecast
is calibrated) and the Brier score of "objective fallen by this date". A naive baseline, the
rate at the start extrapolated linearly with the scenario's day-to-day noise, is scored the
same way, so the model's skill is measured against something.

Values are in the scenario's units: km advanced since the start (axis; observations are
anchored on their value at the start) or km² held (area), clipped to the range the model can
reach (0 to the objective along an axis; the objective's residue to the start area).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import __version__
from .engine import name_key
from .errors import AdvsimError, ObservedError
from .observed import ObservedSeries, read_observed
from .outcomes import Result
from .scenario import Scenario, Sector
from .summary import pkey

BAND_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)  # the 90% and 50% central bands and median
PIT_BINS = 10


# -- scores --------------------------------------------------------------------------------------


def fair_crps(ensemble: np.ndarray, y) -> np.ndarray:
    """Fair CRPS of ensemble members (axis 0) for observation(s) ``y`` (Ferro 2014):

        mean_i |X_i − y| − 1/(2m(m−1)) · Σ_i Σ_j |X_i − X_j|

    an unbiased estimate of the CRPS of the distribution the m members are drawn from. The
    double sum is 2·Σ_i (2i − m − 1)·X_(i) over the sorted members: O(m log m). One member
    (m = 1) gives the absolute error.
    """
    x = np.sort(np.asarray(ensemble, dtype=float), axis=0)
    m = x.shape[0]
    if m == 0:
        raise ValueError("an ensemble needs at least one member")
    mae = np.mean(np.abs(x - y), axis=0)
    if m == 1:
        return mae
    w = (2 * np.arange(1, m + 1) - m - 1).reshape((m,) + (1,) * (x.ndim - 1))
    return mae - np.sum(w * x, axis=0) / (m * (m - 1))


def pit(ensemble: np.ndarray, y, rng: np.random.Generator) -> np.ndarray:
    """Randomised PIT of ``y`` under each column's ensemble: P(X < y) + U·P(X = y), uniform on
    [0, 1] for a calibrated forecast even where members tie (at a capped objective)."""
    x = np.asarray(ensemble, dtype=float)
    below = np.mean(x < y, axis=0)
    tied = np.mean(x == y, axis=0)
    return below + rng.uniform(size=np.shape(below)) * tied


def covered(ensemble: np.ndarray, y, level: float) -> np.ndarray:
    """Whether ``y`` lies within each column's central ``level`` band (inclusive)."""
    lo, hi = np.quantile(ensemble, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return (lo <= y) & (y <= hi)


def brier(prob, outcome) -> float:
    """Mean squared difference between forecast probabilities and 0/1 outcomes."""
    p, o = np.asarray(prob, dtype=float), np.asarray(outcome, dtype=float)
    return float(np.mean((p - o) ** 2))


def score(ensemble: np.ndarray, y: np.ndarray, fallen: np.ndarray, observed_fallen: np.ndarray,
          rng: np.random.Generator) -> dict:
    """Every score of one forecast (members × dates) against observations at those dates."""
    u = pit(ensemble, y, rng)
    return {
        "n_obs": int(y.size),
        "crps": float(np.mean(fair_crps(ensemble, y))),
        "crps_by_date": [float(c) for c in fair_crps(ensemble, y)],
        "coverage_50": float(np.mean(covered(ensemble, y, 0.5))),
        "coverage_90": float(np.mean(covered(ensemble, y, 0.9))),
        "pit": [float(v) for v in u],
        "pit_histogram": np.histogram(u, bins=PIT_BINS, range=(0, 1))[0].tolist(),
        "brier": brier(np.mean(fallen, axis=0), observed_fallen),
    }


# -- a backtest ----------------------------------------------------------------------------------


@dataclass(kw_only=True)
class SectorBacktest:
    """One sector's forecasts and observations at the scored dates, and their scores."""

    sector: Sector
    series: ObservedSeries  # every observation of the sector, for plots
    anchor: float | None  # the observed value at the start (axis: km advanced are counted from it)
    days: np.ndarray  # scored observation days, after the start
    dates: tuple[dt.date, ...]
    observed: np.ndarray  # at those days, in the scenario's units, clipped to the model's range
    clipped: int
    observed_fallen: np.ndarray
    ensemble: np.ndarray  # (replications, dates)
    fallen: np.ndarray  # (replications, dates): objective fallen by the date
    baseline: np.ndarray  # (replications, dates)
    baseline_fallen: np.ndarray
    baseline_method: str
    baseline_per_day: float  # km/day (axis) or km²/day (area) of the baseline
    scores: dict = field(default_factory=dict)
    baseline_scores: dict = field(default_factory=dict)

    @property
    def unit(self) -> str:
        return "km advanced" if self.sector.kind == "axis" else "km² held"

    def to_scenario_units(self, values: np.ndarray) -> np.ndarray:
        """Observed values as the scenario measures them (km since the start along an axis)."""
        if self.sector.kind == "axis":
            return values - (self.anchor or 0.0)
        return values


@dataclass(kw_only=True)
class Backtest:
    """A scenario's run and the scores of its sectors against observed series."""

    scenario: Scenario
    result: Result
    observed_file: str
    sectors: dict[str, SectorBacktest]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """The JSON of ``advsim backtest --json``."""
        sc = self.scenario
        out = {}
        for name, b in self.sectors.items():
            q = np.percentile(b.ensemble, BAND_PERCENTILES, axis=0)
            fell = np.flatnonzero(b.observed_fallen)
            model, base = dict(b.scores), dict(b.baseline_scores)
            skill = (1 - model["crps"] / base["crps"]) if base["crps"] > 0 else None
            out[name] = {
                "kind": b.sector.kind,
                "unit": b.unit,
                **model,
                "crps_skill": skill,
                "dates": [d.isoformat() for d in b.dates],
                "days": [int(d) for d in b.days],
                "observed": [float(v) for v in b.observed],
                "bands": {pkey(p): [float(v) for v in row]
                          for p, row in zip(BAND_PERCENTILES, q)},
                "objective": b.sector.objective,
                "objective_fell_observed": b.dates[fell[0]].isoformat() if fell.size else None,
                "observed_at_start": b.anchor,
                "clipped": b.clipped,
                "baseline": {"method": b.baseline_method,
                             "per_day": b.baseline_per_day, **base},
            }
        return {
            "advsim": __version__,
            "scenario": sc.name,
            "start": sc.start.isoformat(),
            "horizon_days": sc.horizon_days,
            "replications": self.result.replications,
            "seed": self.result.seed,
            "observed": self.observed_file,
            "sectors": out,
            "notes": list(self.notes),
        }

    def fan(self, name: str, percentiles: Sequence[float] = BAND_PERCENTILES) -> dict:
        """What a fan chart of sector ``name`` needs: per-day percentile bands of the model
        (day 0 to the horizon), every observation in the scenario's units with its day, and the
        baseline's percentiles at the scored days."""
        b = self.sectors[name]
        bands = self.result.bands(tuple(percentiles))[name]
        q = np.percentile(b.baseline, list(percentiles), axis=0)
        return {
            "sector": name,
            "kind": b.sector.kind,
            "unit": b.unit,
            "start": self.scenario.start,
            "day": bands["day"],
            "bands": {k: v for k, v in bands.items() if k != "day"},
            "observed_day": b.series.days_from(self.scenario.start),
            "observed": b.to_scenario_units(b.series.values),
            "scored_day": b.days,
            "baseline": {pkey(p): row for p, row in zip(percentiles, q)},
        }


def backtest(
    scenario: str | os.PathLike[str],
    observed: str | os.PathLike[str] | Mapping[str, ObservedSeries],
    *,
    overrides: Sequence[str] = (),
    replications: int | None = None,
    seed: int | None = None,
    jobs: int | None = 1,
    sectors: Sequence[str] = (),
    until: dt.date | None = None,
) -> Backtest:
    """Run the scenario file with a checkpoint at every observation date after its start (set
    through the loader's overrides, extending the horizon if observations run past it) and
    score each sector that the observed series name."""
    from .loader import load_scenario
    from .runner import simulate

    if isinstance(observed, Mapping):
        series_all = dict(observed)
        obs_file = next((s.file for s in series_all.values()), "<observed>")
    else:
        obs_file = os.fspath(observed)
        series_all = read_observed(obs_file)
    sc0 = load_scenario(scenario, overrides)
    notes: list[str] = []
    names = [s.name for s in sc0.sectors]
    for name in sectors:
        if name not in names:
            raise AdvsimError(f"{os.fspath(scenario)}: --sector {name!r}: no such sector "
                              f"(the scenario has {', '.join(names)})")
    wanted = [n for n in names if n in series_all and (not sectors or n in sectors)]
    unused = [n for n in series_all if n not in names]
    if unused:
        notes.append(f"not in the scenario, not scored: {', '.join(unused)}")
    if not wanted:
        raise ObservedError(
            f"no sector of the scenario ({', '.join(names)}) appears in the file (it has "
            f"{', '.join(series_all)})", file=obs_file,
        )
    series = {n: series_all[n].between(None, until).advanced() for n in wanted}
    scored_days = {}
    for n, s in series.items():
        d = s.days_from(sc0.start)
        scored_days[n] = d[d > 0]
        if not scored_days[n].size:
            notes.append(f"{n}: no observation after the start {sc0.start}, not scored")
    wanted = [n for n in wanted if scored_days[n].size]
    if not wanted:
        last = max((s.dates[-1] for s in series.values() if len(s)), default=None)
        which = f"the last is {last}" if last else f"none is dated up to {until}"
        raise ObservedError(
            f"no observation after the scenario start {sc0.start} ({which}); a "
            "backtest scores what happened after the start (e.g. --set start=YYYY-MM-DD)",
            file=obs_file,
        )
    days = sorted({int(d) for n in wanted for d in scored_days[n]})
    # The run ends at the last observation: the model's days up to it do not depend on the
    # horizon (only which random numbers are drawn does).
    sets = [*overrides, f"horizon_days={days[-1]}", f"checkpoints_days={days}"]
    if days[-1] > sc0.horizon_days:
        notes.append(f"horizon extended from {sc0.horizon_days} to {days[-1]} days to reach "
                     "the last observation")
    sc = load_scenario(scenario, sets)
    result = simulate(sc, replications=replications, seed=seed, jobs=jobs)
    col = {d: i for i, d in enumerate(days)}
    out = {}
    for n in wanted:
        b = _score_sector(sc, result, series[n], scored_days[n], col, obs_file)
        if b.clipped:
            notes.append(f"{n}: {b.clipped} observation(s) outside the model's range, clipped")
        area = b.sector.area_km2
        if b.sector.kind == "area" and b.anchor is not None and abs(b.anchor - area) > 0.01 * area:
            notes.append(f"{n}: {b.anchor:g} km² observed at the start, but the scenario starts "
                         f"from {area:g} km²")
        out[n] = b
    return Backtest(scenario=sc, result=result, observed_file=obs_file, sectors=out, notes=notes)


def _score_sector(sc: Scenario, result: Result, s: ObservedSeries, days: np.ndarray,
                  col: dict[int, int], obs_file: str) -> SectorBacktest:
    so = result.sectors[s.sector]
    sector = so.sector
    idx = [col[int(d)] for d in days]
    ensemble = so.progress[:, idx]
    fallen = so.objective_day[:, None] <= days[None, :]
    anchor = s.value_at(sc.start)
    values = s.values[s.days_from(sc.start) > 0]
    dates = tuple(d for d in s.dates if d > sc.start)
    if sector.kind == "axis":
        if anchor is None:
            raise ObservedError(
                f"no observation on or before the scenario start {sc.start} to count km "
                f"advanced from (add a row {sc.start},{s.sector},0 if the values already count "
                "from the start)", file=obs_file, key=s.sector,
            )
        raw = values - anchor
        lo, hi = 0.0, sector.length_km
        observed_fallen = raw >= sector.length_km
    else:
        raw = values
        lo, hi = sector.objective_km2, sector.area_km2
        observed_fallen = raw <= sector.objective_km2
    y = np.clip(raw, lo, hi)
    clipped = int(np.sum(y != raw))

    rng = np.random.default_rng(
        np.random.SeedSequence(result.seed, spawn_key=(name_key("backtest:" + s.sector),)))
    base, base_fallen, method, per_day = _baseline(sc, sector, s, anchor, days,
                                                  result.replications, rng)
    b = SectorBacktest(
        sector=sector, series=s, anchor=anchor, days=days, dates=dates, observed=y,
        clipped=clipped, observed_fallen=observed_fallen, ensemble=ensemble, fallen=fallen,
        baseline=base, baseline_fallen=base_fallen, baseline_method=method,
        baseline_per_day=per_day,
    )
    b.scores = score(ensemble, y, fallen, observed_fallen, rng)
    b.baseline_scores = score(base, y, base_fallen, observed_fallen, rng)
    return b


def _baseline(sc: Scenario, sector: Sector, s: ObservedSeries, anchor: float | None,
              days: np.ndarray, m: int, rng: np.random.Generator):
    """The naive forecast: the rate at the start, extrapolated linearly from the value at the
    start, with the scenario's iid daily noise (gamma with the noise's cv) and nothing else."""
    rel = s.days_from(sc.start)
    before = np.flatnonzero(rel <= 0)
    if before.size >= 2:
        i, j = before[-2], before[-1]
        per_day = (s.values[j] - s.values[i]) / (rel[j] - rel[i])
        if sector.kind == "area":
            per_day = -per_day  # km² taken per day
        method = (f"linear extrapolation of the rate between {s.dates[i]} and {s.dates[j]}, "
                  "the last two observations on or before the start")
    else:
        m_per_day = sector.advance.base_m_per_day.mean
        per_day = m_per_day / 1000 * (sector.front_km if sector.kind == "area" else 1.0)
        method = (f"linear extrapolation of the scenario's mean base rate ({m_per_day:.4g} "
                  "m/day); fewer than two observations on or before the start")
    per_day = max(float(per_day), 0.0)
    noise = sector.advance.noise
    cv = math.sqrt(noise.variance) / noise.mean if noise is not None and noise.mean > 0 else 0.0
    gaps = np.diff(np.concatenate([[0.0], days]))
    if per_day > 0 and cv > 0:
        k = 1 / cv**2
        steps = rng.gamma(gaps * k, per_day / k, size=(m, gaps.size))
    else:
        steps = np.broadcast_to(gaps * per_day, (m, gaps.size))
    gained = np.cumsum(steps, axis=1)
    if sector.kind == "axis":
        fallen = gained >= sector.length_km
        values = np.minimum(gained, sector.length_km)
    else:
        start = sector.area_km2 if anchor is None else min(anchor, sector.area_km2)
        held = start - gained
        fallen = held <= sector.objective_km2
        values = np.maximum(held, sector.objective_km2)
    unit = "km/day" if sector.kind == "axis" else "km²/day"
    return values, fallen, f"{method}: {per_day:.4g} {unit}, daily cv {cv:.3g}", per_day


# -- synthetic observations ----------------------------------------------------------------------


def synthetic_observed(
    scenario: Scenario, days: Sequence[int], *, seed: int, replication: int = 0,
    file: str = "<synthetic>",
) -> dict[str, ObservedSeries]:
    """Series drawn from the scenario's own model: replication ``replication`` of a run seeded
    with ``seed``, observed at the start and at ``days`` (km advanced since the start, or km²
    held). Backtests of the same model against them should be calibrated."""
    from dataclasses import replace

    from .runner import simulate

    days = sorted({int(d) for d in days})
    if not days or days[0] < 1 or days[-1] > scenario.horizon_days:
        raise ValueError(f"days must lie in 1..{scenario.horizon_days}")
    sc = replace(scenario, checkpoints_days=tuple(days))
    result = simulate(sc, replications=replication + 1, seed=seed, jobs=1)
    out = {}
    for name, so in result.sectors.items():
        start_value = 0.0 if so.sector.kind == "axis" else so.sector.area_km2
        values = np.concatenate([[start_value], so.progress[replication]])
        dates = (sc.start, *(sc.start + dt.timedelta(days=d) for d in days))
        out[name] = ObservedSeries(sector=name, dates=dates, values=values,
                                   lines=tuple(range(2, 2 + len(dates))), file=file)
    return out


# -- report and plot -----------------------------------------------------------------------------


def format_backtest(bt: Backtest) -> str:
    """The human-readable report of ``advsim backtest``."""
    from .report import table

    s = bt.summary()
    out = [
        f"Backtest of {s['scenario']} against {s['observed']}",
        f"{s['replications']:,} replications · seed {s['seed']} · from {s['start']} over "
        f"{s['horizon_days']} days",
    ]
    for name, r in s["sectors"].items():
        b = r["baseline"]
        n = r["n_obs"]
        unit = "km" if r["kind"] == "axis" else "km²"
        when = (f"on {r['dates'][0]}" if n == 1 else f"from {r['dates'][0]} to {r['dates'][-1]}")
        out += ["", f"{name} ({r['kind']}, {r['unit']}): {n} observation date{'s' * (n != 1)} "
                    f"after the start, {when}"]

        rows = [
            [f"CRPS (fair), {unit}", f"{r['crps']:.4g}", f"{b['crps']:.4g}"],
            ["coverage of the 50% band", _share(r["coverage_50"], n), _share(b["coverage_50"], n)],
            ["coverage of the 90% band", _share(r["coverage_90"], n), _share(b["coverage_90"], n)],
            [f"Brier: {r['objective']} by the date", f"{r['brier']:.3f}", f"{b['brier']:.3f}"],
            ["PIT histogram (10 bins)", _spark(r["pit_histogram"]), _spark(b["pit_histogram"])],
        ]
        out += table(["", "model", "baseline"], rows, indent="  ")
        skill = r["crps_skill"]
        if skill is not None:
            verdict = "beats" if skill > 0 else "does not beat"
            out.append(f"  CRPS skill against the baseline: {skill:+.2f} (the model {verdict} "
                       "the baseline; 1 is perfect)")
        fell = r["objective_fell_observed"]
        out.append(f"  {r['objective']}: " + (f"observed fallen by {fell}" if fell else
                                              "not observed fallen"))
        out.append(f"  baseline: {b['method']}")
        bands = r["bands"]
        rows = [[d, str(day), f"{y:,.1f}", *(f"{bands[k][i]:,.1f}" for k in bands),
                 f"{r['pit'][i]:.2f}", f"{r['crps_by_date'][i]:.3g}"]
                for i, (d, day, y) in enumerate(zip(r["dates"], r["days"], r["observed"]))]
        out += ["", *table(["date", "day", "observed", *(k.upper() for k in bands), "PIT",
                             "CRPS"], rows, indent="  ")]
    if s["notes"]:
        out += ["", *(f"Note: {n}" for n in s["notes"])]
    return "\n".join(out)


def _share(x: float, n: int) -> str:
    return f"{x:.2f} ({round(x * n)}/{n})"


def _spark(counts: list[int]) -> str:
    bars = " ▁▂▃▄▅▆▇█"
    top = max(counts) or 1
    return "".join(bars[math.ceil(c / top * 8)] if c else "·" for c in counts)


def plot_backtest(bt: Backtest, path: str | os.PathLike[str]) -> None:
    """Draw each sector's observations over the model's fan chart (and the baseline's band at
    the scored dates) into an image file; matplotlib is imported here, with the Agg backend."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise AdvsimError(
            "--plot needs matplotlib (pip install 'advsim[plot]')") from None
    names = list(bt.sectors)
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 3.6 * len(names)), squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        f = bt.fan(name)
        start = np.datetime64(f["start"].isoformat())
        day = start + f["day"].astype("timedelta64[D]")
        bands = f["bands"]
        ax.fill_between(day, bands["p5"], bands["p95"], color="tab:blue", alpha=0.18,
                        lw=0, label="model 5–95%")
        ax.fill_between(day, bands["p25"], bands["p75"], color="tab:blue", alpha=0.35,
                        lw=0, label="model 25–75%")
        ax.plot(day, bands["p50"], color="tab:blue", lw=1.2, label="model median")
        sd = start + f["scored_day"].astype("timedelta64[D]")
        med = f["baseline"]["p50"]
        ax.errorbar(sd, med, yerr=[med - f["baseline"]["p5"], f["baseline"]["p95"] - med],
                    fmt="_", color="tab:gray", ms=10, lw=1, capsize=3,
                    label="baseline median, 5–95%")
        od = start + np.round(f["observed_day"]).astype("int64").astype("timedelta64[D]")
        ax.plot(od, f["observed"], "o", color="black", ms=4, label="observed")
        ax.axvline(start, color="black", lw=0.6, alpha=0.5)
        ax.set_title(f"{bt.scenario.name}: {name}")
        ax.set_ylabel(f["unit"])
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", loc="best")
    fig.autofmt_xdate()
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except (OSError, ValueError) as e:
        raise AdvsimError(f"{os.fspath(path)}: cannot write the plot: {e}") from None
    finally:
        plt.close(fig)
