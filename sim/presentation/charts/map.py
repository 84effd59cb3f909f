"""The map chart of ``advsim trace --chart``: the contact line near the traced places on a few
dates, one map for places near one another.

Drawn from shapely geometries in one azimuthal equidistant frame around the places (km from
its centre), with matplotlib's object-oriented API (``matplotlib.figure.Figure``, never
pyplot): no tiles, nothing from the network. The dates are told apart by a sequential colour
scale (lightest oldest, darkest newest) with a colour bar labelled by date; the towns of the
gazetteer in view give context. No oblast borders are drawn: no maintained dataset of them is
packaged with advsim (the gazetteer holds points, not boundaries).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ...data.places import Place
    from ...data.trace import Trace

VIEW = 1.3  # the view reaches this many radii past the places (the kept territory reaches 2)
TOGETHER = 2.0  # places within this many radii of one another share a map
CONTEXT_TOWNS = 16  # at most this many other towns are named, the most populous
CONTEXT_POPULATION = 5000  # the least population of a town drawn for context
SPACING_KM = 6.0  # a town this close to a more populous one already drawn is left out


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


def groups(places: list[Place], radius_km: float) -> list[list[Place]]:
    """The places in maps: a place joins the first map whose every place lies within
    ``TOGETHER`` radii of it (so the map's view stays inside the territory kept around them),
    else starts its own."""
    from ...data.places import great_circle_km

    out: list[list[Place]] = []
    for p in places:
        for g in out:
            if all(great_circle_km(p.lat, p.lon, q.lat, q.lon) <= TOGETHER * radius_km
                   for q in g):
                g.append(p)
                break
        else:
            out.append([p])
    return out


def date_colours(n: int):
    """``n`` colours of one sequential scale, lightest (oldest) to darkest (newest), as a
    listed colour map and the norm that gives date ``i`` its colour."""
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm, ListedColormap

    base = colormaps["viridis_r"]
    cmap = ListedColormap([base(x) for x in np.linspace(0.12, 1.0, max(n, 1))])
    return cmap, BoundaryNorm(np.arange(max(n, 1) + 1) - 0.5, cmap.N)


def context_towns(frame, view_km: tuple[float, float, float, float],
                  skip: set[tuple[float, float]]) -> list[tuple[str, float, float]]:
    """(name, x km, y km) of the gazetteer's towns of at least CONTEXT_POPULATION people in
    view, the most populous first; none where the gazetteer is not installed."""
    import numpy as np
    import shapely

    from ...data import gazetteer
    from ...errors import AdvsimError

    x0, y0, x1, y1 = view_km
    outline = frame.lonlat(shapely.box(x0 * 1000, y0 * 1000, x1 * 1000, y1 * 1000))
    try:
        if not gazetteer.available():
            return []
        towns = gazetteer.load_gazetteer(min_population=CONTEXT_POPULATION,
                                         bbox=outline.bounds)
    except (AdvsimError, OSError, ImportError):
        return []
    towns = [t for t in towns if (round(t.lat, 3), round(t.lon, 3)) not in skip]
    if not towns:
        return []
    xy = shapely.get_coordinates(frame.points(towns)) / 1000.0
    inside = (xy[:, 0] > x0) & (xy[:, 0] < x1) & (xy[:, 1] > y0) & (xy[:, 1] < y1)
    out: list[tuple[str, float, float]] = []
    for t, (x, y), ok in zip(towns, xy, inside):
        # a district of a city already named (Donetsk's) would crowd out the towns around
        if ok and all(np.hypot(x - a, y - b) > SPACING_KM for _, a, b in out):
            out.append((t.name, float(x), float(y)))
    return out[:CONTEXT_TOWNS]


def map_chart(result: Trace) -> Figure:
    """One map per group of nearby places (usually one): attacker-held territory on the newest
    chosen date (shaded), the contact line on each chosen date in a sequential colour scale
    with a colour bar labelled by date, each place with its radius circle, the other towns in
    view, and a scale bar."""
    import numpy as np
    import shapely
    from matplotlib.cm import ScalarMappable
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from ...data.frames import Frame, LocalFrame
    from .base import place_labels

    traced = [p for p, _ in result.places.values()]
    r_km = result.radius_km
    dates = sorted({d for frames in result.charts.values() for d, _ in frames})
    cmap, norm = date_colours(len(dates))
    maps = groups(traced, r_km)
    n = len(maps)
    fig = Figure(figsize=(max(7.2 * n, 11.0), 8.6), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    any_towns = any_beyond = False
    for ax, group in zip(axes, maps):
        frame = Frame.around(group)
        pts = shapely.get_coordinates(frame.points(group)) / 1000.0
        lo, hi = pts.min(axis=0) - VIEW * r_km, pts.max(axis=0) + VIEW * r_km
        view = shapely.box(lo[0] * 1000, lo[1] * 1000, hi[0] * 1000, hi[1] * 1000)
        kept: list = []
        lines_by_date: dict = {}
        for p in group:
            local = LocalFrame(p.lat, p.lon)
            kept.append(frame.local(local.lonlat(local.disc(2 * r_km))))
            for day, geom in result.charts.get(p.slug, []):
                if geom is not None and not geom.is_empty:
                    lines_by_date.setdefault(day, []).append(frame.local(local.lonlat(geom)))
        # a line is drawn only where the territory around some place was kept, short of its
        # edge (where the kept territory is cut, not where the front is)
        trusted = shapely.union_all([shapely.buffer(k, -0.02 * r_km * 1000) for k in kept])
        beyond = shapely.difference(view, shapely.union_all(kept))
        if not beyond.is_empty:
            any_beyond = True
            patch = _patch(beyond, facecolor="0.93", edgecolor="none", zorder=0)
            if patch is not None:
                ax.add_patch(patch)
        held = {day: shapely.union_all(parts) for day, parts in lines_by_date.items()}
        if dates and dates[-1] in held:
            patch = _patch(shapely.intersection(held[dates[-1]], view), facecolor="#d9a49a",
                           edgecolor="none", alpha=0.4, zorder=1)
            if patch is not None:
                ax.add_patch(patch)
        for i, day in enumerate(dates):
            if day not in held:
                continue
            line = shapely.intersection(shapely.boundary(held[day]), trusted)
            for part in shapely.get_parts(line):
                xy = np.asarray(part.coords) / 1000.0
                if len(xy) >= 2:
                    ax.plot(xy[:, 0], xy[:, 1], color=cmap(norm(i)), lw=1.8, zorder=2 + i / 100,
                            solid_capstyle="round", label=str(day))
        t = np.linspace(0, 2 * np.pi, 361)
        names = []
        for p, (x, y) in zip(group, pts):
            ax.plot(x + r_km * np.cos(t), y + r_km * np.sin(t), color="0.35", lw=0.9, ls="--",
                    zorder=3, label=f"{r_km:g} km from the place")
            ax.plot([x], [y], marker="*", ms=15, color="black", zorder=5, ls="none")
            names.append(ax.annotate(
                p.name, (x, y), xytext=(8, 6), textcoords="offset points", fontsize=11,
                fontweight="bold", zorder=6,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8}))
        towns = context_towns(frame, (lo[0], lo[1], hi[0], hi[1]),
                              {(round(p.lat, 3), round(p.lon, 3)) for p in traced})
        if towns:
            any_towns = True
            txy = np.array([(x, y) for _, x, y in towns])
            ax.plot(txy[:, 0], txy[:, 1], "o", ms=4, color="0.25", mfc="white", zorder=4,
                    ls="none")
        bar = _scale_km(r_km)
        x0, y0 = lo[0] + 0.06 * (hi[0] - lo[0]), lo[1] + 0.05 * (hi[1] - lo[1])
        ax.plot([x0, x0 + bar], [y0, y0], color="black", lw=3, solid_capstyle="butt", zorder=5)
        ax.text(x0 + bar / 2, y0 + 0.015 * (hi[1] - lo[1]), f"{bar:g} km", ha="center",
                va="bottom", fontsize=9, zorder=5)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
        centre = (f"{abs(frame.lat):.2f}°{'N' if frame.lat >= 0 else 'S'} "
                  f"{abs(frame.lon):.2f}°{'E' if frame.lon >= 0 else 'W'}")
        ax.set_xlabel(f"km east of {centre}")
        ax.set_ylabel(f"km north of {centre}")
        ax.grid(color="0.9", lw=0.6)
        ax.set_title(" and ".join(p.name for p in group), fontsize=12)
        if towns:  # named last, clear of one another
            place_labels(fig, ax, txy, [name for name, _, _ in towns], list(range(len(towns))),
                         fontsize=7.5, color="0.25", avoid=names)

    if dates:
        scale = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=list(axes),
                             ticks=range(len(dates)), shrink=0.8, pad=0.02)
        scale.ax.set_yticklabels([str(d) for d in dates])
        scale.set_label("map date of the contact line (darker: newer)")
    handles = [Patch(facecolor="#d9a49a", alpha=0.4, label="attacker-held on "
                     f"{dates[-1] if dates else 'the last date'}"),
               Line2D([], [], color="0.35", lw=0.9, ls="--",
                      label=f"{r_km:g} km from a traced place"),
               Line2D([], [], marker="*", ms=12, color="black", ls="none",
                      label="traced place")]
    if any_towns:
        handles.append(Line2D([], [], marker="o", ms=4, color="0.25", mfc="white", ls="none",
                              label=f"town of {CONTEXT_POPULATION:,}+ people (GeoNames)"))
    if any_beyond:
        handles.append(Patch(facecolor="0.93", label="beyond the territory traced"))
    fig.legend(handles=handles, loc="outside lower center", ncols=3,
               fontsize=8, frameon=False)
    contested = {"exclude": "contested areas not counted as held",
                 "include": "contested areas counted as held"}.get(
        str(result.contested), f"contested: {result.contested}")
    first, last = (dates[0], dates[-1]) if dates else ("", "")
    fig.suptitle(f"The contact line on {len(dates)} map dates, {first} to {last}\n"
                 f"held: the map's layers {', '.join(result.attacker_held)}; {contested}\n"
                 "azimuthal equidistant projection; no oblast borders (no border data is "
                 "packaged)",
                 fontsize=10)
    return fig


def _scale_km(radius_km: float) -> float:
    """A round bar length near a third of the radius."""
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000):
        if step >= radius_km / 3:
            return float(step)
    return float(round(radius_km / 3))
