"""Parameter sweeps: a spec of key paths to vary, the points it makes, their runs and their table.

A sweep varies values of one base scenario, addressed by key path as ``--set`` does, over
ranges (``low``/``high``, optionally ``log``) or lists of values; ``method`` places the points
(a full ``grid``, a Latin hypercube ``lhs`` or Saltelli's ``sobol`` design), and each point
runs ``replications`` replications with a seed derived from the sweep's seed and the point's
index:

    point i's seed = SeedSequence(seed, spawn_key=(0, i)).generate_state(1, uint64)[0] >> 1

so a point's numbers do not depend on the other points, on the order they finish in or on
where they ran, and ``advsim run`` of the point's scenario with that seed reproduces them. The
LHS and Sobol designs draw from child ``(1,)`` and the Sobol bootstrap from child ``(2,)``.

Points are written to ``DIR.partial/parts/`` as they finish (each file renamed into place), so a
killed sweep keeps exactly the points that finished and ``--resume`` computes only the rest
(and any point whose files it finds damaged, saying so); once all are there the table, the
outcomes and the sensitivity are written and ``DIR.partial`` becomes ``DIR`` in one rename.

The rooms, in the order a sweep goes through them: ``spec`` (the spec and its parameters),
``designs`` (where the points fall), ``metrics`` (what is measured at each point), ``points``
(the plan: points with their seeds and scenarios), ``store`` (the ``.partial`` folder and
resume), ``table`` (points.csv, outcomes, sensitivity) and ``run`` (all of it on an executor).
The seed conventions are in ``sim.seeds``.
"""

from __future__ import annotations

from ..seeds import point_seed
from .designs import design
from .metrics import PERCENTILES, Metric, metric_columns, point_metrics
from .points import Plan, Point, plan
from .run import run_chunk, run_sweep
from .spec import (
    DEFAULT_LEVELS,
    DEFAULT_METRICS,
    DEFAULT_REPLICATIONS,
    DEFAULT_SAMPLES,
    MAX_POINTS,
    METHODS,
    Parameter,
    Sweep,
    load_sweep,
)
from .store import partial_dir
from .table import SweepResult, points_table, sensitivity, summary

__all__ = [
    "DEFAULT_LEVELS", "DEFAULT_METRICS", "DEFAULT_REPLICATIONS", "DEFAULT_SAMPLES", "MAX_POINTS",
    "METHODS", "PERCENTILES", "Metric", "Parameter", "Plan", "Point", "Sweep", "SweepResult",
    "design", "load_sweep", "metric_columns", "partial_dir", "plan", "point_metrics",
    "point_seed", "points_table", "run_chunk", "run_sweep", "sensitivity", "summary",
]
