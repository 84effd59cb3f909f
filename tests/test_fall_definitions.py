"""Fall definitions made visible: the distance with the contested (grey) zone counted as held,
measured on a hand-built map whose answer is known, and the fall read again with the objective
0.5 km nearer or farther, against constant-rate scenarios whose days are exact."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("shapely")
pytest.importorskip("pyproj")

from click.testing import CliRunner

from sim.cli import cli
from sim.data.front import front_series
from sim.data.snapshots import snapshot_paths
from sim.data.towns import Place
from sim.errors import AdvsimError
from sim.forecast import outlook as O
from sim.model import builder as B
from sim.model import distributions as D
from sim.model.writer import dump
from sim.running.readings import objective_readings, readings_batch

LAT0, LON0 = 48.0, 37.0
KM_PER_DEG_LON = 111.32 * math.cos(math.radians(LAT0))
HELD, GREY, GREY_2022 = "#a52714", "#bcaaa4", "#bdbdbd"
START = dt.date(2023, 1, 1)


def place(name: str, east_km: float, north_km: float = 0.0) -> Place:
    return Place(name=name, lat=LAT0 + north_km / 111.2, lon=LON0 + east_km / KM_PER_DEG_LON,
                 slug=name.lower())


def lon(east_km: float) -> float:
    return LON0 + east_km / KM_PER_DEG_LON


def band(west: float, east: float, fill: str) -> dict:
    """A feature of ``fill`` between two meridians (lon), over a wide band of latitudes."""
    ring = [[west, 46.0], [east, 46.0], [east, 50.0], [west, 50.0], [west, 46.0]]
    return {"type": "Feature", "properties": {"fill": fill, "name": "x"},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def write_layers(folder: Path, day: dt.date, edge_km: float, grey_km: float,
                 fill: str = GREY) -> Path:
    """A DeepState-style snapshot: held ground west of ``edge_km`` (east of LON0), a grey
    strip ``grey_km`` wide east of it."""
    feats = [band(30.0, lon(edge_km), HELD)]
    if grey_km:
        feats.append(band(lon(edge_km), lon(edge_km + grey_km), fill))
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / f"{day.isoformat()}.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return p


# -- the contested zone counted as held -----------------------------------------------------------


@pytest.mark.parametrize("fill", [GREY, GREY_2022])
def test_a_grey_strip_of_known_width_shortens_the_distance_by_its_width(tmp_path, fill):
    """Held ground up to 5 km west of a place, grey from there to 2 km west of it: the place
    is 5 km from the held territory, 2 km once the grey counts; a place inside the strip is
    outside the held territory and inside held-plus-grey; one east of everything moves by
    the strip's width too."""
    from pyproj import Geod

    path = write_layers(tmp_path / "maps", START, edge_km=-5.0, grey_km=3.0, fill=fill)
    places = [place("Town", 0.0), place("InGrey", -4.0), place("Far", 20.0)]
    plain = front_series([path], places).distance_km[0]
    grey = front_series([path], places, contested="attacker").distance_km[0]

    def km(a: float, b: float) -> float:  # along the parallel, on the ellipsoid, signed
        return math.copysign(Geod(ellps="WGS84").inv(lon(a), LAT0, lon(b), LAT0)[2] / 1000,
                             a - b)

    # the nearest point of a meridian lies along the parallel to within (d/R)² (< 1e-5 here)
    np.testing.assert_allclose(plain, [km(0, -5), km(-4, -5), km(20, -5)], rtol=1e-3)
    # in the strip: 2 km inside held-plus-grey (its nearest edge is the strip's east one)
    np.testing.assert_allclose(grey, [km(0, -2), -km(-2, -4), km(20, -2)], rtol=1e-3)
    assert plain[0] - grey[0] == pytest.approx(km(-2, -5), rel=1e-3)


def test_the_measurement_cache_keeps_each_convention_apart(tmp_path):
    paths = [write_layers(tmp_path / "maps", START + dt.timedelta(days=14 * i), -5.0 + i, 3.0)
             for i in range(3)]
    places = [place("Town", 0.0), place("Other", 8.0)]
    cache = tmp_path / "cache"
    plain = front_series(paths, places, cache=cache).distance_km
    grey = front_series(paths, places, cache=cache, contested="attacker").distance_km
    assert len(list(cache.rglob("*.npz"))) == 2 * len(paths)  # one entry a map a convention
    np.testing.assert_allclose(plain - grey, 3.0, atol=0.01)
    np.testing.assert_array_equal(
        front_series(paths, places, cache=cache, contested="attacker").distance_km, grey)
    np.testing.assert_array_equal(front_series(paths, places, cache=cache).distance_km, plain)


@pytest.mark.parametrize("kwargs, message", [
    ({"contested": "maybe"}, "contested must be one of exclude, attacker (got 'maybe')"),
    ({"contested": "attacker", "held": "kursk_held"}, "applies to attacker_held only"),
])
def test_a_bad_contested_convention_is_one_error_naming_it(tmp_path, kwargs, message):
    path = write_layers(tmp_path / "maps", START, -5.0, 3.0)
    with pytest.raises(AdvsimError, match="contested") as e:
        front_series([path], [place("Town", 0.0)], **kwargs)
    assert message in str(e.value) and e.value.param == "contested"


# -- the objective nearer or farther on the same paths --------------------------------------------


def test_a_constant_rate_moves_the_fall_by_exactly_half_a_km_over_the_rate():
    """At 100 m/day a 3 km axis falls on day 30; 0.5 km nearer on day 25, farther on day 35,
    a point 1 km from the start on day 10, and a point already passed at once (day 0)."""
    sc = B.scenario(B.axis("a", length_km=3.0, advance=100.0), horizon_days=100,
                    replications=64, seed=3)
    got = objective_readings(sc)["a"]
    for name, day in (("nearer", 25.0), ("objective", 30.0), ("farther", 35.0)):
        np.testing.assert_allclose(got[name], day, rtol=1e-12)
    [pts] = readings_batch([(sc, 64, 3, {"a": {"grey": 1.0, "inside": -0.2}})])
    np.testing.assert_allclose(pts["a"]["grey"], 10.0, rtol=1e-12)
    np.testing.assert_array_equal(pts["a"]["inside"], 0.0)


def test_each_path_at_its_own_rate_moves_by_half_a_km_over_that_rate():
    """A rate drawn per replication and held (no noise, no regimes): each path passes x km on
    day x / rate, so nearer, objective and farther are in the ratio 2.5 : 3 : 3.5 path by path,
    and a reading beyond the horizon is censored (inf)."""
    adv = B.advance(D.Uniform(low=10.0, high=60.0))
    sc = B.scenario(B.axis("a", length_km=3.0, advance=adv), horizon_days=120,
                    replications=4000, seed=11)
    got = objective_readings(sc)["a"]
    seen = np.isfinite(got["farther"])
    assert 0.1 < seen.mean() < 0.9  # some paths censored, some not: both cases are checked
    np.testing.assert_allclose(got["nearer"][seen] / got["farther"][seen], 2.5 / 3.5,
                               rtol=1e-9)
    np.testing.assert_allclose(got["objective"][seen] / got["farther"][seen], 3.0 / 3.5,
                               rtol=1e-9)
    assert (got["nearer"] <= got["objective"]).all()
    assert (got["objective"] <= got["farther"]).all()
    # a censored farther reading is a rate below 3.5 km / 120 days
    assert np.isinf(got["farther"][~seen]).all()


def test_an_area_sector_is_not_read_and_a_bad_shift_or_point_is_one_error():
    sc = B.scenario(B.axis("a", length_km=3.0, advance=100.0),
                    B.area("k", area_km2=500.0, front_km=20.0, advance=100.0),
                    horizon_days=50, replications=10, seed=1)
    assert set(objective_readings(sc)) == {"a"}
    for kwargs, param in (({"shift_km": 0.0}, "shift_km"), ({"shift_km": math.nan}, "shift_km")):
        with pytest.raises(AdvsimError, match="shift_km must be a positive") as e:
            readings_batch([(sc, 10, 1, {})], **kwargs)
        assert e.value.param == param
    with pytest.raises(AdvsimError, match="beyond the objective") as e:
        readings_batch([(sc, 10, 1, {"a": {"x": 3.5}})])
    assert e.value.param == "points"
    with pytest.raises(AdvsimError, match="a reading's own name"):
        readings_batch([(sc, 10, 1, {"a": {"nearer": 1.0}})])


def test_advsim_run_prints_and_writes_the_objective_half_a_km_nearer_and_farther(tmp_path):
    sc = B.scenario(B.axis("a", length_km=3.0, advance=250.0, objective="Town"),
                    horizon_days=100, replications=50, seed=2)
    f = tmp_path / "s.yaml"
    f.write_text(dump(sc))
    r = CliRunner().invoke(cli, ["run", str(f), "--out", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    # 3 km at 250 m/day: day 12; 0.5 km is 2 days either way
    assert "Objective 0.5 km nearer–farther: P10 day 10–14, P50 day 10–14, P90 day 10–14; " \
           "P(within 100 days) 1\n" in r.output
    got = json.loads((tmp_path / "r" / "summary.json").read_text())
    block = got["sectors"]["a"]["objective"]["shifted"]
    assert block["shift_km"] == 0.5
    assert block["nearer"]["day"]["p50"] == 10.0 and block["farther"]["day"]["p50"] == 14.0
    j = CliRunner().invoke(cli, ["run", str(f), "--json", "--out", str(tmp_path / "j")])
    assert json.loads(j.output)["sectors"]["a"]["objective"]["shifted"] == block


# -- the outlook ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grey_world(tmp_path_factory):
    """Maps every 14 days, the held edge moving east 0.8 km a step in half the steps, a grey
    strip 1.5 km wide always ahead of it; a row of places for the class."""
    root = tmp_path_factory.mktemp("grey")
    edge = -30.0
    for i in range(40):
        if i:
            edge += 0.8 if (i // 6) % 2 == 0 else 0.0
        write_layers(root / "maps", START + dt.timedelta(days=14 * i), edge, 1.5)
    places = [place("Near", edge + 3.0), place("Close", edge + 1.0)]
    places += [place(f"C{e + 100}", float(e), -60.0) for e in range(-28, 20, 4)]
    with open(root / "places.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "lat", "lon"])
        w.writerows([p.name, p.lat, p.lon] for p in places)
    return root, places


def test_the_outlook_reads_each_place_under_every_definition_on_the_same_paths(grey_world):
    root, places = grey_world
    series = front_series(snapshot_paths([root / "maps"]), places)
    o = O.outlook(series, radius_km=30.0, replications=300, horizon_days=365)
    near = {p.standing.place.slug: p for p in o.places}
    s = near["near"].standing
    assert s.distance_km == pytest.approx(3.0, rel=3e-3)
    assert s.distance_contested_km == pytest.approx(1.5, rel=6e-3)
    assert near["close"].standing.distance_contested_km < 0  # inside the grey strip
    for p in o.places:
        r = p.readings
        assert set(r) == {"nearer", "objective", "farther", "contested"}
        assert (r["nearer"] <= r["objective"]).all() and (r["objective"] <= r["farther"]).all()
        assert (r["contested"] <= r["objective"]).all()
    np.testing.assert_array_equal(near["close"].readings["contested"], 0.0)  # fallen at once
    row = next(r for r in O.place_rows(o) if r["place"] == "near")
    assert row["distance_contested_km"] == pytest.approx(1.5, rel=6e-3)
    p = near["near"]
    assert row["p_fallen_180d_contested_held"] == round(p.p_within(180, "contested"), 4)
    assert row["fall_day_p50_farther_0_5km"] in (None, p.quantile_days(0.5, "farther"))
    assert O.summary(o)["fall_definitions"]["shift_km"] == 0.5
    with pytest.raises(O.OutlookError, match="no reading 'sideways'"):
        p.p_within(180, "sideways")
    # without the readings: the same headline, no columns of them
    bare = O.outlook(series, radius_km=30.0, replications=300, horizon_days=365,
                     definitions=False)
    b = {q.standing.place.slug: q for q in bare.places}
    np.testing.assert_array_equal(b["near"].fall_days, p.fall_days)
    assert "distance_contested_km" not in O.place_rows(bare)[0]


def test_the_printed_outlook_and_its_folder_show_the_definitions(grey_world, tmp_path):
    root, _ = grey_world
    out = tmp_path / "o"
    r = CliRunner().invoke(cli, ["outlook", str(root / "maps"), "--places",
                                 str(root / "places.csv"), "-n", "200", "--horizon-days",
                                 "365", "--out", str(out)])
    assert r.exit_code == 0, r.output
    head = next(line for line in r.output.splitlines() if line.strip().startswith("place"))
    assert "grey km" in head and "180 d range" in head
    assert "the grey (contested) zone not counted" in r.output
    with open(out / "places.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for col in ("distance_contested_km", "p_fallen_180d_nearer_0_5km",
                "p_fallen_180d_farther_0_5km", "p_fallen_180d_contested_held",
                "fall_date_p50_contested_held"):
        assert col in rows[0]
    for row in rows:
        assert float(row["p_fallen_180d_nearer_0_5km"]) >= float(
            row["p_fallen_180d_farther_0_5km"])


# -- neighbours falling together (a measurement) -------------------------------------------------


def _case(place_: str, origin: dt.date, fell_day: float | None, p_model: float,
          cap: float = 400.0):
    from sim.forecast.forward import ForwardCase

    n = 100
    members = np.where(np.arange(n) < round(p_model * n), 10.0, np.inf)  # P(<= 180) = p_model
    return ForwardCase(place=place_, name=place_, origin=origin, distance_km=5.0,
                       regime="grinding", regime_days=14,
                       observed_days=cap if fell_day is None else fell_day,
                       fell=fell_day is not None, cap=cap, members={"class_model": members})


def _pairs_world(outcomes):
    """Pairs of places 10 km apart (each pair 100 km from the next), one pair an origin
    entry: ``outcomes`` a list of (A fell, B fell)."""
    cases, where = [], {}
    for k, (a, b) in enumerate(outcomes):
        for side, fell in (("a", a), ("b", b)):
            slug = f"{side}{k}"
            where[slug] = (LAT0 + k * 0.9, LON0 + (0.0 if side == "a" else 10 / KM_PER_DEG_LON))
            cases.append(_case(slug, START, 50.0 if fell else None, 0.5))
    return cases, where


@pytest.mark.parametrize("outcomes, both, phi", [
    ([(1, 1)] * 10 + [(1, 0)] * 10 + [(0, 1)] * 10 + [(0, 0)] * 10, 0.25, 0.0),  # independent
    ([(1, 1)] * 20 + [(0, 0)] * 20, 0.5, 1.0),  # together, always
    ([(1, 0)] * 20 + [(0, 1)] * 20, 0.0, -1.0),  # never both
])
def test_neighbours_falling_together_against_a_known_joint(outcomes, both, phi):
    """Every place's marginal is 0.5 and the model says 0.5: the model's product is 0.25,
    independence at the observed share 0.25; the observed share of both and the correlation
    are the constructed ones."""
    from sim.forecast.neighbours import neighbour_falls

    cases, where = _pairs_world(outcomes)
    got = neighbour_falls(cases, where, rng=np.random.default_rng(1), bootstrap=300)
    assert got["pairs"] == len(outcomes) and got["places"] == 2 * len(outcomes)
    assert got["observed_both"] == pytest.approx(both)
    assert got["phi"] == pytest.approx(phi)
    assert got["model_product"] == pytest.approx(0.25)
    assert got["independent_observed"] == pytest.approx(0.25)
    assert got["observed_marginal"] == pytest.approx(0.5) == got["model_marginal"]
    lo, hi = got["observed_both_interval"]
    assert lo <= both <= hi
    if phi == 1.0:  # every resample of places keeps pairs that always agree
        assert got["phi_interval"] == [pytest.approx(1.0), pytest.approx(1.0)]


def test_only_pairs_within_the_distance_at_one_origin_with_known_outcomes_count():
    from sim.forecast.neighbours import neighbour_pairs

    later = START + dt.timedelta(days=60)
    where = {"a": (LAT0, LON0), "b": (LAT0, lon(14.0)), "c": (LAT0, lon(16.5)),
             "d": (LAT0, lon(7.0))}
    cases = [_case("a", START, 30.0, 0.8), _case("b", START, None, 0.1),
             _case("c", START, 40.0, 0.5),  # 16.5 km from a: not a's neighbour
             _case("d", later, 20.0, 0.5),  # within 15 km of a, but at another origin
             _case("d", START, None, 0.4, cap=100.0)]  # standing, seen only to day 100: unknown
    got = neighbour_pairs(cases, where)
    # a–b (14 km) and b–c (2.5 km); a–c too far; d's cases unpaired or unknown at 180 days
    assert [(a, b) for a, b, *_ in got] == [("a", "b"), ("b", "c")]
    assert got[0][2:] == (1, 0, 0.8, 0.1)
    with pytest.raises(AdvsimError, match="no position for place 'x'"):
        neighbour_pairs([_case("x", START, 1.0, 0.5)], where)
    with pytest.raises(AdvsimError, match="within_km must be a positive"):
        neighbour_pairs(cases, where, within_km=-1.0)


def test_the_evaluation_prints_and_writes_how_neighbours_fell(grey_world):
    root, _ = grey_world
    args = ["outlook", str(root / "maps"), "--places", str(root / "places.csv"), "--evaluate",
            "-n", "100", "--every", "120"]
    j = CliRunner().invoke(cli, [*args, "--json"])
    assert j.exit_code == 0, j.output
    n = json.loads(j.output)["neighbours"]
    assert n["within_km"] == 15.0 and n["horizon_days"] == 180 and n["pairs"] > 0
    assert 0.0 <= n["observed_both"] <= n["observed_marginal"] <= 1.0
    text = CliRunner().invoke(cli, args)
    assert text.exit_code == 0, text.output
    line = text.output.strip().splitlines()[-1]
    assert line.startswith(f"  Neighbours: {n['pairs']} pairs of places within 15 km")


def test_a_places_scenario_file_read_by_advsim_run_gives_the_outlooks_readings(grey_world,
                                                                               tmp_path):
    """The ±0.5 km readings of a place are those `advsim run` prints for its scenario file:
    the same seed, replications and extended run (the grey-zone milestone draws nothing)."""
    from sim.artifacts.outlooks import write_scenarios
    from sim.model.loader import load_scenario

    root, places = grey_world
    o = O.outlook(front_series(snapshot_paths([root / "maps"]), places), radius_km=30.0,
                  replications=200, horizon_days=365)
    write_scenarios(tmp_path / "sc", o)
    for p in o.places:
        sc = load_scenario(tmp_path / "sc" / f"{p.standing.place.slug}.yaml")
        [got] = objective_readings(sc).values()
        for name in ("nearer", "objective", "farther"):
            np.testing.assert_array_equal(got[name], p.readings[name])
