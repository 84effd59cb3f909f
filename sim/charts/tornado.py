"""The tornado chart: a sweep's parameters ranked by their influence on each metric."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import AdvsimError
from ..tables import read_csv_columns
from .base import figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# The influence column of sensitivity.csv, first found: partial rank correlation, a generic
# name, total- and first-order Sobol indices.
INFLUENCE_COLUMNS = ("prcc", "influence", "st", "s1")
_INFLUENCE_NAMES = {"prcc": "partial rank correlation", "influence": "influence",
                    "st": "total-order Sobol index", "s1": "first-order Sobol index"}


def read_sensitivity(spec: str) -> tuple[Path, dict[str, list[str]], str]:
    """A sweep's sensitivity table: the file, its columns and the name of the influence
    column. Expected columns: ``parameter``, ``metric`` and an influence value, the first of
    prcc, influence, st, s1; optional ``ci95_low`` and ``ci95_high``."""
    p = Path(spec)
    path = p / "sensitivity.csv" if p.is_dir() else p
    if not path.is_file():
        raise AdvsimError(
            f"{spec}: no sensitivity.csv (a tornado chart reads a sweep folder's sensitivity "
            "table: columns parameter, metric, prcc)"
        )
    cols = read_csv_columns(path, spec)
    missing = [c for c in ("parameter", "metric") if c not in cols]
    value = next((c for c in INFLUENCE_COLUMNS if c in cols), None)
    if missing or value is None:
        what = (f"no column {missing[0]!r}" if missing else
                f"no influence column (one of {', '.join(INFLUENCE_COLUMNS)})")
        raise AdvsimError(f"{path}: {what}; expected columns parameter, metric, prcc")
    return path, cols, value


def tornado_chart(spec: str, *, metrics: list[str] | None = None) -> Figure:
    """The swept parameters ranked by their influence on each metric, largest on top."""
    path, cols, value = read_sensitivity(spec)
    try:
        v = np.array([float(x) for x in cols[value]])
        ci = (np.array([float(x) for x in cols["ci95_low"]]),
              np.array([float(x) for x in cols["ci95_high"]])) \
            if "ci95_low" in cols and "ci95_high" in cols else None
    except ValueError as e:
        raise AdvsimError(f"{path}: {e}") from None
    names = list(dict.fromkeys(cols["metric"]))
    for m in metrics or []:
        if m not in names:
            raise AdvsimError(f"metrics: {m!r} is not in {path.name} "
                              f"(metrics: {', '.join(names)})", param="metrics")
    names = list(metrics) if metrics else names
    fig, axes = figure(len(names))
    metric = np.asarray(cols["metric"])
    params = np.asarray(cols["parameter"])
    for ax, m in zip(axes, names):
        idx = np.flatnonzero(metric == m)
        idx = idx[np.argsort(np.abs(v[idx]), kind="stable")]  # largest at the top
        colors = ["C3" if x < 0 else "C0" for x in v[idx]]
        err = None
        if ci is not None:
            err = np.vstack([v[idx] - ci[0][idx], ci[1][idx] - v[idx]])
        ax.barh(range(idx.size), v[idx], color=colors, xerr=err, capsize=3)
        ax.set_yticks(range(idx.size), params[idx])
        ax.axvline(0, color="black", lw=0.8)
        if value == "prcc":
            ax.set_xlim(-1, 1)
        ax.set_xlabel(f"{_INFLUENCE_NAMES[value]} ({value})"
                      + (" with 95% interval" if ci is not None else ""))
        ax.set_title(f"Influence of the swept parameters on {m}  ({path.parent.name})",
                     fontsize=11)
        ax.grid(True, axis="x", alpha=0.3)
    return fig
