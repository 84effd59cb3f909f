"""Charts of runs read back from their folders: fan, CDF, histogram, milestones and tornado.

matplotlib is an optional extra (``pip install 'advsim[plot]'``), imported on first use; figures
are built as ``matplotlib.figure.Figure`` objects, without pyplot's global state, and saved with
the Agg (PNG), SVG or PDF canvas by the file's suffix. Every chart names its scenario, sector
and number of replications, puts calendar dates on the time axis and keeps censored outcomes
visible as censored.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import AdvsimError
from .files import atomic_file
from .results import RunRead, SectorOutcomesRead

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

KINDS = ("fan", "cdf", "hist", "milestones", "tornado")
SUFFIXES = (".png", ".svg", ".pdf")
# The influence column of sensitivity.csv, first found: partial rank correlation, a generic
# name, total- and first-order Sobol indices.
INFLUENCE_COLUMNS = ("prcc", "influence", "st", "s1")
_INFLUENCE_NAMES = {"prcc": "partial rank correlation", "influence": "influence",
                    "st": "total-order Sobol index", "s1": "first-order Sobol index"}
_WIDTH_IN, _PANEL_IN = 10.0, 4.6


def require_matplotlib() -> None:
    """Raise a one-line AdvsimError when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise AdvsimError(
            "plots need matplotlib, an optional extra: pip install 'advsim[plot]'"
        ) from None


def check_output(path: str | os.PathLike[str]) -> Path:
    """The chart file's path, if its suffix names a format we write."""
    p = Path(path)
    if p.suffix.lower() not in SUFFIXES:
        raise AdvsimError(f"{p}: unknown image suffix {p.suffix or '(none)'!r} "
                          "(expected .png, .svg or .pdf)")
    return p


def save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` to ``path`` (format by suffix), whole or not at all."""
    p = check_output(path)
    with atomic_file(p) as f:
        fig.savefig(f, format=p.suffix.lower()[1:], dpi=150)
    return p


# -- shared pieces -------------------------------------------------------------------------------


def _figure(panels: int, panel_in: float = _PANEL_IN) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(_WIDTH_IN, panel_in * panels), layout="constrained")
    axes = fig.subplots(panels, 1, squeeze=False)[:, 0]
    return fig, list(axes)


def _dates(ax: Axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(True, alpha=0.3)


def _x0(run: RunRead) -> float:
    """matplotlib's date number of the run's day 0."""
    import matplotlib.dates as mdates

    return float(mdates.date2num(run.start))


def _sector_names(runs: list[RunRead], sectors: list[str] | None) -> list[str]:
    common = [s for s in runs[0].sectors if all(s in r.sectors for r in runs[1:])]
    if sectors:
        for s in sectors:
            if s not in common:
                raise AdvsimError(f"--sector: {s!r} is not a sector of every run "
                                  f"(common: {', '.join(common) or 'none'})")
        return list(sectors)
    if not common:
        raise AdvsimError("plot: the runs share no sector (sectors are matched by name)")
    return common


def run_labels(runs: list[RunRead], labels: list[str] | None = None) -> list[str]:
    """Legend labels: the user's, or A, B... with what distinguishes each run."""
    if labels:
        if len(labels) != len(runs):
            raise AdvsimError(f"--label: {len(labels)} labels for {len(runs)} runs")
        return list(labels)
    from .compare import default_labels

    out = []
    for letter, r in zip(default_labels(len(runs)), runs):
        what = ", ".join(o.rsplit(".", 1)[-1] if len(o) > 40 else o for o in r.overrides)
        what = what or (r.scenario if len({x.scenario for x in runs}) > 1 else "as in scenario")
        out.append(f"{letter}: {what} (seed {r.seed})")
    return out


def _reps(runs: list[RunRead]) -> str:
    ns = {r.replications for r in runs}
    return f"{ns.pop():,} replications" + (" each" if len(runs) > 1 else "") if len(ns) == 1 \
        else "replications " + ", ".join(f"{r.replications:,}" for r in runs)


def _quantity(s: SectorOutcomesRead) -> str:
    return ("Advance from the start line, km" if s.kind == "axis"
            else "Area still held by the defender, km²")


def _at(s: SectorOutcomesRead, at: float, objective: bool = False) -> str:
    if s.kind == "axis":
        return f"{at:g} km"
    return f"{'≤ ' if objective else ''}{at:g} km² held"


# -- fan -----------------------------------------------------------------------------------------


def defensive_lines(run: RunRead, sector: str) -> list[tuple[str, float]]:
    """(name, km along the axis or km² held) of the sector's prepared lines, from the run's
    resolved scenario.yaml; none where it cannot be read."""
    from .loader import load_scenario

    try:
        sc = load_scenario(run.folder / "scenario.yaml")
    except (AdvsimError, OSError):
        return []
    return [(ln.name, ln.at) for s in sc.sectors if s.name == sector for ln in s.lines]


def fan_chart(runs: list[RunRead], *, labels: list[str] | None = None,
              sectors: list[str] | None = None) -> Figure:
    """Per-day bands of progress (P5–P95, P25–P75, median) with the objective, milestones and
    defensive lines; one panel per run and sector."""
    names = run_labels(runs, labels) if labels or len(runs) > 1 else [None] * len(runs)
    panels = [(r, lab, name) for r, lab in zip(runs, names) for name in _sector_names([r],
                                                                                     sectors)]
    fig, axes = _figure(len(panels))
    for ax, (run, label, name) in zip(axes, panels):
        band = run.bands().get(name)
        need = [k for k in ("p5", "p25", "p50", "p75", "p95") if band is None or k not in band]
        if need:
            raise AdvsimError(f"{run.spec}: bands.csv lacks {need[0]} of sector {name!r} "
                              "(a fan needs p5, p25, p50, p75, p95)")
        s = run.sectors[name]
        x = _x0(run) + band["day"]
        ax.fill_between(x, band["p5"], band["p95"], color="C0", alpha=0.18, lw=0,
                        label="P5–P95: 90% of replications")
        ax.fill_between(x, band["p25"], band["p75"], color="C0", alpha=0.4, lw=0,
                        label="P25–P75: the middle half")
        ax.plot(x, band["p50"], color="C0", lw=2, label="median")
        top = float(max(np.max(band["p95"]), s.objective_at))
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(0, top * 1.08)
        marks = [(s.objective_at, f"objective: {s.objective} ({_at(s, s.objective_at, True)})",
                  "black", "--", 0.0)]
        marks += [(at, f"{m} ({_at(s, at)})", "0.4", ":", 0.0)
                  for m, at in s.milestone_at.items()]
        marks += [(at, f"defensive line: {ln} ({_at(s, at)})", "C5", "-", 1.0)
                  for ln, at in defensive_lines(run, name)]
        for y, text, color, ls, side in marks:
            ax.axhline(y, color=color, ls=ls, lw=1, alpha=0.8)
            # Lines are named at the right, under them: the fan has passed them there.
            ax.annotate(text, (side, y), xycoords=("axes fraction", "data"),
                        xytext=(-4, -2) if side else (4, 2), textcoords="offset points",
                        fontsize=9, color=color, va="top" if side else "bottom",
                        ha="right" if side else "left")
        p = float(np.isfinite(s.objective_day).mean())
        median = np.percentile(s.objective_day, 50) if p > 0.5 else math.inf
        if math.isfinite(median):
            ax.axvline(_x0(run) + median, color="C3", lw=1, ls="--",
                       label=f"median date the objective is reached: {run.date_of(median)}")
        head = f"{run.scenario}: {name}" + (f" — {label}" if label else "")
        ax.set_title(f"{head}\n{run.replications:,} replications, seed {run.seed} · "
                     f"P(objective reached by {run.date_of(run.horizon_days)}) = {p:.2f}",
                     fontsize=11)
        ax.set_ylabel(_quantity(s))
        ax.legend(loc="lower right" if s.kind == "axis" else "upper right", fontsize=9)
        _dates(ax)
    return fig


# -- cdf -----------------------------------------------------------------------------------------


def cdf_chart(runs: list[RunRead], *, labels: list[str] | None = None,
              sectors: list[str] | None = None) -> Figure:
    """P(objective reached by each date), runs overlaid; each curve ends at its horizon, where
    the rest of its replications are censored."""
    from .compare import censor_at
    from .summary import censored_percentiles

    labels = run_labels(runs, labels)
    names = _sector_names(runs, sectors)
    fig, axes = _figure(len(names))
    for ax, name in zip(axes, names):
        obj = runs[0].sectors[name].objective
        right = 0.0
        for i, (run, label) in enumerate(zip(runs, labels)):
            d = run.sectors[name].objective_day
            d = d[d <= run.horizon_days]
            x0 = _x0(run)
            t = np.concatenate([[0.0], np.sort(d), [run.horizon_days]])
            y = np.concatenate([[0.0], np.arange(1, d.size + 1), [d.size]]) / run.replications
            (median,) = censored_percentiles(censor_at(run.sectors[name].objective_day,
                                                       run.horizon_days), [50])
            when = "beyond the horizon" if median is None else str(run.date_of(median))
            ax.step(x0 + t, y, where="post", color=f"C{i}", lw=2,
                    label=f"{label}: median {when}; "
                          f"{y[-1]:.2f} by {run.date_of(run.horizon_days)}")
            right = max(right, x0 + run.horizon_days)
        ax.axhline(0.5, color="0.5", lw=0.8, ls=":")
        ax.annotate("even chance", (0, 0.5), xycoords=("axes fraction", "data"),
                    xytext=(4, 2), textcoords="offset points", fontsize=9, color="0.4")
        ax.set_xlim(_x0(runs[0]), right)
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("P(objective reached by date)")
        ax.set_title(f"When the objective ({obj}) is reached: {runs[0].scenario}, {name}\n"
                     f"{_reps(runs)}; each curve ends at its run's horizon",
                     fontsize=11)
        ax.legend(loc="upper left", fontsize=9,
                  title="run: median date; P(reached) by its horizon", title_fontsize=9)
        _dates(ax)
    return fig


# -- histogram -----------------------------------------------------------------------------------


def hist_chart(runs: list[RunRead], *, labels: list[str] | None = None,
               sectors: list[str] | None = None, bin_days: int = 7) -> Figure:
    """The distribution of the objective day, bins of ``bin_days``; the replications that do
    not reach the objective within the horizon are one hatched bar past it."""
    labels = run_labels(runs, labels)
    names = _sector_names(runs, sectors)
    fig, axes = _figure(len(names))
    for ax, name in zip(axes, names):
        obj = runs[0].sectors[name].objective
        width = 2.0 * bin_days  # each run's censored bar: wide enough for its label
        right = 0.0
        for i, (run, label) in enumerate(zip(runs, labels)):
            d = run.sectors[name].objective_day
            h, x0 = run.horizon_days, _x0(run)
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
                   label=f"{label}: not reached by {run.date_of(h)} ({censored:.0%})")
            ax.annotate(f"{censored:.0%}", (left + width / 2, censored), xytext=(0, 2),
                        textcoords="offset points", ha="center", fontsize=9)
            ax.axvline(x0 + h, color="0.3", lw=1, ls="--")
            right = max(right, left + width + bin_days)
        ax.annotate("horizon", (_x0(runs[0]) + runs[0].horizon_days, 1), xycoords=(
            "data", "axes fraction"), xytext=(-4, -12), textcoords="offset points",
            ha="right", fontsize=9, color="0.3")
        ax.set_xlim(_x0(runs[0]), right)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.08)
        ax.set_ylabel(f"Share of replications per {bin_days} days")
        ax.set_title(f"Date the objective ({obj}) is reached: {runs[0].scenario}, {name}\n"
                     f"{_reps(runs)}; hatched: not reached within the horizon",
                     fontsize=11)
        ax.legend(loc="upper left", fontsize=9)
        _dates(ax)
    return fig


# -- milestones ----------------------------------------------------------------------------------


def milestones_chart(runs: list[RunRead], *, labels: list[str] | None = None,
                     sectors: list[str] | None = None) -> Figure:
    """When each milestone and the objective fall: P10–P90 and P25–P75 intervals and the
    median, per run; an interval that runs past the horizon ends in an arrow."""
    from .summary import censored_percentiles

    labels = run_labels(runs, labels)
    names = _sector_names(runs, sectors)
    rows_max = max(len(runs[0].sectors[n].milestone_at) + 1 for n in names)
    fig, axes = _figure(len(names), min(_PANEL_IN, 1.6 + 0.45 * rows_max * len(runs)) + 0.6)
    for ax, name in zip(axes, names):
        s0 = runs[0].sectors[name]
        sign = -1 if s0.kind == "area" else 1  # in the order they are reached
        items = sorted(s0.milestone_at.items(), key=lambda kv: sign * kv[1])
        rows = [*[(m, f"{m} ({_at(s0, at)})") for m, at in items],
                (None, f"objective: {s0.objective} ({_at(s0, s0.objective_at, True)})")]
        step = 0.8 / len(runs)
        right = 0.0
        for i, (run, label) in enumerate(zip(runs, labels)):
            s, x0, h = run.sectors[name], _x0(run), run.horizon_days
            right = max(right, x0 + h)
            for j, (m, _) in enumerate(rows):
                if m is not None and m not in s.milestones:
                    continue
                d = s.objective_day if m is None else s.milestones[m]
                q = [h + 0.0 if v is None else v
                     for v in censored_percentiles(d, [10, 25, 50, 75, 90])]
                y = j + 0.4 - step * (i + 0.5)
                ax.hlines(y, x0 + q[0], x0 + q[4], color=f"C{i}", lw=1.5,
                          label=label if j == 0 else None)
                ax.hlines(y, x0 + q[1], x0 + q[3], color=f"C{i}", lw=7, alpha=0.6)
                if q[2] < h:
                    ax.plot(x0 + q[2], y, "o", color="white", mec=f"C{i}", ms=6)
                if q[4] >= h:
                    ax.plot(x0 + h, y, ">", color=f"C{i}", ms=8)
                ax.annotate(f"P = {np.isfinite(d).mean():.2f}", (x0 + h, y), xytext=(8, 0),
                            textcoords="offset points", va="center", fontsize=8)
        for i, run in enumerate(runs):
            ax.axvline(_x0(run) + run.horizon_days, color=f"C{i}", lw=1, ls="--")
        ax.set_yticks(range(len(rows)), [r[1] for r in rows])
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_xlim(_x0(runs[0]), right + 0.12 * (right - _x0(runs[0])))
        ax.set_title(
            f"When each milestone falls: {runs[0].scenario}, {name} ({_reps(runs)})\n"
            "thin: P10–P90 · thick: P25–P75 · dot: median · ▶: past the horizon (dashed) · "
            "P: reached within it", fontsize=10)
        ax.legend(loc="upper left", fontsize=9)
        _dates(ax)
    return fig


# -- tornado -------------------------------------------------------------------------------------


def read_sensitivity(spec: str) -> tuple[Path, dict[str, list[str]], str]:
    """A sweep's sensitivity table: the file, its columns and the name of the influence
    column. Expected columns: ``parameter``, ``metric`` and an influence value, the first of
    prcc, influence, st, s1; optional ``ci95_low`` and ``ci95_high``."""
    from .results import read_csv_columns

    p = Path(spec)
    path = p / "sensitivity.csv" if p.is_dir() else p
    if not path.is_file():
        raise AdvsimError(
            f"{spec}: no sensitivity.csv (a tornado chart reads a sweep folder's sensitivity "
            "table: columns parameter, metric, prcc)"
        )
    cols = read_csv_columns(path, spec)
    missing = [c for c in ("parameter", "metric") if c not in cols]
    value = next((c for c in INFLUENCE_COLUMNS if c in cols), None)
    if missing or value is None:
        what = (f"no column {missing[0]!r}" if missing else
                f"no influence column (one of {', '.join(INFLUENCE_COLUMNS)})")
        raise AdvsimError(f"{path}: {what}; expected columns parameter, metric, prcc")
    return path, cols, value


def tornado_chart(spec: str, *, metrics: list[str] | None = None) -> Figure:
    """The swept parameters ranked by their influence on each metric, largest on top."""
    path, cols, value = read_sensitivity(spec)
    try:
        v = np.array([float(x) for x in cols[value]])
        ci = (np.array([float(x) for x in cols["ci95_low"]]),
              np.array([float(x) for x in cols["ci95_high"]])) \
            if "ci95_low" in cols and "ci95_high" in cols else None
    except ValueError as e:
        raise AdvsimError(f"{path}: {e}") from None
    names = list(dict.fromkeys(cols["metric"]))
    for m in metrics or []:
        if m not in names:
            raise AdvsimError(f"--metric: {m!r} is not in {path.name} "
                              f"(metrics: {', '.join(names)})")
    names = list(metrics) if metrics else names
    fig, axes = _figure(len(names))
    metric = np.asarray(cols["metric"])
    params = np.asarray(cols["parameter"])
    for ax, m in zip(axes, names):
        idx = np.flatnonzero(metric == m)
        idx = idx[np.argsort(np.abs(v[idx]), kind="stable")]  # largest at the top
        colors = ["C3" if x < 0 else "C0" for x in v[idx]]
        err = None
        if ci is not None:
            err = np.vstack([v[idx] - ci[0][idx], ci[1][idx] - v[idx]])
        ax.barh(range(idx.size), v[idx], color=colors, xerr=err, capsize=3)
        ax.set_yticks(range(idx.size), params[idx])
        ax.axvline(0, color="black", lw=0.8)
        if value == "prcc":
            ax.set_xlim(-1, 1)
        ax.set_xlabel(f"{_INFLUENCE_NAMES[value]} ({value})"
                      + (" with 95% interval" if ci is not None else ""))
        ax.set_title(f"Influence of the swept parameters on {m}  ({path.parent.name})",
                     fontsize=11)
        ax.grid(True, axis="x", alpha=0.3)
    return fig


# -- entry point ---------------------------------------------------------------------------------


def plot(
    kind: str, specs: list[str], out: str | os.PathLike[str], *,
    labels: list[str] | None = None, sectors: list[str] | None = None,
    metrics: list[str] | None = None, bin_days: int = 7,
) -> Path:
    """Draw a chart of ``kind`` from results folders (or a sweep folder, for tornado) and
    write it to ``out``."""
    if kind not in KINDS:
        raise AdvsimError(f"--kind: {kind!r} is not a chart kind (expected "
                          f"{', '.join(KINDS[:-1])} or {KINDS[-1]})")
    check_output(out)
    if not specs:
        raise AdvsimError("plot: name at least one results folder (RUN...)")
    if kind == "tornado" and len(specs) != 1:
        raise AdvsimError("plot --kind tornado: name one sweep folder")
    require_matplotlib()
    if kind == "tornado":
        fig = tornado_chart(specs[0], metrics=metrics)
    else:
        from .results import load_run

        runs = [load_run(s) for s in specs]
        if kind == "fan":
            fig = fan_chart(runs, labels=labels, sectors=sectors)
        elif kind == "cdf":
            fig = cdf_chart(runs, labels=labels, sectors=sectors)
        elif kind == "hist":
            fig = hist_chart(runs, labels=labels, sectors=sectors, bin_days=bin_days)
        else:
            fig = milestones_chart(runs, labels=labels, sectors=sectors)
    return save(fig, out)


def write_fan(folder: Path) -> Path:
    """The fan chart of the run in ``folder``, as ``folder/fan.png`` (advsim run --plot)."""
    from .results import load_run

    return save(fan_chart([load_run(folder)]), folder / "fan.png")

