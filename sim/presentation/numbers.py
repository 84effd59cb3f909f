"""One way to show a number. The CLI, the reports, the charts and every JSON-to-text view format
what a person reads through these functions, so that one quantity reads the same everywhere:

- a day is a whole day, counted as the date is (day ``n`` is ``start + n`` days; day 1.56 is
  day 1), and a value past the horizon (censored) is :data:`CENSORED`;
- a probability is never rounded to 0 or 1 unless it is exactly that: 0.998 at two decimals is
  ``> 0.99``;
- a p-value is floored at a stated precision (``< 1e-16``);
- a minus sign is ASCII, so what a person copies pastes into code;
- a column of numbers shares its decimals (:func:`column`).

JSON keeps the full values; only what a person reads goes through here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

CENSORED = "> horizon"   # a day or date past the horizon: those replications had not got there
MISSING = "—"            # no value at all (nothing to report), as distinct from censored
P_FLOOR = 1e-16          # below this a p-value is "< 1e-16": float64 cannot say more


def _nan(x: float) -> bool:
    return isinstance(x, float) and math.isnan(x)


def day(d: float | None) -> str:
    """A day from the start as a whole day ("1" for 1.56), or :data:`CENSORED` for ``None``."""
    return CENSORED if d is None or _nan(d) else str(math.floor(d))


def date(start: dt.date, d: float | None) -> str:
    """The date of day ``d`` from ``start`` (the date of :func:`day`), or :data:`CENSORED`."""
    if d is None or _nan(d):
        return CENSORED
    return (start + dt.timedelta(days=math.floor(d))).isoformat()


def probability(p: float | None, digits: int = 2) -> str:
    """``p`` at ``digits`` decimals, never shown as 0 or 1 unless it is exactly that: 0.998 at
    two decimals is "> 0.99", 0.003 is "< 0.01"."""
    if p is None or _nan(p):
        return MISSING
    if p == 0 or p == 1:
        return f"{p:.0f}"
    step = 10.0 ** -digits
    if round(p, digits) >= 1:
        return f"> {1 - step:.{digits}f}"
    if round(p, digits) <= 0:
        return f"< {step:.{digits}f}"
    return f"{p:.{digits}f}"


def probability_range(low: float, high: float, digits: int = 2) -> str:
    """Two probabilities as a range, "0.12–0.20", at ``digits`` decimals (one value where both
    show the same)."""
    lo, hi = (f"{x:.{digits}f}" for x in sorted((low, high)))
    return lo if lo == hi else f"{lo}–{hi}"


def pvalue(p: float | None) -> str:
    """A test's p-value with its relation: "= 0.032", "= 3.2e-05", "< 1e-16"."""
    if p is None or _nan(p):
        return MISSING
    if p < P_FLOOR:
        return f"< {P_FLOOR:.0e}"
    return f"= {p:.2g}" if p < 0.001 else f"= {p:.3f}"


def signed(x: float | None, digits: int) -> str:
    """``x`` with its sign always shown, an ASCII minus and thousands separators: "+1,234.5"."""
    return MISSING if x is None or _nan(x) else f"{x:+,.{digits}f}"


def km(x: float | None) -> str:
    """A distance or an advance in km, to 0.1 km: "1.3"."""
    return MISSING if x is None or _nan(x) else f"{x:,.1f}"


def km2(x: float | None) -> str:
    """An area in km², to 1 km² from 100 km² up, else to 0.1 km²."""
    if x is None or _nan(x):
        return MISSING
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"


def decimals_for(values: Sequence[float | None], sig: int = 3) -> int:
    """The decimals that give the largest finite value of ``values`` ``sig`` significant figures
    (at least 0): the decimals a column of them shares."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    if not finite:
        return 0
    return max(0, sig - 1 - math.floor(math.log10(max(finite))))


def column(values: Sequence[float | None], sig: int = 3, *, sign: bool = False) -> list[str]:
    """A column of numbers with shared decimals (see :func:`decimals_for`), thousands separated,
    ASCII minus, :data:`MISSING` for an absent value: [0.153, 2.1] gives ["0.15", "2.10"]."""
    k = decimals_for(values, sig)
    spec = f"{'+' if sign else ''},.{k}f"
    return [MISSING if v is None or _nan(v) else format(v, spec) for v in values]


def number(x: float | None, sig: int = 3) -> str:
    """One number to ``sig`` significant figures, without exponent below 10**(sig + 3), thousands
    separated: 25000.0 is "25,000", 0.1534 is "0.153", 2.0 is "2"."""
    if x is None or _nan(x):
        return MISSING
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    digits = max(0, sig - 1 - math.floor(math.log10(abs(x))))
    if abs(x) >= 10 ** (sig + 3):
        return f"{x:.{sig - 1}e}"
    text = f"{round(x, digits):,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def same(values: Sequence[str]) -> str | None:
    """The one value every cell of a row shows, or ``None`` if they differ: a table prints a row
    of one repeated value once ("1.3 at every checkpoint")."""
    return values[0] if values and all(v == values[0] for v in values) else None
