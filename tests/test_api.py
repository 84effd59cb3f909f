"""The Python API: a result in memory and one read back from its folder are one type, and
compare, plot and backtest take either without writing anything."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import sim
from sim.cli import cli
from sim.running.outcomes import Result

ROOT = Path(__file__).resolve().parents[1]
KURAKHOVE = ROOT / "scenarios/kurakhove-reported.yaml"


@pytest.fixture
def empty_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_compare_plot_and_backtest_in_memory_write_nothing_but_the_chart(empty_dir):
    pytest.importorskip("matplotlib")
    sc = sim.load_scenario(KURAKHOVE)
    r = sim.simulate(sc, replications=2000, seed=1)
    c = sim.compare([r, r])
    k = c["sectors"]["kurakhove"]["objective_day"]
    assert k["median_diff_days"] == 0 and k["median_diff_ci95"] == [0, 0]
    assert c["runs"][0]["path"] is None
    assert sim.plot(r, kind="fan", output="fan.png") == Path("fan.png")
    observed = {"kurakhove": sim.read_observed(ROOT / "scenarios/observed/synthetic-kurakhove.csv")
                ["kurakhove"]}
    bt = sim.backtest(sc, observed, replications=500, seed=2)
    assert bt.summary()["sectors"]["kurakhove"]["n_obs"] == 14
    assert sorted(os.listdir(empty_dir)) == ["fan.png"]


def test_a_folder_reads_back_as_the_result_that_wrote_it(tmp_path):
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["run", str(KURAKHOVE), "-n", "700", "--seed", "4", "-q",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    memory = sim.simulate(sim.load_scenario(KURAKHOVE), replications=700, seed=4)
    disk = Result.from_folder(out)
    assert type(disk) is type(memory) and disk.source == str(out)
    a, b = memory.sectors["kurakhove"], disk.sectors["kurakhove"]
    # Written to 6 significant digits; censored days come back as +inf.
    assert np.array_equal(np.isinf(a.objective_day), np.isinf(b.objective_day))
    fin = np.isfinite(a.objective_day)
    np.testing.assert_allclose(b.objective_day[fin], a.objective_day[fin], rtol=1e-5)
    np.testing.assert_allclose(b.progress, a.progress, rtol=1e-5, atol=1e-9)
    assert b.milestone_at == a.milestone_at and b.sector == a.sector
    # Bands in memory come from histograms, read back from bands.csv: the same numbers.
    for key, band in memory.bands()["kurakhove"].items():
        np.testing.assert_allclose(disk.bands()["kurakhove"][key], band, rtol=1e-5, atol=1e-9)
    # And compare gives the same differences of either (paired: same seed and size).
    mem, dsk = sim.compare([memory, memory]), sim.compare([disk, memory])
    assert dsk["sectors"]["kurakhove"]["paired"] is True
    for key in ("median_diff_days", "prob_reached_diff"):
        assert dsk["sectors"]["kurakhove"]["objective_day"][key] == pytest.approx(
            mem["sectors"]["kurakhove"]["objective_day"][key], abs=0.01)


def test_compare_takes_folders_and_results_alike(tmp_path):
    out = tmp_path / "run"
    assert CliRunner().invoke(cli, ["run", str(KURAKHOVE), "-n", "300", "-q", "--out",
                                    str(out)]).exit_code == 0
    by_path = sim.compare([str(out), str(out)])
    by_result = sim.compare([Result.from_folder(out), Result.from_folder(out)])
    assert by_path["sectors"] == by_result["sectors"]


def test_a_result_without_bands_says_so():
    r = sim.simulate(sim.load_scenario(KURAKHOVE), replications=100, seed=1)
    so = r.sectors["kurakhove"]
    bare = dataclasses.replace(r, source="x", sectors={
        "kurakhove": dataclasses.replace(so, band_counts=None)})
    with pytest.raises(sim.AdvsimError, match=r"x: no bands\.csv"):
        bare.bands()


def test_backtest_of_a_scenario_object_equals_that_of_its_file(tmp_path):
    """The horizon is set on the Scenario itself: windows with no end (the strikes) still last
    to the new horizon, as when the file is loaded again with that horizon. An explicit horizon
    is honoured, no longer extended to the last observation (issue 12): from the file through
    --set, from a Scenario through horizon_days."""
    observed = ROOT / "scenarios/observed/synthetic-kurakhove.csv"
    sc = dataclasses.replace(sim.load_scenario(KURAKHOVE), horizon_days=30)
    a = sim.backtest(sc, observed, replications=400, seed=3, horizon_days=30).summary()
    b = sim.backtest(KURAKHOVE, observed, overrides=["horizon_days=30"], replications=400,
                     seed=3).summary()
    assert a["horizon_days"] == b["horizon_days"] == 30
    assert json.dumps(a["sectors"]) == json.dumps(b["sectors"])
    assert a["sectors"]["kurakhove"]["unscored_after_horizon"] == 9  # days 34 … 82
    extended = sim.backtest(sc, observed, replications=400, seed=3).summary()
    assert extended["horizon_days"] == 82


def test_repr_is_short():
    r = sim.simulate(sim.load_scenario(KURAKHOVE), replications=100, seed=1)
    assert repr(r) == ("<Result Kurakhove → Pokrovsk (at the reported rate): 1 sector, "
                       "100 replications, seed 1>")
