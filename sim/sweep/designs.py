"""Where a sweep's points fall: a full grid, a Latin hypercube or Saltelli's Sobol design."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..seeds import design_rng
from .spec import Sweep


def design(sweep: Sweep) -> list[dict[str, Any]]:
    """Each point's parameter values, in point order.

    grid: every combination, the last parameter varying fastest. lhs: ``samples`` points, one
    in each of ``samples`` equal strata of every parameter. sobol: Saltelli's design from a
    scrambled Sobol sequence: N = ``samples`` rows of A, then N of B, then for each parameter i
    N rows of A with column i from B, N × (parameters + 2) points in all.
    """
    ps = sweep.parameters
    if sweep.method == "grid":
        return [dict(zip((p.path for p in ps), combo))
                for combo in itertools.product(*(p.grid(sweep.levels) for p in ps))]
    from scipy.stats import qmc

    rng = design_rng(sweep.seed)
    d = len(ps)
    if sweep.method == "lhs":
        u = _qmc(qmc.LatinHypercube, d, rng).random(sweep.samples)
    else:
        n = sweep.samples
        assert n is not None  # lhs and sobol sweeps have their samples
        both = _qmc(qmc.Sobol, 2 * d, rng, scramble=True).random_base2(int(math.log2(n)))
        a, b = both[:, :d], both[:, d:]
        blocks = [a, b]
        for i in range(d):
            ab = a.copy()
            ab[:, i] = b[:, i]
            blocks.append(ab)
        u = np.vstack(blocks)
    return [{p.path: p.at(float(row[i])) for i, p in enumerate(ps)} for row in u]


def _qmc(cls, d: int, rng: np.random.Generator, **kw):
    try:
        return cls(d, rng=rng, **kw)
    except TypeError:  # scipy < 1.15 names it seed
        return cls(d, seed=rng, **kw)
