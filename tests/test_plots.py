"""Tests of ``advsim plot`` and ``advsim run --plot``, through matplotlib's objects (data,
labels, bands, titles), not pixels."""

from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import replace
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.collections import PolyCollection
from matplotlib.patches import Rectangle, StepPatch

from sim.cli import cli
from sim.presentation.charts.runs import cdf_chart, fan_chart, hist_chart, milestones_chart
from sim.presentation.charts.tornado import tornado_chart
from sim.running.outcomes import Result

load_run = Result.from_folder

ROOT = Path(__file__).resolve().parents[1]
KURAKHOVE = str(ROOT / "scenarios/kurakhove-reported.yaml")
N = 300
START = mdates.date2num(dt.date(2024, 11, 20))


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("plot-runs")
    specs = {
        "strikes": [KURAKHOVE],
        "no_strikes": [KURAKHOVE, "--set", "sectors.kurakhove.strikes.0.rate_per_day=0"],
        "short": [KURAKHOVE, "--horizon", "200"],  # most replications censored
        "theatre": [str(ROOT / "scenarios/theatre.yaml")],
    }
    for name, args in specs.items():
        r = invoke("run", *args, "-n", str(N), "-j", "1", "--out", str(root / name), "-q")
        assert r.exit_code == 0, r.output
    return {name: root / name for name in specs}


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fills(ax) -> list[PolyCollection]:
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_fan_shows_shades_in_10_percent_steps_the_median_and_the_marks(runs):
    run = load_run(runs["strikes"])
    fig = fan_chart([run])
    (ax,) = fig.axes
    assert len(fills(ax)) == 5  # P5–P95, P15–P85, P25–P75, P35–P65, P45–P55
    band = run.bands((5, 15, 25, 35, 45, 50, 55, 65, 75, 85, 95))["kurakhove"]
    for shade, (_, hi) in zip(fills(ax), ((5, 95), (15, 85), (25, 75), (35, 65), (45, 55))):
        y = shade.get_paths()[0].vertices[:, 1]
        assert y.max() == pytest.approx(band[f"p{hi}"].max())
    alphas = [f.get_alpha() for f in fills(ax)]
    assert alphas == sorted(alphas) and len(set(alphas)) == 5  # darker towards the middle
    median = next(ln for ln in ax.lines if ln.get_label() == "median of the replications")
    x, y = median.get_data()
    # km left to the objective (Pokrovsk, 35 km along the axis): 35 km less the advance
    assert np.allclose(y, 35 - band["p50"])
    assert x[0] == START and x[-1] == START + 365
    outer = fills(ax)[0].get_paths()[0].vertices[:, 1]
    assert outer.max() == pytest.approx(35) and outer.min() == pytest.approx(
        35 - band["p95"].max())
    assert "Kurakhove → Pokrovsk" in ax.get_title() and f"{N:,} replications" in ax.get_title()
    assert "kurakhove" not in ax.get_title()  # the scenario's name says it: no slug
    assert ax.get_ylabel() == "km left to Pokrovsk along the axis"
    assert {"objective: Pokrovsk", "halfway (17.5 km out)",
            "defensive line: prepared line before Pokrovsk (10 km out)"} <= set(texts(ax))
    levels = {ln.get_ydata()[0] for ln in ax.lines if len(set(ln.get_ydata())) == 1}
    assert {0, 17.5, 4, 10} <= levels
    assert ax.get_ylim()[1] > 35 and ax.get_ylim()[0] < 0
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:4] == ["P5–P95: 90% of replications",
                          "P45–P55: the central 10% (shades in 10% steps)",
                          "5 single replications (re-simulated from the seed)",
                          "median of the replications"]
    # today (day 0) marked, and the year on the first date tick (not only at January)
    assert any(ln.get_xdata()[0] == START and ln.get_linestyle() == "-" for ln in ax.lines
               if len(set(ln.get_xdata())) == 1)
    assert "today: 2024-11-20, the projection's day 0" in legend
    fig.canvas.draw()
    first = ax.get_xticklabels()[0].get_text()
    assert any(str(y) in first for y in (2024, 2025)), first
    # the legend lies outside the data: its box and the axes' box do not overlap
    renderer = drawn(fig)
    assert not ax.get_legend().get_window_extent(renderer).overlaps(
        ax.get_window_extent(renderer))


def drawn(fig):
    """The renderer of ``fig`` after drawing it (its layout settled), to measure boxes with."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def paths_of(ax) -> list:
    return [ln for ln in ax.lines if ln.get_color() == "C1"]


def test_fan_draws_single_replications_over_the_bands(runs):
    run = load_run(runs["strikes"])
    (ax,) = fan_chart([run]).axes
    paths = paths_of(ax)
    assert len(paths) == 5
    ys = [ln.get_ydata() for ln in paths]
    for y in ys:  # each starts at the start line, 35 km out, and never passes the objective
        assert y[0] == pytest.approx(35) and y.min() >= -1e-9 and y.max() <= 35 + 1e-9
    assert len({tuple(np.round(y, 6)) for y in ys}) == 5  # five different replications
    # the same seed draws the same paths; another seed, others
    again = [ln.get_ydata() for ln in paths_of(fan_chart([run]).axes[0])]
    assert all(np.array_equal(a, b) for a, b in zip(ys, again))
    import dataclasses

    other = [ln.get_ydata() for ln in paths_of(
        fan_chart([dataclasses.replace(run, seed=run.seed + 1)]).axes[0])]
    assert not all(np.array_equal(a, b) for a, b in zip(ys, other))
    assert not paths_of(fan_chart([run], paths=0).axes[0])


def test_fan_ends_where_the_action_does_and_says_so():
    run = sim_run(ROOT / "scenarios/kurakhove.yaml", replications=200)
    fig = fan_chart([run], sectors=["kurakhove"], paths=0)
    (ax,) = fig.axes
    right = ax.get_xlim()[1]
    assert right < START + run.horizon_days  # not two years for a few weeks of action
    band = run.bands()["kurakhove"]
    after = band["day"] >= right - START
    for key in ("p5", "p50", "p95"):  # nothing moves in what the chart leaves out
        assert np.all(band[key][after] == band[key][-1])
    assert any("The bands do not move after" in t and str(run.date_of(run.horizon_days)) in t
               for t in texts(ax))
    # a probability is never shown as 1 unless it is: P of 0.998 reads "> 0.99"
    from sim.presentation.charts.base import p_is

    assert p_is(0.998) == "> 0.99" and p_is(0.5) == "= 0.50" and p_is(1.0) == "= 1"
    assert "1.00" not in ax.get_title()


def test_fan_draws_observed_history_left_of_the_origin(runs):
    from sim.data.observed import parse_observed

    run = load_run(runs["strikes"])
    obs = parse_observed("date,sector,value,frame\n2024-10-01,kurakhove,40,remaining_km\n"
                         "2024-11-01,kurakhove,37,remaining_km\n"
                         "2024-11-20,kurakhove,35,remaining_km\n")["kurakhove"]
    (ax,) = fan_chart([run], observed=obs).axes
    line = next(ln for ln in ax.lines if ln.get_label().startswith("observed"))
    x, y = line.get_data()
    # km left to the objective (35 km along the axis from the start line): 40, 37, then 35
    assert list(x) == [START - 50, START - 19, START] and list(y) == [40.0, 37.0, 35.0]
    left, right = ax.get_xlim()
    assert START - 50 - 0.02 * (right - left) < left < START - 50 and ax.get_ylim()[1] > 40
    assert "today" in texts(ax)  # history to its left: the line is named where it stands


KURAKHOVE_MAP = ROOT / "scenarios/kurakhove.yaml"  # keeps its traced history (observed:)


def traced_line(ax):
    return next((ln for ln in ax.lines if ln.get_label().startswith("traced")), None)


def test_fan_draws_the_traced_history_the_scenario_keeps_unless_told_not_to():
    import sim

    run = sim_run(KURAKHOVE_MAP, replications=200)
    kept = sim.load_scenario(KURAKHOVE_MAP).sector("pokrovsk").observed
    assert kept is not None and len(kept) == 6
    (ax,) = fan_chart([run], sectors=["pokrovsk"], paths=0).axes
    line = traced_line(ax)
    x, y = line.get_data()
    # at its dates, in km from Pokrovsk: the fan's own quantity (its start is length_km)
    assert list(x) == [START + (d - run.start).days for d in kept.dates]
    assert list(y) == list(kept.values) and y[-1] == run.scenario.sector("pokrovsk").length_km
    assert kept.source in line.get_label().replace("\n", " ")
    assert ax.get_xlim()[0] < x[0] and "today" in texts(ax)
    (bare,) = fan_chart([run], sectors=["pokrovsk"], paths=0, observed=False).axes
    assert traced_line(bare) is None and bare.get_xlim()[0] > START - 30
    # a series given instead replaces it
    from sim.data.observed import parse_observed

    obs = parse_observed("date,sector,value,frame\n2024-11-01,pokrovsk,12,remaining_km\n"
                         "2024-11-20,pokrovsk,9.877,remaining_km\n")
    (given,) = fan_chart([run], sectors=["pokrovsk"], paths=0, observed=obs).axes
    assert traced_line(given) is None
    assert any(ln.get_label().startswith("observed (2 dates)") for ln in given.lines)


def test_traced_points_after_a_start_moved_back_are_drawn_over_the_fan():
    """Moving the start back (``--set start=``) leaves some traced points after it: what came
    after the start, drawn at their own days over the bands, not refused."""
    import sim

    sc = sim.load_scenario(KURAKHOVE_MAP, overrides=["start=2024-10-01"])
    kept = sc.sector("pokrovsk").observed
    after = [d for d in kept.dates if d > sc.start]
    assert after
    run = sim.simulate(sc, replications=200, seed=1, jobs=1)
    (ax,) = fan_chart([run], sectors=["pokrovsk"], paths=0).axes
    x, y = traced_line(ax).get_data()
    day0 = mdates.date2num(sc.start)
    assert list(x) == [day0 + (d - sc.start).days for d in kept.dates]
    assert list(y) == list(kept.values)
    assert max(x) == day0 + (after[-1] - sc.start).days > day0
    assert ax.get_xlim()[1] > max(x)


def test_a_long_traced_history_is_cut_to_the_projection_shown():
    """Years of history would squeeze a few weeks of projection into a corner: the fan shows
    as much history as projection (at least 90 days), the line entering at the left edge."""
    import sim
    from sim.model.scenario import Observed

    sc = sim.load_scenario(KURAKHOVE_MAP)
    k = sc.sector("kurakhove")
    dates = [sc.start - dt.timedelta(days=14 * i) for i in range(60, -1, -1)]  # 840 days
    values = [1.345 + 0.05 * i for i in range(60, -1, -1)]
    long = replace(sc, sectors=(replace(k, observed=Observed(source="test", dates=tuple(dates),
                                                            values=tuple(values))),))
    run = sim.simulate(long, replications=200, seed=1, jobs=1)
    (ax,) = fan_chart([run], paths=0).axes
    left, right = ax.get_xlim()
    shown = right - START  # days of projection shown
    assert shown < 700
    assert START - shown - 0.02 * (right - left) <= left < START - shown + 1
    edge = float(np.interp(-shown, [(d - sc.start).days for d in dates], values))
    assert ax.get_ylim()[1] >= edge and ax.get_ylim()[1] < max(values)


def test_plot_cli_draws_the_history_by_default_and_not_with_no_observed(tmp_path, monkeypatch):
    import sim.presentation.charts as charts

    out = tmp_path / "run"
    assert invoke("run", str(KURAKHOVE_MAP), "-n", "100", "-j", "1", "--out", str(out),
                  "-q").exit_code == 0
    # the run keeps it: it is part of the scenario as run
    assert load_run(out).scenario == sim_run(KURAKHOVE_MAP).scenario
    figures = []
    monkeypatch.setattr(charts, "figure_or_file", lambda fig, output: figures.append(fig))
    png = str(tmp_path / "fan.png")
    for flags in ([], ["--no-observed"]):
        r = invoke("plot", str(out), "--sector", "kurakhove", "-o", png, *flags)
        assert r.exit_code == 0, r.output
    drawn_default, drawn_bare = (fig.axes[0] for fig in figures)
    assert traced_line(drawn_default) is not None and traced_line(drawn_bare) is None
    r = invoke("plot", str(out), "-o", png, "--no-observed", "--observed",
               str(ROOT / "scenarios/observed/synthetic-kurakhove.csv"))
    assert r.exit_code == 2 and "choose one" in r.stderr


def test_fan_of_an_area_sector_shows_held_area_falling(runs):
    fig = fan_chart([load_run(runs["theatre"])])
    assert len(fig.axes) == 2  # one panel per sector
    kursk = next(ax for ax in fig.axes if "kursk" in ax.get_title())
    assert kursk.get_ylabel() == "Area still held by the defender, km²"
    y = next(ln for ln in kursk.lines
             if ln.get_label() == "median of the replications").get_ydata()
    assert y[0] == 801.4 and y[-1] < y[0] and np.all(np.diff(y) <= 1e-9)
    assert any("≤ 50 km² held" in t for t in texts(kursk))


def test_cdf_overlays_runs_up_to_each_horizon(runs):
    a, b, short = (load_run(runs[k]) for k in ("strikes", "no_strikes", "short"))
    fig = cdf_chart([a, b, short], labels=["strikes", "no strikes", "200 days"])
    (ax,) = fig.axes
    curves = [ln for ln in ax.lines if ln.get_label().split(":")[0] in
              ("strikes", "no strikes", "200 days")]
    assert len(curves) == 3
    for ln, run in zip(curves, (a, b, short)):
        x, y = ln.get_data()
        assert np.all(np.diff(y) >= 0) and y[0] == 0
        assert x[-1] == START + run.horizon_days
        d = run.sectors["kurakhove"].objective_day
        assert y[-1] == pytest.approx(np.isfinite(d).mean())
    # Without strikes the objective falls sooner: its curve is higher at the median date.
    at = START + float(np.median(a.sectors["kurakhove"].objective_day))
    ya, yb = (np.interp(at, *ln.get_data()) for ln in curves[:2])
    assert yb > ya
    assert ax.get_ylim() == (0, 1.02) and ax.get_ylabel() == "P(objective reached by date)"
    assert ax.get_xlabel() == "Date (day 0: 2024-11-20)"
    assert curves[2].get_label().startswith("200 days: median beyond the horizon; 0.")
    # each horizon marked
    verticals = {ln.get_xdata()[0] for ln in ax.lines if len(set(ln.get_xdata())) == 1}
    assert {START + 200, START + 365} <= verticals
    assert texts(ax).count("horizon") == 2


def test_default_legends_say_in_words_what_differs(runs):
    a, b, short = (load_run(runs[k]) for k in ("strikes", "no_strikes", "short"))
    (ax,) = cdf_chart([a, b, short]).axes
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("365-day horizon: median")
    assert legend[1].startswith("strikes rate per day = 0, 365-day horizon: median")
    assert legend[2].startswith("200-day horizon: median beyond the horizon")
    assert not any(t.startswith(("A:", "B:")) or "seed" in t for t in legend)


def test_hist_shows_the_censored_mass_past_the_horizon(runs):
    run = load_run(runs["short"])
    fig = hist_chart([run], bin_days=7)
    (ax,) = fig.axes
    steps = [p for p in ax.patches if isinstance(p, StepPatch)]
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch() == "//"]
    assert len(bars) == 1
    d = run.sectors["kurakhove"].objective_day
    censored = 1 - np.isfinite(d).mean()
    assert censored > 0.5 and bars[0].get_height() == pytest.approx(censored)
    assert bars[0].get_x() > START + run.horizon_days
    # The bins and the censored bar hold every replication once.
    assert steps[0].get_data().values.sum() + censored == pytest.approx(1)
    assert steps[0].get_data().edges[-1] == START + 200
    assert any(f"({censored:.0%})" in t.get_text() for t in ax.get_legend().get_texts())


@pytest.mark.parametrize(("share", "text"), [(0.0, "0%"), (0.0004, "<0.1%"), (0.002, "0.2%"),
                                             (0.0095, "0.9%"), (0.25, "25%"), (0.996, "99.6%"),
                                             (0.9999, ">99.9%"), (1.0, "100%")])
def test_shares_are_never_rounded_to_zero_or_all(share, text):
    from sim.presentation.charts.base import share_text

    assert share_text(share) == text


def test_hist_labels_a_small_censored_share_honestly(runs):
    run = load_run(runs["strikes"])
    so = run.sectors["kurakhove"]
    so.objective_day[:1] = np.inf  # one replication in 300 censored: 0.3%, not "0%"
    (ax,) = hist_chart([run]).axes
    assert "0.3%" in texts(ax)
    assert ax.get_xlabel() == "Date (day 0: 2024-11-20)"


def test_milestones_show_intervals_and_arrows_past_the_horizon(runs):
    fig = milestones_chart([load_run(runs["strikes"]), load_run(runs["short"])])
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["halfway (17.5 km)", "outskirts of Pokrovsk (31 km)",
                      "objective: Pokrovsk (35 km)"]
    assert len(ax.collections) == 2 * 3 * 2  # thin and thick interval, per row and run
    arrows = [ln for ln in ax.lines if ln.get_marker() == ">"]
    assert arrows  # the 200-day run does not reach Pokrovsk in most replications
    assert all(ln.get_xdata()[0] == START + 200 for ln in arrows)
    assert sum("P = " in t for t in texts(ax)) == 6


def test_tornado_ranks_parameters_by_influence(tmp_path):
    (tmp_path / "sensitivity.csv").write_text(
        "parameter,metric,prcc,ci95_low,ci95_high\n"
        "troops,p50_day,-0.8,-0.85,-0.75\nrate,p50_day,-0.3,-0.4,-0.2\n"
        "readiness,p50_day,0.5,0.4,0.6\ntroops,prob_reached,0.2,0.1,0.3\n")
    fig = tornado_chart(str(tmp_path))
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["rate", "readiness", "troops"]
    widths = [p.get_width() for p in ax.patches]
    assert widths == [-0.3, 0.5, -0.8]  # largest influence at the top
    assert ax.get_xlim() == (-1, 1) and "partial rank correlation" in ax.get_xlabel()
    assert "p50_day" in ax.get_title()
    assert len(tornado_chart(str(tmp_path), metrics=["prob_reached"]).axes) == 1


SENSITIVITY_HEADER = ("metric,rank,parameter,prcc,prcc_low,prcc_high,sobol_first,sobol_first_low,"
                      "sobol_first_high,sobol_total,sobol_total_low,sobol_total_high,points,note\n")


def test_tornado_of_a_sobol_sweep_draws_st_and_s1_with_intervals(tmp_path):
    (tmp_path / "sensitivity.csv").write_text(
        SENSITIVITY_HEADER
        + "kursk.day_p50,1,sectors.kursk.reinforcements.0.date,0.9,0.85,0.92,0.46,0.22,0.71,"
          "0.6,0.44,0.84,256,\n"
        + "kursk.day_p50,2,sectors.kursk.reinforcements.0.readiness_days,0.87,0.8,0.9,0.45,0.24,"
          "0.66,0.51,0.39,0.69,256,\n")
    fig = tornado_chart(str(tmp_path))
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "reinforcements.0.readiness_days", "reinforcements.0.date"]  # short labels, ST order
    widths = sorted(round(p.get_width(), 3) for p in ax.patches)
    assert widths == [0.45, 0.46, 0.51, 0.6]  # ST and S1 of each, not PRCC
    caps = [c for c in ax.containers if getattr(c, "has_xerr", False)]
    assert len(caps) == 2  # intervals on both the ST and the S1 bars
    st_err = caps[0].lines[2][0].get_segments()
    assert sorted(tuple(np.round(sg[:, 0], 2)) for sg in st_err) == [(0.39, 0.69), (0.44, 0.84)]
    assert "Sobol index" in ax.get_xlabel() and "95%" in ax.get_xlabel()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["total effect, ST (with interactions)", "first order, S1 (alone)"]
    # the figure fits its bars: two bars, one short panel
    assert fig.get_figheight() < 3


def test_tornado_of_a_prcc_sweep_has_a_legend_for_its_colours(tmp_path):
    (tmp_path / "sensitivity.csv").write_text(
        SENSITIVITY_HEADER
        + "k.day_p50,1,sectors.k.advance.base_m_per_day,-0.9,-0.95,-0.8,,,,,,,25,\n"
        + "k.day_p50,2,sectors.k.forces.attacker.troops,0.5,0.2,0.7,,,,,,,25,\n")
    fig = tornado_chart(str(tmp_path))
    (ax,) = fig.axes
    assert [p.get_width() for p in ax.patches] == [0.5, -0.9]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["attacker.troops",
                                                            "advance.base_m_per_day"]
    assert "with 95% interval" in ax.get_xlabel()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "a higher value raises the metric", "a higher value lowers the metric"]


def test_swing_tornado_shows_a_grid_sweep_in_days(tmp_path):
    from sim.presentation.charts.tornado import swing_chart

    (tmp_path / "sweep.yaml").write_text(
        "method: grid\nparameters:\n  sectors.k.forces.attacker.troops: [1, 2, 3]\n"
        "  sectors.k.advance.base_m_per_day: [100, 200, 300]\nmetrics: [day_p50]\n")
    (tmp_path / "scenario.yaml").write_text("horizon_days: 365\nsectors:\n  k: {}\n")
    rows = ["point,sectors.k.forces.attacker.troops,sectors.k.advance.base_m_per_day,k.day_p50"]
    # day_p50 = 300 - 10 * troops - 0.5 * rate, censored where troops = 1 and rate = 100
    for i, (t, r) in enumerate((t, r) for t in (1, 2, 3) for r in (100, 200, 300)):
        y = "" if (t, r) == (1, 100) else f"{300 - 10 * t - 0.5 * r:g}"
        rows.append(f"{i},{t},{r},{y}")
    (tmp_path / "points.csv").write_text("\n".join(rows) + "\n")
    fig = swing_chart(str(tmp_path))
    (ax,) = fig.axes
    base = 300 - 20 - 100
    assert any(ln.get_xdata()[0] == base for ln in ax.lines)
    # widest swing on top: rate (150 → 50 days... 250 - 150 = 100 days) above troops (20 days)
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["attacker.troops\n1 → 3", "advance.base_m_per_day\n100 → 300"]
    ends = sorted((round(p.get_x(), 6), round(p.get_x() + p.get_width(), 6)) for p in ax.patches)
    assert ends == sorted([(base, 300 - 10 - 100), (base, 300 - 30 - 100),
                           (base, 300 - 20 - 50), (base, 300 - 20 - 150)])
    assert "days from the start" in ax.get_xlabel()


def test_swing_titles_say_the_metric_in_words_with_readable_numbers(tmp_path):
    from sim.presentation.charts.tornado import swing_chart

    (tmp_path / "sweep.yaml").write_text(
        "method: grid\nparameters:\n  sectors.k.forces.attacker.troops: [25000, 45000, 65000]\n"
        "  sectors.k.advance.base_m_per_day: [100, 200, 300]\nmetrics: [prob_reached]\n")
    (tmp_path / "scenario.yaml").write_text(
        "horizon_days: 365\nsectors:\n  k: {objective: {name: Pokrovsk}}\n")
    rows = ["point,sectors.k.forces.attacker.troops,sectors.k.advance.base_m_per_day,"
            "k.prob_reached"]
    for i, (t, r) in enumerate((t, r) for t in (25000, 45000, 65000) for r in (100, 200, 300)):
        p = min(1.0, 0.4 + t / 1e5 + r / 1e3)  # 0.998 at the middle, 1 at the top
        rows.append(f"{i},{t:.1f},{r:.1f},{0.998 if (t, r) == (45000, 200) else p}")
    (tmp_path / "points.csv").write_text("\n".join(rows) + "\n")
    fig = swing_chart(str(tmp_path))
    (ax,) = fig.axes
    title = ax.get_title()
    assert title.startswith("K sector: probability Pokrovsk is reached by the horizon\n")
    assert "> 0.99 with every parameter" in title and "1.00" not in title
    assert "k.prob_reached" not in title and "25000.0" not in title and "45,000" in title
    assert "25,000 → 65,000" in [t.get_text().split("\n")[1] for t in ax.get_yticklabels()]
    lo, hi = ax.get_xlim()
    assert lo >= 0 and hi == 1.0  # a probability axis stops at 1
    # nothing is clipped at the figure's edge: every label lies inside it
    renderer = drawn(fig)
    box = fig.bbox
    for t in [*ax.texts, ax.title, *ax.get_yticklabels()]:
        ext = t.get_window_extent(renderer)
        assert box.x0 - 1 <= ext.x0 and ext.x1 <= box.x1 + 1, t.get_text()


@pytest.mark.parametrize("column,objectives,words", [
    ("kurakhove.day_p50", None, "Kurakhove: median day the objective is reached"),
    ("kurakhove.day_p50", {"kurakhove": "Pokrovsk"},
     "Kurakhove sector: median day Pokrovsk is reached"),
    ("kursk.held_km2_d90_p10", None, "Kursk: 10th-percentile area still held on day 90, km²"),
    ("prob_reached", None, "Probability the objective is reached by the horizon"),
    ("p50_day", None, "p50_day"),  # no metric of a sweep: as it is
])
def test_metric_words(column, objectives, words):
    from sim.presentation.charts.tornado import metric_words

    assert metric_words(column, objectives) == words


def test_swing_needs_a_grid_sweep(tmp_path):
    from sim.presentation.charts.tornado import swing_chart

    (tmp_path / "sweep.yaml").write_text("method: sobol\nparameters: {a: [1, 2]}\n")
    (tmp_path / "scenario.yaml").write_text("sectors: {}\n")
    (tmp_path / "points.csv").write_text("point,a\n0,1\n")
    with pytest.raises(Exception, match="needs a grid sweep"):
        swing_chart(str(tmp_path))


def test_forces_chart_shows_both_sides_and_the_breakpoint(tmp_path):
    from sim.presentation.charts.runs import forces_chart

    res = sim_run(ROOT / "scenarios/examples/iwo-jima.yaml")
    (ax,) = forces_chart([res]).axes
    medians = {ln.get_label().split(":")[0]: ln for ln in ax.lines
               if ln.get_label().endswith("median troops")}
    assert set(medians) == {"attacker", "defender"}
    bands = res.forces_bands()["iwo-jima"]
    assert np.array_equal(medians["defender"].get_ydata(), bands["defender"]["p50"])
    marker = next(ln for ln in ax.lines if ln.get_label().startswith("defender has no troops"))
    assert marker.get_xdata()[0] == mdates.date2num(dt.date(1945, 2, 19)) + 35
    assert "1945-03-26 (day 35)" in marker.get_label()
    assert ax.get_ylabel() == "Troops" and "Iwo Jima" in ax.get_title()


def test_forces_chart_says_why_it_goes_flat_and_ends_where_it_does():
    import sim
    from sim.presentation.charts.runs import forces_chart

    # Kurakhove from a fresh surge: its action is over within weeks, so the chart ends early
    # (from the 42 days of surging the shipped file starts in, some replications stall for
    # the whole horizon and nothing is cut).
    sc = sim.load_scenario(ROOT / "scenarios/kurakhove.yaml")
    sector = sc.sector("kurakhove")
    fresh = replace(sector, advance=replace(sector.advance, regimes=replace(
        sector.advance.regimes, elapsed_days=0.0)))
    run = sim.simulate(replace(sc, sectors=(fresh, sc.sector("pokrovsk"))), replications=200,
                       seed=1, jobs=1)
    fig = forces_chart([run], sectors=["kurakhove"])
    (ax,) = fig.axes
    note = next(t for t in texts(ax) if t.startswith("Troops stop changing"))
    reached = np.isfinite(run.sectors["kurakhove"].objective_day).mean()
    assert "once its objective falls" in note
    assert "flat from" in note and str(run.date_of(run.horizon_days)) in note
    # flat after the chart's end: no band of either side moves there
    right = ax.get_xlim()[1] - START
    assert right < run.horizon_days
    for side in run.forces_bands()["kurakhove"].values():
        after = side["day"] >= right
        assert np.all(side["p50"][after] == side["p50"][-1])
    if reached > 0.5:
        assert any(ln.get_label().startswith("median date the objective falls")
                   for ln in ax.lines)
    renderer = drawn(fig)
    assert not ax.get_legend().get_window_extent(renderer).overlaps(
        ax.get_window_extent(renderer))


def sim_run(path, replications: int = 20):
    import sim

    return sim.simulate(sim.load_scenario(path), replications=replications, seed=1, jobs=1)


@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"),
                                          (".pdf", b"%PDF")])
def test_plot_writes_the_format_of_the_suffix(runs, tmp_path, suffix, magic):
    out = tmp_path / f"sub/cdf{suffix}"
    r = invoke("plot", str(runs["strikes"]), str(runs["no_strikes"]), "--kind", "cdf",
               "-o", str(out))
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == str(out)
    assert out.read_bytes().startswith(magic)
    assert out.stat().st_mode & 0o044 == 0o044 & ~umask()  # readable as any new file
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left


def test_run_plot_writes_the_fan_chart_into_the_results_folder(tmp_path):
    out = tmp_path / "o"
    r = invoke("run", KURAKHOVE, "-n", "100", "-j", "1", "--out", str(out), "--plot")
    assert r.exit_code == 0, r.output
    assert (out / "fan.png").read_bytes().startswith(b"\x89PNG")
    assert f"Fan chart: {out / 'fan.png'}" in r.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_bad_input_is_one_line_and_status_2(runs, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    a = str(runs["strikes"])
    png = str(tmp_path / "x.png")
    cases = [
        ([a, "--kind", "pie", "-o", png], "--kind: 'pie' is not a chart kind"),
        ([a, "-o", str(tmp_path / "x.jpg")], "unknown image suffix '.jpg'"),
        ([a], "-o FILE is required"),
        (["-o", png], "name at least one results folder"),
        ([str(tmp_path / "missing"), "-o", png], "missing: no such results folder"),
        ([str(empty), "-o", png], "not a results folder (no summary.json"),
        ([str(empty), "--kind", "tornado", "-o", png], "no sensitivity.csv"),
        ([a, a, "--kind", "tornado", "-o", png], "name one sweep folder"),
        ([str(empty), "--kind", "swing", "-o", png], "no points.csv"),
        ([a, a, "--kind", "cdf", "--label", "x", "-o", png], "--label: 1 labels for 2 runs"),
        ([a, "--sector", "kursk", "-o", png], "--sector: 'kursk' is not a sector"),
    ]
    for args, message in cases:
        r = invoke("plot", *args)
        assert r.exit_code == 2, (args, r.output)
        err = r.stderr.splitlines()
        assert len(err) == 1 and message in err[0], (args, r.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]  # nothing written


def test_without_matplotlib_run_plot_says_how_to_install_it_and_writes_nothing(
        tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    r = invoke("run", KURAKHOVE, "-n", "50", "-j", "1", "--out", str(tmp_path / "o"), "--plot")
    assert r.exit_code == 2
    assert r.stderr.strip() == ("plots need matplotlib, an optional extra: "
                                "pip install 'advsim[plot]'")
    assert not (tmp_path / "o").exists()


def test_tornado_names_the_expected_columns(tmp_path):
    (tmp_path / "sensitivity.csv").write_text("parameter,metric,rank\ntroops,p50,1\n")
    r = invoke("plot", str(tmp_path), "--kind", "tornado", "-o", str(tmp_path / "t.png"))
    assert r.exit_code == 2
    assert r.stderr.strip().endswith(
        "sensitivity.csv: no influence column (one of prcc, influence, st, s1); "
        "expected columns parameter, metric, prcc")


def test_old_spellings_are_gone(runs, tmp_path):
    """plot's -o was once --out and backtest's --chart was --plot; 0.1.0 had no users, so the
    old spellings are plain errors now, naming the option."""
    r = invoke("plot", str(runs["strikes"]), "--out", str(tmp_path / "old.png"))
    assert r.exit_code == 2 and "No such option '--out'" in r.stderr
    observed = str(ROOT / "scenarios/observed/synthetic-kurakhove.csv")
    r = invoke("backtest", KURAKHOVE, "--observed", observed, "-n", "50", "--plot",
               str(tmp_path / "bt.png"))
    assert r.exit_code == 2 and "No such option '--plot'" in r.stderr
    assert not (tmp_path / "old.png").exists() and not (tmp_path / "bt.png").exists()

def test_backtest_chart_shows_the_observations_over_the_fan(tmp_path):
    import sim
    from sim.presentation.charts.backtest import backtest_chart

    bt = sim.backtest(KURAKHOVE, ROOT / "scenarios/observed/synthetic-kurakhove.csv",
                      replications=200, seed=1)
    fig = backtest_chart(bt)
    (ax,) = fig.axes
    # the shipped series is synthetic (its source column says so): never called observed
    series = next(ln for ln in ax.lines if ln.get_label() == "synthetic series (not observed)")
    assert not any(ln.get_label().startswith("observed") for ln in ax.lines)
    f = bt.fan("kurakhove")
    assert np.array_equal(series.get_ydata(), f["observed"])
    # the fan's own shades: P5–P95 to P45–P55 in 10% steps
    band = bt.fan("kurakhove", (5, 15, 25, 35, 45, 50, 55, 65, 75, 85, 95))["bands"]
    assert len(fills(ax)) == 5 and ax.get_ylabel() == "km advanced"
    for shade, (_, hi) in zip(fills(ax), ((5, 95), (15, 85), (25, 75), (35, 65), (45, 55))):
        assert shade.get_paths()[0].vertices[:, 1].max() == pytest.approx(band[f"p{hi}"].max())
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)


def test_a_series_is_labelled_by_its_source():
    from sim.data.observed import parse_observed
    from sim.presentation.charts.backtest import series_label

    head = "date,sector,value,source\n"
    report = parse_observed(head + "2024-11-20,k,1,the report\n2024-11-21,k,2,the report\n",
                            file="x/obs.csv")["k"]
    assert series_label(report) == "observed (the report)"
    bare = parse_observed("date,sector,value\n2024-11-20,k,1\n", file="x/obs.csv")["k"]
    assert series_label(bare) == "observed (obs.csv)"
    fake = parse_observed(head + "2024-11-20,k,1,\"Synthetic: replication 3\"\n")["k"]
    assert series_label(fake) == "synthetic series (not observed)"


def test_the_approach_chart_names_standing_towns_by_name_without_collisions(tmp_path):
    from sim.fitting import reference as R
    from sim.presentation.charts.reference import approach_chart

    d0 = dt.date(2023, 1, 1)
    rows = ["date,sector,value,frame"]
    # five towns stalled at nearly the same distance: their names would sit on one another
    for k, town in enumerate(("pokrovsk", "myrnohrad", "selydove", "hirnyk", "ukrainsk")):
        rows += [f"{d0 + dt.timedelta(days=14 * i)},{town},{5 + 0.05 * k:.2f},remaining_km"
                 for i in range(10)]
    (tmp_path / "s.csv").write_text("\n".join(rows) + "\n")
    cls = R.build([tmp_path / "s.csv"], until=d0 + dt.timedelta(days=200))
    fig = approach_chart(cls)
    (ax,) = fig.axes
    names = {t.get_text(): t for t in ax.texts}
    assert set(names) == {"Pokrovsk", "Myrnohrad", "Selydove", "Hirnyk", "Ukrainsk"}
    renderer = drawn(fig)
    boxes = [t.get_window_extent(renderer) for t in names.values()]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert "0 fell, 5 still standing" in ax.get_title()
