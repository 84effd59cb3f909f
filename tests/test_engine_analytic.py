"""Analytic oracles for the engine: with every input fixed, outcomes equal their closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.model import builder as B
from sim.model.scenario import ForceTerm, Scenario, Sector
from sim.running.runner import simulate

REPS = 8  # with no randomness every replication is the same; a few show that they all agree
EXACT = 1e-12  # relative tolerance where only floating-point rounding separates engine and formula


def scenario(*, sector: Sector, horizon: int = 365, checkpoints: tuple[int, ...] | None = None,
             start: str = "2024-06-01") -> Scenario:
    """A one-sector scenario."""
    return B.scenario(sector, name="oracle", start=start, horizon_days=horizon,
                      checkpoints_days=checkpoints)


def axis(*, length_km: float = 35, rate: float = 250, attacker: float = 1000,
         defender: float = 1000, advance: dict | None = None, **sector) -> Sector:
    """An axis sector named ``s`` with a fixed base rate (m/day) and no noise; ``advance`` adds
    to its advance block, ``sector`` to the sector."""
    return B.axis("s", length_km=length_km, advance=B.advance(rate, **(advance or {})),
                  attacker=attacker, defender=defender, **sector)


def run(sc: Scenario, replications: int = REPS, seed: int = 7):
    return simulate(sc, replications=replications, seed=seed, jobs=1).sectors["s"]


# -- axis ----------------------------------------------------------------------------------------


def test_constant_rate_axis_is_exact():
    so = run(scenario(
        sector=axis(milestones={"ten": 10}),
        checkpoints=(30, 139, 200, 365),
    ))
    # 35 km at 0.25 km/day: day 140. Every step is a multiple of 0.25, exact in binary.
    assert (so.objective_day == 140.0).all()
    assert (so.milestone_days[:, 0] == 40.0).all()
    assert (so.progress[:, 0] == 7.5).all()
    assert (so.progress[:, 1] == 139 * 0.25).all()
    # after the objective has fallen, progress stays at the axis length
    assert (so.progress[:, 2:] == 35.0).all()
    assert (so.base_m_per_day == 250.0).all()
    assert (so.attacker_losses == 0).all()
    assert (so.defender_losses == 0).all()


def test_objective_day_is_fractional():
    so = run(scenario(
        sector=axis(rate=300, milestones={"ten": 10}),
        checkpoints=(30,),
    ))
    np.testing.assert_allclose(so.objective_day, 35 / 0.3, rtol=EXACT)  # 116.666...
    np.testing.assert_allclose(so.milestone_days[:, 0], 10 / 0.3, rtol=EXACT)  # 33.333...
    np.testing.assert_allclose(so.progress[:, 0], 9.0, rtol=EXACT)


def test_defensive_line_adds_its_breach_days():
    so = run(scenario(sector=axis(lines=[B.line("line", 10, 5)],
                                  milestones={"beyond the line": 11}), checkpoints=(42, 46)))
    # the line is reached on day 40 and holds until day 45
    assert (so.objective_day == 145.0).all()
    assert (so.milestone_days[:, 0] == 49.0).all()
    assert (so.progress[:, 0] == 10.0).all()
    assert (so.progress[:, 1] == 10.25).all()


@pytest.mark.parametrize(
    ("rate", "breach", "expected"),
    [
        (300, 5, 35 / 0.3 + 5),  # line at 10 km reached at day 33.33, released at 38.33
        (250, 5.5, 140 + 5.5),  # line reached on day 40 exactly, released at 45.5
        (300, 5.5, 35 / 0.3 + 5.5),  # reached at 33.33, released at 38.83
        (300, 0, 35 / 0.3),  # a line that does not hold
        (300, 0.5, 35 / 0.3 + 0.5),  # released at 33.83, within the day it is reached
    ],
)
def test_defensive_line_holds_exactly_its_breach_days_at_fractional_times(rate, breach, expected):
    so = run(scenario(sector=axis(rate=rate, lines=[B.line("line", 10, breach)])))
    np.testing.assert_allclose(so.objective_day, expected, rtol=EXACT)


def test_modifier_over_a_window_delays_by_the_lost_distance():
    so = run(scenario(sector=axis(modifiers=[B.modifier(0.5, start_day=10, end_day=20,
                                                        name="mud")]),
                      checkpoints=(10, 20, 30)))
    # days 10..19 at half rate lose 10 * 0.125 km = 1.25 km, i.e. 5 days at 0.25 km/day
    assert (so.objective_day == 145.0).all()
    np.testing.assert_array_equal(so.progress, np.tile([2.5, 3.75, 6.25], (REPS, 1)))


def test_season_multiplier_applies_by_calendar_month():
    # day 0 is 20 November; December is days 11..41 (31 days) at half rate: 3.875 km lost,
    # 15.5 days at 0.25 km/day
    so = run(scenario(
        start="2024-11-20",
        sector=axis(advance={"season": {12: 0.5}}),
        checkpoints=(11, 42),
    ))
    np.testing.assert_allclose(so.objective_day, 140 + 15.5, rtol=EXACT)
    np.testing.assert_allclose(so.progress, np.tile([2.75, 2.75 + 3.875], (REPS, 1)), rtol=EXACT)


# -- area ----------------------------------------------------------------------------------------

A0_KM2, RESIDUE_KM2, FRONT_KM, RATE_M = 800.0, 50.0, 30.0, 250.0
AREA_CHECKPOINTS = (1, 30, 90, 180)


def area(scales: bool) -> Sector:
    return B.area("s", area_km2=A0_KM2, front_km=FRONT_KM, front_scales=scales,
                  objective="residue", objective_km2=RESIDUE_KM2,
                  milestones={"half": A0_KM2 / 2}, advance=RATE_M)


def test_area_with_fixed_front_shrinks_linearly():
    so = run(scenario(sector=area(scales=False), checkpoints=AREA_CHECKPOINTS))
    km2_per_day = FRONT_KM * RATE_M / 1000  # 7.5
    t = np.array(AREA_CHECKPOINTS, dtype=float)
    held = np.maximum(A0_KM2 - km2_per_day * t, RESIDUE_KM2)
    np.testing.assert_allclose(so.progress, np.tile(held, (REPS, 1)), rtol=EXACT)
    np.testing.assert_allclose(so.objective_day, (A0_KM2 - RESIDUE_KM2) / km2_per_day, rtol=EXACT)
    np.testing.assert_allclose(so.milestone_days[:, 0], (A0_KM2 / 2) / km2_per_day, rtol=EXACT)


def test_area_with_front_scaling_as_sqrt_area():
    # dA/dt = -front0 * sqrt(A / A0) * v  =>  sqrt(A(t)) = sqrt(A0) - front0 * v * t / (2 sqrt(A0))
    so = run(scenario(sector=area(scales=True), checkpoints=AREA_CHECKPOINTS))
    v_km = RATE_M / 1000
    root0 = math.sqrt(A0_KM2)
    slope = FRONT_KM * v_km / (2 * root0)  # fall of sqrt(A) per day

    def held(t):
        return (root0 - slope * t) ** 2

    day = (root0 - math.sqrt(RESIDUE_KM2)) / slope
    assert 90 < day < 180  # so the last checkpoint is after the objective has fallen
    t = np.array(AREA_CHECKPOINTS, dtype=float)
    expected = np.where(t < day, held(t), RESIDUE_KM2)
    np.testing.assert_allclose(so.progress, np.tile(expected, (REPS, 1)), rtol=1e-9)
    np.testing.assert_allclose(so.objective_day, day, rtol=1e-9)
    half_day = (root0 - math.sqrt(A0_KM2 / 2)) / slope
    np.testing.assert_allclose(so.milestone_days[:, 0], half_day, rtol=1e-9)
    # slower than a fixed front: the front shortens as the salient shrinks
    assert day > (A0_KM2 - RESIDUE_KM2) / (FRONT_KM * v_km)


# -- attrition -----------------------------------------------------------------------------------
# The objective is out of reach (a 1000 km axis at 0.001 m/day), so attrition runs for the whole
# horizon T and the reported losses are A0 - A(T) and D0 - D(T).


def attrition_run(model: str, a: float, b: float, A0: float, D0: float, horizon: int,
                  **sector):
    body = axis(length_km=1000, rate=0.001, attacker=A0, defender=D0,
                attrition=B.attrition(model, a, b), **sector)
    so = run(scenario(sector=body, horizon=horizon))
    assert np.isinf(so.objective_day).all()
    return A0 - so.attacker_losses, D0 - so.defender_losses


@pytest.mark.parametrize("T", [1, 30, 100, 365])
def test_lanchester_square_law(T):
    # dA/dt = -a D, dD/dt = -b A. The engine applies the exact one-day propagator, so only
    # rounding separates it from the closed form: rtol 1e-6 is generous.
    a, b, A0, D0 = 0.001, 0.0015, 60_000.0, 40_000.0
    A, D = attrition_run("lanchester_square", a, b, A0, D0, T)
    r = math.sqrt(a * b) * T
    A_T = A0 * math.cosh(r) - math.sqrt(a / b) * D0 * math.sinh(r)
    D_T = D0 * math.cosh(r) - math.sqrt(b / a) * A0 * math.sinh(r)
    assert D_T > 0  # both sides survive the horizon
    np.testing.assert_allclose(A, A_T, rtol=1e-6)
    np.testing.assert_allclose(D, D_T, rtol=1e-6)
    # the square law's invariant b A^2 - a D^2
    np.testing.assert_allclose(b * A**2 - a * D**2, b * A0**2 - a * D0**2, rtol=1e-6)


@pytest.mark.parametrize(
    ("a", "b", "A0", "D0"),
    [
        (0.002, 0.004, 60_000.0, 30_000.0),  # defender wiped out at day 130.64
        (0.05, 0.05, 60_000.0, 31_141.0),  # wiped out at t* = 11.4999, within a day
    ],
)
def test_lanchester_square_law_annihilation(a, b, A0, D0):
    # The defender is wiped out at t* = artanh(D0 / (sqrt(b/a) A0)) / sqrt(ab); from then on
    # dA/dt = -a * 0 and the attacker keeps sqrt(A0^2 - (a/b) D0^2) (invariant b A^2 - a D^2).
    t_star = math.atanh(D0 / (math.sqrt(b / a) * A0)) / math.sqrt(a * b)
    assert t_star < 365
    A, D = attrition_run("lanchester_square", a, b, A0, D0, 365)
    np.testing.assert_allclose(D, 0.0, atol=1e-6)
    np.testing.assert_allclose(A, math.sqrt(A0**2 - (a / b) * D0**2), rtol=1e-6)


@pytest.mark.parametrize("T", [1, 30, 100, 365])
def test_lanchester_linear_law(T):
    # dA/dt = -a A D, dD/dt = -b A D. K = b A - a D is invariant, so dA/dt = K A - b A^2:
    # A(t) = K / (b + (K / A0 - b) e^{-K t}), D = (b A - K) / a. Exact propagator: rtol 1e-6.
    a, b, A0, D0 = 2e-8, 3e-8, 50_000.0, 40_000.0
    A, D = attrition_run("lanchester_linear", a, b, A0, D0, T)
    K = b * A0 - a * D0
    A_T = K / (b + (K / A0 - b) * math.exp(-K * T))
    D_T = (b * A_T - K) / a
    np.testing.assert_allclose(A, A_T, rtol=1e-6)
    np.testing.assert_allclose(D, D_T, rtol=1e-6)
    np.testing.assert_allclose(b * A - a * D, K, rtol=1e-6)


def test_lanchester_linear_law_balanced_sides():
    # K = 0 (b A0 = a D0): A' = -b A^2, A(t) = A0 / (1 + b A0 t); the engine's K -> 0 branch.
    a, b, A0, D0 = 2e-8, 4e-8, 40_000.0, 80_000.0
    A, D = attrition_run("lanchester_linear", a, b, A0, D0, 200)
    np.testing.assert_allclose(A, A0 / (1 + b * A0 * 200), rtol=1e-6)
    np.testing.assert_allclose(D, D0 / (1 + a * D0 * 200), rtol=1e-6)


@pytest.mark.parametrize("T", [1, 100, 365])
def test_daily_fraction(T):
    fa, fd, A0, D0 = 0.002, 0.003, 60_000.0, 40_000.0
    A, D = attrition_run("daily_fraction", fa, fd, A0, D0, T)
    np.testing.assert_allclose(A, A0 * (1 - fa) ** T, rtol=1e-9)
    np.testing.assert_allclose(D, D0 * (1 - fd) ** T, rtol=1e-9)


# -- reinforcements ------------------------------------------------------------------------------


@pytest.mark.parametrize(("readiness", "arrival_day"), [(None, 10), (5, 15)])
def test_reinforcement_arrives_after_its_readiness_through_losses(readiness, arrival_day):
    # troops present from day d lose a fraction f on each of days d..T-1
    f, A0, R, T = 0.01, 10_000.0, 5_000.0, 100
    A, _ = attrition_run("daily_fraction", f, 0.0, A0, 1000.0, T, reinforcements=[
        B.reinforcement("attacker", 10, R, readiness_days=readiness)])
    A = A + R  # losses count the reinforcement's losses too: A(T) = A0 + R - losses

    def survivors(day):
        return A0 * (1 - f) ** T + R * (1 - f) ** (T - day)

    np.testing.assert_allclose(A, survivors(arrival_day), rtol=1e-9)
    for wrong_day in (arrival_day - 1, arrival_day + 1):
        assert not np.isclose(A[0], survivors(wrong_day), rtol=1e-6)


def test_reinforcement_arrives_after_its_readiness_through_force_term():
    # force = (R / R_ref)^1: the rate doubles when the attacker doubles, from day 10 + 5 on
    so = run(scenario(sector=axis(
        advance={"force": ForceTerm(reference_ratio=1.0, elasticity=1.0)},
        reinforcements=[B.reinforcement("attacker", 10, 1000, readiness_days=5)],
    ), checkpoints=(14, 15, 16, 30)))
    expected = [14 * 0.25, 15 * 0.25, 15 * 0.25 + 0.5, 15 * 0.25 + 15 * 0.5]
    np.testing.assert_allclose(so.progress, np.tile(expected, (REPS, 1)), rtol=EXACT)
