"""advsim: discrete-event Monte Carlo projections of how fast a front line advances."""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import AdvsimError, ScenarioError  # noqa: E402
from .outcomes import Result  # noqa: E402
from .runner import simulate  # noqa: E402


def load_scenario(path, overrides=()):
    """Load and validate a scenario file; ``overrides`` are ``key.path=value`` strings."""
    from .loader import load_scenario as _load

    return _load(path, overrides)


__all__ = ["AdvsimError", "Result", "ScenarioError", "__version__", "load_scenario", "simulate"]
