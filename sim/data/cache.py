"""The user's cache of public map archives: where it is, what each archive folder holds (its
``manifest.json``), and the verified files the rest of advsim reads from it.

The cache is a folder (``platformdirs.user_cache_dir("advsim")/maps``, or ``$ADVSIM_CACHE``, or
``cache=``/``--cache DIR``) with one folder per archive, ``single-layer/`` and ``multi-layer/``.
Each archive folder holds the files under their archive names and a ``manifest.json`` with one
entry per file: source URL, commit (where known), sha256, bytes, git's blob sha1 (where the
listing gave it), the file's date, the date of the map it shows (the archive's date convention)
and when it was fetched. A file is in the cache only once its entry is in the manifest, and it
is read only if its bytes still match that entry: a damaged or partial cache is refused by name.

Standard library and platformdirs only (imported when the default location is needed).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AdvsimError, ScenarioError

ENV = "ADVSIM_CACHE"
MANIFEST = "manifest.json"
LOCK = ".advsim-fetch.lock"
KIND = "map-archive"
PLATFORMDIRS_HINT = ("the map cache's default folder needs platformdirs: pip install "
                     "'advsim[geo]' (or give --cache DIR, or set ADVSIM_CACHE)")


class CacheError(ScenarioError):
    """A damaged, partial or unreadable cache, or none at all: ``FILE: what is wrong``."""


@dataclass(frozen=True, kw_only=True)
class Archive:
    """One public archive of map snapshots: where it comes from and how its files are dated."""

    name: str  # the cache folder's name: "single-layer" | "multi-layer"
    repo: str  # GitHub owner/name
    licence: str
    date_convention: str  # a key of sim.data.snapshots.DATE_CONVENTIONS
    pattern: re.Pattern[str]  # a file name of the archive; group 1 is its date or unix time
    unix_time: bool  # group 1 is a unix time (else YYYYMMDD)
    describes: str

    def file_date(self, name: str) -> dt.date:
        """The date a file of this archive carries in its name (a unix time's UTC date)."""
        m = self.pattern.match(name)
        if not m:
            raise ValueError(f"{name!r} is not a file name of the {self.name} archive")
        raw = m.group(1)
        if self.unix_time:
            return dt.datetime.fromtimestamp(int(raw), tz=dt.timezone.utc).date()
        return dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))

    def map_date(self, name: str) -> dt.date:
        """The day whose map the file shows, under the archive's date convention."""
        offset = 1 if self.date_convention == "previous-day" else 0
        return self.file_date(name) - dt.timedelta(days=offset)

    def matches(self, name: str) -> bool:
        """Whether ``name`` is a file name of this archive (with a real date)."""
        try:
            self.file_date(name)
        except (ValueError, OverflowError, OSError):
            return False
        return True


SINGLE_LAYER = Archive(
    name="single-layer", repo="cyterat/deepstate-map-data", licence="GPL-3.0",
    date_convention="previous-day",
    pattern=re.compile(r"^deepstatemap_data_(\d{8})\.geojson$"), unix_time=False,
    describes="DeepStateMap's occupied territory as one (Multi)Polygon a day; the file of day "
              "D is downloaded at about 03:00 UTC and shows the map of D-1",
)
MULTI_LAYER = Archive(
    name="multi-layer", repo="DanielRose2310/deepstatemaps-history",
    licence="none stated (DeepStateMap's content; credit deepstatemap.live)",
    date_convention="same-day",
    pattern=re.compile(r"^(\d{9,10})\.geojson$"), unix_time=True,
    describes="every DeepStateMap layer as published; the file {unix_ts}.geojson shows the map "
              "of the UTC date of unix_ts",
)
ARCHIVES = {a.name: a for a in (SINGLE_LAYER, MULTI_LAYER)}
PREFERENCE = ("multi-layer", "single-layer")  # what an outlook reads when both are cached


def archive_named(name: str) -> Archive:
    """An archive by name; another name is an AdvsimError naming those there are."""
    if name not in ARCHIVES:
        raise AdvsimError(f"archive: no archive {name!r} (expected one of "
                          f"{', '.join(ARCHIVES)})", param="archive")
    return ARCHIVES[name]


# -- where ------------------------------------------------------------------------------------


def cache_root(cache: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: ``cache`` if given, else ``$ADVSIM_CACHE``, else the user's cache
    folder for advsim (platformdirs) with ``maps`` under it. Nothing is created."""
    if cache is not None and os.fspath(cache) != "":
        return Path(cache).expanduser()
    env = os.environ.get(ENV, "")
    if env:
        return Path(env).expanduser()
    try:
        import platformdirs
    except ImportError:
        raise AdvsimError(PLATFORMDIRS_HINT) from None
    return Path(platformdirs.user_cache_dir("advsim")) / "maps"


def archive_dir(name: str, cache: str | os.PathLike[str] | None = None) -> Path:
    """The folder of one archive in the cache."""
    return cache_root(cache) / archive_named(name).name


# -- the manifest -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CachedFile:
    """One verified file of the cache, as its manifest entry describes it."""

    archive: str
    name: str
    path: Path
    url: str
    commit: str | None
    sha256: str
    bytes: int
    git_blob_sha1: str | None
    file_date: dt.date
    map_date: dt.date
    fetched_at: str

    def as_dict(self) -> dict[str, Any]:
        return {"archive": self.archive, "file": self.name, "path": str(self.path),
                "url": self.url, "commit": self.commit, "sha256": self.sha256,
                "bytes": self.bytes, "git_blob_sha1": self.git_blob_sha1,
                "file_date": self.file_date.isoformat(), "map_date": self.map_date.isoformat(),
                "fetched_at": self.fetched_at}


CONVENTION_WORDS = {  # as in sim.data.snapshots.DATE_CONVENTIONS, which needs shapely
    "previous-day": "map date = file date - 1 day",
    "same-day": "map date = file date (the UTC date of unix_ts)",
}


def new_manifest(arch: Archive) -> dict[str, Any]:
    """The manifest of an archive folder that holds nothing yet."""
    return {"kind": KIND, "archive": arch.name, "source": f"https://github.com/{arch.repo}",
            "licence": arch.licence, "date_convention": arch.date_convention,
            "convention": CONVENTION_WORDS[arch.date_convention], "describes": arch.describes,
            "written_by": "advsim", "files": {}, "missing": {}}


def load_manifest(name: str, cache: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """An archive folder's manifest (a new one if the folder has none); an unreadable one is a
    CacheError naming it."""
    arch = archive_named(name)
    path = archive_dir(name, cache) / MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return new_manifest(arch)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise CacheError(f"cannot be read ({getattr(e, 'strerror', None) or e}); remove "
                         f"{path.parent} and run advsim data fetch again", file=str(path)) \
            from None
    if not (isinstance(doc, dict) and doc.get("kind") == KIND and doc.get("archive") == name
            and isinstance(doc.get("files"), dict)):
        raise CacheError(f"not the manifest of the {name} archive that advsim writes; remove "
                         f"{path.parent} and run advsim data fetch again", file=str(path))
    doc.setdefault("missing", {})
    return doc


def save_manifest(name: str, manifest: dict[str, Any],
                  cache: str | os.PathLike[str] | None = None) -> None:
    """Write an archive folder's manifest whole or not at all, its files sorted by name."""
    from ..artifacts.files import atomic_write, utc_now

    manifest = {**manifest, "updated": utc_now(),
                "files": dict(sorted(manifest["files"].items())),
                "missing": dict(sorted(manifest.get("missing", {}).items()))}
    atomic_write(archive_dir(name, cache) / MANIFEST,
                 (json.dumps(manifest, indent=1) + "\n").encode("utf-8"))


def entry(arch: Archive, *, name: str, url: str, commit: str | None, sha256: str, size: int,
          git_blob_sha1: str | None, fetched_at: str) -> dict[str, Any]:
    """A manifest entry for one file of ``arch``."""
    return {"file": name, "url": url, "commit": commit, "sha256": sha256, "bytes": size,
            "git_blob_sha1": git_blob_sha1, "file_date": arch.file_date(name).isoformat(),
            "map_date": arch.map_date(name).isoformat(), "fetched_at": fetched_at}


def damage(path: Path, item: dict[str, Any]) -> str | None:
    """Why a cached file does not match its manifest entry (None: it does)."""
    from ..artifacts.files import sha256_file

    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "listed in manifest.json but missing"
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    if size != item.get("bytes"):
        return (f"{size:,} bytes where manifest.json says {item.get('bytes')!r} "
                "(truncated, damaged or edited)")
    try:
        digest = sha256_file(path)
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    if digest != item.get("sha256"):
        return "does not match its sha256 in manifest.json (damaged or edited)"
    return None


def _cached(arch: Archive, folder: Path, item: dict[str, Any]) -> CachedFile:
    name = str(item.get("file"))
    return CachedFile(
        archive=arch.name, name=name, path=folder / name, url=str(item.get("url", "")),
        commit=item.get("commit"), sha256=str(item["sha256"]), bytes=int(item["bytes"]),
        git_blob_sha1=item.get("git_blob_sha1"), file_date=arch.file_date(name),
        map_date=arch.map_date(name), fetched_at=str(item.get("fetched_at", "")),
    )


def cached_files(archive: str | None = None,
                 cache: str | os.PathLike[str] | None = None) -> list[CachedFile]:
    """The files of one archive (default: every archive) that the cache holds, each checked
    against the sha256 in its manifest, sorted by archive then map date. A file that is missing,
    truncated or changed is a CacheError naming it (run ``advsim data fetch`` to replace it)."""
    names = [archive_named(archive).name] if archive is not None else list(ARCHIVES)
    out: list[CachedFile] = []
    for name in names:
        arch = ARCHIVES[name]
        folder = archive_dir(name, cache)
        if not folder.is_dir():
            continue
        manifest = load_manifest(name, cache)
        files = []
        for fname, item in manifest["files"].items():
            if not (isinstance(item, dict) and arch.matches(str(fname))
                    and item.get("file") == fname):
                raise CacheError(f"files.{fname}: not an entry advsim writes; remove "
                                 f"{folder} and run advsim data fetch again",
                                 file=str(folder / MANIFEST))
            why = damage(folder / fname, item)
            if why:
                raise CacheError(f"{why}; run advsim data fetch --archive {name} again to "
                                 "replace it", file=str(folder / fname))
            files.append(_cached(arch, folder, item))
        out += sorted(files, key=lambda f: (f.map_date, f.name))
    return out


def latest_archive_paths(cache: str | os.PathLike[str] | None = None
                         ) -> tuple[str, list[Path], str]:
    """What an outlook reads when no snapshots are given: the archive's name, its verified
    files sorted by map date, and their date convention (for ``read_snapshot``). The multi-layer
    archive is preferred where it holds files, else the single-layer one; an empty cache is a
    CacheError saying how to fill it."""
    for name in PREFERENCE:
        files = cached_files(name, cache)
        if files:
            return name, [f.path for f in files], ARCHIVES[name].date_convention
    raise CacheError("no map archive in the cache; run advsim data fetch (e.g. advsim data "
                     "fetch --every 7d), or give snapshot folders", file=str(cache_root(cache)))


def describe(cache: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Per archive that the cache holds: its files, first and last map dates, bytes and folder
    (every file verified first, as ``cached_files``)."""
    out = []
    for name, arch in ARCHIVES.items():
        files = cached_files(name, cache)
        if not files and not archive_dir(name, cache).is_dir():
            continue
        out.append({
            "archive": name, "source": f"https://github.com/{arch.repo}",
            "licence": arch.licence, "date_convention": arch.date_convention,
            "files": len(files),
            "first_map_date": files[0].map_date.isoformat() if files else None,
            "last_map_date": files[-1].map_date.isoformat() if files else None,
            "bytes": sum(f.bytes for f in files), "folder": str(archive_dir(name, cache)),
        })
    return out


# -- one writer at a time -------------------------------------------------------------------------


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold an archive folder for one writer (a lock file naming this process); a lock left by
    a process of this host that is gone is taken over."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK
    me = {"pid": os.getpid(), "host": socket.gethostname()}
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                held = json.loads(lock.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                held = {}
            if _gone(held):
                lock.unlink(missing_ok=True)
                continue
            who = f"process {held.get('pid')}" if isinstance(held, dict) else "another process"
            raise CacheError(f"being written by another advsim data fetch ({who}); wait for "
                             f"it, or remove {LOCK} if no fetch runs", file=str(folder)) \
                from None
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(me, f)
        break
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _gone(held: Any) -> bool:
    """Whether the process a lock names is gone (only a process of this host can be told)."""
    if not isinstance(held, dict) or held.get("host") != socket.gethostname():
        return False
    pid = held.get("pid")
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def remove_leftovers(folder: Path) -> list[Path]:
    """Remove the temporary files an interrupted fetch left (``.NAME.XXXX.tmp``)."""
    removed = []
    if folder.is_dir():
        for p in folder.iterdir():
            if p.name.startswith(".") and p.name.endswith(".tmp") and p.is_file():
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed
