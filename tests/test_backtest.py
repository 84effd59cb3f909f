"""Backtests: the scores are right on hand-computed cases, calibrated on data from the model's
own distribution, and they tell a true model from an over-confident or a biased one.

Calibration is checked on 100 independent sectors (each its own random streams), each observed
on two days. A sector's coverage is the mean of two correlated 0/1 outcomes, so its variance is
at most p(1 - p); the mean over 100 sectors then has a standard deviation of at most
sqrt(0.9 * 0.1 / 100) = 0.03 for the 90% band (0.05 for the 50% band), and the tests allow
four of them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from sim.cli import cli
from sim.data.observed import ObservedSeries, write_observed
from sim.forecast import notes as N
from sim.forecast.backtest import backtest
from sim.forecast.notes import Note
from sim.forecast.scores import covered, fair_crps, pit
from sim.forecast.self_test import synthetic_observed
from sim.model import builder as B
from sim.model import distributions as D
from sim.model.loader import parse_scenario
from sim.model.scenario import Scenario
from sim.model.writer import dump

ROOT = Path(__file__).resolve().parents[1]
START = dt.date(2024, 6, 1)


# -- the scores ----------------------------------------------------------------------------------


def test_fair_crps_by_hand():
    # mean|X - y| = (2 + 1 + 1)/3; the pairs differ by 1, 3 and 2, so sum_ij |Xi - Xj| = 12
    # and the fair correction is 12 / (2 * 3 * 2) = 1: CRPS = 4/3 - 1 = 1/3.
    assert fair_crps(np.array([1.0, 2.0, 4.0]), 3.0) == pytest.approx(1 / 3, abs=1e-15)
    assert fair_crps(np.array([4.0, 1.0, 2.0]), 3.0) == pytest.approx(1 / 3, abs=1e-15)
    # two members either side of y: 1 - 4 / 4 = 0
    assert fair_crps(np.array([0.0, 2.0]), 1.0) == pytest.approx(0.0, abs=1e-15)
    # one member: the absolute error
    assert fair_crps(np.array([5.0]), 2.0) == 3.0


def test_sorted_formula_matches_the_double_sum():
    rng = np.random.default_rng(0)
    x, y = rng.gamma(2.0, size=(9, 4)), rng.gamma(2.0, size=4)
    m = x.shape[0]
    brute = [np.mean(np.abs(x[:, j] - y[j]))
             - np.abs(x[:, j][:, None] - x[:, j][None, :]).sum() / (2 * m * (m - 1))
             for j in range(4)]
    np.testing.assert_allclose(fair_crps(x, y), brute, rtol=1e-12)


def test_fair_crps_is_unbiased_for_small_ensembles():
    """Averaged over many 5-member ensembles from N(0, 1), the fair CRPS matches the closed
    form CRPS of N(0, 1); the plain ensemble CRPS overstates it by E|X - X'| / (2m)."""
    y, m, n = 0.3, 5, 20_000
    x = np.random.default_rng(1).standard_normal((m, n))
    exact = y * (2 * stats.norm.cdf(y) - 1) + 2 * stats.norm.pdf(y) - 1 / math.sqrt(math.pi)
    fair = fair_crps(x, y)
    se = fair.std(ddof=1) / math.sqrt(n)
    assert abs(fair.mean() - exact) < 4 * se
    pairs = np.abs(x[:, None, :] - x[None, :, :]).sum(axis=(0, 1))
    plain = np.mean(np.abs(x - y), axis=0) - pairs / (2 * m * m)
    assert plain.mean() - exact > 10 * se  # about (2/sqrt(pi)) / (2m) = 0.11 too high


def test_pit_and_coverage_at_the_edges_and_with_ties():
    rng = np.random.default_rng(2)
    x = np.array([[1.0], [2.0], [3.0], [4.0]])
    assert pit(x, np.array([0.0]), rng)[0] == 0.0
    assert pit(x, np.array([9.0]), rng)[0] == 1.0
    tied = np.full((10, 2000), 5.0)  # every member at a capped objective, and so is y
    u = pit(tied, np.full(2000, 5.0), rng)
    assert abs(u.mean() - 0.5) < 4 * math.sqrt(1 / 12 / 2000)
    assert covered(x, np.array([1.0]), 1.0)[0] and not covered(x, np.array([1.0]), 0.5)[0]


# -- calibration on the model's own data -----------------------------------------------------------

SECTORS = 100
DAYS = (30, 75)


def own_model(base: B.Dist, noise: B.Dist) -> Scenario:
    """SECTORS axes out of reach, each at ``base`` m/day with daily ``noise``."""
    sector = B.advance(base, noise=noise)
    return B.scenario(*(B.axis(f"s{i:03d}", length_km=1000, advance=sector,
                               objective="out of reach") for i in range(SECTORS)),
                      name="own model", start=START, horizon_days=90)


TRUE = own_model(D.Uniform(low=150, high=350), D.Gamma(mean=1, sd=0.8))
OVERCONFIDENT = own_model(250, D.Gamma(mean=1, sd=0.2))  # no campaign-level doubt
BIASED = own_model(D.Uniform(low=240, high=560), D.Gamma(mean=1, sd=0.8))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One series per sector from the true model, and backtests of three scenarios on them."""
    tmp = tmp_path_factory.mktemp("own")
    truth = synthetic_observed(B.checked(TRUE), DAYS, seed=99)
    out = {}
    for name, sc in (("true", TRUE), ("overconfident", OVERCONFIDENT), ("biased", BIASED)):
        path = tmp / f"{name}.yaml"
        path.write_text(dump(sc), encoding="utf-8")
        out[name] = backtest(path, truth, replications=1000, seed=5)
    return out


def mean_of(bt, key: str) -> float:
    return float(np.mean([s[key] for s in bt.summary()["sectors"].values()]))


def test_coverage_is_nominal_on_data_from_the_model_itself(runs):
    s = runs["true"].summary()["sectors"]
    assert len(s) == SECTORS and all(v["n_obs"] == len(DAYS) for v in s.values())
    assert abs(mean_of(runs["true"], "coverage_90") - 0.9) < 4 * 0.03
    assert abs(mean_of(runs["true"], "coverage_50") - 0.5) < 4 * 0.05
    # the PITs of independent sectors at one date are uniform
    last = [v["pit"][-1] for v in s.values()]
    assert stats.kstest(last, "uniform").pvalue > 1e-3


def test_an_overconfident_scenario_covers_clearly_less(runs):
    over = mean_of(runs["overconfident"], "coverage_90")
    assert over < 0.5 < mean_of(runs["true"], "coverage_90") - 0.25
    last = [v["pit"][-1] for v in runs["overconfident"].summary()["sectors"].values()]
    assert stats.kstest(last, "uniform").pvalue < 1e-6


def test_the_true_model_has_the_lower_crps(runs):
    true, biased = mean_of(runs["true"], "crps"), mean_of(runs["biased"], "crps")
    assert true < 0.8 * biased
    assert mean_of(runs["true"], "crps") < mean_of(runs["overconfident"], "crps")


def test_checkpoints_are_the_observation_days_through_the_loader(runs):
    sc = runs["true"].scenario
    assert sc.checkpoints_days == DAYS and sc.horizon_days == DAYS[-1]


# -- the objective, the baseline and the anchor ---------------------------------------------------


def axis_scenario(tmp_path: Path, base: B.Dist, noise: B.Dist | None = None,
                  horizon: int = 60) -> Path:
    path = tmp_path / "axis.yaml"
    sc = B.scenario(B.axis("north", length_km=3, advance=B.advance(base, noise=noise),
                           objective="town"),
                    name="small axis", start=START, horizon_days=horizon)
    path.write_text(dump(sc), encoding="utf-8")
    return path


def series(days, values, sector: str = "north") -> dict[str, ObservedSeries]:
    dates = tuple(START + dt.timedelta(days=d) for d in days)
    return {sector: ObservedSeries(sector=sector, dates=dates, values=np.asarray(values, float),
                                   lines=tuple(range(2, 2 + len(days))), file="obs.csv")}


def test_brier_of_the_objective_falling(tmp_path):
    # observed: 1.2 km by day 5 (not fallen), 3.5 km by day 20 (past the 3 km objective)
    obs = series([0, 5, 20], [0.0, 1.2, 3.5])
    fast = backtest(axis_scenario(tmp_path, 250, D.Gamma(mean=1, sd=0.3)), obs,
                    replications=400, seed=1).summary()["sectors"]["north"]
    assert fast["objective_fell_observed"] == str(START + dt.timedelta(days=20))
    assert fast["observed"] == [1.2, 3.0] and fast["clipped"] == 1  # capped at the objective
    assert fast["brier"] < 0.01
    slow = backtest(axis_scenario(tmp_path, 50), obs, replications=50,
                    seed=1).summary()["sectors"]["north"]
    assert slow["brier"] == pytest.approx(0.5)  # P(fallen) = 0 on both dates; fell by the second


def test_baseline_extrapolates_the_trailing_rate_before_the_start(tmp_path):
    # 0, 2, 4 km at days -20, -10, 0: 0.2 km/day over the trailing window (the first and last
    # observations in the 90 days before the start, no longer the last two: issue 12);
    # 6.5 km at day 10, so 2.5 km since the start
    obs = series([-20, -10, 0, 10], [0.0, 2.0, 4.0, 6.5])
    s = backtest(axis_scenario(tmp_path, 250), obs, replications=20,
                 seed=1).summary()["sectors"]["north"]
    assert s["observed"] == [2.5]
    b = s["baseline"]
    assert b["per_day"] == pytest.approx(0.2)
    assert "from 2024-05-12 to 2024-06-01" in b["method"]
    # persistence: no further change, a point forecast of 0 km: its CRPS is the 2.5 km error
    assert s["baselines"]["persistence"]["crps"] == pytest.approx(2.5)
    assert s["crps_skill_persistence"] == pytest.approx(1.0)
    assert b["crps"] == pytest.approx(0.5)  # no noise: a point forecast of 2 km
    assert s["crps"] == pytest.approx(0.0)  # the model: exactly 250 m/day, 2.5 km
    assert s["crps_skill"] == pytest.approx(1.0)


def test_baseline_without_history_uses_the_scenario_mean_rate_with_its_noise(tmp_path):
    obs = series([0, 40], [0.0, 2.0])
    bt = backtest(axis_scenario(tmp_path, D.Uniform(low=20, high=80),
                                D.Gamma(mean=1, sd=0.5)), obs, replications=4000,
                  seed=3)
    b = bt.sectors["north"].baseline[:, 0]
    assert "mean base rate (50 m/day)" in bt.summary()["sectors"]["north"]["baseline"]["method"]
    # baseline at day 40: Gamma(40/cv^2, 0.05 cv^2) km, mean 2, sd 0.05 * 0.5 * sqrt(40)
    assert abs(b.mean() - 2.0) < 5 * 0.05 * 0.5 * math.sqrt(40) / math.sqrt(b.size)
    assert b.std() == pytest.approx(0.05 * 0.5 * math.sqrt(40), rel=0.1)


def test_horizon_is_extended_to_the_last_observation(tmp_path):
    bt = backtest(axis_scenario(tmp_path, 10, horizon=30), series([0, 45], [0.0, 0.4]),
                  replications=10, seed=1)
    assert bt.scenario.horizon_days == 45
    assert Note(kind=N.HORIZON_EXTENDED, detail={"from_days": 30, "to_days": 45}) in bt.notes
    assert "horizon extended from 30 to 45" in " ".join(bt.summary()["notes"])


# -- the command ----------------------------------------------------------------------------------


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_json_and_table_on_a_synthetic_series(tmp_path):
    scenario = ROOT / "scenarios/kurakhove-reported.yaml"
    observed = ROOT / "scenarios/observed/synthetic-kurakhove.csv"
    r = run("backtest", str(scenario), "--observed", str(observed), "-n", "500", "--json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)["sectors"]["kurakhove"]
    assert {"crps", "coverage_50", "coverage_90", "pit", "n_obs", "brier",
            "baseline", "crps_skill"} <= set(s)
    assert s["n_obs"] == 14 and len(s["pit"]) == 14 and all(0 <= u <= 1 for u in s["pit"])
    assert {"crps", "coverage_50", "coverage_90", "pit", "method"} <= set(s["baseline"])
    bands = s["bands"]
    assert all(a <= b <= c for a, b, c in zip(bands["p5"], bands["p50"], bands["p95"]))
    r = run("backtest", str(scenario), "--observed", str(observed), "-n", "500",
            "--chart", str(tmp_path / "fan.png"))
    assert r.exit_code == 0, r.output
    assert "CRPS (fair), km" in r.stdout and "coverage of the 90% band" in r.stdout
    assert (tmp_path / "fan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_example_data_scores_the_kursk_salient_from_its_peak():
    r = run("backtest", str(ROOT / "scenarios/kursk.yaml"),
            "--observed", str(ROOT / "scenarios/observed/kursk-donetsk-nov2024.csv"),
            "--set", "start=2024-08-22", "--set", "sectors.kursk.area_km2=1376",
            "-n", "500", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    k = out["sectors"]["kursk"]
    assert k["kind"] == "area" and k["dates"] == ["2024-11-20"] and k["observed"] == [800.0]
    assert k["days"] == [90] and out["horizon_days"] == 90
    assert "kurakhove" in out["notes"][0]  # in the file, not in this scenario


@pytest.mark.parametrize(("rows", "extra", "message"), [
    ("2024-06-10,north,1\n", (), "north: no observation on or before the scenario start"),
    ("2024-05-01,north,1\n2024-06-01,north,2\n", (),
     "no observation after the scenario start 2024-06-01 (the last is 2024-06-01)"),
    ("2024-06-01,south,1\n2024-06-05,south,2\n", (),
     "no sector of the scenario (north) appears in the file (it has south)"),
    ("2024-06-01,north,0\n2024-06-05,north,1\n", ("--sector", "nort"), "no such sector"),
])
def test_unusable_observations_are_one_line_and_exit_2(tmp_path, rows, extra, message):
    obs = tmp_path / "o.csv"
    obs.write_text("date,sector,value\n" + rows)
    r = run("backtest", str(axis_scenario(tmp_path, 100)), "--observed", str(obs), "-n", "5",
            *extra)
    assert r.exit_code == 2, r.output
    assert message in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.output


def test_synthetic_series_round_trip_through_csv(tmp_path):
    sc = parse_scenario(axis_scenario(tmp_path, 100).read_text())
    s = synthetic_observed(sc, [10, 20], seed=4)
    write_observed(tmp_path / "s.csv", s.values(), source="synthetic")
    r = run("calibrate", str(tmp_path / "s.csv"), "--cv", "0.5", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["rate_m_per_day"]["estimate"] == pytest.approx(100)


def test_until_before_the_start_leaves_nothing_to_score(tmp_path):
    obs = tmp_path / "o.csv"
    obs.write_text("date,sector,value\n2024-06-01,north,0\n2024-06-10,north,1\n")
    r = run("backtest", str(axis_scenario(tmp_path, 100)), "--observed", str(obs),
            "--until", "2024-05-01")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    assert "(none is dated up to 2024-05-01)" in r.stderr


def test_an_area_start_that_disagrees_with_the_observations_is_noted():
    r = run("backtest", str(ROOT / "scenarios/kursk.yaml"),
            "--observed", str(ROOT / "scenarios/observed/kursk-donetsk-nov2024.csv"),
            "--set", "start=2024-08-22", "-n", "50", "--json")
    assert r.exit_code == 0, r.output
    notes = json.loads(r.stdout)["notes"]
    assert "kursk: 1376 km² observed at the start, but the scenario starts from 801.4 km²" in notes
