"""The backtest chart: the observations over the model's fan, with the trailing-rate baseline."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import AdvsimError
from .base import dated, figure, legend_outside

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ...data.observed import ObservedSeries
    from ...forecast.backtest import Backtest


def series_label(series: ObservedSeries) -> str:
    """What the series drawn against the fan is, from its own ``source`` column: a synthetic
    series is never called "observed"; an observed one names its source (or its file)."""
    from pathlib import Path

    sources = sorted({s.strip() for s in series.extra.get("source", ()) if s.strip()})
    if any("synthetic" in s.lower() for s in sources):
        return "synthetic series (not observed)"
    if len(sources) == 1:
        source = sources[0] if len(sources[0]) <= 60 else sources[0][:57] + "..."
        return f"observed ({source})"
    return f"observed ({Path(series.file).name})"


def backtest_chart(bt: Backtest) -> Figure:
    """Each sector's observations over the model's fan chart (shaded as the run's fan is, in
    10% steps from P5–P95 to P45–P55, and the median), with the baseline's median and P5–P95
    at the scored dates; one panel per sector. The series is labelled by its source: a
    synthetic one is called synthetic."""
    import matplotlib.dates as mdates

    from ...analysis.summary import FAN_PERCENTILES
    from .runs import OLD_SHADES, SHADES, draw_shades

    names = list(bt.sectors)
    fig, axes = figure(len(names), 3.8, width_in=12.5)
    for ax, name in zip(axes, names):
        shades: tuple[tuple[float, float], ...]
        try:
            f, shades = bt.fan(name, FAN_PERCENTILES), SHADES
        except AdvsimError:  # a folder whose bands lack the 10% steps
            f, shades = bt.fan(name), OLD_SHADES
        x0 = float(mdates.date2num(f["start"]))
        bands = f["bands"]
        x = x0 + f["day"]
        draw_shades(ax, x, bands, shades)
        ax.plot(x, bands["p50"], color="C0", lw=1.5, label="model median")
        med = f["baseline"]["p50"]
        ax.errorbar(x0 + f["scored_day"], med,
                    yerr=[med - f["baseline"]["p5"], f["baseline"]["p95"] - med],
                    fmt="_", color="0.45", ms=10, lw=1, capsize=3,
                    label="trailing-rate baseline: median, P5–P95")
        ax.plot(x0 + np.round(f["observed_day"]), f["observed"], "o", color="black", ms=4,
                label=series_label(bt.sectors[name].series))
        ax.axvline(x0, color="black", lw=0.6, alpha=0.5,
                   label=f"the backtest's origin: {f['start']}")
        ax.set_title(f"{bt.scenario.name} · sector {name}", fontsize=11)
        ax.set_ylabel(f["unit"])
        legend_outside(ax)
        dated(ax)
    return fig
