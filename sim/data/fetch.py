"""Downloads of the public map archives into the cache (``sim/data/cache.py``), standard
library only (urllib, which honours ``HTTPS_PROXY``).

The single-layer archive's files are named by date (``data/deepstatemap_data_YYYYMMDD.geojson``),
so no listing is needed: a date the server does not have (404) is skipped and reported. The
multi-layer archive is listed first: GitHub's git-trees JSON of the repository, or the same JSON
as ``index.json`` at a mirror's root (a local folder without one is listed by walking it); each
entry's git blob sha1 is checked against the bytes received.

Every file lands whole or not at all: it is written to a temporary dot-file in the archive's
folder, checked (JSON, a FeatureCollection with a Polygon or MultiPolygon, as many bytes as the
server announced, its git blob sha1 where known), hashed, renamed into place, and only then
entered in the manifest, which is itself replaced whole. A fetch that is interrupted keeps
what it finished; the next one removes the leftover temporary files and skips the files
already there and verified.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .. import __version__
from ..errors import AdvsimError, ScenarioError
from . import cache as ch

SINGLE_LAYER_BASE = "https://raw.githubusercontent.com/cyterat/deepstate-map-data/{ref}/"
MULTI_LAYER_BASE = "https://raw.githubusercontent.com/DanielRose2310/deepstatemaps-history/{ref}/"
MULTI_LAYER_LISTING = ("https://api.github.com/repos/DanielRose2310/deepstatemaps-history/git/"
                       "trees/{ref}?recursive=1")
MIRROR_INDEX = "index.json"  # a mirror's listing of the multi-layer archive (git-trees JSON)
SINGLE_LAYER_DIR = "data/"
SINGLE_LAYER_FIRST = dt.date(2024, 7, 8)  # the archive's first file
DEFAULT_TIMEOUT = 30.0
SETTLED_DAYS = 2  # a file still absent this many days after its date is not asked for again
BLOCK = 1 << 16
USER_AGENT = f"advsim/{__version__} (map archive fetch)"
_POLYGONAL = ("Polygon", "MultiPolygon")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


class FetchError(ScenarioError):
    """A server or mirror that cannot be used: ``URL: what went wrong``."""


class Refused(Exception):
    """A response that is not a file of the archive (HTML, truncated, not GeoJSON)."""


@dataclass(frozen=True)
class Candidate:
    """A file of an archive that a fetch may download: its name, where, and its git blob sha1
    where a listing gave it."""

    name: str
    rel: str  # its path in the archive's repository
    git_blob_sha1: str | None = None


@dataclass
class FetchReport:
    """What a fetch did: files fetched, skipped as cached, missing on the server, refused."""

    archive: str
    folder: Path
    source: str
    offline: bool = False
    fetched: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # damaged in the cache, fetched again
    cached: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # name, url, why
    leftovers: int = 0
    bytes_fetched: int = 0
    requests: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"archive": self.archive, "folder": str(self.folder), "source": self.source,
                "offline": self.offline, "fetched": self.fetched, "replaced": self.replaced,
                "cached": self.cached, "missing": self.missing,
                "refused": [{"file": n, "url": u, "why": w} for n, u, w in self.refused],
                "leftovers_removed": self.leftovers, "bytes_fetched": self.bytes_fetched,
                "requests": self.requests}


# -- where files come from ------------------------------------------------------------------------


class Source:
    """A base URL (http, https or file) or a local folder, read with one timeout."""

    def __init__(self, base: str, *, timeout: float) -> None:
        self.base = base
        self.timeout = timeout
        self.requests = 0
        parsed = urllib.parse.urlparse(base)
        if parsed.scheme == "file":
            self.folder: Path | None = Path(urllib.request.url2pathname(parsed.path))
        elif parsed.scheme in ("http", "https"):
            self.folder = None
            self.base = base if base.endswith("/") else base + "/"
        elif "://" in base:
            raise AdvsimError(f"base_url: {base!r} is not an http(s) or file URL, nor a folder",
                              param="base_url")
        else:
            self.folder = Path(base).expanduser()
        if self.folder is not None and not self.folder.is_dir():
            raise AdvsimError(f"base_url: {base}: no such folder", param="base_url")

    def url(self, rel: str) -> str:
        """Where ``rel`` is: a URL, or a file:// URL of a folder's file."""
        if self.folder is None:
            return urllib.parse.urljoin(self.base, urllib.parse.quote(rel))
        return self._local(rel).resolve().as_uri()

    def _local(self, rel: str) -> Path:
        """A folder's file: at its path in the repository, else by its name at the top."""
        here = self.folder / rel  # type: ignore[operator]
        if here.is_file():
            return here
        return self.folder / Path(rel).name  # type: ignore[operator]

    def open(self, rel: str) -> tuple[BinaryIO, int | None, str] | None:
        """The file's stream, its announced length and content type; None if absent (404)."""
        if self.folder is not None:
            path = self._local(rel)
            try:
                f = open(path, "rb")  # noqa: SIM115 - the caller closes it
            except FileNotFoundError:
                return None
            except OSError as e:
                raise FetchError(f"cannot read it ({e.strerror or e})", file=str(path)) \
                    from None
            return f, os.fstat(f.fileno()).st_size, ""
        return self.get(self.url(rel))

    def get(self, url: str) -> tuple[BinaryIO, int | None, str] | None:
        """An HTTP GET: the response, its Content-Length and Content-Type; None on 404."""
        self.requests += 1
        req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT,
                                                   "Accept-Encoding": "identity"})
        try:
            resp = urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            e.close()
            if e.code == 404:
                return None
            hint = " (GitHub's rate limit? wait an hour, or use a mirror: --base-url)" \
                if e.code in (403, 429) else ""
            raise FetchError(f"HTTP {e.code} {e.reason}{hint}", file=url) from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError):
                raise self._timed_out(url) from None
            raise FetchError(f"cannot reach it ({e.reason})", file=url) from None
        except TimeoutError:
            raise self._timed_out(url) from None
        except (http.client.HTTPException, OSError) as e:
            raise FetchError(f"cannot reach it ({e})", file=url) from None
        length = resp.headers.get("Content-Length")
        try:
            size = int(length) if length is not None else None
        except ValueError:
            size = None
        return resp, size, resp.headers.get("Content-Type", "")

    def _timed_out(self, url: str) -> FetchError:
        return FetchError(f"no answer within {self.timeout:g} s (timeout); try again later, "
                          "or allow longer", file=url, param="timeout")


def default_base(archive: str, ref: str = "main") -> str:
    """The archive's files on GitHub at ``ref`` (a branch or a commit)."""
    base = SINGLE_LAYER_BASE if archive == "single-layer" else MULTI_LAYER_BASE
    return base.format(ref=ref)


# -- what to fetch --------------------------------------------------------------------------------


def windows(since: dt.date, until: dt.date, every_days: int | None
            ) -> list[tuple[dt.date, dt.date]]:
    """The date windows of a fetch, oldest first, each ``(first, last)`` inclusive: every day,
    or with ``every_days`` a grid counting back from ``until`` whose window runs from the day
    after the previous grid date (but not before ``since``) to its grid date."""
    if every_days is None:
        n = (until - since).days + 1
        return [(since + dt.timedelta(days=i),) * 2 for i in range(max(n, 0))]
    step = dt.timedelta(days=every_days)
    grid = []
    g = until
    while g >= since:
        grid.append(g)
        g -= step
    grid.reverse()
    return [(max(g - step + dt.timedelta(days=1), since), g) for g in grid]


def thin(candidates: list[tuple[dt.date, Candidate]], since: dt.date, until: dt.date,
         every_days: int | None) -> tuple[list[Candidate], list[str]]:
    """A listed archive's files within the dates: all of them, or with ``every_days`` the last
    one on or before each grid date (after the previous one). Returns them and the windows
    without a file."""
    inside = sorted((d, c.name, c) for d, c in candidates if since <= d <= until)
    if every_days is None:
        return [c for _, _, c in inside], []
    picked, empty = [], []
    for low, high in windows(since, until, every_days):
        last = [c for d, _, c in inside if low <= d <= high]
        if last:
            picked.append(last[-1])
        else:
            empty.append(_window_words(low, high))
    return picked, empty


def _window_words(low: dt.date, high: dt.date) -> str:
    return f"no file for {high}" if low == high else f"no file from {low} to {high}"


def multi_layer_listing(source: Source, *, default: bool, ref: str) -> list[Candidate]:
    """The multi-layer archive's files: GitHub's git-trees listing (``default``), a mirror's
    ``index.json`` in the same format (or a list of paths), or a local folder's files."""
    arch = ch.MULTI_LAYER
    if default:
        url = MULTI_LAYER_LISTING.format(ref=ref)
        doc = _json_at(source, url, None)
    elif source.folder is not None and not (source.folder / MIRROR_INDEX).is_file():
        return [Candidate(p.name, str(p.relative_to(source.folder)))
                for p in sorted(source.folder.rglob("*.geojson")) if arch.matches(p.name)]
    else:
        doc = _json_at(source, source.url(MIRROR_INDEX), MIRROR_INDEX)
    where = MULTI_LAYER_LISTING.format(ref=ref) if default else source.url(MIRROR_INDEX)
    items = doc.get("tree") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise FetchError("not a listing (expected git-trees JSON: {\"tree\": [{\"path\": ..., "
                         "\"sha\": ...}, ...]}, or a list of paths)", file=where)
    out = []
    for item in items:
        if isinstance(item, str):
            rel, sha = item, None
        elif isinstance(item, dict) and isinstance(item.get("path"), str) \
                and item.get("type", "blob") == "blob":
            rel, sha = item["path"], item.get("sha")
        else:
            continue
        name = rel.rsplit("/", 1)[-1]
        if arch.matches(name):
            out.append(Candidate(name, rel, sha if isinstance(sha, str) else None))
    if isinstance(doc, dict) and doc.get("truncated"):
        raise FetchError("the listing is truncated (too many files for one git-trees "
                         "answer); serve a full index.json from a mirror", file=where)
    return out


def _json_at(source: Source, url: str, rel: str | None) -> Any:
    """The JSON document at ``url`` (or a folder's ``rel``); absent or not JSON is an error."""
    got = source.open(rel) if rel is not None else source.get(url)
    if got is None:
        raise FetchError("not found (a mirror of the multi-layer archive serves its listing, "
                         "GitHub's git-trees JSON, as index.json at its root)", file=url)
    stream, _, _ = got
    try:
        with stream:
            raw = _read_all(stream, url, source)
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise FetchError("not a JSON listing (an HTML page? a proxy's answer?)",
                         file=url) from None


def _read_all(stream: BinaryIO, url: str, source: Source) -> bytes:
    try:
        return stream.read()
    except TimeoutError:
        raise source._timed_out(url) from None
    except (http.client.HTTPException, OSError) as e:
        raise FetchError(f"the answer broke off ({e})", file=url) from None


# -- one file -------------------------------------------------------------------------------------


def git_blob_sha1(data: bytes) -> str:
    """git's sha1 of bytes as a blob (the ``sha`` of a git-trees listing)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def check_geojson(raw: bytes, content_type: str = "") -> None:
    """Refuse bytes that are not a GeoJSON FeatureCollection with polygonal geometry."""
    head = raw[:512].lstrip().lower()
    if "html" in content_type.lower() or head.startswith((b"<!doctype", b"<html", b"<")):
        raise Refused("an HTML page, not GeoJSON (an error or login page, or a proxy's)")
    try:
        doc = json.loads(raw)
    except UnicodeDecodeError:
        raise Refused("not GeoJSON (not UTF-8 text)") from None
    except ValueError as e:
        raise Refused(f"not GeoJSON (invalid JSON at byte {getattr(e, 'pos', '?')}: "
                      "truncated?)") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" \
            or not isinstance(doc.get("features"), list):
        raise Refused("not a GeoJSON FeatureCollection")
    for f in doc["features"]:
        g = f.get("geometry") if isinstance(f, dict) else None
        if not isinstance(g, dict):
            continue
        members = (g.get("geometries") or []) if g.get("type") == "GeometryCollection" else [g]
        if any(isinstance(m, dict) and m.get("type") in _POLYGONAL for m in members):
            return
    raise Refused("a FeatureCollection without any Polygon or MultiPolygon")


def download(source: Source, cand: Candidate, folder: Path) -> tuple[int, str] | None:
    """Download ``cand`` into ``folder`` whole or not at all; its size and sha256, or None if
    the source does not have it. A bad answer raises Refused (nothing is left behind)."""
    from ..artifacts.files import atomic_file

    got = source.open(cand.rel)
    if got is None:
        return None
    stream, announced, ctype = got
    url = source.url(cand.rel)
    blocks: list[bytes] = []
    size = 0
    with atomic_file(folder / cand.name) as f:
        try:
            with stream:
                while block := stream.read(BLOCK):
                    f.write(block)
                    blocks.append(block)
                    size += len(block)
        except TimeoutError:
            raise source._timed_out(url) from None
        except http.client.IncompleteRead as e:
            raise Refused(f"truncated ({size + len(e.partial):,} bytes, then the connection "
                          "closed)") from None
        except (http.client.HTTPException, OSError) as e:
            raise Refused(f"the download broke off after {size:,} bytes ({e})") from None
        if announced is not None and size != announced:
            raise Refused(f"truncated ({size:,} of the {announced:,} bytes announced)")
        data = b"".join(blocks)
        check_geojson(data, ctype)
        if cand.git_blob_sha1 and git_blob_sha1(data) != cand.git_blob_sha1:
            raise Refused(f"its bytes do not match the listing's git blob sha1 "
                          f"{cand.git_blob_sha1}")
    return size, hashlib.sha256(data).hexdigest()


# -- a fetch --------------------------------------------------------------------------------------


def fetch(archive: str = "single-layer", *, since: dt.date | None = None,
          until: dt.date | None = None, every_days: int | None = None,
          base_url: str | None = None, ref: str = "main", offline: bool = False,
          timeout: float = DEFAULT_TIMEOUT, cache: str | os.PathLike[str] | None = None,
          on_progress: Callable[[int, int], None] | None = None,
          today: dt.date | None = None) -> FetchReport:
    """Fetch an archive's files dated ``since`` to ``until`` (file dates, as in their names;
    default: from the archive's first file to today, UTC) into the cache, every file or with
    ``every_days`` the last one on or before each date of a grid counting back from ``until``.

    ``base_url``: a mirror (URL, file:// URL or folder) instead of GitHub; ``ref``: the branch or
    commit on GitHub; ``offline``: no network, only verify and report what the cache holds.
    A refused file is reported and not cached; a server that fails or stalls longer than
    ``timeout`` seconds is a FetchError (what was fetched before it is kept)."""
    arch = ch.archive_named(archive)
    if timeout <= 0:
        raise AdvsimError(f"timeout: expected seconds > 0, got {timeout:g}", param="timeout")
    if every_days is not None and every_days < 1:
        raise AdvsimError(f"every_days: expected at least 1 day, got {every_days}",
                          param="every_days")
    until = until or today or dt.datetime.now(dt.timezone.utc).date()
    if since is not None and since > until:
        raise AdvsimError(f"since: {since} is after until ({until})", param=("since", "until"))
    folder = ch.archive_dir(arch.name, cache)
    default = base_url is None
    base = default_base(arch.name, ref) if default else str(base_url)
    report = FetchReport(archive=arch.name, folder=folder, source=base, offline=offline)
    if offline:
        low = since or dt.date.min
        report.cached = [f.name for f in ch.cached_files(arch.name, cache)
                         if low <= f.file_date <= until]
        return report
    source = Source(base, timeout=timeout)
    commit = ref if default and _COMMIT.match(ref) else None
    with ch.locked(folder):
        report.leftovers = len(ch.remove_leftovers(folder))
        manifest = ch.load_manifest(arch.name, cache)
        try:
            if arch.unix_time:
                _fetch_listed(source, arch, manifest, report, since=since, until=until,
                              every_days=every_days, default=default, ref=ref, commit=commit,
                              cache=cache, on_progress=on_progress)
            else:
                _fetch_dated(source, arch, manifest, report, since=since or SINGLE_LAYER_FIRST,
                             until=until, every_days=every_days, commit=commit, cache=cache,
                             on_progress=on_progress)
        except FetchError as e:
            kept = len(report.fetched)
            if kept:
                e.message += (f" ({kept} file{'s' if kept != 1 else ''} fetched before it "
                              "kept; run the same command again to resume)")
                e.args = (str(e),)
            raise
        finally:
            report.requests = source.requests
    return report


def _fetch_dated(source: Source, arch: ch.Archive, manifest: dict, report: FetchReport, *,
                 since: dt.date, until: dt.date, every_days: int | None, commit: str | None,
                 cache: Any, on_progress: Callable[[int, int], None] | None) -> None:
    """The single-layer archive: names by date, each window's files asked for newest first."""
    from ..artifacts.files import utc_now

    plan = windows(since, until, every_days)
    for i, (low, high) in enumerate(plan):
        found = False
        absent = []
        day = high
        while day >= low and not found:
            name = f"deepstatemap_data_{day:%Y%m%d}.geojson"
            day -= dt.timedelta(days=1)
            state = _take(source, arch, manifest, report, Candidate(name, SINGLE_LAYER_DIR + name),
                          commit=commit, cache=cache)
            if state == "absent":
                absent.append(name)
                manifest["missing"][name] = {"asked": utc_now(), "source": source.base}
                ch.save_manifest(arch.name, manifest, cache)
            elif state == "known absent":
                absent.append(name)
            else:
                found = True
        if not found:
            report.missing.append(absent[0] if low == high else _window_words(low, high))
        if on_progress:
            on_progress(i + 1, len(plan))


def _fetch_listed(source: Source, arch: ch.Archive, manifest: dict, report: FetchReport, *,
                  since: dt.date | None, until: dt.date, every_days: int | None, default: bool,
                  ref: str, commit: str | None, cache: Any,
                  on_progress: Callable[[int, int], None] | None) -> None:
    """The multi-layer archive: listed, thinned, then fetched."""
    listed = multi_layer_listing(source, default=default, ref=ref)
    dated = [(arch.file_date(c.name), c) for c in listed]
    if since is None:
        since = min((d for d, _ in dated), default=until)
    picked, empty = thin(dated, since, until, every_days)
    report.missing += empty
    for i, cand in enumerate(picked):
        if _take(source, arch, manifest, report, cand, commit=commit, cache=cache) == "absent":
            report.missing.append(cand.name)
        if on_progress:
            on_progress(i + 1, len(picked))


def _take(source: Source, arch: ch.Archive, manifest: dict, report: FetchReport,
          cand: Candidate, *, commit: str | None, cache: Any) -> str:
    """One file: "cached" (there and verified), "fetched", "refused", "absent" on the server,
    or "known absent" (absent when last asked, long enough after its date)."""
    from ..artifacts.files import utc_now

    folder = report.folder
    item = manifest["files"].get(cand.name)
    if item is not None:
        if ch.damage(folder / cand.name, item) is None:
            report.cached.append(cand.name)
            return "cached"
        del manifest["files"][cand.name]  # damaged: out of the cache before it is replaced
        ch.save_manifest(arch.name, manifest, cache)
        (folder / cand.name).unlink(missing_ok=True)
        report.replaced.append(cand.name)
    elif _settled_absent(arch, cand.name, manifest, source.base):
        return "known absent"
    try:
        got = download(source, cand, folder)
    except Refused as e:
        report.refused.append((cand.name, source.url(cand.rel), str(e)))
        return "refused"
    if got is None:
        return "absent"
    size, sha256 = got
    manifest["files"][cand.name] = ch.entry(
        arch, name=cand.name, url=source.url(cand.rel), commit=commit, sha256=sha256, size=size,
        git_blob_sha1=cand.git_blob_sha1, fetched_at=utc_now())
    manifest["missing"].pop(cand.name, None)
    ch.save_manifest(arch.name, manifest, cache)
    report.fetched.append(cand.name)
    report.bytes_fetched += size
    return "fetched"


def _settled_absent(arch: ch.Archive, name: str, manifest: dict, base: str) -> bool:
    """Whether the same source lacked ``name`` when asked at least SETTLED_DAYS after its
    date (a file that late will not come)."""
    item = manifest.get("missing", {}).get(name)
    if not isinstance(item, dict) or item.get("source") != base:
        return False
    try:
        when = dt.datetime.fromisoformat(str(item.get("asked"))).date()
    except ValueError:
        return False
    return when >= arch.file_date(name) + dt.timedelta(days=SETTLED_DAYS)


def refused_error(report: FetchReport) -> FetchError | None:
    """The one-line error for the files a fetch refused (None if it refused none)."""
    if not report.refused:
        return None
    name, url, why = report.refused[0]
    more = len(report.refused) - 1
    return FetchError(f"refused: {why}; from {url}; not cached"
                      + (f" (and {more} more refused)" if more else ""), file=name)

