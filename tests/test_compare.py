"""Tests of ``advsim compare``: reading runs back, censoring-aware differences with known
answers, paired bootstrap, the JSON contract, and bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.analysis.comparison import (
    bootstrap_rng,
    compare_runs,
    compare_sector,
)
from sim.cli import cli
from sim.model.scenario import AxisSector, Side
from sim.running.outcomes import Result, SectorOutcomes

load_run = Result.from_folder

ROOT = Path(__file__).resolve().parents[1]
KURAKHOVE = str(ROOT / "scenarios/kurakhove-reported.yaml")
NO_STRIKES = "sectors.kurakhove.strikes.0.rate_per_day=0"
N = 1000


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Kurakhove with and without the strikes on logistics (seed 1), and with seed 2."""
    root = tmp_path_factory.mktemp("runs")
    specs = {"strikes": ["--seed", "1"], "no_strikes": ["--seed", "1", "--set", NO_STRIKES],
             "seed2": ["--seed", "2"]}
    for name, extra in specs.items():
        r = invoke("run", KURAKHOVE, "-n", str(N), "-j", "1", "--out", str(root / name), "-q",
                   *extra)
        assert r.exit_code == 0, r.output
    return {name: root / name for name in specs}


def compare_json(*args: str) -> dict:
    r = invoke("compare", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


# -- reading runs back ---------------------------------------------------------------------------


def test_load_run_reads_the_folder_back(runs):
    run = load_run(runs["strikes"])
    assert (run.name, run.seed, run.replications, run.horizon_days) == (
        "Kurakhove → Pokrovsk (at the reported rate)", 1, N, 365)
    s = run.sectors["kurakhove"]
    assert s.kind == "axis" and s.objective == "Pokrovsk" and s.objective_at == 35
    assert s.objective_day.shape == (N,) and s.progress.shape == (N, 4)
    summary = json.loads((runs["strikes"] / "summary.json").read_text())
    obj = summary["sectors"]["kurakhove"]["objective"]
    # Censored replications come back as +inf, and the probability matches the summary.
    assert np.isfinite(s.objective_day).mean() == pytest.approx(obj["prob_reached"])
    assert np.isposinf(s.objective_day).sum() == round(N * (1 - obj["prob_reached"]))
    assert float(np.median(s.objective_day)) == pytest.approx(obj["day"]["p50"], abs=0.01)
    assert set(s.milestones) == {"halfway", "outskirts of Pokrovsk"}
    assert s.milestone_at["halfway"] == 17.5
    assert load_run(runs["no_strikes"]).overrides == (NO_STRIKES,)


# -- censoring-aware differences on constructed outcomes ------------------------------------------


def sector(days, progress=None) -> SectorOutcomes:
    days = np.asarray(days, dtype=float)
    progress = np.zeros((days.size, 1)) if progress is None else np.asarray(progress)[:, None]
    axis = AxisSector(name="s", objective="town", length_km=10.0, attacker=Side(troops=1),
                      defender=Side(troops=1), advance=None)
    zeros = np.zeros(days.size)
    return SectorOutcomes(
        sector=axis, checkpoints_days=(30,), objective_day=days,
        milestone_days=np.empty((days.size, 0)), progress=progress, attacker_losses=zeros,
        defender_losses=zeros, base_m_per_day=zeros, strikes=zeros.astype(np.int64),
    )


def diff(a, b, *, horizon=100, is_paired=True, resamples=500):
    return compare_sector(sector(a), sector(b), horizon_days=horizon, is_paired=is_paired,
                          rng=bootstrap_rng(1, "s", 1), resamples=resamples)


def test_a_shift_of_ten_days_is_found_exactly_when_paired():
    a = np.arange(1.0, 101.0)
    c = diff(a, a + 10, horizon=200)
    assert c["median_diff_days"] == 10 and c["median_diff_ci95"] == [10, 10]
    assert c["prob_reached_diff"] == 0 and c["prob_reached_diff_ci95"] == [0, 0]


def test_a_censored_median_gives_no_difference_and_the_probabilities_their_gap():
    # 60 of 100 reach the objective in a, 40 in b: b's median lies beyond the horizon.
    a = np.r_[np.arange(1.0, 61.0), np.full(40, np.inf)]
    b = np.r_[np.arange(1.0, 41.0), np.full(60, np.inf)]
    c = diff(a, b, is_paired=False)
    assert c["median_diff_days"] is None and c["median_diff_ci95"] is None
    assert c["median_days"] == [50.5, None]
    assert c["prob_reached_diff"] == pytest.approx(-0.2)
    lo, hi = c["prob_reached_diff_ci95"]
    assert lo < -0.2 < hi < 0
    # The largest gap of the two distribution functions: 0.6 - 0.4 from day 40 to the horizon.
    assert c["ks_stat"] == pytest.approx(0.2)


def test_runs_with_different_horizons_are_compared_up_to_the_shorter():
    # The same first 55 days; b ran longer and reached the objective on day 150 in the rest.
    # Treating a's censored replications as day 100 or dropping them would give a difference.
    a = np.r_[np.arange(1.0, 56.0), np.full(45, np.inf)]
    b = np.r_[np.arange(1.0, 56.0), np.full(45, 150.0)]
    c = diff(a, b, horizon=100)
    assert c["median_diff_days"] == 0 and c["prob_reached_diff"] == 0
    assert c["ks_stat"] == 0
    assert diff(a, b, horizon=200)["prob_reached_diff"] == pytest.approx(0.45)


def test_an_interval_bound_beyond_the_horizon_is_null():
    # b's median (day 20) is finite, but 52% reached: many resamples put it past the horizon.
    a = np.full(100, 10.0)
    b = np.r_[np.full(52, 20.0), np.full(48, np.inf)]
    c = diff(a, b, is_paired=False)
    assert c["median_diff_days"] == 10
    assert c["median_diff_ci95"] == [10, None]
    assert "falls a median 10 days later [10, …]" in compare_like_reading(c)


def compare_like_reading(c: dict) -> str:
    from sim.analysis.comparison import reading

    return reading("B", "A", "town", c, 100)


# (The bootstrap's medians against the resampled values: tests/test_compare_bootstrap.py.)


# -- runs that differ, and runs that do not -------------------------------------------------------


def test_without_strikes_pokrovsk_falls_earlier_and_the_interval_excludes_zero(runs):
    out = compare_json(str(runs["strikes"]), str(runs["no_strikes"]))
    k = out["sectors"]["kurakhove"]
    obj = k["objective_day"]
    assert k["paired"] is True
    assert obj["median_diff_days"] < 0
    lo, hi = obj["median_diff_ci95"]
    assert lo <= obj["median_diff_days"] <= hi < 0
    assert obj["ks_pvalue"] < 1e-6
    # Progress by day 90 is further on without the strikes.
    i = k["advance_km"]["days"].index(90)
    assert k["advance_km"]["median_diff_ci95"][i][0] > 0
    assert re.fullmatch(
        r"B vs A: Pokrovsk falls a median \d+ days earlier \[\d+, \d+\]; "
        r"P\(reach\) [+−]\d\.\d+ \[[+−]\d\.\d+, [+−]\d\.\d+\]", k["reading"])
    # Second minus first: swapping the runs flips the signs.
    back = compare_json(str(runs["no_strikes"]), str(runs["strikes"]))["sectors"]["kurakhove"]
    assert back["objective_day"]["median_diff_days"] == -obj["median_diff_days"]
    assert "days later" in back["reading"]


def test_two_seeds_of_one_scenario_show_no_difference(runs):
    out = compare_json(str(runs["strikes"]), str(runs["seed2"]))
    k = out["sectors"]["kurakhove"]
    obj = k["objective_day"]
    assert k["paired"] is False
    lo, hi = obj["median_diff_ci95"]
    assert lo < 0 < hi
    plo, phi = obj["prob_reached_diff_ci95"]
    assert plo <= 0 <= phi
    assert obj["ks_pvalue"] > 0.05


def test_pairing_on_common_random_numbers_gives_sharper_intervals(runs):
    a = load_run(runs["strikes"]).sectors["kurakhove"]
    b = load_run(runs["no_strikes"]).sectors["kurakhove"]
    width = {}
    for is_paired in (True, False):
        c = compare_sector(a, b, horizon_days=365, is_paired=is_paired,
                           rng=bootstrap_rng(1, "kurakhove", 1), resamples=1000)
        lo, hi = c["progress_median_diff_ci95"][c["progress_days"].index(90)]
        width[is_paired] = hi - lo
    assert width[True] < 0.6 * width[False]


def test_json_follows_the_contract_and_is_reproducible(runs):
    args = (str(runs["strikes"]), str(runs["no_strikes"]), str(runs["seed2"]))
    out = compare_json(*args)
    assert [r["label"] for r in out["runs"]] == ["A", "B", "C"]
    assert [r["seed"] for r in out["runs"]] == [1, 1, 2]
    obj = out["sectors"]["kurakhove"]["objective_day"]
    assert set(obj) >= {"runs", "median_diff_days", "median_diff_ci95", "prob_reached_diff",
                        "prob_reached_diff_ci95", "ks_stat", "ks_pvalue"}
    assert len(obj["runs"]) == 3
    assert list(obj["runs"][0]) == ["p5", "p10", "p25", "p50", "p75", "p90", "p95"]
    comps = out["sectors"]["kurakhove"]["comparisons"]
    assert [c["run"] for c in comps] == [1, 2]
    assert comps[0]["median_diff_days"] == obj["median_diff_days"]  # top level: B − A
    assert comps[1]["median_diff_days"] == pytest.approx(
        obj["runs"][2]["p50"] - obj["runs"][0]["p50"], abs=0.011)
    assert compare_json(*args) == out
    other = compare_json(*args, "--bootstrap-seed", "2")
    assert other["sectors"]["kurakhove"]["objective_day"]["median_diff_ci95"] != \
        obj["median_diff_ci95"]


def test_table_prints_readings_percentiles_and_labels(runs):
    r = invoke("compare", str(runs["strikes"]), str(runs["no_strikes"]),
               "--label", "strikes", "--label", "no strikes")
    assert r.exit_code == 0, r.output
    assert "kurakhove: no strikes vs strikes: Pokrovsk falls a median" in r.stdout
    assert "paired" in r.stdout and NO_STRIKES in r.stdout
    assert re.search(r"P50\s+\d+\s+2025-\d\d-\d\d\s+\d+\s+2025-\d\d-\d\d", r.stdout)
    assert "day 90" in r.stdout


def test_compare_api_needs_two_runs(runs):
    from sim.errors import AdvsimError

    with pytest.raises(AdvsimError, match="at least two"):
        compare_runs([load_run(runs["strikes"])])


# -- bad input -----------------------------------------------------------------------------------


def bad_cases(runs: dict[str, Path], tmp: Path) -> list[tuple[list[str], str]]:
    empty = tmp / "empty"
    empty.mkdir(exist_ok=True)
    partial = tmp / "partial"
    partial.mkdir(exist_ok=True)
    for f in ("summary.json", "manifest.json"):
        (partial / f).write_text((runs["strikes"] / f).read_text())
    a = str(runs["strikes"])
    return [
        ([a], "name at least two results folders"),
        ([a, str(tmp / "missing")], "missing: no such results folder"),
        ([a, str(empty)], "empty: not a results folder (no summary.json"),
        ([a, str(partial)], "partial: not a results folder (no outcomes.csv"),
        ([a, str(runs["strikes"] / "summary.json")], "not a folder"),
        ([a, f"{tmp}:3"], "is not a sweep folder (no points.csv)"),
        ([a, a, "--sector", "kursk"], "--sector: 'kursk' is not a sector of every run"),
        ([a, a, "--label", "one"], "--label: 1 labels for 2 runs"),
    ]


def test_bad_input_is_one_line_and_status_2(runs, tmp_path):
    for args, message in bad_cases(runs, tmp_path):
        r = invoke("compare", *args)
        assert r.exit_code == 2, (args, r.output)
        assert r.stdout == ""
        assert len(r.stderr.splitlines()) == 1 and message in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
