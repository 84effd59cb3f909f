"""Forces by day: per-day bands of troops by side, the day a side reaches its breakpoint, and
Engel's (1954) Iwo Jima check of the square law against its closed form and published figures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import sim
from sim.cli import cli
from sim.engine import FORCE_BINS
from sim.model import builder as B
from sim.model import distributions as D
from sim.model.scenario import Sector, Side
from sim.model.writer import dump
from sim.running.outcomes import Result
from sim.running.runner import simulate

ROOT = Path(__file__).resolve().parents[1]
IWO_JIMA = ROOT / "scenarios/examples/iwo-jima.yaml"

# Engel (1954), Operations Research 2(2):163-171: a = 0.0544, b = 0.0106; landings of 54,000 at
# t = 0 (his day 1), 6,000 at t = 2 (day 3) and 13,000 at t = 5 (day 6); 21,500 defenders.
A_COEF, B_COEF = 0.0544, 0.0106
LANDINGS = ((0.0, 54_000.0), (2.0, 6_000.0), (5.0, 13_000.0))
D0 = 21_500.0


def square_law(A: float, D: float, t: float) -> tuple[float, float]:
    """The closed form of dA/dt = -a D, dD/dt = -b A over t days from (A, D)."""
    r = math.sqrt(A_COEF * B_COEF)
    return (A * math.cosh(r * t) - math.sqrt(A_COEF / B_COEF) * D * math.sinh(r * t),
            D * math.cosh(r * t) - math.sqrt(B_COEF / A_COEF) * A * math.sinh(r * t))


def engel(t: float) -> tuple[float, float]:
    """Attacker and defender strength at time t (days from the first landing) in Engel's model,
    up to the defenders' annihilation; after it the attackers keep what they had then. At a
    whole day t, troops landing that morning are not yet counted (the bands' convention: day
    t's band is the state at instant t, before that day's arrivals)."""
    A, D, now = 0.0, D0, 0.0
    for when, troops in LANDINGS:
        if when > t or 0 < when == t:
            break
        A, D = square_law(A, D, when - now)
        A, now = A + troops, when
    t_star = now + math.atanh(math.sqrt(A_COEF / B_COEF) * D / A) / math.sqrt(A_COEF * B_COEF)
    if t >= t_star:
        return math.sqrt(A * A - (A_COEF / B_COEF) * D * D), 0.0
    return square_law(A, D, t - now)


def annihilation() -> tuple[float, float]:
    """The instant the defenders reach zero, and the attackers then active (closed form)."""
    A, D = square_law(*_after_landings(), 0.0)
    t = 5.0 + math.atanh(math.sqrt(A_COEF / B_COEF) * D / A) / math.sqrt(A_COEF * B_COEF)
    return t, math.sqrt(A * A - (A_COEF / B_COEF) * D * D)


def _after_landings() -> tuple[float, float]:
    A, D = square_law(54_000.0, D0, 2.0)
    A, D = square_law(A + 6_000.0, D, 3.0)
    return A + 13_000.0, D


@pytest.fixture(scope="module")
def iwo() -> Result:
    return sim.simulate(sim.load_scenario(IWO_JIMA), replications=5, seed=1, jobs=1)


def test_iwo_jima_reproduces_engels_day_and_survivors(iwo):
    t_star, survivors = annihilation()
    so = iwo.sectors["iwo-jima"]
    # The closed form with Engel's parameters: annihilation 35.44 days after the first landing,
    # i.e. during day 35 counted from 0 (Engel's day 36, counted from 1), with 52,797 left.
    assert math.floor(t_star) == 35
    assert (so.defender_breakpoint_day == math.floor(t_star)).all()
    assert np.isinf(so.attacker_breakpoint_day).all()  # the attackers are never wiped out
    assert iwo.date_of(35).isoformat() == "1945-03-26"  # the island declared secured
    bands = iwo.forces_bands()["iwo-jima"]
    np.testing.assert_allclose(bands["attacker"]["p50"][36:], survivors, rtol=1e-9)
    np.testing.assert_allclose(so.attacker_losses, 73_000 - survivors, rtol=1e-9)
    # Against the published figures (Engel: the defenders gone on his day 36, about 53,000
    # attackers then): the day within one, the attackers within 1%.
    assert abs((math.floor(t_star) + 1) - 36) <= 1
    assert abs(survivors - 53_000) / 53_000 < 0.01


def test_iwo_jima_bands_are_the_closed_form_every_day(iwo):
    bands = iwo.forces_bands()["iwo-jima"]
    expected = np.array([engel(t) for t in range(iwo.horizon_days + 1)])
    for side, col in (("attacker", 0), ("defender", 1)):
        for key in ("p5", "p50", "p95"):  # no noise: every percentile is the closed form
            np.testing.assert_allclose(bands[side][key], expected[:, col], rtol=1e-9,
                                       atol=1e-6, err_msg=f"{side} {key}")


def test_iwo_jima_json_and_folder(tmp_path):
    out = tmp_path / "iwo"
    r = CliRunner().invoke(cli, ["run", str(IWO_JIMA), "--out", str(out), "--json", "-q"])
    assert r.exit_code == 0, r.output
    forces = json.loads(r.stdout)["sectors"]["iwo-jima"]["forces"]
    assert forces["days"] == [5, 10, 20, 30, 36, 60]
    defender = forces["defender"]
    assert defender["breakpoint"]["fraction"] == 0.0
    assert defender["breakpoint"]["prob_reached"] == 1.0
    assert defender["breakpoint"]["day"]["p50"] == 35
    assert defender["breakpoint"]["date"]["p50"] == "1945-03-26"
    assert defender["troops"]["p50"][-2:] == [0.0, 0.0]
    assert forces["attacker"]["troops"]["p50"][-1] == pytest.approx(annihilation()[1], abs=0.05)
    assert forces["attacker"]["breakpoint"]["day"]["p50"] is None  # censored: never reached
    # Read back from the folder: the same bands (to the CSV's 6 significant digits).
    back = Result.from_folder(out)
    memory = sim.simulate(sim.load_scenario(IWO_JIMA), replications=100, seed=1, jobs=1)
    for side in ("attacker", "defender"):
        np.testing.assert_allclose(back.forces_bands()["iwo-jima"][side]["p50"],
                                   memory.forces_bands()["iwo-jima"][side]["p50"], rtol=1e-5)
    assert back.summary()["sectors"]["iwo-jima"]["forces"] == forces
    header = (out / "outcomes.csv").read_text().splitlines()[0].split(",")
    assert header[-2:] == ["attacker_breakpoint_day", "defender_breakpoint_day"]


def run_sector(sector: Sector, *, replications: int, seed: int, horizon: int = 365) -> Result:
    """A one-sector scenario starting 2024-06-01, run in this process."""
    sc = B.scenario(sector, name="test", start="2024-06-01", horizon_days=horizon)
    return simulate(sc, replications=replications, seed=seed, jobs=1)


def test_breakpoint_fraction_of_the_peak():
    # 1% lost a day: A0 (0.99)^t falls to half of A0 on day t = ceil(ln 0.5 / ln 0.99) = 69,
    # i.e. during day 68; the defender (0.5% a day) reaches 70% of its peak at ceil(71.2) = 72.
    res = run_sector(B.axis("s", length_km=1000, advance=0.001,
                            attacker=Side(troops=10_000, breakpoint_fraction=0.5),
                            defender=Side(troops=8_000, breakpoint_fraction=0.7),
                            attrition=B.attrition("daily_fraction", 0.01, 0.005)),
                     replications=3, seed=1)
    so = res.sectors["s"]
    t_a = math.ceil(math.log(0.5) / math.log(0.99))
    t_d = math.ceil(math.log(0.7) / math.log(0.995))
    assert (so.attacker_breakpoint_day == t_a - 1).all()
    assert (so.defender_breakpoint_day == t_d - 1).all()
    summary = res.summary()["sectors"]["s"]["forces"]
    assert summary["attacker"]["breakpoint"]["fraction"] == 0.5


def test_forces_stop_changing_once_the_objective_falls():
    # 35 km at 250 m/day: the objective falls on day 140; the reinforcement of day 200 does not
    # reach a sector whose fight is over, and losses stop with it.
    res = run_sector(B.axis("s", length_km=35, advance=250, attacker=10_000, defender=5_000,
                            attrition=B.attrition("daily_fraction", 0.001, 0.002),
                            reinforcements=[B.reinforcement("attacker", 200, 3000)]),
                     replications=4, seed=1)
    band = res.forces_bands()["s"]["attacker"]["p50"]
    np.testing.assert_allclose(band[140:], 10_000 * 0.999**140, rtol=1e-9)
    np.testing.assert_allclose(band[:141], 10_000 * 0.999 ** np.arange(141), rtol=1e-9)


def test_bands_with_noise_match_the_exact_percentiles_within_a_bin():
    # Drawn coefficients: each replication's final troops are A0 - losses, so the band at the
    # horizon can be checked against the exact percentiles of those; the histogram's resolution
    # is one bin (A0 / FORCE_BINS: no reinforcements).
    A0 = 60_000.0
    res = run_sector(B.axis("s", length_km=1000, advance=0.001, attacker=A0, defender=40_000,
                            attrition=B.attrition("lanchester_square",
                                                  D.Uniform(low=0.0005, high=0.002),
                                                  D.Uniform(low=0.001, high=0.003))),
                     horizon=200, replications=4000, seed=3)
    so = res.sectors["s"]
    final = A0 - so.attacker_losses
    band = res.forces_bands([5, 25, 50, 75, 95])["s"]["attacker"]
    width = A0 / FORCE_BINS
    for p in (5, 25, 50, 75, 95):
        assert abs(band[f"p{p}"][-1] - np.percentile(final, p)) <= width, p
    # the spread is real: far wider than one bin
    assert band["p95"][-1] - band["p5"][-1] > 50 * width


def test_breakpoint_fraction_must_be_below_one(tmp_path):
    sc = B.scenario(B.axis("s", length_km=35, advance=250,
                           attacker=Side(troops=1000, breakpoint_fraction=1)))
    path = tmp_path / "s.yaml"
    path.write_text(dump(sc))
    r = CliRunner().invoke(cli, ["validate", str(path)])
    assert r.exit_code == 2
    assert "breakpoint_fraction" in r.stderr and len(r.stderr.splitlines()) == 1


def test_a_side_without_troops_breaks_only_after_it_has_had_some():
    # The attacker starts with none and lands 1,000 on day 3; losing 10% a day it falls to half
    # of that peak on day 3 + ceil(ln 0.5 / ln 0.9) = 3 + 7, i.e. during day 9.
    res = run_sector(B.axis("s", length_km=1000, advance=0.001,
                            attacker=Side(troops=0, breakpoint_fraction=0.5), defender=500,
                            attrition=B.attrition("daily_fraction", 0.1, 0.0),
                            reinforcements=[B.reinforcement("attacker", 3, 1000)]),
                     horizon=40, replications=2, seed=1)
    so = res.sectors["s"]
    assert (so.attacker_breakpoint_day == 3 + math.ceil(math.log(0.5) / math.log(0.9)) - 1).all()
    assert np.isinf(so.defender_breakpoint_day).all()  # loses nothing


def test_forces_of_a_handful_of_troops_are_binned():
    # The smallest normal double as a side's troops: the histogram's scale must stay finite.
    res = run_sector(B.axis("s", length_km=35, advance=250, attacker=0,
                            defender=2.2250738585072014e-308), horizon=2, replications=2, seed=1)
    band = res.forces_bands()["s"]["defender"]["p50"]
    assert band[0] == 2.2250738585072014e-308 and (band >= 0).all()
