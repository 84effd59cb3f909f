"""Splits: what a forecaster may be fitted on, for each case it is scored on.

- ``none``: everything (the scenario as written: a backtest scores a model fixed beforehand);
- ``leave_one_town_out``: a reference class without the town scored;
- ``forward``: only data dated up to the origin (a series cut there: nothing later is seen).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

from ..data.observed import ObservedSeries
from ..fitting.reference import ReferenceClass

SPLITS = ("none", "leave_one_town_out", "forward")


def none(data):
    """The data as it is: nothing held out."""
    return data


def leave_one_town_out(cls: ReferenceClass) -> Iterator[tuple[str, ReferenceClass]]:
    """Each town of the class with the class without it: (held-out town, training class)."""
    for town in cls.towns:
        yield town, cls.without(town)


def forward(series: Mapping[str, ObservedSeries], origin: dt.date
            ) -> dict[str, ObservedSeries]:
    """The series as they stood at ``origin``: observations dated on or before it only."""
    return {name: s.between(None, origin) for name, s in series.items()}
