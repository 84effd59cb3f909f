"""Where a fitted advance block came from: its inputs and their checksums, dates, method, checks."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace


@dataclass(frozen=True, kw_only=True)
class Source:
    """An input file, with the SHA-256 of its bytes when it was read (None: not a file)."""

    file: str
    sha256: str | None = None

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> Source:
        """The file at ``path`` and its checksum now (None where it is not a readable file)."""
        fname = os.fspath(path)
        try:
            h = hashlib.sha256()
            with open(fname, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            return cls(file=fname, sha256=h.hexdigest())
        except OSError:
            return cls(file=fname)


@dataclass(frozen=True, kw_only=True)
class Check:
    """One check of a fit: its name, whether it passed, and its figures in words."""

    name: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class Provenance:
    """How a block was fitted: by which command and ``method``, from which ``inputs``, on data
    from ``since`` to ``until``, and which ``checks`` it passed or failed."""

    tool: str
    method: str
    inputs: tuple[Source, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None
    checks: tuple[Check, ...] = ()

    @property
    def passed(self) -> bool | None:
        """Whether every check passed (None: none was run)."""
        return all(c.passed for c in self.checks) if self.checks else None

    def with_checks(self, checks: Iterable[Check]) -> Provenance:
        """The same record with ``checks`` added."""
        return replace(self, checks=(*self.checks, *checks))

    def to_dict(self) -> dict:
        """Plain values, for JSON."""
        return {
            "tool": self.tool, "method": self.method,
            "inputs": [{"file": s.file, "sha256": s.sha256} for s in self.inputs],
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail}
                       for c in self.checks],
        }
