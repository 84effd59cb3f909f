"""Every chart advsim draws, as matplotlib figures: of runs (fan, cdf, hist, milestones), of
a sweep's sensitivity (tornado) and of a backtest. ``plot`` draws one into a file."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ..errors import AdvsimError
from .base import check_output, require_matplotlib, save

if TYPE_CHECKING:
    from typing import TypeAlias

    from ..outcomes import Result

    RunLike: TypeAlias = Result | str | os.PathLike[str]  # a sweep folder, for tornado

KINDS = ("fan", "cdf", "hist", "milestones", "tornado")

__all__ = ["KINDS", "check_output", "plot", "require_matplotlib", "save"]


def plot(
    runs: RunLike | Sequence[RunLike], *, kind: str = "fan",
    output: str | os.PathLike[str], labels: Sequence[str] | None = None,
    sectors: Sequence[str] | None = None, metrics: Sequence[str] | None = None,
    bin_days: int = 7,
) -> Path:
    """Draw a chart of ``kind`` and write it to ``output`` (.png, .svg or .pdf).

    ``runs`` are Results (from ``simulate`` or ``Result.from_folder``), one or several; for
    ``tornado``, one sweep folder.
    """
    if kind not in KINDS:
        raise AdvsimError(f"kind: {kind!r} is not a chart kind (expected "
                          f"{', '.join(KINDS[:-1])} or {KINDS[-1]})", param="kind")
    check_output(output)
    items = [runs] if isinstance(runs, (str, os.PathLike)) or not isinstance(
        runs, Sequence) else list(runs)
    if not items:
        raise AdvsimError("plot: name at least one results folder (RUN...)")
    if kind == "tornado" and len(items) != 1:
        raise AdvsimError("plot --kind tornado: name one sweep folder")
    require_matplotlib()
    labels = list(labels) if labels else None
    sectors = list(sectors) if sectors else None
    if kind == "tornado":
        from .tornado import tornado_chart

        fig = tornado_chart(os.fspath(cast("str | os.PathLike[str]", items[0])),
                            metrics=list(metrics) if metrics else None)
    else:
        from . import runs as charts

        loaded = cast("list[Result]", items)
        if kind == "fan":
            fig = charts.fan_chart(loaded, labels=labels, sectors=sectors)
        elif kind == "cdf":
            fig = charts.cdf_chart(loaded, labels=labels, sectors=sectors)
        elif kind == "hist":
            fig = charts.hist_chart(loaded, labels=labels, sectors=sectors, bin_days=bin_days)
        else:
            fig = charts.milestones_chart(loaded, labels=labels, sectors=sectors)
    return save(fig, output)


def __getattr__(name: str):
    # The chart functions, imported on first use (they import numpy and compare).
    import importlib

    for module, names in (("runs", ("fan_chart", "cdf_chart", "hist_chart",
                                    "milestones_chart")),
                          ("tornado", ("tornado_chart", "read_sensitivity")),
                          ("backtest", ("backtest_chart",))):
        if name in names:
            return getattr(importlib.import_module(f".{module}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
