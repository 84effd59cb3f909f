"""The one way a number is shown (sim.presentation.numbers): what each rule promises, checked
over the whole range with Hypothesis where a rule is a property."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from sim.presentation import numbers as n

unit = st.floats(min_value=0, max_value=1, allow_nan=False)


@given(unit, st.integers(min_value=1, max_value=4))
def test_a_probability_reads_0_or_1_only_when_it_is_exactly_that(p, digits):
    text = n.probability(p, digits)
    assert (text in ("0", "1")) == (p in (0.0, 1.0))
    if text.startswith(("<", ">")):
        bound = float(text[2:])
        assert (p < bound) if text[0] == "<" else (p > bound)
    elif text not in ("0", "1"):
        assert abs(float(text) - p) <= 0.5 * 10 ** -digits + 1e-12


def test_probabilities_near_the_ends():
    assert n.probability(0.998) == "> 0.99"
    assert n.probability(0.998, 3) == "0.998"
    assert n.probability(0.0004, 3) == "< 0.001"
    assert n.probability(None) == n.MISSING


@given(st.floats(min_value=0, max_value=1, allow_nan=False))
def test_a_pvalue_is_floored_and_keeps_its_relation(p):
    text = n.pvalue(p)
    rel, value = text.split(" ", 1)
    if p < n.P_FLOOR:
        assert (rel, float(value)) == ("<", n.P_FLOOR)
    else:
        assert rel == "=" and abs(float(value) - p) <= max(5e-4, 0.05 * p)
    assert "e-2" not in text or p >= 1e-29   # never 2e-286


@given(st.floats(min_value=0, max_value=10_000, allow_nan=False),
       st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)))
def test_a_day_and_its_date_agree(d, start):
    assert dt.date.fromisoformat(n.date(start, d)) == start + dt.timedelta(days=int(n.day(d)))
    assert int(n.day(d)) <= d < int(n.day(d)) + 1


def test_censored_days_and_dates_read_the_same():
    assert n.day(None) == n.date(dt.date(2024, 11, 20), None) == n.CENSORED
    assert n.day(float("nan")) == n.CENSORED


@given(st.lists(st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)),
                min_size=1, max_size=8), st.integers(min_value=1, max_value=4))
def test_a_column_shares_its_decimals_and_uses_an_ascii_minus(values, sig):
    cells = n.column(values, sig)
    shown = [c for c, v in zip(cells, values) if v is not None]
    assert len({len(c.split(".")[1]) if "." in c else 0 for c in shown}) <= 1
    assert all("−" not in c for c in cells)
    biggest = max((abs(v) for v in values if v is not None), default=0)
    for c, v in zip(cells, values):
        if v is not None and biggest:
            assert abs(float(c.replace(",", "")) - v) <= 0.51 * 10 ** (
                -n.decimals_for(values, sig)) + 1e-9 * abs(v)


def test_numbers_read_as_people_write_them():
    assert n.number(25000.0) == "25,000"
    assert n.number(0.15345) == "0.153"
    assert n.number(2.0) == "2"
    assert n.signed(-1.5, 1) == "-1.5" and n.signed(2, 0) == "+2"
    assert n.same(["1.3"] * 28) == "1.3" and n.same(["1.3", "1.4"]) is None
