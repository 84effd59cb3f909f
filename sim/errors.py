"""The one root exception of advsim, the scenario error that names file, line and key, and the
checks of the Python API's arguments (each error names the parameter and what it accepts)."""

from __future__ import annotations

import numbers
import os
from typing import Any


class AdvsimError(Exception):
    """Root of every error advsim raises on purpose. ``param`` names the parameter at fault,
    where one is (the message then starts with it): the command line names its flag instead."""

    param: str | tuple[str, ...] | None = None

    def __init__(self, *args: object, param: str | tuple[str, ...] | None = None) -> None:
        super().__init__(*args)
        self.param = param

    @property
    def params(self) -> tuple[str, ...]:
        """The parameters the message names, as written in it (``front_km``, ``kind='area'``)."""
        if self.param is None:
            return ()
        return (self.param,) if isinstance(self.param, str) else tuple(self.param)


class Interrupted(BaseException):
    """A termination signal (SIGTERM, SIGHUP) received while working; like KeyboardInterrupt
    it is not an Exception, so only the outermost layer handles it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)  # args only: SimPy re-raises a process's error as type(e)(*args)
        self.signum = signum

    def __str__(self) -> str:
        return f"signal {self.signum}"


class ScenarioError(AdvsimError):
    """A bad input, located as ``FILE:LINE: key.path: what is wrong (what was expected)``."""

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, key: str = "",
        param: str | tuple[str, ...] | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.key = key
        super().__init__(str(self), param=param)

    def __str__(self) -> str:
        where = self.file or "<scenario>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class ObservedError(ScenarioError):
    """A bad observed series (CSV), located as ``FILE:LINE: column: what is wrong``."""


class ParameterError(AdvsimError, ValueError):
    """An argument of the Python API out of range: names the parameter and what it accepts."""


class ParameterTypeError(AdvsimError, TypeError):
    """An argument of the Python API of the wrong type: names the parameter and what it
    accepts."""


def shown(value: Any, limit: int = 60) -> str:
    """A value as an error shows it: its type and a repr cut to ``limit`` characters."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(value).__name__} {text}" if not isinstance(value, (int, float, str)) \
        or isinstance(value, bool) else text


def whole_number(value: Any, param: str, *, low: int, high: int,
                 none: bool = False) -> int | None:
    """``value`` as an int when it is a whole number (not a bool, a float or text) from
    ``low`` to ``high``, or None where ``none`` allows it; otherwise one ParameterTypeError or
    ParameterError naming ``param``."""
    if value is None and none:
        return None
    accepts = f"a whole number from {low:,} to {high:,}" + (" or None" if none else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterTypeError(f"{param}: expected {accepts} (got {shown(value)})",
                                 param=param)
    if not low <= int(value) <= high:
        raise ParameterError(f"{param}: expected {accepts} (got {int(value):,})", param=param)
    return int(value)


def instance(value: Any, types: type | tuple[type, ...], param: str, accepts: str) -> Any:
    """``value`` when it is one of ``types``; otherwise a ParameterTypeError naming ``param``
    and what it ``accepts``."""
    if not isinstance(value, types):
        raise ParameterTypeError(f"{param}: expected {accepts} (got {shown(value)})",
                                 param=param)
    return value


def paths(value: Any, param: str, what: str = "files") -> list[str]:
    """A list of paths given as a list (or tuple) of str or PathLike; a single path is refused,
    since iterating it would read each of its characters as a file."""
    accepts = f"a list of {what} (str or os.PathLike)"
    if isinstance(value, (str, bytes, os.PathLike)):
        raise ParameterTypeError(f"{param}: expected {accepts}, got the single path "
                                 f"{os.fsdecode(value)!r} (put it in a list: [{value!r}])",
                                 param=param)
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, (str, os.PathLike)) for v in value):
        raise ParameterTypeError(f"{param}: expected {accepts} (got {shown(value)})",
                                 param=param)
    return [os.fspath(v) for v in value]
