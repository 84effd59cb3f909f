"""The outlook's map: the held territory on the outlook's date and every place asked about,
coloured by its probability of falling within 180 days, the likeliest labelled.

One azimuthal equidistant frame around the places (km), matplotlib's object-oriented API, no
tiles and nothing from the network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ...forecast.outlook import Outlook

WITHIN_DAYS = 180
LABELS = 14  # at most this many places are named (the likeliest to fall)
MARGIN_KM = 25.0


def outlook_figure(o: Outlook) -> Figure:
    import numpy as np
    import shapely
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    from ...data.front import Frame, held_polygons, read_held
    from .base import place_labels
    from .map import _patch

    places = [p.standing.place for p in o.places]
    frame = Frame.around(places)
    xy = shapely.get_coordinates(frame.points(places)) / 1000.0
    prob = np.array([p.p_within(WITHIN_DAYS) for p in o.places])
    lo, hi = xy.min(axis=0) - MARGIN_KM, xy.max(axis=0) + MARGIN_KM
    from ...data.snapshots import load_layer_map

    layer_map = o.layer_map or load_layer_map()
    snap = read_held(o.files[-1], layer_map, o.held)
    held = frame.local(held_polygons(snap, layer_map, o.held))
    view = shapely.box(lo[0] * 1000, lo[1] * 1000, hi[0] * 1000, hi[1] * 1000)
    shown = shapely.intersection(shapely.union_all(held), view) if len(held) else None

    width = 11.0
    # The map's own aspect, for the axes left of the colour bar (about 2.6 in) with room for
    # the title and the axis labels (about 1.6 in).
    height = min(max((width - 2.6) * (hi[1] - lo[1]) / (hi[0] - lo[0]) + 1.6, 5.0), 14.0)
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    if shown is not None and not shown.is_empty:
        patch = _patch(shown, facecolor="#e8b4a8", edgecolor="#a52714", linewidth=0.8,
                       zorder=1)
        if patch is not None:
            ax.add_patch(patch)
    cmap = colormaps["YlOrRd"]
    norm = Normalize(0.0, 1.0)
    order = np.argsort(prob)  # likeliest drawn last, on top
    sc = ax.scatter(xy[order, 0], xy[order, 1], c=prob[order], cmap=cmap, norm=norm, s=46,
                    edgecolors="#333333", linewidths=0.6, zorder=3)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    fig.colorbar(sc, ax=ax, shrink=0.6, label=f"P(fallen within {WITHIN_DAYS} days)")
    ax.set_title(f"Outlook of {o.map_date}: {len(o.places)} places within "
                 f"{o.radius_km:g} km of the held territory (shaded); "
                 f"{min(LABELS, len(o.places))} likeliest named", fontsize=10)
    centre = f"{abs(frame.lat):.2f}°{'N' if frame.lat >= 0 else 'S'} " \
             f"{abs(frame.lon):.2f}°{'E' if frame.lon >= 0 else 'W'}"
    ax.set_xlabel(f"km east of {centre}")
    ax.set_ylabel(f"km north of {centre}")
    ax.grid(True, linewidth=0.3, alpha=0.5)
    place_labels(fig, ax, xy,
                 [f"{p.standing.place.name} {_pct(x)}" for p, x in zip(o.places, prob)],
                 list(np.argsort(-prob, kind="stable")[:LABELS]))
    return fig


def _pct(p: float) -> str:
    return "<1%" if 0 < p < 0.005 else (">99%" if 0.995 < p < 1 else f"{p:.0%}")


def outlook_map(o: Outlook, path: str | os.PathLike[str], *, keep: bool = True) -> Path:
    """Draw the outlook's map into ``path`` (.png, .svg or .pdf), whole or not at all
    (``keep`` False: the map of an outlook's folder)."""
    from .base import require_matplotlib, save

    require_matplotlib()
    return save(outlook_figure(o), path, flag="--chart", keep=keep)
