"""Output files written whole or not at all, their checksums, and the provenance of a manifest.

A folder (a run, a sweep) is written into a temporary folder beside its target and renamed
into place; a file (a chart, a sweep's saved point) into a temporary dot-file beside it, then
renamed over it. Either way a reader sees the old state or the new one, never half of it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from . import __version__
from .errors import AdvsimError


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
    target.parent.mkdir(parents=True, exist_ok=True)
    if staging is not None:
        tmp = Path(staging)
        tmp.mkdir(parents=True, exist_ok=True)
    else:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the result is an ordinary folder
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        if staging is None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise


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


def provenance(*, seed: int, packages: Sequence[str] = (), **sha256: str) -> dict:
    """The block every manifest carries: the advsim version, the seed, the hashes passed in
    (``scenario_sha256=...``), when, and the versions of what computed it (advsim, numpy,
    scipy, simpy, Python and any of ``packages``) on which platform.

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
