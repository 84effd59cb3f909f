"""Every chart advsim draws, as matplotlib figures: of runs (fan, cdf, hist, milestones,
forces), of a sweep (tornado, swing) and of a backtest. ``plot`` draws one: a Figure, or a file."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast, overload

from ...errors import AdvsimError, instance
from .base import check_kind, check_output, figure_or_file, require_matplotlib, save

if TYPE_CHECKING:
    from typing import TypeAlias

    from matplotlib.figure import Figure

    from ...running.outcomes import Result
    from .tornado import SweepLike

    RunLike: TypeAlias = Result | SweepLike  # a sweep, for tornado and swing

KINDS = ("fan", "cdf", "hist", "milestones", "forces", "tornado", "swing")
SWEEP_KINDS = ("tornado", "swing")  # charts of a sweep folder, not of runs

__all__ = ["KINDS", "check_output", "figure_or_file", "plot", "require_matplotlib", "save"]


@overload
def plot(runs: RunLike | Sequence[RunLike], *, kind: str = ..., output: None = ...,
         labels: Sequence[str] | None = ..., sectors: Sequence[str] | None = ...,
         metrics: Sequence[str] | None = ..., bin_days: int = ..., observed=...) -> Figure: ...
@overload
def plot(runs: RunLike | Sequence[RunLike], *, kind: str = ..., output: str | os.PathLike[str],
         labels: Sequence[str] | None = ..., sectors: Sequence[str] | None = ...,
         metrics: Sequence[str] | None = ..., bin_days: int = ..., observed=...) -> Path: ...
def plot(
    runs: RunLike | Sequence[RunLike], *, kind: str = "fan",
    output: str | os.PathLike[str] | None = None, labels: Sequence[str] | None = None,
    sectors: Sequence[str] | None = None, metrics: Sequence[str] | None = None,
    bin_days: int = 7, observed=None,
) -> Figure | Path:
    """Draw a chart of ``kind``: the matplotlib Figure (a notebook shows it), or, given
    ``output`` (.png, .svg or .pdf), that file written whole and its path.

    ``runs`` are Results (from ``simulate`` or ``Result.from_folder``), one or several; for
    ``tornado`` and ``swing``, one sweep (``SweepResult``, or a folder holding a table made
    by hand). The fan chart draws, left of the run's day 0, the traced history
    its scenario keeps (a sector's ``observed:`` key), or ``observed`` instead where given (an
    ObservedSeries, or a dict of them by sector); ``observed=False`` draws no history.
    """
    check_kind(kind, KINDS)
    if output is not None:
        check_output(output)
    items = [runs] if isinstance(runs, (str, os.PathLike)) or not isinstance(
        runs, Sequence) else list(runs)
    if not items:
        raise AdvsimError("plot: name at least one results folder (RUN...)")
    if kind in SWEEP_KINDS and len(items) != 1:
        raise AdvsimError(f"plot --kind {kind}: name one sweep folder")
    require_matplotlib()
    labels = list(labels) if labels else None
    sectors = list(sectors) if sectors else None
    if kind in SWEEP_KINDS:
        from .tornado import swing_chart, tornado_chart

        draw = tornado_chart if kind == "tornado" else swing_chart
        fig = draw(cast("SweepLike", items[0]), metrics=list(metrics) if metrics else None)
    else:
        from ...running.outcomes import Result
        from .runs import draw as draw_runs

        loaded = [instance(r, Result, "runs", "Results (sim.simulate, sim.Result.from_folder) "
                           "or results folders")
                  if not isinstance(r, (str, os.PathLike)) else Result.from_folder(r)
                  for r in items]
        fig = draw_runs(loaded, kind, labels=labels, sectors=sectors, bin_days=bin_days,
                        observed=observed)
    return figure_or_file(fig, output)


def __getattr__(name: str):
    # The chart functions, imported on first use (they import numpy and compare).
    import importlib

    for module, names in (("runs", ("fan_chart", "cdf_chart", "hist_chart",
                                    "milestones_chart", "forces_chart")),
                          ("tornado", ("tornado_chart", "read_sensitivity", "swing_chart",
                                       "read_swing")),
                          ("backtest", ("backtest_chart",))):
        if name in names:
            return getattr(importlib.import_module(f".{module}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
