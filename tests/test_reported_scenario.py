"""scenarios/kurakhove-reported.yaml is the report's model, which the tests, benchmarks and
examples that quote its numbers run, so that rebuilding scenarios/kurakhove.yaml moves none."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sim
from sim.model.distributions import Pert

ROOT = Path(__file__).resolve().parents[1]
REPORTED = ROOT / "scenarios/kurakhove-reported.yaml"


def test_the_reported_scenario_is_the_reports_model():
    sc = sim.load_scenario(REPORTED)
    assert (sc.start, sc.horizon_days, sc.replications, sc.seed) == (
        dt.date(2024, 11, 20), 365, 10_000, 1)
    (s,) = sc.sectors
    assert (s.name, s.kind, s.length_km, s.objective) == ("kurakhove", "axis", 35, "Pokrovsk")
    # the report: "advanced by 200-300 meters per day", drawn once per replication
    assert s.advance.base_m_per_day == Pert(low=200, mode=250, high=300)
    assert s.advance.base_m_per_day.mean == 250
    assert [(m.name, m.at) for m in s.milestones] == [
        ("halfway", 17.5), ("outskirts of Pokrovsk", 31)]
    assert [line.at for line in s.lines] == [25, 31]
    assert [x.rate_per_day for x in s.strikes] == [0.1]  # what --set ...strikes.0 turns off
    assert (s.attacker.troops, s.defender.troops) == (40_000, 20_000)


def test_the_reported_scenario_says_what_it_is_kept_for():
    text = REPORTED.read_text(encoding="utf-8")
    assert "name: Kurakhove → Pokrovsk (at the reported rate)" in text
    assert "kept for comparison" in text and "9.9 km" in text  # what the map says instead
