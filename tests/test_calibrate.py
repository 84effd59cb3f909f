"""Calibration: the gamma-increment fit recovers known parameters, its intervals cover them at
their stated rate, and ``advsim calibrate`` prints a fit that loads as a scenario's advance block.

Coverage tests count how many of N independent series have the truth inside the 95% interval.
For a 95% procedure the count is Binomial(N, 0.95); a count below LO, where P(count < LO) <
0.001, fails (N = 100: LO = 87; N = 60: LO = 51). The seeds are fixed, so a pass is repeatable.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import edited
from scipy import optimize, stats

from sim.cli import cli
from sim.data.observed import ObservedSeries, read_observed
from sim.errors import ObservedError
from sim.fitting.calibrate import calibrate, fit_gamma_increments, increments, loglik
from sim.model import builder as B
from sim.model import distributions as D
from sim.model.loader import parse_scenario
from sim.running.runner import simulate

ROOT = Path(__file__).resolve().parents[1]
CHI2_95 = stats.chi2.ppf(0.95, 1)
START = dt.date(2024, 6, 1)


def gamma_series(rng: np.random.Generator, rate: float, cv: float, n: int, max_gap: int = 14):
    """Irregular whole-day gaps and the metres advanced over each, from the model itself."""
    gap = rng.integers(1, max_gap + 1, n).astype(float)
    return gap, rng.gamma(gap / cv**2, rate * cv**2)


def as_series(days, values, sector: str = "s", file: str = "<test>") -> ObservedSeries:
    return ObservedSeries(
        sector=sector, dates=tuple(START + dt.timedelta(days=int(d)) for d in days),
        values=np.asarray(values, dtype=float), lines=tuple(range(2, 2 + len(days))), file=file,
    )


def write_csv(path: Path, days, values, sector: str = "s") -> Path:
    rows = [f"{START + dt.timedelta(days=int(d))},{sector},{v:.9g}" for d, v in zip(days, values)]
    path.write_text("date,sector,value\n" + "\n".join(rows) + "\n")
    return path


# -- the estimates --------------------------------------------------------------------------------


def test_maximum_likelihood_agrees_with_a_generic_optimiser_and_profile_ends_at_the_cut():
    gap, d = gamma_series(np.random.default_rng(5), 100.0, 0.8, 30)
    fit = fit_gamma_increments(gap, d)
    assert fit.rate_m_per_day == pytest.approx(d.sum() / gap.sum(), rel=1e-12)

    def nll(p):
        return -stats.gamma.logpdf(d, gap * math.exp(p[1]),
                                   scale=math.exp(p[0] - p[1])).sum()

    res = optimize.minimize(nll, [math.log(90), 0.0], method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 10_000})
    assert math.exp(res.x[0]) == pytest.approx(fit.rate_m_per_day, rel=1e-6)
    assert math.exp(-res.x[1] / 2) == pytest.approx(fit.cv, rel=1e-5)
    assert -res.fun == pytest.approx(fit.loglik, abs=1e-8)
    assert loglik(fit.rate_m_per_day, fit.cv**-2, gap, d) == pytest.approx(fit.loglik)
    # at each end of the rate's interval the profile log-likelihood is chi2(1, .95)/2 below
    for r in fit.rate_ci:
        prof = -optimize.minimize_scalar(lambda lk, r=r: nll([math.log(r), lk]),
                                         bounds=(-10, 10), method="bounded").fun
        assert 2 * (fit.loglik - prof) == pytest.approx(CHI2_95, abs=1e-4)
    # and at each end of cv's (the rate's estimate does not depend on cv)
    for cv in fit.cv_ci:
        at_end = -nll([math.log(fit.rate_m_per_day), -2 * math.log(cv)])
        assert 2 * (fit.loglik - at_end) == pytest.approx(CHI2_95, abs=1e-6)
    assert fit.cv_ci[0] < fit.cv < fit.cv_ci[1]


def test_profile_intervals_cover_known_parameters_about_95_percent():
    rate, cv, n_series = 250.0, 0.6, 100
    cover_rate = cover_cv = 0
    widths, exact_widths = [], []
    for seed in range(n_series):
        gap, d = gamma_series(np.random.default_rng(seed), rate, cv, 40)
        fit = fit_gamma_increments(gap, d)
        cover_rate += fit.rate_ci[0] <= rate <= fit.rate_ci[1]
        cover_cv += fit.cv_ci[0] <= cv <= fit.cv_ci[1]
        widths.append(fit.rate_ci[1] - fit.rate_ci[0])
        known = fit_gamma_increments(gap, d, cv=cv)
        exact_widths.append(known.rate_ci[1] - known.rate_ci[0])
    assert cover_rate >= 87, cover_rate
    assert cover_cv >= 87, cover_cv
    # not covering by being too wide: about as wide as the exact interval with cv known
    assert 0.85 < np.mean(widths) / np.mean(exact_widths) < 1.2


def test_exact_interval_with_a_fixed_cv_covers_95_percent_even_from_one_gap():
    # Binomial(200, 0.95): P(count < 179) and P(count > 198) are each below 0.001.
    rate, cv = 250.0, 0.8
    hits = 0
    for seed in range(200):
        gap, d = gamma_series(np.random.default_rng(1000 + seed), rate, cv, 1, max_gap=60)
        fit = fit_gamma_increments(gap, d, cv=cv)
        hits += fit.rate_ci[0] <= rate <= fit.rate_ci[1]
        assert fit.cv_fixed and fit.ks_pvalue is None
    assert 179 <= hits <= 198, hits


def test_engine_generated_series_are_recovered():
    """Sixty series from the engine itself (fixed base, gamma noise), observed on irregular days:
    the fit is unbiased for the rate, and both intervals cover the truth about 95% of the time."""
    base, cv = 250.0, 0.6
    rng = np.random.default_rng(3)
    days = np.unique(np.cumsum(rng.integers(2, 13, 45)))
    days = days[days <= 300]
    sc = B.checked(B.scenario(
        B.axis("s", length_km=10000, objective="out of reach",
               advance=B.advance(base, noise=D.Gamma(mean=1, sd=cv))),
        name="calibration truth", start=START, horizon_days=int(days[-1]),
        checkpoints_days=days.tolist()))
    progress = simulate(sc, replications=60, seed=17).sectors["s"].progress
    fits = [calibrate(as_series(np.r_[0, days], np.r_[0.0, row])) for row in progress]
    rates = np.array([f.fit.rate_m_per_day for f in fits])
    cvs = np.array([f.fit.cv for f in fits])
    # the rate's estimate has sd base*cv/sqrt(T): the mean of 60 within 5 standard errors
    se = base * cv / math.sqrt(days[-1]) / math.sqrt(len(fits))
    assert abs(rates.mean() - base) < 5 * se
    assert abs(np.median(cvs) - cv) < 0.05
    assert sum(f.fit.rate_ci[0] <= base <= f.fit.rate_ci[1] for f in fits) >= 51
    assert sum(f.fit.cv_ci[0] <= cv <= f.fit.cv_ci[1] for f in fits) >= 51


def test_area_sector_converts_through_the_front():
    rate, cv, front_km = 105.0, 0.7, 60.0
    gap, d = gamma_series(np.random.default_rng(8), rate, cv, 30)
    days = np.r_[0, np.cumsum(gap)]
    held = 1376 - np.r_[0, np.cumsum(d)] * front_km / 1000  # km² taken = front x advance
    cal = calibrate(as_series(days, held), kind="area", front_km=front_km)
    direct = fit_gamma_increments(gap, d)
    assert cal.fit.rate_m_per_day == pytest.approx(direct.rate_m_per_day, rel=1e-9)
    assert cal.fit.cv == pytest.approx(direct.cv, rel=1e-6)
    out = cal.to_dict()
    assert out["rate_km2_per_day"]["estimate"] == pytest.approx(
        direct.rate_m_per_day * front_km / 1000, rel=1e-5)
    assert out["rate_km2_per_day"]["ci95"][0] < out["rate_km2_per_day"]["estimate"]


def test_goodness_of_fit_flags_a_change_of_pace_and_passes_the_model():
    rng = np.random.default_rng(21)
    gap1, d1 = gamma_series(rng, 100.0, 0.5, 30)
    gap2, d2 = gamma_series(rng, 400.0, 0.5, 30)
    changed = fit_gamma_increments(np.r_[gap1, gap2], np.r_[d1, d2])
    assert min(changed.ks_pvalue, changed.lag1_pvalue) < 0.001
    assert changed.lag1 > 0.3  # slow gaps follow slow gaps
    gap, d = gamma_series(rng, 250.0, 0.5, 60)
    fine = fit_gamma_increments(gap, d)
    assert min(fine.ks_pvalue, fine.lag1_pvalue) > 0.001


# -- setbacks and degenerate series ---------------------------------------------------------------


def test_a_setback_is_an_error_at_its_line_or_is_merged_keeping_the_rate():
    days, km = [0, 10, 20, 30, 40, 50], [0.0, 2.0, 1.5, 5.0, 7.0, 9.5]
    s = as_series(days, km, file="f.csv")
    with pytest.raises(ObservedError) as e:
        increments(s)
    assert (e.value.line, e.value.key) == (4, "value")
    assert "lost ground from 2024-06-11 to 2024-06-21" in str(e.value)
    inc = increments(s, setbacks="merge")
    assert inc.gap_days.tolist() == [10, 20, 10, 10]  # the setback pooled with the next gap
    np.testing.assert_allclose(inc.advance_m, [2000, 3000, 2000, 2500])
    cal = calibrate(s, setbacks="merge")
    assert cal.fit.rate_m_per_day == pytest.approx(9500 / 50)
    assert cal.to_dict()["setbacks_merged"] == 1


def test_trailing_setbacks_merge_backwards_and_no_net_advance_is_an_error():
    inc = increments(as_series([0, 5, 10, 15], [0, 1, 3, 2.5]), setbacks="merge")
    assert inc.gap_days.tolist() == [5, 10] and inc.advance_m.tolist() == [1000, 1500]
    with pytest.raises(ObservedError, match="no net advance"):
        increments(as_series([0, 5, 10], [2, 1, 2]), setbacks="merge")


def test_held_area_growing_is_a_setback_too():
    with pytest.raises(ObservedError, match="held area grew"):
        increments(as_series([0, 5, 10], [800, 780, 790]), kind="area", front_km=60)


def test_too_few_increments_or_a_straight_line_ask_for_a_fixed_cv():
    with pytest.raises(ObservedError, match="needs at least 3"):
        calibrate(as_series([0, 10, 20], [0, 2, 5]))
    with pytest.raises(ObservedError, match="straight line"):
        calibrate(as_series([0, 10, 20, 25], [0, 2.5, 5, 6.25]))
    assert calibrate(as_series([0, 10, 20, 25], [0, 2.5, 5, 6.25]), cv=0.5).fit.rate_m_per_day \
        == pytest.approx(250)


# -- the command ----------------------------------------------------------------------------------


def test_json_has_the_documented_shape(tmp_path):
    gap, d = gamma_series(np.random.default_rng(2), 180.0, 0.9, 25)
    path = write_csv(tmp_path / "o.csv", np.r_[0, np.cumsum(gap)], np.r_[0, np.cumsum(d)] / 1000,
                     sector="north")
    r = CliRunner().invoke(cli, ["calibrate", str(path), "--sector", "north", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["sector"] == "north" and out["kind"] == "axis"
    assert out["n_obs"] == 26 and out["n_increments"] == 25
    lo, hi = out["rate_m_per_day"]["ci95"]
    assert lo < out["rate_m_per_day"]["estimate"] < hi
    assert set(out["cv"]) == {"estimate", "ci95", "fixed"} and out["cv"]["fixed"] is False
    assert len(out["goodness_of_fit"]["pit"]) == 25
    assert out["advance"]["noise"] == {"dist": "gamma", "mean": 1, "sd": out["advance"]["noise"]
                                       ["sd"]}


def test_the_printed_advance_block_loads_as_a_scenario(tmp_path):
    gap, d = gamma_series(np.random.default_rng(4), 120.0, 0.7, 20)
    path = write_csv(tmp_path / "o.csv", np.r_[0, np.cumsum(gap)],
                     800 - np.r_[0, np.cumsum(d)] * 60 / 1e6, sector="kursk")
    r = CliRunner().invoke(cli, ["calibrate", str(path), "--front-km", "60"])
    assert r.exit_code == 0, r.output
    assert "rate, km²/day" in r.stdout and "Goodness of fit" in r.stdout
    block = r.stdout.split("Fitted advance block (paste into the sector):\n\n", 1)[1]
    advance = yaml.safe_load(textwrap.dedent(block))["advance"]
    # the printed block, as read, in place of a built sector's advance
    sc = parse_scenario(edited(B.scenario(
        B.area("kursk", area_km2=800, front_km=60, objective="gone", objective_km2=10,
               attacker=1, defender=1, advance=1),
        name="fitted", start=START, horizon_days=30), {"sectors.kursk.advance": advance}))
    fit = calibrate(read_observed(path)["kursk"], kind="area", front_km=60).fit
    assert sc.sectors[0].advance.base_m_per_day.mean == pytest.approx(fit.rate_m_per_day,
                                                                      rel=1e-3)
    assert math.sqrt(sc.sectors[0].advance.noise.variance) == pytest.approx(fit.cv, rel=1e-2)


@pytest.mark.parametrize(("args", "message"), [
    (["--geometry", "area"], "kursk: an area sector needs --front-km (the front length "
                             "converts"),
    (["--geometry", "axis", "--front-km", "60"], "kursk: --front-km applies to area sectors "
                                                 "(use --geometry area)"),
    ([], "kursk: the values fall from 1376 to 800: if they are km² held, use --geometry area "
         "with --front-km"),
    (["--front-km", "60"], "kursk: 1 increment between observations; fitting the daily "
                           "variability needs at least 3 (or fix it with --cv)"),
])
def test_inconsistent_options_are_one_line_and_exit_2(args, message):
    path = ROOT / "scenarios/observed/kursk-donetsk-nov2024.csv"
    r = CliRunner().invoke(cli, ["calibrate", str(path), "--sector", "kursk", *args])
    assert r.exit_code == 2
    assert r.stderr.startswith(f"{path}: {message}") and r.stderr.count("\n") == 1, r.stderr


def test_example_data_fits_with_a_fixed_cv():
    path = ROOT / "scenarios/observed/kursk-donetsk-nov2024.csv"
    r = CliRunner().invoke(cli, ["calibrate", str(path), "--sector", "kursk", "--front-km", "60",
                                 "--cv", "0.7", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    # 576 km² in 90 days over 60 km: 106.7 m/day, 6.4 km²/day
    assert out["rate_m_per_day"]["estimate"] == pytest.approx(576 / 90 / 60 * 1000, rel=1e-5)
    assert out["rate_km2_per_day"]["estimate"] == pytest.approx(6.4, rel=1e-5)
    assert out["interval_method"] == "exact, given the fixed cv"


def test_old_spellings_of_released_flags_are_gone():
    """0.1.0 had no users: --kind (now --geometry) is no option of calibrate."""
    path = ROOT / "scenarios/observed/kursk-donetsk-nov2024.csv"
    r = CliRunner().invoke(cli, ["calibrate", str(path), "--sector", "kursk", "--front-km", "60",
                                 "--kind", "area"])
    assert r.exit_code == 2 and "No such option '--kind'" in r.output


def test_a_long_series_shows_its_reading_and_fitting_on_a_terminal(tmp_path, monkeypatch):
    """A million rows take seconds to read: the reading reports every ROWS_PER_REPORT lines,
    the line moves forward only, and it is erased before the fit is printed."""
    from sim.data import observed
    from sim.presentation.progress import Progress

    real = Progress.__init__
    monkeypatch.setattr(Progress, "__init__", lambda self, *a, **k: real(
        self, *a, **{**k, "delay": 0.0, "rate": 1e9}))
    monkeypatch.setattr(observed, "ROWS_PER_REPORT", 10)
    gap, d = gamma_series(np.random.default_rng(3), 80.0, 0.6, 45, max_gap=1)
    days = np.concatenate([[0], np.cumsum(gap)]).astype(int)
    path = tmp_path / "long.csv"
    path.write_text("date,sector,value\n" + "".join(
        f"{dt.date(2024, 1, 1) + dt.timedelta(days=int(t))},s,{v / 1000:.6f}\n"
        for t, v in zip(days, np.concatenate([[0], np.cumsum(d)]))))
    r = CliRunner().invoke(cli, ["calibrate", str(path)], env={"ADVSIM_PROGRESS": "1"})
    assert r.exit_code == 0, r.output
    parts = [p for p in r.stderr.split("\r") if p.strip("\033[K")]
    assert [p.split(" · ")[0] for p in parts] == [
        *(f"advsim calibrate: reading {n}/47" for n in (10, 20, 30, 40)),
        "advsim calibrate: fitting"]
    shares = [int(p.split(" · ")[1].rstrip("%")) for p in parts]
    assert shares == sorted(shares) and r.stderr.endswith("\r\033[K")
    assert r.stdout.startswith("s (axis): 46 observations")


def test_the_summed_likelihood_is_the_sum_over_increments_for_irregular_gaps():
    from sim.fitting.calibrate import _GammaStats

    gap, d = gamma_series(np.random.default_rng(8), 120.0, 0.9, 200)
    st = _GammaStats(gap, d)
    assert len(st.gaps) > 5  # the gaps differ: the grouping is exercised
    for rate, k in ((120.0, 1.2), (60.0, 0.3), (300.0, 9.0)):
        assert st.loglik(rate, k) == pytest.approx(loglik(rate, k, gap, d), rel=1e-12)
