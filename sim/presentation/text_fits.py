"""The text reports of the path from maps to a model: a trace, a calibration, a reference
class and the advance fitted to it (its YAML through the scenario writer)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..errors import AdvsimError
from . import numbers as N
from .text import table

if TYPE_CHECKING:
    from ..data.trace import Trace
    from ..fitting.calibrate import Calibration


def format_calibration(cal: Calibration) -> str:
    """The human-readable report of ``advsim calibrate``."""
    import numpy as np

    from ..fitting.calibrate import MIN_INCREMENTS, ZeroInflatedFit

    f, inc, s = cal.fit, cal.increments, cal.series
    what = cal.kind + (f", front {inc.front_km:g} km" if inc.front_km is not None else "")
    out = [
        f"{s.sector} ({what}): {len(s)} observations from {s.dates[0]} to {s.dates[-1]} "
        f"({int(inc.gap_days.sum())} days, {f.n} increment{'s' * (f.n != 1)}) in {s.file}",
    ]
    if cal.zero_inflated:
        out += [
            "Model: zero-inflated daily advances: on a day the attacker moves with probability",
            "`p_move`, by a gamma amount (mean rate/p_move, coefficient of variation `cv`); over",
            "Δ days P(no advance) = (1 − p_move)^Δ, else a mixture over the moving days k of",
            "Binomial(k; Δ, p_move) × Gamma(shape k/cv²).",
        ]
    else:
        out += [
            "Model: independent daily advances, gamma with mean `rate` and coefficient of "
            "variation",
            "`cv`; over a gap of Δ days the advance is Gamma(shape Δ/cv², scale rate·cv²).",
        ]
    if inc.merged or cal.zero_inflated:
        out.append(cal.gaps_line())
    rows = [["rate, m/day", f"{f.rate_m_per_day:.4g}",
             f"{f.rate_ci[0]:.4g} – {f.rate_ci[1]:.4g}", f.interval_method]]
    if inc.front_km is not None:
        lo, hi = (cal.km2_per_day(x) for x in f.rate_ci)
        rows.append(["rate, km²/day", f"{cal.km2_per_day(f.rate_m_per_day):.4g}",
                     f"{lo:.4g} – {hi:.4g}", ""])
    if isinstance(f, ZeroInflatedFit):
        rows.append(["p_move (share of days moving)", f"{f.p_move:.3g}",
                     f"{f.p_move_ci[0]:.3g} – {f.p_move_ci[1]:.3g}", "Wald, logit scale"])
    rows.append(["cv of a moving day" if cal.zero_inflated else "daily cv", f"{f.cv:.3g}",
                 "fixed (--cv)" if f.cv_ci is None else f"{f.cv_ci[0]:.3g} – {f.cv_ci[1]:.3g}",
                 "" if f.cv_fixed else f.interval_method])
    out += ["", *table(["", "estimate", "95% interval", "method"], rows, indent="  ")]
    out += ["", "Goodness of fit (each increment's PIT under the fit; uniform if the model holds):"]
    if f.ks_pvalue is None:
        out.append(f"  not assessed: {f.n} increment{'s' * (f.n != 1)} (needs {MIN_INCREMENTS})")
    else:
        counts = np.histogram(f.pit, bins=5, range=(0, 1))[0]
        out.append(f"  PIT histogram (5 bins): {' '.join(str(c) for c in counts)}"
                   + (" (randomised where nothing moved)" if cal.zero_inflated else ""))
        out.append(f"  Kolmogorov–Smirnov against uniform: D = {f.ks_statistic:.3f}, "
                   f"p {N.pvalue(f.ks_pvalue)} (conservative: the parameters come from the "
                   "same data)")
        if f.lag1 is not None:
            out.append(f"  lag-1 autocorrelation of the increments' normal scores: "
                       f"{N.signed(f.lag1, 2)} (p {N.pvalue(f.lag1_pvalue)})")
        out.append(
            "  the fit check REJECTS the model at the 5% level: the increments do not look like "
            "independent draws of it" if cal.rejected else
            "  no evidence against the model at the 5% level"
        )
    if cal.rejected:
        out += ["", "Not a model of this series: the pace changed within the window, or good and "
                    "bad days come in runs.",
                "Try: regimes (advance.regimes: stalled / grinding / breakthrough states with "
                "their sojourn times),",
                "a shorter window (--since, --until) over one phase, or a reference class of "
                "earlier approaches",
                "for the campaign-level rate. The block below reproduces the fitted mean and "
                "spread only:",
                "", "Fitted advance block (rejected by the fit check; not for use as it is):", "",
                *("  " + ln for ln in cal.advance_yaml().splitlines())]
        return "\n".join(out)
    out += ["", "Fitted advance block (paste into the sector):", "",
            *("  " + ln for ln in cal.advance_yaml().splitlines())]
    return "\n".join(out)


# -- trace --------------------------------------------------------------------------------------


def _opt(x: float | None, fmt: str) -> str:
    return "" if x is None else format(x, fmt)


def _header(result: Trace) -> list[str]:
    snaps = result.snapshots
    span = f"{snaps[0]['date']} to {snaps[-1]['date']}" if snaps else "none"
    out = [f"{len(snaps)} snapshot{'s' * (len(snaps) != 1)}, map dates {span}",
           f"Conventions: {_conventions(result)} (what they mean: advsim trace --help)"]
    if result.places:
        out.append(f"Attacker-held: {', '.join(result.attacker_held)}")
    out.append(f"Invalid polygons repaired: {result.repaired}")
    return out


def _conventions(result: Trace) -> str:
    """The trace's date and contested-area conventions by name; what they mean is in
    ``advsim trace --help`` and the JSON."""
    contested = f", --contested {result.contested}" if result.places else ""
    return f"--date-convention {result.date_convention}{contested}"


def format_trace(result: Trace) -> str:
    """The readable report: a table per place and per layer."""
    out = _header(result)
    r_km = f"{result.radius_km:g}"
    for place, series in result.places.values():
        out += ["", f"{place.name} ({place.lat:.4f} N, {place.lon:.4f} E), sector {place.slug}: "
                    "distance to attacker-held territory (negative: inside it)"]
        rows = [[r["date"], _opt(r["distance_km"], ".2f") or "none",
                 _opt(r["held_km2_within_radius"], ".1f"), _opt(r["front_km_within_radius"],
                                                               ".1f"), r["snapshot"]]
                for r in series]
        out += table(["map date", "distance km", f"held km² ≤{r_km} km",
                      f"contact line km ≤{r_km} km", "snapshot"], rows, indent="  ")
    for name, series in result.areas.items():
        out += ["", f"{name}: area of the layer (equal-area, EPSG:3035)"]
        rows = [[r["date"], _opt(r["area_km2"], ".1f"), r["snapshot"]] for r in series]
        out += table(["map date", "area km²", "snapshot"], rows, indent="  ")
    return "\n".join(out)


def format_summary(result: Trace, *, output: str | None, chart: str | None) -> str:
    """One line per series (first and last value) and what was written."""
    from ..data.observed import trace_rows

    out = _header(result)
    for place, series in result.places.values():
        known = [r for r in series if r["distance_km"] is not None]
        if known:
            a, b = known[0], known[-1]
            out.append(f"  {place.slug}: {a['distance_km']:.2f} km on {a['date']} -> "
                       f"{b['distance_km']:.2f} km on {b['date']} ({len(known)} dates)")
    for name, series in result.areas.items():
        a, b = series[0], series[-1]
        out.append(f"  {name}: {a['area_km2']:.1f} km² on {a['date']} -> "
                   f"{b['area_km2']:.1f} km² on {b['date']}")
    if output:
        out.append(f"Wrote {output} ({len(trace_rows(result))} rows: date,sector,value,frame,...)")
    if chart:
        out.append(f"Drew {chart}")
    return "\n".join(out)


def format_scenario(result: Trace, start: dt.date | None = None) -> str:
    """Axis-sector YAML blocks, one per place, whose ``length_km`` is the distance on
    ``start`` (default: the last map date), from the last snapshot on or before it."""
    from ..model.scenario import OBSERVED_DAYS
    from ..model.writer import comment_lines, dump_data, observed_data

    if not result.places:
        raise AdvsimError("scenario blocks need places to build axes to (none given)",
                          param="places")
    days = [r["date"] for r in result.snapshots]
    start_s = start.isoformat() if start else days[-1]
    out = comment_lines(f"advsim trace: axis sectors for a scenario starting {start_s}; paste "
                        "under sectors: and add forces and advance (advsim calibrate prints an "
                        "advance block)")
    for place, series in result.places.values():
        before = [r for r in series if r["date"] <= start_s and r["distance_km"] is not None]
        if not before:
            raise AdvsimError(f"start {start_s}: no snapshot of {place.name} on or before it "
                              f"(the map dates run {days[0]} to {days[-1]})", param="start")
        r = before[-1]
        where = (f"distance from attacker-held territory to {place.name} "
                 f"({place.lat:.4f}, {place.lon:.4f}) on map date {r['date']}, snapshot "
                 f"{r['snapshot']} (file date {r['file_date']}; {r['source']})")
        if r["distance_km"] <= 0:
            out += ["", *comment_lines(
                f"{place.slug}: no axis: {place.name} is already inside attacker-held territory "
                f"({r['distance_km']:.2f} km) on {r['date']}, snapshot {r['snapshot']}")]
            continue
        stub = {"kind": "axis", "length_km": round(float(r["distance_km"]), 2),
                "objective": {"name": place.name}}
        notes: dict[tuple, str] = {(place.slug, "length_km"): f"advsim trace: {where}"}
        since = (dt.date.fromisoformat(r["date"]) - dt.timedelta(days=OBSERVED_DAYS)).isoformat()
        history = [x for x in before  # the last year, while the place stood outside
                   if x["date"] >= since and x["distance_km"] >= 0]
        if history:
            traced, snaps = _traced(place, history)
            stub["observed"] = observed_data(traced, "distance_km")
            for i, snap in enumerate(snaps):
                notes[(place.slug, "observed", "points", i)] = f"snapshot {snap}"
        out += ["", dump_data({place.slug: stub}, after=notes).rstrip("\n")]
    return "\n".join(out)


def _traced(place, rows: list[dict]):
    """A place's traced distances (km from it, rows oldest first) as a scenario's
    ``observed:`` history, and the snapshot of each point kept."""
    from ..model.scenario import Observed

    source = (f"advsim trace: distance from attacker-held territory to {place.name}, "
              f"{rows[0]['source']}")
    picked = Observed.thinned(source, [dt.date.fromisoformat(x["date"]) for x in rows],
                              [round(float(x["distance_km"]), 3) for x in rows])
    return picked, [x["snapshot"] for x in rows if dt.date.fromisoformat(x["date"])
                    in set(picked.dates)]


# -- reference classes ------------------------------------------------------------------------


def format_reference(cls) -> str:
    """``advsim reference show``: the class as a person reads it."""
    import numpy as np

    from ..fitting.reference import (
        STALL_M_PER_DAY,
        STALL_MIN_DAYS,
        STATES,
        SURGE_M_PER_DAY,
        km_by_band,
        spell_stats,
        window_paces,
    )

    origins = cls.origins()
    fell = sum(a.fell for a in cls.approaches)
    out = [f"Reference class: {len(cls.approaches)} towns approached within "
           f"{cls.within_km:g} km, observations on or before {cls.until}"]
    out += [f"  source: {s.get('file', '?')} (sha256 {str(s.get('sha256', '?'))[:12]}…)"
            for s in cls.sources]
    out += ["", "  Approaches (from the first observation within range to the fall, or to "
            f"{cls.until}):"]
    rows = [[a.town, a.entered.isoformat(), a.last.isoformat(),
             str((a.last - a.entered).days), N.km(a.remaining_km[a.start]),
             "fell" if a.fell else "standing (censored)"] for a in cls.approaches]
    out += table(["town", "from", "to", "days", "km at entry", "outcome"], rows)
    out += ["", f"  {fell} of {len(cls.approaches)} fell; {len(origins)} origins (observations "
            f"within range, town standing), {sum(o.fell for o in origins)} of them followed "
            "by a fall.", "",
            "  Days to fall from an origin, by distance remaining (Kaplan–Meier over origins, "
            f"censored at {cls.until}):"]
    rows = []
    for (lo, hi), sel, km in km_by_band(origins):
        rows.append([f"{lo:g}–{hi:g} km", str(len(sel)), str(len({o.town for o in sel})),
                     str(km.events), N.day(km.quantile(0.25)), N.day(km.quantile(0.5)),
                     N.day(km.quantile(0.75)), str(km.last_day)])
    out += table(["remaining", "origins", "towns", "fell", "P25", "median", "P75",
                  "follow-up"], rows)
    out += [f"    ({N.CENSORED}: not reached within the follow-up; origins of one town are "
            "correlated)", ""]
    rows = []
    for w in (30, 90, 180):
        p = window_paces(cls, w)
        if p.size:
            q = np.percentile(p, [10, 25, 50, 75, 90])
            rows.append([f"{w} days", str(p.size), *(f"{v:.0f}" for v in q),
                         f"{np.mean(p <= STALL_M_PER_DAY):.0%}"])
    if rows:
        out.append("  Pace over windows (m/day of distance closed):")
        out += table(["window", "windows", "P10", "P25", "median", "P75", "P90",
                      f"under {STALL_M_PER_DAY:g}"], rows)
        out.append("")
    spells = cls.spells()
    steps = cls.steps()
    gaps = [s.days for s in steps]
    out.append(f"  Spells: runs of map steps ({min(gaps)}–{max(gaps)} days each) in one state. "
               f"Standing still: |pace| < {STALL_M_PER_DAY:g} m/day;")
    out.append(f"  grinding: {STALL_M_PER_DAY:g} to {SURGE_M_PER_DAY:g}; surging: "
               f"≥ {SURGE_M_PER_DAY:g}; setback: the distance grew by ≥ {STALL_M_PER_DAY:g} "
               f"m/day. A stall: standing still ≥ {STALL_MIN_DAYS} days.")
    rows = []
    total = sum(gaps)
    for st in (*STATES, "stall"):
        s = (spell_stats(spells, "stalled", STALL_MIN_DAYS) if st == "stall"
             else spell_stats(spells, st))
        if s is None:
            continue
        share = ("" if st == "stall"
                 else f"{sum(x.days for x in steps if x.state == st) / total:.0%}")
        rows.append([f"stalls (≥ {STALL_MIN_DAYS} d)" if st == "stall" else st, str(s.spells),
                     str(s.censored), f"{s.days_median:.0f}", f"{s.days_p90:.0f}",
                     str(s.days_max), f"{s.pace_m_per_day:.0f}", share])
    out += table(["state", "spells", "censored", "median days", "P90 days", "longest",
                  "pace m/day", "of time"], rows)
    return "\n".join(out)


def format_fit(fit, checks, *, class_file: str, command: str) -> str:
    """``advsim reference fit``: the paste-ready advance block with its provenance."""
    from .. import __version__
    from ..model.writer import dump

    towns = ", ".join(fit.towns)
    lines = [
        f"Fitted by advsim {__version__}: {command}",
        f"class: {class_file} ({len(fit.towns)} towns, observations on or before "
        f"{fit.until}, approaches within {fit.within_km:g} km): {towns}",
        *(f"input: {s.file}" + (f" (sha256 {s.sha256})" if s.sha256 else "")
          for s in fit.provenance.inputs),
        "method: map steps classified by pace into regimes; factors = pooled pace / grinding "
        "pace; sojourns lognormal by",
        "censored maximum likelihood; base = lognormal across "
        f"{len(fit.town_rates)} towns' own rates; noise = step spread scaled to a day",
        "town rates (m/day, grinding-equivalent): "
        + ", ".join(f"{t} {r:.0f}" for t, r in fit.town_rates.items()),
    ]
    lines += [f"{r.name}: {r.spells} spells ({r.censored} censored), {r.days} days; "
              f"sojourn {r.method}" for r in fit.regimes]
    if checks:
        lines.append("fit check, days-to-fall simulated from the class's origins vs its "
                     "Kaplan-Meier curve (largest CDF gap; passes within the gap")
        lines.append("that resampling the class's towns makes, its 95th percentile):")
        lines += [f"  {c.band_km[0]:g}-{c.band_km[1]:g} km: gap {c.max_gap:.3f} "
                  f"({'pass' if c.passed else 'FAIL'} at {c.tolerance:.3f}); median days KM "
                  f"{N.day(c.km_median_days)}, simulated {N.day(c.sim_median_days)} "
                  f"({c.simulated_origins} of {c.origins} origins)" for c in checks]
    lines.append("initial: the regime the class spends most days in; set it to the regime "
                 "of the sector's last observed step.")
    return dump(fit.block(), comments=lines).rstrip("\n")
