"""Charts of runs: progress fans, when the objective falls (CDF, histogram), milestones.

Every chart names its scenario, sector and number of replications, puts calendar dates on the
time axis and keeps censored outcomes visible as censored. A run is a ``Result``, simulated or
read back from its folder.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ...analysis.bootstrap import censor_at
from ...analysis.summary import FAN_PERCENTILES, censored_percentiles
from ...errors import AdvsimError
from ..numbers import day, number, probability
from ..words import quantity_label
from .base import (
    PANEL_IN,
    at_text,
    dated,
    day0,
    figure,
    legend_outside,
    p_is,
    panel_title,
    replications_text,
    run_labels,
    sector_names,
    share_text,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ...data.observed import ObservedSeries
    from ...running.outcomes import Result

# The fan's shades, outermost first: P5–P95, P15–P85, … P45–P55 (10% steps, as forecast fan
# charts after the Bank of England's); older folders whose bands lack them get P5–P95, P25–P75.
SHADES = ((5.0, 95.0), (15.0, 85.0), (25.0, 75.0), (35.0, 65.0), (45.0, 55.0))
OLD_SHADES = ((5.0, 95.0), (25.0, 75.0))


def _shade_bands(run: Result, name: str) -> tuple[dict, tuple[tuple[float, float], ...]]:
    try:
        return run.bands(FAN_PERCENTILES)[name], SHADES
    except AdvsimError:
        return run.bands((5.0, 25.0, 50.0, 75.0, 95.0))[name], OLD_SHADES


def draw_shades(ax: Axes, x: np.ndarray, band: dict, shades, color: str = "C0") -> None:
    """Nested shades of a fan, darkest in the middle; the legend names the outermost and the
    innermost."""
    for k, (lo, hi) in enumerate(shades):
        label = None
        if k == 0:
            label = f"P{lo:g}–P{hi:g}: {hi - lo:g}% of replications"
        elif k == len(shades) - 1:
            label = f"P{lo:g}–P{hi:g}: the central {hi - lo:g}%" + (
                f" (shades in {shades[1][0] - shades[0][0]:g}% steps)" if len(shades) > 2
                else "")
        ax.fill_between(x, band[f"p{lo:g}"], band[f"p{hi:g}"], color=color,
                        alpha=0.13 + 0.09 * (k if len(shades) > 2 else 2 * k), lw=0,
                        label=label)


def _observed_for(observed, name: str) -> ObservedSeries | None:
    if observed is None:
        return None
    if isinstance(observed, dict):
        return observed.get(name)
    return observed if observed.sector == name else None


def observed_in_run_units(run: Result, name: str, series: ObservedSeries) -> tuple[np.ndarray,
                                                                                  np.ndarray]:
    """Days from the run's start and values in the sector's own measure: km advanced from the
    start line (negative before it: the observed value at or just before the start is zero)
    along an axis, km² held in an area."""
    s = run.scenario.sector(name)
    series = series.advanced()
    days = series.days_from(run.start)
    values = np.asarray(series.values, dtype=float)
    if s.direction > 0 and values.size:
        at = series.value_at(run.start)
        if at is None:
            before = np.flatnonzero(days <= 0)
            at = float(values[before[-1]] if before.size else values[0])
        values = values - at
    return days, values


# -- fan -----------------------------------------------------------------------------------------


def defensive_lines(run: Result, sector: str) -> list[tuple[str, float]]:
    """(name, km along the axis or km² held) of the sector's prepared lines."""
    return [(ln.name, ln.at) for ln in run.scenario.sector(sector).lines]


def reader_values(sector, values):
    """Positions as a reader thinks of them: km left to the objective along an axis (0 once it
    falls), km² held in an area (as the model counts them)."""
    v = np.asarray(values, dtype=float)
    return sector.objective_at - v if sector.direction > 0 else v


def reader_label(sector) -> str:
    """The fan's progress axis, in the quantity of :func:`reader_values`."""
    if sector.direction > 0:
        return f"km left to {sector.objective} along the axis"
    return quantity_label(sector)


def _reader_at(sector, at: float) -> str:
    if sector.direction > 0:
        return f"{number(sector.objective_at - at)} km out"
    return f"{number(at)} km² held"


HISTORY_DAYS = 90  # the least history a fan shows left of day 0, where there is that much
SAMPLE_PATHS = 5  # thin lines over a fan: single replications, so a path's stalls show


def sample_paths(run: Result, k: int = SAMPLE_PATHS) -> dict[str, np.ndarray]:
    """Sector -> (k, days) positions of ``k`` single replications of the run's scenario,
    re-simulated from its seed (chunk ``i`` of one replication each): the shape one path takes,
    which the bands average away. Cheap: k replications, not the run's thousands."""
    from ...analysis.summary import band_percentiles
    from ...engine import simulate_chunk

    out: dict[str, list[np.ndarray]] = {}
    for i in range(k):
        chunk = simulate_chunk(run.scenario, run.seed, i, 1, bands=True)
        for name, part in chunk.items():
            if part.band_counts is None:
                continue
            sector = run.scenario.sector(name)
            (path,) = band_percentiles(part.band_counts, sector, [50.0]).values()
            out.setdefault(name, []).append(path)
    return {name: np.vstack(paths) for name, paths in out.items()}


def settle_day(band: dict, shades) -> int:
    """The first day after which no band of the fan moves again (the horizon if they move on
    its last day)."""
    keys = [f"p{v:g}" for pair in shades for v in pair] + ["p50"]
    moving = np.zeros(band["day"].size, dtype=bool)
    for key in keys:
        b = np.asarray(band[key], dtype=float)
        moving |= ~np.isclose(b, b[-1], rtol=1e-6, atol=1e-9)
    idx = np.flatnonzero(moving)
    return int(band["day"][idx[-1] + 1]) if idx.size and idx[-1] + 1 < moving.size else \
        int(band["day"][-1]) if idx.size else 0


def action_end(settled: int, horizon: int) -> int:
    """The last day a fan shows: a margin past the day its bands settle, never past the
    horizon, never under a month."""
    return int(min(horizon, max(30, math.ceil(settled * 1.15 + 7))))


def _history(run: Result, name: str, observed) -> tuple[np.ndarray, np.ndarray, str] | None:
    """Days from the run's start, positions as the fan shows them, and the legend's words of
    the history a sector's panel draws: ``observed`` (a series, or series by sector) where
    given, else the traced history the scenario keeps (``observed:`` under the sector);
    ``observed=False``: none."""
    if observed is False:
        return None
    sector = run.scenario.sector(name)
    if observed is not None:
        series = _observed_for(observed, name)
        if series is None or not len(series):
            return None
        od, ov = observed_in_run_units(run, name, series)
        return od, reader_values(sector, ov), f"observed ({len(series)} dates)"
    traced = sector.observed
    if traced is None or not len(traced):
        return None
    days = np.array([(d - run.start).days for d in traced.dates], dtype=float)
    import textwrap

    return (days, np.asarray(traced.values, dtype=float),
            textwrap.fill(f"traced ({len(traced)} dates): {traced.source}", 60))


def fan_chart(runs: list[Result], *, labels: list[str] | None = None,
              sectors: list[str] | None = None,
              observed: ObservedSeries | Mapping[str, ObservedSeries] | bool | None = None,
              paths: int = SAMPLE_PATHS) -> Figure:
    """Per-day bands of progress in 10% steps (P5–P95 … P45–P55), the median and ``paths``
    single replications (thin lines) in the quantity a reader thinks in (km left to the
    objective along an axis, km² held in an area), with the objective, milestones and
    defensive lines; today (the run's day 0) marked and, to the left of it, the history: the
    traced history the scenario keeps for the sector (its ``observed:`` key), or ``observed``
    where given (a series, or series by sector) instead; ``observed=False`` draws none. The
    time axis ends soon after the bands stop moving, with a note saying so. One panel per run
    and sector."""
    names = run_labels(runs, labels) if labels or len(runs) > 1 else [None] * len(runs)
    panels = [(r, lab, name) for r, lab in zip(runs, names) for name in sector_names([r],
                                                                                     sectors)]
    fig, axes = figure(len(panels), width_in=12.5)
    drawn = {id(r): sample_paths(r, paths) if paths else {} for r in runs}
    for ax, (run, label, name) in zip(axes, panels):
        band, shades = _shade_bands(run, name)
        s = run.sectors[name]
        sector = s.sector
        shown = {k: (reader_values(sector, v) if k != "day" else v) for k, v in band.items()}
        x = day0(run) + band["day"]
        draw_shades(ax, x, shown, shades)
        for j, path in enumerate(drawn[id(run)].get(name, [])):
            ax.plot(x[:path.size], reader_values(sector, path), color="C1", lw=0.8,
                    alpha=0.75, label=(f"{len(drawn[id(run)][name])} single replications "
                                       "(re-simulated from the seed)") if j == 0 else None)
        ax.plot(x, shown["p50"], color="C0", lw=2, label="median of the replications")
        values = [shown[f"p{v:g}"] for pair in shades for v in pair]
        top = float(max(max(np.max(v) for v in values), reader_values(sector, s.objective_at),
                        reader_values(sector, sector.start_at)))
        bottom = 0.0
        left = x[0]
        settled = settle_day(band, shades)
        end = action_end(settled, run.horizon_days)
        right = day0(run) + end
        history = _history(run, name, observed)
        if history is not None:
            od, ov, text = history
            ax.plot(day0(run) + od, ov, "o-", color="black", ms=3.5, lw=1, label=text)
            # as much history as projection shown (at least HISTORY_DAYS): a long record
            # would squeeze the fan into a corner; the line runs on past the left edge
            window = max(end, HISTORY_DAYS)
            seen = od >= -window
            vs = list(ov[seen])
            if not seen.all():  # the value where the line crosses the left edge
                vs.append(float(np.interp(-window, od, ov)))
            left = min(left, day0(run) + (float(od.min()) if seen.all() else -window))
            top = max(top, *vs)
            bottom = min(bottom, *vs)
        history_shown = left < x[0]
        left -= 0.012 * (right - left)  # a little room: the today line or the first point
        ax.set_xlim(left, right)
        noted = end < run.horizon_days  # a note at the top says where the chart ends
        span = top - bottom
        ax.set_ylim(bottom - 0.04 * span, top + (0.14 if noted else 0.08) * span)
        ax.axvline(x[0], color="black", lw=1.2,
                   label=f"today: {run.start}, the projection's day 0")
        if history_shown:  # history to its left: name the line where it stands
            ax.annotate("today", (x[0], 1), xycoords=("data", "axes fraction"),
                        xytext=(-3, -18 if noted else -3), textcoords="offset points",
                        va="top", ha="right", fontsize=9, fontweight="bold")
        if noted:
            ax.annotate(f"The bands do not move after {run.date_of(settled)}: the chart "
                        f"ends at {run.date_of(end)}, the run at its horizon, "
                        f"{run.date_of(run.horizon_days)}.", (1, 1),
                        xycoords="axes fraction", xytext=(-4, -4), textcoords="offset points",
                        ha="right", va="top", fontsize=8, color="0.3",
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.8"})
        objective_text = (f"objective: {s.objective}" if sector.direction > 0 else
                          f"objective: {s.objective} ({at_text(s, s.objective_at, True)})")
        marks = [(s.objective_at, objective_text, "black", "--", 0.0)]
        marks += [(at, f"{m} ({_reader_at(sector, at)})", "0.4", ":", 0.0)
                  for m, at in s.milestone_at.items()]
        marks += [(at, f"defensive line: {ln} ({_reader_at(sector, at)})", "C5", "-", 1.0)
                  for ln, at in defensive_lines(run, name)]
        for at, text, color, ls, side in marks:
            y = float(reader_values(sector, at))
            ax.axhline(y, color=color, ls=ls, lw=1, alpha=0.8)
            # Lines are named at the right, under them: the fan has passed them there.
            # names on the left start at day 0, clear of any observed history
            where = (side, y) if side else (x[0], y)
            ax.annotate(text, where, xycoords=("axes fraction" if side else "data", "data"),
                        xytext=(-4, -2) if side else (4, 2), textcoords="offset points",
                        fontsize=9, color=color, va="top" if side else "bottom",
                        ha="right" if side else "left")
        p = float(np.isfinite(s.objective_day).mean())
        median = np.percentile(s.objective_day, 50) if p > 0.5 else math.inf
        if math.isfinite(median):
            ax.axvline(day0(run) + median, color="C3", lw=1, ls="--",
                       label=f"median date the objective is reached: {run.date_of(median)}")
        head = panel_title(run, name) + (f" — {label}" if label else "")
        ax.set_title(f"{head}\n{run.replications:,} replications, seed {run.seed} · "
                     f"P(objective reached by {run.date_of(run.horizon_days)}) {p_is(p)}",
                     fontsize=11)
        ax.set_ylabel(reader_label(sector))
        legend_outside(ax)
        dated(ax)
    return fig


# -- cdf -----------------------------------------------------------------------------------------


def cdf_chart(runs: list[Result], *, labels: list[str] | None = None,
              sectors: list[str] | None = None) -> Figure:
    """P(objective reached by each date), runs overlaid; each curve ends at its horizon, where
    the rest of its replications are censored."""
    labels = run_labels(runs, labels)
    names = sector_names(runs, sectors)
    fig, axes = figure(len(names), width_in=12.5)
    for ax, name in zip(axes, names):
        obj = runs[0].sectors[name].objective
        right = -math.inf  # date numbers before 1970 are negative
        for i, (run, label) in enumerate(zip(runs, labels)):
            d = run.sectors[name].objective_day
            d = d[d <= run.horizon_days]
            x0 = day0(run)
            t = np.concatenate([[0.0], np.sort(d), [run.horizon_days]])
            y = np.concatenate([[0.0], np.arange(1, d.size + 1), [d.size]]) / run.replications
            (median,) = censored_percentiles(censor_at(run.sectors[name].objective_day,
                                                       run.horizon_days), [50])
            when = "beyond the horizon" if median is None else str(run.date_of(median))
            ax.step(x0 + t, y, where="post", color=f"C{i}", lw=2,
                    label=f"{label}: median {when}; "
                          f"{probability(y[-1])} by {run.date_of(run.horizon_days)}")
            right = max(right, x0 + run.horizon_days)
        for h in sorted({day0(r) + r.horizon_days for r in runs}):
            ax.axvline(h, color="0.3", lw=1, ls="--")
            ax.annotate("horizon", (h, 0.02), xytext=(-3, 2), textcoords="offset points",
                        ha="right", fontsize=9, color="0.3", rotation=90)
        ax.axhline(0.5, color="0.5", lw=0.8, ls=":")
        ax.annotate("even chance", (0, 0.5), xycoords=("axes fraction", "data"),
                    xytext=(4, 2), textcoords="offset points", fontsize=9, color="0.4")
        ax.set_xlim(day0(runs[0]), right * 1.0 + 0.02 * (right - day0(runs[0])))
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("P(objective reached by date)")
        ax.set_xlabel(f"Date (day 0: {runs[0].start})")
        ax.set_title(f"When the objective ({obj}) is reached: {panel_title(runs[0], name)}\n"
                     f"{replications_text(runs)}; each curve ends at its run's horizon",
                     fontsize=11)
        legend_outside(ax, fontsize=9, title="run: median date; P(reached) by its horizon",
                       title_fontsize=9)
        dated(ax)
    return fig


# -- histogram -----------------------------------------------------------------------------------


def hist_chart(runs: list[Result], *, labels: list[str] | None = None,
               sectors: list[str] | None = None, bin_days: int = 7) -> Figure:
    """The distribution of the objective day, bins of ``bin_days``; the replications that do
    not reach the objective within the horizon are one hatched bar past it."""
    labels = run_labels(runs, labels)
    names = sector_names(runs, sectors)
    fig, axes = figure(len(names), width_in=12.5)
    for ax, name in zip(axes, names):
        obj = runs[0].sectors[name].objective
        width = 2.0 * bin_days  # each run's censored bar: wide enough for its label
        right = -math.inf  # date numbers before 1970 are negative
        for i, (run, label) in enumerate(zip(runs, labels)):
            d = run.sectors[name].objective_day
            h, x0 = run.horizon_days, day0(run)
            edges = np.arange(0, h + bin_days, bin_days, dtype=float)
            edges[-1] = min(edges[-1], h)
            reached = d[d <= h]
            counts, _ = np.histogram(reached, bins=edges)
            ax.stairs(counts / run.replications, x0 + edges, fill=True, alpha=0.35,
                      color=f"C{i}", label=f"{label}: day reached")
            ax.stairs(counts / run.replications, x0 + edges, color=f"C{i}", lw=1.2)
            censored = 1 - reached.size / run.replications
            left = x0 + h + bin_days + i * width
            ax.bar(left, censored, width=width, align="edge", color=f"C{i}", alpha=0.35,
                   hatch="//", edgecolor=f"C{i}",
                   label=f"{label}: not reached by {run.date_of(h)} ({share_text(censored)})")
            ax.annotate(share_text(censored), (left + width / 2, censored), xytext=(0, 2),
                        textcoords="offset points", ha="center", fontsize=9)
            ax.axvline(x0 + h, color="0.3", lw=1, ls="--")
            right = max(right, left + width + bin_days)
        ax.annotate("horizon", (day0(runs[0]) + runs[0].horizon_days, 1), xycoords=(
            "data", "axes fraction"), xytext=(-4, -12), textcoords="offset points",
            ha="right", fontsize=9, color="0.3")
        ax.set_xlim(day0(runs[0]), right)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.08)
        ax.set_ylabel(f"Share of replications per {bin_days} days")
        ax.set_xlabel(f"Date (day 0: {runs[0].start})")
        ax.yaxis.set_major_formatter(_percent())
        ax.set_title(f"Date the objective ({obj}) is reached: {panel_title(runs[0], name)}\n"
                     f"{replications_text(runs)}; hatched: not reached within the horizon",
                     fontsize=11)
        legend_outside(ax, fontsize=9)
        dated(ax)
    return fig


# -- milestones ----------------------------------------------------------------------------------


def milestones_chart(runs: list[Result], *, labels: list[str] | None = None,
                     sectors: list[str] | None = None) -> Figure:
    """When each milestone and the objective fall: P10–P90 and P25–P75 intervals and the
    median, per run; an interval that runs past the horizon ends in an arrow."""
    labels = run_labels(runs, labels)
    names = sector_names(runs, sectors)
    rows_max = max(len(runs[0].sectors[n].milestone_at) + 1 for n in names)
    fig, axes = figure(len(names), min(PANEL_IN, 1.6 + 0.45 * rows_max * len(runs)) + 0.6,
                       width_in=12.5)
    for ax, name in zip(axes, names):
        s0 = runs[0].sectors[name]
        # in the order they are reached
        items = sorted(s0.milestone_at.items(), key=lambda kv: s0.sector.direction * kv[1])
        rows = [*[(m, f"{m} ({at_text(s0, at)})") for m, at in items],
                (None, f"objective: {s0.objective} ({at_text(s0, s0.objective_at, True)})")]
        step = 0.8 / len(runs)
        right = -math.inf  # date numbers before 1970 are negative
        for i, (run, label) in enumerate(zip(runs, labels)):
            s, x0, h = run.sectors[name], day0(run), run.horizon_days
            right = max(right, x0 + h)
            for j, (m, _) in enumerate(rows):
                if m is not None and m not in s.milestones:
                    continue
                d = s.objective_day if m is None else s.milestones[m]
                q = [h + 0.0 if v is None else v
                     for v in censored_percentiles(d, [10, 25, 50, 75, 90])]
                y = j + 0.4 - step * (i + 0.5)
                ax.hlines(y, x0 + q[0], x0 + q[4], color=f"C{i}", lw=1.5,
                          label=label if j == 0 else "_nolegend_")
                ax.hlines(y, x0 + q[1], x0 + q[3], color=f"C{i}", lw=7, alpha=0.6)
                if q[2] < h:
                    ax.plot(x0 + q[2], y, "o", color="white", mec=f"C{i}", ms=6)
                if q[4] >= h:
                    ax.plot(x0 + h, y, ">", color=f"C{i}", ms=8)
                ax.annotate(f"P {p_is(float(np.isfinite(d).mean()))}", (x0 + h, y), xytext=(8, 0),
                            textcoords="offset points", va="center", fontsize=8)
        for i, run in enumerate(runs):
            ax.axvline(day0(run) + run.horizon_days, color=f"C{i}", lw=1, ls="--")
        ax.set_yticks(range(len(rows)), [r[1] for r in rows])
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_xlim(day0(runs[0]), right + 0.12 * (right - day0(runs[0])))
        ax.set_title(
            f"When each milestone falls: {panel_title(runs[0], name)} "
            f"({replications_text(runs)})\n"
            "thin: P10–P90 · thick: P25–P75 · dot: median · ▶: past the horizon (dashed) · "
            "P: reached within it", fontsize=10)
        legend_outside(ax, fontsize=9)
        dated(ax)
    return fig


def _percent():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


# -- forces --------------------------------------------------------------------------------------


def forces_chart(runs: list[Result], *, labels: list[str] | None = None,
                 sectors: list[str] | None = None) -> Figure:
    """Troops by side per day: the attacker's and the defender's P5–P95 and P25–P75 bands and
    medians, and the median day each side reaches its breakpoint; a panel per run and sector."""
    names = run_labels(runs, labels) if labels or len(runs) > 1 else [None] * len(runs)
    panels = [(r, lab, name) for r, lab in zip(runs, names) for name in sector_names([r],
                                                                                     sectors)]
    fig, axes = figure(len(panels), 4.2, width_in=12.5)
    for ax, (run, label, name) in zip(axes, panels):
        so = run.sectors[name]
        bands = so.forces_bands((5.0, 25.0, 50.0, 75.0, 95.0), run.source)
        breaks = so.breakpoint_days() or {}
        x0 = day0(run)
        top = 0.0
        for side, color in (("attacker", "C3"), ("defender", "C0")):
            b = bands[side]
            x = x0 + b["day"]
            ax.fill_between(x, b["p5"], b["p95"], color=color, alpha=0.15, lw=0)
            ax.fill_between(x, b["p25"], b["p75"], color=color, alpha=0.3, lw=0)
            ax.plot(x, b["p50"], color=color, lw=2, label=f"{side}: median troops")
            top = max(top, float(np.max(b["p95"])))
            fraction = getattr(so.sector, side).breakpoint_fraction
            d = breaks.get(side)
            if d is not None and np.isfinite(d).mean() > 0.5:
                (med,) = censored_percentiles(d, [50])
                what = (f"falls to {fraction:.0%} of its peak" if fraction
                        else "has no troops left")
                if med is not None:
                    ax.axvline(x0 + med, color=color, lw=1, ls="--",
                               label=f"{side} {what}: median {run.date_of(med)} (day {day(med)})")
        reached = float(np.isfinite(so.objective_day).mean())
        settled = max(settle_day(bands[side], ((5.0, 95.0), (25.0, 75.0)))
                      for side in ("attacker", "defender"))
        end = action_end(settled, run.horizon_days)
        if reached > 0:
            (med,) = censored_percentiles(so.objective_day, [50])
            if med is not None:
                ax.axvline(x0 + med, color="0.3", lw=1, ls=":",
                           label=f"median date the objective falls: {run.date_of(med)}")
            note = ("Troops stop changing in a replication once its objective falls: "
                    f"{share_text(reached)} of\nreplications reach it by the horizon, so the "
                    "bands flatten as they do")
            if end < run.horizon_days:
                note += (f"; flat from {run.date_of(settled)} to the horizon, "
                         f"{run.date_of(run.horizon_days)}")
            ax.annotate(note + ".", (1, 1), xycoords="axes fraction", xytext=(-4, -4),
                        textcoords="offset points", ha="right", va="top", fontsize=8,
                        color="0.3", bbox={"boxstyle": "round,pad=0.2", "fc": "white",
                                           "ec": "0.8"})
        ax.set_xlim(x0, x0 + end)
        ax.set_ylim(0, top * 1.25 or 1)
        ax.yaxis.set_major_formatter(_thousands())
        ax.set_ylabel("Troops")
        head = panel_title(run, name) + (f" — {label}" if label else "")
        ax.set_title(f"Troops by side: {head}\n{run.replications:,} replications, seed "
                     f"{run.seed} · shades: P5–P95 and P25–P75", fontsize=11)
        legend_outside(ax)
        dated(ax)
    return fig


def _thousands():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:,.0f}")


RUN_KINDS = ("fan", "cdf", "hist", "milestones", "forces")  # charts of runs


def draw(runs: list[Result], kind: str, *, labels: list[str] | None = None,
         sectors: list[str] | None = None, bin_days: int = 7, observed=None) -> Figure:
    """The chart of ``kind`` (one of ``RUN_KINDS``) of ``runs``."""
    if kind == "fan":
        return fan_chart(runs, labels=labels, sectors=sectors, observed=observed)
    if kind == "forces":
        return forces_chart(runs, labels=labels, sectors=sectors)
    if kind == "cdf":
        return cdf_chart(runs, labels=labels, sectors=sectors)
    if kind == "hist":
        return hist_chart(runs, labels=labels, sectors=sectors, bin_days=bin_days)
    return milestones_chart(runs, labels=labels, sectors=sectors)
