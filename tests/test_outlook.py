"""advsim outlook and its forward evaluation, on synthetic maps with known answers: distances
and surroundings against closed forms and the exact per-place trace, the places asked about,
the regime now, projections that never read a map after their date, scenario files that
reproduce them, and the scores of forward evaluation."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("shapely")
pytest.importorskip("pyproj")

import shapely
from click.testing import CliRunner

from sim.cli import cli
from sim.data.covariates import ACTIVITY_DAYS, ACTIVITY_RADIUS_KM, measure_covariates
from sim.data.front import Frame, front_series, held_union, surroundings
from sim.data.snapshots import snapshot_paths
from sim.data.towns import Place
from sim.data.trace import LocalFrame, measure_place
from sim.fitting.advance_fit import fit
from sim.forecast import forward as F
from sim.forecast import outlook as O

LAT0, LON0 = 48.0, 37.0
KM_PER_DEG_LON = 111.32 * math.cos(math.radians(LAT0))  # near LAT0: enough for placing
START = dt.date(2023, 1, 1)


def place(name: str, east_km: float, north_km: float = 0.0) -> Place:
    return Place(name=name, lat=LAT0 + north_km / 111.2, lon=LON0 + east_km / KM_PER_DEG_LON,
                 slug=name.lower())


def write_map(folder: Path, day: dt.date, edge_lon: float, extra: str = "") -> Path:
    """A single-layer snapshot: held territory west of ``edge_lon`` (a band of latitudes)."""
    poly = [[30.0, 45.0], [edge_lon, 45.0], [edge_lon, 51.0], [30.0, 51.0], [30.0, 45.0]]
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {},
         "geometry": {"type": "Polygon", "coordinates": [poly]}}]}
    p = folder / f"{day.isoformat()}.geojson"
    p.write_text(json.dumps(doc) + extra)
    return p


def advancing_maps(folder: Path, n: int = 40, step_days: int = 14,
                   km_per_step=lambda i: 0.8 if (i // 6) % 2 == 0 else 0.0) -> list[dt.date]:
    """Maps every ``step_days`` with the front moving east by ``km_per_step(i)`` each step:
    alternating runs of moving (grinding) and standing still, so a class can be fitted."""
    folder.mkdir(parents=True, exist_ok=True)
    east_km, days = -30.0, []
    for i in range(n):
        day = START + dt.timedelta(days=step_days * i)
        write_map(folder, day, LON0 + east_km / KM_PER_DEG_LON)
        days.append(day)
        east_km += km_per_step(i)
    return days


def places_csv(path: Path, places: list[Place]) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "lat", "lon"])
        for p in places:
            w.writerow([p.name, p.lat, p.lon])
    return path


# -- measuring many places at once ----------------------------------------------------------------


def test_distances_agree_with_the_exact_per_place_trace_within_a_tenth_of_a_percent():
    held = shapely.Polygon([(36.0, 47.0), (37.5, 47.2), (38.0, 48.6), (36.4, 48.9)])
    places = [place(f"p{i}", e, n) for i, (e, n) in
              enumerate([(-150, -150), (-50, 40), (80, 10), (150, 90), (200, -120), (0, 0)])]
    frame = Frame.around(places)
    got = surroundings(held_union(frame, [held]), frame.points(places)).distance_km
    for p, d in zip(places, got):
        exact = measure_place(LocalFrame(p.lat, p.lon), [held], 30.0).distance_km
        assert d == pytest.approx(exact, rel=1e-3, abs=0.005), p.name


@pytest.mark.parametrize("d_km", [0.5, 5.0, 12.0, 25.0])
def test_a_straight_front_gives_the_closed_form_bearing_share_and_circular_segment(d_km):
    """Held ground beyond a straight line d km east of a place: of the bearings within R, the
    share that reach it is (π − 2·asin(d/R)) / 2π; the held area within R is the circular
    segment R²·acos(d/R) − d·√(R² − d²)."""
    r = 30.0
    frame = Frame(LAT0, LON0)
    [pt] = frame.points([place("x", 0.0)])
    line = shapely.box(d_km * 1000, -200_000, 200_000, 200_000)  # in the frame already
    got = surroundings(line, np.array([pt]), r, bearings=3600)
    assert got.distance_km[0] == pytest.approx(d_km, abs=1e-9)
    share = (math.pi - 2 * math.asin(d_km / r)) / (2 * math.pi)
    assert got.surrounded[0] == pytest.approx(share, abs=1e-3)
    segment = r * r * math.acos(d_km / r) - d_km * math.sqrt(r * r - d_km * d_km)
    assert got.held_km2[0] == pytest.approx(segment, rel=2e-3)


def test_a_place_inside_the_held_territory_has_a_negative_distance_and_a_ring_surrounds():
    frame = Frame(LAT0, LON0)
    pts = frame.points([place("in", 0.0), place("ringed", 300.0)])
    square = shapely.box(-10_000, -10_000, 10_000, 10_000)
    ring = shapely.Point(shapely.get_coordinates(pts[1])[0]).buffer(20_000).difference(
        shapely.Point(shapely.get_coordinates(pts[1])[0]).buffer(5_000))
    got = surroundings(shapely.union_all([square, ring]), pts, 30.0)
    assert got.distance_km[0] == pytest.approx(-10.0, abs=1e-6)
    assert got.distance_km[1] == pytest.approx(5.0, abs=0.01)
    assert got.surrounded[1] == 1.0


# -- the regime now -------------------------------------------------------------------------------


def test_the_regime_now_is_the_last_steps_and_counts_their_days():
    days = [START + dt.timedelta(days=14 * i) for i in range(6)]
    # closing 0, 0, 0, 1.5 km, 2.8 km a step: paces 0, 0, 0, 107 and 200 m/day (surging)
    km = np.array([20.0, 20.0, 20.0, 20.0, 18.5, 15.7])
    assert O.regime_now(days, km) == ("surging", 28)
    assert O.regime_now(days[:4], km[:4]) == ("stalled", 42)
    assert O.regime_now(days[:1], km[:1]) == (None, 0)
    back = np.array([10.0, 10.5])  # moved away at 35.7 m/day
    assert O.regime_now(days[:2], back) == ("setback", 14)


# -- the outlook ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    dates = advancing_maps(root / "maps")
    # the front starts 30 km west of LON0 and moves 0.8 km a step in half of the steps
    places = [place("Near", -3.0), place("Middle", 8.0), place("Far", 40.0),
              place("Fallen", -20.0), place("North", 5.0, 150.0)]
    # a row of places for the class to learn from
    places += [place(f"C{e + 100}", float(e), -60.0) for e in range(-28, 20, 4)]
    return root, dates, places, places_csv(root / "places.csv", places)


def series_of(world, until: dt.date | None = None):
    root, _, places, _ = world
    paths = [p for p in snapshot_paths([root / "maps"])
             if until is None or dt.date.fromisoformat(p.stem) <= until]
    return front_series(paths, places)


def test_the_outlook_asks_about_the_places_within_the_radius_and_outside(world):
    s = series_of(world)
    edge = s.distance_km[-1]
    o = O.outlook(s, radius_km=30.0, replications=200, horizon_days=365)
    asked = {p.standing.place.slug for p in o.places}
    want = {s.places[j].slug for j in np.flatnonzero((edge > 0) & (edge <= 30.0))}
    assert asked == want and "fallen" not in asked and "far" not in asked
    risk = [p.p_within(180) for p in o.places]
    assert risk == sorted(risk, reverse=True)
    for p in o.places:  # P(fallen within) grows with the days, and the quantiles agree
        ps = [p.p_within(d) for d in (30, 90, 180, 365)]
        assert ps == sorted(ps)
        med = p.quantile_days(0.5)
        assert (p.p_within(med) >= 0.5) if math.isfinite(med) else p.p_within(365) < 0.5


def test_an_outlook_never_reads_a_map_after_its_date(world, tmp_path):
    """The same outlook whether the maps after its date exist or show anything else."""
    root, dates, places, _ = world
    day = dates[25]
    other = tmp_path / "maps"
    other.mkdir()
    for p in snapshot_paths([root / "maps"]):
        d = dt.date.fromisoformat(p.stem)
        if d <= day:
            (other / p.name).write_bytes(p.read_bytes())
        else:  # later maps: the front jumps far east
            write_map(other, d, LON0 + 1.0)
    a = O.outlook(series_of(world), day, replications=300, horizon_days=200)
    b = O.outlook(front_series(snapshot_paths([other]), places), day, replications=300,
                  horizon_days=200)
    assert a.map_date == b.map_date == day
    assert a.cls.until == day and a.fit.until == day
    assert [p.standing for p in a.places] == [p.standing for p in b.places]
    for x, y in zip(a.places, b.places):
        np.testing.assert_array_equal(x.fall_days, y.fall_days)


def test_the_outlook_is_the_same_on_any_number_of_workers(world):
    s = series_of(world)
    one = O.outlook(s, replications=400, horizon_days=200, jobs=1)
    two = O.outlook(s, replications=400, horizon_days=200, jobs=2)
    for x, y in zip(one.places, two.places):
        np.testing.assert_array_equal(x.fall_days, y.fall_days)


@pytest.mark.parametrize("extensions", [O.KEPT,
                                        frozenset({"time-in-regime", "activity", "encirclement"}),
                                        frozenset({"time-in-regime", "attacked"})])
def test_a_places_scenario_file_run_alone_gives_the_outlooks_numbers(world, tmp_path,
                                                                     extensions, monkeypatch):
    from sim.artifacts.outlooks import write_scenarios
    from sim.fitting.attacked import AttackedFit
    from sim.model.loader import load_scenario
    from sim.running.runner import simulate

    # the small world has too few places to fit who is attacked: a law given instead
    given = AttackedFit(coef=np.array([0.5, 0.3, -0.6]), se=np.ones(3), cases=100, attacked=50)
    monkeypatch.setattr(O, "attacked_of", lambda *a, **k: given if "attacked" in a[2] else None)
    series = series_of(world)
    o = O.outlook(series, replications=300, horizon_days=300, extensions=extensions)
    if "attacked" in extensions:  # each place's base pace may be zero, by its own chance
        assert o.attacked is not None
        bases = {o.scenarios[p.standing.place.slug].sectors[0].advance.base_m_per_day
                 for p in o.places}
        assert len(bases) > 1
        assert all(b.p_move == round(o.attacked.p_within(p.standing.axis_km2_per_day,
                                                        p.standing.distance_km, 300), 4)
                   for b, p in ((o.scenarios[p.standing.place.slug].sectors[0].advance
                                 .base_m_per_day, p) for p in o.places))
    write_scenarios(tmp_path / "sc", o)
    for p in o.places:
        path = tmp_path / "sc" / f"{p.standing.place.slug}.yaml"
        assert f"model extensions: {', '.join(sorted(extensions))}" in path.read_text()
        sc = load_scenario(path)
        assert sc == o.scenarios[p.standing.place.slug]
        # the place's distances on the maps up to the outlook's, kept for its fan chart
        j = series.places.index(p.standing.place)
        since = o.map_date - dt.timedelta(days=365)
        measured = [(d, round(float(series.distance_km[k, j]), 3))
                    for k, d in enumerate(series.dates)
                    if since <= d <= o.map_date and series.distance_km[k, j] >= 0]
        traced = sc.sectors[0].observed
        assert len(measured) >= 2 and list(zip(traced.dates, traced.values)) == measured
        assert traced.values[-1] == pytest.approx(p.standing.distance_km, abs=5e-4)
        assert p.standing.place.name in traced.source
        days = np.asarray(next(iter(simulate(sc).sectors.values())).objective_day, float)
        np.testing.assert_array_equal(np.where(np.isfinite(days), days, np.inf), p.fall_days)


def test_a_place_on_a_front_that_never_moves_is_projected_from_a_long_stall(tmp_path):
    """A class whose fronts stall most of the time: a place in a stalled regime far out has a
    small chance of falling within the horizon, one in a surging regime close in a large one."""
    maps = tmp_path / "maps"
    advancing_maps(maps, n=60, km_per_step=lambda i: 1.6 if i % 10 >= 8 else 0.0)
    ps = [place("A", -8.0), place("B", 15.0)] + [place(f"C{e}", e, -60.0)
                                                 for e in range(-28, 30, 3)]
    o = O.outlook(front_series(snapshot_paths([maps]), ps), replications=500,
                  horizon_days=365)
    by = {p.standing.place.slug: p for p in o.places}
    assert by["a"].p_within(365) > by["b"].p_within(365)


def test_time_in_regime_starts_each_place_part_way_through_its_regime(world, tmp_path):
    """With the extension a place's first sojourn is the residual beyond the days it has spent
    in its regime (its scenario says so, and the projection is that scenario's); without it,
    a fresh sojourn. A front stalled for longer than a stall's mean is then less likely to move
    soon than a fresh stall would make it, as the lognormal's residual grows with time."""
    s = series_of(world)
    plain = O.outlook(s, replications=100, horizon_days=365, extensions=frozenset())
    kept = O.outlook(s, replications=100, horizon_days=365,
                     extensions=frozenset({O.TIME_IN_REGIME}))
    assert kept.extensions == (O.TIME_IN_REGIME,) and plain.extensions == ()
    assert O.summary(kept)["advance"]["extensions"] == [O.TIME_IN_REGIME]
    for p in kept.places:
        st = p.standing
        regimes = kept.scenarios[st.place.slug].sectors[0].advance.regimes
        assert regimes.initial == st.regime and regimes.elapsed_days == st.regime_days > 0
        assert plain.scenarios[st.place.slug].sectors[0].advance.regimes.elapsed_days == 0

    # Stalls of 1 to 15 steps between moves (a heavy-tailed sojourn, as on real fronts), then
    # one of 32 steps up to the last map.
    moves = {2, 3, 5, 6, 9, 10, 15, 16, 25, 26, 42, 43}
    maps = tmp_path / "maps"
    advancing_maps(maps, n=76, km_per_step=lambda i: 1.6 if i in moves else 0.0)
    ps = [place("A", -10.0)] + [place(f"C{e}", e, -60.0) for e in range(-28, 30, 3)]
    series = front_series(snapshot_paths([maps]), ps)
    runs = {ext: O.outlook(series, replications=2000, horizon_days=120, extensions=ext)
            for ext in (frozenset(), frozenset({O.TIME_IN_REGIME}))}
    fresh, residual = (next(p for p in o.places if p.standing.place.slug == "a")
                       for o in runs.values())
    stall = next(r for r in runs[frozenset()].fit.regimes if r.name == "stalled")
    assert fresh.standing.regime == "stalled"
    assert fresh.standing.regime_days > stall.sojourn_mean_days
    assert residual.p_within(120) < fresh.p_within(120) - 0.05


# -- forward evaluation ---------------------------------------------------------------------------


def test_the_observed_fall_is_the_first_later_map_inside_and_otherwise_censored(world):
    s = series_of(world)
    j = [p.slug for p in s.places].index("fallen")
    inside = np.flatnonzero(s.distance_km[:, j] <= 0)
    assert s.distance_km[0, j] > 0 and inside.size
    k = int(inside[0]) - 3
    days, fell, cap = F.observed_fall(s, j, k)
    assert fell and days == (s.dates[inside[0]] - s.dates[k]).days
    assert cap == (s.dates[-1] - s.dates[k]).days + 1
    far = [p.slug for p in s.places].index("far")
    assert F.observed_fall(s, far, 5) == ((s.dates[-1] - s.dates[5]).days + 1, False,
                                          (s.dates[-1] - s.dates[5]).days + 1)


def test_coverage_credits_a_censored_outcome_by_the_forecasts_own_mass_beyond_the_data():
    x = np.arange(1, 101, dtype=float)  # uniform on 1..100; the 50% interval is 25..75
    assert F.coverage(x, 30.0, True, 200.0, 0.5) == 1.0
    assert F.coverage(x, 80.0, True, 200.0, 0.5) == 0.0
    # not fallen by day 60: of the mass at or after 60 (41 members), 60..75 (16) is inside
    assert F.coverage(x, 60.0, False, 60.0, 0.5) == pytest.approx(16 / 41)
    assert F.coverage(x, 101.0, False, 101.0, 0.5) == 0.0  # it was sure of a fall by then
    assert F.coverage(np.array([60.0]), 60.0, False, 60.0, 0.9) == 1.0  # "never", capped


def test_brier_is_scored_only_where_the_outcome_is_known_at_the_horizon():
    c = F.ForwardCase(place="x", name="X", origin=START, distance_km=3.0, regime="stalled",
                      regime_days=14, observed_days=61.0, fell=False, cap=61.0,
                      members={"m": np.array([10.0, 50.0, np.inf, np.inf])})
    s = F.case_scores(c, "m", np.random.default_rng(0))
    assert set(s["brier"]) == {30}  # standing on day 61: known at 30, not at 90 or 180
    assert s["brier"][30] == (0.25, 0.0)
    fell = F.ForwardCase(**{**c.__dict__, "observed_days": 40.0, "fell": True})
    s = F.case_scores(fell, "m", np.random.default_rng(0))
    assert s["brier"] == {30: (0.25, 0.0), 90: (0.5, 1.0), 180: (0.5, 1.0), 365: (0.5, 1.0)}


def test_forward_evaluation_fits_each_origin_on_the_maps_up_to_it_only(world):
    s = series_of(world)
    seen = []

    def spy(cls):
        seen.append((cls.until, max(d for a in cls.approaches for d in a.dates)))
        return fit(cls)

    origins = F.rolling_origins(s.dates, 90)
    fw = F.evaluate_forward(s, origins, replications=100, fitted=spy)
    assert [u for u, _ in seen] == [s.dates[s.index_of(o)] for o in origins]
    assert all(last <= until for until, last in seen)
    assert {c.origin for c in fw.cases} <= set(origins)
    t = fw.table()
    assert t["cases"] == len(fw.cases) > 0
    assert set(t["pooled"]) == set(F.FORECASTS)
    assert sum(b["class_model"]["cases"] for b in t["by_band"].values()) == len(fw.cases)
    assert repr(fw) == (f"<Forward evaluation to {s.dates[-1]}: {len(fw.cases)} projections of "
                        f"{len({c.place for c in fw.cases})} places, from {len(origins)} "
                        f"origins, {t['fell']} fell>")
    html = fw._repr_html_()
    assert html.count("<tr>") == 1 + len(F.FORECASTS)
    assert f"<td>class_model</td><td>{t['pooled']['class_model']['coverage_50']:.3f}</td>" in html
    # persistence never forecasts a fall: its Brier is the share that fell
    for h in F.BRIER_DAYS:
        pairs = [(c.fell and c.observed_days <= h) for c in fw.cases if c.fell or c.cap > h]
        if pairs:
            assert t["pooled"]["persistence"][f"brier_{h}"] == pytest.approx(np.mean(pairs))


def segment_km2(r: float, d: float) -> float:
    """Held ground beyond a straight line d km from the centre of a disc of radius r."""
    d = min(max(d, 0.0), r)
    return r * r * math.acos(d / r) - d * math.sqrt(r * r - d * d)


def test_each_case_knows_its_surroundings_and_its_local_fronts_activity(world):
    """On a straight front the surrounded share and the held km² within a radius have closed
    forms (see above); the activity is the km² gained within ACTIVITY_RADIUS_KM per day since
    the map ACTIVITY_DAYS before the origin. The groups partition the cases, and the base
    rate's Brier score is p(1 − p) where persistence's (which never forecasts a fall) is p."""
    s = series_of(world)
    fw = F.evaluate_forward(s, F.rolling_origins(s.dates, 90), replications=50)
    r = F.ACTIVITY_RADIUS_KM
    moved = 0
    for c in fw.cases:
        k = s.index_of(c.origin)
        then = max(i for i, d in enumerate(s.dates)
                   if d <= c.origin - dt.timedelta(days=F.ACTIVITY_DAYS))
        j = [p.slug for p in s.places].index(c.place)
        d_now, d_then = s.distance_km[k, j], s.distance_km[then, j]
        want = (segment_km2(r, d_now) - segment_km2(r, d_then)) / (s.dates[k] - s.dates[then]).days
        assert c.activity_km2_per_day == pytest.approx(want, rel=5e-3, abs=1e-4), c
        share = (math.pi - 2 * math.asin(min(d_now / 30.0, 1.0))) / (2 * math.pi)
        assert c.surrounded == pytest.approx(share, abs=0.015)  # 72 bearings: 5 degrees
        moved += want > 0.01
    assert 0 < moved < len(fw.cases)  # both quiet and active cases are exercised
    t = fw.table()
    for key in ("by_surrounded", "by_activity"):
        assert sum(g["class_model"]["cases"] for g in t[key].values()) == t["cases"]
    for h in F.BRIER_DAYS:
        p = t["pooled"]["persistence"][f"brier_{h}"]
        if p is not None:
            assert t["pooled"]["class_model"][f"brier_{h}_base_rate"] == pytest.approx(p * (1 - p))


def test_the_printed_evaluation_names_the_extensions_the_base_rate_and_each_group(world):
    from sim.presentation.text_outlook import format_forward

    s = series_of(world)
    t = F.evaluate_forward(s, F.rolling_origins(s.dates, 90), replications=50,
                           extensions=frozenset({O.TIME_IN_REGIME})).table()
    text = format_forward(t)
    assert t["extensions"] == [O.TIME_IN_REGIME] and "with time-in-regime." in text
    base = next(line for line in text.splitlines() if line.strip().startswith("base rate"))
    p = t["pooled"]["persistence"]["brier_30"]
    assert f"{p * (1 - p):.3f}" in base
    for key, title in (("by_surrounded", "By how surrounded"),
                       ("by_activity", "By the local front's activity")):
        block = text.split(title)[1]
        for group, blk in t[key].items():
            row = next(line for line in block.splitlines() if line.strip().startswith(group))
            assert row.split()[1] == str(blk["class_model"]["cases"])


def test_rolling_origins_are_spaced_and_leave_maps_before_and_after():
    dates = [START + dt.timedelta(days=14 * i) for i in range(30)]
    got = F.rolling_origins(dates, 60)
    assert got[0] >= dates[0] + dt.timedelta(days=60)
    assert all((b - a).days >= 60 for a, b in itertools.pairwise(got))
    assert (dates[-1] - got[-1]).days >= F.MIN_SCORED_DAYS


# -- the command ----------------------------------------------------------------------------------


def test_the_command_writes_a_checked_folder_the_hub_table_and_geojson(world, tmp_path):
    root, dates, _, csv_file = world
    out, geo = tmp_path / "o", tmp_path / "places.geojson"
    r = CliRunner().invoke(cli, ["outlook", str(root / "maps"), "--places", str(csv_file),
                                 "-n", "200", "--horizon-days", "365", "--out", str(out),
                                 "--geojson", str(geo)])
    assert r.exit_code == 0, r.output
    assert "Near" in r.output and "Far" not in r.output.split("place")[1]
    m = json.loads((out / "manifest.json").read_text())
    assert m["kind"] == "outlook" and len(m["snapshots"]) == len(dates)
    with open(out / "quantiles.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["reference_date", "target", "horizon", "location", "output_type",
                             "output_type_id", "value"]
    for loc in {r["location"] for r in rows}:
        cdf = [float(r["value"]) for r in rows if r["location"] == loc
               and r["output_type"] == "cdf"]
        q = [r["value"] for r in rows if r["location"] == loc and r["output_type"] == "quantile"]
        assert len(q) == 23 and cdf == sorted(cdf)
        within = [float(v) for v in q if v]  # beyond the horizon: empty (null), the last ones
        assert within == sorted(within) and q[len(within):] == [""] * (23 - len(within))
    g = json.loads(geo.read_text())
    with open(out / "places.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(g["features"]) == len(table) > 0
    assert [f["properties"]["place"] for f in g["features"]] == [t["place"] for t in table]


def test_no_definitions_reads_the_headline_only_and_the_same_numbers(world, tmp_path):
    """--no-definitions skips the fall's other readings (their columns and their run); the
    headline is the same run either way."""
    root, _, _, csv_file = world
    args = ["outlook", str(root / "maps"), "--places", str(csv_file), "-n", "200",
            "--horizon-days", "365"]
    full = CliRunner().invoke(cli, [*args, "--json"])
    bare = CliRunner().invoke(cli, [*args, "--json", "--no-definitions"])
    printed = CliRunner().invoke(cli, [*args, "--no-definitions"])
    assert full.exit_code == bare.exit_code == printed.exit_code == 0, bare.output
    a, b = json.loads(full.stdout)["places"], json.loads(bare.stdout)["places"]
    assert "distance_contested_km" in a[0] and "distance_contested_km" not in b[0]
    assert [(p["place"], p["p_fallen_180d"], p["fall_day_p50"]) for p in a] == \
        [(p["place"], p["p_fallen_180d"], p["fall_day_p50"]) for p in b]
    assert "grey km" not in printed.output and "range" not in printed.output


@pytest.mark.parametrize("args, message", [
    (["--date", "2020-01-01"], "no map on or before 2020-01-01"),
    (["--radius-km", "0.5"], "no place of the gazetteer within 0.5 km"),
    (["--held", "nowhere"], "nowhere"),
    (["--score"], "give --date"),
    (["--evaluate", "--top", "3"], "--evaluate"),
    (["--extensions", "time-in-regime,temp"], "unknown model extension 'temp'"),
])
def test_bad_requests_are_one_line_and_exit_2(world, tmp_path, args, message):
    root, _, _, csv_file = world
    out = tmp_path / "never"
    r = CliRunner().invoke(cli, ["outlook", str(root / "maps"), "--places", str(csv_file),
                                 "-n", "50", "--out", str(out), *args])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not out.exists()


def test_measurements_are_cached_by_the_maps_hashes_and_a_damaged_entry_is_measured_again(
        world, tmp_path, monkeypatch):
    import sim.data.front as front

    root, _, places, _ = world
    paths = snapshot_paths([root / "maps"])
    cache = tmp_path / "cache"
    first = front_series(paths, places, cache=cache)
    entries = sorted(cache.rglob("*.npz"))
    assert len(entries) == len(paths)

    def no_reading(*a, **k):
        raise AssertionError("a cached snapshot was read again")

    with monkeypatch.context() as m:
        m.setattr(front, "read_held", no_reading)
        again = front_series(paths, places, cache=cache)
    np.testing.assert_array_equal(first.distance_km, again.distance_km)
    assert again.dates == first.dates
    entries[0].write_bytes(b"not an npz")
    moved = [Place(name=p.name, lat=p.lat + 0.01, lon=p.lon, slug=p.slug) for p in places]
    redone = front_series(paths, places, cache=cache)  # the damaged one measured again
    np.testing.assert_array_equal(first.distance_km, redone.distance_km)
    other = front_series(paths, moved, cache=cache)  # other places: other entries
    assert not np.array_equal(other.distance_km, first.distance_km)
    assert len(list(cache.rglob("*.npz"))) == 2 * len(paths)


def test_places_beyond_a_clipped_maps_edge_are_not_asked_about(tmp_path):
    """A map clipped to a box says nothing of the held territory beyond it: a place outside
    the box is left out, and only such places is one line naming the extent."""
    maps = tmp_path / "maps"
    maps.mkdir()
    for i in range(3):
        p = write_map(maps, START + dt.timedelta(days=14 * i), LON0 - 0.2)
        doc = json.loads(p.read_text())
        doc["clip_bbox"] = [30.0, 45.0, LON0, 51.0]
        p.write_text(json.dumps(doc))
    inside, beyond = place("Inside", -5.0), place("Beyond", 10.0)
    s = front_series(snapshot_paths([maps]), [inside, beyond])
    assert s.distance_km[-1][1] < 30.0  # near the held territory, but beyond the map's edge
    assert [x.place.slug for x in O.standing(s, 30.0, O.map_extent(s))] == ["inside"]
    csv_file = places_csv(tmp_path / "p.csv", [beyond])
    r = CliRunner().invoke(cli, ["outlook", str(maps), "--places", str(csv_file), "-n", "10"])
    assert r.exit_code == 2 and "inside the map's extent (lon 30 to 37" in r.output


def test_with_no_snapshots_the_outlook_reads_the_cache_and_refuses_a_damaged_one(tmp_path,
                                                                                 monkeypatch):
    """Maps fetched (from a folder mirror) into the cache are what an outlook with no
    snapshots reads, under the archive's date convention; a damaged cached file is one line
    naming it, and nothing is written."""
    monkeypatch.setenv("ADVSIM_PROGRESS", "0")
    mirror, cache = tmp_path / "mirror", tmp_path / "cache"
    advancing_maps(mirror, n=30)
    for p in mirror.iterdir():  # named as the single-layer archive names its files
        p.rename(mirror / f"deepstatemap_data_{p.stem.replace('-', '')}.geojson")
    last = START + dt.timedelta(days=14 * 29)
    r = CliRunner().invoke(cli, ["data", "fetch", "--base-url", str(mirror), "--cache",
                                 str(cache), "--from", START.isoformat(), "--until",
                                 last.isoformat()])
    assert r.exit_code == 0, r.output
    csv_file = places_csv(tmp_path / "p.csv", [place("Near", -3.0), place("Middle", 8.0)]
                          + [place(f"C{e}", e, -60.0) for e in range(-28, 20, 4)])
    out = tmp_path / "o"
    r = CliRunner().invoke(cli, ["outlook", "--cache", str(cache), "--places", str(csv_file),
                                 "-n", "100", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"Outlook of {last - dt.timedelta(days=1)}")  # the map of D-1
    m = json.loads((out / "manifest.json").read_text())
    assert all(str(cache) in f for f in m["snapshots"]) and len(m["snapshots"]) == 30
    victim = sorted(cache.rglob("deepstatemap_data_*.geojson"))[3]
    victim.write_bytes(victim.read_bytes()[:-5])
    r = CliRunner().invoke(cli, ["outlook", "--cache", str(cache), "--places", str(csv_file),
                                 "-n", "100", "--out", str(tmp_path / "never")])
    assert r.exit_code == 2 and victim.name in r.output
    assert len(r.output.strip().splitlines()) == 1 and not (tmp_path / "never").exists()


def test_namesakes_are_told_apart_in_the_table_by_region_then_position():
    from sim.presentation.text_outlook import _labels

    def named(slug, lat, lon, region):
        return Place(name="Lazurnyi", lat=lat, lon=lon, slug=slug, region=region)

    got = _labels([named("a", 48.1, 37.5, "Donetsk Oblast"),
                   named("b", 47.9, 37.2, "Donetsk Oblast"),
                   named("c", 46.6, 32.9, "Kherson Oblast"), place("Other", 0.0)])
    assert got == {"a": "Lazurnyi (Donetsk Oblast, 48.10°N 37.50°E)",
                   "b": "Lazurnyi (Donetsk Oblast, 47.90°N 37.20°E)",
                   "c": "Lazurnyi (Kherson Oblast)", "other": "Other"}


def test_an_outlook_shows_itself_in_one_line_and_as_an_escaped_table(world):
    o = O.outlook(series_of(world), replications=100, horizon_days=365)
    assert repr(o) == (f"<Outlook of {o.map_date}: {len(o.places)} places within 30 km, "
                       f"100 replications a place over 365 days, seed 1>")
    html = o._repr_html_()
    assert html.count("<tr>") == min(len(o.places), 10) + 1 and "Near" in html


def test_on_a_terminal_the_outlook_says_it_reads_the_gazetteer_before_parsing_it(
        world, monkeypatch, tmp_path):
    """Parsing GeoNames' places holds the interpreter for seconds, so the ticker cannot draw
    during it: the line says so first, at once, without waiting for the usual delay."""
    import sys

    from sim.data import gazetteer

    root, _, _, csv_file = world
    real = gazetteer.load_gazetteer
    seen: list[str] = []

    def parse(**kwargs):  # the world's places, read as the gazetteer would be
        sys.stderr.flush()
        seen.append(sys.stderr.buffer.getvalue().decode())  # what the terminal shows now
        return real(**{**kwargs, "file": csv_file})

    monkeypatch.setattr(gazetteer, "load_gazetteer", parse)
    monkeypatch.setattr(gazetteer, "loaded", lambda: False)
    args = ["outlook", str(root / "maps"), "-n", "50", "--cache", str(tmp_path / "cache")]
    r = CliRunner().invoke(cli, args, env={"ADVSIM_PROGRESS": "1"})
    assert r.exit_code == 0, r.output
    # the first and last maps read (half the reading phase's 0.5 of the job's 5.5: reading,
    # measuring 1, simulating 2 and the fall definitions' run 2), then the gazetteer
    assert seen == ["\radvsim outlook: reading the gazetteer… · 5%\033[K"]
    assert r.stderr.endswith("\r\033[K") and r.stdout.startswith("Outlook of ")
    seen.clear()
    monkeypatch.setattr(gazetteer, "loaded", lambda: True)  # read already: nothing to say
    r = CliRunner().invoke(cli, args, env={"ADVSIM_PROGRESS": "1"})
    assert r.exit_code == 0 and seen == [""]
    seen.clear()
    monkeypatch.setattr(gazetteer, "loaded", lambda: False)
    r = CliRunner().invoke(cli, args, env={"ADVSIM_PROGRESS": "0"})  # not a terminal
    assert r.exit_code == 0 and seen == [""] and r.stderr == ""


def test_on_a_terminal_the_outlook_shows_measuring_then_simulating(world, monkeypatch,
                                                                  tmp_path):
    """One bar over the job: the maps measured, then the places projected; erased before the
    table, and nothing on a pipe."""
    from sim.presentation.progress import Progress

    real = Progress.__init__
    monkeypatch.setattr(Progress, "__init__", lambda self, *a, **k: real(
        self, *a, **{**k, "delay": 0.0, "rate": 1e9}))
    root, dates, _, csv_file = world
    args = ["outlook", str(root / "maps"), "--places", str(csv_file), "-n", "50",
            "--cache", str(tmp_path / "cache")]
    r = CliRunner().invoke(cli, args, env={"ADVSIM_PROGRESS": "1"})
    assert r.exit_code == 0, r.output
    err = r.stderr
    assert f"advsim outlook: measuring {len(dates) - 1}/{len(dates)}" in err
    assert err.index("advsim outlook: measuring") < err.index("advsim outlook: simulating")
    assert err.endswith("\r\033[K") and r.stdout.startswith("Outlook of ")
    r = CliRunner().invoke(cli, args, env={"ADVSIM_PROGRESS": "0"})
    assert r.exit_code == 0 and r.stderr == ""


# -- the covariates of every map ------------------------------------------------------------------


def test_the_covariates_of_a_straight_front_have_closed_forms(world):
    """A front moving east along a band of latitudes: the held km² within a radius is a
    circular segment, the share of bearings is (π − 2·asin(d/R)) / 2π, and the whole map's
    held area grows by the step times the band's height (6° of latitude)."""
    s = series_of(world)
    cov = measure_covariates(s, 30.0)
    height_km = 6.0 * 111.2
    # the discs are 128-gons: a segment near the rim misses up to about 0.1 km² of its arc
    for k in (5, 17, len(s.dates) - 1):
        for j in range(len(s.places)):
            d = s.distance_km[k, j]
            if d <= 0:
                continue
            assert cov.held_near_km2[k, j] == pytest.approx(
                segment_km2(ACTIVITY_RADIUS_KM, d), rel=3e-3, abs=0.1)
            assert cov.held_km2[k, j] == pytest.approx(segment_km2(30.0, d), rel=3e-3,
                                                       abs=0.1)
            share = (math.pi - 2 * math.asin(min(d / 30.0, 1.0))) / (2 * math.pi)
            assert cov.surrounded[k, j] == pytest.approx(share, abs=0.015)
        then = cov.before(k)
        # the last map at least 90 days before, or the first map where none is
        assert (s.dates[k] - s.dates[then]).days >= ACTIVITY_DAYS or then == 0
        assert (s.dates[k] - s.dates[then + 1]).days < ACTIVITY_DAYS
        moved_km = float(np.median(s.distance_km[then] - s.distance_km[k]))
        days = (s.dates[k] - s.dates[then]).days
        assert cov.tempo(k) == pytest.approx(moved_km * height_km / days, rel=0.01, abs=0.5)
        act = cov.activity(k)
        assert act == pytest.approx((cov.held_near_km2[k] - cov.held_near_km2[then]) / days)
    assert cov.tempo(0) == 0.0 and not cov.activity(0).any()


def test_covariates_are_cached_and_a_table_cut_at_an_origin_is_what_its_maps_give(
        world, tmp_path):
    s = series_of(world)
    cut = s.dates[20]
    whole = measure_covariates(s, 30.0, cache=tmp_path)
    again = measure_covariates(s, 30.0, cache=tmp_path)
    early = measure_covariates(s.upto(cut), 30.0)
    for name in ("held_near_km2", "held_km2", "surrounded", "theatre_km2"):
        assert np.array_equal(getattr(whole, name), getattr(again, name))
        assert np.array_equal(getattr(whole.upto(20), name), getattr(early, name))
    assert len(list(tmp_path.rglob("*.npz"))) == len(s.dates)
    with pytest.raises(O.OutlookError, match="other maps"):
        O.covariates_for(s.upto(cut), 20.0, whole)


def test_each_place_gets_the_stall_law_of_where_it_stands(world):
    """A place's stalled sojourn is the fitted law at its own terms (here a law given), the
    other regimes untouched, and time in regime still starts it part-way through."""
    from sim.fitting.stall_effects import StallEffects

    s = series_of(world)
    model = fit(O.class_of(s))
    e = StallEffects(extensions=("activity", "encirclement"),
                     names=("slow front", "active front", "surrounded share"), mu=4.0,
                     beta=np.array([0.3, -0.5, -1.0]), se=np.ones(3), sigma=1.0, spells=10,
                     censored=0)
    plain = O.place_scenario(model, O.Standing(place=place("a", 5.0), distance_km=5.0,
                                               regime="stalled", regime_days=30),
                             s.dates[-1], horizon_days=100, replications=10, seed=1)
    for act, share, want in ((0.0, 0.2, 4.0 - 0.2), (0.05, 0.5, 4.3 - 0.5),
                             (1.0, 0.9, 3.5 - 0.9)):
        st = O.Standing(place=place("a", 5.0), distance_km=5.0, regime="stalled",
                        regime_days=30, activity_km2_per_day=act, surrounded=share)
        sc = O.place_scenario(model, st, s.dates[-1], horizon_days=100, replications=10,
                              seed=1, effects=e)
        regimes = sc.sectors[0].advance.regimes
        for r, r0 in zip(regimes.states, plain.sectors[0].advance.regimes.states):
            if r.name == "stalled":
                assert r.sojourn_days.mean == pytest.approx(math.exp(want + 0.5), rel=1e-3)
                assert r.sojourn_days.sigma == pytest.approx(1.0, rel=1e-3)
            else:
                assert r == r0
        assert regimes.elapsed_days == 30.0


def test_an_outlook_with_covariates_from_every_map_is_the_one_from_the_maps_to_its_date(world):
    s = series_of(world)
    day = s.dates[30]
    exts = frozenset({"time-in-regime", "activity", "encirclement", "tempo"})
    cov = measure_covariates(s, 30.0)
    o = O.outlook(s, day, replications=100, horizon_days=200, extensions=exts, covariates=cov)
    alone = O.outlook(s.upto(day), replications=100, horizon_days=200, extensions=exts)
    assert o.stall_effects is not None
    assert o.stall_effects.names == ("slow front", "active front", "surrounded share",
                                     "theatre tempo")
    assert np.array_equal(o.stall_effects.beta, alone.stall_effects.beta)
    k = s.index_of(day)
    index = [q.slug for q in s.places]
    for a, b in zip(o.places, alone.places):
        j = index.index(a.standing.place.slug)
        assert a.standing.activity_km2_per_day == pytest.approx(cov.activity(k)[j])
        assert a.standing.tempo_km2_per_day == pytest.approx(cov.tempo(k))
        assert a.standing == b.standing
        assert np.array_equal(a.fall_days, b.fall_days)


def test_unknown_model_extensions_are_refused_by_name():
    with pytest.raises(O.OutlookError, match="unknown model extension 'activty'"):
        O.extensions_of(["activty"])
    assert O.extensions_of(["tempo", "approach-phase"]) == {"tempo", "approach-phase"}


def test_no_extension_reading_covariates_fits_no_stall_law(world):
    s = series_of(world)
    cov = measure_covariates(s, 30.0)
    assert O.stall_effects_of(O.class_of(s), s, cov, frozenset({"time-in-regime"})) is None
