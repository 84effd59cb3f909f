"""The writer is the loader's inverse: load(dump(x)) == x, for shipped and generated scenarios,
for sectors and advance blocks pasted where they go, whatever names a user wrote."""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from scenario_strategies import scenarios

from sim.model import builder as B
from sim.model import distributions as D
from sim.model.loader import load_scenario, parse_scenario, read_yaml
from sim.model.provenance import Check, Provenance, Source
from sim.model.writer import comment_lines, dump, dump_data

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(glob.glob(str(ROOT / "scenarios" / "*.yaml"))
                 + glob.glob(str(ROOT / "scenarios" / "examples" / "*.yaml")))
ROUND_TRIP = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
AWKWARD = ("A: b, c", "Yes", "*ref", "Site #3", "2e-8", "no", "null", "[x]", "{y}", "- z",
           "'quoted'", "été", "15", "!tag", "%pct", "@at", "a #b", "~")


def pasted(sector_yaml: str, *, start: str = "2024-11-20", horizon: int = 365):
    """The scenario a sector's YAML makes when pasted under ``sectors:``."""
    return parse_scenario(f"name: pasted\nstart: {start}\nhorizon_days: {horizon}\nsectors:\n"
                          + textwrap.indent(sector_yaml, "  "))


def test_every_shipped_scenario_reads_back_the_same():
    assert len(SHIPPED) >= 5
    for path in SHIPPED:
        sc = load_scenario(path)
        assert parse_scenario(dump(sc), file=path) == sc, path


@given(scenarios())
@ROUND_TRIP
def test_generated_scenarios_read_back_the_same(doc):
    sc = parse_scenario(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    text = dump(sc)
    assert parse_scenario(text) == sc
    # a sector alone, pasted under sectors: of a scenario with the same start and horizon
    for s in sc.sectors:
        assert pasted(dump(s), start=sc.start.isoformat(),
                      horizon=sc.horizon_days).sectors == (s,)


@given(scenarios(reserves=False, max_sectors=1))
@ROUND_TRIP
def test_an_advance_block_pasted_into_its_sector_reads_back_the_same(doc):
    sc = parse_scenario(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    (s,) = sc.sectors
    other = B.axis(s.name, length_km=10, advance=1.0)
    body = dump(other).split("\n", 1)[1]  # the sector's keys, indented under its name
    body = body.replace("  advance:\n    base_m_per_day: 1\n",
                        textwrap.indent(dump(s.advance), "  "))
    assert pasted(f"{s.name}:\n{body}").sectors[0].advance == s.advance


def test_a_traced_history_reads_back_and_its_dates_are_written_as_dates():
    """The start and a traced point of the same day are often one date object (an outlook's
    map date): written as two dates, not as an anchor and an alias."""
    from dataclasses import replace

    from sim.model.scenario import Observed

    sc = load_scenario(ROOT / "scenarios/kurakhove.yaml")
    k = sc.sector("kurakhove")
    same = Observed.thinned("maps <1> & 2", [dt.date(2024, 11, 6), sc.start], [2.759, 1.345])
    assert same.dates[-1] is sc.start
    edited = replace(sc, sectors=(replace(k, observed=same), *sc.sectors[1:]))
    text = dump(edited)
    assert "&id" not in text and "*id" not in text
    assert "- {date: 2024-11-20, distance_km: 1.345}" in text
    assert parse_scenario(text) == edited


def test_names_a_user_wrote_survive_quoting():
    sectors = [B.axis(name, length_km=10 + i, objective=f"{name} 1.5", advance=200,
                      milestones={f"m {name}": 5})
               for i, name in enumerate(AWKWARD)]
    sc = B.scenario(*sectors, name="Site #3: *ref, Yes", start="2024-11-20",
                    description="line one\nline two: --- # not a comment\n", horizon_days=90,
                    reserves=())
    text = dump(sc)
    back = parse_scenario(text)
    assert back == sc
    assert [s.name for s in back.sectors] == list(AWKWARD)
    assert back.description.endswith("# not a comment\n")


def test_comments_head_the_text_and_hide_nothing():
    p = Provenance(tool="advsim test", method="by hand\nsecond line", inputs=(
        Source(file="a.csv", sha256="ab" * 32), Source(file="b\nc.csv")),
        since=dt.date(2024, 1, 1), until=dt.date(2024, 2, 1),
        checks=(Check(name="ks", passed=False, detail="p = 0.01"),))
    block = B.advance(D.Gamma(mean=100, sd=10), noise=D.Gamma(mean=1, sd=0.5))
    text = dump(block, comments=["first\nsecond"], provenance=p,
                above={("advance", "noise"): "daily\nvariation"},
                after={("advance", "base_m_per_day"): "the rate"})
    lines = text.splitlines()
    assert lines[:2] == ["# first", "# second"]
    assert f"# input: a.csv (sha256 {'ab' * 32})" in lines
    assert "# check ks: FAILED (p = 0.01)" in lines
    assert "  # daily" in lines and "  # variation" in lines
    assert lines[lines.index("  # variation") + 1].startswith("  noise:")
    assert any(ln.startswith("  base_m_per_day: {") and ln.endswith("   # the rate")
               for ln in lines)
    data, _ = read_yaml(text, "<test>")
    assert data == {"advance": {"base_m_per_day": {"dist": "gamma", "mean": 100, "sd": 10},
                                "noise": {"dist": "gamma", "mean": 1, "sd": 0.5}}}


def test_a_comment_cannot_end_itself():
    assert comment_lines("a\rb\u2028c") == ["# a", "# b", "# c"]
    assert comment_lines("tab\tand \x1b[31m") == ["# 'tab\\tand \\x1b[31m'"]


def test_lognormals_are_written_by_mean_and_cv_where_exact_else_by_their_logs():
    by_moments = D.LogNormal.from_mean_cv(51.64, 0.2795)
    assert "{dist: lognormal, mean: 51.64, cv: 0.2795}" in dump(B.advance(by_moments))
    odd = D.LogNormal(mu=0.1, sigma=0.7)
    text = dump(B.advance(odd))
    back = pasted(dump(B.axis("s", length_km=5, advance=B.advance(odd)))).sectors[0]
    assert back.advance.base_m_per_day == odd, text


def test_plain_data_is_quoted_where_it_must_be():
    text = dump_data({"Site #3": {"name": "Yes", "x": "2e-8", "n": 2.0}})
    assert read_yaml(text, "<test>")[0] == {"Site #3": {"name": "Yes", "x": "2e-8", "n": 2}}


def test_a_restarted_sector_has_no_file_form():
    s = B.axis("s", length_km=10, advance=100).restarted(4.0)
    with pytest.raises(ValueError, match="restarted at 4 km"):
        dump(s)


def test_the_builder_builds_what_the_loader_reads_from_the_same_scenario():
    sc = B.scenario(
        B.axis("north", length_km=35, objective="Pokrovsk", attacker=40_000, defender=20_000,
               advance=B.advance(D.Pert(low=150, mode=200, high=300),
                                 noise=D.LogNormal.from_mean_cv(1, 0.5),
                                 regimes=B.regimes(B.regime("grinding", 1, 20),
                                                   B.regime("stalled", 0.1, 30)),
                                 season={10: 0.7, 11: 0.6}),
               attrition=B.attrition("daily_fraction", 0.001, 0.002),
               milestones={"halfway": 17.5}, lines=[B.line("line", 20, 10)],
               reinforcements=[B.reinforcement("attacker", 30, 5000, readiness_days=7)],
               strikes=[B.strikes(0.1, 0.8, 7, start_day=5)],
               modifiers=[B.modifier(0.5, start_day=10, end_day=20, name="mud")]),
        B.area("kursk", area_km2=800, objective_km2=50, front_km=60, advance=100),
        name="built", start="2024-11-20", horizon_days=200)
    assert B.checked(sc) == sc
    assert sc.checkpoints_days == (30, 90, 180, 200)


def test_the_checked_builder_names_what_the_loader_refuses():
    bad = B.scenario(B.axis("s", length_km=10, advance=B.advance(100, noise=2.0)))
    with pytest.raises(Exception, match=r"sectors\.s\.advance\.noise: daily noise must have "
                                        r"mean 1"):
        B.checked(bad)


def test_the_sha256_of_a_source_is_of_its_bytes(tmp_path):
    f = tmp_path / "series.csv"
    f.write_bytes(b"date,sector,value\n")
    assert Source.of(f).sha256 == hashlib.sha256(b"date,sector,value\n").hexdigest()
    assert Source.of(tmp_path / "missing.csv").sha256 is None
