"""The forecast layer's parts: the censored CRPS against its integral, the quantile table
scored as the ensembles it came from, notes merged by kind, and the shared baselines."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from sim.forecast import notes as N
from sim.forecast.forecasters import (
    TRAILING_DAYS,
    persistence_fall,
    trailing_rate_fall,
    trailing_window,
)
from sim.forecast.notes import Note, merged
from sim.forecast.origins import thinned
from sim.forecast.quantiles import QuantileTable
from sim.forecast.scores import censored_crps, fair_crps, wis


def _exp_crps(lam: float, y: float, cap: float, fell: bool) -> float:
    """∫_0^cap (F(x) − 1{y ≤ x})² dx for F exponential with rate lam, in closed form."""
    def f2(a, b):  # ∫_a^b F²
        return (b - a) + 2 * (math.exp(-lam * b) - math.exp(-lam * a)) / lam \
            - (math.exp(-2 * lam * b) - math.exp(-2 * lam * a)) / (2 * lam)
    if not fell:
        return f2(0.0, cap)
    return f2(0.0, y) + (math.exp(-2 * lam * y) - math.exp(-2 * lam * cap)) / (2 * lam)


@pytest.mark.parametrize(("y", "fell"), [(30.0, True), (90.0, True), (100.0, False)])
def test_censored_crps_is_the_integral_up_to_the_cap(y, fell):
    lam, cap, m = 1 / 50, 100.0, 40_000
    x = np.random.default_rng(7).exponential(1 / lam, m)
    got = censored_crps(x, y, fell=fell, cap=cap)
    xc = np.minimum(x, cap)
    se = np.std(np.abs(xc - min(y, cap))) / math.sqrt(m)  # the estimator's own spread
    assert got == pytest.approx(_exp_crps(lam, y, cap, fell), abs=4 * se)


def test_a_censored_fall_needs_nothing_past_the_cap():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 300, 500)
    far = np.where(x > 100, x * 50, x)  # the same forecast up to the cap
    assert censored_crps(x, 100, fell=False, cap=100) == censored_crps(far, 100, fell=False,
                                                                       cap=100)
    # all mass beyond the end of the data, and the town stood: a perfect score
    assert censored_crps(np.full(10, 400.0), 100, fell=False, cap=100) == 0.0
    # and fell on day 40 instead: the absolute error of the capped forecast
    assert censored_crps(np.full(10, 400.0), 40, fell=True, cap=100) == pytest.approx(60.0)
    assert fair_crps(np.array([100.0]), 40.0) == pytest.approx(60.0)


def test_the_quantile_table_scores_as_the_ensembles_it_came_from():
    rng = np.random.default_rng(3)
    members = rng.gamma(2.0, 3.0, size=(400, 3)).cumsum(axis=1)
    days = np.array([7, 14, 21])
    y = np.array([5.0, 13.0, 30.0])
    table = QuantileTable.of_ensembles([(dt.date(2024, 6, 1), "advance_km", "north", days,
                                         members)])
    assert len(table) == 3 * 23
    got = table.wis({("2024-06-01", "advance_km", int(d), "north"): float(v)
                     for d, v in zip(days, y)})
    assert [got[("2024-06-01", "advance_km", int(d), "north")] for d in days] == \
        pytest.approx(wis(members, y).tolist(), rel=1e-12)


def test_quantile_table_round_trips_through_csv(tmp_path):
    table = QuantileTable.from_rows([("2024-06-01", "held_km2", 3, "kursk, west", 0.5, 12.25),
                                     ("2024-06-01", "held_km2", 3, "kursk, west", 0.9, 20.5)])
    back = QuantileTable.read(table.write(tmp_path / "new" / "q.csv"))  # its folder made
    assert back.location == ("kursk, west",) * 2 and back.value.tolist() == [12.25, 20.5]
    assert back.horizon.tolist() == [3, 3] and back.output_type_id.tolist() == [0.5, 0.9]


def test_notes_merge_by_kind_and_sum_counts():
    a = [Note(kind=N.NOT_SCORED, count=3, detail={"reasons": {N.ALREADY_FALLEN: 3}}),
         Note(kind=N.BEYOND_HORIZON, count=2, detail={"horizon_days": 90}),
         Note(kind=N.UNUSED_SERIES, detail={"names": ["x"]})]
    b = [Note(kind=N.NOT_SCORED, count=5, detail={"reasons": {N.ALREADY_FALLEN: 1,
                                                              N.NONE_WITHIN_HORIZON: 4}}),
         Note(kind=N.BEYOND_HORIZON, count=7, detail={"horizon_days": 90}),
         Note(kind=N.UNUSED_SERIES, detail={"names": ["x"]})]
    out = merged([*a, *b])
    assert [n.kind for n in out] == [N.UNUSED_SERIES, N.NOT_SCORED, N.BEYOND_HORIZON]
    assert out[1].detail["reasons"] == {N.ALREADY_FALLEN: 4, N.NONE_WITHIN_HORIZON: 4}
    assert out[1].count == 8 and out[2].count == 9


def test_the_trailing_rate_uses_its_window_only():
    rel = np.array([-200.0, -90.0, -60.0, -30.0, 0.0, 10.0])
    assert trailing_window(rel) == (1, 4) and TRAILING_DAYS == 90
    assert trailing_window(rel, 20) is None  # one observation within 20 days
    remaining = np.array([20.0, 9.0, 8.0, 7.0, 6.0, 0.0])  # 3 km in 90 days; later data unseen
    assert trailing_rate_fall(6.0, rel, remaining, cap=1000)[0] == pytest.approx(180.0)
    assert trailing_rate_fall(6.0, rel, remaining, cap=100)[0] == 100.0
    stood = np.full(6, 6.0)
    assert trailing_rate_fall(6.0, rel, stood, cap=50)[0] == 50.0
    assert persistence_fall(50).tolist() == [50.0]


def test_origins_thinned_never_closer_than_every_days():
    d0 = dt.date(2024, 1, 1)
    dates = [d0 + dt.timedelta(days=k) for k in (0, 10, 29, 30, 45, 61, 100)]
    picked = thinned(dates, 30, date=lambda d: d)
    assert [(d - d0).days for d in picked] == [0, 30, 61, 100]
