"""advsim trace on synthetic snapshots with exact answers, checked against pyproj.Geod."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math

import numpy as np
import pytest

shapely = pytest.importorskip("shapely")
pyproj = pytest.importorskip("pyproj")

from click.testing import CliRunner  # noqa: E402

from sim.cli import cli  # noqa: E402
from sim.data.observed import read_observed  # noqa: E402
from sim.data.snapshots import load_layer_map, read_snapshot  # noqa: E402
from sim.data.towns import Place, load_towns, resolve_place  # noqa: E402
from sim.data.trace import AreaFrame, LocalFrame, layer_area_km2, measure_place, trace  # noqa: E402

GEOD = pyproj.Geod(ellps="WGS84")
LAT0 = 48.0


def box(w, s, e, n, step=0.001):
    """A lon/lat box whose edges follow the parallels and meridians (densified)."""
    return shapely.segmentize(shapely.box(w, s, e, n), step)


def geodesic_distance_km(lon, lat, geom, step=1e-4) -> float:
    """The geodesic reference: the least pyproj.Geod distance from (lon, lat) to any point of
    the geometry's boundary, densified to ``step`` degrees."""
    xy = shapely.get_coordinates(shapely.segmentize(shapely.boundary(geom), step))
    _, _, d = GEOD.inv(np.full(len(xy), lon), np.full(len(xy), lat), xy[:, 0], xy[:, 1])
    return float(d.min()) / 1000.0


def place(lon, lat, name="here") -> Place:
    return Place(name=name, lat=lat, lon=lon, slug=name)


def single_layer(path, geom, **members):
    doc = {"type": "FeatureCollection", **members, "features": [
        {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(geom)}]}
    path.write_text(json.dumps(doc))
    return path


def multi_layer(path, layers, **members):
    """layers: (fill, geometry, name) triples."""
    feats = [{"type": "Feature", "properties": {"fill": fill, "name": name},
              "geometry": shapely.geometry.mapping(g)} for fill, g, name in layers]
    feats.append({"type": "Feature", "properties": {"name": "marker"},
                  "geometry": {"type": "Point", "coordinates": [37.0, 48.0]}})
    path.write_text(json.dumps({"type": "FeatureCollection", **members, "features": feats}))
    return path


def measure(lon, lat, geom, radius_km=30.0, **kw):
    return measure_place(LocalFrame(lat, lon), np.array([geom], dtype=object), radius_km, **kw)


# -- distances -----------------------------------------------------------------------------------


def test_distance_to_a_square_due_south_is_the_meridian_arc():
    sq = box(37.0, 48.0, 37.1, 48.1)
    m = measure(37.05, 47.9, sq)
    _, _, ref = GEOD.inv(37.05, 47.9, 37.05, 48.0)
    assert m.distance_km == pytest.approx(ref / 1000.0, rel=1e-5)
    assert m.distance_km == pytest.approx(11.12, abs=0.01)


@pytest.mark.parametrize(("lon", "lat"), [(36.5, 47.3), (37.31, 48.12), (37.02, 48.6),
                                          (38.4, 49.5), (35.0, 46.0)])
def test_distance_matches_the_geodesic_reference_within_a_thousandth(lon, lat):
    shape = shapely.union_all([box(37.0, 48.0, 37.1, 48.1), box(37.2, 47.6, 37.5, 48.0)])
    m = measure(lon, lat, shape)
    ref = geodesic_distance_km(lon, lat, shape)
    assert m.distance_km > 0
    assert m.distance_km == pytest.approx(ref, rel=1e-3)


def test_a_place_inside_is_minus_the_distance_to_the_edge():
    sq = box(37.0, 48.0, 37.1, 48.1)
    m = measure(37.05, 48.05, sq)
    ref = geodesic_distance_km(37.05, 48.05, sq)
    assert m.distance_km < 0
    assert -m.distance_km == pytest.approx(ref, rel=1e-3)
    # the nearest edges are the meridians 0.05 degrees of longitude away, about 3.72 km
    assert -m.distance_km == pytest.approx(0.05 * math.cos(math.radians(48.05)) * 111.3, rel=3e-3)


def test_a_place_in_a_hole_is_outside_by_the_distance_to_the_hole():
    outer, hole = box(36.8, 47.8, 37.3, 48.3), box(37.0, 48.0, 37.1, 48.1)
    ring = shapely.difference(outer, hole)
    m = measure(37.05, 48.0 + 0.03, ring)
    assert m.distance_km > 0
    assert m.distance_km == pytest.approx(geodesic_distance_km(37.05, 48.03, hole), rel=1e-3)
    _, _, south = GEOD.inv(37.05, 48.03, 37.05, 48.0)
    assert m.distance_km == pytest.approx(min(south / 1000, 3.72), rel=2e-3)


def test_a_place_on_the_boundary_is_at_zero():
    sq = box(37.0, 48.0, 37.1, 48.1)
    assert measure(37.0, 48.0, sq).distance_km == 0.0  # a corner: exactly
    # a point of an edge (its vertex is 37.0 + 50 x 0.001, rounded): within a millimetre
    assert measure(37.05, 48.0, sq).distance_km == pytest.approx(0.0, abs=1e-6)


def test_multipolygon_distance_is_to_the_nearest_part():
    near, far = box(37.0, 48.0, 37.1, 48.1), box(39.0, 48.0, 39.1, 48.1)
    mp = shapely.MultiPolygon([near, far])
    m = measure(37.5, 48.05, mp)
    assert m.distance_km == pytest.approx(geodesic_distance_km(37.5, 48.05, near), rel=1e-3)


def test_far_territory_is_found_beyond_the_radius():
    sq = box(37.0, 48.0, 37.1, 48.1)
    _, _, ref = GEOD.inv(37.05, 46.0, 37.05, 48.0)  # about 222 km, far past a 30 km radius
    m = measure(37.05, 46.0, sq, radius_km=30)
    assert m.distance_km == pytest.approx(ref / 1000, rel=1e-4)
    assert m.held_km2_within_radius == 0 and m.front_km_within_radius == 0


def test_deep_inside_the_distance_is_to_the_real_edge_not_to_a_clip_box():
    big = box(30.0, 44.0, 40.0, 50.0, step=0.01)
    m = measure(35.0, 47.0, big)
    assert -m.distance_km == pytest.approx(geodesic_distance_km(35.0, 47.0, big, 1e-3), rel=1e-3)
    assert -m.distance_km > 300


def test_adjacent_layers_merge_without_a_seam():
    """Two polygons that share an edge are one territory: a place inside, near the shared
    edge, is as far inside as the outer edge says, and the shared edge is no contact line."""
    west, east = box(36.5, 47.5, 37.0, 48.5), box(37.0, 47.5, 37.5, 48.5)
    frame = LocalFrame(48.0, 37.001)
    m = measure_place(frame, np.array([west, east], dtype=object), 10.0)
    whole = box(36.5, 47.5, 37.5, 48.5)
    assert -m.distance_km == pytest.approx(geodesic_distance_km(37.001, 48.0, whole), rel=1e-3)
    assert m.front_km_within_radius == 0.0


# -- areas and contact lines within the radius ---------------------------------------------------


def test_a_covered_disc_has_the_area_of_a_geodesic_circle():
    big = box(35.0, 46.0, 40.0, 50.0, step=0.01)
    m = measure(37.5, 48.0, big, radius_km=30)
    # geodesic disc of 30 km: Geod area of its boundary, sampled by geodesic bearings
    az = np.linspace(0, 360, 3601)[:-1]
    lons, lats, _ = GEOD.fwd(np.full(az.size, 37.5), np.full(az.size, 48.0), az,
                             np.full(az.size, 30e3))
    ref_area, _ = GEOD.polygon_area_perimeter(lons, lats)
    assert m.held_km2_within_radius == pytest.approx(abs(ref_area) / 1e6, rel=1e-4)
    assert m.held_km2_within_radius == pytest.approx(math.pi * 900, rel=1e-3)
    assert m.front_km_within_radius == 0.0


def test_a_straight_edge_through_the_disc_gives_the_chord_and_the_segment_area():
    terr = box(37.1, 47.0, 38.5, 49.0, step=0.002)  # edge: the meridian 37.1
    m = measure(37.0, 48.0, terr, radius_km=30)
    d = m.distance_km
    _, _, ref_d = GEOD.inv(37.0, 48.0, 37.1, 48.0)
    assert d == pytest.approx(ref_d / 1000, rel=1e-3)
    # the contact line: the piece of the meridian within 30 km (geodesic) of the place
    lats = np.linspace(47.5, 48.5, 200001)
    _, _, dist = GEOD.inv(np.full(lats.size, 37.0), np.full(lats.size, 48.0),
                          np.full(lats.size, 37.1), lats)
    inside = lats[dist <= 30e3]
    chord = GEOD.line_length([37.1, 37.1], [inside[0], inside[-1]]) / 1000
    assert m.front_km_within_radius == pytest.approx(chord, rel=1e-3)
    assert m.front_km_within_radius == pytest.approx(2 * math.sqrt(900 - d * d), rel=2e-3)
    segment = 900 * math.acos(d / 30) - d * math.sqrt(900 - d * d)
    assert m.held_km2_within_radius == pytest.approx(segment, rel=2e-3)


def test_clip_box_edges_are_not_contact_line():
    terr = box(37.1, 47.0, 38.5, 49.0, step=0.002)
    m = measure(37.0, 48.0, terr, radius_km=30, clip_bbox=(37.1, 46.0, 40.0, 50.0))
    assert m.front_km_within_radius == pytest.approx(0.0, abs=1e-6)
    assert m.held_km2_within_radius > 0


def test_layer_area_matches_the_geodesic_area_of_a_square():
    sq = box(35.0, 51.0, 35.2, 51.1, step=0.0005)
    ref, _ = GEOD.geometry_area_perimeter(sq)
    got = layer_area_km2(AreaFrame(), np.array([sq], dtype=object))
    assert got == pytest.approx(abs(ref) / 1e6, rel=1e-4)
    # overlapping polygons count once; a bbox and a polygon clip cut them
    both = np.array([sq, box(35.1, 51.0, 35.3, 51.1, step=0.0005)], dtype=object)
    union_ref, _ = GEOD.geometry_area_perimeter(box(35.0, 51.0, 35.3, 51.1, step=0.0005))
    assert layer_area_km2(AreaFrame(), both) == pytest.approx(abs(union_ref) / 1e6, rel=1e-4)
    half = layer_area_km2(AreaFrame(), both, bbox=(35.0, 50.0, 35.15, 52.0))
    half_ref, _ = GEOD.geometry_area_perimeter(box(35.0, 51.0, 35.15, 51.1, step=0.0005))
    assert half == pytest.approx(abs(half_ref) / 1e6, rel=1e-4)
    clip = box(34.0, 51.05, 36.0, 52.0)
    top_ref, _ = GEOD.geometry_area_perimeter(box(35.0, 51.05, 35.3, 51.1, step=0.0005))
    assert layer_area_km2(AreaFrame(), both, clip=clip) == pytest.approx(abs(top_ref) / 1e6,
                                                                        rel=1e-4)


# -- formats, layer maps and dates ---------------------------------------------------------------

RED, MAROON, GREY, GREY_KURSK, BLUE_KURSK, GREEN = ("#a52714", "#880e4f", "#bcaaa4", "#bdbdbd",
                                                    "#01579b", "#0f9d58")


def test_multi_layer_roles_contested_and_the_by_name_override(tmp_path):
    occ = box(37.2, 47.5, 38.0, 48.5)
    grey = box(37.1, 47.5, 37.2, 48.5)
    questioned = box(36.9, 47.5, 37.0, 48.5)
    f = multi_layer(tmp_path / "2024-11-20.geojson", [
        (RED, occ, "Occupied"), (GREY, grey, "Unknown status"),
        (RED, questioned, "Під питанням"), (GREEN, box(36.0, 47.5, 36.1, 48.5), "Liberated"),
    ], snapshot_utc="2024-11-20T21:30:37+00:00")
    lm = load_layer_map()
    snap = read_snapshot(f, lm)
    assert snap.format == "multi-layer" and snap.map_date == dt.date(2024, 11, 20)
    assert len(snap.polygons["occupied"]) == 1  # the red "in question" polygon is contested
    assert len(snap.polygons["contested"]) == 2
    p = place(36.95, 48.0)
    exclude = trace([f], [p], contested="exclude").places["here"][1][0]
    attacker = trace([f], [p], contested="attacker").places["here"][1][0]
    assert exclude["distance_km"] == pytest.approx(
        geodesic_distance_km(36.95, 48.0, occ), rel=1e-3)
    assert attacker["distance_km"] < 0  # inside the questioned polygon, now attacker-held
    assert exclude["held_km2_within_radius"] < attacker["held_km2_within_radius"]


def test_kursk_held_is_blue_and_grey_inside_its_box_only(tmp_path):
    blue, grey_ru = box(35.0, 51.1, 35.2, 51.3), box(35.2, 51.1, 35.3, 51.3)
    grey_ua = box(37.0, 48.0, 37.1, 48.1)  # a grey zone in Ukraine: not part of the layer
    f = multi_layer(tmp_path / "2024-08-28.geojson", [
        (BLUE_KURSK, blue, "Liberated"), (GREY_KURSK, grey_ru, "Unknown status"),
        (GREY_KURSK, grey_ua, "Unknown status"), (RED, box(36.0, 50.0, 36.5, 50.5), "Occupied")])
    got = trace([f], areas=["kursk_held"]).areas["kursk_held"][0]["area_km2"]
    ref, _ = GEOD.geometry_area_perimeter(box(35.0, 51.1, 35.3, 51.3, step=0.0005))
    assert got == pytest.approx(abs(ref) / 1e6, rel=1e-4)


def test_a_replacement_layer_map_for_another_publisher(tmp_path):
    (tmp_path / "other.yaml").write_text(
        "name: Other\nproperty: side\nroles:\n  ru: [RU]\n  ua: [UA]\nattacker_held: [ru]\n")
    lm = load_layer_map(tmp_path / "other.yaml")
    terr = box(37.1, 47.5, 38.0, 48.5)
    doc = {"type": "FeatureCollection", "date": "2024-05-01", "features": [
        {"type": "Feature", "properties": {"side": "RU"},
         "geometry": shapely.geometry.mapping(terr)},
        {"type": "Feature", "properties": {"side": "UA"},
         "geometry": shapely.geometry.mapping(box(36.0, 47.5, 37.1, 48.5))}]}
    (tmp_path / "map.geojson").write_text(json.dumps(doc))
    r = trace([tmp_path / "map.geojson"], [place(37.0, 48.0)], layer_map=lm)
    row = r.places["here"][1][0]
    assert row["date"] == "2024-05-01"
    assert row["distance_km"] == pytest.approx(geodesic_distance_km(37.0, 48.0, terr), rel=1e-3)


def test_invalid_polygons_are_repaired_and_counted(tmp_path):
    bowtie = shapely.Polygon([(37.1, 47.9), (37.3, 48.1), (37.3, 47.9), (37.1, 48.1)])
    assert not bowtie.is_valid
    f = single_layer(tmp_path / "deepstatemap_data_20241001.geojson", bowtie)
    r = trace([f], [place(37.0, 48.0)])
    assert r.repaired == 1
    _, _, ref = GEOD.inv(37.0, 48.0, 37.1, 48.0)  # the bow tie's western tip... is a corner
    assert r.places["here"][1][0]["distance_km"] == pytest.approx(
        geodesic_distance_km(37.0, 48.0, shapely.make_valid(bowtie)), rel=1e-3)
    assert r.places["here"][1][0]["distance_km"] < ref / 1000 * 1.5


@pytest.mark.parametrize(("name", "members", "convention", "map_date", "file_date"), [
    ("deepstatemap_data_20240930.geojson", {}, "auto", "2024-09-29", "2024-09-30"),
    ("deepstatemap_data_20240930.geojson", {}, "same-day", "2024-09-30", "2024-09-30"),
    ("2024-09-30.geojson", {}, "auto", "2024-09-30", "2024-09-30"),
    ("front_20240930.geojson", {}, "previous-day", "2024-09-29", "2024-09-30"),
    ("x.geojson", {"snapshot_utc": "2024-09-30T23:30:00-02:00"}, "auto", "2024-10-01",
     "2024-10-01"),
    ("x.geojson", {"date": "2024-09-30"}, "auto", "2024-09-30", "2024-09-30"),
])
def test_date_conventions(tmp_path, name, members, convention, map_date, file_date):
    f = single_layer(tmp_path / name, box(37.1, 47.5, 38.0, 48.5), **members)
    snap = read_snapshot(f, load_layer_map(), date_convention=convention)
    assert (snap.map_date.isoformat(), snap.file_date.isoformat()) == (map_date, file_date)


def test_a_dates_table_gives_the_date(tmp_path):
    f = single_layer(tmp_path / "deepstatemap_data_20240930.geojson", box(37.1, 47.5, 38, 48.5))
    (tmp_path / "dates.csv").write_text("file,date\ndeepstatemap_data_20240930.geojson,"
                                        "2024-09-28\n")
    r = CliRunner().invoke(cli, ["trace", str(f), "--to", "48,37", "--dates",
                                 str(tmp_path / "dates.csv"), "--json"])
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout)["places"]["48,37"]["series"][0]
    assert (row["date"], row["file_date"]) == ("2024-09-28", "2024-09-28")


# -- places --------------------------------------------------------------------------------------


def test_shipped_towns_resolve_case_insensitively_and_by_alias():
    towns = load_towns()
    p = resolve_place("pokrovsk", towns)
    assert (p.lat, p.lon, p.slug) == (48.2833, 37.1833, "pokrovsk")
    assert resolve_place("VUHLEDAR", towns).lat == pytest.approx(47.7797, abs=1e-4)
    assert resolve_place("Kupyansk", towns).slug == "kupiansk"
    assert resolve_place("chasiv-yar", towns).name == "Chasiv Yar"
    assert resolve_place("48.5,37.25", towns).lat == 48.5
    for p in {q.slug: q for q in towns.values()}.values():
        assert p.source, p.name
        assert "GeoNames" in p.source


# -- the command ---------------------------------------------------------------------------------


@pytest.fixture
def series_dir(tmp_path):
    """Three weekly single-layer snapshots of a territory whose western edge moves west."""
    d = tmp_path / "occupied"
    d.mkdir()
    for day, west in [("20240902", 37.30), ("20240909", 37.25), ("20240916", 37.20)]:
        single_layer(d / f"deepstatemap_data_{day}.geojson", box(west, 47.5, 38.5, 48.5))
    return d


def test_cli_json_shape(series_dir):
    r = CliRunner().invoke(cli, ["trace", str(series_dir), "--to", "48.0,37.0", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["snapshots"] == 3 and out["repaired"] == 0
    assert out["contested"] == "exclude" and out["date_convention"] == "auto"
    series = out["places"]["48,37"]["series"]
    assert [s["date"] for s in series] == ["2024-09-01", "2024-09-08", "2024-09-15"]
    assert series[0]["snapshot"] == "deepstatemap_data_20240902.geojson"
    for s, west in zip(series, (37.30, 37.25, 37.20)):
        _, _, ref = GEOD.inv(37.0, 48.0, west, 48.0)
        assert s["distance_km"] == pytest.approx(ref / 1000, rel=1e-3)
        assert set(s) >= {"date", "distance_km", "held_km2_within_radius",
                          "front_km_within_radius", "snapshot", "file_date"}
    assert out["areas"] == {}


def test_cli_csv_is_an_observed_series_that_calibrate_reads(series_dir, tmp_path):
    out = tmp_path / "res" / "approach.csv"
    r = CliRunner().invoke(cli, ["trace", str(series_dir), "--to", "48.0,37.0", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "Wrote" in r.stdout
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:4] == ["date", "sector", "value", "frame"]
    assert {row["frame"] for row in rows} == {"remaining_km"}
    s = read_observed(out)["48n-37e"]
    assert s.frame == "remaining_km"
    assert s.extra["snapshot"][0] == "deepstatemap_data_20240902.geojson"
    r = CliRunner().invoke(cli, ["calibrate", str(out), "--cv", "0.5", "--json"])
    assert r.exit_code == 0, r.output
    cal = json.loads(r.stdout)
    assert cal["kind"] == "axis" and cal["frame"] == "remaining_km"
    # the advance is the decrease of the distance: 0.1 degree of longitude in 14 days
    _, _, moved = GEOD.inv(37.30, 48.0, 37.20, 48.0)
    assert cal["rate_m_per_day"]["estimate"] == pytest.approx(moved / 14, rel=1e-3)


def test_cli_scenario_block_cites_the_snapshot(series_dir, tmp_path):
    import yaml

    r = CliRunner().invoke(cli, ["trace", str(series_dir), "--to", "48.0,37.0", "--scenario",
                                 "--start", "2024-09-10"])
    assert r.exit_code == 0, r.output
    block = yaml.safe_load(r.stdout)["48n-37e"]
    _, _, ref = GEOD.inv(37.0, 48.0, 37.25, 48.0)
    assert block["kind"] == "axis"
    assert block["length_km"] == pytest.approx(ref / 1000, abs=0.006)
    assert "deepstatemap_data_20240909.geojson" in r.stdout


def test_cli_scenario_block_keeps_the_traced_distances_which_the_loader_reads(series_dir):
    """The block carries the place's distances up to --start (observed:, each point citing
    its snapshot); pasted into a scenario it loads, and the writer gives it back."""
    from sim.model import builder as b
    from sim.model.loader import parse_scenario, read_yaml
    from sim.model.writer import dump, dump_data

    r = CliRunner().invoke(cli, ["trace", str(series_dir), "--to", "48.0,37.0", "--json"])
    measured = json.loads(r.stdout)["places"]["48,37"]["series"]
    r = CliRunner().invoke(cli, ["trace", str(series_dir), "--to", "48.0,37.0", "--scenario",
                                 "--start", "2024-09-10"])
    assert r.exit_code == 0, r.output
    assert "# snapshot deepstatemap_data_20240902.geojson" in r.stdout
    assert "deepstatemap_data_20240916.geojson" not in r.stdout  # after --start
    ((slug, block),) = read_yaml(r.stdout, "<stdout>")[0].items()
    # pasted under sectors: of a scenario starting on --start, beside its forces and advance
    base = b.scenario(b.axis(slug, length_km=1, advance=100), name="pasted", horizon_days=30,
                      start="2024-09-10")
    data = read_yaml(dump(base), "<written>")[0]
    data["sectors"][slug].update(block)
    sc = parse_scenario(dump_data(data))
    traced = sc.sectors[0].observed
    assert traced.dates == (dt.date(2024, 9, 1), dt.date(2024, 9, 8))
    assert traced.values == tuple(round(m["distance_km"], 3) for m in measured[:2])
    assert "48,37" in traced.source
    assert parse_scenario(dump(sc)) == sc


def test_a_long_history_is_thinned_evenly_keeping_the_last():
    from sim.model.scenario import OBSERVED_MOST, Observed

    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(70)]
    o = Observed.thinned("x", days, list(range(70)))
    assert len(o) == OBSERVED_MOST and o.dates[0] == days[0] and o.dates[-1] == days[-1]
    steps = np.diff([int(v) for v in o.values])
    assert steps.min() >= 2 and steps.max() <= 3  # 69 days in 29 steps
    short = Observed.thinned("x", days[:5], list(range(5)))
    assert short.dates == tuple(days[:5])


def test_cli_scenario_block_keeps_a_name_that_yaml_would_misread(series_dir, tmp_path):
    from sim.model.loader import read_yaml

    towns = tmp_path / "towns.csv"
    towns.write_text("name,lat,lon,country,aliases,source\n"
                     '"Site #3: Yes, *ref",48.0,37.0,UA,,test\n', encoding="utf-8")
    r = CliRunner().invoke(cli, ["trace", str(series_dir), "--towns", str(towns), "--to",
                                 "Site #3: Yes, *ref", "--scenario", "--start", "2024-09-10"])
    assert r.exit_code == 0, r.output
    (block,) = read_yaml(r.stdout, "<stdout>")[0].values()
    assert block["objective"] == {"name": "Site #3: Yes, *ref"}
    assert block["length_km"] == pytest.approx(18.6, abs=0.1)


def test_cli_table_and_area(series_dir):
    r = CliRunner().invoke(cli, ["trace", str(series_dir), "--to", "48.0,37.0", "--area",
                                 "occupied", "--bbox", "37.0,47.0,37.4,49.0"])
    assert r.exit_code == 0, r.output
    assert "distance km" in r.stdout and "area km²" in r.stdout
    ref, _ = GEOD.geometry_area_perimeter(box(37.20, 47.5, 37.4, 48.5, step=0.0005))
    assert f"{abs(ref) / 1e6:.1f}" in r.stdout


def test_cli_chart_draws_a_png(series_dir, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "map.png"
    r = CliRunner().invoke(cli, ["trace", str(series_dir), "--to", "48.0,37.0", "--chart",
                                 str(png), "--chart-dates", "2024-09-01,2024-09-15"])
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_map_chart_has_a_line_per_date_and_the_radius(series_dir):
    pytest.importorskip("matplotlib")
    from matplotlib.colors import to_rgb

    from sim.data.trace import evenly_spaced
    from sim.presentation.charts.map import map_chart

    r = trace([series_dir], [place(37.0, 48.0)], chart_dates=evenly_spaced(6), radius_km=20)
    fig = map_chart(r)
    ax, bar = fig.axes  # one map, and the colour bar of its dates
    labels = [ln.get_label() for ln in ax.get_lines()]
    dates = ["2024-09-01", "2024-09-08", "2024-09-15"]
    assert set(dates) | {"20 km from the place"} <= set(labels)
    assert ax.get_xlim() == pytest.approx((-26, 26))
    # the dates are told apart by a sequential scale, named on the colour bar: newer is darker
    assert [t.get_text() for t in bar.get_yticklabels()] == dates
    colours = [to_rgb(next(ln for ln in ax.get_lines() if ln.get_label() == d).get_color())
               for d in dates]
    lightness = [0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2] for c in colours]
    assert lightness == sorted(lightness, reverse=True) and len(set(lightness)) == 3
    # one legend for the figure, not the last panel's
    assert not ax.get_legend() and len(fig.legends) == 1
    # context: the gazetteer's towns in view (48 N 37 E is in Donetsk oblast), named apart
    from sim.data import gazetteer

    if gazetteer.available():
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        towns = [t for t in ax.texts if t.get_text() not in ("here", "10 km")]
        assert len(towns) >= 3
        assert {"Kurakhove", "Selydove"} & {t.get_text() for t in towns}
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        boxes = [t.get_window_extent(canvas.get_renderer()) for t in towns]
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_nearby_places_share_one_map_and_distant_ones_do_not(series_dir):
    pytest.importorskip("matplotlib")
    from sim.data.trace import evenly_spaced
    from sim.presentation.charts.map import map_chart

    near = trace([series_dir], [place(37.0, 48.0, "a"), place(37.1, 48.0, "b")],
                 chart_dates=evenly_spaced(2), radius_km=20)
    fig = map_chart(near)
    assert len(fig.axes) == 2  # one map (with both stars) and the colour bar
    stars = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "*"]
    assert len(stars) == 2
    far = trace([series_dir], [place(37.0, 48.0, "a"), place(39.0, 48.0, "b")],
                chart_dates=evenly_spaced(2), radius_km=20)
    assert len(map_chart(far).axes) == 3  # two maps, one colour bar


def test_cli_out_writes_a_trace_folder_that_reads_itself_back(series_dir, tmp_path):
    from sim.artifacts.files import sha256_file
    from sim.data.trace import Trace

    out, csv_file = tmp_path / "traced", tmp_path / "approach.csv"
    args = ["trace", str(series_dir), "--to", "48.0,37.0", "--area", "occupied", "--bbox",
            "37.0,47.0,37.4,49.0"]
    r = CliRunner().invoke(cli, [*args, "--out", str(out), "-o", str(csv_file)])
    assert r.exit_code == 0, r.output
    assert f"Wrote {out} (a trace folder" in r.stdout
    as_json = json.loads(CliRunner().invoke(cli, [*args, "--json"]).stdout)
    back = Trace.from_folder(out)
    assert back.to_dict() == as_json  # everything --json prints, as measured
    assert (out / "series.csv").read_bytes() == csv_file.read_bytes()  # as -o writes it
    assert [s["snapshot"] for s in back.snapshots] == sorted(
        p.name for p in series_dir.iterdir())
    manifest = back.manifest
    assert manifest["kind"] == "trace" and manifest["seed"] is None
    snaps = sorted(series_dir.iterdir())
    assert manifest["snapshot_files"] == [str(p) for p in snaps] == back.files
    assert manifest["inputs"] == {str(p): sha256_file(p) for p in snaps}
    # an existing folder is refused before anything is measured, in one line
    r = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert r.exit_code == 2 and r.stderr == f"{out}: already exists (choose a new --out)\n"


def test_an_altered_trace_folder_is_refused_naming_the_file(series_dir, tmp_path):
    from sim.data.trace import Trace
    from sim.errors import AdvsimError

    out = tmp_path / "traced"
    r = CliRunner().invoke(cli, ["trace", str(series_dir), "--to", "48.0,37.0", "--out",
                                 str(out)])
    assert r.exit_code == 0, r.output
    data = (out / "series.csv").read_bytes()
    (out / "series.csv").write_bytes(data.replace(b"remaining_km", b"advance_km", 1))
    with pytest.raises(AdvsimError) as e:
        Trace.from_folder(out)
    assert str(e.value) == (f"{out}: series.csv: does not match its checksum in manifest.json "
                            "(truncated, damaged or edited)")
    (out / "series.csv").write_bytes(data)
    assert Trace.from_folder(out).manifest["kind"] == "trace"  # restored: read again
    from sim.running.outcomes import Result

    with pytest.raises(AdvsimError) as e:
        Result.from_folder(out)
    assert str(e.value) == (f"{out}: a trace folder of advsim trace --out (expected a results "
                            "folder of advsim run)")


def test_reference_build_reads_a_trace_folder_and_refuses_it_cut_short(series_dir, tmp_path):
    """A trace folder is what advsim writes for itself to read: its series.csv is checked
    against the manifest, so a file cut at a line's end (a plain CSV reader cannot tell) is
    refused by name, where the same rows as a standalone CSV would be read as a shorter series."""
    from sim.errors import AdvsimError
    from sim.fitting.reference import build

    out, csv_file = tmp_path / "traced", tmp_path / "approach.csv"
    r = CliRunner().invoke(cli, ["trace", str(series_dir), "--to", "48.0,37.0", "--to",
                                 "48.2,37.05", "--out", str(out), "-o", str(csv_file)])
    assert r.exit_code == 0, r.output
    until = dt.date(2024, 9, 30)
    from_folder, from_csv = build([out], until=until), build([csv_file], until=until)
    def rows(cls):
        return [(a.town, a.dates, a.remaining_km.tolist(), a.fell) for a in cls.approaches]

    assert rows(from_folder) == rows(from_csv) and len(rows(from_csv)) == 2
    lines = (out / "series.csv").read_bytes().splitlines(keepends=True)
    (out / "series.csv").write_bytes(b"".join(lines[:-1]))  # cut at a line's end
    with pytest.raises(AdvsimError, match=r"series.csv: does not match its checksum"):
        build([out], until=until)
    r = CliRunner().invoke(cli, ["reference", "build", str(out), "--until", "2024-09-30",
                                 "-o", str(tmp_path / "c.yaml")])
    assert r.exit_code == 2 and "series.csv: does not match its checksum" in r.stderr
    assert not (tmp_path / "c.yaml").exists()
