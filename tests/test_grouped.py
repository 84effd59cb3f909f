"""Sectors run as members of one group (sim/grouped.py) give the engine's numbers, sector by
sector, and the engine's law.

Exactness: each member draws its own streams in the engine's order and sizes, so its outcomes
equal those of ``simulate_chunk`` on its scenario to the last bit, whatever else is in the group
and however the members are packed. Law: the grouped path against the benchmark's pure-numpy
kernel (independent draws, two-sample KS on the day of the fall, censored at the horizon, and on
the progress at every checkpoint), with a kernel 10% faster told apart at the same sizes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import sim
from sim.engine import simulate_chunk
from sim.fitting.advance_fit import approach_scenario
from sim.grouped import Member, group_key, groupable, simulate_group
from sim.model import builder as B
from sim.model.distributions import Gamma, LogNormal
from sim.model.scenario import DefensiveLine, ForceTerm
from sim.running.batch import Planned, simulate_batch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import kernel  # noqa: E402  (benchmarks/ is not a package)

P_MIN = 1e-3  # fixed seeds: a p-value below this would mean the two laws differ
FIELDS = ("objective_day", "progress", "base_m_per_day", "milestone_days", "attacker_losses",
          "defender_losses", "strikes", "attacker_breakpoint_day", "defender_breakpoint_day")


def block():
    """The Pokrovsk advance of the shipped scenario without its force term: regimes (one of
    them a setback, so the start line reflects), gamma noise, a lognormal base."""
    sc = sim.load_scenario(ROOT / "scenarios/kurakhove.yaml")
    adv = sc.sector("pokrovsk").advance
    # Each origin starts a fresh sojourn of its own regime (time in regime has its own test).
    return dataclasses.replace(adv, force=None, regimes=dataclasses.replace(
        adv.regimes, elapsed_days=0.0))


def approaches(n_origins: int, *, replications: int, seed: int, horizon_days: int = 400,
               start: dt.date = dt.date(2000, 1, 1), adv=None, first_km: float = 0.2):
    adv = adv or block()
    states = [r.name for r in adv.regimes.states] if adv.regimes else [None]
    origins = [(f"o{i}", first_km + 2.7 * i, states[i % len(states)])
               for i in range(n_origins)]
    return approach_scenario(adv, origins, horizon_days, start=start,
                             replications=replications, seed=seed)


def assert_same(engine_out, grouped_out, name):
    for f in FIELDS:
        a, b = getattr(engine_out, f), getattr(grouped_out, f)
        assert a.shape == b.shape, (name, f)
        assert np.array_equal(a, b, equal_nan=True), (name, f)


def members_of(sc, chunk: int, n: int):
    return [Member(sector=s, seed=sc.seed, chunk=chunk, n=n) for s in sc.sectors]


@pytest.mark.parametrize("adv_change", ["as shipped", "no noise", "neither noise nor regimes",
                                        "a season"])
def test_each_member_gives_exactly_its_sectors_engine_numbers(adv_change):
    adv = block()
    start = dt.date(2000, 1, 1)
    if adv_change == "no noise":
        adv = dataclasses.replace(adv, noise=None)
    elif adv_change == "neither noise nor regimes":
        adv = dataclasses.replace(adv, noise=None, regimes=None)
    elif adv_change == "a season":
        adv = dataclasses.replace(adv, season=(0.5, 0.6, 0.8, 1.0, 1.2, 1.3, 1.3, 1.2, 1.1, 0.9,
                                               0.7, 0.5))
        start = dt.date(2023, 11, 17)
    sc = approaches(9, replications=600, seed=17, start=start, adv=adv)
    assert groupable(sc)
    engine = simulate_chunk(sc, sc.seed, 3, 600, bands=False)
    got = simulate_group(members_of(sc, 3, 600), sc.horizon_days, sc.start, sc.checkpoints_days)
    fell = [np.isfinite(g.objective_day).mean() for g in got]
    assert max(fell) > 0.9 and min(fell) < 0.5  # near and far: falls and censoring both
    for s, g in zip(sc.sectors, got):
        assert_same(engine[s.name], g, s.name)


def test_members_part_way_through_their_regimes_share_a_group_and_keep_their_numbers():
    """Time in regime: members whose first regimes have lasted different numbers of days are
    one group (what they share is the law, not how long each has been in it), and each still
    gives exactly its engine's numbers; the elapsed days change them."""
    sc = approaches(6, replications=400, seed=9)
    sectors = tuple(dataclasses.replace(s, advance=dataclasses.replace(
        s.advance, regimes=dataclasses.replace(s.advance.regimes, elapsed_days=40.0 * i)))
        for i, s in enumerate(sc.sectors))
    sc = dataclasses.replace(sc, sectors=sectors)
    assert len({group_key(sc, s) for s in sc.sectors}) == 1
    engine = simulate_chunk(sc, sc.seed, 1, 400, bands=False)
    got = simulate_group(members_of(sc, 1, 400), sc.horizon_days, sc.start, sc.checkpoints_days)
    for s, g in zip(sc.sectors, got):
        assert_same(engine[s.name], g, s.name)
    fresh = simulate_chunk(dataclasses.replace(sc, sectors=tuple(
        dataclasses.replace(s, advance=dataclasses.replace(s.advance, regimes=dataclasses.replace(
            s.advance.regimes, elapsed_days=0.0))) for s in sc.sectors)), sc.seed, 1, 400,
        bands=False)
    changed = [not np.array_equal(fresh[s.name].objective_day, engine[s.name].objective_day)
               for s in sc.sectors[1:]]
    assert all(changed)


def test_members_with_their_own_base_laws_share_a_group_and_keep_their_numbers():
    """Each member draws its base pace from its own law (a place's own pace, or one that may
    not move at all): still one group, and each gives exactly its engine's numbers."""
    from sim.model.distributions import ZeroInflatedGamma

    sc = approaches(5, replications=400, seed=11)
    laws = [LogNormal.from_mean_cv(40.0 + 10 * i, 0.5) for i in range(4)]
    laws.append(ZeroInflatedGamma(p_move=0.4, mean=20.0, sd=40.0))
    sc = dataclasses.replace(sc, sectors=tuple(
        dataclasses.replace(s, advance=dataclasses.replace(s.advance, base_m_per_day=law))
        for s, law in zip(sc.sectors, laws)))
    assert len({group_key(sc, s) for s in sc.sectors}) == 1
    engine = simulate_chunk(sc, sc.seed, 2, 400, bands=False)
    got = simulate_group(members_of(sc, 2, 400), sc.horizon_days, sc.start, sc.checkpoints_days)
    for s, g in zip(sc.sectors, got):
        assert_same(engine[s.name], g, s.name)
    assert np.mean(got[-1].base_m_per_day == 0) == pytest.approx(0.6, abs=0.07)


def test_a_members_numbers_do_not_depend_on_the_others_in_its_group():
    sc = approaches(6, replications=500, seed=4)
    alone = [simulate_group(members_of(dataclasses.replace(sc, sectors=(s,)), 0, 500),
                            sc.horizon_days, sc.start, sc.checkpoints_days)[0]
             for s in sc.sectors]
    together = simulate_group(members_of(sc, 0, 500)[::-1], sc.horizon_days, sc.start,
                              sc.checkpoints_days)[::-1]
    for s, a, b in zip(sc.sectors, alone, together):
        assert_same(a, b, s.name)


def test_area_sectors_and_members_of_different_sizes_and_seeds():
    adv = block()
    sectors = [B.area(f"a{i}", area_km2=40.0 + 30 * i, front_km=5.0 + i, advance=adv,
                      attacker=1, defender=1) for i in range(3)]
    scs = [B.scenario(s, horizon_days=300, seed=100 + i, replications=50 + 400 * i)
           for i, s in enumerate(sectors)]
    members = [Member(sector=sc.sectors[0], seed=sc.seed, chunk=1, n=sc.replications)
               for sc in scs]
    got = simulate_group(members, 300, scs[0].start, scs[0].checkpoints_days)
    for sc, g in zip(scs, got):
        engine = simulate_chunk(sc, sc.seed, 1, sc.replications, bands=False)
        assert_same(engine[sc.sectors[0].name], g, sc.sectors[0].name)


def test_only_sectors_moved_by_the_advance_alone_are_grouped():
    adv = block()
    plain = B.scenario(B.axis("x", length_km=5, advance=adv, attacker=1, defender=1))
    assert groupable(plain)
    line = DefensiveLine(name="l", at=2.0, breach_days=Gamma(mean=5, sd=2))
    refused = [
        B.axis("x", length_km=5, advance=adv, lines=[line]),
        B.axis("x", length_km=5, advance=adv, milestones={"half": 2.5}),
        B.axis("x", length_km=5, advance=dataclasses.replace(
            adv, force=ForceTerm(reference_ratio=1.0, elasticity=0.5))),
    ]
    for s in refused:
        assert not groupable(B.scenario(s))
    # One key per model: another horizon is another group; another start regime or base law
    # is not (each member draws its own base).
    s = plain.sectors[0]
    regimes = dataclasses.replace(adv.regimes, initial=adv.regimes.states[2].name)
    other_start = dataclasses.replace(s, advance=dataclasses.replace(adv, regimes=regimes))
    assert group_key(plain, s) == group_key(plain, other_start)
    faster = dataclasses.replace(s, advance=dataclasses.replace(
        adv, base_m_per_day=LogNormal(mu=3.0, sigma=0.5)))
    assert group_key(plain, s) == group_key(plain, faster)
    assert group_key(plain, s) != group_key(plain.with_horizon(200, (30,)), s)


def test_a_batch_gives_every_run_the_numbers_it_gives_alone_on_any_workers():
    # Places of an outlook (one sector each, their own seeds) and an item of a fit (many
    # sectors, one seed), with a scenario the groups cannot take (a line) in the same batch.
    places = [approaches(1, replications=300 + 50 * i, seed=900 + i) for i in range(4)]
    places = [dataclasses.replace(p, sectors=(dataclasses.replace(
        p.sectors[0], name=f"p{i}", length_km=1.0 + 4 * i),)) for i, p in enumerate(places)]
    item = approaches(5, replications=12_345, seed=8)  # two chunks of each sector
    line = DefensiveLine(name="l", at=1.0, breach_days=Gamma(mean=5, sd=2))
    other = B.scenario(B.axis("l", length_km=3, advance=block(), lines=[line]), seed=5,
                       horizon_days=400, replications=700)
    runs = [Planned(scenario=sc, replications=sc.replications, seed=sc.seed)
            for sc in (*places, item, other)]
    alone = [sim.simulate(r.scenario, jobs=1, bands=False) for r in runs]
    for jobs in (1, 2):
        batch = simulate_batch(runs, jobs=jobs, bands=False)
        for a, b in zip(alone, batch):
            for name, sa in a.sectors.items():
                sb = b.sectors[name]
                assert np.array_equal(sa.objective_day, sb.objective_day), (jobs, name)
                assert np.array_equal(sa.progress, sb.progress, equal_nan=True), (jobs, name)


def grouped_run(sc, seed: int):
    [res] = simulate_batch([Planned(scenario=sc, replications=sc.replications, seed=seed)],
                           bands=False)
    return res


def grouped_fall_days(sc, seed: int) -> dict[str, np.ndarray]:
    return {n: o.objective_day for n, o in grouped_run(sc, seed).sectors.items()}


def faster_by(sc, ratio: float):
    sectors = []
    for s in sc.sectors:
        base = s.advance.base_m_per_day
        sectors.append(dataclasses.replace(s, advance=dataclasses.replace(
            s.advance, base_m_per_day=dataclasses.replace(base, mu=base.mu + np.log(ratio)))))
    return dataclasses.replace(sc, sectors=tuple(sectors))


def kernel_ks(sc, grouped, kernel_out) -> dict[str, float]:
    """p-values of the day of the fall and the progress at every checkpoint, by sector."""
    out = {}
    for n, k in kernel_out.items():
        g = grouped.sectors[n]
        out[f"{n} fall day"] = stats.ks_2samp(g.objective_day, k.objective_day).pvalue
        for i, d in enumerate(sc.checkpoints_days):
            out[f"{n} day {d}"] = stats.ks_2samp(g.progress[:, i], k.progress[:, i]).pvalue
    return out


def test_the_grouped_path_and_the_kernel_agree_in_law_and_a_faster_rate_is_told_apart():
    sc = approaches(3, replications=8_000, seed=1, horizon_days=365, first_km=4.0)
    grouped = grouped_run(sc, 21)
    assert all(0.05 < s.reached.mean() < 0.98 for s in grouped.sectors.values())
    same = kernel_ks(sc, grouped, kernel.run(sc, 8_000, 1021))
    assert min(same.values()) > P_MIN, same
    faster = kernel_ks(sc, grouped, kernel.run(faster_by(sc, 1.10), 8_000, 1021))
    assert all(faster[f"{n} fall day"] < P_MIN for n in grouped.sectors), faster


def test_the_grouped_path_and_the_per_scenario_engine_agree_in_law_across_seeds():
    # The grouped path at one seed against the engine, one scenario per origin, at another:
    # independent draws of one law, origin by origin; a 10% faster rate is told apart (the
    # origins' days pooled, as a fit's check pools them).
    sc = approaches(3, replications=8_000, seed=1, horizon_days=365, first_km=4.0)
    grouped = grouped_fall_days(sc, 31)
    for label, model in (("same", sc), ("10% faster", faster_by(sc, 1.10))):
        engine = {s.name: sim.simulate(dataclasses.replace(model, sectors=(s,)),
                                       replications=8_000, seed=32, jobs=1
                                       ).sectors[s.name].objective_day
                  for s in model.sectors}
        if label == "same":
            for name, days in engine.items():
                p = stats.ks_2samp(grouped[name], days).pvalue
                assert p > P_MIN, (name, p)
        else:
            p = stats.ks_2samp(np.concatenate(list(grouped.values())),
                               np.concatenate(list(engine.values()))).pvalue
            assert p < P_MIN, p
