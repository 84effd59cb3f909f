"""Model properties over random valid scenarios (Hypothesis).

Random scenarios come from ``scenario_strategies``: axis and area sectors with random
distributions, milestones, lines, regimes, strikes, modifiers, reinforcements, reserves,
attrition models and force terms. Over each, checked per sector and replication:

1. axis progress stays within [0, length_km] at every checkpoint;
2. held area stays within [objective_km2, area_km2] (so within [0, area_km2]);
3. the objective day is within (0, horizon] or censored (+inf, never NaN), and progress at a
   checkpoint is the whole axis (the residue) exactly when the objective fell by then;
4. milestone days likewise, reached in the order of their positions, none after the objective;
5. losses are between 0 and the troops the side ever had in the sector (initial, reinforcements,
   a theatre reserve of that side serving it);
6. the same seed gives identical tables, bands and summaries;
7. the per-day bands stay within the same bounds and their percentiles are ordered; the summary's
   day percentiles are ordered, censored (null) only from some percentile up;
8. on the same random numbers, more attacker troops never slow the attack, and more defender
   troops never speed it: no later objective or milestone, no less progress at any checkpoint;
9. where every factor of the advance is non-negative, progress never goes backwards.

Property 8 holds where the daily advance cannot be negative and no reserve is released by rule.
The two cases where it does not are kept below as expected failures, with the reason.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenario_strategies import scenarios

from sim.model.loader import parse_scenario
from sim.running.runner import simulate

REPLICATIONS = 24
CHUNK = 10  # three chunks of a run of 24: outcomes are placed by replication index
SEEDS = 3  # runs of one replication each, for the comparisons on common random numbers

PROPS = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MANY = settings(PROPS, max_examples=1000)

seeds = st.integers(0, 2**63 - 1 - SEEDS)


def build(doc: dict):
    return parse_scenario(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def troops_ever(sc, s, side: str) -> float:
    """Every troop ``side`` could have in sector ``s``: initial, reinforcements, and the whole of
    any reserve of that side serving the sector."""
    initial = getattr(s, side).troops
    arriving = sum(r.troops for r in s.reinforcements if r.side == side)
    reserve = sum(r.troops for r in sc.reserves if r.side == side and s.name in r.sectors)
    return initial + arriving + reserve


def ordered(rows: np.ndarray, *, increasing: bool) -> bool:
    """Whether each row is non-decreasing (``increasing``) or non-increasing; inf allowed."""
    a, b = rows[..., :-1], rows[..., 1:]
    return bool((b >= a).all() if increasing else (b <= a).all())


def check_bounds(sc, result) -> None:
    h = sc.horizon_days
    cps = np.array(sc.checkpoints_days)
    for s in sc.sectors:
        so = result.sectors[s.name]
        prog = so.progress
        assert np.isfinite(prog).all()
        if s.kind == "axis":
            lo, hi, end = 0.0, s.length_km, s.length_km
        else:
            slack = 1e-9 * s.area_km2  # (√A₀ − u)² at the residue, to rounding
            lo, hi, end = s.objective_km2 - slack, s.area_km2, s.objective_km2
        # 1, 2
        assert (prog >= lo).all() and (prog <= hi).all(), (s.name, prog.min(), prog.max())
        # 3
        day = so.objective_day
        assert not np.isnan(day).any()
        reached = np.isfinite(day)
        assert (day[reached] > 0).all() and (day[reached] <= h).all()
        assert (day[~reached] == np.inf).all()
        fallen = day[:, None] <= cps[None, :]
        at_end = np.abs(prog - end) <= (slack if s.kind == "area" else 0.0)
        assert (at_end == fallen).all() if s.kind == "axis" else (at_end >= fallen).all()
        # 4
        ms = so.milestone_days
        assert not np.isnan(ms).any()
        assert ((ms > 0) & (ms <= h) | (ms == np.inf)).all()
        assert (ms <= day[:, None]).all()
        order = np.argsort([m.at if s.kind == "axis" else -m.at for m in s.milestones],
                           kind="stable")
        assert ordered(ms[:, order], increasing=True)
        # 5
        for side, lost in (("attacker", so.attacker_losses), ("defender", so.defender_losses)):
            cap = troops_ever(sc, s, side)
            assert (lost >= 0).all() and (lost <= cap * (1 + 1e-12)).all(), (side, lost, cap)
    # 7
    summary = result.summary()
    for name, band in result.bands().items():
        s = sc.sector(name)
        b = np.array([band[k] for k in band if k != "day"])
        assert np.isfinite(b).all()
        if s.kind == "axis":
            assert (b >= 0).all() and (b <= s.length_km * (1 + 1e-12)).all()
        else:
            assert (b >= s.objective_km2 - 1e-9 * s.area_km2).all()
            assert (b <= s.area_km2 * (1 + 1e-12)).all()
        assert ordered(b.T, increasing=True)
        days = list(summary["sectors"][name]["objective"]["day"].values())
        known = [d for d in days if d is not None]
        assert known == sorted(known) and days[: len(known)] == known
        assert 0 <= summary["sectors"][name]["objective"]["prob_reached"] <= 1


@PROPS
@given(scenarios(), seeds)
def test_outcomes_stay_within_bounds_and_repeat(doc, seed):
    sc = build(doc)
    result = simulate(sc, replications=REPLICATIONS, seed=seed, jobs=1, chunk_size=CHUNK)
    check_bounds(sc, result)
    # 6
    again = simulate(sc, replications=REPLICATIONS, seed=seed, jobs=1, chunk_size=CHUNK)
    a, b = result.table(), again.table()
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f"), k
    for name in result.sectors:
        assert np.array_equal(result.sectors[name].band_counts, again.sectors[name].band_counts)
    assert result.summary() == again.summary()


@pytest.mark.soak
@MANY
@given(scenarios(), seeds)
def test_outcomes_stay_within_bounds_many(doc, seed):
    sc = build(doc)
    check_bounds(sc, simulate(sc, replications=REPLICATIONS, seed=seed, jobs=1,
                              chunk_size=CHUNK))


# -- more troops, on the same random numbers ---------------------------------------------------
# Streams are per chunk, sector and source, but a chunk draws its daily noise for the
# replications still active, so two scenarios share every draw only one replication at a time.


def with_more(doc: dict, side: str, extra: float) -> dict:
    out = copy.deepcopy(doc)
    for s in out["sectors"].values():
        s["forces"][side]["troops"] += extra
    return out


def outcomes_by_seed(doc: dict, seed: int) -> list[dict]:
    sc = build(doc)
    return [simulate(sc, replications=1, seed=seed + k, jobs=1).sectors for k in range(SEEDS)]


def assert_no_slower(fast: list[dict], slow: list[dict], sc) -> None:
    """Outcomes ``fast`` are at least as advanced as ``slow``: every replication, every day."""
    for f, w in zip(fast, slow):
        for s in sc.sectors:
            a, b = f[s.name], w[s.name]
            assert (a.objective_day <= b.objective_day).all(), (s.name, a.objective_day,
                                                               b.objective_day)
            assert (a.milestone_days <= b.milestone_days).all(), s.name
            if s.kind == "axis":
                assert (a.progress >= b.progress).all(), (s.name, a.progress, b.progress)
            else:
                assert (a.progress <= b.progress).all(), (s.name, a.progress, b.progress)


def check_monotone(doc: dict, seed: int, extra: float) -> None:
    sc = build(doc)
    base = outcomes_by_seed(doc, seed)
    # 9: with no negative factor, progress never goes backwards
    for out in base:
        for s in sc.sectors:
            assert ordered(out[s.name].progress, increasing=s.kind == "axis"), s.name
    # 8
    assert_no_slower(outcomes_by_seed(with_more(doc, "attacker", extra), seed), base, sc)
    assert_no_slower(base, outcomes_by_seed(with_more(doc, "defender", extra), seed), sc)


forward_only = scenarios(negative=False, reserves=False, max_horizon=250)
extras = st.one_of(st.floats(1, 1e5), st.sampled_from([1e-6, 1.0, 1e6]))


@PROPS
@given(forward_only, seeds, extras)
def test_more_attackers_never_slow_the_attack_nor_more_defenders_speed_it(doc, seed, extra):
    check_monotone(doc, seed, extra)


@pytest.mark.soak
@MANY
@given(forward_only, seeds, extras)
def test_more_troops_many(doc, seed, extra):
    check_monotone(doc, seed, extra)


# -- where the model does not promise it -------------------------------------------------------


def _one_axis(body: str, *, extra: str = "") -> dict:
    return yaml.safe_load(
        "name: counter-example\nstart: 2024-06-01\nhorizon_days: 60\n"
        f"checkpoints_days: [10, 20, 30, 60]\n{extra}sectors:\n  s:\n"
        "    kind: axis\n    length_km: 1000\n    objective: {name: far}\n"
        "    forces: {attacker: {troops: 1000}, defender: {troops: 1000}}\n"
        + "".join(f"    {line}\n" for line in body.strip().splitlines())
    )


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "The force term multiplies the whole advance, a counter-attack regime's negative factor too, "
    "so a stronger attacker is also pushed back faster; and one below its culmination ratio "
    "stands still instead of being pushed back. Here 3000 attackers end 2 km in, 1500 end 10 km "
    "in: the two sides' ratios differ more in the counter-attack (the weaker attacker, worn by "
    "its losses, has culminated) than in the attack before it."))
def test_more_attackers_can_be_pushed_back_further_by_a_counter_attack():
    doc = _one_axis("""\
attrition: {model: daily_fraction, attacker: 0.05, defender: 0}
advance:
  base_m_per_day: 1000
  force: {reference_ratio: 1, elasticity: 1, culmination_ratio: 1, max_factor: 100}
  regimes:
    states:
      attack: {factor: 1, sojourn_days: 10}
      counter-attack: {factor: -3, sojourn_days: 10}""")
    doc["sectors"]["s"]["forces"]["attacker"]["troops"] = 1500
    sc = build(doc)
    assert_no_slower(outcomes_by_seed(with_more(doc, "attacker", 1500), 0),
                     outcomes_by_seed(doc, 0), sc)


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "A reserve is released by rule to a sector whose own/enemy ratio is below a threshold: "
    "start with more attackers and the reserve stays put, start with fewer and it is released, "
    "ending with more. Here 1000 attackers get the 20,000 reserve and reach 36 km by day 60; "
    "2500 get none and reach 15 km."))
def test_more_attackers_can_mean_no_reserve_released():
    doc = _one_axis("""\
advance:
  base_m_per_day: 100
  force: {reference_ratio: 1, elasticity: 1, max_factor: 100}""", extra="""\
reserves:
  pool: {side: attacker, troops: 20000, release: {below_ratio: 2, batch_troops: 5000},
         transit_days: 0}
""")
    sc = build(doc)
    assert_no_slower(outcomes_by_seed(with_more(doc, "attacker", 1500), 0),
                     outcomes_by_seed(doc, 0), sc)
