"""Running sweeps: the same table on any executor, after an interruption, a SIGKILL, a Dask
worker's death or damaged points; the folder's contents; a point reproduced by ``advsim run``."""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import ADVSIM_INTERRUPTIBLE

from sim.cli import cli
from sim.sweep import load_sweep, plan, run_sweep
from sim.sweep.store import Store

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
    # a float parameter is written as a float (60.0), so every reader types it the same
    assert [(p[TROOPS], p[RATE]) for p in points[:3]] == [("40000", "60.0"), ("40000", "110.0"),
                                                         ("40000", "160.0")]
    assert len({p["seed"] for p in points}) == 6
    # Censored percentiles are empty, not the horizon; probabilities lie in [0, 1].
    assert any(p["kursk.day_p50"] == "" for p in points)
    assert all(0 <= float(p["kursk.prob_reached"]) <= 1 for p in points)
    assert "wall" not in (out / "points.csv").read_text()
    outcomes = rows(out / "outcomes.csv")
    assert len(outcomes) == 6 * 300 and outcomes[0]["point"] == "0"
    assert outcomes[-1]["point"] == "5" and outcomes[-1]["replication"] == "299"
    assert list(outcomes[0])[:5] == ["point", TROOPS, RATE, "replication", "sector"]
    assert (outcomes[-1][TROOPS], outcomes[-1][RATE]) == ("80000", "160.0")
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
    from sim.running.outcomes import Result

    load_run = Result.from_folder

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


def interrupted(spec: Path, out: Path, after: int) -> Path:
    """DIR.partial of the sweep ``spec`` interrupted (as by Ctrl-C) once ``after`` points are
    done."""

    def interrupt(done: int, total: int) -> None:
        if done == after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(plan(load_sweep(spec)), out, jobs=1, on_point=interrupt)
    assert not out.exists()
    return out.with_name(out.name + ".partial")


def test_an_interrupted_sweep_keeps_what_finished_and_resumes(spec, tmp_path):
    whole = tmp_path / "whole"
    sweep(str(spec), "-j", "1", "--out", str(whole), "-q")
    out = tmp_path / "o"
    interrupted(spec, out, after=2)
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


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def started(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def identities(pids) -> set[tuple[int, str]]:
    """Processes as (process id, start time): a number reused by a later process is not taken
    for one of them."""
    return {(p, started(p)) for p in pids}


def left_running(procs: set[tuple[int, str]]) -> list[int]:
    """Those of ``procs`` still running after a wait; they are ended here, as a test must never
    leave its processes behind."""
    def running() -> list[int]:
        return [p for p, t in procs if started(p) == t and cmdline(p)]  # a zombie has none

    deadline = time.monotonic() + 20
    while running() and time.monotonic() < deadline:
        time.sleep(0.1)
    left = running()
    for p in left:
        os.kill(p, signal.SIGKILL)
    return left


def bigger_spec(tmp_path: Path, troops: int = 8, rates: int = 3, replications: int = 1000) -> Path:
    """SPEC with ``troops`` × ``rates`` points of ``replications`` each: long enough to stop
    mid-way."""
    (tmp_path / "kursk.yaml").write_text((ROOT / "scenarios/kursk.yaml").read_text())
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("[40000, 80000]", f"{{low: 40000, high: 80000, levels: {troops}}}")
                    .replace("levels: 3", f"levels: {rates}")
                    .replace("replications: 300", f"replications: {replications}"))
    return spec


def records(parts: Path) -> list[Path]:
    """The finished points' records in a partial sweep's parts/."""
    return sorted(parts.glob("[0-9]*.json"))


@pytest.mark.parametrize("executor", ["local", "dask"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL])
def test_resume_after_a_signal_gives_the_table_of_an_uninterrupted_sweep(tmp_path, signum,
                                                                         executor):
    """SIGINT (Ctrl-C) or SIGKILL the sweep's own process mid-way, on two local workers or a
    Dask LocalCluster of two, then --resume: the finished points are kept with valid records,
    the rest computed, the table as if never stopped. On SIGINT the sweep stops its workers and
    says where the points are, in one line; on SIGKILL its workers are left to notice."""
    if executor == "dask":
        pytest.importorskip("dask.distributed")
    spec = bigger_spec(tmp_path)
    out, parts = tmp_path / "o", tmp_path / "o.partial/parts"
    proc = subprocess.Popen(
        [*ADVSIM_INTERRUPTIBLE, "sweep", str(spec), "--out", str(out), "-j", "2",
         "--executor", executor, "-q"],
        start_new_session=True, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if parts.is_dir() and len(records(parts)) >= 3:
            break
        time.sleep(0.01)
    workers = identities(children_of(proc.pid))
    os.kill(proc.pid, signum)
    _, stderr = proc.communicate(timeout=120)
    if signum == signal.SIGINT:
        assert proc.returncode == 130, stderr.decode()
        assert stderr.decode().strip().splitlines() == [
            f"advsim: interrupted; the finished points are kept in {out}.partial "
            f"(continue with --resume --out {out})"]
        assert not list(parts.glob(".*"))  # no half-written file is left behind
    else:
        assert proc.returncode == -signal.SIGKILL, stderr.decode()
    kept = len(records(parts))
    assert 3 <= kept < 24 and not out.exists()  # stopped mid-way: 8 × 3 points in all
    done, damaged = Store(tmp_path / "o.partial").finished(plan(load_sweep(spec)))
    assert len(done) == kept and damaged == {}  # every kept record is whole and checks out

    r = sweep(str(spec), "--out", str(out), "--resume", "-j", "2", "--json")
    assert json.loads(r.stdout)["points"] == 24 and r.stderr == ""
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["points_computed"] == 24 - kept
    sweep(str(spec), "-j", "1", "--out", str(tmp_path / "whole"), "-q")
    same_files(tmp_path / "whole", out)
    # The stopped sweep's workers end (on SIGKILL, by themselves) rather than wait for work.
    assert len(workers) >= 2 and not left_running(workers)


@pytest.fixture(scope="module")
def dask_processes():
    """A LocalCluster of two worker processes, each under a nanny that restarts it if it dies,
    and a client to find the workers' process ids."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.CRITICAL
                                  ) as cluster, distributed.Client(cluster) as client:
        yield cluster, client


def test_a_dask_worker_killed_mid_sweep_loses_and_repeats_no_point(tmp_path, dask_processes):
    """SIGKILL one of two Dask worker processes once 3 of 24 points are done (the other points'
    chunks, 4 a point, queued on both): Dask runs the lost tasks again, each point is saved
    once, and the tables are the local executor's."""
    cluster, client = dask_processes
    client.wait_for_workers(2, timeout=60)
    p = plan(load_sweep(bigger_spec(tmp_path)))
    run_sweep(p, tmp_path / "local", jobs=1, chunk_size=250)
    victim = sorted(client.run(os.getpid).values())[0]
    progress: list[int] = []

    def kill_a_worker_after_three(done: int, total: int) -> None:
        progress.append(done)
        if done == 3:
            os.kill(victim, signal.SIGKILL)

    run_sweep(p, tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address,
              on_point=kill_a_worker_after_three, chunk_size=250)
    assert progress == list(range(25))  # every point saved once: none lost, none twice
    same_files(tmp_path / "local", tmp_path / "dask")
    assert victim not in client.run(os.getpid).values()  # it did die (and was replaced)


def test_a_task_whose_dask_workers_keep_dying_is_one_line(dask_processes):
    from sim.errors import AdvsimError
    from sim.running.executors import DaskCluster

    cluster, client = dask_processes
    client.wait_for_workers(2, timeout=60)
    allowed = cluster.scheduler.allowed_failures
    cluster.scheduler.allowed_failures = 0  # the first death fails the task (by default, the 4th)
    ex = DaskCluster(1, cluster.scheduler_address)
    try:
        with pytest.raises(AdvsimError, match=r"^a task was lost: every Dask worker that ran it "
                           r"died \(1 in all; the last, tcp://127\.0\.0\.1:\d+, may have"):
            list(ex.map_unordered(os._exit, [(3,)]))
    finally:
        ex.close()
        cluster.scheduler.allowed_failures = allowed


def test_an_executor_failure_keeps_the_finished_points(spec, tmp_path, monkeypatch):
    import sim.sweep.run
    from sim.errors import AdvsimError

    real = sim.sweep.run._run_points

    def two_then_fail(*args):
        points = real(*args)
        yield next(points)
        yield next(points)
        raise AdvsimError("a task was lost")

    monkeypatch.setattr(sim.sweep.run, "_run_points", two_then_fail)
    out = tmp_path / "o"
    r = CliRunner().invoke(cli, ["sweep", str(spec), "-j", "1", "--out", str(out)])
    assert r.exit_code == 2 and r.stderr.splitlines() == [
        f"a task was lost; the finished points are kept in {out}.partial (continue with "
        f"--resume --out {out})"]
    assert len(records(tmp_path / "o.partial/parts")) == 2


def test_damaged_points_are_reported_and_computed_again(spec, tmp_path):
    """A truncated record, an edited one, a truncated outcomes file and a missing one: each is
    named on stderr in one line, and computed again; the intact point is kept."""
    sweep(str(spec), "-j", "1", "--out", str(tmp_path / "whole"), "-q")
    out = tmp_path / "o"
    parts = interrupted(spec, out, after=5) / "parts"
    record = (parts / "000000.json").read_bytes()
    (parts / "000000.json").write_bytes(record[: len(record) // 2])
    edited = json.loads((parts / "000001.json").read_text())
    edited["metrics"]["kursk.prob_reached"] = 0.5
    (parts / "000001.json").write_text(json.dumps(edited))
    npz = (parts / "000002.npz").read_bytes()
    (parts / "000002.npz").write_bytes(npz[:-100])
    (parts / "000003.npz").unlink()

    r = sweep(str(spec), "--out", str(out), "--resume", "-j", "1", "-q")
    truncated, *others = r.stderr.splitlines()
    assert truncated.startswith(f"{parts}/000000.json: not a point record (")  # bad JSON
    assert truncated.endswith("); point 0 is computed again")
    assert others == [
        f"{parts}/000001.json: does not match its checksum (damaged or edited); point 1 is "
        "computed again",
        f"{parts}/000002.npz: does not match the checksum in 000002.json (truncated, damaged "
        "or edited); point 2 is computed again",
        f"{parts}/000003.npz: missing (its record 000003.json is there); point 3 is computed "
        "again",
    ]
    same_files(tmp_path / "whole", out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["points_computed"] == 5  # all but point 4
    assert manifest["sessions"][-1]["damaged_points"] == [0, 1, 2, 3]


def test_from_python_a_damaged_point_is_a_warning(spec, tmp_path):
    parts = interrupted(spec, tmp_path / "o", after=2) / "parts"
    (parts / "000001.npz").write_bytes(b"")
    with pytest.warns(UserWarning, match=r"000001\.npz: does not match .*; point 1 is computed"):
        result = run_sweep(plan(load_sweep(spec)), tmp_path / "o", resume=True)
    assert result.points_computed == 5


@pytest.mark.parametrize(("name", "damage", "says"), [
    ("sessions.json", b"[{\"started\": ", "sessions.json: damaged (Expecting"),
    ("sessions.json", b"{}", "sessions.json: damaged (expected a list of sessions)"),
    ("sweep.yaml", b"\xff\xfe garbage", ".partial: holds a different sweep (its sweep.yaml"),
])
def test_a_damaged_partial_sweep_file_is_one_line(spec, tmp_path, name, damage, says):
    out = tmp_path / "o"
    partial = interrupted(spec, out, after=2)
    (partial / name).write_bytes(damage)
    r = CliRunner().invoke(cli, ["sweep", str(spec), "--out", str(out), "--resume", "-j", "1"])
    assert r.exit_code == 2 and len(r.stderr.splitlines()) == 1 and says in r.stderr
    assert r.stderr.startswith(str(partial)) and len(records(partial / "parts")) == 2


def test_resuming_a_finished_sweep_checks_its_table(spec, tmp_path):
    """A finished sweep is never recomputed; if its points.csv was edited, --resume says so."""
    out = tmp_path / "o"
    sweep(str(spec), "-j", "1", "--out", str(out), "-q")
    r = CliRunner().invoke(cli, ["sweep", str(spec), "--out", str(out), "--resume"])
    assert r.exit_code == 2 and r.stderr.splitlines() == [
        f"{out}: this sweep is already complete (nothing to resume)"]
    table = (out / "points.csv").read_text()
    edited = table.replace(",40000,", ",45000,", 1)
    assert edited != table
    (out / "points.csv").write_text(edited)
    r = CliRunner().invoke(cli, ["sweep", str(spec), "--out", str(out), "--resume"])
    assert r.exit_code == 2 and r.stderr.splitlines() == [
        f"{out}/points.csv: not the table this sweep wrote (its sha256 differs from "
        "manifest.json's points_sha256: edited or damaged); a finished sweep is not "
        "recomputed: run it again with another --out"]
    assert (out / "points.csv").read_text() == edited  # left as it was


def spawned_workers(pid: int) -> set[tuple[int, str]]:
    """The Dask worker processes of a LocalCluster that process ``pid`` started."""
    return identities(w for w in children_of(pid) if b"spawn_main" in cmdline(w))


@pytest.mark.slow
def test_soak_a_200_point_dask_sweep_with_workers_killed(tmp_path):
    """Soak: 200 points on a LocalCluster of two worker processes started by advsim sweep, a
    worker SIGKILLed each time 40 more points are done (4 kills): the sweep completes without a
    word on stderr, and its tables are those of an undisturbed local sweep."""
    pytest.importorskip("dask.distributed")
    spec = bigger_spec(tmp_path, troops=20, rates=10, replications=500)
    out, parts = tmp_path / "o", tmp_path / "o.partial/parts"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from sim.cli import main; main()", "sweep", str(spec),
         "--executor", "dask", "-j", "2", "--out", str(out), "-q"],
        start_new_session=True, stderr=subprocess.PIPE,
    )
    workers: set[tuple[int, str]] = set()
    victims = []
    try:
        for at in (40, 80, 120, 160):
            deadline = time.monotonic() + 300
            while not (parts.is_dir() and len(records(parts)) >= at):
                assert proc.poll() is None, proc.communicate()[1].decode()
                assert time.monotonic() < deadline, f"stalled at {len(records(parts))} points"
                workers |= spawned_workers(proc.pid)
                time.sleep(0.05)
            victims.append(min(spawned_workers(proc.pid)))
            workers.add(victims[-1])
            os.kill(victims[-1][0], signal.SIGKILL)
            assert len(records(parts)) < 200 and proc.poll() is None  # killed part-way
        _, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0 and stderr == b"", stderr.decode()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["points"] == manifest["points_computed"] == 200
    assert manifest["executor"] == "dask" and len(manifest["sessions"]) == 1
    sweep(str(spec), "-j", "2", "--out", str(tmp_path / "undisturbed"), "-q")
    same_files(tmp_path / "undisturbed", out)
    assert len(set(victims)) == 4  # each kill ended a live worker, the next chose another
    assert not left_running(workers)  # the cluster's workers, first and restarted, ended too


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
        assert float(f"{got:.6g}") == float(row["kursk.prob_reached"])
    outcomes = pq.read_table(tmp_path / "o/outcomes.parquet")
    assert outcomes.num_rows == 6 * 300 and outcomes.column_names[0] == "point"


def test_a_sweep_folder_reads_itself_back_as_the_sweep_that_wrote_it(spec, tmp_path):
    from sim.sweep import SweepResult, summary

    out = tmp_path / "o"
    made = run_sweep(plan(load_sweep(spec)), out, jobs=1)
    back = SweepResult.from_folder(out)
    assert back.manifest["kind"] == "sweep" and back.manifest == made.manifest
    sw = made.plan.sweep
    assert repr(back) == repr(made) == (
        f"<SweepResult {sw.name}: {len(made.plan.points)} points ({sw.method}), "
        f"{sw.replications:,} replications each, {len(sw.parameters)} parameters>")
    assert back.metrics == made.metrics and back.spec_yaml == (out / "sweep.yaml").read_text()
    # the table (unrounded, from points.parquet), the ranking and the JSON are the sweep's own
    assert list(back.table) == list(made.table)
    for k, col in made.table.items():
        assert np.array_equal(back.table[k], col, equal_nan=col.dtype.kind == "f"), k
    # the ranking as sensitivity.csv writes it: numbers to 6 significant digits
    assert [(r["metric"], r["rank"], r["parameter"], r["note"]) for r in back.sensitivity] == \
        [(r["metric"], r["rank"], r["parameter"], r["note"]) for r in made.sensitivity]
    for b, m in zip(back.sensitivity, made.sensitivity):
        assert np.allclose([b[k] for k in b if k.startswith(("prcc", "sobol"))],
                           [m[k] for k in m if k.startswith(("prcc", "sobol"))],
                           rtol=1e-5, atol=0, equal_nan=True)
    assert {k: v for k, v in summary(back).items() if k != "sensitivity"} == \
        {k: v for k, v in summary(made).items() if k != "sensitivity"}


@pytest.mark.parametrize(("name", "says"), [
    ("points.csv", "points.csv: does not match its checksum in manifest.json"),
    ("manifest.json", "not written by advsim (no manifest.json"),
])
def test_a_sweep_folder_that_was_altered_is_refused_naming_the_file(spec, tmp_path, name, says):
    from sim.errors import AdvsimError
    from sim.sweep import SweepResult

    out = tmp_path / "o"
    sweep(str(spec), "-j", "1", "--out", str(out), "-q")
    if name == "manifest.json":
        (out / name).unlink()
    else:
        (out / name).write_text((out / name).read_text().replace("\n", "\n\n", 1))
    with pytest.raises(AdvsimError, match=f"^{out}: .*") as e:
        SweepResult.from_folder(out)
    assert says in str(e.value) and "\n" not in str(e.value)
    r = CliRunner().invoke(cli, ["report", str(out), "-o", str(tmp_path / "r.html")])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and says in r.stderr
    assert not (tmp_path / "r.html").exists()
