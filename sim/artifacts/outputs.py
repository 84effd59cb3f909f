"""Every file a command writes for its user (``-o``, ``--chart``, ``--quantiles``,
``--geojson``), through one gate: checked before any work, written whole or not at all.

- ``-`` or ``/dev/stdout`` is standard output: the bytes are written there.
- A symbolic link is written through, as a shell's ``>`` does: its target is replaced (whole,
  by a rename beside it) and the link stays a link. A dangling link makes its target; a loop
  is refused.
- An existing device, FIFO or socket (``/dev/null`` included) is refused in one line: never
  replaced, never unlinked, never written to. So is a folder.
- Otherwise the file is written into a dot-file beside it and renamed over it.

Before the work, ``check_output`` refuses all of that and a folder that cannot be written
(read-only, or a file where a folder should be); ``check_distinct`` refuses an output that is
one of the command's inputs or another of its outputs. While writing, an ``OSError`` (a full
disk) is one line and the partial file is removed.

Two commands writing one output at once both succeed and the last rename wins (see
docs/internals.md). The outputs finished so far are recorded (``finished``), so that an
interrupted command says which it leaves behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from ..errors import AdvsimError
from .files import atomic_file, check_writable

STDOUT = ("-", "/dev/stdout")

_finished: list[str] = []


def is_stdout(path: str | os.PathLike[str] | None) -> bool:
    """Whether ``path`` names standard output (``-`` or ``/dev/stdout``)."""
    return path is not None and os.fspath(path) in STDOUT


def finished() -> list[str]:
    """The outputs this process has written whole so far (``reset`` clears it)."""
    return list(_finished)


def reset() -> None:
    """Forget the outputs recorded (a command starts)."""
    _finished.clear()


def record(path: str | os.PathLike[str]) -> None:
    """Record an output (a file or a folder) as written whole."""
    _finished.append(os.fspath(path))


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    for test, what in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return None if stat.S_ISREG(mode) else "not a regular file"


def check_output(path: str | os.PathLike[str], *, flag: str | None = None) -> Path:
    """Refuse, before any work, an output that cannot be written as a file: an existing
    device, FIFO, socket or folder, a symbolic link loop, a folder that is read-only. Returns
    the file that will be replaced (a link's target), or ``path`` itself for standard
    output."""
    spec = os.fspath(path)
    if is_stdout(spec):
        return Path(spec)
    what = f"{flag} " if flag else ""
    try:
        st = os.stat(spec)  # through links: what a write would reach
    except (FileNotFoundError, NotADirectoryError):
        st = None  # a new file, the target a dangling link makes, or a file on the way
    except OSError as e:  # a loop of links, a name too long, no permission
        raise AdvsimError(f"{spec}: cannot write {what}there ({e.strerror or e})") from None
    if st is not None:
        kind = _kind(st.st_mode)
        if kind == "a folder":
            raise AdvsimError(f"{spec}: is a folder ({flag or 'the output'} names a file)")
        if kind is not None:
            raise AdvsimError(f"{spec}: {kind}; {flag or 'an output'} is written only to a "
                              "regular file or to standard output (-); nothing was written")
    target = Path(os.path.realpath(spec)) if os.path.islink(spec) else Path(spec)
    check_writable(spec, target.parent)
    return target


def check_new_folder(path: str | os.PathLike[str], *, flag: str | None = None) -> Path:
    """Refuse, before any work, a new output folder that exists (as anything, a dangling
    link included) or whose parent cannot be written."""
    spec = os.fspath(path)
    if os.path.lexists(spec):
        raise AdvsimError(f"{spec}: already exists (choose a new {flag or 'folder'})")
    p = Path(spec)
    check_writable(spec, p.parent)
    return p


def files_in(paths: Iterable[str | os.PathLike[str]],
             suffixes: tuple[str, ...] = ()) -> list[str]:
    """The files that inputs stand for, to compare outputs with: a file itself, a folder its
    files of ``suffixes`` (what a reader of the folder reads); anything else nothing (its
    reader says what is wrong with it)."""
    out: list[str] = []
    for p in paths:
        spec = os.fspath(p)
        if os.path.isdir(spec):
            try:
                out += [e.path for e in os.scandir(spec)
                        if e.name.lower().endswith(suffixes) and e.is_file()]
            except OSError:
                continue
        elif os.path.exists(spec):
            out.append(spec)
    return out


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def check_distinct(outputs: Mapping[str, str | os.PathLike[str] | None],
                   inputs: Iterable[str | os.PathLike[str] | None] = ()) -> None:
    """Refuse, before any work, an output (by flag) that is one of the ``inputs`` or another
    output of the same command (the same file by ``os.path.samefile`` where both exist, else
    by resolved path). At most one output may be standard output."""
    given = [(flag, os.fspath(p)) for flag, p in outputs.items() if p is not None]
    ins = [os.fspath(p) for p in inputs if p is not None]
    for i, (flag, out) in enumerate(given):
        if is_stdout(out):
            for other, o in given[i + 1:]:
                if is_stdout(o):
                    raise AdvsimError(f"{flag} {out} and {other} {o}: both are standard "
                                      "output (give one of them a file)")
            continue
        for src in ins:
            if _same(out, src):
                raise AdvsimError(f"{flag} {out}: is an input of this command ({src}); "
                                  "nothing was written (choose another file)")
        for other, o in given[i + 1:]:
            if not is_stdout(o) and _same(out, o):
                raise AdvsimError(f"{flag} {out} and {other} {o}: the same file (give each "
                                  "output its own)")


def _to_stdout(data: bytes) -> None:
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(data.decode("utf-8", "replace"))
    else:
        buffer.write(data)
        buffer.flush()


@contextlib.contextmanager
def output_file(path: str | os.PathLike[str], *, flag: str | None = None,
                keep: bool = True) -> Iterator[BinaryIO]:
    """Yield a binary file that becomes the output ``path`` once written whole (see the
    module): standard output, a link's target, or the file. An ``OSError`` while writing (a
    full disk) is one AdvsimError, and nothing is left. ``keep`` False: a file inside a folder
    being written, not recorded as an output."""
    spec = os.fspath(path)
    if is_stdout(spec):
        buf = io.BytesIO()
        yield buf
        _to_stdout(buf.getvalue())
        return
    target = check_output(spec, flag=flag)  # again: the work may have taken minutes
    try:
        with atomic_file(target) as f:
            yield f
    except OSError as e:
        raise AdvsimError(f"{spec}: cannot write it ({e.strerror or e}); nothing was "
                          "written") from None
    if keep:
        record(spec)


def write_output(path: str | os.PathLike[str], data: bytes, *, flag: str | None = None,
                 keep: bool = True) -> Path:
    """Write ``data`` as the output ``path`` (see ``output_file``)."""
    with output_file(path, flag=flag, keep=keep) as f:
        f.write(data)
    return Path(path)
