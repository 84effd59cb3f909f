"""CLI tests of ``advsim run`` and ``validate``: output, the JSON contract, the results folder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_shipped_scenario_validates_and_runs(path, tmp_path):
    assert run("validate", str(path)).exit_code == 0
    out = tmp_path / "run"
    r = run("run", str(path), "-n", "300", "-j", "1", "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["replications"] == 300
    for s in summary["sectors"].values():
        assert 0 <= s["objective"]["prob_reached"] <= 1
        assert s["kind"] in ("axis", "area")
    assert sorted(p.name for p in out.iterdir()) == [
        "bands.csv", "manifest.json", "outcomes.csv", "scenario.yaml", "summary.json",
    ] or (out / "outcomes.parquet").exists()


def test_json_follows_the_contract(tmp_path):
    r = run("run", str(ROOT / "scenarios/kursk.yaml"), "-n", "500", "-j", "1",
            "--out", str(tmp_path / "o"), "--json", "--seed", "3")
    assert r.exit_code == 0
    s = json.loads(r.stdout)
    for key in ("advsim", "scenario", "start", "horizon_days", "replications", "seed",
                "results_dir", "sectors"):
        assert key in s
    assert s["seed"] == 3 and s["start"] == "2024-11-20" and s["horizon_days"] == 365
    assert s["results_dir"] == str(tmp_path / "o")
    kursk = s["sectors"]["kursk"]
    assert kursk["kind"] == "area"
    obj = kursk["objective"]
    assert set(obj) >= {"name", "prob_reached", "prob_reached_se", "day"}
    assert list(obj["day"]) == ["p5", "p10", "p25", "p50", "p75", "p90", "p95"]
    days = [d for d in obj["day"].values() if d is not None]
    assert days == sorted(days)
    held = kursk["held_km2"]
    assert held["days"] == [30, 90, 180, 365]
    assert all(len(held[k]) == 4 for k in obj["day"])
    # Held area shrinks, so P5 of held area is at most its P95 and all within [0, 800].
    assert all(0 <= a <= b <= 800 for a, b in zip(held["p5"], held["p95"]))


def test_table_shows_censored_percentiles_as_beyond_horizon(tmp_path):
    r = run("run", str(ROOT / "scenarios/kurakhove-reported.yaml"), "-n", "400", "-j", "1",
            "--horizon", "120", "--out", str(tmp_path / "o"))
    assert r.exit_code == 0
    assert "> horizon" in r.stdout
    assert "P(Pokrovsk within 120 days)" in r.stdout
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["sectors"]["kurakhove"]["objective"]["day"]["p95"] is None
    assert s["horizon_days"] == 120


def test_results_folder_is_complete_and_self_describing(tmp_path):
    out = tmp_path / "o"
    r = run("run", str(ROOT / "scenarios/kurakhove-reported.yaml"), "-n", "200", "-j", "1",
            "--set", "sectors.kurakhove.length_km=33", "--out", str(out), "-q")
    assert r.exit_code == 0 and r.stdout == ""
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["replications"] == 200 and manifest["seed"] == 1
    assert manifest["overrides"] == ["sectors.kurakhove.length_km=33"]
    assert len(manifest["scenario_sha256"]) == 64
    assert "length_km: 33" in (out / "scenario.yaml").read_text()
    with open(out / "outcomes.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 200
    assert {"replication", "sector", "objective_reached", "objective_day"} <= set(rows[0])
    for row in rows:
        if row["objective_reached"] == "true":
            assert 0 < float(row["objective_day"]) <= 365
        else:
            assert row["objective_day"] == ""
    with open(out / "bands.csv") as f:
        bands = list(csv.DictReader(f))
    assert len(bands) == 366
    assert bands[0]["date"] == "2024-11-20" and float(bands[0]["p50"]) == 0.0
    assert all(float(b["p5"]) <= float(b["p50"]) <= float(b["p95"]) for b in bands)


def test_existing_out_folder_is_not_overwritten(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    r = run("run", str(ROOT / "scenarios/kurakhove-reported.yaml"), "-n", "50", "--out", str(out))
    assert r.exit_code == 2
    assert "already exists" in r.stderr and "--overwrite" in r.stderr
    assert (out / "keep.txt").read_text() == "mine"
    # --overwrite replaces only a folder advsim wrote: not this one (issue 15, item 2)...
    r = run("run", str(ROOT / "scenarios/kurakhove-reported.yaml"), "-n", "50", "--out", str(out),
            "--overwrite", "-q")
    assert r.exit_code == 2 and "not written by advsim" in r.stderr
    assert (out / "keep.txt").read_text() == "mine"
    # ...but a run's folder, yes.
    ran = tmp_path / "ran"
    for n in ("50", "60"):
        r = run("run", str(ROOT / "scenarios/kurakhove-reported.yaml"), "-n", n, "--out", str(ran),
                "--overwrite", "-q")
        assert r.exit_code == 0
    assert json.loads((ran / "summary.json").read_text())["replications"] == 60
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o", "ran"]


def test_default_folders_are_new_each_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert run("run", str(ROOT / "scenarios/kursk.yaml"), "-n", "50", "-q").exit_code == 0
    folders = sorted((tmp_path / "results").iterdir())
    assert len(folders) == 2 and all((f / "summary.json").exists() for f in folders)


def test_validate_reports_each_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n")
    r = run("validate", str(SCENARIOS[0]), str(bad))
    assert r.exit_code == 2
    assert f"{SCENARIOS[0]}: ok" in r.stdout
    assert r.stderr.strip() == f"{bad}:1: start: missing (a required key)"


@pytest.mark.parametrize(("args", "words"), [
    (["run", "scenarios/kurakhove-reported.yaml", "-n", "0"], "advsim run: Invalid value for '-n'"),
    (["run", "--bogus"], "advsim run: No such option '--bogus'"),
    (["run"], "advsim run: Missing argument 'SCENARIO'"),
    (["frobnicate"], "advsim: No such command 'frobnicate'"),
])
def test_a_misused_command_line_is_one_line_and_status_2(args, words):
    r = run(*args)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(words), r.stderr


def test_advsim_alone_shows_the_help():
    r = run()
    assert r.exit_code == 0 and "Commands:" in r.stdout and "run" in r.stdout


def test_verbose_after_the_command_shows_the_traceback(tmp_path):
    """-v/--verbose means the same before or after the command: the error is raised with its
    traceback instead of one line."""
    from sim.errors import ScenarioError

    missing = str(tmp_path / "missing.yaml")
    quiet = run("run", missing)
    assert quiet.exit_code == 2 and quiet.exception.__class__ is SystemExit
    for args in (["-v", "run", missing], ["run", missing, "-v"]):
        r = CliRunner().invoke(cli, args)
        assert isinstance(r.exception, ScenarioError), args
