"""Key paths into nested input values, and the words located errors use for keys and values.

The scenario loader, sweep specs and observed series name what is wrong in the same terms: a
dotted key path, "did you mean" for a misspelt name, what kind of value was found, and the
value itself. Only the standard library is imported here.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Iterator
from typing import Any

KeyPath = tuple[Any, ...]


def dotted(path: KeyPath) -> str:
    """``sectors.kursk.forces``: a key path as ``--set`` addresses it."""
    # A key with a line break or another control character is shown quoted, so that the error
    # stays on one line.
    return ".".join(str(p) if str(p).isprintable() else repr(p) for p in path)


def did_you_mean(word: Any, known: Iterable[Any]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known``, or nothing."""
    close = difflib.get_close_matches(str(word), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def is_number(v: Any) -> bool:
    """An int or a float, not a boolean."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def kind_of(v: Any) -> str:
    """What a value is, for "expected X, got ..." (``a number (3)``, ``a list``)."""
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return f"a boolean ({v})"
    if is_number(v):
        return f"a number ({v})"
    if isinstance(v, str):
        return f"a text ({v!r})" if len(v) < 30 else "a text"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return type(v).__name__


def brief(v: Any) -> str:
    """A bad value as Python shows it, cut to 40 characters; only that much of it is ever
    shown, so a value that aliases expand to gigabytes costs no more than a small one."""
    out: list[str] = []
    size = 0
    for piece in _pieces(v):
        out.append(piece)
        size += len(piece)
        if size > 40:
            break
    text = "".join(out)
    return text if len(text) <= 40 else text[:37] + "..."


def _pieces(v: Any) -> Iterator[str]:
    """``repr(v)`` in pieces, lazily."""
    if isinstance(v, dict):
        yield "{"
        for i, (k, x) in enumerate(v.items()):
            yield ", " if i else ""
            yield from _pieces(k)
            yield ": "
            yield from _pieces(x)
        yield "}"
    elif isinstance(v, list):
        yield "["
        for i, x in enumerate(v):
            yield ", " if i else ""
            yield from _pieces(x)
        yield "]"
    elif isinstance(v, str):
        yield repr(v[:80])[:-1] + "..." if len(v) > 80 else repr(v)
    elif isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 128:
        yield f"{'-' if v < 0 else ''}<a whole number of about {_digits(v):,} digits>"
    else:
        yield repr(v)


def _digits(v: int) -> int:
    return int(abs(v).bit_length() * 0.30103) + 1


def printable(text: str, limit: int | None = None) -> str:
    """``text`` if it prints on one line, else as Python quotes it (``'a\\nb'``); cut to
    ``limit`` characters."""
    shown = text if text.isprintable() else repr(text)
    if limit is not None and len(shown) > limit:
        shown = shown[: limit - 3] + "..."
    return shown


_ISO_DATE = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})\s*")


def iso_date(v: Any) -> dt.date | None:
    """A date written as text ``YYYY-MM-DD`` (as JSON must write it), or None."""
    if not isinstance(v, str) or len(v) > 40:
        return None
    m = _ISO_DATE.fullmatch(v)
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def show(v: Any) -> str:
    """A good value as the user would write it: dates as YYYY-MM-DD, floats without noise."""
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return f"{v:g}"
    return repr(v) if isinstance(v, str) else str(v)


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be one key of a key path (it is empty, holds a dot, or starts or
    ends with a space), or None if it can."""
    if not name.strip():
        return "is empty"
    if not name.isprintable():  # a line break, ESC, a right-to-left override...
        return "contains a control character"
    if "." in name:
        return "contains a dot"
    if name != name.strip():
        return "starts or ends with a space"
    return None
