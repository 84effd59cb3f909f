"""The one root exception of advsim and the scenario error that names file, line and key."""

from __future__ import annotations


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
