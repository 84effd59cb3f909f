"""The map chart of ``advsim trace --chart``: the contact line near a place on a few dates.

Drawn from shapely geometries in the place's local azimuthal equidistant frame (km from the
place), with matplotlib's object-oriented API (``matplotlib.figure.Figure``, never pyplot): no
tiles, nothing from the network. Lightest is oldest, darkest newest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ...data.trace import Trace

VIEW = 1.3  # the view reaches this many radii from the place (the kept territory reaches 2)


def _patch(geom, **style):
    """A PathPatch of a (Multi)Polygon, holes included."""
    import numpy as np
    import shapely
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MPath

    verts, codes = [], []
    for poly in shapely.get_parts(geom):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords) / 1000.0
            verts.append(xy)
            codes += [MPath.MOVETO, *[MPath.LINETO] * (len(xy) - 2), MPath.CLOSEPOLY]
    if not verts:
        return None
    return PathPatch(MPath(np.concatenate(verts), codes), **style)


def map_chart(result: Trace) -> Figure:
    """One panel per place: attacker-held territory on the newest chosen date (shaded), the
    contact line on each chosen date, the place, the radius circle and a scale bar."""
    import numpy as np
    import shapely
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    places = [(p, result.charts.get(slug, [])) for slug, (p, _) in result.places.items()]
    n = len(places)
    fig = Figure(figsize=(max(6.4 * n, 8.0), 7.4), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    r_km = result.radius_km
    half = VIEW * r_km
    view = shapely.box(-half * 1000, -half * 1000, half * 1000, half * 1000)
    cmap = colormaps["Reds"]
    for ax, (place, frames) in zip(axes, places):
        shades = np.linspace(0.35, 1.0, len(frames)) if len(frames) > 1 else [1.0]
        if frames and frames[-1][1] is not None and not frames[-1][1].is_empty:
            patch = _patch(shapely.intersection(frames[-1][1], view), facecolor="#d9a49a",
                           edgecolor="none", alpha=0.35, zorder=1,
                           label=f"attacker-held on {frames[-1][0]}")
            if patch is not None:
                ax.add_patch(patch)
        for (day, geom), shade in zip(frames, shades):
            if geom is None or geom.is_empty:
                ax.plot([], [], color=cmap(shade), label=f"{day} (none)")
                continue
            line = shapely.intersection(shapely.boundary(geom), view)
            label: str | None = str(day)  # on the first piece only
            for part in shapely.get_parts(line):
                xy = np.asarray(part.coords) / 1000.0
                if len(xy) >= 2:
                    ax.plot(xy[:, 0], xy[:, 1], color=cmap(shade), lw=1.6, label=label,
                            zorder=2, solid_capstyle="round")
                    label = None
        t = np.linspace(0, 2 * np.pi, 361)
        ax.plot(r_km * np.cos(t), r_km * np.sin(t), color="0.35", lw=0.9, ls="--", zorder=3,
                label=f"{r_km:g} km from the place")
        ax.plot([0], [0], marker="*", ms=14, color="black", zorder=4, ls="none")
        ax.annotate(place.name, (0, 0), xytext=(7, 7), textcoords="offset points",
                    fontsize=11, fontweight="bold", zorder=5)
        bar = _scale_km(r_km)
        x0, y0 = -half * 0.92, -half * 0.9
        ax.plot([x0, x0 + bar], [y0, y0], color="black", lw=3, solid_capstyle="butt", zorder=5)
        ax.text(x0 + bar / 2, y0 + half * 0.03, f"{bar:g} km", ha="center", va="bottom",
                fontsize=9, zorder=5)
        ax.set_xlim(-half, half)
        ax.set_ylim(-half, half)
        ax.set_aspect("equal")
        ax.set_xlabel("km east of the place")
        ax.set_ylabel("km north of the place")
        ax.grid(color="0.9", lw=0.6)
        ax.set_title(f"{place.name} ({place.lat:.4f} N, {place.lon:.4f} E): contact line "
                     "by map date", fontsize=11)

    handles, labels = axes[-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 5),
               fontsize=8, frameon=False)
    fig.suptitle(f"Edge of attacker-held territory ({', '.join(result.attacker_held)}; "
                 f"contested: {result.contested}); azimuthal equidistant, km from the place",
                 fontsize=9, color="0.3")
    return fig


def _scale_km(radius_km: float) -> float:
    """A round bar length near a third of the radius."""
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000):
        if step >= radius_km / 3:
            return float(step)
    return float(round(radius_km / 3))
