"""A sweep's tables: points.csv, every replication's outcomes, the sensitivity ranking, its JSON;
and a finished sweep read back from its folder (``SweepResult.from_folder``)."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import AdvsimError
from ..model.keypath import is_number
from ..seeds import sweep_bootstrap_rng
from .points import Plan
from .store import Store


@dataclass(kw_only=True)
class SweepResult:
    """A finished sweep: from ``run_sweep``, or read back from its folder with
    :meth:`from_folder`. ``table`` is points.csv as columns (censored days NaN),
    ``sensitivity`` the rows of sensitivity.csv, ``manifest`` the folder's."""

    plan: Plan
    path: Path
    table: dict[str, np.ndarray]  # points.csv as columns
    sensitivity: list[dict]
    wall_seconds: float
    points_computed: int  # in this session (the rest were kept from an interrupted one)
    manifest: dict

    @property
    def name(self) -> str:
        return self.plan.sweep.name

    @property
    def metrics(self) -> tuple[str, ...]:
        """The columns of the spec's metrics (those ranked), in points.csv."""
        return self.plan.headline

    @property
    def spec_yaml(self) -> str:
        """sweep.yaml: the spec as run."""
        return self.plan.spec_yaml

    @property
    def scenario_yaml(self) -> str:
        """scenario.yaml: the base scenario as run."""
        return self.plan.scenario_yaml

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str]) -> SweepResult:
        """A sweep folder written by ``advsim sweep``, checked against its manifest's checksums
        first. The plan is rebuilt from the folder's own sweep.yaml and scenario.yaml (never
        from the files the sweep was made from) and must give the seeds of points.csv. Every
        failure is one AdvsimError naming the folder."""
        return _read_sweep(folder)

    def __repr__(self) -> str:
        from ..presentation.notebook import count, short

        sw = self.plan.sweep
        return short("SweepResult", sw.name,
                     [f"{count(len(self.plan.points), 'point')} ({sw.method})",
                      f"{sw.replications:,} replications each",
                      count(len(sw.parameters), "parameter")])

    def _repr_html_(self) -> str:
        """A notebook's view: the sweep, and the parameters ranked for each headline metric."""
        from html import escape

        sw = self.plan.sweep
        rows = "".join(
            f"<tr><td>{escape(str(r.get('metric')))}</td><td>{r.get('rank')}</td>"
            f"<td>{escape(str(r.get('parameter')))}</td><td>{_cell(r.get('prcc'))}</td>"
            f"<td>{_cell(r.get('sobol_total'))}</td></tr>" for r in self.sensitivity)
        return (f"<div><b>{escape(sw.name)}</b>: {len(self.plan.points)} points "
                f"({escape(sw.method)}) of {sw.replications:,} replications · "
                f"{escape(str(self.path))}"
                "<table><tr><th>metric</th><th>rank</th><th>parameter</th><th>PRCC</th>"
                f"<th>Sobol total</th></tr>{rows}</table></div>")


def _cell(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.3f}"



def outcome_parts(plan: Plan, store: Store, table: dict[str, np.ndarray]):
    """Each point's per-replication table with the point's values as columns after ``point``
    (typed as in points.csv), so that the rows group by parameter without a join."""
    for row, part in enumerate(store.tables([p.index for p in plan.points])):
        n = part["point"].size
        values = {p.path: np.repeat(table[p.path][row:row + 1], n) for p in plan.sweep.parameters}
        yield {"point": part["point"], **values, **{k: v for k, v in part.items() if k != "point"}}



def points_table(plan: Plan, records: Sequence[dict]) -> dict[str, np.ndarray]:
    """points.csv as columns: ``point``, each parameter's value (by key path), the point's
    ``seed`` and ``replications``, then the metrics (censored days as NaN: empty in CSV)."""
    table: dict[str, np.ndarray] = {"point": np.array([r["point"] for r in records], np.int64)}
    for p in plan.sweep.parameters:
        vals = [plan.points[r["point"]].values[p.path] for r in records]
        table[p.path] = _column(vals)
    table["seed"] = np.array([r["seed"] for r in records], dtype=np.int64)
    table["replications"] = np.full(len(records), plan.sweep.replications, dtype=np.int64)
    for c in plan.metric_columns:
        col = np.array([r["metrics"][c] for r in records], dtype=float)
        table[c] = np.where(np.isinf(col), np.nan, col)
    return table


def sensitivity(plan: Plan, table: dict[str, np.ndarray]) -> list[dict]:
    """The sensitivity rows of the headline metrics (see ``sim.analysis.sensitivity``)."""
    from ..analysis.sensitivity import sensitivity_table

    params = {p.path: np.array([p.coordinate(pt.values[p.path]) for pt in plan.points])
              for p in plan.sweep.parameters}
    metrics = {}
    for c in plan.headline:
        y = table[c].astype(float)
        metrics[c] = np.where(np.isnan(y), np.inf, y)  # NaN here only ever means censored
    rng = sweep_bootstrap_rng(plan.sweep.seed)
    return sensitivity_table(params, metrics, sobol_base=plan.sobol_base, rng=rng)


def _column(vals: list[Any]) -> np.ndarray:
    if all(isinstance(v, bool) for v in vals):
        return np.array(vals, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return np.array(vals, dtype=np.int64)
    if all(is_number(v) for v in vals):
        return np.array(vals, dtype=float)
    return np.array([v.isoformat() if isinstance(v, dt.date) else
                     v if isinstance(v, str) else json.dumps(v, default=str) for v in vals],
                    dtype=object)


def summary(result: SweepResult) -> dict:
    """The sweep in the JSON of ``advsim sweep --json``."""
    plan, sw = result.plan, result.plan.sweep
    rows = [{k: _json_value(col[j]) for k, col in result.table.items()}
            for j in range(len(plan.points))]
    return {
        "advsim": __version__,
        "sweep": sw.name,
        "scenario": plan.points[0].scenario.name,
        "method": sw.method,
        "points": len(plan.points),
        "replications": sw.replications,
        "seed": sw.seed,
        "results_dir": str(result.path),
        "parameters": {p.path: _json_value(p.as_yaml()) for p in sw.parameters},
        "metrics": list(plan.headline),
        "sensitivity": [{k: _json_value(v) for k, v in r.items()} for r in result.sensitivity],
        "table": rows,
    }


def _json_value(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


# -- reading a sweep folder back ----------------------------------------------------------------

SWEEP_FILES = ("sweep.yaml", "scenario.yaml", "points.csv", "sensitivity.csv")


def _read_sweep(folder: str | os.PathLike[str]) -> SweepResult:
    from ..analysis.sensitivity import COLUMNS
    from ..artifacts.files import read_manifest
    from ..artifacts.tables import floats, read_csv_columns, read_table
    from ..errors import ScenarioError
    from .points import plan as make_plan
    from .spec import load_sweep

    path, spec = Path(folder), os.fspath(folder)
    manifest = read_manifest(path, "sweep", spec, required=SWEEP_FILES)
    try:
        the_plan = make_plan(load_sweep(path / "sweep.yaml"))
    except ScenarioError as e:
        raise AdvsimError(f"{spec}: its sweep.yaml does not load ({e})") from None
    cols = read_csv_columns(path / "points.csv", spec)
    sw = the_plan.sweep
    expected = ["point", *(p.path for p in sw.parameters), "seed", "replications",
                *the_plan.metric_columns]
    if list(cols) != expected:
        raise AdvsimError(f"{spec}: points.csv: its columns are not those of the sweep in "
                          f"sweep.yaml (expected {', '.join(expected[:4])}, ...)")
    try:
        index = [int(x) for x in cols["point"]]
        seeds = [int(x) for x in cols["seed"]]
        reps = [int(x) for x in cols["replications"]]
    except ValueError as e:
        raise AdvsimError(f"{spec}: points.csv: {e}") from None
    if sorted(index) != list(range(len(the_plan.points))) or any(
            seeds[j] != the_plan.points[i].seed for j, i in enumerate(index)):
        raise AdvsimError(f"{spec}: points.csv: its points and seeds are not those sweep.yaml "
                          "gives (written by another version of advsim?)")
    table: dict[str, np.ndarray] = {"point": np.array(index, dtype=np.int64)}
    for p in sw.parameters:  # as run_sweep made them, typed
        table[p.path] = _column([the_plan.points[i].values[p.path] for i in index])
    table["seed"] = np.array(seeds, dtype=np.int64)
    table["replications"] = np.array(reps, dtype=np.int64)
    metrics = read_table(path / "points.csv", spec, list(the_plan.metric_columns))
    for c in the_plan.metric_columns:  # from points.parquet where there is one: unrounded
        table[c] = np.asarray(metrics[c], dtype=float)

    raw = read_csv_columns(path / "sensitivity.csv", spec)
    missing = [c for c in COLUMNS if c not in raw]
    if missing:
        raise AdvsimError(f"{spec}: sensitivity.csv has no column {missing[0]!r}")
    typed: dict[str, list] = {}
    for c in COLUMNS:
        if c in ("metric", "parameter", "note"):
            typed[c] = list(raw[c])
        elif c in ("rank", "points"):
            typed[c] = [int(v) for v in floats(raw[c], path / "sensitivity.csv")]
        else:
            typed[c] = floats(raw[c], path / "sensitivity.csv").tolist()
    rows = [{c: typed[c][j] for c in COLUMNS} for j in range(len(raw["metric"]))]
    return SweepResult(
        plan=the_plan, path=path, table=table, sensitivity=rows,
        wall_seconds=float(manifest.get("wall_seconds") or 0.0),
        points_computed=int(manifest.get("points_computed") or 0), manifest=manifest)
