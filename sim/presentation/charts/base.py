"""What every chart shares: the figure, dated axes, labels, and writing the file whole.

matplotlib is an optional extra (``pip install 'advsim[plot]'``), imported on first use; figures
are ``matplotlib.figure.Figure`` objects, never pyplot's global state, saved with the Agg (PNG),
SVG or PDF canvas by the file's suffix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ...artifacts import outputs
from ...errors import AdvsimError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ...running.outcomes import Result, SectorOutcomes

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


def check_output(path: str | os.PathLike[str], *, flag: str | None = None) -> Path:
    """The chart file's path, if its suffix names a format we write and it can be written
    (see ``sim.artifacts.outputs``); standard output (``-``) is PNG."""
    p = Path(path)
    if not outputs.is_stdout(path) and p.suffix.lower() not in SUFFIXES:
        raise AdvsimError(f"{p}: unknown image suffix {p.suffix or '(none)'!r} "
                          "(expected .png, .svg or .pdf)")
    outputs.check_output(path, flag=flag)
    return p


def image_format(path: str | os.PathLike[str]) -> str:
    """The format a chart file is written in: by its suffix; PNG on standard output."""
    return "png" if outputs.is_stdout(path) else Path(path).suffix.lower()[1:]


def save(fig: Figure, path: str | os.PathLike[str], *, flag: str | None = None,
         keep: bool = True) -> Path:
    """Write ``fig`` to ``path`` (format by suffix), whole or not at all; ``-`` is standard
    output. ``keep`` False: a file of a folder being written."""
    p = check_output(path, flag=flag)
    with outputs.output_file(path, flag=flag, keep=keep) as f:
        fig.savefig(f, format=image_format(path), dpi=150)
    return p


def check_kind(kind: str, kinds: Sequence[str]) -> None:
    """Refuse a chart kind not among ``kinds``, naming them."""
    if kind not in kinds:
        raise AdvsimError(f"kind: {kind!r} is not a chart kind (expected "
                          f"{', '.join(kinds[:-1])} or {kinds[-1]})", param="kind")


def figure_or_file(fig: Figure, output: str | os.PathLike[str] | None, *,
                   flag: str | None = None) -> Figure | Path:
    """What a chart function gives back: the Figure itself without ``output`` (a notebook
    shows it), else the file written whole (``save``) and its path."""
    if output is None:
        shown_in_ipython()
        return fig
    return save(fig, output, flag=flag)


def shown_in_ipython() -> None:
    """Have IPython (Jupyter, qtconsole) draw the Figures advsim gives back. They are made
    without pyplot, and IPython registers its PNG view of a Figure only when pyplot sets up
    its inline backend: without this, a notebook shows ``<Figure size 1250x460 with 1
    Axes>``. A view already registered (``%matplotlib inline``) is kept; nothing happens
    outside IPython, which is never imported here."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", None)
    if not formatters or "image/png" not in formatters:
        return
    from matplotlib.figure import Figure

    png = formatters["image/png"]
    try:
        png.lookup_by_type(Figure)
    except KeyError:
        png.for_type(Figure, figure_png)


def figure_png(fig: Figure) -> bytes:
    """A Figure as PNG bytes, at its own size and resolution (what IPython shows)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


# -- shared pieces -------------------------------------------------------------------------------


def figure(panels: int, panel_in: float = PANEL_IN,
           width_in: float = WIDTH_IN) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, panel_in * panels), layout="constrained")
    axes = fig.subplots(panels, 1, squeeze=False)[:, 0]
    return fig, list(axes)


def dated(ax: Axes) -> None:
    """Calendar dates on the x axis, concise, with the year on the first tick as well as at
    each January (matplotlib's concise labels name the year only there)."""
    import matplotlib.dates as mdates

    class YearFirst(mdates.ConciseDateFormatter):
        def format_ticks(self, values):
            labels = list(super().format_ticks(values))
            if labels and not re.search(r"\d{4}", labels[0]):
                labels[0] = f"{labels[0]}\n{mdates.num2date(values[0]):%Y}"
            return labels

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(YearFirst(locator, show_offset=False))
    ax.grid(True, alpha=0.3)


def legend_outside(ax: Axes, **kw) -> None:
    """The legend right of the axes, clear of the data (constrained layout makes room)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
              **{"fontsize": 8, **kw})


def p_is(p: float) -> str:
    """A probability after "P(...)": "= 0.53", "> 0.99" (never "= 1.00" for 0.998)."""
    from ..numbers import probability

    text = probability(p)
    return text if text[0] in "<>" else f"= {text}"


def place_labels(fig, ax, xy, texts, which, *, fontsize: float = 8, color: str = "black",
                 avoid=()) -> None:
    """Name the points ``which`` (in order of importance), each at the first of a few spots
    around its point where it overlaps no label already placed, nor the texts ``avoid``."""
    spots = [((5, 4), "left"), ((5, -11), "left"), ((-5, 4), "right"), ((-5, -11), "right"),
             ((5, 13), "left"), ((-5, 13), "right")]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    fig.draw_without_rendering()  # the layout settles before the labels are measured
    renderer = canvas.get_renderer()
    placed: list = [t.get_window_extent(renderer).padded(4) for t in avoid]
    for i in which:
        for k, (offset, ha) in enumerate(spots):
            t = ax.annotate(texts[i], xy[i], xytext=offset, textcoords="offset points",
                            ha=ha, fontsize=fontsize, color=color, zorder=4,
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                                  "alpha": 0.8})
            box = t.get_window_extent(renderer)
            if not any(box.overlaps(b) for b in placed) or k == len(spots) - 1:
                placed.append(box)
                break
            t.remove()


def share_text(x: float) -> str:
    """A share as a reader should see it: never "0%" for a share that is not zero, nor "100%"
    for one that is not all."""
    if x <= 0:
        return "0%"
    if x >= 1:
        return "100%"
    if x < 0.001:
        return "<0.1%"
    if x < 0.01 or x > 0.99:
        return f"{x:.1%}" if 0.001 <= x <= 0.999 else ">99.9%"
    return f"{x:.0%}"


def panel_title(run: Result, sector: str) -> str:
    """The scenario's name, and the sector's where the scenario has several."""
    if len(run.sectors) == 1:
        return run.name
    return f"{run.name} · sector {sector}"


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
    """Legend labels: the user's, or what distinguishes each run in words: its changed values
    (the last part of each key path), its horizon, seed or scenario where those differ."""
    if labels:
        if len(labels) != len(runs):
            raise AdvsimError(f"labels: {len(labels)} labels for {len(runs)} runs",
                              param="labels")
        return list(labels)
    out = []
    for r in runs:
        parts = []
        if len({x.name for x in runs}) > 1:
            parts.append(r.name)
        parts += [_override_words(o) for o in r.overrides
                  if o.partition("=")[0] != "horizon_days"]  # said below, where it differs
        if len({x.horizon_days for x in runs}) > 1:
            parts.append(f"{r.horizon_days}-day horizon")
        if len({x.seed for x in runs}) > 1:
            parts.append(f"seed {r.seed}")
        out.append(", ".join(parts) or "the scenario as written")
    if len(set(out)) < len(out):  # nothing tells them apart: say which run each is
        out = [f"{lab} (run {i + 1})" for i, lab in enumerate(out)]
    return out


def _override_words(override: str) -> str:
    """``sectors.kurakhove.strikes.0.rate_per_day=0`` as ``strikes rate per day = 0``."""
    key, _, value = override.partition("=")
    parts = [p for p in key.split(".") if not p.isdigit()]
    if len(parts) > 2 and parts[0] == "sectors":
        parts = parts[2:]
    return f"{' '.join(parts[-2:]).replace('_', ' ')} = {value}"


def replications_text(runs: list[Result]) -> str:
    ns = {r.replications for r in runs}
    return f"{ns.pop():,} replications" + (" each" if len(runs) > 1 else "") if len(ns) == 1 \
        else "replications " + ", ".join(f"{r.replications:,}" for r in runs)


def at_text(s: SectorOutcomes, at: float, objective: bool = False) -> str:
    from ..words import position

    return position(s.sector, at, objective)
