"""The backtest chart: the observations over the model's fan, with the trailing-rate baseline."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .base import dated, figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ...forecast.backtest import Backtest


def backtest_chart(bt: Backtest) -> Figure:
    """Each sector's observations over the model's fan chart (P5–P95, P25–P75, median), with
    the baseline's median and P5–P95 at the scored dates; one panel per sector."""
    import matplotlib.dates as mdates

    names = list(bt.sectors)
    fig, axes = figure(len(names), 3.8)
    for ax, name in zip(axes, names):
        f = bt.fan(name)
        x0 = float(mdates.date2num(f["start"]))
        bands = f["bands"]
        x = x0 + f["day"]
        ax.fill_between(x, bands["p5"], bands["p95"], color="C0", alpha=0.18, lw=0,
                        label="model 5–95%")
        ax.fill_between(x, bands["p25"], bands["p75"], color="C0", alpha=0.35, lw=0,
                        label="model 25–75%")
        ax.plot(x, bands["p50"], color="C0", lw=1.2, label="model median")
        med = f["baseline"]["p50"]
        ax.errorbar(x0 + f["scored_day"], med,
                    yerr=[med - f["baseline"]["p5"], f["baseline"]["p95"] - med],
                    fmt="_", color="0.45", ms=10, lw=1, capsize=3,
                    label="trailing-rate baseline median, 5–95%")
        ax.plot(x0 + np.round(f["observed_day"]), f["observed"], "o", color="black", ms=4,
                label="observed")
        ax.axvline(x0, color="black", lw=0.6, alpha=0.5)
        ax.set_title(f"{bt.scenario.name}: {name}", fontsize=11)
        ax.set_ylabel(f["unit"])
        ax.legend(fontsize="small", loc="best")
        dated(ax)
    return fig
