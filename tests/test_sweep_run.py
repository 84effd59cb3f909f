"""Running sweeps: the same table on any executor, after an interruption and after a SIGKILL;
the folder's contents; a point reproduced by ``advsim run``."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.sweep import load_sweep, plan, run_sweep

ROOT = Path(__file__).resolve().parents[1]
TROOPS = "sectors.kursk.forces.attacker.troops"
RATE = "sectors.kursk.advance.base_m_per_day"

SPEC = f"""\
name: test sweep
scenario: kursk.yaml
set:
  horizon_days: 120          # short, so that the objective is often beyond the horizon
  checkpoints_days: [60, 120]
method: grid
replications: 300
seed: 3
parameters:
  {TROOPS}: [40000, 80000]
  {RATE}: {{low: 60, high: 160, levels: 3}}
metrics: [prob_reached, day_p50, held_km2_d120_p50]
"""
FILES = {"points.csv", "outcomes.csv", "sensitivity.csv", "sweep.yaml", "scenario.yaml",
         "manifest.json", "sessions.json"}


@pytest.fixture
def spec(tmp_path) -> Path:
    (tmp_path / "kursk.yaml").write_text((ROOT / "scenarios/kursk.yaml").read_text())
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    return path


def sweep(*args: str):
    r = CliRunner().invoke(cli, ["sweep", *args])
    assert r.exit_code == 0, r.output
    return r


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def same_files(a: Path, b: Path, names=("points.csv", "outcomes.csv", "sensitivity.csv")):
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture
def dask_scheduler():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_jobs_and_a_dask_cluster_give_byte_identical_tables(spec, tmp_path, dask_scheduler):
    sweep(str(spec), "-j", "1", "--out", str(tmp_path / "j1"), "-q")
    sweep(str(spec), "-j", "2", "--out", str(tmp_path / "j2"), "-q")
    sweep(str(spec), "--executor", "dask", "--scheduler", dask_scheduler,
          "--out", str(tmp_path / "dask"), "-q")
    same_files(tmp_path / "j1", tmp_path / "j2")
    same_files(tmp_path / "j1", tmp_path / "dask")
    manifest = json.loads((tmp_path / "dask/manifest.json").read_text())
    assert manifest["executor"] == "dask" and manifest["workers"] == 2


def test_points_larger_than_a_chunk_are_split_into_tasks_with_the_same_numbers(spec, tmp_path):
    s = load_sweep(spec, replications=250)
    p = plan(s)
    one = run_sweep(p, tmp_path / "one", jobs=1, chunk_size=100)
    two = run_sweep(p, tmp_path / "two", jobs=2, chunk_size=100)
    same_files(one.path, two.path)
    assert len(rows(one.path / "outcomes.csv")) == 6 * 250


def test_folder_holds_points_outcomes_sensitivity_spec_and_manifest(spec, tmp_path):
    out = tmp_path / "o"
    r = sweep(str(spec), "-j", "1", "--out", str(out))
    assert "Parameters ranked by influence" in r.stdout and r.stderr == ""  # not a terminal
    assert {p.name for p in out.iterdir()} >= FILES
    assert not (tmp_path / "o.partial").exists() and not (out / "parts").exists()
    points = rows(out / "points.csv")
    assert [int(p["point"]) for p in points] == list(range(6))
    assert list(points[0])[:5] == ["point", TROOPS, RATE, "seed", "replications"]
    assert {"kursk.prob_reached", "kursk.day_p10", "kursk.day_p50", "kursk.day_p90",
            "kursk.held_km2_d60_p50", "kursk.held_km2_d120_p90"} <= set(points[0])
    assert [(p[TROOPS], p[RATE]) for p in points[:3]] == [("40000", "60"), ("40000", "110"),
                                                         ("40000", "160")]
    assert len({p["seed"] for p in points}) == 6
    # Censored percentiles are empty, not the horizon; probabilities lie in [0, 1].
    assert any(p["kursk.day_p50"] == "" for p in points)
    assert all(0 <= float(p["kursk.prob_reached"]) <= 1 for p in points)
    assert "wall" not in (out / "points.csv").read_text()
    outcomes = rows(out / "outcomes.csv")
    assert len(outcomes) == 6 * 300 and outcomes[0]["point"] == "0"
    assert outcomes[-1]["point"] == "5" and outcomes[-1]["replication"] == "299"
    assert list(outcomes[0])[:5] == ["point", TROOPS, RATE, "replication", "sector"]
    assert (outcomes[-1][TROOPS], outcomes[-1][RATE]) == ("80000", "160")
    sens = rows(out / "sensitivity.csv")
    assert len(sens) == 3 * 2 and {s["rank"] for s in sens} == {"1", "2"}
    # More troops and a higher rate take more of the salient: held area falls with both.
    held = [s for s in sens if s["metric"] == "kursk.held_km2_d120_p50"]
    assert all(float(s["prcc"]) < 0 for s in held)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["points"] == 6 and manifest["points_computed"] == 6
    assert manifest["seed"] == 3 and manifest["method"] == "grid"
    assert len(manifest["point_seconds"]) == 6 and manifest["wall_seconds"] > 0
    assert "scenario: scenario.yaml" in (out / "sweep.yaml").read_text()
    assert "horizon_days: 120" in (out / "scenario.yaml").read_text()


def test_the_folder_reruns_itself(spec, tmp_path):
    """sweep.yaml names the scenario.yaml beside it: the folder alone repeats the sweep."""
    sweep(str(spec), "-j", "1", "--out", str(tmp_path / "a"), "-q")
    sweep(str(tmp_path / "a/sweep.yaml"), "-j", "1", "--out", str(tmp_path / "b"), "-q")
    same_files(tmp_path / "a", tmp_path / "b")


def test_a_point_is_reproduced_by_advsim_run_with_its_seed(spec, tmp_path):
    sweep(str(spec), "-j", "1", "--out", str(tmp_path / "o"), "-q")
    point = rows(tmp_path / "o/points.csv")[4]
    r = CliRunner().invoke(cli, [
        "run", str(tmp_path / "kursk.yaml"), "--seed", point["seed"], "-n", "300",
        "--set", "horizon_days=120", "--set", "checkpoints_days=[60, 120]",
        "--set", f"{TROOPS}={point[TROOPS]}", "--set", f"{RATE}={point[RATE]}",
        "--out", str(tmp_path / "run"), "--json",
    ])
    assert r.exit_code == 0, r.output
    objective = json.loads(r.stdout)["sectors"]["kursk"]["objective"]
    assert f"{objective['prob_reached']:.6g}" == point["kursk.prob_reached"]
    # The point read back from the sweep folder is that run, replication by replication.
    from sim.results import load_run

    as_point = load_run(f"{tmp_path / 'o'}:4")
    as_run = load_run(tmp_path / "run")
    assert as_point.point == "4" and as_point.seed == int(point["seed"])
    for name in ("objective_day", "progress"):
        a, b = getattr(as_point.sectors["kursk"], name), getattr(as_run.sectors["kursk"], name)
        assert np.array_equal(a, b), name
    compared = CliRunner().invoke(cli, ["compare", f"{tmp_path / 'o'}:0", f"{tmp_path / 'o'}:4"])
    assert compared.exit_code == 0 and "sweep point 4" in compared.stdout


def test_json_lists_the_points_and_the_ranking(spec, tmp_path):
    r = sweep(str(spec), "-j", "1", "--out", str(tmp_path / "o"), "--json")
    s = json.loads(r.stdout)
    assert s["sweep"] == "test sweep" and s["points"] == 6 and s["seed"] == 3
    assert s["results_dir"] == str(tmp_path / "o")
    assert len(s["table"]) == 6 and s["table"][1][RATE] == 110
    assert s["metrics"] == ["kursk.prob_reached", "kursk.day_p50", "kursk.held_km2_d120_p50"]
    assert {(x["metric"], x["rank"]) for x in s["sensitivity"]} == {
        (m, k) for m in s["metrics"] for k in (1, 2)}


def test_an_interrupted_sweep_keeps_what_finished_and_resumes(spec, tmp_path):
    whole = tmp_path / "whole"
    sweep(str(spec), "-j", "1", "--out", str(whole), "-q")
    out = tmp_path / "o"
    p = plan(load_sweep(spec))

    def interrupt_after_two(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(p, out, jobs=1, on_point=interrupt_after_two)
    assert not out.exists()
    partial = tmp_path / "o.partial"
    assert len(list((partial / "parts").glob("*.json"))) == 2

    r = CliRunner().invoke(cli, ["sweep", str(spec), "--out", str(out)])
    assert r.exit_code == 2 and "--resume" in r.stderr
    r = CliRunner().invoke(cli, ["sweep", str(spec), "--out", str(out), "--resume",
                                 "--seed", "4"])
    assert r.exit_code == 2 and "holds a different sweep" in r.stderr
    assert len(list((partial / "parts").glob("*.json"))) == 2  # left as it was

    sweep(str(spec), "--out", str(out), "--resume", "-j", "2", "-q")
    same_files(whole, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["points_computed"] == 4 and manifest["resumed"] is True
    assert [s["points_computed"] for s in manifest["sessions"]] == [2, 4]
    r = CliRunner().invoke(cli, ["sweep", str(spec), "--out", str(out)])
    assert r.exit_code == 2 and "already exists" in r.stderr


def children_of(pid: int) -> set[int]:
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(stat.parent.name))
    return out


def still_ours(pid: int, parent: int, out: str) -> bool:
    """Whether ``pid`` is still a worker of the killed ``parent`` (orphaned, so re-parented),
    and not a new process that reuses the number."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return (int(stat.rsplit(")", 1)[1].split()[1]) != parent and b"sim.cli" in cmdline
            and out.encode() in cmdline)


def test_resume_after_sigkill_gives_the_table_of_an_uninterrupted_sweep(tmp_path):
    """SIGKILL the sweep's own process mid-way (its two workers are left to notice), then
    --resume: the finished points are kept, the rest computed, the table as if never killed."""
    (tmp_path / "kursk.yaml").write_text((ROOT / "scenarios/kursk.yaml").read_text())
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("[40000, 80000]", "{low: 40000, high: 80000, levels: 8}")
                    .replace("replications: 300", "replications: 1000"))
    out, parts = tmp_path / "o", tmp_path / "o.partial/parts"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from sim.cli import main; main()",
         "sweep", str(spec), "--out", str(out), "-j", "2", "-q"],
        start_new_session=True, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if parts.is_dir() and len(list(parts.glob("*.json"))) >= 3:
            break
        time.sleep(0.01)
    workers = children_of(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, proc.stderr.read().decode()
    kept = len(list(parts.glob("*.json")))
    assert 3 <= kept < 24 and not out.exists()  # killed mid-way: 8 × 3 points in all

    r = sweep(str(spec), "--out", str(out), "--resume", "-j", "2", "--json")
    assert json.loads(r.stdout)["points"] == 24
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["points_computed"] == 24 - kept
    sweep(str(spec), "-j", "1", "--out", str(tmp_path / "whole"), "-q")
    same_files(tmp_path / "whole", out)
    # The killed sweep's workers end by themselves rather than wait forever for work.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.1)
    alive = [w for w in workers if still_ours(w, proc.pid, str(out))]
    for w in alive:  # had they not, end them here: never leave a test's processes behind
        os.kill(w, signal.SIGKILL)
    assert not alive


def test_resume_needs_out_and_a_scheduler_needs_dask(spec):
    r = CliRunner().invoke(cli, ["sweep", str(spec), "--resume"])
    assert r.exit_code == 2 and r.stderr.strip() == (
        "--resume needs --out DIR (the folder of the sweep to continue)")
    r = CliRunner().invoke(cli, ["sweep", str(spec), "--executor", "local",
                                 "--scheduler", "tcp://127.0.0.1:1"])
    assert r.exit_code == 2 and "--scheduler" in r.stderr


@pytest.mark.parametrize(("name", "smaller", "points"), [
    ("kurakhove-forces.yaml", ["--levels", "2"], 2 * 2),
    ("kursk-reinforcements.yaml", ["--samples", "4"], 4 * (2 + 2)),
])
def test_example_specs_run_cut_down_from_the_command_line(name, smaller, points, tmp_path):
    r = sweep(str(ROOT / "scenarios/sweeps" / name), *smaller, "-n", "100", "-j", "1",
              "--out", str(tmp_path / "o"), "--json")
    s = json.loads(r.stdout)
    assert s["points"] == len(s["table"]) == points
    assert len(s["sensitivity"]) == 2 * len(s["metrics"])
    if name.startswith("kursk"):  # a range of dates reads back as dates, and Sobol indices
        arrival = "sectors.kursk.reinforcements.0.date"
        assert s["parameters"][arrival] == {"low": "2024-11-20", "high": "2025-02-20"}
        assert all("2024-11-20" <= row[arrival] <= "2025-02-20" for row in s["table"])
        assert any(x["sobol_total"] is not None for x in s["sensitivity"])


@pytest.mark.slow
def test_dask_local_cluster_of_processes_started_by_the_command(spec, tmp_path):
    pytest.importorskip("dask.distributed")
    sweep(str(spec), "-j", "1", "--out", str(tmp_path / "j1"), "-q")
    sweep(str(spec), "--executor", "dask", "-j", "2", "--out", str(tmp_path / "dask"), "-q")
    same_files(tmp_path / "j1", tmp_path / "dask")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kurakhove-forces.yaml", "kursk-reinforcements.yaml"])
def test_example_sweeps_run_in_full(name, tmp_path):
    sweep(str(ROOT / "scenarios/sweeps" / name), "-j", "2", "--out", str(tmp_path / "o"), "-q")
    assert (tmp_path / "o/sensitivity.csv").exists()


def test_points_parquet_holds_the_same_table_as_points_csv(spec, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    sweep(str(spec), "-j", "1", "--out", str(tmp_path / "o"), "-q")
    table = pq.read_table(tmp_path / "o/points.parquet").to_pydict()
    points = rows(tmp_path / "o/points.csv")
    assert list(table) == list(points[0])
    assert table["point"] == list(range(6)) and table[TROOPS][-1] == 80000
    for got, row in zip(table["kursk.prob_reached"], points):
        assert f"{got:.6g}" == row["kursk.prob_reached"]
    outcomes = pq.read_table(tmp_path / "o/outcomes.parquet")
    assert outcomes.num_rows == 6 * 300 and outcomes.column_names[0] == "point"
