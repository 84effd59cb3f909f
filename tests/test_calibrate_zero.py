"""Calibrate on map-like series, whose days with no change are part of the model: the
zero-inflated likelihood against a brute-force sum, recovery and interval coverage on series
from the model, one summary line for gaps, a fit check that says when it rejects, and an
advance block the engine runs.

Coverage: of N = 40 independent series, the count whose 95% interval holds the true rate is
Binomial(40, 0.95) if the intervals are right; below 33 has probability < 0.001.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import edited
from scipy import stats

from sim.cli import cli
from sim.data.observed import ObservedSeries
from sim.fitting.calibrate import calibrate, fit_zero_inflated, zi_cdf, zi_loglik
from sim.model import builder as B
from sim.model.loader import parse_scenario
from sim.running.runner import simulate

START = dt.date(2024, 6, 1)


def zi_series(rng: np.random.Generator, rate: float, p: float, cv: float, n: int,
              max_gap: int = 7):
    """Whole-day gaps and the metres advanced over each, drawn day by day from the model."""
    gap = rng.integers(1, max_gap + 1, n)
    moves = rng.uniform(size=(n, max_gap)) < p
    amount = rng.gamma(1 / cv**2, rate / p * cv**2, size=(n, max_gap)) * moves
    d = np.array([amount[i, : gap[i]].sum() for i in range(n)])
    return gap.astype(float), d


def as_series(days, values, sector: str = "s") -> ObservedSeries:
    return ObservedSeries(
        sector=sector, dates=tuple(START + dt.timedelta(days=int(d)) for d in days),
        values=np.asarray(values, dtype=float), lines=tuple(range(2, 2 + len(days))),
        file="f.csv",
    )


def brute_density(rate, p, k, gap, x):
    n = int(gap)
    return sum(stats.binom.pmf(j, n, p) * stats.gamma.pdf(x, j * k, scale=rate / (p * k))
               for j in range(1, n + 1))


def test_likelihood_and_cdf_against_a_brute_force_sum():
    rate, p, k = 120.0, 0.35, 1.7
    gap = np.array([1.0, 4.0, 2.0, 9.0, 3.0])
    d = np.array([0.0, 510.0, 0.0, 1300.0, 42.0])
    expected = (math.log(1 - p) + math.log(brute_density(rate, p, k, 4, 510))
                + 2 * math.log(1 - p) + math.log(brute_density(rate, p, k, 9, 1300))
                + math.log(brute_density(rate, p, k, 3, 42)))
    assert zi_loglik(rate, p, k, gap, d) == pytest.approx(expected, rel=1e-12)
    from scipy import integrate

    mass = (1 - p) ** 4 + integrate.quad(lambda x: brute_density(rate, p, k, 4, x), 0, 510)[0]
    assert zi_cdf(rate, p, k, 4, 510.0) == pytest.approx(mass, rel=1e-7)


def test_the_rate_is_the_total_over_the_time_and_the_fit_is_a_maximum():
    gap, d = zi_series(np.random.default_rng(3), 100.0, 0.4, 0.8, 80)
    f = fit_zero_inflated(gap, d)
    assert f.rate_m_per_day == pytest.approx(d.sum() / gap.sum(), rel=1e-6)
    k = 1 / f.cv**2
    best = zi_loglik(f.rate_m_per_day, f.p_move, k, gap, d)
    assert f.loglik == pytest.approx(best, rel=1e-10)
    for dr, dp, dk in [(1.02, 1, 1), (0.98, 1, 1), (1, 1.03, 1), (1, 0.97, 1), (1, 1, 1.05),
                       (1, 1, 0.95)]:
        assert zi_loglik(f.rate_m_per_day * dr, f.p_move * dp, k * dk, gap, d) < best
    # the Wald intervals hold the estimates
    assert f.rate_ci[0] < f.rate_m_per_day < f.rate_ci[1]
    assert f.p_move_ci[0] < f.p_move < f.p_move_ci[1]


def test_intervals_cover_the_truth_at_their_rate():
    rng = np.random.default_rng(11)
    hits = {"rate": 0, "p": 0}
    for _ in range(40):
        gap, d = zi_series(rng, 150.0, 0.3, 0.7, 40)
        f = fit_zero_inflated(gap, d)
        hits["rate"] += f.rate_ci[0] <= 150.0 <= f.rate_ci[1]
        hits["p"] += f.p_move_ci[0] <= 0.3 <= f.p_move_ci[1]
    assert hits["rate"] >= 33 and hits["p"] >= 33, hits


def test_a_map_series_is_fitted_with_zero_days_and_one_line_for_the_gaps(tmp_path):
    # unchanged maps on 3 dates, one tiny setback (a redraw) that --setbacks merge pools
    km = [10.0, 9.0, 9.0, 8.2, 8.2, 8.2, 7.0, 7.1, 6.5, 6.5, 5.0, 4.2]
    rows = "".join(f"{START + dt.timedelta(days=7 * i)},a,{v},remaining_km\n"
                   for i, v in enumerate(km))
    obs = tmp_path / "map.csv"
    obs.write_text("date,sector,value,frame\n" + rows)
    r = CliRunner().invoke(cli, ["calibrate", str(obs), "--setbacks", "merge"])
    assert r.exit_code == 0, r.output
    gap_lines = [ln for ln in r.stdout.splitlines() if ln.startswith("Gaps:")]
    assert gap_lines == ["Gaps: 10: 6 with an advance; 4 with none (28 days of no change: part "
                         "of the model); 1 setback pooled with a neighbouring gap (first: the "
                         "attacker lost ground from 2024-07-13 to 2024-07-20: 7 km remaining, "
                         "then 7.1 km)"]
    assert "p_move (share of days moving)" in r.stdout
    r = CliRunner().invoke(cli, ["calibrate", str(obs), "--setbacks", "merge", "--json"])
    import json

    out = json.loads(r.stdout)
    assert out["zero_increments"] == 4 and out["setbacks_merged"] == 1
    assert out["rate_m_per_day"]["estimate"] == pytest.approx((10 - 4.2) / 77 * 1000, rel=1e-5)
    assert out["advance"]["noise"]["dist"] == "zero_inflated_gamma"


def test_the_printed_block_runs_in_the_engine_with_the_fitted_mean():
    gap, d = zi_series(np.random.default_rng(5), 200.0, 0.5, 0.6, 60)
    days = np.r_[0, np.cumsum(gap)]
    cal = calibrate(as_series(days, np.r_[0, np.cumsum(d)] / 1000))
    assert cal.zero_inflated and not cal.rejected
    # the printed block, as read, in place of a built sector's advance
    advance = yaml.safe_load(cal.advance_yaml())["advance"]
    sc = parse_scenario(edited(B.scenario(
        B.axis("s", length_km=1000, objective="far", attacker=1, defender=1, advance=1),
        name="fitted", start="2024-06-01", horizon_days=50), {"sectors.s.advance": advance}))
    assert sc.sectors[0].advance == cal.advance  # the printed block is the fitted one
    noise = sc.sectors[0].advance.noise
    assert noise.p_move == pytest.approx(cal.fit.p_move, rel=2e-3)
    moving_cv = math.sqrt(noise.p_move * (noise.sd**2 + 1) - 1)
    assert moving_cv == pytest.approx(cal.fit.cv, rel=0.01)
    x = simulate(sc, replications=3000, seed=1).sectors["s"].progress[:, -1]
    assert x.mean() == pytest.approx(cal.fit.rate_m_per_day * 50 / 1000, rel=0.03)
    assert yaml.safe_load(cal.advance_yaml())["advance"]["noise"]["dist"] == \
        "zero_inflated_gamma"


def test_a_rejected_fit_is_not_offered_as_good():
    # a slow month, then a fast one: the pace changed, and the increments say so
    rng = np.random.default_rng(2)
    g1, d1 = zi_series(rng, 30.0, 0.3, 0.5, 25, max_gap=3)
    g2, d2 = zi_series(rng, 400.0, 0.9, 0.5, 25, max_gap=3)
    gap, d = np.r_[g1, g2], np.r_[d1, d2]
    cal = calibrate(as_series(np.r_[0, np.cumsum(gap)], np.r_[0, np.cumsum(d)] / 1000))
    assert cal.rejected
    from sim.presentation.text_fits import format_calibration

    text = format_calibration(cal)
    assert "the fit check REJECTS the model" in text
    assert "Not a model of this series" in text and "regimes" in text
    assert "paste into the sector" not in text
    assert "# REJECTED by the fit check" in cal.advance_yaml()
    assert cal.to_dict()["goodness_of_fit"]["rejected"] is True
