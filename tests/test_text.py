"""What the commands print follows the one way to show a number (sim.presentation.numbers):
a censored day or date reads the same wherever it is, a p-value is floored, a minus is ASCII,
a probability is never rounded to 0 or 1, a column shares its decimals, and a table says a
repeated value once."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.presentation import numbers as N
from sim.presentation import text_forecasts
from sim.presentation.text import compact_table, format_compare, format_run, merge_rows

ROOT = Path(__file__).resolve().parents[1]
REPORTED = str(ROOT / "scenarios/kurakhove-reported.yaml")
MAP = str(ROOT / "scenarios/kurakhove.yaml")


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def pokrovsk():
    """The map scenario's run, short enough that Pokrovsk and its last milestone are censored
    at their upper percentiles."""
    from sim.model.loader import load_scenario
    from sim.running.runner import simulate

    result = simulate(load_scenario(MAP), replications=2000, seed=1)
    return result, result.summary()


def table_rows(text: str, heading: str) -> list[str]:
    """The lines of the indented table under ``heading`` (its header first)."""
    lines = text.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.strip().startswith(heading))
    out = []
    for ln in lines[at + 1:]:
        if not ln.startswith("    "):
            break
        out.append(ln)
    return out


def test_a_censored_milestone_and_a_censored_objective_print_the_same_mark(pokrovsk):
    result, summary = pokrovsk
    s = summary["sectors"]["pokrovsk"]
    assert s["objective"]["day"]["p95"] is None  # both censored in this run
    assert any(m["day"]["p90"] is None for m in s["milestones"].values())
    text = format_run(result, summary)
    day_rows = table_rows(text, "Day the objective is reached (Pokrovsk)")
    [censored] = [r for r in day_rows if "P95" in r]  # P75–P95, merged: all censored
    assert censored.split(maxsplit=1)[1].split("  ")[0].strip() == N.CENSORED
    assert censored.rstrip().endswith(f"{N.CENSORED}   {N.CENSORED}")  # its day and its date
    milestones = table_rows(text, "Milestones:")[1:]
    assert milestones and all(r.rstrip().endswith(f"  {N.CENSORED}") for r in milestones)
    assert "—" not in "\n".join(day_rows + milestones)  # no other mark for "not reached"


def test_a_probability_near_one_is_not_printed_as_one(pokrovsk):
    result, summary = pokrovsk
    summary = copy.deepcopy(summary)
    s = summary["sectors"]["pokrovsk"]
    s["objective"]["prob_reached"] = 0.9996
    next(iter(s["milestones"].values()))["prob_reached"] = 0.9998
    text = format_run(result, summary)
    assert "P(Pokrovsk within 730 days) = > 0.999" in text
    assert not re.search(r"\b1\.000?\b", text)
    assert "> 0.999" in "\n".join(table_rows(text, "Milestones:"))


def test_the_run_table_of_one_repeated_value_says_it_once():
    rows = [[f"P{p}", *(["1.2"] if p == 5 else ["1.3"]), "1.3", "1.3", "1.3"]
            for p in (5, 10, 25, 50, 75, 90, 95)]
    header = ["", "day 30", "day 90", "day 180", "day 365"]
    shown = compact_table(header, rows, unit="km")
    assert shown[0].split() == ["day", "30", "days", "90–365"]
    assert [r.split() for r in shown[1:]] == [["P5", "1.2", "1.3"], ["P10–P95", "1.3", "1.3"]]
    flat = [[f"P{p}", "1.3", "1.3", "1.3", "1.3"] for p in (5, 50, 95)]
    assert compact_table(header, flat, unit="km") == ["    P5–P95: 1.3 km on days 30–365"]
    # rows that differ stay apart, however alike their neighbours
    assert merge_rows([["P5", "1"], ["P10", "2"], ["P25", "1"]]) == [
        ["P5", "1"], ["P10", "2"], ["P25", "1"]]


def test_the_map_scenario_prints_kurakhove_once(pokrovsk):
    result, summary = pokrovsk
    text = format_run(result, summary)
    kurakhove = text.split("pokrovsk:")[0]
    rows = table_rows(kurakhove, "Advance, km, by day:")
    # Rows that print the same cells are one row: no two rows of the table read alike.
    cells = [row.split()[1:] for row in rows[1:]]
    assert len(cells) == len({tuple(c) for c in cells}) < 7
    assert any("–" in row.split()[0] for row in rows[1:])  # a merged range of percentiles


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cmp")
    for name, extra in (("a", ["--set", "sectors.kurakhove.strikes.0.rate_per_day=0"]),
                        ("b", [])):
        r = run("run", REPORTED, "-n", "2000", "-j", "1", "--out", str(folder / name), "-q",
                *extra)
        assert r.exit_code == 0, r.output
    r = run("compare", str(folder / "a"), str(folder / "b"), "--bootstrap", "200", "--json")
    assert r.exit_code == 0, r.output
    return folder, json.loads(r.stdout)


def test_compare_prints_ascii_minus_and_a_floored_p_value(compared):
    folder, result = compared
    r = run("compare", str(folder / "a"), str(folder / "b"), "--bootstrap", "200")
    assert r.exit_code == 0, r.output
    assert "−" not in r.stdout  # U+2212 breaks copy-paste into code
    assert re.search(r" -\d\.\d\d \[-\d\.\d\d, -\d\.\d\d\]", r.stdout)  # the strikes slow it
    assert "−" not in result["sectors"]["kurakhove"]["reading"]  # the JSON's reading too
    c = copy.deepcopy(result)
    c["sectors"]["kurakhove"]["comparisons"][0]["ks_pvalue"] = 1e-300
    assert "p < 1e-16" in format_compare(c) and "e-300" not in format_compare(c)
    c["sectors"]["kurakhove"]["comparisons"][0]["ks_pvalue"] = 0.0123
    assert "p = 0.012" in format_compare(c)


def test_compare_never_rounds_p_reach_to_one(compared):
    _, result = compared
    c = copy.deepcopy(result)
    c["sectors"]["kurakhove"]["objective_day"]["prob_reached"] = [0.9996, 0.998]
    text = format_compare(c)
    row = next(ln for ln in text.splitlines() if ln.startswith("    P(reach)"))
    assert row.split()[1:] == [">", "0.999", "0.998"]


def test_a_scores_column_shares_its_decimals():
    # CRPS per origin once mixed "0.76" with "0.729" (three significant figures each)
    cells = text_forecasts._scores([0.729, 0.863, 0.537, 0.76, 0.202])
    assert cells == ["0.729", "0.863", "0.537", "0.760", "0.202"]
    # the model beside its baselines: each to four figures, a worse baseline rounds none away
    assert text_forecasts._versus([0.768, 10.31, 0.93]) == ["0.7680", "10.31", "0.9300"]


def test_the_backtest_per_origin_columns_share_their_decimals():
    r = run("backtest", REPORTED, "--observed",
            str(ROOT / "scenarios/observed/synthetic-kurakhove.csv"), "--origins", "14", "-n",
            "300")
    assert r.exit_code == 0, r.output
    rows = table_rows("\n" + r.stdout.replace("\n  ", "\n    "), "Per origin")[1:]
    assert len(rows) >= 5
    for col in (3, 4):  # CRPS, WIS
        decimals = {len(row.split()[col].split(".")[1]) for row in rows}
        assert len(decimals) == 1, [row.split()[col] for row in rows]
    assert "−" not in r.stdout


def test_a_p_value_in_a_table_cell_is_floored():
    assert text_forecasts.pvalue_cell(1e-300) == "< 1e-16"
    assert text_forecasts.pvalue_cell(0.155) == "0.155"
    assert text_forecasts.pvalue_cell(None) == N.MISSING


def test_trace_names_its_conventions_in_one_short_line(tmp_path):
    shared = ROOT.parent / "shared" / "data" / "frontlines" / "occupied"
    if not shared.is_dir():
        pytest.skip("the shared front-line data is not here")
    r = run("trace", str(shared), "--to", "Pokrovsk", "-o", str(tmp_path / "t.csv"))
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    about = [ln for ln in lines if "--date-convention" in ln]
    assert len(about) == 1 and len(about[0]) <= 100
    assert all(len(ln) <= 120 for ln in lines)
    r = run("trace", str(shared), "--to", "Pokrovsk", "--json")
    data = json.loads(r.stdout)
    assert "file date - 1 day" in data["date_convention_means"]  # the full text stays here


def test_a_table_with_nothing_repeated_is_left_as_it_is():
    rows = [["P5", "0.0", "1.2"], ["P95", "0.4", "9.9"]]
    assert compact_table(["", "day 30", "day 90"], rows) == [
        "         day 30  day 90", "    P5      0.0     1.2", "    P95     0.4     9.9"]


def test_compare_says_days_alike_in_every_run_once(compared):
    _, result = compared
    c = copy.deepcopy(result)
    s = c["sectors"]["kurakhove"]
    prog = s["advance_km"]
    i, j = prog["days"].index(180), prog["days"].index(365)
    for q in prog["runs"]:  # both runs at the objective from day 180 on
        for k in ("p10", "p50", "p90"):
            q[k][i] = q[k][j] = 35.0
    comp = s["comparisons"][0]
    comp["progress_median_diff"][i] = comp["progress_median_diff"][j] = 0.0
    comp["progress_median_diff_ci95"][i] = comp["progress_median_diff_ci95"][j] = [0.0, 0.0]
    text = format_compare(c)
    assert "days 180–365" in text and "day 180 " not in text and "day 365 " not in text
    assert "day 30 " in text and "day 90 " in text  # the days that differ stay apart
