"""The same scenario and seed give the same numbers, whatever the number of workers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from sim import load_scenario, simulate
from sim.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def tables_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f") for k in a
    )


def test_jobs_do_not_change_the_numbers():
    sc = load_scenario(ROOT / "scenarios/theatre.yaml")
    one = simulate(sc, replications=1200, seed=5, jobs=1, chunk_size=250)
    two = simulate(sc, replications=1200, seed=5, jobs=2, chunk_size=250)
    assert tables_equal(one.table(), two.table())
    for name in one.sectors:
        assert np.array_equal(one.sectors[name].band_counts, two.sectors[name].band_counts)
    assert one.summary() == two.summary()


def test_histograms_only_when_asked_and_the_same_numbers_either_way():
    """Fits, evaluations and backtests run without per-day histograms: nothing else changes."""
    sc = load_scenario(ROOT / "scenarios/theatre.yaml")
    full = simulate(sc, replications=600, seed=3, chunk_size=250)
    bare = simulate(sc, replications=600, seed=3, chunk_size=250, bands=False)
    assert tables_equal(full.table(), bare.table())
    for so in bare.sectors.values():
        assert so.band_counts is None and so.forces_counts is None
        assert not so.has_forces_bands()
    for name, so in full.sectors.items():
        assert so.band_counts is not None and so.band_counts.sum(axis=1).tolist() == [600] * (
            sc.horizon_days + 1)  # every replication, every day, retired or not
        assert bare.summary()["sectors"][name]["forces"]["attacker"]["breakpoint"] == (
            full.summary()["sectors"][name]["forces"]["attacker"]["breakpoint"])


def test_a_different_seed_gives_different_numbers():
    sc = load_scenario(ROOT / "scenarios/kurakhove-reported.yaml")
    a = simulate(sc, replications=300, seed=1).table()
    b = simulate(sc, replications=300, seed=2).table()
    assert not np.array_equal(a["objective_day"], b["objective_day"], equal_nan=True)


def test_chunks_are_fixed_by_replication_index():
    """The first 250 replications of a run of 500 are the run of 250: chunk k draws from child k."""
    sc = load_scenario(ROOT / "scenarios/kursk.yaml")
    small = simulate(sc, replications=250, seed=9, chunk_size=250).table()
    large = simulate(sc, replications=500, seed=9, chunk_size=250).table()
    assert np.array_equal(small["objective_day"], large["objective_day"][:250], equal_nan=True)


def test_cli_jobs_give_identical_outcome_files(tmp_path):
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}"
        r = CliRunner().invoke(cli, ["run", str(ROOT / "scenarios/kursk.yaml"), "-n", "12000",
                                     "-j", jobs, "--out", str(out), "--json"])
        assert r.exit_code == 0, r.output
        outs.append(out)
        summary = json.loads(r.stdout)
        summary.pop("results_dir")
    a, b = ((o / "outcomes.csv").read_bytes() for o in outs)
    assert a == b
    assert (outs[0] / "bands.csv").read_bytes() == (outs[1] / "bands.csv").read_bytes()


def test_dask_gives_the_numbers_of_one_process(tmp_path):
    """`advsim run --executor dask` runs the same chunks as tasks on a Dask LocalCluster: the
    JSON equals that of `-j 1`, byte for byte but for the folder it names."""
    import pytest

    pytest.importorskip("dask.distributed")
    outs = []
    for args in (["-j", "1"], ["--executor", "dask", "-j", "2"]):
        r = CliRunner().invoke(cli, ["run", str(ROOT / "scenarios/kurakhove-reported.yaml"),
                                     "-n", "20000", "--seed", "3", "--json", "-q", "--out",
                                     str(tmp_path / args[-1]), *args])
        assert r.exit_code == 0, r.output
        summary = json.loads(r.stdout)
        summary.pop("results_dir")
        outs.append(summary)
    assert outs[0] == outs[1]


def test_an_open_executor_is_used_as_given():
    from sim.running.executors import open_executor

    sc = load_scenario(ROOT / "scenarios/kursk.yaml")
    alone = simulate(sc, replications=900, seed=4, chunk_size=300)
    with open_executor("local", 2) as ex:
        pooled = simulate(sc, replications=900, seed=4, chunk_size=300, executor=ex)
        again = simulate(sc, replications=900, seed=4, chunk_size=300, executor=ex)
    assert pooled.jobs == 2
    assert tables_equal(alone.table(), pooled.table()) and tables_equal(pooled.table(),
                                                                        again.table())
