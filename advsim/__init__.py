"""advsim: the public name of the package ``sim``, the same objects under the distribution's name.

``import advsim; advsim.simulate(...)`` and ``from advsim import load_scenario`` give exactly
what ``sim`` gives (``advsim.simulate is sim.simulate``), loaded as lazily; the modules stay
under ``sim`` (``sim.model.builder``, ``sim.fitting.calibrate``).
"""

from __future__ import annotations

import sim as _sim
from sim import AdvsimError as AdvsimError
from sim import ObservedError as ObservedError
from sim import ParameterError as ParameterError
from sim import ParameterTypeError as ParameterTypeError
from sim import ScenarioError as ScenarioError
from sim import __version__ as __version__

__all__ = list(_sim.__all__)


def __getattr__(name: str):
    # The lazy names of ``sim``, imported there on first use and shared, never copied.
    return getattr(_sim, name)


def __dir__() -> list[str]:
    return dir(_sim)
