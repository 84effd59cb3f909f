"""The notebook-shaped API: ``import advsim`` is ``sim``'s objects; every object a user holds shows
as one short line and a small escaped HTML table; every plot gives back a Figure; the walkthrough
in docs/ runs and finds what it should."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import sim
from sim.model import builder as b

ROOT = Path(__file__).resolve().parents[1]
KURAKHOVE = ROOT / "scenarios/kurakhove-reported.yaml"
SHARED = (ROOT / ".." / "shared" / "data" / "frontlines").resolve()
HOSTILE = "<script>alert('x')</script> & co"


def one_line(text: str, limit: int = 200) -> bool:
    return "\n" not in text and len(text) <= limit


def escaped(html: str) -> bool:
    """No tag of the hostile name survives, and its escaped form is there."""
    return "<script>" not in html and "&lt;script&gt;" in html and "&amp; co" in html


@pytest.fixture(scope="module")
def hostile():
    sc = b.scenario(b.axis("pokrovsk", length_km=9.877, objective="Pokrovsk", advance=60),
                    name=HOSTILE, horizon_days=365)
    return sc, sim.simulate(sc, replications=200, seed=3)


# -- set-up that carries through ----------------------------------------------------------------


def extra(name: str) -> set[str]:
    """The distributions an extra of pyproject.toml installs, its own extras resolved."""
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    out: set[str] = set()
    for req in extras[name]:
        m = re.fullmatch(r"advsim\[([\w,]+)\]", req)
        if m:
            for sub in m.group(1).split(","):
                out |= extra(sub)
        else:
            out.add(re.split(r"[\[<>=]", req, maxsplit=1)[0])
    return out


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11's")
def test_all_holds_every_extra_and_test_holds_all():
    extras = ["plot", "dask", "parquet", "geo", "frames"]
    every = set().union(*(extra(e) for e in extras))
    assert extra("all") == every
    assert {"pandas", "polars", "duckdb", "pyarrow", "matplotlib", "shapely"} <= every
    assert extra("test") >= every | {"pytest", "hypothesis", "mypy", "ruff"}


def test_the_libraries_the_tables_are_loaded_with_are_installed():
    """Under the README's test command the loading tests run rather than skip."""
    import importlib.util

    for module in ("pandas", "polars", "duckdb", "pyarrow", "matplotlib"):
        assert importlib.util.find_spec(module) is not None, f"{module}: pip install -e '.[test]'"


# -- the public name -----------------------------------------------------------------------------


def test_import_advsim_gives_the_same_objects_as_sim():
    import advsim
    from advsim import Result, load_scenario

    assert load_scenario is sim.load_scenario and Result is sim.Result
    for name in sim.__all__:
        assert getattr(advsim, name) is getattr(sim, name), name
    assert advsim.__version__ == sim.__version__ and advsim.__all__ == sim.__all__
    assert set(sim.__all__) <= set(dir(advsim))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        advsim.nope  # noqa: B018


def test_import_advsim_stays_as_light_as_import_sim():
    """The lazy names stay lazy under the public name: numpy, SimPy and YAML are not loaded."""
    code = ("import sys, advsim; heavy = {'numpy', 'simpy', 'yaml', 'matplotlib'} & "
            "set(sys.modules); print(sorted(heavy))")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert got.stdout.strip() == "[]"


def test_dir_lists_the_lazy_names():
    names = dir(sim)
    for lazy in ("simulate", "load_scenario", "Result", "compare", "plot", "backtest",
                 "read_observed", "trace", "place", "outlook"):
        assert lazy in names, lazy
        assert lazy in sim.__all__, lazy
    assert names == sorted(names) and "AdvsimError" in names


# -- one line and a small table ------------------------------------------------------------------


def test_scenario_and_result_show_short_and_escape_their_names(hostile):
    sc, r = hostile
    assert repr(sc) == f"<Scenario {HOSTILE}: 1 sector, from {sc.start} over 365 days>"
    assert repr(r) == f"<Result {HOSTILE}: 1 sector, 200 replications, seed 3>"
    for html in (sc._repr_html_(), r._repr_html_()):
        assert escaped(html), html
    assert "axis of 9.877 km to Pokrovsk" in sc._repr_html_()
    table = r._repr_html_()
    p = float(r.sectors["pokrovsk"].reached.mean())
    assert f"<td>{p:.3f}</td>" in table and table.count("<tr>") == 2


def test_a_long_or_multiline_name_is_one_cut_line():
    sc = b.scenario(b.axis("a", length_km=5, objective="X", advance=60),
                    name="line one\nline two " + "x" * 200, horizon_days=30)
    text = repr(sc)
    assert one_line(text, 120) and "line one line two" in text and "…" in text
    assert "line two" in sc._repr_html_()  # the table keeps more of it


def test_the_result_table_gives_the_median_date_of_the_fall():
    """A constant rate gives an exact day: 9.877 km at 60 m/day is reached on day 164.6,
    so every percentile's date is the start + 164 days."""
    sc = b.scenario(b.axis("pokrovsk", length_km=9.877, objective="Pokrovsk", advance=60),
                    name="fixed", horizon_days=365)
    r = sim.simulate(sc, replications=50, seed=1)
    day = (sc.start + dt.timedelta(days=164)).isoformat()
    assert r._repr_html_().count(f"<td>{day}</td>") == 3
    assert "<td>1.000</td>" in r._repr_html_()
    cut = sim.simulate(dataclasses.replace(sc, horizon_days=100), replications=50, seed=1)
    assert cut._repr_html_().count("<td>&gt; horizon</td>") == 3  # censored, said so


def test_a_comparison_shows_its_reading_on_one_line(hostile):
    sc, r = hostile
    slower = sim.simulate(dataclasses.replace(
        sc, sectors=(b.axis("pokrovsk", length_km=9.877, objective="Pokrovsk", advance=40),)),
        replications=200, seed=3)
    diff = sim.compare([r, slower], labels=["fast <b>", "slow"], resamples=200)
    text = repr(diff)
    assert text.startswith("<Comparison fast <b> vs slow: ") and one_line(text, 400)
    # 9.877 km at 40 m/day is day 246.9, at 60 m/day 164.6: 82 days later
    assert re.search(r"falls a median 8[23] days later", text), text
    html = diff._repr_html_()
    assert "fast &lt;b&gt;" in html and "<b>" not in html.replace("<b>Comparison</b>", "")


def test_backtests_show_their_scores(tmp_path):
    sc = sim.load_scenario(KURAKHOVE)
    observed = ROOT / "scenarios/observed/synthetic-kurakhove.csv"
    bt = sim.backtest(sc, observed, replications=300, seed=2)
    text = repr(bt)
    assert text == (f"<Backtest {sc.name}: from {bt.origin}, 1 sector, "
                    f"{len(bt.sectors['kurakhove'].days)} scored dates, 300 replications>")
    html = bt._repr_html_()
    crps = bt.summary()["sectors"]["kurakhove"]["crps"]
    assert f"<td>{crps:.3f}</td>" in html and "<th>CRPS</th>" in html
    from sim.forecast.many_origins import backtest_origins

    many = backtest_origins(sc, observed, every_days=7, replications=100, seed=2)
    text = repr(many)
    assert one_line(text) and f"{len(many.origins)} origins" in text
    assert f"<td>{many.pooled()['crps']:.3f}</td>" in many._repr_html_()


def test_a_self_test_and_its_saved_folder_show_the_pooled_scores(tmp_path):
    from sim.forecast import saved
    from sim.forecast.self_test import self_test

    axis = ROOT / "scenarios/observed/self-test-axis.yaml"
    st = self_test(axis, 3, overrides=[f"name={HOSTILE}", "horizon_days=60"], every_days=14,
                   replications=100, seed=2)
    text = repr(st)
    cases = len(st.cases())
    assert text == (f"<SelfTest {HOSTILE}: 3 series drawn from stateless axis, observed every "
                    f"7 days, {cases} cases, 100 replications, seed 2>")
    html = st._repr_html_()
    pooled = st.summary()["pooled"]
    assert escaped(html) and html.count("<tr>") == 1 + 1 + len(pooled["baselines"])
    assert f"<td>model</td><td>{pooled['crps']:.3f}</td>" in html
    assert f"{pooled['n_obs']:,} scored dates" in html
    back = saved.SavedBacktest.from_folder(saved.write(tmp_path / "st", st))
    assert repr(back) == (f"<SavedBacktest {HOSTILE}: self-test on 3 series drawn from "
                          "stateless axis, 100 replications, seed 2>")
    kept = back._repr_html_()
    assert escaped(kept) and kept.count("<tr>") == html.count("<tr>")
    for name, base in pooled["baselines"].items():
        assert f"<td>{name}</td><td>{base['crps']:.3f}</td>" in kept


def test_a_saved_backtest_of_one_origin_shows_each_sectors_scores(tmp_path):
    from sim.forecast import saved

    observed = ROOT / "scenarios/observed/synthetic-kurakhove.csv"
    bt = sim.backtest(sim.load_scenario(KURAKHOVE), observed, replications=200, seed=2)
    back = saved.SavedBacktest.from_folder(saved.write(tmp_path / "bt", bt))
    assert repr(back) == (f"<SavedBacktest {bt.scenario.name}: from {bt.origin}, "
                          "200 replications, seed 2>")
    html = back._repr_html_()
    k = bt.summary()["sectors"]["kurakhove"]
    assert f"<td>kurakhove</td><td>{k['unit']}</td><td>{len(k['days'])}</td>" \
           f"<td>{k['crps']:.3f}</td>" in html
    assert html.count("<tr>") == 1 + len(bt.sectors) and str(tmp_path / "bt") in html


def test_a_reference_class_shows_its_approaches_and_plots(tmp_path):
    """Three towns closing 0.5 km every 14 days from 10, 6 and 12 km: each falls on the map
    where its distance reaches 0 (observation 20, 12 and 24)."""
    pytest.importorskip("matplotlib")
    from conftest import closing_series_csv
    from matplotlib.figure import Figure

    from sim.fitting import reference

    f = closing_series_csv(tmp_path / "s.csv", {"a": 10, "b": 6, "c": 12})
    cls = reference.build([f], until=dt.date(2024, 11, 20))
    assert repr(cls) == "<ReferenceClass until 2024-11-20: 3 approaches within 25 km, 3 fell>"
    html = cls._repr_html_()
    for town, i in (("a", 20), ("b", 12), ("c", 24)):
        fell = dt.date(2023, 1, 1) + dt.timedelta(days=14 * i)
        assert f"<td>{town}</td><td>2023-01-01</td>" in html and f"<td>{fell}</td>" in html
    assert html.count("<tr>") == 4
    fig = cls.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert cls.plot(output=tmp_path / "class.png") == tmp_path / "class.png"


def test_a_trace_shows_its_span_and_refuses_a_map_it_did_not_keep():
    pytest.importorskip("shapely")
    from sim.data.trace import Trace

    empty = Trace()
    assert repr(empty) == "<Trace no snapshot: 0 places, 0 areas, 0 snapshots>"
    with pytest.raises(sim.AdvsimError, match=r"^chart_dates: this trace kept no map geometry"):
        empty.plot()
    with pytest.raises(sim.ParameterError, match=r"^chart_dates: expected a number of dates"):
        sim.trace([ROOT / "scenarios"], [], chart_dates=0)
    with pytest.raises(sim.ParameterTypeError, match=r"^chart_dates: expected a number"):
        sim.trace([ROOT / "scenarios"], [], chart_dates=True)


def test_the_html_helper_escapes_every_cell_and_counts_what_it_leaves_out():
    from sim.presentation.notebook import html

    got = html(HOSTILE, "<i>", ["<th>"], [[HOSTILE], [None], [0.12345]], more=3)
    assert escaped(got) and "&lt;i&gt;" in got and "<th>&lt;th&gt;</th>" in got
    assert "<td></td>" in got and "<td>0.123</td>" in got and "… and 3 more" in got


# -- plots give back a Figure --------------------------------------------------------------------


def test_plot_without_output_is_a_figure_with_its_panels(empty_dir):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    r = sim.simulate(sim.load_scenario(ROOT / "scenarios/kurakhove.yaml"), replications=300,
                     seed=1)
    fig = sim.plot(r, kind="fan")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert [ax.get_title().split("\n")[0].rsplit(" ", 1)[-1] for ax in fig.axes] == [
        "kurakhove", "pokrovsk"]
    cdf = r.plot(kind="cdf", sectors=["pokrovsk"])
    assert isinstance(cdf, Figure) and len(cdf.axes) == 1
    assert "Pokrovsk" in cdf.axes[0].get_title()
    assert cdf.axes[0].get_ylabel().startswith("P(")
    assert r.plot(kind="hist", output="h.png") == Path("h.png")
    assert sorted(p.name for p in empty_dir.iterdir()) == ["h.png"]  # only where asked
    with pytest.raises(sim.AdvsimError, match="kind: 'pie' is not a chart kind"):
        r.plot(kind="pie")


class PngFormatter:
    """IPython's image/png formatter, as far as advsim uses it: views by type."""

    def __init__(self) -> None:
        self.views: dict = {}

    def lookup_by_type(self, kind):
        return self.views[kind]  # KeyError: none

    def for_type(self, kind, view) -> None:
        self.views[kind] = view


def test_a_figure_given_back_shows_as_a_png_in_ipython(monkeypatch, hostile):
    """The charts are made without pyplot, so IPython's inline backend may never register
    its PNG view: a notebook would show "<Figure size ...>". A Figure given back registers
    one (found by running docs/walkthrough.py's cells in Jupyter with nbclient)."""
    pytest.importorskip("matplotlib")
    from types import SimpleNamespace

    from matplotlib.figure import Figure

    png = PngFormatter()
    shell = SimpleNamespace(display_formatter=SimpleNamespace(formatters={"image/png": png}))
    ipython = SimpleNamespace(get_ipython=lambda: shell, version_info=(9, 0))  # matplotlib reads it
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    _, r = hostile
    fig = r.plot(kind="cdf")
    data = png.views[Figure](fig)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = (int.from_bytes(data[k:k + 4], "big") for k in (16, 20))  # IHDR
    assert (width, height) == (round(fig.get_figwidth() * fig.dpi),
                               round(fig.get_figheight() * fig.dpi))

    def mine(fig):
        return b"mine"

    png.views[Figure] = mine  # a view already there (%matplotlib inline) is kept
    sim.plot(r, kind="fan")
    assert png.views[Figure] is mine
    png.views.clear()
    monkeypatch.setattr(ipython, "get_ipython", lambda: None)  # imported, no shell running
    r.plot(kind="hist")
    assert png.views == {}


@pytest.fixture
def empty_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- the walkthrough -----------------------------------------------------------------------------


def walkthrough():
    return runpy.run_path(str(ROOT / "docs" / "walkthrough.py"), run_name="walkthrough")["main"]


def check_run_and_compare(made: dict) -> None:
    from matplotlib.figure import Figure

    k = made["compare"]["sectors"]["kurakhove"]["objective_day"]
    # Strikes on logistics slow the advance: the fall comes weeks later, never earlier; the
    # interval excludes no difference.
    assert 10 < k["median_diff_days"] < 40 and k["median_diff_ci95"][0] > 0
    assert [r["label"] for r in made["compare"]["runs"]] == ["no strikes", "strikes"]
    assert isinstance(made["fan"], Figure) and isinstance(made["cdf"], Figure)
    labels = [t.get_text() for t in made["cdf"].axes[0].get_legend().get_texts()]
    assert [lab.split(":")[0] for lab in labels] == ["no strikes", "strikes"]


def test_the_walkthrough_runs_and_compares_and_skips_what_has_no_data(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    made = walkthrough()(tmp_path / "charts", frontlines=tmp_path / "absent")
    check_run_and_compare(made)
    assert made["trace"] is None and made["outlook"] is None
    printed = capsys.readouterr().out
    assert "trace skipped: no map snapshots at" in printed
    assert "outlook skipped: no map snapshots at" in printed
    assert "<Comparison no strikes vs strikes: " in printed
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == ["cdf.png", "fan.png"]


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data/frontlines/")
def test_the_walkthrough_traces_and_looks_out_on_the_real_maps(tmp_path, capsys):
    """On the shared maps: the trace measures Pokrovsk 9.877 km out on the last map (the
    distance the shipped scenario starts from) and Kurakhove closing in; the outlook of
    2024-11-20 holds only places within 5 km, Kurakhove first and the likeliest to fall
    within 90 days (more likely than not: its surge, 42 days old, may end first)."""
    pytest.importorskip("shapely")
    made = walkthrough()(tmp_path / "charts")
    check_run_and_compare(made)
    trace = made["trace"]
    pokrovsk = trace.places["pokrovsk"][1]
    kurakhove = trace.places["kurakhove"][1]
    assert pokrovsk[-1]["distance_km"] == pytest.approx(9.877, abs=0.001)
    assert kurakhove[-1]["distance_km"] < kurakhove[0]["distance_km"] - 5
    assert len(made["map"].axes) >= 2
    o = made["outlook"]
    assert o.map_date == dt.date(2024, 11, 20) and o.radius_km == 5
    assert all(0 < p.standing.distance_km <= 5 for p in o.places)
    first = o.places[0]
    assert first.standing.place.name == "Kurakhove" and first.p_within(90) > 0.5
    assert first.p_within(90) == max(p.p_within(90) for p in o.places)
    risk = [p.p_within(180) for p in o.places]
    assert risk == sorted(risk, reverse=True)
    html = o._repr_html_()
    assert html.count("<tr>") == 1 + len(o.places) and "Kurakhove" in html
    assert re.fullmatch(r"<ReferenceClass until 2024-11-20: \d+ approaches within 25 km, "
                        r"\d+ fell>", repr(o.cls))
    assert o.cls._repr_html_().count("<tr>") == 1 + min(30, len(o.cls.approaches))
    printed = capsys.readouterr().out
    assert "skipped" not in printed and repr(o) in printed
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == [
        "cdf.png", "fan.png", "map.png", "outlook_map.png"]
