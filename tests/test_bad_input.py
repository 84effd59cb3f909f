"""Every bad input: exit status 2, one located line on stderr, no traceback, nothing written.

The rule: ``FILE:LINE: key.path: what is wrong``; a ``--set`` override is ``FILE (--set ...)``
without a line; a missing file is ``FILE: ...`` alone. Each case below mutates one small valid
scenario (BASE, or AREA for an area sector) and names the line by the text it points at.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import pytest
from click.testing import CliRunner

from sim.cli import cli

AXIS_GEOMETRY = """\
    kind: axis
    length_km: 20
    objective:
      name: town
    milestones:
      - {name: halfway, at_km: 10}
    lines:
      - {name: first line, at_km: 5, breach_days: {dist: uniform, low: 2, high: 6}}
      - {name: second line, at_km: 15, breach_days: 3}
    observed:
      source: test maps
      points:
        - {date: 2024-10-20, distance_km: 24.5}
        - {date: 2024-11-20, distance_km: 20}
"""

# BASE holds AXIS_GEOMETRY verbatim, so AREA (which swaps it) cannot go stale.
BASE = """\
name: test axis
start: 2024-11-20
horizon_days: 60
checkpoints_days: [30, 60]
sectors:
  north:
""" + AXIS_GEOMETRY + """\
    forces:
      attacker: {troops: 40000}
      defender: {troops: 20000}
    attrition:
      model: daily_fraction
      attacker: 0.002
      defender: {dist: uniform, low: 0.001, high: 0.003}
    reinforcements:
      - {side: attacker, date: 2024-12-01, troops: 5000}
    advance:
      base_m_per_day: {dist: pert, low: 200, mode: 250, high: 300}
      noise: {dist: lognormal, mean: 1, cv: 0.5}
      regimes:
        initial: grinding
        states:
          grinding: {factor: 1.0, sojourn_days: 10, next: {stalled: 1.0}}
          stalled: {factor: 0.3, sojourn_days: 5, next: {grinding: 1.0}}
    strikes:
      - {start: 2024-11-15, rate_per_day: 0.1, factor: 0.8, duration_days: 5}
    modifiers:
      - {name: mud, start: 2025-01-01, end: 2025-01-15, factor: 0.5}
reserves:
  pool:
    side: attacker
    troops: 3000
    sectors: [north]
    release: {below_ratio: 2.0, batch_troops: 1000}
    transit_days: 7
"""


AREA_GEOMETRY = """\
    kind: area
    area_km2: 800
    front: {length_km: 60}
    objective: {name: salient retaken, held_km2: 50}
    milestones:
      - {name: half retaken, held_km2: 400}
    observed:
      source: test maps
      points:
        - {date: 2024-10-20, held_km2: 950}
"""


def mutate(text: str, old: str, new: str) -> str:
    """``text`` with its one occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


AREA = mutate(BASE, AXIS_GEOMETRY, AREA_GEOMETRY)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the ``occurrence``-th ``needle`` in ``text``."""
    at = -1
    for _ in range(occurrence):
        at = text.index(needle, at + 1)
    return text.count("\n", 0, at) + 1


@dataclass(frozen=True)
class Case:
    text: str | None  # the scenario file (None: the path does not exist)
    key: str  # the key path in the message ("" where the error has none)
    word: str  # a distinctive part of the message
    at: str | None = None  # text on the offending line (None: no line number)
    occurrence: int = 1
    sets: tuple[str, ...] = field(default=())
    where: str = "file"  # "file", "set" (FILE (--set)), "set-item" (FILE (--set ITEM)), "dir"

    def line(self) -> int | None:
        return None if self.at is None else line_of(self.text, self.at, self.occurrence)


def m(old: str, new: str, key: str, word: str, at: str | None = None, *, no_line: bool = False,
      **kw) -> Case:
    """A mutation of BASE; by default the error points at the line of the new text."""
    text = mutate(BASE, old, new)
    return Case(text, key, word, None if no_line else new if at is None else at, **kw)


def a(old: str, new: str, key: str, word: str, at: str | None = None, **kw) -> Case:
    """A mutation of AREA."""
    text = mutate(AREA, old, new)
    return Case(text, key, word, new if at is None else at, **kw)


def drop(line: str, key: str) -> Case:
    """BASE without a required top-level key: named, at the root mapping's line (1)."""
    text = mutate(BASE, line, "")
    return Case(text, key, "missing (a required key)", text.splitlines()[0])


S = "sectors.north"
ADV = f"{S}.advance"
STATES = f"{ADV}.regimes.states"

CASES = {
    # -- the file itself -------------------------------------------------------------------
    "yaml_syntax": m("kind: axis", "kind: axis: oops", "", "invalid YAML: mapping values"),
    # An unclosed bracket or quote, or a key without ':', is located where it begins, not at
    # the later line where the parser gives up.
    "yaml_unclosed_flow": m("checkpoints_days: [30, 60]", "checkpoints_days: [30, 60", "",
                            "flow sequence"),
    "yaml_unclosed_quote": m("name: test axis", "name: 'test axis", "", "quoted scalar"),
    "yaml_key_without_colon": m("length_km: 20", "length_km 20", "", "expected ':'"),
    "yaml_tab_indent": m("    kind: axis\n", "\tkind: axis\n", "", "invalid YAML",
                         at="\tkind"),
    "yaml_control_character": m("name: test axis", "name: test\x07axis", "",
                                "unacceptable character"),
    "yaml_unknown_tag": m("length_km: 20", "length_km: !km 20", f"{S}.length_km", "constructor"),
    "yaml_recursive_alias": m("    release: {below_ratio: 2.0, batch_troops: 1000}\n",
                              "    release: &r {below_ratio: 2.0, batch_troops: *r}\n",
                              "reserves.pool.release.batch_troops", "recursive",
                              at="release: &r"),
    # Past Python's recursion limit, PyYAML cannot say where: the one case with no line.
    "yaml_nested_too_deeply": m("checkpoints_days: [30, 60]",
                                "checkpoints_days: " + "[" * 1000 + "]" * 1000, "",
                                "nested too deeply", at=None, no_line=True),
    "empty_file": Case("", "", "empty", at=""),
    "only_a_comment": Case("# a scenario, one day\n", "", "empty", at="#"),
    "missing_file": Case(None, "", "no such file"),
    "a_directory": Case(None, "", "is a directory", where="dir"),
    "top_level_list": Case("- name: x\n- start: 2024-11-20\n", "", "expected a mapping, got a list",
                           at="- name"),
    "duplicate_key": m("start: 2024-11-20\n", "start: 2024-11-20\nname: again\n", "name",
                       "duplicate key 'name'", at="name: again"),
    "complex_mapping_key": m("  pool:\n", "  pool:\n    ? [a, b]\n    : 1\n", "reserves.pool",
                             "plain value", at="[a, b]"),
    # -- keys ------------------------------------------------------------------------------
    "missing_name": drop("name: test axis\n", "name"),
    "missing_start": drop("start: 2024-11-20\n", "start"),
    "missing_horizon_days": drop("horizon_days: 60\n", "horizon_days"),
    "missing_sectors": Case(BASE[: BASE.index("sectors:")], "sectors", "missing (a required key)",
                            at="name:"),
    "unknown_top_key_hint": m("horizon_days: 60", "horizon_day: 60", "horizon_day",
                              "unknown key (did you mean 'horizon_days'?)"),
    "unknown_sector_key_hint": m("length_km: 20", "lenght_km: 20", f"{S}.lenght_km",
                                 "did you mean 'length_km'?"),
    "missing_dist_key": m("breach_days: {dist: uniform, low: 2, high: 6}",
                          "breach_days: {low: 2, high: 6}", f"{S}.lines.0.breach_days.dist",
                          "missing (expected a number"),
    # -- types -----------------------------------------------------------------------------
    "length_km_text": m("length_km: 20", "length_km: twenty", f"{S}.length_km",
                        "expected a number, got 'twenty'"),
    "troops_list": m("attacker: {troops: 40000}", "attacker: {troops: [40000, 1]}",
                     f"{S}.forces.attacker.troops", "expected a number, got [40000, 1]"),
    "number_boolean": m("horizon_days: 60", "horizon_days: true", "horizon_days",
                        "expected a number, got True"),
    "nan_number": m("length_km: 20", "length_km: .nan", f"{S}.length_km", "finite"),
    "inf_in_dist": m("high: 300}", "high: .inf}", f"{ADV}.base_m_per_day.high", "finite"),
    "forces_not_mapping": m("      defender: {troops: 20000}\n", "      defender: 20000\n",
                            f"{S}.forces.defender", "expected a mapping, got a number",
                            at="defender: 20000"),
    # -- values ----------------------------------------------------------------------------
    "negative_troops": m("attacker: {troops: 40000}", "attacker: {troops: -5}",
                         f"{S}.forces.attacker.troops", "must be >= 0 (got -5)"),
    "zero_length_km": m("length_km: 20", "length_km: 0", f"{S}.length_km", "must be > 0 (got 0)"),
    "negative_length_km": m("length_km: 20", "length_km: -3", f"{S}.length_km", "must be > 0"),
    "horizon_days_zero": m("horizon_days: 60", "horizon_days: 0", "horizon_days",
                           "must be >= 1 (got 0)"),
    "unknown_sector_kind": m("kind: axis", "kind: axe", f"{S}.kind", "unknown sector kind 'axe'"),
    "invalid_start_date": m("start: 2024-11-20", "start: 2024-13-45", "start",
                            "month must be in 1..12"),
    "start_not_a_date": m("start: 2024-11-20", "start: 20/11/2024", "start",
                          "expected a date as YYYY-MM-DD"),
    "checkpoint_beyond_horizon": m("checkpoints_days: [30, 60]", "checkpoints_days: [30, 90]",
                                   "checkpoints_days.1", "must be <= 60 (got 90)"),
    # -- distributions ---------------------------------------------------------------------
    "unknown_distribution_hint": m("{dist: pert, low: 200", "{dist: pret, low: 200",
                                   f"{ADV}.base_m_per_day.dist",
                                   "unknown distribution 'pret' (did you mean 'pert'?)"),
    "pert_low_above_high": m("{dist: pert, low: 200, mode: 250, high: 300}",
                             "{dist: pert, low: 300, mode: 250, high: 200}",
                             f"{ADV}.base_m_per_day", "bad pert parameters"),
    "uniform_low_above_high": m("{dist: uniform, low: 0.001, high: 0.003}",
                                "{dist: uniform, low: 0.003, high: 0.001}",
                                f"{S}.attrition.defender", "bad uniform parameters"),
    "normal_negative_sd": m("{dist: pert, low: 200, mode: 250, high: 300}",
                            "{dist: normal, mean: 250, sd: -10}",
                            f"{ADV}.base_m_per_day", "sd must be >= 0"),
    "lognormal_both_forms": m("{dist: lognormal, mean: 1, cv: 0.5}",
                              "{dist: lognormal, mean: 1, cv: 0.5, mu: 0, sigma: 0.5}",
                              f"{ADV}.noise", "either mean and cv, or mu and sigma"),
    "empirical_empty": m("breach_days: 3}", "breach_days: {dist: empirical, samples: []}}",
                         f"{S}.lines.1.breach_days.samples", "must not be empty"),
    "noise_mean_not_1": m("{dist: lognormal, mean: 1, cv: 0.5}",
                          "{dist: lognormal, mean: 1.2, cv: 0.5}", f"{ADV}.noise",
                          "noise must have mean 1"),
    "dist_below_bound": m("breach_days: 3}", "breach_days: {dist: normal, mean: 3, sd: 1}}",
                          f"{S}.lines.1.breach_days", "draws can fall below 0"),
    # -- geometry --------------------------------------------------------------------------
    "milestone_beyond_axis": m("at_km: 10}", "at_km: 25}", f"{S}.milestones.0.at_km",
                               "must be < 20 (got 25)"),
    "milestone_names_share_a_column": m(
        "      - {name: halfway, at_km: 10}\n",
        "      - {name: halfway, at_km: 10}\n      - {name: Halfway!, at_km: 12}\n",
        f"{S}.milestones.1.name", "would share its outcomes column with milestone 'halfway'",
        at="Halfway!"),
    "milestone_at_zero": m("at_km: 10}", "at_km: 0}", f"{S}.milestones.0.at_km",
                           "must be > 0 (got 0)"),
    "lines_out_of_order": m("at_km: 15, breach_days: 3", "at_km: 4, breach_days: 3",
                            f"{S}.lines", "order the attacker meets them", at="    lines:"),
    "axis_with_area_km2": m("    length_km: 20\n", "    length_km: 20\n    area_km2: 100\n",
                            f"{S}.area_km2", "belongs to area sectors", at="area_km2"),
    "area_held_not_below_area": a("held_km2: 50}", "held_km2: 800}",
                                  f"{S}.objective.held_km2", "must be < 800 (got 800)"),
    "area_missing_front": a("    front: {length_km: 60}\n", "", f"{S}.front", "front length",
                            at="  north:"),
    "area_with_length_km": a("    area_km2: 800\n", "    area_km2: 800\n    length_km: 9\n",
                             f"{S}.length_km", "belongs to axis sectors", at="length_km: 9"),
    # -- the traced history (observed:) -----------------------------------------------------
    "observed_not_a_date": m("{date: 2024-10-20, distance_km: 24.5}",
                             "{date: last month, distance_km: 24.5}",
                             f"{S}.observed.points.0.date", "expected a date as YYYY-MM-DD"),
    "observed_out_of_order": m("{date: 2024-11-20, distance_km: 20}",
                               "{date: 2024-10-20, distance_km: 20}",
                               f"{S}.observed.points.1.date", "oldest first"),
    "observed_negative": m("distance_km: 24.5}", "distance_km: -0.5}",
                           f"{S}.observed.points.0.distance_km", "must be >= 0 (got -0.5)"),
    "observed_not_finite": m("distance_km: 24.5}", "distance_km: .inf}",
                             f"{S}.observed.points.0.distance_km", "expected a finite number"),
    "observed_missing_distance": m("{date: 2024-10-20, distance_km: 24.5}", "{date: 2024-10-20}",
                                   f"{S}.observed.points.0.distance_km", "missing"),
    "observed_no_points": m("      points:\n        - {date: 2024-10-20, distance_km: 24.5}\n"
                            "        - {date: 2024-11-20, distance_km: 20}\n",
                            "      points: []\n", f"{S}.observed.points", "must not be empty"),
    "observed_no_source": m("      source: test maps\n", "", f"{S}.observed.source",
                            "missing (a required key)", at="    observed:"),
    "observed_area_in_km": a("{date: 2024-10-20, held_km2: 950}",
                             "{date: 2024-10-20, distance_km: 9.5}",
                             f"{S}.observed.points.0.distance_km", "unknown key"),
    # -- dates and events ------------------------------------------------------------------
    "modifier_end_before_start": m("end: 2025-01-15", "end: 2024-12-15", f"{S}.modifiers.0.end",
                                   "must come after the start"),
    "reinforcement_before_start": m("date: 2024-12-01", "date: 2024-11-01",
                                    f"{S}.reinforcements.0.date", "before the scenario start"),
    "reinforcement_day_and_date": m("date: 2024-12-01,", "date: 2024-12-01, day: 3,",
                                    f"{S}.reinforcements.0", "exactly one of 'day' or 'date'"),
    "strike_factor_above_1": m("factor: 0.8,", "factor: 1.5,", f"{S}.strikes.0.factor",
                               "factor must be <= 1"),
    # -- regimes, attrition, reserves ------------------------------------------------------
    "unknown_regime_in_next": m("next: {stalled: 1.0}", "next: {staled: 1.0}",
                                f"{STATES}.grinding.next.staled",
                                "unknown regime (did you mean 'stalled'?)"),
    "regime_probabilities_not_1": m("next: {stalled: 1.0}", "next: {stalled: 0.5}",
                                    f"{STATES}.grinding.next", "must sum to 1 (got 0.5)"),
    "unknown_initial_regime": m("initial: grinding", "initial: grindin",
                                f"{ADV}.regimes.initial", "did you mean 'grinding'?"),
    "daily_fraction_not_below_1": m("attacker: 0.002", "attacker: 1.0",
                                    f"{S}.attrition.attacker", "below 1"),
    "unknown_attrition_model_hint": m("model: daily_fraction", "model: daily_fractions",
                                      f"{S}.attrition.model",
                                      "did you mean 'daily_fraction'?"),
    "reserve_unknown_sector_hint": m("sectors: [north]", "sectors: [nroth]",
                                     "reserves.pool.sectors.0",
                                     "unknown sector (did you mean 'north'?)"),
    # -- --set overrides -------------------------------------------------------------------
    "set_unknown_path_hint": Case(BASE, "sector", "no such key (did you mean 'sectors'?)",
                                  sets=("sector.north.length_km=5",), where="set-item"),
    "set_unknown_last_key_hint": Case(BASE, "horizon_day",
                                      "unknown key (did you mean 'horizon_days'?)",
                                      sets=("horizon_day=5",), where="set"),
    "set_without_equals": Case(BASE, "", "expected key.path=value",
                               sets=(f"{S}.length_km",), where="set-item"),
    "set_list_index_out_of_range": Case(BASE, f"{S}.lines.5", "no item 5",
                                        sets=(f"{S}.lines.5.at_km=3",), where="set-item"),
    "set_bad_value": Case(BASE, f"{S}.length_km", "must be > 0 (got -5)",
                          sets=(f"{S}.length_km=-5",), where="set"),
    "set_bad_value_after_good_one": Case(BASE, f"{S}.forces.attacker.troops", "must be >= 0",
                                         sets=(f"{S}.length_km=30",
                                               f"{S}.forces.attacker.troops=-1"),
                                         where="set"),
    # -- names that would break key paths (a dot in a sector name made --set miss it) ---------
    "sector_name_with_a_dot": m("sectors:\n  north:\n", "sectors:\n  kura.khove:\n", "sectors",
                                "'kura.khove' contains a dot", at="  kura.khove:"),
    "sector_name_empty": m("sectors:\n  north:\n", 'sectors:\n  "":\n', "sectors", "is empty",
                           at='  "":'),
    "sector_name_blank": m("sectors:\n  north:\n", 'sectors:\n  "  ":\n', "sectors",
                           "is empty", at='  "  ":'),
    "sector_name_leading_space": m("sectors:\n  north:\n", 'sectors:\n  " north":\n',
                                   "sectors", "starts or ends with a space", at='  " north":'),
    "sector_name_trailing_space": m("sectors:\n  north:\n", 'sectors:\n  "north ":\n',
                                    "sectors", "starts or ends with a space", at='  "north ":'),
    "milestone_name_with_a_dot": m("{name: halfway,", "{name: half.way,",
                                   f"{S}.milestones.0.name", "contains a dot"),
    "milestone_name_with_a_number_with_a_dot": m("{name: halfway,", "{name: 2.5,",
                                                 f"{S}.milestones.0.name", "'2.5' contains a dot"),
    "milestone_name_empty": m("{name: halfway,", "{name: '',", f"{S}.milestones.0.name",
                              "expected a non-empty text"),
    "milestone_name_trailing_space": m("{name: halfway,", "{name: 'halfway ',",
                                       f"{S}.milestones.0.name", "starts or ends with a space"),
    "line_name_with_a_dot": m("{name: first line,", "{name: first.line,",
                              f"{S}.lines.0.name", "line name 'first.line' contains a dot"),
    "line_name_empty": m("{name: second line,", "{name: '',", f"{S}.lines.1.name",
                         "expected a non-empty text"),
    "line_name_leading_space": m("{name: second line,", "{name: ' second line',",
                                 f"{S}.lines.1.name", "starts or ends with a space"),
}


def expected_line(case: Case, path: str) -> re.Pattern[str]:
    """The one stderr line the case must print, as a pattern with the message as a group."""
    if case.where == "set-item":
        prefix = f"{path} (--set {case.sets[-1]}):"
    elif case.where == "set":
        prefix = f"{path} (--set):"
    elif case.line() is None:
        prefix = f"{path}:"
    else:
        prefix = f"{path}:{case.line()}:"
    if case.key:
        prefix += f" {case.key}:"
    return re.compile(re.escape(prefix) + r" (?P<message>\S.*)")


def invocations(path: str, out: str, sets: tuple[str, ...]) -> dict[str, list[str]]:
    set_args = [x for s in sets for x in ("--set", s)]
    return {
        "run": ["run", path, "-n", "50", "-j", "1", "--out", out, *set_args],
        "validate": ["validate", path, *set_args],
    }


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=name)
        for name, c in CASES.items()
    ],
)
@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_input_is_one_located_line_and_status_2(case, command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scenario = tmp_path / "scenario.yaml"
    if case.where == "dir":
        scenario.mkdir()
    elif case.text is not None:
        scenario.write_text(case.text, encoding="utf-8")
    before = sorted(os.listdir(tmp_path))
    out = tmp_path / "out"

    args = invocations(str(scenario), str(out), case.sets)[command]
    result = CliRunner().invoke(cli, args)

    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}"
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    err = result.stderr.splitlines()
    assert len(err) == 1, result.stderr
    pattern = expected_line(case, str(scenario))
    match = pattern.fullmatch(err[0])
    assert match, f"\n got: {err[0]}\nwant: {pattern.pattern}"
    assert case.word in match["message"], err[0]
    # Nothing written: no results/, no --out folder, no temporary folder left behind.
    assert sorted(os.listdir(tmp_path)) == before
    assert not (tmp_path / "results").exists() and not out.exists()


def test_enough_cases():
    assert len(CASES) >= 30


def test_the_base_scenarios_are_valid(tmp_path, monkeypatch):
    """The mutations start from valid files, so each case tests the one thing it changes."""
    monkeypatch.chdir(tmp_path)
    for name, text in (("axis.yaml", BASE), ("area.yaml", AREA)):
        (tmp_path / name).write_text(text, encoding="utf-8")
        r = CliRunner().invoke(cli, ["validate", name])
        assert r.exit_code == 0, r.output
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["run", "axis.yaml", "-n", "50", "-j", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.is_dir() and not (tmp_path / "results").exists()


def test_exponent_floats_are_numbers():
    """YAML 1.1 would read ``2e-8`` as text; scenarios read it as the number users mean."""
    from sim.model.loader import parse_scenario

    sc = parse_scenario(BASE, overrides=["sectors.north.length_km=2e1"])
    assert sc.sectors[0].length_km == 20.0
    text = BASE.replace("length_km: 20", "length_km: 2E+1")
    assert parse_scenario(text).sectors[0].length_km == 20.0
