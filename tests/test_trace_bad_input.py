"""advsim trace: every bad input is one line ``FILE: what is wrong``, exit 2, nothing written."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("shapely")
pytest.importorskip("pyproj")

from click.testing import CliRunner

from sim.cli import cli

SQUARE = {"type": "Polygon",
          "coordinates": [[[37.1, 47.9], [37.3, 47.9], [37.3, 48.1], [37.1, 48.1], [37.1, 47.9]]]}


def fc(*geoms, **members):
    return json.dumps({"type": "FeatureCollection", **members, "features": [
        {"type": "Feature", "properties": {}, "geometry": g} for g in geoms]})


GOOD = fc(SQUARE)
NAME = "deepstatemap_data_20241120.geojson"

# name -> (file name, content, extra args, the start of the line after the path, a word)
BAD = {
    "not_json": (NAME, "{not json", [], "", "not GeoJSON (invalid JSON"),
    "not_geojson": (NAME, json.dumps({"type": "Topology"}), [], "", "not GeoJSON"),
    "no_date": ("front.geojson", GOOD, [], "", "no date"),
    "bad_calendar_date": ("front.geojson", fc(SQUARE, date="2024-02-30"), [], "",
                          "date: expected an ISO date"),
    "empty_geometry": (NAME, fc(SQUARE, {"type": "Polygon", "coordinates": []}), [],
                       " features[1]:", "empty Polygon"),
    "point_geometry": (NAME, fc(SQUARE, {"type": "Point", "coordinates": [37, 48]}), [],
                       " features[1]:", "geometry is Point, not a Polygon or MultiPolygon"),
    "no_geometry": (NAME, fc(None), [], " features[0]:", "geometry is missing"),
    "bad_coordinates": (NAME, fc({"type": "Polygon", "coordinates": [[[37, 48]]]}), [],
                        " features[0]:", "bad Polygon coordinates"),
    "no_polygons": (NAME, fc(), [], "", "no polygons"),
}


def run(args):
    r = CliRunner().invoke(cli, ["trace", *args])
    lines = r.stderr.splitlines()
    assert r.exit_code == 2, r.output
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.output and r.stdout == ""
    return lines[0]


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_snapshot(name, tmp_path):
    fname, content, extra, after, word = BAD[name]
    path = tmp_path / fname
    path.write_text(content)
    out = tmp_path / "out.csv"
    line = run([str(path), "--to", "Pokrovsk", "-o", str(out), *extra])
    assert line.startswith(f"{path}:{after}"), line
    assert word in line
    assert not out.exists()


def test_a_bad_snapshot_among_good_ones_writes_nothing(tmp_path):
    good = tmp_path / "deepstatemap_data_20241113.geojson"
    good.write_text(GOOD)
    bad = tmp_path / NAME
    bad.write_text(fc(SQUARE, {"type": "LineString", "coordinates": [[37, 48], [38, 48]]}))
    out = tmp_path / "out.csv"
    line = run([str(tmp_path), "--to", "Pokrovsk", "-o", str(out), "--chart",
                str(tmp_path / "m.png")])
    assert line.startswith(f"{bad}: features[1]: geometry is LineString")
    assert not out.exists() and not (tmp_path / "m.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([good.name, bad.name])


@pytest.fixture
def snap(tmp_path):
    p = tmp_path / NAME
    p.write_text(GOOD)
    return p


def test_unknown_place_suggests_one(snap):
    line = run([str(snap), "--to", "Pokrovks"])
    assert line.startswith("--to: no place 'Pokrovks'")
    assert "did you mean 'Pokrovsk'?" in line


def test_a_place_given_twice(snap):
    line = run([str(snap), "--to", "Pokrovsk", "--to", "pokrovsk"])
    assert line == "--to: Pokrovsk: given twice"


def test_latitude_out_of_range(snap):
    assert "latitude must be in [-90, 90]" in run([str(snap), "--to", "95,37"])


@pytest.mark.parametrize("radius", ["0", "-5"])
def test_radius_must_be_positive(snap, radius):
    line = run([str(snap), "--to", "Pokrovsk", "--radius-km", radius])
    assert "--radius-km" in line and "x>0" in line


def test_a_folder_with_no_snapshots(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("nothing here")
    line = run([str(tmp_path / "empty"), "--to", "Pokrovsk"])
    assert line == f"{tmp_path / 'empty'}: no snapshots in this folder (expected *.geojson files)"


def test_a_missing_path(tmp_path):
    line = run([str(tmp_path / "nope"), "--to", "Pokrovsk"])
    assert line == f"{tmp_path / 'nope'}: no such file or folder"


def test_the_same_map_date_twice(tmp_path):
    (tmp_path / NAME).write_text(GOOD)
    (tmp_path / "2024-11-19.geojson").write_text(GOOD)  # the same map day as the file of 11-20
    line = run([str(tmp_path), "--to", "Pokrovsk"])
    assert "map date 2024-11-19 repeats" in line


def test_an_unknown_area_layer(snap):
    line = run([str(snap), "--area", "kursk_hold"])
    assert "--area 'kursk_hold': no such layer or role (did you mean 'kursk_held'?)" in line


def test_nothing_to_measure(snap):
    assert "nothing to measure" in run([str(snap)])


def test_a_bad_layer_map(snap, tmp_path):
    lm = tmp_path / "layers.yaml"
    lm.write_text("property: fill\nroles: {red: ['#f00']}\nattacker_held: [blue]\n")
    line = run([str(snap), "--to", "Pokrovsk", "--layers", str(lm)])
    assert line.startswith(f"{lm}:3: attacker_held: expected a list of roles among red")


def test_a_layer_map_that_is_not_yaml_is_located(snap, tmp_path):
    lm = tmp_path / "layers.yaml"
    lm.write_text("property: fill\nroles: {red: ['#f00'\nattacker_held: [red]\n")
    line = run([str(snap), "--to", "Pokrovsk", "--layers", str(lm)])
    assert line.startswith(f"{lm}:2: invalid YAML: while parsing a flow"), line


def test_a_bad_chart_suffix_writes_nothing(snap, tmp_path):
    out = tmp_path / "o.csv"
    line = run([str(snap), "--to", "Pokrovsk", "-o", str(out), "--chart", str(tmp_path / "m.gif")])
    assert "unknown image suffix '.gif'" in line and not out.exists()
