"""Fuzzing the scenario loader: whatever the YAML, ``advsim`` answers with exit status 0 or 2.

Hypothesis writes random YAML documents (random trees of mappings, lists and scalars, some of
them scenario-shaped; random text and bytes), random mutations of every shipped scenario and of
random valid ones (a key deleted; a value replaced by null, zero, a negative, a huge or tiny
number, NaN, an infinity, an empty list or mapping, or a value of another type), and random
``--set`` overrides. For each, ``advsim validate`` and ``advsim run`` must:

- exit 0 or 2 and never raise (no traceback), and agree with each other;
- on exit 2, print exactly one line on stderr, nothing on stdout, and write nothing;
- on exit 0, print and write no NaN or infinity: not in the JSON on stdout, not in
  summary.json, outcomes.csv or bands.csv (outcomes.csv leaves a field empty where a day is
  censored or a column belongs to another sector, and nowhere else); and numpy must not warn of
  an overflow or an invalid value along the way, since that is where NaN comes from.

Every failure Hypothesis found is kept below as an explicit example. The default run is sized to
take a few seconds; ``-m slow`` runs many more inputs.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import math
import os
import sys
import tempfile
import traceback
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st
from scenario_strategies import scenarios

from sim.cli import cli
from sim.model.loader import read_yaml

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {p.name: read_yaml(p.read_text(encoding="utf-8"), p.name)[0]
           for p in sorted((ROOT / "scenarios").glob("*.yaml"))}
RUN_REPLICATIONS = "20"

FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(FAST, max_examples=1500)


# -- the property ------------------------------------------------------------------------------


class NonFinite(ValueError):
    pass


def _reject(token: str) -> Any:
    raise NonFinite(f"{token} in JSON")


def _finite_json(text: str, what: str) -> dict:
    try:
        return json.loads(text, parse_constant=_reject)
    except NonFinite as e:
        raise AssertionError(f"{what}: {e}") from None


def _number(field: str, where: str) -> None:
    try:
        x = float(field)
    except ValueError:
        raise AssertionError(f"{where}: not a number: {field!r}") from None
    assert math.isfinite(x), f"{where}: {field!r}"


def _check_outcomes(path: Path, kinds: dict[str, str]) -> None:
    """Every numeric field is a finite number; a field is empty only where a day is censored (the
    objective's, a milestone's, a side's breakpoint) or a column belongs to another sector (a
    milestone it lacks, the other kind's progress)."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for i, row in enumerate(rows):
        kind = kinds[row["sector"]]
        for col, v in row.items():
            where = f"outcomes.csv row {i + 2} column {col}"
            if col == "sector":
                continue
            if col == "objective_reached":
                assert v in ("true", "false"), where
                assert (v == "true") == (row["objective_day"] != ""), where
            elif col == "objective_date":  # the day's date, empty with it where censored
                assert (v == "") == (row["objective_day"] == ""), where
                if v:
                    dt.date.fromisoformat(v)
            elif v == "":
                other_kind = (col.startswith("advance_km_d") and kind != "axis") or (
                    col.startswith("held_km2_d") and kind != "area")
                censored = col == "objective_day" or col.startswith("milestone_") or (
                    col.endswith("_breakpoint_day"))
                assert censored or other_kind, f"{where}: empty"
            else:
                _number(v, where)


def _check_bands(path: Path) -> None:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows
    for i, row in enumerate(rows):
        for col, v in row.items():
            if col not in ("sector", "date", "quantity"):
                _number(v, f"bands.csv row {i + 2} column {col}")


def _invoke(args: list[str]):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = CliRunner().invoke(cli, args)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        tb = "".join(traceback.format_exception(*r.exc_info))
        raise AssertionError(f"advsim {args[0]} raised:\n{tb}")
    numeric = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert not numeric, f"advsim {args[0]}: {numeric[0].filename}:{numeric[0].lineno}: " \
                        f"{numeric[0].message}"
    assert r.exit_code in (0, 2), (r.exit_code, r.output)
    assert "Traceback" not in r.output
    return r


@contextlib.contextmanager
def in_empty_folder():
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            yield
        finally:
            os.chdir(here)


def check_cli(text: str, sets: tuple[str, ...] = ()) -> int:
    """Validate and run ``text`` as a scenario file (with ``--set`` overrides) in an empty
    folder; returns the exit status after asserting the property."""
    set_args = [x for item in sets for x in ("--set", item)]
    with in_empty_folder():
        Path("scenario.yaml").write_bytes(text.encode("utf-8", "surrogatepass"))
        v = _invoke(["validate", "scenario.yaml", *set_args])
        r = _invoke(["run", "scenario.yaml", "-n", RUN_REPLICATIONS, "-j", "1",
                     "--out", "out", "--json", *set_args])
        assert v.exit_code == r.exit_code, (v.output, r.output)
        if r.exit_code == 2:
            for x in (v, r):
                assert x.stdout == ""
                assert len(x.stderr.splitlines()) == 1, x.stderr
                assert x.stderr.startswith("scenario.yaml"), x.stderr
            assert v.stderr == r.stderr
            assert os.listdir() == ["scenario.yaml"], "a failed run wrote something"
            if currently_in_test_context():
                event("exit 2")
            return 2
        assert v.stderr == "" and v.stdout.startswith("scenario.yaml: ok: ")
        assert r.stderr == "", r.stderr
        assert sorted(os.listdir()) == ["out", "scenario.yaml"]
        out = Path("out")
        printed = _finite_json(r.stdout, "stdout")
        summary = _finite_json((out / "summary.json").read_text(encoding="utf-8"),
                               "summary.json")
        assert printed == summary
        assert summary["replications"] == int(RUN_REPLICATIONS)
        kinds = {name: s["kind"] for name, s in summary["sectors"].items()}
        _check_outcomes(out / "outcomes.csv", kinds)
        _check_bands(out / "bands.csv")
        # and the report for people, from the same numbers
        t = _invoke(["run", "scenario.yaml", "-n", RUN_REPLICATIONS, "-j", "1",
                     "--out", "out2", *set_args])
        assert t.exit_code == 0 and t.stderr == "", t.output
        assert t.stdout.rstrip().splitlines()[-1].startswith("Results: out2")
        if currently_in_test_context():
            event("exit 0")
        return 0


# -- random YAML documents ---------------------------------------------------------------------

# Every key the loader knows, so that random trees reach past the first checks.
VOCABULARY = (
    "name", "description", "start", "horizon_days", "replications", "seed", "checkpoints_days",
    "percentiles", "sectors", "reserves", "kind", "objective", "forces", "advance", "attrition",
    "milestones", "lines", "reinforcements", "strikes", "modifiers", "length_km", "area_km2",
    "front", "scales_with_area", "held_km2", "at_km", "breach_days", "attacker", "defender",
    "troops", "quality", "base_m_per_day", "noise", "regimes", "force", "season", "states",
    "initial", "factor", "sojourn_days", "next", "reference_ratio", "elasticity",
    "culmination_ratio", "max_factor", "model", "side", "day", "date", "readiness_days",
    "rate_per_day", "duration_days", "end", "release", "below_ratio", "batch_troops",
    "every_days", "transit_days", "dist", "value", "low", "mode", "high", "shape", "mean", "sd",
    "cv", "mu", "sigma", "samples", "jan", "mar", "observed", "source", "points", "distance_km",
    13,
)
WORDS = ("axis", "area", "attacker", "defender", "none", "daily_fraction", "lanchester_square",
         "lanchester_linear", "fixed", "uniform", "triangular", "pert", "normal", "lognormal",
         "gamma", "empirical", "grinding", "2024-11-20", "north", "a\nb", "")
SPECIAL = (0, -1, 1, 0.5, 1e300, -1e300, 1e-300, 5e-324, 1.7976931348623157e308,
           math.nan, math.inf, -math.inf, 10**400, -(2**63), 2**63)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.sampled_from(SPECIAL),
    st.text(max_size=12), st.sampled_from(WORDS),
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)), st.sampled_from(VOCABULARY),
)
keys = st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=8), st.integers(-2, 13),
                 st.none(), st.booleans(), st.dates())
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(keys, inner, max_size=6)),
    max_leaves=40,
)


DIST_KEYS = ("value", "low", "mode", "high", "shape", "mean", "sd", "cv", "mu", "sigma", "samples")


def _dist_shaped(values: st.SearchStrategy) -> st.SearchStrategy:
    return st.fixed_dictionaries(
        {"dist": st.sampled_from(WORDS[4:16])},
        optional=dict.fromkeys(DIST_KEYS, values),
    )


@st.composite
def scenario_shaped(draw) -> dict:
    """A tree with a scenario's keys in their places and random values in them."""
    value = st.one_of(scalars, scalars, _dist_shaped(scalars), trees)
    number = st.one_of(st.sampled_from(SPECIAL), st.floats(), st.integers(-5, 400), value)
    side = st.fixed_dictionaries({"troops": number}, optional={"quality": number})
    thing = st.fixed_dictionaries({"name": value}, optional={
        "at_km": number, "held_km2": number, "breach_days": st.one_of(number, _dist_shaped(
            number))})
    sector = st.fixed_dictionaries(
        {"kind": st.sampled_from(["axis", "area"]), "objective": st.one_of(thing, value),
         "forces": st.one_of(st.fixed_dictionaries({"attacker": side, "defender": side}), value),
         "advance": st.one_of(st.fixed_dictionaries(
             {"base_m_per_day": st.one_of(number, _dist_shaped(number))},
             optional={"noise": _dist_shaped(number), "force": value, "regimes": value,
                       "season": st.dictionaries(keys, number, max_size=3)}), value)},
        optional={"length_km": number, "area_km2": number, "front": value,
                  "milestones": st.lists(thing, max_size=3), "lines": st.lists(thing, max_size=3),
                  "attrition": value, "reinforcements": value, "strikes": value,
                  "modifiers": value, "observed": value},
    )
    return draw(st.fixed_dictionaries(
        {"name": value, "start": st.one_of(st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
                                           value),
         "horizon_days": number,
         "sectors": st.dictionaries(st.one_of(st.sampled_from(("north", "")), keys), sector,
                                    min_size=1, max_size=2)},
        optional={"checkpoints_days": value, "percentiles": value, "replications": number,
                  "seed": number, "reserves": value},
    ))


def dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


documents = st.one_of(trees.map(dump), scenario_shaped().map(dump), st.text(max_size=200),
                      st.binary(max_size=100).map(lambda b: b.decode("latin-1")))


@FAST
@given(documents)
@example("")
# a line break or another control character in a key once split the error over two lines
@example('name: x\nstart: 2024-11-20\nhorizon_days: 9\nsectors: {"a\\nb": 1}\n')
@example('"Q83\\x1e": 1\n')
# an integer beyond any float: OverflowError
@example("name: x\nstart: 2024-11-20\nhorizon_days: 1" + "0" * 400 + "\nsectors: {}\n")
def test_random_documents(text):
    check_cli(text)


@pytest.mark.slow
@SLOW
@given(documents)
def test_random_documents_many(text):
    check_cli(text)


# -- mutations of scenarios --------------------------------------------------------------------

Key = str | int
MUTATIONS = ("delete", "null", "zero", "negative", "huge", "tiny", "largest", "subnormal", "nan",
             "inf", "-inf", "empty list", "empty mapping", "text", "true", "date", "list of it",
             "mapping of it")


def paths(doc: Any, prefix: tuple[Key, ...] = ()) -> list[tuple[Key, ...]]:
    """Every key path in the document, the document's own (the empty path) first."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths(v, (*prefix, i))
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def mutated_value(value: Any, how: str) -> Any:
    return {
        "null": None, "zero": 0, "negative": -value if _is_number(value) and value else -1,
        "huge": 1e300, "tiny": 1e-300, "largest": sys.float_info.max, "subnormal": 5e-324,
        "nan": math.nan, "inf": math.inf, "-inf": -math.inf,
        "empty list": [], "empty mapping": {}, "text": "x", "true": True,
        "date": dt.date(2024, 11, 20), "list of it": [value], "mapping of it": {"x": value},
    }[how]


def mutate(doc: Any, path: tuple[Key, ...], how: str) -> Any:
    """A copy of ``doc`` with the value at ``path`` mutated (the document itself if the path is
    empty); a deleted list item is removed."""
    if not path:
        return None if how == "delete" else mutated_value(doc, how)
    head, rest = path[0], path[1:]
    out = dict(doc) if isinstance(doc, dict) else list(doc)
    if rest:
        out[head] = mutate(doc[head], rest, how)
    elif how == "delete":
        del out[head]
    else:
        out[head] = mutated_value(doc[head], how)
    return out


NUMERIC = ("delete", "zero", "negative", "huge", "tiny", "largest", "subnormal", "nan")


def at(doc: Any, path: tuple[Key, ...]) -> Any:
    for k in path:
        doc = doc[k]
    return doc


@st.composite
def mutations(draw, doc: Any, max_steps: int = 3) -> tuple[tuple[tuple[Key, ...], str], ...]:
    """One to ``max_steps`` mutations, each at a key path of the document as it then is. Half
    change a number into another number or delete it, so that many mutants still run."""
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        options = paths(doc)
        numbers = [p for p in options if _is_number(at(doc, p))]
        if numbers and draw(st.booleans()):
            path, how = draw(st.sampled_from(numbers)), draw(st.sampled_from(NUMERIC))
        else:
            path, how = draw(st.sampled_from(options[1:] or options)), draw(
                st.sampled_from(MUTATIONS))
        steps.append((path, how))
        doc = mutate(doc, path, how)
    return tuple(steps)


def apply(doc: Any, steps) -> Any:
    for path, how in steps:
        doc = mutate(doc, path, how)
    return doc


@st.composite
def shipped_mutations(draw):
    name = draw(st.sampled_from(sorted(SHIPPED)))
    return name, draw(mutations(SHIPPED[name]))


KU, KR, TH = "kurakhove-reported.yaml", "kursk.yaml", "theatre.yaml"


@FAST
@given(shipped_mutations())
# a null milestone: its name was read before the item was checked to be a mapping
@example((KU, ((("sectors", "kurakhove", "milestones", 1), "null"),)))
# a list as a distribution's name: looked up in a dict, unhashable
@example((KU, ((("sectors", "kurakhove", "lines", 1, "breach_days", "dist"), "list of it"),)))
# noise with cv 1e300: its mean overflowed to NaN, which passed "mean 1"; NaN progress
@example((TH, ((("sectors", "pokrovsk", "advance", "noise", "sd"), "huge"),)))
# gamma with sd 1e300: sd² raised OverflowError in the engine
@example((KR, ((("sectors", "kursk", "advance", "noise", "sd"), "huge"),)))
# a square-law coefficient of 1e300: cosh overflowed, inf − inf gave NaN troops
@example((KR, ((("sectors", "kursk", "attrition", "attacker"), "huge"),)))
# 1e300 troops: b·A² overflowed (troops are now bounded)
@example((TH, ((("sectors", "kursk", "reinforcements", 0, "troops"), "huge"),)))
# delays of 1e300 days were cast to int64: undefined, platform-dependent
@example((KU, ((("sectors", "kurakhove", "reinforcements", 0, "readiness_days"), "huge"),)))
@example((KU, ((("sectors", "kurakhove", "strikes", 0, "duration_days"), "huge"),)))
@example((KU, ((("sectors", "kurakhove", "strikes", 0, "duration_days", "mean"), "huge"),)))
@example((TH, ((("reserves", "attacker theatre reserve", "transit_days"), "huge"),)))
# gamma with a subnormal mean: its scale sd² / mean overflowed and the draws were NaN
@example((KU, ((("sectors", "kurakhove", "strikes", 0, "duration_days", "mean"), "subnormal"),)))
def test_mutated_shipped_scenarios(case):
    name, steps = case
    check_cli(dump(apply(SHIPPED[name], steps)))


@pytest.mark.soak
@SLOW
@given(shipped_mutations())
def test_mutated_shipped_scenarios_many(case):
    name, steps = case
    check_cli(dump(apply(SHIPPED[name], steps)))


@st.composite
def random_mutations(draw):
    doc = draw(scenarios(max_horizon=200))
    return doc, draw(mutations(doc, max_steps=1))


@FAST
@given(random_mutations())
def test_mutated_random_scenarios(case):
    doc, steps = case
    check_cli(dump(apply(doc, steps)))


@pytest.mark.soak
@SLOW
@given(random_mutations())
def test_mutated_random_scenarios_many(case):
    doc, steps = case
    check_cli(dump(apply(doc, steps)))


# -- random --set overrides ---------------------------------------------------------------------

VALUES = ("0", "-1", "1e300", "1e-300", ".nan", ".inf", "-.inf", "[]", "{}", "null", "", "x",
          "true", "2024-11-20", "[1, 2]", "{dist: gamma, mean: 1, sd: 1e200}", "1" * 400,
          "{dist: [pert]}", "'a\nb'", "!!binary x", "&a [*a]", "[", "2024-02-30")


@st.composite
def overrides(draw):
    """A shipped scenario and one or two ``--set KEY=VALUE``: most keys are key paths of the
    scenario, the rest random words; values are YAML, special or random."""
    name = draw(st.sampled_from(sorted(SHIPPED)))
    dotted = [".".join(map(str, p)) for p in paths(SHIPPED[name])[1:]]
    key = st.one_of(st.sampled_from(dotted), st.sampled_from(dotted),
                    st.text(st.characters(codec="utf-8"), max_size=20))
    value = st.one_of(st.sampled_from(VALUES), st.text(max_size=20),
                      st.floats().map(repr), st.integers().map(str))
    items = draw(st.lists(st.tuples(key, value).map("=".join), min_size=1, max_size=2))
    return name, tuple(items)


@FAST
@given(overrides())
# control characters in a --set item or a key split the error line
@example((KU, ("x\x1ey=1",)))
@example((KU, ("sectors.kurakhove.advance.regimes.states.grinding.next={\"x\\ny\": 1}",)))
# a date no calendar holds: ValueError from the YAML reader
@example((KU, ("start=2024-02-30",)))
# the month after December 9999: ValueError in the engine
@example((KU, ("start=9999-12-01", "horizon_days=30", "sectors.kurakhove.reinforcements=[]")))
@example((KU, ("start=9999-12-01", "sectors.kurakhove.reinforcements=[]")))
# an integer beyond any float: OverflowError
@example((KU, ("sectors.kurakhove.forces.attacker.troops=" + "1" * 400,)))
# a rate of 1e300 × a season of 1e300 is inf; × 0 (the days a line holds) made NaN
@example((KU, ("sectors.kurakhove.advance.base_m_per_day=1e300",
               "sectors.kurakhove.advance.season.mar=1e300")))
# linear law with one side unharmed: 0 × an overflowed exponential made NaN
@example((KU, ("sectors.kurakhove.attrition={model: lanchester_linear, attacker: 0.1, "
               "defender: 0}",)))
# a subnormal axis: an infinite bin scale made NaN bins
@example((KU, ("sectors.kurakhove.length_km=5e-324", "sectors.kurakhove.milestones=[]",
               "sectors.kurakhove.lines=[]")))
def test_random_overrides(case):
    name, sets = case
    check_cli(dump(SHIPPED[name]), sets)


@pytest.mark.soak
@SLOW
@given(overrides())
def test_random_overrides_many(case):
    name, sets = case
    check_cli(dump(SHIPPED[name]), sets)


def test_every_shipped_scenario_passes_unmutated():
    for name, doc in SHIPPED.items():
        assert check_cli(dump(doc)) == 0, name


def test_mutations_reach_every_key_of_every_shipped_scenario():
    """Each shipped scenario's paths, all of which the strategy can pick."""
    for doc in SHIPPED.values():
        ps = paths(doc)
        assert len(ps) > 60
        for p in ps[1:]:
            assert mutate(doc, p, "delete") != doc
