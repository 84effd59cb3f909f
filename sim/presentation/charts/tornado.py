"""Tornado charts of a sweep: its parameters ranked by their influence on each metric (Sobol
indices with their intervals for a Sobol sweep, partial rank correlations otherwise), and the
swing of each metric in its own units (days, km) across a grid sweep's range of each parameter.

Each chart takes a sweep (``SweepResult``, as ``run_sweep`` returns it or
``SweepResult.from_folder`` reads it back); a path is read as a table made by hand (a folder or
file with a sensitivity.csv; for a swing, points.csv, sweep.yaml and scenario.yaml)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...artifacts.tables import read_csv_columns
from ...errors import AdvsimError

if TYPE_CHECKING:
    from typing import TypeAlias

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ...sweep.table import SweepResult

    SweepLike: TypeAlias = SweepResult | str | os.PathLike[str]

# Influence columns, first found with a finite value: the sweep's own (sensitivity.py) and the
# generic names of a hand-made table.
INFLUENCE_COLUMNS = ("sobol_total", "prcc", "influence", "st", "s1")
_INTERVALS = {"sobol_total": ("sobol_total_low", "sobol_total_high"),
              "sobol_first": ("sobol_first_low", "sobol_first_high"),
              "prcc": ("prcc_low", "prcc_high")}
_INFLUENCE_NAMES = {"prcc": "partial rank correlation", "influence": "influence",
                    "st": "total-order Sobol index", "s1": "first-order Sobol index",
                    "sobol_total": "Sobol index"}
_BAR_IN, _PANEL_EXTRA_IN, _WIDTH_IN = 0.42, 1.3, 8.5


_PERCENTILE_WORDS = {10: "10th-percentile", 50: "median", 90: "90th-percentile"}
_PROGRESS_WORDS = {"advance_km": ("advance", "km"), "held_km2": ("area still held", "km²")}


def _percentile_words(p: int) -> str:
    return _PERCENTILE_WORDS.get(p, f"{p}th-percentile")


def metric_words(column: str, objectives: dict[str, str] | None = None) -> str:
    """A metric column in words: ``kurakhove.day_p50`` is "Kurakhove: median day the objective
    is reached" ("Kurakhove sector: median day Pokrovsk is reached" where its objective is
    known); a column that is no metric of a sweep is returned as it is."""
    from ...sweep.metrics import Metric

    m = Metric.parse(column)
    if m is None:
        return column
    objective = (objectives or {}).get(m.sector or "")
    target = objective or "the objective"
    if m.quantity == "prob_reached":
        what = f"probability {target} is reached by the horizon"
    elif m.quantity == "day":
        what = f"{_percentile_words(m.percentile or 50)} day {target} is reached"
    else:
        noun, unit = _PROGRESS_WORDS.get(m.quantity, (m.quantity.replace("_", " "), ""))
        what = (f"{_percentile_words(m.percentile or 50)} {noun} on day {m.day}"
                + (f", {unit}" if unit else ""))
    if m.sector is None:
        return what[0].upper() + what[1:]
    place = m.sector.replace("-", " ").replace("_", " ").title()
    return f"{place}{' sector' if objective else ''}: {what}"


def sweep_objectives(sweep: SweepLike) -> dict[str, str]:
    """Sector -> its objective's name, from a sweep (or the scenario.yaml of a folder made by
    hand, where there is one); empty where not known."""
    if not isinstance(sweep, (str, os.PathLike)):
        points = sweep.plan.points
        return {s.name: s.objective for s in points[0].scenario.sectors} if points else {}
    p = Path(sweep)
    path = (p if p.is_dir() else p.parent) / "scenario.yaml"
    try:
        from ...model.loader import read_text, read_yaml

        data = read_yaml(read_text(path), str(path))[0] or {}
        out = {}
        for name, sec in (data.get("sectors") or {}).items():
            objective = sec.get("objective") if isinstance(sec, dict) else None
            if isinstance(objective, dict) and isinstance(objective.get("name"), str):
                out[str(name)] = objective["name"]
        return out
    except (AdvsimError, OSError, AttributeError):
        return {}


def short_label(key_path: str) -> str:
    """The last parts of a swept key path that still say what it is: without the
    ``sectors.NAME.`` prefix, the last two parts, and the list a numbered part belongs to."""
    parts = key_path.split(".")
    if len(parts) > 2 and parts[0] == "sectors":
        parts = parts[2:]
    keep = parts[-2:]
    if len(parts) > 2 and keep[0].isdigit():
        keep = parts[-3:]
    return ".".join(keep)


def short_labels(key_paths: list[str]) -> list[str]:
    """Short labels of each key path, or the key paths themselves where two would collide."""
    short = [short_label(k) for k in key_paths]
    unique = dict(zip(key_paths, short))
    return short if len(set(unique.values())) == len(unique) else list(key_paths)


def _floats(values: Any, path: Path) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        return values.astype(float)
    try:
        return np.array([float(x) if x != "" else math.nan for x in values])
    except ValueError as e:
        raise AdvsimError(f"{path}: {e}") from None


def read_sensitivity(spec: str) -> tuple[Path, dict[str, list[str]], str]:
    """A sweep's sensitivity table: the file, its columns and the influence column to draw
    (``sobol_total`` where a Sobol sweep filled it, else ``prcc``; a hand-made table may use
    ``influence``, ``st`` or ``s1``, with optional ``ci95_low`` and ``ci95_high``)."""
    p = Path(spec)
    path = p / "sensitivity.csv" if p.is_dir() else p
    if not path.is_file():
        raise AdvsimError(
            f"{spec}: no sensitivity.csv (a tornado chart reads a sweep folder's sensitivity "
            "table: columns parameter, metric, prcc)"
        )
    cols = read_csv_columns(path, spec)
    missing = [c for c in ("parameter", "metric") if c not in cols]
    present = [c for c in INFLUENCE_COLUMNS if c in cols]
    value = next((c for c in present if np.isfinite(_floats(cols[c], path)).any()),
                 present[0] if present else None)
    if missing or value is None:
        what = (f"no column {missing[0]!r}" if missing else
                "no influence column (one of prcc, influence, st, s1)")
        raise AdvsimError(f"{path}: {what}; expected columns parameter, metric, prcc")
    return path, cols, value


def sensitivity_of(source: SweepLike) -> tuple[Path, dict[str, Any], str]:
    """The sensitivity table of a sweep (its rows as columns), or of a table made by hand."""
    if isinstance(source, (str, os.PathLike)):
        return read_sensitivity(os.fspath(source))
    from ...analysis.sensitivity import as_columns

    cols = as_columns(source.sensitivity)
    present = [c for c in INFLUENCE_COLUMNS if c in cols]
    value = next((c for c in present if np.isfinite(cols[c]).any()), present[0])
    return source.path / "sensitivity.csv", cols, value


def _metric_names(cols: dict[str, list[str]], metrics: list[str] | None, path: Path) -> list[str]:
    names = list(dict.fromkeys(cols["metric"]))
    for m in metrics or []:
        if m not in names:
            raise AdvsimError(f"metrics: {m!r} is not in {path.name} "
                              f"(metrics: {', '.join(names)})", param="metrics")
    return list(metrics) if metrics else names


def _panels(counts: list[int], extra_in: float = _PANEL_EXTRA_IN) -> tuple[Figure, list[Axes]]:
    """One panel per metric, each as tall as its bars need (``extra_in``: its title, axis)."""
    from matplotlib.figure import Figure

    heights = [extra_in + _BAR_IN * max(c, 1) for c in counts]
    fig = Figure(figsize=(_WIDTH_IN, sum(heights)), layout="constrained")
    axes = fig.subplots(len(counts), 1, squeeze=False, height_ratios=heights)[:, 0]
    return fig, list(axes)


def tornado_chart(sweep: SweepLike, *, metrics: list[str] | None = None) -> Figure:
    """The swept parameters ranked by their influence on each metric, largest on top: total-
    and first-order Sobol indices with their 95% intervals for a Sobol sweep, partial rank
    correlations (with intervals where given) otherwise."""
    from matplotlib.patches import Patch

    path, cols, value = sensitivity_of(sweep)
    v = _floats(cols[value], path)
    lo_col, hi_col = _INTERVALS.get(value, ("ci95_low", "ci95_high"))
    ci = ((_floats(cols[lo_col], path), _floats(cols[hi_col], path))
          if lo_col in cols and hi_col in cols else None)
    sobol = value == "sobol_total"
    first = _floats(cols["sobol_first"], path) if sobol and "sobol_first" in cols else None
    first_ci = ((_floats(cols["sobol_first_low"], path), _floats(cols["sobol_first_high"], path))
                if first is not None and "sobol_first_low" in cols else None)
    names = _metric_names(cols, metrics, path)
    objectives = sweep_objectives(sweep)
    metric = np.asarray(cols["metric"])
    params = np.asarray(cols["parameter"])
    labels = dict(zip(params.tolist(), short_labels(list(dict.fromkeys(params.tolist())))))
    per_metric = [np.flatnonzero(metric == m) for m in names]
    fig, axes = _panels([i.size for i in per_metric])
    for ax, m, idx in zip(axes, names, per_metric):
        idx = idx[np.argsort(np.nan_to_num(np.abs(v[idx])), kind="stable")]  # largest on top
        y = np.arange(idx.size)
        x = np.nan_to_num(v[idx])
        has_ci = ci is not None and np.isfinite(ci[0][idx]).any()
        err = (np.vstack([x - np.nan_to_num(ci[0][idx], nan=x), np.nan_to_num(ci[1][idx], nan=x)
                          - x]) if has_ci and ci is not None else None)
        err_kw = {"capsize": 3, "ecolor": "0.25", "elinewidth": 1}
        if sobol:
            h = 0.38
            ax.barh(y + h / 2, x, height=h, color="C0", xerr=err, error_kw=err_kw,
                    label="total effect, ST (with interactions)")
            if first is not None:
                f = np.nan_to_num(first[idx])
                ferr = (np.vstack([f - np.nan_to_num(first_ci[0][idx], nan=f),
                                   np.nan_to_num(first_ci[1][idx], nan=f) - f])
                        if first_ci is not None else None)
                ax.barh(y - h / 2, f, height=h, color="C0", alpha=0.45, xerr=ferr,
                        error_kw=err_kw, label="first order, S1 (alone)")
            ax.set_xlim(min(0.0, ax.get_xlim()[0]), max(1.0, ax.get_xlim()[1]))
            ax.set_xlabel("Sobol index: share of the metric's variance"
                          + (", with 95% bootstrap interval" if has_ci else ""))
        else:
            colors = ["C3" if val < 0 else "C0" for val in x]
            ax.barh(y, x, color=colors, xerr=err, error_kw=err_kw, height=0.6)
            if value == "prcc":
                ax.set_xlim(-1, 1)
            ax.set_xlabel(f"{_INFLUENCE_NAMES[value]}"
                          + (", with 95% interval" if has_ci else ""))

        ax.set_yticks(y, [labels[p] for p in params[idx]])
        ax.set_ylim(-0.6, idx.size - 0.4)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(f"What moves it: {metric_words(m, objectives)}", fontsize=11)
        ax.grid(True, axis="x", alpha=0.3)
    if sobol:
        handles = [Patch(color="C0", label="total effect, ST (with interactions)"),
                   Patch(color="C0", alpha=0.45, label="first order, S1 (alone)")]
    else:
        handles = [Patch(color="C0", label="a higher value raises the metric"),
                   Patch(color="C3", label="a higher value lowers the metric")]
    fig.legend(handles=handles, loc="outside upper center", ncols=2, fontsize=9)
    return fig


# -- swing ---------------------------------------------------------------------------------------


def read_swing(spec: str, metrics: list[str] | None = None) -> dict:
    """The swing of each metric across each parameter's range in a grid sweep, the other
    parameters held at their middle levels: {"baseline": {parameter: its middle value, as
    written in points.csv}, "metrics":
    {metric: {"base": value, "rows": [(parameter, low value, high value, metric at low,
    metric at high)]}}, "horizon_days": …}. Censored metrics (beyond the horizon) are +inf.
    ``spec`` is a folder made by hand (points.csv, sweep.yaml, scenario.yaml); a sweep's own
    is ``swing_of``."""
    from ...errors import ScenarioError
    from ...model.loader import read_text, read_yaml

    folder = Path(spec)
    points_path = folder / "points.csv"
    if not points_path.is_file():
        raise AdvsimError(f"{spec}: no points.csv (a swing chart reads a grid sweep's folder)")
    try:
        sweep = read_yaml(read_text(folder / "sweep.yaml", "a sweep spec"),
                          str(folder / "sweep.yaml"))[0] or {}
        scenario = read_yaml(read_text(folder / "scenario.yaml"),
                             str(folder / "scenario.yaml"))[0] or {}
    except ScenarioError as e:
        raise AdvsimError(f"{spec}: cannot read the sweep's spec ({e})") from None
    if sweep.get("method", "grid") != "grid":
        raise AdvsimError(f"{spec}: a {sweep.get('method')} sweep; a swing chart needs a grid "
                          "sweep (each parameter at levels, the others fixed)")
    cols = read_csv_columns(points_path, spec)
    params = [p for p in (sweep.get("parameters") or {}) if p in cols]
    wanted = metrics or [f"{s}.{m}" for s in (scenario.get("sectors") or {})
                         for m in (sweep.get("metrics") or [])]
    for m in wanted:
        if m not in cols:
            raise AdvsimError(f"metrics: {m!r} is not a column of points.csv", param="metrics")
    ys = {m: np.array([math.inf if x == "" else float(x) for x in cols[m]]) for m in wanted}
    return _swing({p: cols[p] for p in params}, ys, scenario.get("horizon_days"))


def swing_of(sweep: SweepResult, metrics: list[str] | None = None) -> dict:
    """``read_swing`` of a sweep: its values as points.csv writes them, its metrics unrounded."""
    from ...artifacts.tables import csv_fields

    sw = sweep.plan.sweep
    if sw.method != "grid":
        raise AdvsimError(f"{sweep.path}: a {sw.method} sweep; a swing chart needs a grid "
                          "sweep (each parameter at levels, the others fixed)")
    wanted = metrics or list(sweep.metrics)
    for m in wanted:
        if m not in sweep.table:
            raise AdvsimError(f"metrics: {m!r} is not a column of points.csv", param="metrics")
    values = {p.path: csv_fields(sweep.table[p.path]) for p in sw.parameters}
    ys = {m: np.where(np.isnan(sweep.table[m]), np.inf, sweep.table[m]) for m in wanted}
    base = sw.base if isinstance(sw.base, dict) else {}
    return _swing(values, ys, base.get("horizon_days"))


def _swing(values: dict[str, list[str]], ys: dict[str, np.ndarray], horizon: Any) -> dict:
    params = list(values)
    numeric = {p: _levels(values[p]) for p in params}
    middle = {p: sorted(set(numeric[p]))[(len(set(numeric[p])) - 1) // 2] for p in params}
    shown = {p: values[p][int(np.flatnonzero(numeric[p] == middle[p])[0])] for p in params}
    out: dict = {"baseline": shown, "metrics": {}, "horizon_days": horizon}
    for m, y in ys.items():
        at_middle = np.logical_and.reduce([numeric[p] == middle[p] for p in params])
        base = float(y[at_middle][0]) if at_middle.any() else float(np.mean(y[np.isfinite(y)]))
        rows = []
        for p in params:
            others = np.logical_and.reduce(
                [numeric[q] == middle[q] for q in params if q != p] or [np.ones(y.size, bool)])
            sel = np.flatnonzero(others)
            lo_i, hi_i = sel[np.argmin(numeric[p][sel])], sel[np.argmax(numeric[p][sel])]
            rows.append((p, values[p][lo_i], values[p][hi_i], float(y[lo_i]), float(y[hi_i])))
        out["metrics"][m] = {"base": base, "rows": rows}
    return out


def _levels(raw: list[str]) -> np.ndarray:
    """A parameter's values as numbers to order them by (dates as ordinals)."""
    import datetime as dt

    try:
        return np.array([float(x) for x in raw])
    except ValueError:
        try:
            return np.array([dt.date.fromisoformat(x).toordinal() for x in raw], dtype=float)
        except ValueError:
            return np.unique(raw, return_inverse=True)[1].astype(float)


def swing_chart(sweep: SweepLike, *, metrics: list[str] | None = None) -> Figure:
    """A swing tornado: for each parameter of a grid sweep, the metric at the parameter's lowest
    and highest level with the others at their middle levels, in the metric's own units; widest
    swing on top. A metric beyond the horizon at one end is drawn to the horizon, hatched."""
    from matplotlib.patches import Patch

    sw = (read_swing(os.fspath(sweep), metrics) if isinstance(sweep, (str, os.PathLike))
          else swing_of(sweep, metrics))
    horizon = sw["horizon_days"]
    names = list(sw["metrics"])
    objectives = sweep_objectives(sweep)
    fig, axes = _panels([len(sw["metrics"][m]["rows"]) for m in names], _PANEL_EXTRA_IN + 0.2)
    labels = dict(zip(sw["baseline"], short_labels(list(sw["baseline"]))))
    for ax, m in zip(axes, names):
        base, rows = sw["metrics"][m]["base"], sw["metrics"][m]["rows"]
        cap = float(horizon) if horizon and m.split(".")[-1].startswith("day_") else math.nan

        def shown(v: float, cap: float = cap) -> tuple[float, bool]:
            return (cap, True) if not math.isfinite(v) and math.isfinite(cap) else (v, False)

        finite_base, base_censored = shown(base)
        spans = [abs(shown(hi)[0] - shown(lo)[0]) for *_, lo, hi in rows]
        order = np.argsort(np.nan_to_num(spans), kind="stable")
        for yi, k in enumerate(order):
            *_, lo, hi = rows[k]
            for v, color in ((lo, "C1"), (hi, "C0")):
                x, censored = shown(v)
                if not math.isfinite(x) or x == finite_base:
                    continue
                ax.barh(yi, x - finite_base, left=finite_base, height=0.6, color=color,
                        alpha=0.85, hatch="//" if censored else None, edgecolor="white")
                text = f"{_fmt(x, m)}" + (" (beyond horizon)" if censored else "")
                ax.annotate(text, (x, yi), xytext=(4 if x >= finite_base else -4, 0),
                            textcoords="offset points", va="center", fontsize=8,
                            ha="left" if x >= finite_base else "right")
        ax.axvline(finite_base, color="black", lw=1)
        ax.set_yticks(range(len(rows)), [f"{labels[rows[k][0]]}\n{_value(rows[k][1])} → "
                                         f"{_value(rows[k][2])}" for k in order])
        ax.set_ylim(-0.7, len(rows) - 0.4)
        lo_x, hi_x = ax.get_xlim()
        pad = 0.15 * (hi_x - lo_x)
        ax.set_xlim(lo_x - pad, hi_x + pad)
        words = metric_words(m, objectives)
        if m.split(".")[-1].startswith("prob"):  # a probability lies in [0, 1]
            lo_x, hi_x = ax.get_xlim()
            ax.set_xlim(max(0.0, lo_x), min(1.0, hi_x))
        ax.set_xlabel(f"{_unit(m)}" + ("; hatched: beyond the horizon, drawn at it"
                                            if any(shown(v)[1] for r in rows for v in r[3:])
                                            else ""))
        mid = ", ".join(f"{labels[p]} = {_value(v)}" for p, v in sw["baseline"].items())
        ax.set_title(f"{words}\n{_fmt(finite_base, m)}"
                     + (" (beyond the horizon)" if base_censored else "")
                     + f" with every parameter at its middle level:\n{mid}", fontsize=10)
        ax.grid(True, axis="x", alpha=0.3)
    fig.legend(handles=[Patch(color="C1", label="the parameter at its lowest level"),
                        Patch(color="C0", label="the parameter at its highest level")],
               loc="outside upper center", ncols=2, fontsize=9)
    return fig


def _fmt(x: float, metric: str = "") -> str:
    """A metric's value as a person reads it: a day as a whole day, a probability never as 0
    or 1 unless it is, anything else to three significant figures ("25,000")."""
    from ..numbers import day, number, probability

    last = metric.split(".")[-1]
    if last.startswith("day_"):
        return day(x)
    if last.startswith("prob"):
        return probability(x)
    return number(x)


def _value(text: str) -> str:
    """A parameter's value as points.csv writes it, as a person reads it: "25000.0" is
    "25,000"; text (a date, a name) as it is."""
    from ..numbers import number

    try:
        x = float(text)
    except ValueError:
        return text
    return number(x) if math.isfinite(x) else text


def _unit(metric: str) -> str:
    last = metric.split(".")[-1]
    if last.startswith("day_"):
        return "days from the start"
    if last.startswith("advance_km"):
        return "km"
    if last.startswith("held_km2"):
        return "km²"
    return "probability" if last.startswith("prob") else "value"
