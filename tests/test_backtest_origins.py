"""Backtests that compare like with like (issue 12): exact ties at thresholds, baselines worth
beating, frames, an honoured horizon, many origins, the long quantile table, and coverage of a
model against series drawn from itself.

Coverage against the model's own series: the independent units are the synthetic series (the
cases of one series share its campaign rate, and its overlapping windows its path). A series'
mean coverage has variance at most p(1 - p) = 0.09 at the 90% band, so over 200 series the
pooled coverage has a standard deviation of at most sqrt(0.09 / 200) = 0.021 whatever the
correlation within a series; the one measured between series (returned with the scores) is
smaller, and the test requires [0.85, 0.95] to be at least 3 of them either side of 0.9.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import edited

from sim.cli import cli
from sim.data.observed import ObservedSeries, parse_observed
from sim.forecast import notes as N
from sim.forecast.backtest import backtest
from sim.forecast.many_origins import backtest_origins
from sim.forecast.notes import Note
from sim.forecast.origins import at_origin
from sim.forecast.quantiles import COLUMNS as QUANTILE_COLUMNS
from sim.forecast.quantiles import QuantileTable
from sim.forecast.scores import QUANTILE_LEVELS, interval_score, pit_uniformity, quantile_score, wis
from sim.forecast.self_test import self_test
from sim.model import builder as B
from sim.model import distributions as D
from sim.model.loader import load_scenario, parse_scenario
from sim.model.scenario import Scenario
from sim.model.writer import dump
from sim.running.runner import simulate

ROOT = Path(__file__).resolve().parents[1]
REPORTED = ROOT / "scenarios/kurakhove-reported.yaml"  # the report's model: its numbers stay put
START = dt.date(2024, 6, 1)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def series(days, values, sector: str, frame: str = "advanced_km") -> dict[str, ObservedSeries]:
    dates = tuple(START + dt.timedelta(days=d) for d in days)
    return {sector: ObservedSeries(sector=sector, dates=dates, values=np.asarray(values, float),
                                   lines=tuple(range(2, 2 + len(days))), file="obs.csv",
                                   frame=frame)}


# -- ties ------------------------------------------------------------------------------------------


def written(tmp_path: Path, name: str, sc: Scenario, checkpoints: bool = True) -> Path:
    """``sc``'s file; without ``checkpoints`` it names none (they follow the horizon, as in a
    file written by hand)."""
    path = tmp_path / name
    text = dump(sc) if checkpoints else edited(sc, {}, drop=("checkpoints_days",))
    path.write_text(text, encoding="utf-8")
    return path


def kursk_like(tmp_path: Path, base: B.Dist = 700) -> Path:
    return written(tmp_path, "kursk.yaml", B.scenario(
        B.area("k", area_km2=800, front_km=60, front_scales=True, objective="cleared",
               objective_km2=50, advance=B.advance(base, noise=D.Gamma(mean=1, sd=0.3))),
        name="kursk-like", start=START, horizon_days=60))


def test_members_at_the_objective_are_exactly_at_it(tmp_path):
    """(√800 − (√800 − √50))² is 50.00000000000001 in floating point: the engine puts members
    that reached the objective exactly at 50, and those at the start exactly at 800. At 700
    m/day on a 60 km front √A falls 0.74 a day: the 21.2 from √800 to √50 take 29 days."""
    assert (math.sqrt(800) - (math.sqrt(800) - math.sqrt(50))) ** 2 != 50.0
    sc = parse_scenario(kursk_like(tmp_path).read_text())
    s = sc.sectors[0]
    assert s.output(np.array([s.u_objective, s.u_objective * 2, 0.0])).tolist() == \
        [50.0, 50.0, 800.0]
    held = simulate(sc, replications=200, seed=1).sectors["k"].progress[:, -1]
    assert np.all(held == 50.0)


def test_the_kursk_like_tie_is_scored_inside_the_bands(tmp_path):
    """Every member has cleared the salient by day 60 and the observation, clipped to the
    objective, is 50.0: inside both bands, with a randomised PIT (not 0). Observed 49.99 (the
    map shows less than the residue) is clipped to it; 50.0000000001 is put on it."""
    for value in (49.99, 50.0, 50.0000000001):
        obs = series([0, 60], [800.0, value], "k", frame="held_km2")
        s = backtest(kursk_like(tmp_path), obs, replications=500, seed=2).summary()["sectors"]["k"]
        assert s["observed"] == [50.0]
        assert s["coverage_50"] == 1.0 and s["coverage_90"] == 1.0
        assert 0.0 < s["pit"][0] < 1.0
        assert s["brier"] == 0.0 and s["objective_fell_observed"] == "2024-07-31"
    # the randomised PIT of a tie is uniform: over many ties its mean is 1/2
    from sim.forecast.scores import pit

    u = pit(np.full((20, 4000), 50.0), np.full(4000, 50.0), np.random.default_rng(0))
    assert abs(u.mean() - 0.5) < 4 * math.sqrt(1 / 12 / 4000)


# -- baselines -------------------------------------------------------------------------------------


def axis(tmp_path: Path, base: B.Dist = 250, noise: B.Dist | None = None, horizon: int = 60,
         length: float = 30, checkpoints: bool = True, **sector) -> Path:
    """A one-sector axis; ``sector`` holds more of the sector's keywords."""
    return written(tmp_path, "axis.yaml", B.scenario(
        B.axis("north", length_km=length, objective="town",
               advance=B.advance(base, noise=noise), **sector),
        name="small axis", start=START, horizon_days=horizon), checkpoints)


def test_the_trailing_rate_is_not_one_days_step_of_a_map(tmp_path):
    """A daily map that moved 1 km every 10th day: the last two observations before the start
    are one day apart and show no change (0 km/day), but the trailing 90 days give 0.1
    km/day."""
    days = list(range(-89, 1))
    km = [((d + 89) // 10) * 1.0 for d in days]
    km[-1] = km[-2]  # no change on the last day
    obs = series([*days, 20], [*km, km[-1] + 2.0], "north")
    s = backtest(axis(tmp_path), obs, replications=50, seed=1).summary()["sectors"]["north"]
    t = s["baselines"]["trailing_rate"]
    assert t["per_day"] == pytest.approx((km[-1] - km[0]) / 89)
    assert "trailing 90 days" in t["method"]
    p = s["baselines"]["persistence"]
    assert p["crps"] == pytest.approx(2.0)  # no change: the 2 km since the start
    assert p["coverage_90"] == 0.0 and "point forecast" in p["method"]
    short = backtest(axis(tmp_path), obs, replications=50, seed=1,
                     baseline_days=5).summary()["sectors"]["north"]["baselines"]["trailing_rate"]
    assert short["per_day"] == pytest.approx(0.0)  # the last 5 days moved nothing


# -- frames ----------------------------------------------------------------------------------------


def test_a_remaining_distance_is_scored_where_the_objective_really_fell(tmp_path):
    # 10 km to go at the start, on a 10 km axis at 500 m/day: falls on day 20; observed 0.0
    # km remaining by day 25 (fallen), 4 km on day 12
    obs = series([0, 12, 25], [10.0, 4.0, 0.0], "north", frame="remaining_km")
    s = backtest(axis(tmp_path, 500, length=10), obs, replications=200,
                 seed=1).summary()["sectors"]["north"]
    assert s["observed"] == [6.0, 10.0] and s["frame"] == "remaining_km"
    assert s["objective_fell_observed"] == "2024-06-26"
    assert s["brier"] == 0.0 and s["crps"] == pytest.approx(0.0)
    # a distance at the start that differs from length_km is a note, not a shift
    obs = series([0, 12], [12.0, 6.0], "north", frame="remaining_km")
    bt = backtest(axis(tmp_path, 500, length=10), obs, replications=20, seed=1)
    assert bt.summary()["sectors"]["north"]["observed"] == [6.0]
    assert Note(kind=N.FRAME_MISMATCH, sector="north",
                detail={"observed_km": 12.0, "axis_km": 10.0}) in bt.notes
    assert any("observed distance to the objective at the start is 12 km, but the "
               "scenario's axis is 10 km" in n for n in bt.summary()["notes"])


def test_a_frame_the_sector_cannot_take_is_one_line(tmp_path):
    obs = tmp_path / "o.csv"
    obs.write_text("date,sector,value,frame\n2024-06-01,north,800,held_km2\n"
                   "2024-06-10,north,700,held_km2\n")
    r = run("backtest", str(axis(tmp_path)), "--observed", str(obs), "-n", "5")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    assert "frame held_km2, which sector 'north'" in r.stderr


# -- the horizon -----------------------------------------------------------------------------------


def test_an_explicit_horizon_is_honoured_and_later_dates_reported(tmp_path):
    # --set horizon_days moves the checkpoints of a file that names none
    obs = series([0, 10, 20, 40], [0.0, 2.5, 5.0, 10.0], "north")
    bt = backtest(axis(tmp_path, horizon=60, checkpoints=False), obs, overrides=["horizon_days=25"],
                  replications=20, seed=1)
    s = bt.summary()
    assert s["horizon_days"] == 25 and s["sectors"]["north"]["days"] == [10, 20]
    assert s["sectors"]["north"]["unscored_after_horizon"] == 1
    assert any("1 observation date(s) after the horizon (25 days, to 2024-06-26): not scored"
               in n for n in s["notes"])
    with pytest.raises(Exception, match="horizon_days: 30 conflicts with --set horizon_days=25"):
        backtest(axis(tmp_path, checkpoints=False), obs, overrides=["horizon_days=25"],
                 horizon_days=30)
    r = run("backtest", str(axis(tmp_path, checkpoints=False)), "--observed",
            str(_csv(tmp_path, obs)), "--set", "horizon_days=5", "-n", "5")
    assert r.exit_code == 2 and "no observation within the horizon" in r.stderr


def _csv(tmp_path: Path, obs: dict[str, ObservedSeries]) -> Path:
    path = tmp_path / "obs.csv"
    rows = [f"{d},{s.sector},{v:g},{s.frame}" for s in obs.values()
            for d, v in zip(s.dates, s.values)]
    path.write_text("date,sector,value,frame\n" + "\n".join(rows) + "\n")
    return path


# -- many origins ----------------------------------------------------------------------------------


def test_each_origin_restarts_from_the_observed_position_and_knows_only_the_past(tmp_path):
    """A deterministic 250 m/day axis observed on a line of 0.25 km/day: from every origin the
    model is exactly right (CRPS 0), the trailing rate too; persistence is off by the advance
    since the origin."""
    days = list(range(0, 61, 5))
    obs = series(days, [0.25 * d for d in days], "north")
    obt = backtest_origins(axis(tmp_path, horizon=30), obs, every_days=10, replications=20,
                           seed=1)
    assert [bt.origin for bt in obt.origins] == [START + dt.timedelta(days=d)
                                                 for d in (0, 10, 20, 30, 40, 50)]
    for bt in obt.origins:
        b = bt.sectors["north"]
        o = (bt.origin - START).days
        assert b.position == pytest.approx(0.25 * o)
        assert b.sector.start_at == pytest.approx(0.25 * o)
        assert b.scores["crps"] == pytest.approx(0.0, abs=1e-9)
        assert int(b.days.max()) <= 30  # the horizon from the origin, never extended
        assert b.baselines["persistence"].scores["crps"] == pytest.approx(
            np.mean(0.25 * b.days))
    p = obt.pooled()
    assert p["origins"] == 6 and p["cases"] == 6 and p["sectors"] == 1
    assert p["n_obs"] == sum(min(6, (60 - o) // 5) for o in (0, 10, 20, 30, 40, 50))
    assert p["baselines"]["persistence"]["crps_skill"] == pytest.approx(1.0)


def test_at_origin_shifts_dated_events_and_drops_passed_ones(tmp_path):
    sc = load_scenario(axis(
        tmp_path, milestones={"near": 5, "far": 20},
        reinforcements=[B.reinforcement("attacker", 10, 100),
                        B.reinforcement("attacker", 40, 100)],
        strikes=[B.strikes(0.1, 0.8, 2, start_day=5, end_day=15),
                 B.strikes(0.1, 0.8, 2, start_day=30)]))
    s = at_origin(sc, START + dt.timedelta(days=20), {"north": 8.0}).sectors[0]
    assert [r.day for r in s.reinforcements] == [0, 20]
    assert [(k.start_day, k.end_day) for k in s.strikes] == [(10, sc.sectors[0].strikes[1]
                                                              .end_day)]
    assert [m.name for m in s.milestones] == ["far"] and s.start_at == 8.0
    assert s.u(s.objective_at) == pytest.approx(30 - 8.0)


def test_many_origins_give_the_same_numbers_on_any_executor(tmp_path):
    days = list(range(0, 41, 4))
    obs = series(days, [0.2 * d + 0.1 * math.sin(d) for d in days], "north")
    path = axis(tmp_path, D.Uniform(low=150, high=250), D.Gamma(mean=1, sd=0.5), horizon=20)
    a = backtest_origins(path, obs, every_days=8, replications=300, seed=4, jobs=1).summary()
    b = backtest_origins(path, obs, every_days=8, replications=300, seed=4, jobs=2).summary()
    assert json.dumps(a["pooled"]) == json.dumps(b["pooled"])
    assert [o["seed"] for o in a["origins"]] == [o["seed"] for o in b["origins"]]
    assert len({o["seed"] for o in a["origins"]}) == len(a["origins"])


def stateless(tmp_path: Path, over: bool = False) -> Path:
    base = 250 if over else D.Gamma(mean=250, sd=60)
    noise = D.Gamma(mean=1, sd=0.2) if over else D.Gamma(mean=1, sd=0.8)
    return written(tmp_path, "over.yaml" if over else "true.yaml", B.scenario(
        B.axis("a", length_km=60, objective="town", advance=B.advance(base, noise=noise)),
        name="cheap axis", start=START, horizon_days=70, replications=150, seed=1))


def test_coverage_of_the_model_against_series_drawn_from_itself(tmp_path):
    st = self_test(stateless(tmp_path), 200, observe_every_days=10, every_days=30,
                   horizon_days=40, seed=3)
    p = st.summary()["pooled"]
    assert p["cases"] >= 200 and p["origins"] == 3
    per_series = [np.mean(np.concatenate([c.scores["covered_90"] for c in r.cases()]))
                  for r in st.runs]
    se = float(np.std(per_series, ddof=1) / math.sqrt(len(per_series)))
    assert se <= math.sqrt(0.09 / 200)  # the worst case bounds it
    assert 3 * se <= 0.05
    assert 0.85 <= p["coverage_90"] <= 0.95 and abs(p["coverage_90"] - 0.9) < 3 * se
    assert abs(p["coverage_50"] - 0.5) < 0.1


def test_an_overconfident_model_covers_far_less(tmp_path):
    st = self_test(stateless(tmp_path), 40, observe_every_days=10, every_days=30,
                   horizon_days=40, seed=3, overrides=["sectors.a.advance.base_m_per_day=250",
                                                       "sectors.a.advance.noise.sd=0.2"])
    p = st.summary()["pooled"]
    assert p["cases"] >= 100 and p["coverage_90"] < 0.6
    assert p["pit"]["ks_pvalue"] < 1e-6


# -- quantiles -------------------------------------------------------------------------------------


def test_the_long_quantile_table(tmp_path):
    observed = ROOT / "scenarios/observed/synthetic-kurakhove.csv"
    out = tmp_path / "q.csv"
    r = run("backtest", str(REPORTED), "--observed", str(observed),
            "--origins", "2024-11-20,2025-01-01", "-n", "300", "--quantiles", str(out))
    assert r.exit_code == 0, r.output
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join(QUANTILE_COLUMNS)
    rows = [ln.split(",") for ln in lines[1:]]
    assert len(rows) == (14 + 8) * 23 and {r[0] for r in rows} == {"2024-11-20", "2025-01-01"}
    first = [r for r in rows if r[0] == "2025-01-01" and r[2] == "3"]  # to 2025-01-04
    assert [float(r[5]) for r in first] == list(QUANTILE_LEVELS)
    assert first[0][1] == "advance_km" and first[0][3] == "kurakhove"
    assert {r[4] for r in rows} == {"quantile"}
    values = [float(r[6]) for r in first]
    assert values == sorted(values)
    # read back, it is the table written, and it scores as the ensembles it came from
    table = QuantileTable.read(out)
    assert len(table) == len(rows) and table.value.tolist() == [float(r[6]) for r in rows]
    pq = pytest.importorskip("pyarrow.parquet")
    r = run("backtest", str(REPORTED), "--observed", str(observed),
            "--origins", "2024-11-20,2025-01-01", "-n", "300", "--quantiles",
            str(tmp_path / "q.parquet"))
    assert r.exit_code == 0, r.output
    t = pq.read_table(tmp_path / "q.parquet").to_pydict()
    assert list(t) == list(QUANTILE_COLUMNS) and len(t["value"]) == len(rows)
    assert t["value"] == pytest.approx([float(r[6]) for r in rows], rel=1e-5)


@pytest.mark.parametrize(("args", "message"), [
    (("--origins", "0"), "expected EVERY_DAYS >= 1"),
    (("--origins", "2024-13-01"), "expected EVERY_DAYS (e.g. 14) or dates"),
    (("--quantiles", "q.txt"), "expected a .csv or .parquet file"),
])
def test_bad_options_are_one_line(tmp_path, args, message):
    observed = ROOT / "scenarios/observed/synthetic-kurakhove.csv"
    r = CliRunner().invoke(cli, ["backtest", str(REPORTED),
                                 "--observed", str(observed), "-n", "5", *args])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and message in r.stderr, r.output
    assert not (tmp_path / "q.txt").exists()


# -- the scores ------------------------------------------------------------------------------------


def test_wis_by_hand_and_as_the_mean_pinball_loss():
    # three levels: median 2, interval [1, 3] at alpha = 0.5 (levels 0.25, 0.75); y = 4:
    # WIS = (0.5·|4 − 2| + 0.25·IS) / 1.5 with IS = 2 + (2/0.5)·1 = 6: (1 + 1.5)/1.5
    x = np.array([[1.0], [2.0], [3.0]])
    levels = (0.25, 0.5, 0.75)
    from sim.forecast import scores

    q = np.array([[1.0], [2.0], [3.0]])
    scores_q = scores.quantiles  # patched: the members are the quantiles themselves
    try:
        scores.quantiles = lambda ens, lv=levels: q
        assert wis(x, np.array([4.0]), levels)[0] == pytest.approx(2.5 / 1.5)
    finally:
        scores.quantiles = scores_q
    assert interval_score(1.0, 3.0, 4.0, 0.5) == pytest.approx(6.0)
    rng = np.random.default_rng(1)
    ens, y = rng.normal(size=(500, 6)), rng.normal(size=6)
    qq = scores.quantiles(ens)
    mean_pinball = np.mean([quantile_score(qq[i], y, lv) for i, lv in
                            enumerate(QUANTILE_LEVELS)], axis=0)
    np.testing.assert_allclose(wis(ens, y), mean_pinball, rtol=1e-12)
    assert len(QUANTILE_LEVELS) == 23 and QUANTILE_LEVELS[11] == 0.5


def test_pit_uniformity_tells_calibrated_from_not():
    rng = np.random.default_rng(0)
    assert pit_uniformity(rng.uniform(size=2000))["ks_pvalue"] > 1e-3
    assert pit_uniformity(rng.beta(2, 2, size=2000))["ks_pvalue"] < 1e-6


def test_observed_parse_of_the_demo_series_is_typical():
    """The shipped synthetic series is the median draw (by its final advance) of 201."""
    s = parse_observed((ROOT / "scenarios/observed/synthetic-kurakhove.csv").read_text())
    assert "the median final advance of 201 draws" in s["kurakhove"].extra["source"][0]


# -- the backtest's folder -------------------------------------------------------------------------


def test_a_backtest_folder_reads_itself_back(tmp_path):
    from sim.forecast.saved import SavedBacktest

    observed = ROOT / "scenarios/observed/synthetic-kurakhove.csv"
    out = tmp_path / "bt"
    r = run("backtest", str(REPORTED), "--observed", str(observed), "--origins",
            "2024-11-20,2025-01-01", "-n", "200", "--json", "--out", str(out))
    assert r.exit_code == 0, r.output
    saved = SavedBacktest.from_folder(out)
    assert saved.form == "origins" and saved.manifest["kind"] == "backtest"
    printed = json.loads(r.stdout)
    assert saved.scores == printed  # the folder holds what --json printed
    m = saved.manifest
    assert m["scenario_sha256"] == hashlib.sha256(REPORTED.read_bytes()).hexdigest()
    assert m["observed_sha256"] == hashlib.sha256(observed.read_bytes()).hexdigest()
    assert m["seed"] == printed["seed"] and set(m["files"]) == {"scores.json", "quantiles.csv"}
    assert len(saved.quantiles) == sum(o["sectors"]["kurakhove"]["n_obs"]
                                       for o in printed["origins"]) * len(QUANTILE_LEVELS)
    # the quantile table scores as the backtest did, date by date
    bt = backtest(REPORTED, observed, replications=200, seed=2)
    b = bt.sectors["kurakhove"]
    truth = {(bt.origin.isoformat(), "advance_km", int(d), "kurakhove"): float(y)
             for d, y in zip(b.days, b.observed)}
    got = bt.quantiles().wis(truth)
    assert [got[k] for k in truth] == pytest.approx(b.scores["wis_by_date"], rel=1e-9)
    assert run("backtest", str(REPORTED), "--observed", str(observed), "--out",
               str(out)).exit_code == 2  # never over an existing folder
    (out / "quantiles.csv").write_text("reference_date\n")
    with pytest.raises(Exception, match=r"quantiles\.csv"):
        SavedBacktest.from_folder(out)
