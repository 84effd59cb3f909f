"""advsim data fetch/list/path against a local HTTP server serving a small synthetic archive (no
internet): what is picked, what lands in the cache and how it is checked, resuming, and the
one-line refusals of bad answers, stalls and damaged caches."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import json
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.data import cache as ch
from sim.data import fetch as fe

SINGLE_DATES = [dt.date(2024, 7, 1) + dt.timedelta(days=i) for i in range(21)]
ABSENT = dt.date(2024, 7, 14)  # the server has no file for it (404)
MULTI_TIMES = ["2024-07-01T10:00", "2024-07-03T20:00", "2024-07-03T22:00", "2024-07-08T12:00",
               "2024-07-15T09:00", "2024-07-20T23:30"]


def unix(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso).replace(tzinfo=dt.timezone.utc).timestamp())


def single_name(d: dt.date) -> str:
    return f"deepstatemap_data_{d:%Y%m%d}.geojson"


def square(i: int, size: float = 0.1) -> list:
    x, y = 37.0 + 0.01 * i, 48.0
    return [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]


def single_layer_doc(i: int) -> dict:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {},
         "geometry": {"type": "MultiPolygon", "coordinates": [square(i)]}}]}


def multi_layer_doc(i: int) -> dict:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Occupied", "fill": "#a52714"},
         "geometry": {"type": "Polygon", "coordinates": square(i)}},
        {"type": "Feature", "properties": {"name": "HQ"},
         "geometry": {"type": "Point", "coordinates": [37.5, 48.5, 0]}}]}


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def write_archive(root: Path) -> None:
    """Both archives laid out as in their repositories, with the git-trees listing as
    index.json (as a mirror serves it)."""
    (root / "data").mkdir(parents=True)
    for i, d in enumerate(SINGLE_DATES):
        if d != ABSENT:
            (root / "data" / single_name(d)).write_text(json.dumps(single_layer_doc(i)))
    (root / "deepstate" / "geojsons").mkdir(parents=True)
    tree = [{"path": "deepstate", "mode": "040000", "type": "tree", "sha": "0" * 40}]
    for i, t in enumerate(MULTI_TIMES):
        rel = f"deepstate/geojsons/{unix(t)}.geojson"
        data = json.dumps(multi_layer_doc(i)).encode()
        (root / rel).write_bytes(data)
        tree.append({"path": rel, "mode": "100644", "type": "blob", "sha": git_sha1(data),
                     "size": len(data)})
    tree.append({"path": "README.md", "mode": "100644", "type": "blob", "sha": "1" * 40})
    (root / "index.json").write_text(json.dumps({"sha": "2" * 40, "tree": tree,
                                                 "truncated": False}))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        state = self.server.state
        rel = urllib.parse.unquote(self.path.lstrip("/").split("?")[0])
        state["requests"].append(rel)
        mode = state["modes"].get(rel)
        if mode == "stall":
            state["release"].wait(20)
            return
        if mode == "500":
            self.send_error(500)
            return
        path = state["root"] / rel
        if mode == "html":
            body, ctype = b"<!DOCTYPE html><html><body>Sign in</body></html>", "text/html"
        elif path.is_file():
            body, ctype = path.read_bytes(), "text/plain; charset=utf-8"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if mode == "truncate" else body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A ThreadingHTTPServer on 127.0.0.1 serving the synthetic archives; ``modes`` makes a
    path answer badly ("html", "truncate", "500", "stall"); ``requests`` lists what was
    asked."""
    root = tmp_path / "served"
    write_archive(root)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.state = {"root": root, "requests": [], "modes": {}, "release": threading.Event()}
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.root = root
    yield httpd
    httpd.state["release"].set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.delenv(ch.ENV, raising=False)
    monkeypatch.setenv("ADVSIM_PROGRESS", "0")
    return tmp_path / "cache"


def data(*args: str):
    return CliRunner().invoke(cli, ["data", *args])


def fetch_cli(server, cache, *args: str):
    return data("fetch", "--base-url", server.url, "--cache", str(cache), *args)


def one_line(r) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def manifest(cache: Path, archive: str = "single-layer") -> dict:
    return json.loads((cache / archive / "manifest.json").read_text())


# -- what is picked -------------------------------------------------------------------------------


def test_windows_count_back_from_until():
    d = dt.date
    assert fe.windows(d(2024, 7, 1), d(2024, 7, 21), 7) == [
        (d(2024, 7, 1), d(2024, 7, 7)), (d(2024, 7, 8), d(2024, 7, 14)),
        (d(2024, 7, 15), d(2024, 7, 21))]
    assert fe.windows(d(2024, 7, 3), d(2024, 7, 21), 7)[0] == (d(2024, 7, 3), d(2024, 7, 7))
    assert fe.windows(d(2024, 7, 1), d(2024, 7, 3), None) == [
        (d(2024, 7, i), d(2024, 7, i)) for i in (1, 2, 3)]


def test_default_sources_are_the_archives_on_github():
    assert fe.default_base("single-layer") == \
        "https://raw.githubusercontent.com/cyterat/deepstate-map-data/main/"
    assert fe.MULTI_LAYER_LISTING.format(ref="main") == (
        "https://api.github.com/repos/DanielRose2310/deepstatemaps-history/git/trees/main"
        "?recursive=1")


def test_thinning_picks_the_last_file_of_each_window_and_the_manifest_matches(server, cache):
    r = fetch_cli(server, cache, "--from", "2024-07-02", "--until", "2024-07-21",
                  "--every", "7d")
    assert r.exit_code == 0, r.output
    # windows 07-02..07-07, 07-08..07-14 (no 07-14 on the server: 07-13), 07-15..07-21
    want = [single_name(dt.date(2024, 7, d)) for d in (7, 13, 21)]
    assert files_in(cache / "single-layer") == sorted([*want, "manifest.json"])
    assert "3 fetched" in r.stdout and "0 missing" in r.stdout
    entries = manifest(cache)["files"]
    assert sorted(entries) == want
    for name, item in entries.items():
        raw = (cache / "single-layer" / name).read_bytes()
        assert item["sha256"] == hashlib.sha256(raw).hexdigest() and item["bytes"] == len(raw)
        assert item["url"] == server.url + "data/" + name
        assert item["map_date"] == (dt.date.fromisoformat(item["file_date"])
                                    - dt.timedelta(days=1)).isoformat()
    asked = [p.rsplit("_", 1)[1][:8] for p in server.state["requests"]]
    assert asked == ["20240707", "20240714", "20240713", "20240721"]

    server.state["requests"].clear()
    again = fetch_cli(server, cache, "--from", "2024-07-02", "--until", "2024-07-21",
                      "--every", "7d")
    assert again.exit_code == 0, again.output
    assert server.state["requests"] == []  # cached files and a settled 404 are not asked again
    assert "0 fetched" in again.stdout and "3 already cached" in again.stdout


def test_a_missing_date_is_skipped_and_reported(server, cache):
    r = fetch_cli(server, cache, "--from", "2024-07-12", "--until", "2024-07-16")
    assert r.exit_code == 0, r.output
    assert "4 fetched" in r.stdout and "1 missing on the server" in r.stdout
    assert f"missing: {single_name(ABSENT)}" in r.stdout
    assert single_name(ABSENT) not in files_in(cache / "single-layer")


def test_the_multi_layer_archive_is_listed_thinned_and_checked(server, cache):
    r = fetch_cli(server, cache, "--archive", "multi-layer", "--from", "2024-07-01",
                  "--until", "2024-07-21", "--every", "7d", "--json")
    assert r.exit_code == 0, r.output
    want = [f"{unix(t)}.geojson" for t in ("2024-07-03T22:00", "2024-07-08T12:00",
                                           "2024-07-20T23:30")]
    assert json.loads(r.stdout)["fetched"] == want
    entries = manifest(cache, "multi-layer")["files"]
    for name in want:
        raw = (cache / "multi-layer" / name).read_bytes()
        assert entries[name]["git_blob_sha1"] == git_sha1(raw)
    assert entries[want[2]]["map_date"] == "2024-07-20" == entries[want[2]]["file_date"]
    assert server.state["requests"][0] == "index.json"

    server.state["requests"].clear()
    again = fetch_cli(server, cache, "--archive", "multi-layer", "--from", "2024-07-01",
                      "--until", "2024-07-21", "--every", "7d")
    assert again.exit_code == 0, again.output
    assert server.state["requests"] == ["index.json"]  # only the listing


def test_a_blob_that_does_not_match_the_listing_is_refused(server, cache):
    index = json.loads((server.root / "index.json").read_text())
    index["tree"][1]["sha"] = "f" * 40
    (server.root / "index.json").write_text(json.dumps(index))
    name = index["tree"][1]["path"].rsplit("/", 1)[1]
    r = fetch_cli(server, cache, "--archive", "multi-layer")
    assert r.exit_code == 2
    assert one_line(r).startswith(f"{name}: refused: its bytes do not match")
    assert name not in files_in(cache / "multi-layer")
    assert len(manifest(cache, "multi-layer")["files"]) == len(MULTI_TIMES) - 1


# -- interrupted, refused, stalled ----------------------------------------------------------------


def test_an_interrupted_fetch_resumes_and_leaves_no_partial_file(server, cache):
    third = "data/" + single_name(dt.date(2024, 7, 3))
    server.state["modes"][third] = "500"
    r = fetch_cli(server, cache, "--from", "2024-07-01", "--until", "2024-07-05")
    assert r.exit_code == 2
    line = one_line(r)
    assert line.startswith(server.url + third + ": HTTP 500")
    assert "2 files fetched before it kept; run the same command again to resume" in line
    folder = cache / "single-layer"
    assert files_in(folder) == sorted([single_name(dt.date(2024, 7, d)) for d in (1, 2)]
                                      + ["manifest.json"])  # no temporary or lock file
    (folder / f".{single_name(dt.date(2024, 7, 3))}.x1y2.tmp").write_bytes(b'{"type": "Fea')

    del server.state["modes"][third]
    server.state["requests"].clear()
    r = fetch_cli(server, cache, "--from", "2024-07-01", "--until", "2024-07-05")
    assert r.exit_code == 0, r.output
    assert [p[-16:-8] for p in server.state["requests"]] == ["20240703", "20240704",
                                                            "20240705"]
    assert "3 fetched" in r.stdout and "2 already cached" in r.stdout
    assert "removed 1 unfinished file(s)" in r.stdout
    assert not [n for n in files_in(folder) if n.startswith(".")]
    assert len(ch.cached_files("single-layer", cache)) == 5


@pytest.mark.parametrize(("mode", "why"), [
    ("html", "refused: an HTML page, not GeoJSON"),
    ("truncate", "refused: truncated"),
])
def test_a_bad_answer_is_refused_by_name_and_not_cached(server, cache, mode, why):
    name = single_name(dt.date(2024, 7, 2))
    server.state["modes"]["data/" + name] = mode
    r = fetch_cli(server, cache, "--from", "2024-07-01", "--until", "2024-07-03")
    assert r.exit_code == 2
    line = one_line(r)
    assert line.startswith(f"{name}: {why}")
    assert f"from {server.url}data/{name}; not cached" in line
    assert "2 fetched" in r.stdout and f"refused: {name}" in r.stdout
    folder = cache / "single-layer"
    assert name not in files_in(folder) and name not in manifest(cache)["files"]
    assert not [n for n in files_in(folder) if n.startswith(".")]


def test_a_stalled_server_times_out_in_one_line(server, cache):
    name = single_name(dt.date(2024, 7, 1))
    server.state["modes"]["data/" + name] = "stall"
    started = time.monotonic()
    r = fetch_cli(server, cache, "--from", "2024-07-01", "--until", "2024-07-01",
                  "--timeout", "1")
    assert time.monotonic() - started < 5
    assert r.exit_code == 2
    assert one_line(r) == (f"{server.url}data/{name}: no answer within 1 s (--timeout); try "
                           "again later, or allow longer")
    assert name not in files_in(cache / "single-layer")


def test_an_unreachable_server_is_one_line(cache, tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = data("fetch", "--base-url", f"http://127.0.0.1:{port}/", "--cache", str(cache),
             "--from", "2024-07-01", "--until", "2024-07-01", "--timeout", "2")
    assert r.exit_code == 2
    assert "cannot reach it" in one_line(r)


# -- the cache ------------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["edited", "truncated", "removed"])
def test_a_damaged_cache_is_refused_by_name_and_fetched_again(server, cache, damage):
    assert fetch_cli(server, cache, "--from", "2024-07-01", "--until", "2024-07-03") \
        .exit_code == 0
    path = cache / "single-layer" / single_name(dt.date(2024, 7, 2))
    raw = path.read_bytes()
    if damage == "edited":
        path.write_bytes(raw.replace(b"37.01", b"37.02"))
    elif damage == "truncated":
        path.write_bytes(raw[:-10])
    else:
        path.unlink()
    with pytest.raises(ch.CacheError, match=path.name) as e:
        ch.cached_files(cache=cache)
    assert str(e.value).startswith(str(path))
    r = data("list", "--cache", str(cache))
    assert r.exit_code == 2
    line = one_line(r)
    assert line.startswith(f"{path}: ") and "run advsim data fetch" in line
    assert {"edited": "sha256", "truncated": "bytes", "removed": "missing"}[damage] in line

    r = fetch_cli(server, cache, "--from", "2024-07-01", "--until", "2024-07-03")
    assert r.exit_code == 0, r.output
    assert f"fetched again (damaged in the cache): {path.name}" in r.stdout
    assert path.read_bytes() == raw
    assert len(ch.cached_files(cache=cache)) == 3


def test_offline_makes_no_request(server, cache):
    assert fetch_cli(server, cache, "--from", "2024-07-01", "--until", "2024-07-03") \
        .exit_code == 0
    server.state["requests"].clear()
    r = fetch_cli(server, cache, "--offline", "--from", "2024-07-01", "--until", "2024-07-10")
    assert r.exit_code == 0, r.output
    assert server.state["requests"] == []
    assert "3 file(s) cached and verified (--offline: nothing fetched)" in r.stdout
    r = fetch_cli(server, cache, "--offline", "--archive", "multi-layer")
    assert r.exit_code == 0 and server.state["requests"] == []


@pytest.mark.parametrize("how", ["folder", "file-url", "flat-folder"])
def test_a_local_folder_serves_as_a_mirror(server, cache, tmp_path, how):
    base = server.root
    if how == "flat-folder":  # the files without the repository's data/ folder
        base = server.root / "data"
    spec = base.as_uri() if how == "file-url" else str(base)
    r = data("fetch", "--base-url", spec, "--cache", str(cache), "--from", "2024-07-10",
             "--until", "2024-07-16")
    assert r.exit_code == 0, r.output
    assert "6 fetched" in r.stdout and "1 missing" in r.stdout
    assert server.state["requests"] == []
    r = data("fetch", "--base-url", spec, "--cache", str(cache), "--archive", "multi-layer")
    if how == "flat-folder":
        assert r.exit_code == 0 and "0 fetched" in r.stdout  # no multi-layer files there
    else:
        assert r.exit_code == 0, r.output
        assert f"{len(MULTI_TIMES)} fetched" in r.stdout


def test_latest_archive_paths_prefers_the_multi_layer_archive(server, cache):
    with pytest.raises(ch.CacheError, match=r"run advsim data fetch .*or give snapshot folders"):
        ch.latest_archive_paths(cache)
    fetch_cli(server, cache, "--from", "2024-07-01", "--until", "2024-07-03")
    name, paths, convention = ch.latest_archive_paths(cache)
    assert (name, convention) == ("single-layer", "previous-day")
    assert [p.name for p in paths] == [single_name(dt.date(2024, 7, d)) for d in (1, 2, 3)]
    fetch_cli(server, cache, "--archive", "multi-layer", "--until", "2024-07-08")
    name, paths, convention = ch.latest_archive_paths(cache)
    assert (name, convention) == ("multi-layer", "same-day")
    assert [p.name for p in paths] == [f"{unix(t)}.geojson" for t in MULTI_TIMES[:4]]


def test_fetched_files_read_as_snapshots_with_the_convention_s_map_date(server, cache):
    snapshots = pytest.importorskip("sim.data.snapshots")
    fetch_cli(server, cache, "--from", "2024-07-01", "--until", "2024-07-03")
    fetch_cli(server, cache, "--archive", "multi-layer")
    layers = snapshots.load_layer_map()
    for f in ch.cached_files(cache=cache):
        convention = ch.ARCHIVES[f.archive].date_convention
        for conv in (convention, "auto"):
            snap = snapshots.read_snapshot(f.path, layers, date_convention=conv)
            assert snap.map_date == f.map_date, (f.name, conv)
            assert snap.polygons
    singles = ch.cached_files("single-layer", cache)
    assert singles[0].map_date == dt.date(2024, 6, 30)
    multis = ch.cached_files("multi-layer", cache)
    assert [f.map_date for f in multis] == [dt.date.fromisoformat(t[:10]) for t in MULTI_TIMES]


def test_list_shows_each_archive_and_json(server, cache):
    fetch_cli(server, cache, "--from", "2024-07-01", "--until", "2024-07-03")
    r = data("list", "--cache", str(cache))
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[1].split()[:4] == ["single-layer", "3", "2024-06-30",
                                                    "2024-07-02"]
    doc = json.loads(data("list", "--cache", str(cache), "--json").stdout)
    (row,) = doc["archives"]
    assert row["files"] == 3 and row["folder"] == str(cache / "single-layer")
    assert row["bytes"] == sum(p.stat().st_size for p in (cache / "single-layer").glob("d*"))


def test_the_cache_folder_comes_from_the_option_the_environment_or_platformdirs(
        tmp_path, monkeypatch):
    monkeypatch.setenv(ch.ENV, str(tmp_path / "env"))
    assert data("path").stdout.strip() == str(tmp_path / "env")
    assert data("path", "--cache", str(tmp_path / "opt")).stdout.strip() == str(tmp_path / "opt")
    monkeypatch.delenv(ch.ENV)
    platformdirs = pytest.importorskip("platformdirs")
    assert ch.cache_root() == Path(platformdirs.user_cache_dir("advsim")) / "maps"


def test_bad_options_are_one_line(cache):
    r = data("fetch", "--cache", str(cache), "--from", "2024-07-10", "--until", "2024-07-01")
    assert r.exit_code == 2
    assert one_line(r) == "--from: 2024-07-10 is after --until (2024-07-01)"
    r = data("fetch", "--cache", str(cache), "--every", "weekly")
    assert r.exit_code == 2 and "expected a spacing such as 7d" in one_line(r)
    r = data("fetch", "--cache", str(cache), "--base-url", str(cache / "nowhere"))
    assert r.exit_code == 2 and one_line(r).startswith("--base-url: ")


def test_one_fetch_at_a_time_and_a_dead_one_s_lock_is_taken_over(server, cache):
    import os
    import socket
    import subprocess
    import sys

    folder = cache / "single-layer"
    folder.mkdir(parents=True)
    lock = folder / ch.LOCK
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    r = fetch_cli(server, cache, "--from", "2024-07-01", "--until", "2024-07-01")
    assert r.exit_code == 2
    assert one_line(r).startswith(f"{folder}: being written by another advsim data fetch "
                                  f"(process {os.getpid()})")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    lock.write_text(json.dumps({"pid": int(dead), "host": socket.gethostname()}))
    r = fetch_cli(server, cache, "--from", "2024-07-01", "--until", "2024-07-01")
    assert r.exit_code == 0, r.output
    assert not lock.exists()
