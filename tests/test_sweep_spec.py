"""Sweep specs: the points each method places, their seeds, and bad specs (one line, exit 2)."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from sim.cli import cli
from sim.sweep import Parameter, design, load_sweep, plan, point_seed

ROOT = Path(__file__).resolve().parents[1]
TROOPS = "sectors.kursk.forces.attacker.troops"
RATE = "sectors.kursk.advance.base_m_per_day"
ARRIVAL = "sectors.kursk.reinforcements.0.date"


def spec(tmp_path: Path, body: str, name: str = "spec.yaml") -> Path:
    """A spec beside a copy of the Kursk scenario."""
    (tmp_path / "kursk.yaml").write_text((ROOT / "scenarios/kursk.yaml").read_text())
    path = tmp_path / name
    path.write_text("scenario: kursk.yaml\n" + body)
    return path


def test_grid_is_every_combination_with_the_last_parameter_fastest(tmp_path):
    s = load_sweep(spec(tmp_path, f"""\
method: grid
levels: 3
parameters:
  {TROOPS}: {{low: 40000, high: 80000}}
  {RATE}: [80, 120]
  {ARRIVAL}: {{low: 2024-11-20, high: 2024-12-20, levels: 4}}
"""))
    points = design(s)
    assert len(points) == 3 * 2 * 4
    assert sorted({p[TROOPS] for p in points}) == [40000, 60000, 80000]
    assert [p[ARRIVAL] for p in points[:4]] == [dt.date(2024, 11, 20), dt.date(2024, 11, 30),
                                                 dt.date(2024, 12, 10), dt.date(2024, 12, 20)]
    assert [p[RATE] for p in points[:8]] == [80] * 4 + [120] * 4
    assert len({tuple(p.values()) for p in points}) == len(points)


def test_grid_on_a_log_scale_is_geometric_and_integers_are_whole(tmp_path):
    s = load_sweep(spec(tmp_path, f"""\
parameters:
  {TROOPS}: {{low: 1000, high: 100000, log: true, levels: 3}}
  {RATE}: {{low: 10, high: 20, integer: true, levels: 4}}
"""))
    points = design(s)
    assert len(points) == 12
    assert sorted({p[TROOPS] for p in points}) == pytest.approx([1000, 10000, 100000])
    assert sorted({p[RATE] for p in points}) == [10, 13, 17, 20]
    assert all(isinstance(p[RATE], int) for p in points)


@pytest.mark.parametrize("log", [False, True])
def test_lhs_puts_one_point_in_each_stratum_of_every_parameter(tmp_path, log):
    n = 40
    s = load_sweep(spec(tmp_path, f"""\
method: lhs
samples: {n}
parameters:
  {TROOPS}: {{low: 40000, high: 80000, log: {str(log).lower()}}}
  {RATE}: {{low: 60, high: 160}}
"""))
    points = design(s)
    assert len(points) == n
    for key, lo, hi, on_log in ((TROOPS, 40000, 80000, log), (RATE, 60, 160, False)):
        v = np.array([p[key] for p in points])
        assert np.all((lo <= v) & (v <= hi))
        f = np.log if on_log else (lambda a: a)
        strata = np.floor((f(v) - f(lo)) / (f(hi) - f(lo)) * n).astype(int)
        assert sorted(np.minimum(strata, n - 1)) == list(range(n))


def test_sobol_design_is_saltelli_blocks_of_a_and_b(tmp_path):
    s = load_sweep(spec(tmp_path, f"""\
method: sobol
samples: 8
parameters:
  {TROOPS}: {{low: 40000, high: 80000}}
  {RATE}: {{low: 60, high: 160}}
"""))
    points = design(s)
    n = 8
    assert len(points) == n * (2 + 2)
    a, b = points[:n], points[n:2 * n]
    ab0, ab1 = points[2 * n:3 * n], points[3 * n:]
    for j in range(n):
        assert ab0[j] == {TROOPS: b[j][TROOPS], RATE: a[j][RATE]}
        assert ab1[j] == {TROOPS: a[j][TROOPS], RATE: b[j][RATE]}


def test_design_and_point_seeds_follow_the_sweep_seed(tmp_path):
    body = f"method: lhs\nsamples: 6\nparameters:\n  {TROOPS}: {{low: 40000, high: 80000}}\n"
    one = spec(tmp_path, body + "seed: 1\n", "one.yaml")
    two = spec(tmp_path, body + "seed: 2\n", "two.yaml")
    assert design(load_sweep(one)) == design(load_sweep(one))
    assert design(load_sweep(one)) != design(load_sweep(two))
    seeds = [point_seed(1, i) for i in range(100)]
    assert len(set(seeds)) == 100 and all(0 <= x < 2**63 for x in seeds)
    assert seeds[5] == int(np.random.SeedSequence(1, spawn_key=(0, 5))
                           .generate_state(1, np.uint64)[0] >> np.uint64(1))
    assert point_seed(2, 5) != seeds[5]


def test_vary_on_a_plain_scenario_and_command_line_choices_over_the_spec(tmp_path):
    s = load_sweep(ROOT / "scenarios/kursk.yaml",
                   vary=[f"{TROOPS}=40000:80000:log", f"{RATE}=80,100,120"],
                   method="lhs", samples=9, replications=50, seed=4)
    assert (s.method, s.samples, s.replications, s.seed) == ("lhs", 9, 50, 4)
    assert s.parameters[0].log and s.parameters[1].values == (80, 100, 120)
    assert s.name == "Kursk salient sweep"
    p = plan(s)
    assert len(p.points) == 9
    assert p.points[3].scenario.sectors[0].attacker.troops == p.points[3].values[TROOPS]
    assert p.headline == ("kursk.prob_reached", "kursk.day_p50")


def test_set_values_apply_to_every_point(tmp_path):
    s = load_sweep(spec(tmp_path, f"""\
set:
  horizon_days: 120
  checkpoints_days: [60, 120]
parameters:
  {TROOPS}: [40000, 80000]
metrics: [held_km2_d120_p50]
"""))
    p = plan(s)
    assert all(pt.scenario.horizon_days == 120 for pt in p.points)
    assert p.headline == ("kursk.held_km2_d120_p50",)
    assert "horizon_days: 120" in p.scenario_yaml


BAD = {
    "unknown_key_path": (
        "parameters:\n  sectors.kursk.forces.atacker.troops: {low: 1, high: 5}\n",
        3, "parameters.sectors.kursk.forces.atacker.troops", "not a key path"),
    "unknown_last_key": (
        f"parameters:\n  {TROOPS}x: {{low: 1, high: 5}}\n",
        3, f"parameters.{TROOPS}x", "did you mean 'troops'?"),
    "empty_range": (
        f"parameters:\n  {TROOPS}:\n    low: 5000\n    high: 5000\n",
        3, f"parameters.{TROOPS}", "empty range"),
    "empty_list": (
        f"parameters:\n  {TROOPS}: []\n", 3, f"parameters.{TROOPS}", "no values"),
    "low_above_high": (
        f"parameters:\n  {TROOPS}:\n    low: 9000\n    high: 5000\n",
        4, f"parameters.{TROOPS}.low", "low (9000) is above high (5000)"),
    "unknown_method": (
        f"method: lsh\nparameters:\n  {TROOPS}: {{low: 1, high: 5}}\n",
        2, "method", "unknown method 'lsh' (did you mean 'lhs'?)"),
    "value_out_of_bounds": (
        f"parameters:\n  {TROOPS}: {{low: -10, high: 5}}\n",
        3, f"parameters.{TROOPS}.low", "must be >= 0"),
    "sobol_not_power_of_2": (
        f"method: sobol\nsamples: 50\nparameters:\n  {TROOPS}: {{low: 1, high: 5}}\n",
        3, "samples", "power of 2"),
    "samples_on_a_grid": (
        f"samples: 8\nparameters:\n  {TROOPS}: {{low: 1, high: 5}}\n",
        2, "samples", "applies to lhs and sobol"),
    "log_of_zero": (
        f"parameters:\n  {TROOPS}: {{low: 0, high: 5, log: true}}\n",
        3, f"parameters.{TROOPS}.low", "must be > 0"),
    "unknown_metric": (
        f"parameters:\n  {TROOPS}: [1, 2]\nmetrics: [prob_reach]\n",
        4, "metrics.0", "did you mean 'prob_reached'?"),
    "unknown_spec_key": (
        f"paramters:\n  {TROOPS}: [1, 2]\n", 2, "paramters", "unknown key"),
    "needs_whole_days": (
        "parameters:\n  sectors.kursk.reinforcements.0.date: {low: 0, high: 40}\n",
        3, "parameters.sectors.kursk.reinforcements.0.date", "integer: true"),
    "missing_scenario_file": (
        f"parameters:\n  {TROOPS}: [1, 2]\n", 1, "scenario", "no such file"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_spec_is_one_located_line_exit_2_and_nothing_written(case, tmp_path, monkeypatch):
    body, line, key, word = BAD[case]
    path = spec(tmp_path, body)
    if case == "missing_scenario_file":
        (tmp_path / "kursk.yaml").unlink()
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))
    r = CliRunner().invoke(cli, ["sweep", str(path), "-j", "1", "--out", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output and r.stdout == ""
    (err,) = r.stderr.splitlines()
    m = re.fullmatch(re.escape(f"{path}:{line}: {key}:") + r" (\S.*)", err)
    assert m, err
    assert word in m.group(1), err
    assert sorted(os.listdir(tmp_path)) == before  # no out/, out.partial/ or results/


@pytest.mark.parametrize(("vary", "word"), [
    (f"{TROOPS}=9000:5000", "is above high"),
    (f"{TROOPS}=5000:5000", "empty range"),
    ("sectors.kursk.forces.atacker.troops=1,2", "not a key path"),
    (f"{TROOPS}", "expected key.path=LOW:HIGH"),
    (f"{TROOPS}=1:5:sqrt", "unknown flag"),
])
def test_bad_vary_is_one_line_naming_the_item(vary, word, tmp_path):
    scenario = str(ROOT / "scenarios/kursk.yaml")
    r = CliRunner().invoke(cli, ["sweep", scenario, "--vary", vary, "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and r.stdout == ""
    (err,) = r.stderr.splitlines()
    assert err.startswith(f"{scenario} (--vary {vary}):") and word in err, err
    assert not list(tmp_path.iterdir())


def test_a_scenario_without_vary_is_not_a_sweep(tmp_path):
    r = CliRunner().invoke(cli, ["sweep", str(ROOT / "scenarios/kursk.yaml"),
                                 "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert "is a scenario, not a sweep spec" in r.stderr and len(r.stderr.splitlines()) == 1


@given(low=st.integers(-1000, 1000), span=st.integers(1, 400),
       u=st.floats(0, 1, exclude_max=True))
def test_integer_and_date_ranges_give_whole_values_within_bounds(low, span, u):
    p = Parameter(path="x", low=low, high=low + span, integer=True)
    v = p.at(u)
    assert isinstance(v, int) and low <= v <= low + span
    start = dt.date(2024, 11, 20)
    d = Parameter(path="x", low=start, high=start + dt.timedelta(days=span)).at(u)
    assert start <= d <= start + dt.timedelta(days=span)


def test_each_whole_number_gets_an_equal_share_of_the_unit_interval():
    p = Parameter(path="x", low=3, high=7, integer=True)
    u = (np.arange(1000) + 0.5) / 1000
    counts = np.bincount([p.at(x) for x in u])[3:]
    assert counts.tolist() == [200] * 5


@given(low=st.floats(0.01, 1e4), ratio=st.floats(1.001, 1e4), u=st.floats(0, 1, exclude_max=True),
       log=st.booleans())
def test_continuous_ranges_stay_within_bounds_and_grow_with_u(low, ratio, u, log):
    p = Parameter(path="x", low=low, high=low * ratio, log=log)
    v = p.at(u)
    assert low <= v <= low * ratio
    assert p.at(u + (1 - u) / 2) >= v


def test_a_short_whole_number_range_gives_each_value_once_and_repeats_are_refused(tmp_path):
    path = "sectors.kursk.reinforcements.0.readiness_days"
    s = load_sweep(spec(tmp_path, f"parameters:\n  {path}: {{low: 1, high: 3, integer: true}}\n"))
    assert [p[path] for p in design(s)] == [1, 2, 3]
    bad = spec(tmp_path, f"parameters:\n  {path}: {{low: 1, high: 9, integer: true, log: true, "
                         "levels: 8}\n", "bad.yaml")
    r = CliRunner().invoke(cli, ["sweep", str(bad), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "repeat values" in r.stderr and not (tmp_path / "o").exists()
