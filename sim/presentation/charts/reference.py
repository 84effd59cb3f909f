"""The approach chart of a reference class: distance remaining against days since the front
came within range, one line per town, fallen and still standing told apart."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .base import figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ...fitting.reference import ReferenceClass


def place_name(town: str) -> str:
    """A town's name as people write it, from its sector slug (``kurakhove`` is "Kurakhove",
    ``lazurnyi-donetsk-oblast-123`` the gazetteer's "Lazurnyi"); the slug in words where no
    list of places knows it."""
    from ...errors import AdvsimError

    try:
        from ...data.towns import resolve_place

        return resolve_place(town).name
    except (AdvsimError, ImportError, OSError):
        return town.replace("-", " ").replace("_", " ").title()


def approach_chart(cls: ReferenceClass) -> Figure:
    """Each town's km remaining from the day its approach began to its fall (solid, ending in
    a cross at 0 km) or to the class's until date (dashed, ending in an open circle: censored,
    named, the names placed clear of one another)."""
    from .base import place_labels

    fig, (ax,) = figure(1, 6.4)
    ends: list[tuple[float, float]] = []
    names: list[str] = []
    for a in cls.approaches:
        idx = slice(a.start, a.end + 1)
        days = np.array([(d - a.entered).days for d in a.dates[idx]])
        km = np.maximum(a.remaining_km[idx], 0.0)
        if a.fell:
            ax.plot(days, km, color="C3", lw=1.1, alpha=0.8)
            ax.plot(days[-1], 0, marker="x", color="C3", ms=6)
        else:
            ax.plot(days, km, color="C0", lw=1.1, alpha=0.8, ls="--")
            ax.plot(days[-1], km[-1], marker="o", mfc="white", color="C0", ms=5)
            ends.append((float(days[-1]), float(km[-1])))
            names.append(place_name(a.town))
    ax.plot([], [], color="C3", marker="x", label="fell (town centre taken)")
    ax.plot([], [], color="C0", ls="--", marker="o", mfc="white",
            label=f"standing on {cls.until} (censored)")
    ax.set_xlabel("days since the front came within range")
    ax.set_ylabel("km from the town centre to attacker-held territory")
    ax.set_ylim(bottom=0)
    ax.set_xlim(left=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="upper right")
    fell = sum(a.fell for a in cls.approaches)
    ax.set_title(f"{len(cls.approaches)} approaches within {cls.within_km:g} km, to "
                 f"{cls.until}: {fell} fell, {len(cls.approaches) - fell} still standing",
                 fontsize=11)
    if ends:  # named last, once the axes are laid out, so no two names overlap
        order = sorted(range(len(ends)), key=lambda i: ends[i][1])  # nearest to falling first
        place_labels(fig, ax, np.array(ends), names, order, fontsize=7, color="0.25")
    return fig
