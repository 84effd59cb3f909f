"""The frame column of observed series, and calibrate reading distance-remaining series."""

from __future__ import annotations

import numpy as np
import pytest

from sim.data.observed import parse_observed
from sim.errors import ObservedError
from sim.fitting.calibrate import calibrate

ADVANCED = "date,sector,value\n2024-10-01,a,0\n2024-10-08,a,1.5\n2024-10-15,a,2\n2024-10-29,a,4\n"
REMAINING = ("date,sector,value,frame\n2024-10-01,a,3,remaining_km\n2024-10-08,a,1.5,remaining_km\n"
             "2024-10-15,a,1,remaining_km\n2024-10-29,a,-1,remaining_km\n")


def test_frame_defaults_to_advanced_and_is_not_an_extra_column():
    assert parse_observed(ADVANCED)["a"].frame == "advanced_km"
    s = parse_observed(REMAINING)["a"]
    assert s.frame == "remaining_km" and "frame" not in s.extra
    np.testing.assert_array_equal(s.values, [3, 1.5, 1, -1])  # negative: past the objective
    np.testing.assert_array_equal(s.advanced().values, [0, 1.5, 2, 4])
    assert s.between(None, None).frame == "remaining_km"


def test_remaining_km_calibrates_like_the_same_advance():
    a = calibrate(parse_observed(ADVANCED)["a"], cv=0.5)
    r = calibrate(parse_observed(REMAINING)["a"], cv=0.5)
    assert r.kind == "axis"
    assert r.fit.rate_m_per_day == pytest.approx(a.fit.rate_m_per_day)
    assert r.fit.rate_m_per_day == pytest.approx(4000 / 28)
    assert r.fit.rate_ci == pytest.approx(a.fit.rate_ci)


def test_held_km2_frame_is_an_area_sector():
    s = parse_observed("date,sector,value,frame\n2024-08-22,k,1376,held_km2\n"
                       "2024-11-20,k,800,held_km2\n")["k"]
    c = calibrate(s, front_km=60, cv=0.7)
    assert c.kind == "area"
    assert c.fit.rate_m_per_day == pytest.approx(576 / 60 * 1000 / 90)
    with pytest.raises(ObservedError, match="frame held_km2, which is an area sector"):
        calibrate(s, kind="axis", cv=0.7)


def test_remaining_distance_that_grows_is_a_setback():
    s = parse_observed("date,sector,value,frame\n2024-10-01,a,3,remaining_km\n"
                       "2024-10-08,a,3.5,remaining_km\n")["a"]
    with pytest.raises(ObservedError, match=r"the distance remaining grows from 3 to 3\.5 km"):
        calibrate(s, cv=0.5)


@pytest.mark.parametrize(("text", "line", "word"), [
    ("date,sector,value,frame\n2024-10-01,a,3,remaining\n", 2,
     "unknown frame 'remaining' (did you mean 'remaining_km'?)"),
    ("date,sector,value,frame\n2024-10-01,a,3,remaining_km\n2024-10-02,a,2,advanced_km\n", 3,
     "sector 'a' is in frame advanced_km here but remaining_km on line 2"),
    ("date,sector,value,frame\n2024-10-01,a,-3,advanced_km\n", 2, "must be >= 0"),
])
def test_bad_frames_are_located(text, line, word):
    with pytest.raises(ObservedError) as e:
        parse_observed(text, file="f.csv")
    assert e.value.line == line and word in str(e.value)
