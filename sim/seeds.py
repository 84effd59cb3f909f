"""Every seed convention: which child of which ``SeedSequence`` each random stream draws from.

- **A run** with seed ``s``: chunk ``k`` (a fixed number of replications, by replication index)
  draws from children ``(k, ...)`` of ``SeedSequence(s)``, so any number of workers, local or on
  Dask, gives the same numbers. Within chunk ``k``, source ``j`` of sector ``S`` (``BASE``,
  ``NOISE``, ...) draws from child ``(k, name_key(S), j)`` and reserve ``R`` from
  ``(k, name_key("reserve:" + R), RESERVE)``: streams per name and per source, so that two
  scenarios that differ in one source share the others (common random numbers).
- **A sweep** with seed ``s``: point ``i`` runs with the run seed ``point_seed(s, i)``, 63 bits of
  child ``(0, i)``; the LHS and Sobol designs draw from child ``(1,)``, the bootstrap of Sobol
  indices from child ``(2,)``.
- **compare**: the bootstrap of sector ``S`` in comparison ``j`` (run ``j`` against the first)
  draws from child ``(name_key(S), j)`` of the first run's seed.
- **backtest**: the baselines and the randomised PIT of sector ``S`` draw from child
  ``(name_key("backtest:" + S),)`` of the run's seed. From many origins, origin ``i`` (in date
  order, 0 first) runs with the run seed ``origin_seed(s, i)``: 63 bits of child
  ``(name_key("origin"), i)`` of ``SeedSequence(s)``, so each origin's projection has its own
  random numbers, the same whatever the executor or the other origins.
  A self-test (``--self-test N``) draws its series as replications 0 … N − 1 of a run seeded
  with ``self_test_seed(s)``: 63 bits of child ``(name_key("self-test"),)``.
- **reference evaluate** (leave one town out) with seed ``s``: every forecast of held-out town
  ``T`` (the class model and each ``--versus`` block) runs with the run seed
  ``evaluation_seed(s, T)``: 63 bits of child ``(name_key("evaluate:" + T),)``, the same for
  each forecaster (common random numbers: their difference is sharper) and whatever the
  other towns or the executor. The randomised PIT of its scores draws from child
  ``(name_key("evaluate:pit"),)`` (``evaluation_rng``).
- **outlook** with seed ``s``: place ``P`` (its slug) runs with the run seed
  ``outlook_seed(s, P)``: 63 bits of child ``(name_key("outlook:" + P),)``, so its scenario
  file (``--scenarios``, which carries that seed) run alone gives the same numbers. A forward
  evaluation's origin ``o`` uses ``outlook_seed(s, P + "@" + o)`` (ISO date); its randomised
  PITs draw from child ``(name_key("outlook:pit"),)``.
- **reference fit --check** with seed ``s``: the approaches of distance band ``b`` (0 the
  nearest) run with ``fit_check_seed(s, b)``: 63 bits of child ``(name_key("fit-check"), b)``;
  the band's bootstrap of towns draws from child ``(name_key("fit-check:bootstrap"), b)``
  (``fit_check_bootstrap_rng``).
- **calibrate**: the randomised PIT of zero increments (the fit check) of sector ``S`` draws
  from ``SeedSequence(0, spawn_key=(name_key("calibrate:" + S),))``: the report repeats.

Changing any of these changes published numbers: they are fixed.
"""

from __future__ import annotations

import zlib

import numpy as np

# The sources of one sector's streams, in spawn-key order.
BASE, NOISE, REGIME, LINES, STRIKES, REINFORCE, ATTRITION, RESERVE = range(8)
SOURCES = 8

# Children of a sweep's seed.
SWEEP_POINT, SWEEP_DESIGN, SWEEP_BOOTSTRAP = range(3)


def name_key(name: str) -> int:
    """A name's part of a spawn key: its CRC-32, the same in every process and Python."""
    return zlib.crc32(name.encode("utf-8"))


def stream(seed: int, chunk: int, *key: int) -> np.random.Generator:
    """The generator of one source in one chunk: child ``(chunk, *key)`` of the run's seed."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(chunk, *key)))


def sector_streams(seed: int, chunk: int, sector: str) -> dict[int, np.random.Generator]:
    """One generator per source (``BASE`` ... ``RESERVE``) of a sector in a chunk."""
    key = name_key(sector)
    return {src: stream(seed, chunk, key, src) for src in range(SOURCES)}


def reserve_stream(seed: int, chunk: int, reserve: str) -> np.random.Generator:
    """The generator of a theatre reserve's releases in a chunk."""
    return stream(seed, chunk, name_key("reserve:" + reserve), RESERVE)


def child_seed(seed: int, *key: int) -> int:
    """A run seed derived from child ``key`` of ``SeedSequence(seed)``: its first 63 bits."""
    ss = np.random.SeedSequence(seed, spawn_key=key)
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def child_rng(seed: int, *key: int) -> np.random.Generator:
    """The generator of child ``key`` of ``SeedSequence(seed)``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def point_seed(sweep_seed: int, index: int) -> int:
    """Sweep point ``index``'s run seed: 63 bits from child ``(0, index)`` of the sweep's seed."""
    return child_seed(sweep_seed, SWEEP_POINT, index)


POINT_SEEDS = ("point i: SeedSequence(seed, spawn_key=(0, i)).generate_state(1, uint64)[0] >> 1 "
               "(the seed column of points.csv)")  # as a sweep's manifest states it


def design_rng(sweep_seed: int) -> np.random.Generator:
    """The generator of a sweep's LHS or Sobol design."""
    return np.random.default_rng(np.random.SeedSequence(sweep_seed, spawn_key=(SWEEP_DESIGN,)))


def sweep_bootstrap_rng(sweep_seed: int) -> np.random.Generator:
    """The generator of the bootstrap intervals of a sweep's Sobol indices."""
    return np.random.default_rng(
        np.random.SeedSequence(sweep_seed, spawn_key=(SWEEP_BOOTSTRAP,)))


def bootstrap_rng(seed: int, sector: str, comparison: int) -> np.random.Generator:
    """compare's bootstrap for one sector and comparison: fixed, so output is repeatable."""
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(name_key(sector), comparison)))


def backtest_rng(seed: int, sector: str) -> np.random.Generator:
    """The generator of a backtest's naive baseline for one sector."""
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(name_key("backtest:" + sector),)))


def origin_seed(seed: int, index: int) -> int:
    """The run seed of a backtest's origin ``index`` (in date order): 63 bits of child
    ``(name_key("origin"), index)`` of the backtest's seed."""
    return child_seed(seed, name_key("origin"), index)


def calibrate_rng(sector: str) -> np.random.Generator:
    """The generator of calibrate's randomised PITs (zero increments) for one sector."""
    return np.random.default_rng(
        np.random.SeedSequence(0, spawn_key=(name_key("calibrate:" + sector),)))


def self_test_seed(seed: int) -> int:
    """The seed of the run whose replications are a self-test's synthetic series: 63 bits of
    child ``(name_key("self-test"),)`` of the backtest's seed."""
    return child_seed(seed, name_key("self-test"))


def evaluation_seed(seed: int, town: str) -> int:
    """The run seed of every projection of held-out ``town`` in a leave-one-town-out
    evaluation: 63 bits of child ``(name_key("evaluate:" + town),)``."""
    return child_seed(seed, name_key("evaluate:" + town))


def evaluation_rng(seed: int) -> np.random.Generator:
    """The generator of an evaluation's randomised PITs."""
    return child_rng(seed, name_key("evaluate:pit"))


def outlook_seed(seed: int, place: str) -> int:
    """The run seed of an outlook's projection of ``place`` (its slug): 63 bits of child
    ``(name_key("outlook:" + place),)``, whatever the other places or the executor."""
    return child_seed(seed, name_key("outlook:" + place))


def neighbours_rng(seed: int) -> np.random.Generator:
    """The generator of the bootstrap over places of a forward evaluation's neighbouring
    falls (:mod:`sim.forecast.neighbours`)."""
    return child_rng(seed, name_key("outlook:neighbours"))


def fit_check_seed(seed: int, band: int) -> int:
    """The run seed of a fit check's approaches in distance band ``band`` (0 the nearest)."""
    return child_seed(seed, name_key("fit-check"), band)


def fit_check_bootstrap_rng(seed: int, band: int) -> np.random.Generator:
    """The generator of a fit check's bootstrap of towns in distance band ``band``."""
    return child_rng(seed, name_key("fit-check:bootstrap"), band)
