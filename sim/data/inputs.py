"""Input files of the data layer read whole within a size limit; a device, a pipe, a socket,
a symbolic link loop or a dangling link is named for what it is and never read. Only the
standard library is imported here."""

from __future__ import annotations

import errno
import os
import stat

from ..errors import ScenarioError

MB = 2**20


def mb(n: float) -> str:
    """A size in MB as messages show it."""
    return f"{n / MB:.3g} MB"


def kind_of(path: str | os.PathLike[str]) -> str | None:
    """What ``path`` is, in words, when it is not a regular file or a folder (None when it is
    one of those)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "a dangling symbolic link" if os.path.islink(path) else "no such file or folder"
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "a symbolic link loop"
        return f"cannot read: {e.strerror or e}"
    mode = st.st_mode
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISCHR(mode):
        return "a character device, not a file"
    if stat.S_ISBLK(mode):
        return "a block device, not a file"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file"
    return "not a regular file"


def read_bytes(path: str | os.PathLike[str], what: str, max_bytes: int,
               error: type[ScenarioError] = ScenarioError) -> bytes:
    """The bytes of the regular file ``path`` (``what`` it should be, for messages): anything
    else, or a file over ``max_bytes``, is an ``error`` naming the file, found before reading."""
    fname = os.fspath(path)
    kind = kind_of(fname)
    if kind is not None:
        raise error(f"{kind} (expected {what})", file=fname)
    try:
        # Not blocking: were the file swapped for a pipe since stat, opening it returns at once.
        fd = os.open(fname, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except IsADirectoryError:
        raise error(f"is a folder (expected {what})", file=fname) from None
    except OSError as e:
        raise error(f"cannot read: {e.strerror or e}", file=fname) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if stat.S_ISDIR(st.st_mode):
            raise error(f"is a folder (expected {what})", file=fname)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"not a regular file (expected {what})", file=fname)
        _check_size(st.st_size, fname, what, max_bytes, error)
        try:
            data = f.read(max_bytes + 1)  # the file may have grown since fstat
        except OSError as e:
            raise error(f"cannot read: {e.strerror or e}", file=fname) from None
    _check_size(len(data), fname, what, max_bytes, error)
    return data


def read_text(path: str | os.PathLike[str], what: str, max_bytes: int,
              error: type[ScenarioError] = ScenarioError) -> str:
    """As ``read_bytes``, decoded as UTF-8 (a byte-order mark dropped); line ends as read."""
    data = read_bytes(path, what, max_bytes, error)
    fname = os.fspath(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise error(f"not UTF-8 text ({e.reason} at byte {e.start}; expected {what})",
                    file=fname, line=line) from None


def _check_size(size: int, fname: str, what: str, max_bytes: int,
                error: type[ScenarioError]) -> None:
    if size > max_bytes:
        raise error(f"too large: {what} may be at most {mb(max_bytes)} (got {mb(size)})",
                    file=fname)
