"""What every chart shares: the figure, dated axes, labels, and writing the file whole.

matplotlib is an optional extra (``pip install 'advsim[plot]'``), imported on first use; figures
are ``matplotlib.figure.Figure`` objects, never pyplot's global state, saved with the Agg (PNG),
SVG or PDF canvas by the file's suffix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AdvsimError
from ..files import atomic_file

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..outcomes import Result, SectorOutcomes

SUFFIXES = (".png", ".svg", ".pdf")
WIDTH_IN, PANEL_IN = 10.0, 4.6


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


def figure(panels: int, panel_in: float = PANEL_IN) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, panel_in * panels), layout="constrained")
    axes = fig.subplots(panels, 1, squeeze=False)[:, 0]
    return fig, list(axes)


def dated(ax: Axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(True, alpha=0.3)


def day0(run: Result) -> float:
    """matplotlib's date number of the run's day 0."""
    import matplotlib.dates as mdates

    return float(mdates.date2num(run.start))


def sector_names(runs: list[Result], sectors: list[str] | None) -> list[str]:
    common = [s for s in runs[0].sectors if all(s in r.sectors for r in runs[1:])]
    if sectors:
        for s in sectors:
            if s not in common:
                raise AdvsimError(f"sectors: {s!r} is not a sector of every run "
                                  f"(common: {', '.join(common) or 'none'})", param="sectors")
        return list(sectors)
    if not common:
        raise AdvsimError("plot: the runs share no sector (sectors are matched by name)")
    return common


def run_labels(runs: list[Result], labels: list[str] | None = None) -> list[str]:
    """Legend labels: the user's, or A, B... with what distinguishes each run."""
    if labels:
        if len(labels) != len(runs):
            raise AdvsimError(f"labels: {len(labels)} labels for {len(runs)} runs",
                              param="labels")
        return list(labels)
    from ..comparison import default_labels

    out = []
    for letter, r in zip(default_labels(len(runs)), runs):
        what = ", ".join(o.rsplit(".", 1)[-1] if len(o) > 40 else o for o in r.overrides)
        what = what or (r.name if len({x.name for x in runs}) > 1 else "as in scenario")
        out.append(f"{letter}: {what} (seed {r.seed})")
    return out


def replications_text(runs: list[Result]) -> str:
    ns = {r.replications for r in runs}
    return f"{ns.pop():,} replications" + (" each" if len(runs) > 1 else "") if len(ns) == 1 \
        else "replications " + ", ".join(f"{r.replications:,}" for r in runs)


def at_text(s: SectorOutcomes, at: float, objective: bool = False) -> str:
    return s.sector.format_at(at, objective)
