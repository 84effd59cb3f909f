"""Extremes: each gives a clear one-line error (exit status 2) or results that are correct, here
checked against their closed forms wherever there is one.

Zero defender troops; an axis of length 0; horizons of 1 and 3,650 days; one replication; a
million replications; distribution parameters at their bounds; reinforcements dated before the
start or after the horizon; fifty sectors; and the huge and tiny numbers the fuzz tests found
(each a bug once, kept here with its closed form).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import edited, run_built

from sim.cli import cli
from sim.model import builder as B
from sim.model import distributions as D
from sim.model.scenario import (
    AreaSector,
    AxisSector,
    ForceTerm,
    ReleaseRule,
    Reserve,
    Scenario,
    Sector,
    Side,
)
from sim.model.writer import dump
from sim.running.runner import simulate

START = dt.date(2024, 11, 20)
EXACT = 1e-12


def scenario(*sectors: Sector, horizon: int = 365, checkpoints: tuple[int, ...] | None = None,
             start: dt.date = START) -> Scenario:
    return B.scenario(*sectors, name="extreme", start=start, horizon_days=horizon,
                      checkpoints_days=checkpoints)


def axis(*, length_km: float = 35, rate: B.Dist = 250, attacker: B.Troops = 1000,
         defender: B.Troops = 1000, advance: dict | None = None, **sector) -> AxisSector:
    """An axis sector: 35 km at a fixed 250 m/day (day 140), unless told otherwise; ``advance``
    holds the advance block's other keywords (noise, regimes, force, season)."""
    return B.axis("s", length_km=length_km, advance=B.advance(rate, **(advance or {})),
                  attacker=attacker, defender=defender, objective="town", **sector)


def area(*, area_km2: float, objective_km2: float, objective: str, rate: float = 100,
         troops: float = 1, **sector) -> AreaSector:
    """An area sector on a 10 km front (one that scales with the area, unless told)."""
    return B.area("s", area_km2=area_km2, objective_km2=objective_km2, objective=objective,
                  front_km=sector.pop("front_km", 10), advance=rate, attacker=troops,
                  defender=troops, **sector)


def run_api(sc: Scenario, replications: int = 4, seed: int = 3):
    return run_built(sc, replications=replications, seed=seed)


def run_cli(tmp_path: Path, sc: Scenario | str, *args: str):
    """``advsim run`` of ``sc`` (or of a file's text) with ``--json``; returns the result and
    the --out folder."""
    path = tmp_path / "scenario.yaml"
    path.write_text(sc if isinstance(sc, str) else dump(sc), encoding="utf-8")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["run", str(path), "-j", "1", "--out", str(out), "--json",
                                 *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r, out


def assert_error(tmp_path: Path, sc: Scenario | str, key: str, words: str, *args: str) -> str:
    """Exit status 2 with one located line at ``key`` (or below it) saying ``words``; nothing
    written."""
    r, _ = run_cli(tmp_path, sc, "-n", "5", *args)
    assert r.exit_code == 2, r.output
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and r.stdout == ""
    assert lines[0].startswith(str(tmp_path / "scenario.yaml")), lines[0]
    assert re.search(rf" {re.escape(key)}[.:]", lines[0]) and words in lines[0], lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.yaml"]
    return lines[0]


def rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# -- zero defender troops ----------------------------------------------------------------------


def test_zero_defenders_give_the_largest_force_factor_and_no_losses(tmp_path):
    # R = A / 0 is infinite: the force term is at its cap, 3, so 250 m/day becomes 750.
    sc = scenario(axis(defender=0, advance={"force": ForceTerm(
        reference_ratio=2, elasticity=0.5, culmination_ratio=1, max_factor=3)},
        attrition=B.attrition("lanchester_square", 0.01, 0.01)))
    r, out = run_cli(tmp_path, sc, "-n", "6")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)["sectors"]["s"]
    assert s["objective"]["prob_reached"] == 1.0
    assert set(s["objective"]["day"].values()) == {round(35 / 0.75, 2)}
    assert s["losses"]["attacker"]["mean"] == 0 and s["losses"]["defender"]["mean"] == 0
    for row in rows(out / "outcomes.csv"):
        assert math.isclose(float(row["objective_day"]), 35 / 0.75, rel_tol=1e-6)


@pytest.mark.parametrize("model", ["daily_fraction", "lanchester_square", "lanchester_linear"])
def test_zero_defenders_under_each_attrition_model(model):
    coef = {"daily_fraction": 0.01, "lanchester_square": 0.01, "lanchester_linear": 1e-6}[model]
    _, res = run_api(scenario(axis(defender=0, attrition=B.attrition(model, coef, coef))))
    so = res.sectors["s"]
    assert (so.objective_day == 140.0).all()  # no force term: the base rate
    assert (so.defender_losses == 0).all()
    # only daily_fraction takes attackers when nobody shoots: 1000 (1 - (1 - f)^140)
    expected = 1000 * (1 - 0.99**140) if model == "daily_fraction" else 0.0
    np.testing.assert_allclose(so.attacker_losses, expected, rtol=1e-9, atol=1e-9)


def test_no_troops_on_either_side_means_no_advance(tmp_path):
    r, _ = run_cli(tmp_path, scenario(axis(attacker=0, defender=0)), "-n", "3")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)["sectors"]["s"]
    assert s["objective"]["prob_reached"] == 0.0
    assert set(s["objective"]["day"].values()) == {None}
    assert s["advance_km"]["p95"] == [0.0, 0.0, 0.0, 0.0]


# -- geometry at zero --------------------------------------------------------------------------


@pytest.mark.parametrize(("sc", "key", "words"), [
    (scenario(axis(length_km=0)), "sectors.s.length_km", "must be > 0 (got 0)"),
    (scenario(axis(length_km=-1)), "sectors.s.length_km", "must be > 0 (got -1)"),
    (scenario(axis(milestones={"start": 0})), "sectors.s.milestones.0.at_km",
     "must be > 0 (got 0)"),
    (scenario(axis(milestones={"end": 35})), "sectors.s.milestones.0.at_km",
     "must be < 35 (got 35)"),
    (scenario(area(area_km2=0, objective_km2=0, objective="gone")), "sectors.s.area_km2",
     "must be > 0 (got 0)"),
    (scenario(area(area_km2=100, objective_km2=100, objective="gone")),
     "sectors.s.objective.held_km2", "must be < 100 (got 100)"),
], ids=["axis_length_0", "axis_length_negative", "milestone_at_0", "milestone_at_the_end",
        "area_0", "residue_is_the_whole_area"])
def test_nothing_to_take_is_a_clear_error(tmp_path, sc, key, words):
    assert_error(tmp_path, sc, key, words)


def _area(area_km2: float, residue: float, milestone: float | None = None) -> Scenario:
    return scenario(area(area_km2=area_km2, objective_km2=residue, objective="o",
                         troops=1000, milestones={"m": milestone} if milestone else None),
                    horizon=30)


@pytest.mark.parametrize(("sc", "key"), [
    (_area(1e300, float(np.nextafter(1e300, 0))), "sectors.s.objective.held_km2"),
    (_area(1e300, 1.0, float(np.nextafter(1e300, 0))), "sectors.s.milestones.0.held_km2"),
])
def test_areas_that_round_to_the_start_are_a_clear_error(tmp_path, sc, key):
    # on a front ∝ √A the engine works in √A, where these equal √A₀: once a ZeroDivisionError
    # (the objective) and a milestone reached on day 0, at 0/0 where nobody moved
    assert_error(tmp_path, sc, key, "too close to area_km2")


def test_an_area_one_rounding_from_its_objective():
    # still told apart: the objective falls within the first instant
    _, res = run_api(_area(2.0, float(np.nextafter(2.0, 0))))
    day = res.sectors["s"].objective_day
    assert ((day > 0) & (day < 1e-12)).all()


def test_an_area_taken_to_nothing():
    # objective held_km2: 0 with a front ∝ √A: √A falls by front · v / (2 √A₀) a day, to 0 on
    # day 2 A₀ / (front · v) = 800 / (40 · 0.5) = 40.
    _, res = run_api(scenario(area(area_km2=400, front_km=40, objective_km2=0,
                                   objective="all retaken", rate=500)))
    np.testing.assert_allclose(res.sectors["s"].objective_day, 40.0, rtol=1e-12)
    assert (res.sectors["s"].progress[:, -1] == 0.0).all()


# -- horizons ----------------------------------------------------------------------------------


def test_a_horizon_of_one_day(tmp_path):
    r, out = run_cli(tmp_path, scenario(axis(), horizon=1), "-n", "3")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    sec = s["sectors"]["s"]
    assert s["horizon_days"] == 1 and sec["advance_km"]["days"] == [1]
    assert sec["advance_km"]["p50"] == [0.25]
    assert sec["objective"]["prob_reached"] == 0.0
    assert set(sec["objective"]["day"].values()) == {None}
    bands = rows(out / "bands.csv")
    assert [b["date"] for b in bands] == ["2024-11-20", "2024-11-21"]
    assert float(bands[0]["p50"]) == 0.0
    assert float(bands[1]["p50"]) == pytest.approx(0.25, abs=35 / 1024)  # within a band's bin
    # reached within the day: at 0.2 km, 0.8 of a day, still on the start date
    (tmp_path / "again").mkdir()
    r, _ = run_cli(tmp_path / "again", scenario(axis(length_km=0.2), horizon=1), "-n", "3")
    sec = json.loads(r.stdout)["sectors"]["s"]["objective"]
    assert sec["prob_reached"] == 1.0 and sec["day"]["p50"] == 0.8
    assert sec["date"]["p50"] == "2024-11-20"


def test_a_horizon_of_ten_years(tmp_path):
    # 39.0625 km at 15.625 m/day (2⁻⁶ km, exact in binary): day 2,500, on 2031-09-25, within a
    # horizon of 3,650 days.
    r, out = run_cli(tmp_path, scenario(axis(length_km=39.0625, rate=15.625), horizon=3650),
                     "-n", "3")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    obj = s["sectors"]["s"]["objective"]
    assert obj["prob_reached"] == 1.0 and obj["day"]["p50"] == 2500.0
    assert obj["date"]["p50"] == (START + dt.timedelta(days=2500)).isoformat() == "2031-09-25"
    assert s["sectors"]["s"]["advance_km"]["p50"] == [round(d * 0.015625, 3)
                                                      for d in (30, 90, 180, 365)]
    bands = rows(out / "bands.csv")
    assert len(bands) == 3651
    assert bands[-1]["date"] == (START + dt.timedelta(days=3650)).isoformat() == "2034-11-18"
    width = 39.0625 / 1024  # the bands' bins
    assert float(bands[2499]["p50"]) == pytest.approx(39.0625 - 0.015625, abs=width)
    assert float(bands[2500]["p50"]) == 39.0625


@pytest.mark.parametrize(("horizon", "words"), [
    (0, "must be >= 1 (got 0)"), (36_501, "must be <= 36500 (got 36501)"),
    (1.5, "expected a whole number, got 1.5"),
])
def test_horizons_out_of_range_are_clear_errors(tmp_path, horizon, words):
    # as a file names it, with no checkpoints: the builder takes only whole, valid horizons
    text = edited(scenario(axis()), {"horizon_days": horizon}, drop=("checkpoints_days",))
    assert_error(tmp_path, text, "horizon_days", words)


def test_a_horizon_past_the_calendar_is_a_clear_error(tmp_path):
    # once a ValueError from deep in the engine: the month after December 9999
    late = dt.date(9999, 12, 1)
    assert_error(tmp_path, scenario(axis(), horizon=60, start=late), "horizon_days",
                 "runs past 9999-12-31")
    r, _ = run_cli(tmp_path, scenario(axis(), horizon=30, start=late), "-n", "2")
    assert r.exit_code == 0 and json.loads(r.stdout)["sectors"]["s"]["advance_km"]["p50"] == [7.5]


# -- replications ------------------------------------------------------------------------------


def test_one_replication(tmp_path):
    r, out = run_cli(tmp_path, scenario(axis(rate=D.Uniform(low=200, high=300))), "-n", "1")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    obj = s["sectors"]["s"]["objective"]
    assert s["replications"] == 1
    (row,) = rows(out / "outcomes.csv")
    day = float(row["objective_day"])
    assert day == pytest.approx(35_000 / float(row["base_m_per_day"]), rel=1e-5)
    # every percentile is the one day; its standard errors are zero
    (p,) = set(obj["day"].values())
    assert p == pytest.approx(day, abs=0.01)
    assert set(obj["day_se"].values()) == {0.0}
    assert obj["prob_reached"] == 1.0 and obj["prob_reached_se"] == 0.0


def test_a_million_replications_in_linear_time():
    """A short horizon keeps it fast; a cost that grows faster than the count would show."""
    sc = B.checked(scenario(axis(rate=D.Pert(low=200, mode=250, high=300),
                                 attrition=B.attrition("lanchester_square", 0.001, 0.002)),
                            horizon=2, checkpoints=(1, 2)))

    def timed(n: int):
        best = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            res = simulate(sc, replications=n, seed=11, jobs=1)
            res.summary()
            res.bands()
            best = min(best, time.perf_counter() - t0)
        return res, best

    _, small = timed(100_000)
    res, large = timed(1_000_000)
    assert large < 40 * small, (small, large)  # 10 if linear, 100 if quadratic
    so = res.sectors["s"]
    assert so.progress.shape == (1_000_000, 2)
    # day 2 progress is 2 · base / 1000 exactly; the base's mean is PERT's, within 5 s.e.
    np.testing.assert_array_equal(so.progress[:, 1], 2 * (so.base_m_per_day * 1e-3))
    pert = D.Pert(low=200, mode=250, high=300)
    assert abs(so.base_m_per_day.mean() - pert.mean) < 5 * math.sqrt(pert.variance / 1e6)
    # Lanchester: two days from 1000 : 1000 with a = 0.001, b = 0.002
    r = math.sqrt(0.001 * 0.002) * 2
    a_left = 1000 * math.cosh(r) - math.sqrt(0.5) * 1000 * math.sinh(r)
    np.testing.assert_allclose(so.attacker_losses, 1000 - a_left, rtol=1e-9)


# -- distributions at their bounds -------------------------------------------------------------


@pytest.mark.parametrize("rate", [
    D.Normal(mean=250, sd=0),
    D.Gamma(mean=250, sd=0),
    D.Gamma(mean=250, sd=1e-200),  # once an OverflowError: the shape (mean/sd)²
    D.LogNormal.from_mean_cv(250, 0),
    D.LogNormal(mu=5.521460917862246, sigma=0),  # log 250
    D.Uniform(low=250, high=250),
    D.Empirical(samples=(250,)),
    D.Fixed(value=250),
], ids=repr)
def test_a_spread_of_zero_is_the_number_itself(rate):
    _, res = run_api(scenario(axis(rate=rate)))
    np.testing.assert_allclose(res.sectors["s"].objective_day, 140.0, rtol=EXACT)


@pytest.mark.parametrize("noise", [
    D.LogNormal.from_mean_cv(1, 0), D.Gamma(mean=1, sd=0),
    D.Uniform(low=1, high=1), D.Empirical(samples=(1, 1)), 1,
], ids=repr)
def test_noise_without_spread_changes_nothing(noise):
    _, res = run_api(scenario(axis(advance={"noise": noise})))
    assert (res.sectors["s"].objective_day == 140.0).all()


@pytest.mark.parametrize("spec", [
    {"dist": "pert", "low": 200, "mode": 200, "high": 300},
    {"dist": "pert", "low": 200, "mode": 300, "high": 300},
    {"dist": "triangular", "low": 200, "mode": 200, "high": 300},
    {"dist": "triangular", "low": 200, "mode": 300, "high": 300},
])
def test_a_mode_at_either_end_is_valid(spec):
    d = D.build(spec["dist"], {k: v for k, v in spec.items() if k != "dist"})
    sc, res = run_api(scenario(axis(rate=d)), replications=4000)
    base = res.sectors["s"].base_m_per_day
    assert sc.sectors[0].advance.base_m_per_day == d
    assert (base >= 200).all() and (base <= 300).all()
    assert abs(base.mean() - d.mean) < 5 * math.sqrt(d.variance / base.size)
    assert abs(base.var() - d.variance) < 0.1 * d.variance


@pytest.mark.parametrize(("rate", "words"), [
    ({"dist": "pert", "low": 250, "mode": 250, "high": 250}, "low < high"),
    ({"dist": "triangular", "low": 250, "mode": 250, "high": 250}, "low < high"),
    ({"dist": "uniform", "low": 251, "high": 250}, "must not exceed high"),
    ({"dist": "normal", "mean": 250, "sd": -1}, "sd must be >= 0"),
    ({"dist": "gamma", "mean": 0, "sd": 0}, "mean must be > 0"),
    ({"dist": "lognormal", "mean": 0, "cv": 0}, "mean must be > 0"),
    ({"dist": "pert", "low": 200, "mode": 250, "high": 300, "shape": 0},
     "shape must be positive"),
    ({"dist": "empirical", "samples": []}, "must not be empty"),
    # once NaN passed for a mean of 1: the spread overflowed
    ({"dist": "lognormal", "mean": 250, "cv": 1e300}, "too large"),
    ({"dist": "gamma", "mean": 1e200, "sd": 1e160}, "too large"),
    # the scale sd² / mean overflowed to inf: NaN draws (found with a strike's duration)
    ({"dist": "gamma", "mean": 5e-324, "sd": 0.03}, "sd must be at most 1e6 times the mean"),
    ({"dist": "gamma", "mean": 1, "sd": 1e20}, "sd must be at most 1e6 times the mean"),
    ({"dist": "uniform", "low": -1e300, "high": 1e300}, "too large"),
])
def test_parameters_past_their_bounds_are_clear_errors(tmp_path, rate, words):
    # specs the distributions refuse to build, so only a file can hold them
    key = "sectors.s.advance.base_m_per_day"
    assert_error(tmp_path, edited(scenario(axis()), {key: rate}), key, words)


def grinding(sojourn: B.Dist) -> dict:
    """The advance keywords of one regime, ``grinding``, of factor 1."""
    return {"regimes": B.regimes(B.regime("grinding", 1, sojourn))}


@pytest.mark.parametrize("sojourn", [0, D.Uniform(low=0, high=0), D.Normal(mean=0, sd=0),
                                     D.Empirical(samples=(0, 3))], ids=repr)
def test_a_sojourn_that_can_be_zero_is_an_error(tmp_path, sojourn):
    words = "must be > 0" if sojourn == 0 else "draws must be > 0"
    # uniform(0, 0) once passed "draws must be > 0": a point mass at its bound
    assert_error(tmp_path, scenario(axis(advance=grinding(sojourn))),
                 "sectors.s.advance.regimes.states.grinding.sojourn_days", words)


def test_a_point_mass_on_its_lower_bound_is_valid():
    # breach_days normal(5, 0) is 5 days, never below 0 (once refused as reaching -inf)
    _, res = run_api(scenario(axis(lines=[B.line("line", 10, D.Normal(mean=5, sd=0)),
                                          B.line("open", 20, D.Uniform(low=0, high=0))])))
    assert (res.sectors["s"].objective_day == 145.0).all()


@pytest.mark.parametrize("sojourn", [D.Gamma(mean=5, sd=0),
                                     D.LogNormal(mu=1.6094379124341003, sigma=0),
                                     D.Normal(mean=5, sd=0), D.Uniform(low=5, high=5)],
                         ids=repr)
def test_a_point_mass_above_its_bound_is_valid(sojourn):
    # sojourn_days must draw > 0: a point mass at 5 does (gamma and lognormal reach 0 only
    # when they spread)
    _, res = run_api(scenario(axis(advance=grinding(sojourn))))
    assert (res.sectors["s"].objective_day == 140.0).all()


def test_a_strike_that_cuts_all_supply_stops_the_advance():
    # ~100 strikes a day on days 0-9, each of factor 0 for 5 days: nothing moves until the last
    # ends on day 14; then 0.25 km a day again.
    _, res = run_api(scenario(axis(strikes=[B.strikes(100, 0, 5, start_day=0, end_day=10)]),
                              checkpoints=(10, 15, 30)))
    so = res.sectors["s"]
    assert (so.strikes > 500).all()
    np.testing.assert_allclose(so.progress, [[0.0, 0.25, 4.0]] * 4, rtol=1e-9, atol=1e-12)


# -- reinforcements before the start and after the horizon -------------------------------------


@pytest.mark.parametrize(("key", "when", "words"), [
    ("date", dt.date(2024, 11, 19), "before the scenario start 2024-11-20"),
    ("day", -1, "must be >= 0 (got -1)"),
])
def test_reinforcement_before_the_start_is_a_clear_error(tmp_path, key, when, words):
    # dated as a file dates it (the builder counts days from the start)
    text = edited(scenario(axis()), {"sectors.s.reinforcements": [
        {"side": "attacker", "troops": 1000, key: when}]})
    assert_error(tmp_path, text, f"sectors.s.reinforcements.0.{key}", words)


@pytest.mark.parametrize("late", [
    B.reinforcement("attacker", 365, 5000),  # on the horizon: arrives as the run ends
    B.reinforcement("defender", (dt.date(2026, 1, 1) - START).days, 5000),
    B.reinforcement("attacker", int(1e300), 5000),
    B.reinforcement("attacker", 300, 5000, readiness_days=65),
    B.reinforcement("attacker", 300, 5000, readiness_days=1e300),  # once a bad cast
    B.reinforcement("attacker", 300, 5000, readiness_days=D.Uniform(low=70, high=90)),
], ids=["on_the_horizon", "dated_after", "day_1e300", "ready_after", "ready_1e300",
        "ready_drawn_after"])
def test_reinforcement_after_the_horizon_changes_nothing(late):
    body = {"advance": {"force": ForceTerm(reference_ratio=1, elasticity=1)},
            "rate": D.Uniform(low=50, high=150),
            "attrition": B.attrition("lanchester_square", 0.001, 0.001)}
    _, with_it = run_api(scenario(axis(**body, reinforcements=[late])), replications=50)
    _, without = run_api(scenario(axis(**body)), replications=50)
    a, b = with_it.table(), without.table()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_reinforcement_on_the_last_day_counts_for_the_last_day():
    # force (R / 1)^1: 1000 more attackers on day 364 double the last day's advance
    _, res = run_api(scenario(axis(
        length_km=1000, advance={"force": ForceTerm(reference_ratio=1, elasticity=1)},
        reinforcements=[B.reinforcement("attacker", 364, 1000)]), checkpoints=(364, 365)))
    np.testing.assert_allclose(res.sectors["s"].progress, [[91.0, 91.5]] * 4, rtol=EXACT)


# -- fifty sectors -----------------------------------------------------------------------------


def test_fifty_sectors(tmp_path):
    n, horizon = 50, 60
    sectors = []
    for i in range(n):
        common = {"milestones": {"first": 0.5}, "attacker": 1000 + i,
                  "advance": 100 + 10 * i}
        if i % 2 == 0:  # axes of 1..49 km, a milestone at 0.5 km
            sectors.append(B.axis(f"sector {i:02d}", length_km=1 + i, objective=f"town {i}",
                                  **common))
        else:  # areas of 101..149 km² on a fixed 10 km front, taken down to 1 km²
            common["milestones"] = {"first": 50}
            sectors.append(B.area(f"sector {i:02d}", area_km2=100 + i, objective_km2=1,
                                  objective=f"pocket {i}", front_km=10, front_scales=False,
                                  **common))
    reserve = Reserve(name="pool", side="attacker", troops=1000,
                      sectors=tuple(s.name for s in sectors),
                      release=ReleaseRule(below_ratio=0.5, batch_troops=100),
                      transit_days=B.dist(1))
    sc = B.scenario(*sectors, name="fifty", start=START, horizon_days=horizon,
                    checkpoints_days=(10, 60), reserves=[reserve])
    r, out = run_cli(tmp_path, sc, "-n", "10")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)["sectors"]
    assert list(s) == [f"sector {i:02d}" for i in range(n)]
    for i, (name, sec) in enumerate(s.items()):
        v = (100 + 10 * i) / 1000  # km/day
        if i % 2 == 0:
            day, ms = (1 + i) / v, 0.5 / v
            progress = [min(10 * v, 1 + i), min(60 * v, 1 + i)]
        else:  # a fixed 10 km front takes 10 v km² a day
            day, ms = (100 + i - 1) / (10 * v), (100 + i - 50) / (10 * v)
            progress = [max(100 + i - 100 * v, 1), max(100 + i - 600 * v, 1)]
        obj = sec["objective"]
        if day <= horizon:
            assert obj["prob_reached"] == 1, name
            assert obj["day"]["p50"] == pytest.approx(day, abs=0.006), name
        else:
            assert obj["prob_reached"] == 0 and obj["day"]["p50"] is None, name
        assert sec["milestones"]["first"]["day"]["p50"] == pytest.approx(ms, abs=0.006), name
        q = sec["advance_km" if i % 2 == 0 else "held_km2"]["p50"]
        np.testing.assert_allclose(q, progress, atol=6e-4, err_msg=name)
        assert sec["losses"]["attacker"]["mean"] == 0
    outcomes = rows(out / "outcomes.csv")
    assert len(outcomes) == n * 10
    assert [row["sector"] for row in outcomes[::10]] == list(s)
    assert len(rows(out / "bands.csv")) == n * (horizon + 1)


# -- huge and tiny numbers (each once a bug) ---------------------------------------------------


def test_troops_beyond_any_army_are_a_clear_error(tmp_path):
    # 1e300 troops once overflowed the square law's b·A² into NaN losses
    assert_error(tmp_path, scenario(axis(attacker=1e300)), "sectors.s.forces.attacker.troops",
                 "must be <= 1e+09")
    key = "sectors.s.forces.attacker.troops"  # an integer beyond any float: only in a file
    assert_error(tmp_path, edited(scenario(axis()), {key: int("1" + "0" * 400)}), key,
                 "expected a finite number")
    assert_error(tmp_path, scenario(axis(defender=Side(troops=1000, quality=1e300))),
                 "sectors.s.forces.defender.quality", "must be <= 100")  # R = inf / inf
    assert_error(tmp_path, scenario(axis(reinforcements=[B.reinforcement("defender", 3, 2e9)])),
                 "sectors.s.reinforcements.0.troops", "must be <= 1e+09")


def test_a_huge_square_law_coefficient_decides_the_fight_on_the_first_day():
    # a = 1e300: each defender destroys the whole attack within the first day; the defender
    # keeps √(D² − (b/a)·A²), which is D to double precision. Once NaN (cosh overflowed).
    _, res = run_api(scenario(axis(attacker=3000, defender=1000, attrition=B.attrition(
        "lanchester_square", 1e300, 0.01))))
    so = res.sectors["s"]
    assert (so.attacker_losses == 3000).all() and (so.defender_losses == 0).all()
    assert (so.objective_day == np.inf).all() and (so.progress == 0.25).all()


@pytest.mark.parametrize(("sa", "sd", "survivor"), [(3000, 1000, "attacker"),
                                                    (1000, 3000, "defender")])
def test_a_decided_square_law_fight_keeps_the_invariant(sa, sd, survivor):
    # √(ab) = 100 > 20: decided within the day; the survivor keeps √(X² − (y/x)·Y²)
    a, b = 100.0, 100.0
    _, res = run_api(scenario(axis(attacker=sa, defender=sd,
                                   attrition=B.attrition("lanchester_square", a, b))))
    so = res.sectors["s"]
    left = math.sqrt(abs(sa**2 - sd**2))
    if survivor == "attacker":
        np.testing.assert_allclose(so.attacker_losses, sa - left, rtol=1e-12)
        assert (so.defender_losses == sd).all()
    else:
        np.testing.assert_allclose(so.defender_losses, sd - left, rtol=1e-12)
        assert (so.attacker_losses == sa).all()


def test_exactly_matched_sides_in_a_decided_fight_both_fall():
    _, res = run_api(scenario(axis(attacker=1000, defender=1000,
                                   attrition=B.attrition("lanchester_square", 100, 100))))
    so = res.sectors["s"]
    np.testing.assert_allclose(so.attacker_losses, 1000, rtol=1e-12)
    np.testing.assert_allclose(so.defender_losses, 1000, rtol=1e-12)


def test_linear_law_with_one_side_unharmed():
    # dA/dt = -a A D with b = 0: D stays, A(t) = A0 e^{-a D t}; a D = 800 a day overflowed
    # e^{aDt} once, and 0 × inf gave NaN.
    _, res = run_api(scenario(axis(attacker=1000, defender=20_000, attrition=B.attrition(
        "lanchester_linear", 0.04, 0)), horizon=2))
    so = res.sectors["s"]
    np.testing.assert_allclose(so.attacker_losses, 1000, rtol=1e-12)
    assert (so.defender_losses == 0).all()
    _, res = run_api(scenario(axis(attacker=1000, defender=20, attrition=B.attrition(
        "lanchester_linear", 0.001, 0)), horizon=30))
    np.testing.assert_allclose(res.sectors["s"].attacker_losses,
                               1000 * (1 - math.exp(-0.001 * 20 * 30)), rtol=1e-9)


def test_a_rate_that_overflows_is_an_advance_past_any_objective():
    # 1e300 m/day × a season of 1e300 overflows; on days a line holds it once made NaN (inf × 0)
    _, res = run_api(scenario(axis(rate=1e300, advance={"season": {11: 1e300, 12: 1e300}},
                                   lines=[B.line("l", 10, 5)]), checkpoints=(1, 2)))
    so = res.sectors["s"]
    assert (so.objective_day == 5.0).all()  # reached at once, held 5 days, then at once again
    assert (so.progress == [10.0, 10.0]).all()


def test_the_smallest_axis_falls_at_once():
    # a subnormal length once made the band's bin scale infinite, then NaN
    for length in (1e-300, 5e-324):
        _, res = run_api(scenario(axis(length_km=length), horizon=3))
        so = res.sectors["s"]
        assert (so.objective_day > 0).all() and (so.objective_day < 1e-290).all()
        assert np.isfinite(res.bands()["s"]["p50"]).all()


@pytest.mark.parametrize("duration", [1e300, 1e18, 30])
def test_a_strike_lasting_past_the_horizon_lasts_to_the_end(duration):
    # ~100 strikes on day 0, each cutting supply by 1% to the end; a duration of 1e300 days was
    # once cast to an integer day: undefined, platform-dependent.
    _, res = run_api(scenario(axis(strikes=[B.strikes(100, 0.99, duration, start_day=0,
                                                       end_day=1)]),
                              horizon=30, checkpoints=(30,)))
    so = res.sectors["s"]
    # The supply factor is exp of the summed log factors in single precision (rtol ~6e-8).
    np.testing.assert_allclose(so.progress[:, 0], 30 * 0.25 * 0.99**so.strikes, rtol=1e-6)


def test_the_tiniest_troop_counts_keep_the_force_bands_finite():
    """A defender of 2.2e-308 troops (the smallest normal double): 512 bins over (0, troops]
    once meant a scale of 1/troops = inf, and the day's histogram overflowed its bin index."""
    sc = scenario(axis(attacker=0.0, defender=2.2250738585072014e-308, rate=0.0), horizon=3)
    _, result = run_api(sc, replications=3)
    so = result.sectors["s"]
    assert np.all(so.defender_losses == 0) and np.all(so.attacker_losses == 0)
