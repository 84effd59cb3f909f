"""How objects show in a notebook: one short line (``repr``) and a small HTML table of the
headline numbers (``_repr_html_``), every piece of user text escaped."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from html import escape

NAME_CHARS = 60  # a name longer than this is cut with "…" in the one-line view


def one_line(text: object, limit: int = NAME_CHARS) -> str:
    """``text`` on one line (whitespace and control characters as single spaces), cut to
    ``limit`` characters."""
    s = re.sub(r"[\s\x00-\x1f\x7f]+", " ", str(text)).strip()
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"


def short(kind: str, name: object, parts: Iterable[str]) -> str:
    """``<Kind name: part, part>``: what ``repr`` shows of a result."""
    return f"<{kind} {one_line(name)}: {', '.join(parts)}>"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 sector``, ``2 sectors``, ``10,000 replications``."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def cell(v: object, digits: int = 3) -> str:
    """A table cell: blank for None or NaN, a float to ``digits`` places, else its text."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def html(title: object, subtitle: str, header: Sequence[str],
         rows: Iterable[Sequence[object]], *, more: int = 0) -> str:
    """A bold title, a line under it and a table, every text escaped; ``more`` rows not shown
    are counted under it."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    tail = f"<p>… and {more:,} more</p>" if more > 0 else ""
    return (f"<div><b>{escape(one_line(title, 200))}</b> {escape(subtitle)}"
            f"<table><tr>{head}</tr>{body}</table>{tail}</div>")


SCORE_HEADER = ("forecast", "CRPS", "cover 50%", "cover 90%", "Brier")


def score_rows(pooled: dict) -> list[tuple]:
    """Pooled scores (``sim.forecast.pooling.pool``, or its JSON) as rows of
    :data:`SCORE_HEADER`: the model, then each baseline."""
    rows = [("model", *(pooled.get(k) for k in ("crps", "coverage_50", "coverage_90",
                                                  "brier")))]
    rows += [(name, *(b.get(k) for k in ("crps", "coverage_50", "coverage_90", "brier")))
             for name, b in (pooled.get("baselines") or {}).items()]
    return rows
