"""Output files written whole or not at all, their checksums, and the provenance of a manifest.

Every folder advsim writes (a run, a sweep, a trace) has a ``manifest.json`` saying what it is
(``kind``), that advsim wrote it (``written_by``), the provenance of what made it (versions, seed,
``inputs``: each input file with its sha256) and the sha256 of each of its other files
(``files``). ``write_manifest`` writes it; ``read_manifest`` checks a folder against it before a
reader (``Result.from_folder``, ``SweepResult.from_folder``, ``Trace.from_folder``) parses it.

A run's folder is claimed before anything is computed: its name is created at once (``mkdir``
is atomic: of two runs on one ``--out``, one gets it, the other an error), holding a marker
file until the last file is written; replacing an older run's folder (``--overwrite``) writes
a hidden sibling and swaps it in. A sweep's folder is written into a staging folder and
renamed into place; a file (a chart, a sweep's saved point) into a temporary dot-file beside
it, then renamed over it. A reader refuses a folder with the marker, and checks every file
against the checksums in its manifest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import socket
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from .. import __version__
from ..errors import AdvsimError


@contextlib.contextmanager
def atomic_dir(target: Path, *, overwrite: bool = False, staging: Path | None = None):
    """Yield a temporary folder beside ``target``; on success it becomes ``target``, on any
    error or interrupt it is removed, so ``target`` is either complete or absent.

    With ``staging``, that named folder is used instead (created if need be) and kept on error
    or interrupt, so that a long job (a sweep) can continue from what it holds.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise AdvsimError(f"{target}: already exists (use --overwrite to replace it)")
    _make_parent(target)
    if staging is not None:
        tmp = Path(staging)
        tmp.mkdir(parents=True, exist_ok=True)
    else:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the result is an ordinary folder
        yield tmp
        if target.exists() and not overwrite:  # made while this one was being computed
            raise AdvsimError(f"{target}: appeared while this was computed (another run?); "
                              "nothing was replaced")
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except OSError as e:  # a full disk, the folder gone: one line, nothing of it left
        if staging is None:
            shutil.rmtree(tmp, ignore_errors=True)
        name = Path(e.filename).name if getattr(e, "filename", None) else "its files"
        kept = "" if staging is None else f" (what was finished is kept in {staging})"
        raise AdvsimError(f"{target}: cannot write {name} ({e.strerror or e}); nothing was "
                          f"written{kept}") from None
    except BaseException:
        if staging is None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise


# -- claimed folders ---------------------------------------------------------------------------

MARKER = ".advsim-incomplete"  # in a folder advsim is still writing (pid, host, started)
WRITTEN_BY = "advsim"  # a manifest's "written_by": --overwrite replaces only such folders


class Claim:
    """A results folder this process has claimed: files go into ``folder`` (the target itself,
    or a hidden sibling that replaces the target on ``commit``)."""

    def __init__(self, target: Path, folder: Path) -> None:
        self.target = target
        self.folder = folder

    @property
    def replaces(self) -> bool:
        return self.folder != self.target

    def commit(self) -> Path:
        """The folder is complete: remove the marker (swap it in, if it replaces one)."""
        (self.folder / MARKER).unlink(missing_ok=True)
        if self.replaces:
            old: Path | None = self.target.with_name(
                f".{self.target.name}.advsim-old-{os.getpid()}")
            try:
                os.rename(self.target, old)  # type: ignore[arg-type]
            except FileNotFoundError:
                old = None
            except OSError as e:
                self.abandon()
                raise AdvsimError(f"{self.target}: cannot replace it ({e.strerror})") from None
            try:
                os.rename(self.folder, self.target)
            except OSError as e:
                if old is not None:
                    with contextlib.suppress(OSError):
                        os.rename(old, self.target)
                self.abandon()
                raise AdvsimError(f"{self.target}: cannot replace it ({e.strerror})") from None
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        return self.target

    def abandon(self) -> None:
        """Remove what was claimed (it holds this process's marker: nothing of anyone else)."""
        if _marker(self.folder).get("pid") == os.getpid():
            shutil.rmtree(self.folder, ignore_errors=True)


def claim_dir(target: str | os.PathLike[str], *, overwrite: bool = False) -> Claim:
    """Claim ``target`` for a new results folder before anything is computed, or fail in one
    line: it exists (and, with ``overwrite``, was not written by advsim), or cannot be made.
    Stale claims of dead processes beside it are removed first."""
    target = Path(target)
    _make_parent(target)
    remove_stale(target.parent)
    if os.path.lexists(target):
        if os.path.islink(target) and not target.exists():
            raise AdvsimError(f"{target}: a symbolic link to {os.readlink(target)}, which does "
                              "not exist (expected a new folder, or one advsim wrote)")
        info = _marker(target)
        if info:
            raise AdvsimError(f"{target}: {_incomplete(info)}")
        if not overwrite:
            raise AdvsimError(f"{target}: already exists (use --overwrite to replace it)")
        here = Path.cwd().resolve()
        real = target.resolve()
        if real == here or real in here.parents:
            raise AdvsimError(f"{target}: is the current folder or contains it; --overwrite "
                              "will not replace it (choose a new --out)")
        why = not_written_by_advsim(target)
        if why:
            raise AdvsimError(f"{target}: {why}; --overwrite replaces only a results folder "
                              "that advsim wrote (choose another --out)")
        side = target.with_name(f".{target.name}.advsim-new")
        try:
            _claim(side)
        except FileExistsError:
            raise AdvsimError(f"{target}: {_incomplete(_marker(side), replacing=True)}") from None
        return Claim(target, side)
    try:
        _claim(target)
    except FileExistsError:
        raise AdvsimError(f"{target}: already exists (another run made it just now?)") from None
    return Claim(target, target)


@contextlib.contextmanager
def claimed(claim: Claim) -> Iterator[Path]:
    """Yield the claimed folder to write into; commit it on success, remove it on any error
    or interrupt. An OSError while writing is one line naming the folder."""
    try:
        yield claim.folder
    except OSError as e:
        claim.abandon()
        name = Path(e.filename).name if getattr(e, "filename", None) else "its files"
        raise AdvsimError(f"{claim.target}: cannot write {name} ({e.strerror or e}); nothing "
                          "was written") from None
    except BaseException:
        claim.abandon()
        raise
    claim.commit()


def check_writable(spec: str | os.PathLike[str], folder: Path) -> None:
    """``folder`` (or the nearest of its parents that exists: the others are made) is a folder
    this process may create files in; otherwise one AdvsimError naming ``spec``, before any
    work."""
    near = next((p for p in [folder, *folder.parents] if os.path.lexists(p)), None)
    if near is None:
        return
    if not near.is_dir():
        raise AdvsimError(f"{os.fspath(spec)}: {near} is a file, not a folder")
    if not os.access(near, os.W_OK | os.X_OK):
        raise AdvsimError(f"{os.fspath(spec)}: the folder {near} is read-only (nothing was "
                          "written)")


def _make_parent(target: Path) -> None:
    check_writable(target, target.parent)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        file = next((p for p in [target.parent, *target.parent.parents] if p.is_file()), None)
        raise AdvsimError(f"{target}: {file or target.parent} is a file, not a folder") \
            from None
    except OSError as e:
        raise AdvsimError(f"{target}: cannot make its folder {target.parent} "
                          f"({e.strerror or e})") from None


def _claim(folder: Path) -> None:
    """``mkdir`` (FileExistsError if taken), then the marker; an OSError is one line."""
    try:
        os.mkdir(folder)
    except FileExistsError:
        raise
    except OSError as e:
        raise AdvsimError(f"{folder}: cannot create the output folder ({e.strerror or e})") \
            from None
    try:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": utc_now()}
        (folder / MARKER).write_text(json.dumps(info) + "\n", encoding="utf-8")
    except OSError as e:
        shutil.rmtree(folder, ignore_errors=True)
        raise AdvsimError(f"{folder}: cannot write into it ({e.strerror or e})") from None


def _marker(folder: Path) -> dict[str, Any]:
    """The marker of a folder being written ({} if there is none; pid None if unreadable)."""
    try:
        info = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {"pid": None}
    return info if isinstance(info, dict) else {"pid": None}


def _alive(info: dict[str, Any]) -> bool | None:
    """Whether the process that wrote a marker still runs (None: cannot tell)."""
    pid = info.get("pid")
    if not isinstance(pid, int) or info.get("host") != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def _incomplete(info: dict[str, Any], *, replacing: bool = False) -> str:
    what = "being replaced" if replacing else "incomplete"
    alive = _alive(info)
    if alive:
        return f"{what}: still being written by advsim (process {info['pid']})"
    if alive is False:
        return (f"{what}: left by an interrupted advsim run (process {info['pid']} is gone); "
                "remove it, or use --overwrite")
    return f"{what}: still being written or interrupted (marker {MARKER})"


def remove_stale(parent: Path, names: Iterable[str] | None = None) -> list[Path]:
    """Remove folders under ``parent`` that a killed advsim process left half-written: their
    marker names a process of this host that is gone. Returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(parent)) if names is None else \
            [e for e in os.scandir(parent) if e.name in set(names)]
    except OSError:
        return removed
    for entry in entries:
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
        except OSError:
            continue
        path = Path(entry.path)
        info = _marker(path)
        if info and _alive(info) is False:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def not_written_by_advsim(folder: Path) -> str | None:
    """Why ``folder`` is not a folder advsim wrote, or None if its manifest says it is (or it
    is a claim that a dead advsim process left)."""
    if not folder.is_dir():
        return "not a folder"
    if _marker(folder) and _alive(_marker(folder)) is False:
        return None
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "not written by advsim (it has no manifest.json)"
    except (OSError, ValueError):
        return "not written by advsim (its manifest.json cannot be read)"
    if isinstance(manifest, dict) and (manifest.get("written_by") == WRITTEN_BY
                                       or isinstance(manifest.get("files"), dict)):
        return None
    return "not written by advsim (its manifest.json does not say so)"


def checksums(folder: Path, names: Iterable[str]) -> dict[str, str]:
    """``{name: sha256}`` of files in ``folder``: the manifest's ``files`` block."""
    return {name: sha256_file(folder / name) for name in sorted(names)}


def verify_folder(folder: str | os.PathLike[str], spec: str | None = None, *,
                  first: Sequence[str] = ()) -> dict[str, Any]:
    """Check a folder advsim wrote before reading it: not still being written, and every file
    that its manifest lists matching its checksum. Returns the manifest ({} if there is none:
    the reader says what the folder lacks); a failure is one
    AdvsimError naming ``spec`` (default: the folder) and the damaged file (a missing one:
    those of ``first`` before the others). A manifest from
    before checksums (no ``files`` block) is taken as it is."""
    manifest, check = verify_folder_while_read(folder, spec, first=first)
    check.done()
    return manifest


def verify_folder_while_read(folder: str | os.PathLike[str], spec: str | None = None, *,
                             first: Sequence[str] = (), reads: Sequence[str] = (),
                             ) -> tuple[dict[str, Any], FolderCheck]:
    """``verify_folder`` with the checksums computed in a thread while the folder is read:
    the marker, the manifest and which files it lists are checked now; then the reader calls
    ``check.ready(name)`` before it parses each file (those of ``reads``, which are hashed
    first, in that order) and ``check.done()`` at the end, or when it fails (a damaged file is
    then the error, as if the checksums had been checked first). The files no reader parses
    (a table's CSV beside the Parquet read) are hashed meanwhile."""
    folder = Path(folder)
    spec = str(folder) if spec is None else spec
    info = _marker(folder)
    if info:
        raise AdvsimError(f"{spec}: {_incomplete(info)}")
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, FolderCheck(folder, spec, {})  # the reader says what the folder lacks
    except (OSError, ValueError) as e:
        raise AdvsimError(f"{spec}: manifest.json: cannot read it ({e})") from None
    if not isinstance(manifest, dict):
        raise AdvsimError(f"{spec}: manifest.json: not a manifest (expected a JSON object)")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise AdvsimError(f"{spec}: manifest.json lists no checksums of the folder's files "
                          "(not a folder advsim wrote, or written by hand)")
    for name in files:
        if not isinstance(name, str) or Path(name).name != name:
            raise AdvsimError(f"{spec}: manifest.json: lists {name!r}, not a file of the folder")
    for name in [*(n for n in first if n in files), *(n for n in files if n not in first)]:
        if not (folder / name).is_file():
            raise AdvsimError(f"{spec}: not a results folder (no {name}, which manifest.json "
                              "lists)")
    return manifest, FolderCheck(folder, spec, files, reads)


class FolderCheck:
    """The checksums of a folder's files against its manifest's, computed in a thread (hashlib
    and file reads let go of the GIL): see ``verify_folder_while_read``."""

    def __init__(self, folder: Path, spec: str, files: dict[str, Any],
                 reads: Sequence[str] = ()) -> None:
        import threading

        self.folder, self.spec, self.files = folder, spec, files
        self._order = [*dict.fromkeys(n for n in reads if n in files),
                       *(n for n in files if n not in reads)]
        self._hashed: dict[str, str | BaseException] = {}
        self._events = {name: threading.Event() for name in files}
        self._thread = threading.Thread(target=self._hash, daemon=True)
        if files:
            self._thread.start()

    def _hash(self) -> None:
        for name in self._order:
            try:
                self._hashed[name] = sha256_file(self.folder / name)
            except BaseException as e:  # raised in the reader's thread, in order
                self._hashed[name] = e
            self._events[name].set()

    def ready(self, name: str) -> None:
        """Wait until ``name`` (a file the manifest lists, else nothing to wait for) is
        checked; if it does not match, the error of ``done``."""
        event = self._events.get(name)
        if event is None:
            return
        event.wait()
        if self._hashed[name] != self.files[name]:
            self.done()

    def done(self) -> None:
        """Wait for every checksum: the first file that does not match its own, in the
        manifest's order, is an AdvsimError naming it."""
        if self.files:
            self._thread.join()
        for name, expected in self.files.items():
            got = self._hashed[name]
            if isinstance(got, BaseException):
                raise got
            if got != expected:
                raise AdvsimError(f"{self.spec}: {name}: does not match its checksum in "
                                  "manifest.json (truncated, damaged or edited)")


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Yield a binary file that becomes ``path`` once written, whole or not at all. It is a
    dot-file beside ``path`` until then: an error removes it; a kill may leave it behind."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 is for the temporary name only
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all."""
    with atomic_file(path) as f:
        f.write(data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_text(text: str) -> str:
    """The hex SHA-256 of ``text`` in UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 of a file's bytes, read a block at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def utc_now() -> str:
    """The time now in UTC, to the second, as ISO 8601."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def package_version(name: str) -> str | None:
    """An installed distribution's version, or None (without importing it)."""
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return None


def provenance(*, seed: int | None, packages: Sequence[str] = (), **sha256: str) -> dict:
    """The block every manifest carries: the advsim version, the seed, the hashes passed in
    (``scenario_sha256=...``), when, and the versions of what computed it (advsim, numpy,
    scipy, simpy, Python and any of ``packages``) on which platform. A seed of None: nothing
    random made it (a trace).

    ``python``, ``numpy`` and ``scipy`` are also given at the top level, where manifests have
    always had them.
    """
    import numpy as np

    versions = {
        "advsim": __version__,
        "numpy": np.__version__,
        "scipy": package_version("scipy"),
        "simpy": package_version("simpy"),
        "python": platform.python_version(),
        **{name: package_version(name) for name in packages},
    }
    return {
        "advsim": __version__,
        "seed": seed,
        **sha256,
        "created": utc_now(),
        "python": versions["python"],
        "numpy": versions["numpy"],
        "scipy": versions["scipy"],
        "versions": versions,
        "platform": platform.platform(),
    }


# -- manifests -----------------------------------------------------------------------------------

KINDS = {"run": "a results folder of advsim run", "sweep": "a sweep folder of advsim sweep",
         "trace": "a trace folder of advsim trace --out",
         "backtest": "a backtest folder of advsim backtest --out",
         "outlook": "an outlook folder of advsim outlook --out"}


def input_hashes(paths: Iterable[str | os.PathLike[str]]) -> dict[str, str]:
    """``{path: sha256}`` of the input files a folder was made from (its manifest's ``inputs``),
    in the order given."""
    return {os.fspath(p): sha256_file(p) for p in paths}


def write_manifest(folder: Path, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Write ``folder/manifest.json``: ``kind``, ``fields`` (the provenance first), that advsim
    wrote it, and the checksum of every other file of the folder (not dot-files). Returns it."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)} (got {kind!r})")
    names = [f.name for f in folder.iterdir() if f.is_file() and not f.name.startswith(".")
             and f.name != "manifest.json"]
    manifest = {"kind": kind, **fields, "written_by": WRITTEN_BY,
                "files": checksums(folder, names)}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n",
                                          encoding="utf-8")
    return manifest


def kind_of(folder: Path, manifest: dict[str, Any]) -> str | None:
    """What a folder advsim wrote is: the ``kind`` its manifest names (None if none)."""
    kind = manifest.get("kind")
    return kind if isinstance(kind, str) else None


def read_manifest(folder: str | os.PathLike[str], kind: str, spec: str | None = None, *,
                  required: Sequence[str] = ()) -> dict[str, Any]:
    """The manifest of a folder of ``kind`` that holds the ``required`` files, once every file
    it lists matches its checksum; otherwise one AdvsimError naming ``spec`` (default: the
    folder) and what is wrong: not a folder, not written by advsim, another kind, a required
    file missing, or a damaged or edited file."""
    folder = Path(folder)
    spec = str(folder) if spec is None else spec
    want = KINDS[kind]
    if not folder.exists():
        raise AdvsimError(f"{spec}: no such folder (expected {want})")
    if not folder.is_dir():
        raise AdvsimError(f"{spec}: not a folder (expected {want})")
    manifest = verify_folder(folder, spec)
    if not manifest:
        raise AdvsimError(f"{spec}: not written by advsim (no manifest.json; expected {want})")
    if manifest.get("written_by") != WRITTEN_BY and not isinstance(manifest.get("files"), dict):
        raise AdvsimError(f"{spec}: not written by advsim (its manifest.json does not say so; "
                          f"expected {want})")
    got = kind_of(folder, manifest)
    if got != kind:
        what = KINDS.get(got or "", f"a folder of kind {got!r}" if got else "of no known kind")
        raise AdvsimError(f"{spec}: {what} (expected {want})")
    for name in required:
        if not (folder / name).is_file():
            raise AdvsimError(f"{spec}: not {want} (no {name})")
    return manifest
