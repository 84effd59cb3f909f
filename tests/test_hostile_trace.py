"""Hostile and careless input to ``advsim trace`` (issue 24): coordinates that are not degrees
or not finite, place names of any script, devices, pipes, loops and huge files, tracebacks
turned into one-line errors, and what is resolved without an error said once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("shapely")
pytest.importorskip("pyproj")

import shapely
import yaml
from click.testing import CliRunner

from sim.cli import cli
from sim.data import trace as tr
from sim.data.front import read_held
from sim.data.places import slugify
from sim.data.snapshots import SnapshotError, load_layer_map
from sim.errors import AdvsimError

NAME = "deepstatemap_data_20241120.geojson"


def square(w=37.1, s=47.9, d=0.2):
    return [[[w, s], [w + d, s], [w + d, s + d], [w, s + d], [w, s]]]


def fc(*rings, **members) -> str:
    return json.dumps({"type": "FeatureCollection", **members, "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": r}}
        for r in rings]})


def write(tmp_path, text, name=NAME):
    (tmp_path / "snaps").mkdir(exist_ok=True)
    p = tmp_path / "snaps" / name
    p.write_text(text)
    return p


@pytest.fixture
def snaps(tmp_path):
    write(tmp_path, fc(square()))
    return tmp_path / "snaps"


def fails(args) -> str:
    """The one line of a refused command (exit 2, no traceback, nothing on stdout)."""
    r = CliRunner().invoke(cli, ["trace", *args])
    assert r.exit_code == 2, (r.exit_code, r.output)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in r.output and r.stdout == "", r.output
    return lines[0]


# -- 7: coordinates that are not degrees or not finite --------------------------------------------


@pytest.mark.parametrize(("first", "word"), [
    ("1e308", "not longitude/latitude degrees"),
    ("500", "not longitude/latitude degrees"),
    ("NaN", "not a finite number (nan)"),
    ("Infinity", "not a finite number (inf"),
    ("-Infinity", "not a finite number (-inf"),
])
def test_a_coordinate_that_is_not_degrees_is_refused_at_its_feature(tmp_path, first, word):
    text = fc(square(), square(11.1)).replace("11.1,", f"{first},", 1)  # the second feature's
    p = write(tmp_path, text)
    out = tmp_path / "o.csv"
    line = fails([str(p), "--to", "Pokrovsk", "-o", str(out)])
    assert line.startswith(f"{p}: features[1]: "), line
    assert word in line and not out.exists()


def test_a_web_mercator_export_is_refused_by_name(tmp_path):
    x, y = 4_140_000.0, 6_140_000.0
    merc = [[[x, y], [x + 2e4, y], [x + 2e4, y + 2e4], [x, y + 2e4], [x, y]]]
    p = write(tmp_path, fc(merc))
    line = fails([str(p), "--to", "Pokrovsk"])
    assert line.startswith(f"{p}: features[0]: coordinates are not longitude/latitude degrees")
    assert "Web Mercator" in line
    # the outlook reads snapshots with the same reader
    with pytest.raises(SnapshotError, match="not longitude/latitude degrees"):
        read_held(p, load_layer_map())


def test_json_output_is_valid_json(tmp_path):
    p = write(tmp_path, fc(square()))
    r = CliRunner().invoke(cli, ["trace", str(p), "--to", "Pokrovsk", "--json"])
    assert r.exit_code == 0, r.output

    def refuse(name):
        raise AssertionError(f"{name} in JSON output")

    doc = json.loads(r.stdout, parse_constant=refuse)
    assert doc["places"]["Pokrovsk"]["series"][0]["distance_km"] > 0


# -- 8: slugs of every script, never empty --------------------------------------------------------


def test_slugs_keep_ascii_and_every_script():
    assert slugify("Chasiv Yar") == "chasiv-yar"
    assert slugify("Bílá Cerkev'") == "bila-cerkev"
    assert slugify("Novoselivka (Donetsk Oblast)") == "novoselivka-donetsk-oblast"
    assert slugify("Київ") == "київ" and slugify("Киев") == "киев"
    assert slugify("Покровськ") != slugify("Покровск")
    assert slugify("???") == "u003f-u003f-u003f" and slugify("!") != slugify("?")
    assert all(slugify(x) for x in ("", " ", "-", "ʼ", "..."))


def test_cyrillic_and_punctuation_names_are_sectors_of_their_own(tmp_path):
    p = write(tmp_path, fc(square()))
    towns = tmp_path / "towns.csv"
    towns.write_text("name,lat,lon\nКиїв,48.5,37.0\nКиев,48.6,37.0\n???,48.7,37.0\n",
                     encoding="utf-8")
    r = CliRunner().invoke(cli, ["trace", str(p), "--towns", str(towns), "--to", "Київ",
                                 "--to", "Киев", "--to", "???", "--json"])
    assert r.exit_code == 0, r.output
    sectors = [v["sector"] for v in json.loads(r.stdout)["places"].values()]
    assert sectors == ["київ", "киев", "u003f-u003f-u003f"]


def test_two_places_a_few_metres_apart_do_not_collide(tmp_path):
    p = write(tmp_path, fc(square()))
    r = CliRunner().invoke(cli, ["trace", str(p), "--to", "48.28331,37.1", "--to",
                                 "48.28332,37.1", "--json"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)["places"]) == 2


def test_two_names_with_one_slug_are_named(tmp_path):
    p = write(tmp_path, fc(square()))
    towns = tmp_path / "towns.csv"
    towns.write_text("name,lat,lon\nA B,48.5,37.0\nA.B,48.6,37.0\n")
    r = CliRunner().invoke(cli, ["trace", str(p), "--towns", str(towns), "--to", "A B",
                                 "--to", "A.B"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert r.stderr.splitlines()[-1] == (
        "--to: A.B and A B would share the sector 'a-b': give one of them")


# -- 12: --scenario through the scenario writer ---------------------------------------------------


def test_scenario_names_are_quoted_yaml(tmp_path):
    p = write(tmp_path, fc(square()))
    towns = tmp_path / "towns.csv"
    names = ["A: b, c", "Yes", "*ref", "Site #3", "&x", "- y", "Київ"]
    towns.write_text("name,lat,lon\n" + "".join(
        f'"{n}",{48.3 + i / 50:.2f},37.2\n' for i, n in enumerate(names)), encoding="utf-8")
    args = [x for n in names for x in ("--to", n)]
    r = CliRunner().invoke(cli, ["trace", str(p), "--towns", str(towns), *args, "--scenario"])
    assert r.exit_code == 0, r.output
    doc = yaml.safe_load(r.stdout)
    assert [v["objective"]["name"] for v in doc.values()] == names
    assert all(v["kind"] == "axis" and v["length_km"] > 0 for v in doc.values())


# -- 13: polygons outside lon/lat: no endless search ----------------------------------------------


def test_measuring_polygons_outside_lonlat_ends():
    frame = tr.LocalFrame(48.28, 37.18)
    far = shapely.box(500.0, 48.0, 501.0, 49.0)
    with pytest.raises(AdvsimError, match="outside longitude/latitude degrees"):
        tr.measure_place(frame, [far])
    with pytest.raises(AdvsimError, match="not a finite number"):
        tr.measure_place(frame, [shapely.box(1e308, 48.0, float("inf"), 49.0)])
    with pytest.raises(AdvsimError, match="keep_local_km must be a finite number"):
        tr.measure_place(frame, [shapely.box(37, 48, 38, 49)], keep_local_km=float("nan"))
    # partly outside: measured on what lies within lon/lat
    m = tr.measure_place(frame, [shapely.box(37.0, 48.0, 400.0, 48.1)])
    assert m.distance_km is not None and 19 < m.distance_km < 21


def test_every_polygon_outside_lonlat_is_refused_with_area(tmp_path):
    p = write(tmp_path, fc(square(500.0, 48.0)))
    line = fails([str(p), "--to", "Pokrovsk", "--area", "occupied"])
    assert "features[0]: coordinates are not longitude/latitude degrees" in line


# -- 14 and 21: devices, pipes, loops, huge files -------------------------------------------------


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.geojson"
    os.mkfifo(path)
    return path


@pytest.fixture
def huge(tmp_path):
    path = tmp_path / "huge.geojson"
    with open(path, "wb") as f:
        f.truncate(200 * 2**20)  # sparse: no disk used
    return path


@pytest.mark.parametrize("option", [None, "--towns", "--dates", "--clip"])
def test_a_fifo_is_named_and_not_read(snaps, fifo, option):
    args = [str(fifo)] if option is None else [str(snaps), option, str(fifo)]
    line = fails([*args, "--to", "48,37", "--area", "occupied"])
    assert line.startswith(f"{fifo}: a named pipe (FIFO), not a file (expected ")


@pytest.mark.parametrize(("option", "limit"), [(None, "50 MB"), ("--towns", "20 MB"),
                                               ("--dates", "5 MB"), ("--clip", "50 MB")])
def test_a_huge_file_is_refused_with_the_limit(snaps, huge, option, limit):
    args = [str(huge)] if option is None else [str(snaps), option, str(huge)]
    line = fails([*args, "--to", "48,37", "--area", "occupied"])
    assert line.startswith(f"{huge}: too large: ")
    assert f"at most {limit} (got 200 MB)" in line


def test_refusing_a_huge_snapshot_or_a_fifo_costs_little(huge, fifo):
    code = textwrap.dedent("""
        import resource, sys, time
        from click.testing import CliRunner
        from sim.cli import cli
        t = time.perf_counter()
        r = CliRunner().invoke(cli, ["trace", sys.argv[1], "--to", "48,37"])
        assert r.exit_code == 2, r.output
        seconds = time.perf_counter() - t
        try:  # this process's own peak: ru_maxrss keeps the forking parent's across exec
            with open("/proc/self/status") as f:
                peak = next(int(x.split()[1]) for x in f if x.startswith("VmHWM:"))
        except OSError:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(seconds, peak)
    """)
    for path in (huge, fifo):
        got = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                             text=True, timeout=60, check=True).stdout.split()
        seconds, peak_kb = float(got[0]), int(got[1])
        # Refused before it is read: the peak is the interpreter's and shapely's, not the
        # file's (the time is measured, not asserted: the test machine may be loaded).
        assert peak_kb < 300 * 1024, (path, seconds, peak_kb)


def test_links_that_go_nowhere_are_named(tmp_path):
    loop = tmp_path / "loop.geojson"
    loop.symlink_to(tmp_path / "other")
    (tmp_path / "other").symlink_to(loop)
    dangling = tmp_path / "gone.geojson"
    dangling.symlink_to(tmp_path / "nowhere")
    assert fails([str(loop), "--to", "Pokrovsk"]) == (
        f"{loop}: a symbolic link loop (expected a GeoJSON snapshot or a folder of them)")
    assert fails([str(dangling), "--to", "Pokrovsk"]) == (
        f"{dangling}: a dangling symbolic link (expected a GeoJSON snapshot or a folder of "
        "them)")


def test_a_folder_with_a_dangling_link_says_so_once(snaps):
    (snaps / "gone.geojson").symlink_to(snaps / "nowhere")
    os.mkfifo(snaps / "pipe.geojson")
    r = CliRunner().invoke(cli, ["trace", str(snaps), "--to", "Pokrovsk"])
    assert r.exit_code == 0, r.output
    assert r.stderr.splitlines() == [
        f"note: {snaps}: skipped 2 entries that are not files: gone.geojson (a dangling "
        "symbolic link), pipe.geojson (a named pipe (FIFO))"]


def test_repeated_dates_rows_are_said_once_and_conflicts_refused(snaps, tmp_path):
    dates = tmp_path / "dates.csv"
    dates.write_text(f"file,date\n{NAME},2024-11-19\n{NAME},2024-11-19\n{NAME},2024-11-19\n")
    r = CliRunner().invoke(cli, ["trace", str(snaps), "--to", "Pokrovsk", "--dates", str(dates)])
    assert r.exit_code == 0, r.output
    assert r.stderr.splitlines() == [
        f"note: {dates}: 2 repeated rows with the same date (first: {NAME}), read once"]
    dates.write_text(f"file,date\n{NAME},2024-11-19\n{NAME},2024-11-12\n")
    line = fails([str(snaps), "--to", "Pokrovsk", "--dates", str(dates)])
    assert line == (f"{dates}:3: {NAME}: dated 2024-11-19 on line 2 and 2024-11-12 here: give "
                    "one date per file")


def test_duplicate_town_names_are_said_once(snaps, tmp_path):
    towns = tmp_path / "towns.csv"
    towns.write_text("name,lat,lon\nNovo,48.1,37.0\nnovo,48.2,37.0\nNovo,48.3,37.0\n")
    r = CliRunner().invoke(cli, ["trace", str(snaps), "--towns", str(towns), "--to", "Novo",
                                 "--json"])
    assert r.exit_code == 0, r.output
    assert r.stderr.splitlines() == [
        f"note: {towns}: 1 name or slug on more than one row (first: 'novo', lines 2 and 3); "
        "each names its first row"]
    assert json.loads(r.stdout)["places"]["Novo"]["lat"] == 48.1


# -- 17: tracebacks that are one-line errors ------------------------------------------------------


def test_a_coordinate_with_thousands_of_digits(tmp_path):
    p = write(tmp_path, fc(square()).replace("37.1,", "3" + "7" * 5000 + ",", 1))
    assert "features[0]: a coordinate is not a finite number (inf" in fails(
        [str(p), "--to", "Pokrovsk"])


@pytest.mark.parametrize("where", ["snapshot", "clip"])
def test_nesting_100k_deep(snaps, tmp_path, where):
    deep = tmp_path / "deep.geojson"
    deep.write_text('{"type": "Polygon", "coordinates": ' + "[" * 100_000 + "]" * 100_000 + "}")
    args = ([str(deep), "--to", "Pokrovsk"] if where == "snapshot"
            else [str(snaps), "--area", "occupied", "--clip", str(deep)])
    line = fails(args)
    assert line.startswith(f"{deep}: not GeoJSON (nested too deeply")


@pytest.mark.parametrize("box", [["a", 1, 2, 3], [36, 47, "38", 49], "36,47,38,49",
                                 [36, 47, 380, 49], [36, 47, 38]])
def test_a_bad_clip_bbox(tmp_path, box):
    p = write(tmp_path, fc(square(), clip_bbox=box))
    line = fails([str(p), "--to", "Pokrovsk"])
    assert line.startswith(f"{p}: clip_bbox: expected [W, S, E, N] in degrees")


@pytest.mark.parametrize("radius", ["nan", "inf", "-inf"])
def test_a_radius_that_is_not_finite(snaps, radius):
    line = fails([str(snaps), "--to", "Pokrovsk", "--radius-km", radius])
    assert "--radius-km" in line


def test_the_api_refuses_a_radius_that_is_not_finite(snaps):
    with pytest.raises(AdvsimError, match="radius_km must be a finite number"):
        tr.trace([snaps], [], areas=["occupied"], radius_km=float("nan"))


def test_1e308_with_area(tmp_path):
    p = write(tmp_path, fc(square(1e308, 48.0)))
    assert "features[0]: coordinates are not longitude/latitude degrees" in fails(
        [str(p), "--area", "occupied"])


def test_a_map_date_before_year_one(tmp_path):
    p = write(tmp_path, fc(square()), name="0001-01-01.geojson")
    line = fails([str(p), "--to", "Pokrovsk", "--date-convention", "previous-day"])
    assert line == (f"{p}: map date before year 1 (file date 0001-01-01 from its file name, "
                    "under --date-convention previous-day)")
    p2 = write(tmp_path, fc(square(), snapshot_utc="0001-01-01T00:00:00+05:00"),
               name="x.geojson")
    assert "snapshot_utc: expected an ISO date" in fails([str(p2), "--to", "Pokrovsk"])
