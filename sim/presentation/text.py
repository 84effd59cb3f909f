"""Every text report advsim prints: of a run, a comparison, a sweep and a backtest, as plain
tables for terminals and for pasting."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

from ..errors import AdvsimError

if TYPE_CHECKING:
    from ..data.trace import Trace
    from ..fitting.calibrate import Calibration
    from ..forecast.backtest import Backtest
    from ..running.outcomes import Result


def _day(d: float | None) -> str:
    return "> horizon" if d is None else f"{int(d // 1)}"


def _date(start: dt.date, d: float | None) -> str:
    return "—" if d is None else (start + dt.timedelta(days=int(d // 1))).isoformat()


def table(header: list[str], rows: list[list[str]], indent: str = "    ") -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    def line(r: list[str]) -> str:
        return indent + "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
        ).rstrip()
    return [line(header), *[line(r) for r in rows]]


def format_run(result: Result, summary: dict | None = None) -> str:
    """The human-readable report of ``advsim run`` (``summary``: the result's, if at hand)."""
    summary = summary or result.summary()
    start = dt.date.fromisoformat(summary["start"])
    h = summary["horizon_days"]
    out = [
        f"{summary['scenario']}",
        f"{summary['replications']:,} replications · seed {summary['seed']} · "
        f"from {summary['start']} over {h} days (to {_date(start, h)})",
    ]
    for name, s in summary["sectors"].items():
        obj = s["objective"]
        sector = result.scenario.sector(name)
        out += ["", f"{name}: {sector.headline()}"]
        p, se = obj["prob_reached"], obj["prob_reached_se"]
        out.append(f"  P({obj['name']} within {h} days) = {p:.3f} (MC s.e. {se:.1g})")
        rows = []
        for k, d in obj["day"].items():
            e = obj["day_se"].get(k)
            rows.append([k.upper(), _day(d), _date(start, d),
                         "" if e is None or d is None else f"± {e:.1f}"])
        out.append(f"  Day the objective is reached ({obj['name']}):")
        out += table(["", "day", "date", "MC s.e."], rows)

        prog = s[sector.progress_name]
        out.append(f"  {sector.progress_label}, by day:")
        header = [""] + [f"day {d}" for d in prog["days"]]
        pkeys = [k for k in prog if k != "days"]
        out += table(header, [[k.upper(), *[f"{v:,.1f}" for v in prog[k]]] for k in pkeys])
        if s["milestones"]:
            out.append("  Milestones:")
            rows = []
            for mname, m in s["milestones"].items():
                d = m["day"]
                rows.append([mname, f"{m['prob_reached']:.3f}",
                             *[_date(start, d.get(q)) for q in ("p10", "p50", "p90")]])
            out += table(["", "P(reached)", "P10 date", "P50 date", "P90 date"], rows)
        loss = s["losses"]
        out.append(
            f"  Losses (mean): attacker {loss['attacker']['mean']:,.0f}, "
            f"defender {loss['defender']['mean']:,.0f}"
        )
    return "\n".join(out)


def _signed(x: float | None, digits: int) -> str:
    return "—" if x is None else f"{x:+,.{digits}f}".replace("-", "−")


def _ci(ci: list | None, digits: int) -> str:
    if ci is None:
        return ""
    return "[" + ", ".join("…" if v is None else _signed(v, digits) for v in ci) + "]"


def format_compare(result: dict) -> str:
    """The human-readable report of ``advsim compare``: readings first, then the tables."""
    runs = result["runs"]
    labels = [r["label"] for r in runs]
    h = result["horizon_days"]
    out = [f"Comparing {len(runs)} runs; differences are later runs minus the first "
           f"({labels[0]}):"]
    for r in runs:
        what = ", ".join(r["overrides"]) if r["overrides"] else "as in the scenario file"
        if r["point"] is not None:
            what = f"sweep point {r['point']}"
        out.append(f"  {r['label']}: {r['path']}")
        out.append(f"     {r['scenario']} · {r['replications']:,} replications · seed {r['seed']}"
                   f" · {r['horizon_days']} days from {r['start']} · {what}")
    paired = {c["paired"] for s in result["sectors"].values() for c in s["comparisons"]}
    how = ("paired by replication (same seed and replications: replication i of each run "
           "starts from the same random streams)" if paired == {True} else
           "independent resamples of each run" if paired == {False} else
           "paired where runs share seed and replications, else independent")
    b = result["bootstrap"]
    out += ["", "Readings", *[f"  {name}: {c['reading']}"
                              for name, s in result["sectors"].items()
                              for c in s["comparisons"]],
            f"  [...]: 95% bootstrap interval, {b['resamples']:,} resamples, {how}.",
            f"  P(reach): the probability of reaching the objective within {h} days; "
            "…: a bound beyond the horizon."]

    for name, s in result["sectors"].items():
        obj = s["objective_day"]
        out += ["", f"{name}: day {s['objective']} is reached (censored past day {h})"]
        header = [""] + [f"{lab} {w}" for lab in labels for w in ("day", "date")]
        rows = []
        for k in obj["runs"][0]:
            row = [k.upper()]
            for r, q in zip(runs, obj["runs"]):
                start = dt.date.fromisoformat(r["start"])
                row += [_day(q[k]), _date(start, q[k])]
            rows.append(row)
        rows.append(["P(reach)", *[c for p in obj["prob_reached"] for c in (f"{p:.3f}", "")]])
        out += table(header, rows)
        for c in s["comparisons"]:
            lab = labels[c["run"]]
            out.append(
                f"  {lab} − {labels[0]}: median {_signed(c['median_diff_days'], 1)} days "
                f"{_ci(c['median_diff_ci95'], 1)}; P(reach) "
                f"{_signed(c['prob_reached_diff'], 3)} {_ci(c['prob_reached_diff_ci95'], 3)}; "
                f"KS D = {c['ks_stat']:.3f}, p = {c['ks_pvalue']:.2g}"
            )
        key = "advance_km" if "advance_km" in s else "held_km2"
        prog = s[key]
        if prog["days"]:
            label = "Advance, km" if key == "advance_km" else "Held area, km²"
            out.append(f"  {label}, by day (median and P10–P90):")
            header = ["", *labels, *[f"{labels[c['run']]} − {labels[0]} median [95%]"
                                     for c in s["comparisons"]]]
            rows = []
            for i, d in enumerate(prog["days"]):
                row = [f"day {d}"]
                for q in prog["runs"]:
                    row.append(f"{q['p50'][i]:,.1f} ({q['p10'][i]:,.1f}–{q['p90'][i]:,.1f})")
                for c in s["comparisons"]:
                    row.append(f"{_signed(c['progress_median_diff'][i], 2)} "
                               f"{_ci(c['progress_median_diff_ci95'][i], 2)}")
                rows.append(row)
            out += table(header, rows)
    return "\n".join(out)


def _num(v: float | None, fmt: str) -> str:
    return "—" if v is None or v != v else fmt.format(v)


def _interval(lo: float | None, hi: float | None, fmt: str) -> str:
    if lo is None or hi is None or lo != lo or hi != hi:
        return ""
    return f"[{fmt.format(lo)}, {fmt.format(hi)}]"


def format_sweep(summary: dict, *, wall_seconds: float, computed: int) -> str:
    """The human-readable report of ``advsim sweep``: what was swept, and the parameters ranked
    by their influence on each headline metric."""
    n = summary["points"]
    how = {"grid": "grid", "lhs": "Latin hypercube", "sobol": "Sobol (Saltelli) design"}
    out = [
        summary["sweep"],
        f"{how[summary['method']]} of {n:,} points · {summary['replications']:,} replications "
        f"each · seed {summary['seed']}",
    ]
    for path, spec in summary["parameters"].items():
        if isinstance(spec, dict):
            scale = ", log scale" if spec.get("log") else ""
            out.append(f"  {path}: {spec['low']} … {spec['high']}{scale}")
        else:
            out.append(f"  {path}: {', '.join(str(v) for v in spec)}")
    sobol = summary["method"] == "sobol"
    out += ["", "Parameters ranked by influence on each metric:"]
    if sobol:
        out.append("  ST total and S1 first-order Sobol indices with 95% bootstrap intervals; "
                   "PRCC partial rank correlation")
    else:
        out.append("  PRCC: partial rank correlation, -1 to +1, with a 95% interval")
    table = summary["table"]
    for metric in summary["metrics"]:
        values = [row[metric] for row in table]
        finite = [v for v in values if v is not None]
        spread = f"{min(finite):,.3g} … {max(finite):,.3g}" if finite else "beyond the horizon"
        if finite and len(finite) < len(values):
            spread += " or beyond the horizon"
        out += ["", f"  {metric}: {spread} across points"]
        header = ["", "parameter", "PRCC", "95% interval"]
        if sobol:
            header = ["", "parameter", "ST", "interval", "S1", "interval", "PRCC", "interval"]
        rows, note = [], ""
        for r in summary["sensitivity"]:
            if r["metric"] != metric:
                continue
            note = r["note"] or note
            prcc = [_num(r["prcc"], "{:+.2f}"), _interval(r["prcc_low"], r["prcc_high"], "{:+.2f}")]
            cells = [f"{r['rank']}.", r["parameter"]]
            if sobol:
                for k in ("sobol_total", "sobol_first"):
                    cells += [_num(r[k], "{:.2f}"),
                              _interval(r[f"{k}_low"], r[f"{k}_high"], "{:.2f}")]
            rows.append(cells + prcc)
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            cells = [c.rjust(w) if i != 1 else c.ljust(w)
                     for i, (c, w) in enumerate(zip(row, widths))]
            out.append(("    " + "  ".join(cells)).rstrip())
        if note:
            out.append(f"    ({note})")
    out += ["", f"Results: {summary['results_dir']}  ({wall_seconds:.2f} s; "
                f"{computed:,} of {n:,} points computed now)"]
    return "\n".join(out)


# -- backtest ------------------------------------------------------------------------------------


def format_backtest(bt: Backtest) -> str:
    """The human-readable report of ``advsim backtest`` (one origin)."""
    s = bt.summary()
    out = [
        f"Backtest of {s['scenario']} against {s['observed']}",
        f"{s['replications']:,} replications · seed {s['seed']} · from {s['start']} over "
        f"{s['horizon_days']} days",
        "Baselines: " + "; ".join(s["baselines"].values()),
    ]
    for name, r in s["sectors"].items():
        bases = r["baselines"]
        p, t = bases["persistence"], bases["trailing_rate"]
        n = r["n_obs"]
        unit = bt.sectors[name].sector.unit
        when = (f"on {r['dates'][0]}" if n == 1 else f"from {r['dates'][0]} to {r['dates'][-1]}")
        out += ["", f"{name} ({r['kind']}, {r['unit']}): {n} observation date{'s' * (n != 1)} "
                    f"after the start, {when}"]
        rows = [
            [f"CRPS (fair), {unit}", *(f"{x['crps']:.4g}" for x in (r, p, t))],
            [f"WIS (23 quantiles), {unit}", *(f"{x['wis']:.4g}" for x in (r, p, t))],
            ["coverage of the 50% band", *(_share(x["coverage_50"], n) for x in (r, p, t))],
            ["coverage of the 90% band", *(_share(x["coverage_90"], n) for x in (r, p, t))],
            [f"Brier: {r['objective']} by the date", *(f"{x['brier']:.3f}" for x in (r, p, t))],
            ["PIT histogram (10 bins)", *(_spark(x["pit_histogram"]) for x in (r, p, t))],
        ]
        out += table(["", "model", "persistence", "trailing rate"], rows, indent="  ")
        for label, b in (("persistence", p), ("the trailing rate", t)):
            skill = b["crps_skill"]
            if skill is not None:
                verdict = "beats" if skill > 0 else "does not beat"
                out.append(f"  CRPS skill against {label}: {skill:+.2f} (the model {verdict} "
                           f"{label}; 1 is perfect)")
        fell = r["objective_fell_observed"]
        out.append(f"  {r['objective']}: " + (f"observed fallen by {fell}" if fell else
                                              "not observed fallen"))
        out.append(f"  persistence: {p['method']}")
        out.append(f"  trailing rate: {t['method']}")
        bands = r["bands"]
        rows = [[d, str(day), f"{y:,.1f}", *(f"{bands[k][i]:,.1f}" for k in bands),
                 f"{r['pit'][i]:.2f}", f"{r['crps_by_date'][i]:.3g}"]
                for i, (d, day, y) in enumerate(zip(r["dates"], r["days"], r["observed"]))]
        out += ["", *table(["date", "day", "observed", *(k.upper() for k in bands), "PIT",
                             "CRPS"], rows, indent="  ")]
    if s["notes"]:
        out += ["", *(f"Note: {n}" for n in s["notes"])]
    return "\n".join(out)


def note_text(n) -> str:
    """A backtest's note (``sim.forecast.notes.Note``) in words."""
    from ..forecast import notes as N

    d, who = n.detail, f"{n.sector}: " if n.sector else ""
    words = {
        N.UNUSED_SERIES: lambda: "not in the scenario, not scored: "
                                 + ", ".join(d.get("names", ())),
        N.NONE_AFTER_START: lambda: f"no observation after the start {d.get('start')}, not scored",
        N.ALL_AFTER_HORIZON: lambda: "every observation lies after the horizon "
                                     f"({d.get('horizon_days')} days), not scored",
        N.AFTER_HORIZON: lambda: f"{n.count} observation date(s) after the horizon "
                                 f"({d.get('horizon_days')} days, to {d.get('horizon_date')}): "
                                 "not scored",
        N.HORIZON_EXTENDED: lambda: f"horizon extended from {d.get('from_days')} to "
                                    f"{d.get('to_days')} days to reach the last observation",
        N.FRAME_MISMATCH: lambda: (
            f"the observed distance to the objective at the start is {d.get('observed_km'):g} "
            f"km, but the scenario's axis is {d.get('axis_km'):g} km: scored in the scenario's "
            "frame (km advanced since the start); the objective counts as fallen where the "
            "observed distance reaches 0"),
        N.START_MISMATCH: lambda: f"{d.get('observed'):g} {d.get('unit')} observed at the start, "
                                  f"but the scenario starts from {d.get('start_at'):g} "
                                  f"{d.get('unit')}",
        N.CLIPPED: lambda: f"{n.count} observation(s) outside the model's range, clipped",
        N.NOT_SCORED: lambda: "sector-origins not scored: " + "; ".join(
            f"{v} ({why})" for why, v in d.get("reasons", {}).items()),
        N.BEYOND_HORIZON: lambda: f"{n.count} observation date(s) beyond the horizon "
                                  f"({d.get('horizon_days')} days) of their origin: not scored "
                                  "from it",
    }
    return who + words[n.kind]()


FORECASTER_WORDS = {  # the name of each forecaster (sim.forecast.forecasters) as printed
    "model": "model",
    "class_model": "class model",
    "persistence": "persistence",
    "trailing_rate": "trailing rate",
    "reference_class": "reference class",
}


def forecaster_words(name: str) -> str:
    """A forecaster's name as a table prints it (a --versus scenario's stem as it is)."""
    return FORECASTER_WORDS.get(name, name)


def baseline_method(f, sector) -> str:
    """How a position baseline (``sim.forecast.forecasters.Forecast``) was made, in words."""
    b = f.basis
    if f.name == "persistence":
        return ("no further change from the position at the origin "
                f"({sector.format_at(b['position'])}); a point forecast (no noise), scored as "
                "an ensemble whose members all sit there")
    w = b["window_days"]
    if "from" in b:
        how = (f"linear extrapolation of the observed rate from {b['from']} to {b['to']} (the "
               f"trailing {w} days on or before the origin)")
    else:
        how = (f"linear extrapolation of the scenario's mean base rate "
               f"({b['scenario_m_per_day']:.4g} m/day); fewer than two observations in the {w} "
               "days on or before the origin")
    return (f"{how}: {f.per_day:.4g} {b['unit']}/day, with iid gamma daily noise of the "
            f"scenario's daily cv {b['cv']:.3g}")


BASELINE_WORDS = {
    "persistence": "persistence (no further change from the position at the origin)",
    "trailing_rate": "trailing rate (the observed rate before the origin, extrapolated)",
}


def format_pooled(summary: dict, units: set[str]) -> list[str]:
    """The pooled block of a many-origin backtest or a self-test."""
    p = summary["pooled"]
    n = p["n_obs"]
    out = [f"Pooled over {p['origins']} origin{'s' * (p['origins'] != 1)} × {p['sectors']} "
           f"sector{'s' * (p['sectors'] != 1)}: {p['cases']} cases, {n} scored dates"]
    if not n:
        return out
    unit = next(iter(units)) if len(units) == 1 else "mixed units"
    bases = p["baselines"]
    rows = [
        [f"CRPS (fair), {unit}", f"{p['crps']:.4g}",
         *(f"{bases[b]['crps']:.4g}" for b in ("persistence", "trailing_rate"))],
        [f"WIS (23 quantiles), {unit}", f"{p['wis']:.4g}",
         *(f"{bases[b]['wis']:.4g}" for b in ("persistence", "trailing_rate"))],
        ["coverage of the 50% band", f"{p['coverage_50']:.3f}",
         *(f"{bases[b]['coverage_50']:.3f}" for b in ("persistence", "trailing_rate"))],
        ["coverage of the 90% band", f"{p['coverage_90']:.3f}",
         *(f"{bases[b]['coverage_90']:.3f}" for b in ("persistence", "trailing_rate"))],
        ["CRPS skill of the model against it", "",
         *(_signed(bases[b]["crps_skill"], 2) for b in ("persistence", "trailing_rate"))],
    ]
    out += table(["", "model", "persistence", "trailing rate"], rows, indent="  ")
    u = p["pit"]
    out.append(f"  PIT histogram (10 bins): {_spark(u['histogram'])}  "
               f"({' '.join(str(c) for c in u['histogram'])})")
    if u["ks_pvalue"] is not None:
        out.append(f"  uniformity: Kolmogorov–Smirnov D = {u['ks_statistic']:.3f}, "
                   f"p = {u['ks_pvalue']:.2g} (optimistic: pooled PITs of overlapping windows "
                   "are correlated)")
    brier = ", ".join(f"days {b['horizon_days'][0]}–{b['horizon_days'][1]} {b['brier']:.3f}"
                      for b in p["brier_by_horizon"])
    out.append(f"  Brier of the objective fallen by the date, by horizon: {brier}")
    return out


def format_origins(obt) -> str:
    """The human-readable report of ``advsim backtest --origins``."""
    s = obt.summary()
    origins = [o["origin"] for o in s["origins"]]
    out = [
        f"Backtest of {s['scenario']} against {s['observed']} from {len(origins)} origin"
        f"{'s' * (len(origins) != 1)}" + (f", {origins[0]} to {origins[-1]}" if origins else ""),
        f"{s['replications']:,} replications per origin · seed {s['seed']} (origin i: "
        f"origin_seed(seed, i)) · horizon {s['horizon_days']} days",
        "Baselines: " + "; ".join(s["baselines"].values()) + f" over {s['baseline_days']} days",
        "",
    ]
    units = {c.sector.unit for c in obt.cases()}
    out += format_pooled(s, units)
    rows = []
    for o in s["origins"]:
        for name, r in o["sectors"].items():
            rows.append([o["origin"], name, str(r["n_obs"]), f"{r['crps']:.3g}",
                         f"{r['wis']:.3g}", f"{r['coverage_50']:.2f}", f"{r['coverage_90']:.2f}",
                         _signed(r["crps_skill_persistence"], 2), _signed(r["crps_skill"], 2)])
    out += ["", "Per origin (skill: 1 − CRPS / the baseline's CRPS):"]
    out += table(["origin", "sector", "dates", "CRPS", "WIS", "cov 50%", "cov 90%",
                  "skill vs persistence", "skill vs trailing rate"], rows, indent="  ")
    if s["notes"]:
        out += ["", *(f"Note: {n}" for n in s["notes"])]
    return "\n".join(out)


def format_self_test(st) -> str:
    """The human-readable report of ``advsim backtest --self-test N``."""
    s = st.summary()
    t = s["self_test"]
    out = [
        f"Self-test of {s['scenario']}: {t['series']} series drawn from {t['truth']}, observed "
        f"every {t['observed_every_days']} days (truth seed {t['truth_seed']})",
        f"{s['replications']:,} replications per origin · seed {s['seed']} · horizon "
        f"{s['horizon_days']} days",
        "",
    ]
    out += format_pooled(s, {c.sector.unit for c in st.cases()})
    if s["notes"]:
        out += ["", *(f"Note: {n}" for n in s["notes"])]
    return "\n".join(out)


def _share(x: float, n: int) -> str:
    return f"{x:.2f} ({round(x * n)}/{n})"


def _spark(counts: list[int]) -> str:
    bars = " ▁▂▃▄▅▆▇█"
    top = max(counts) or 1
    return "".join(bars[math.ceil(c / top * 8)] if c else "·" for c in counts)


# -- calibration ---------------------------------------------------------------------------------


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
                   f"p = {f.ks_pvalue:.3g} (conservative: the parameters come from the same data)")
        if f.lag1 is not None:
            out.append(f"  lag-1 autocorrelation of the increments' normal scores: "
                       f"{f.lag1:+.2f} (p = {f.lag1_pvalue:.3g})")
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
           f"Dates (--date-convention {result.date_convention}): {_convention(result)}"]
    if result.places:
        out.append(f"Attacker-held: {', '.join(result.attacker_held)}; contested (--contested "
                   f"{result.contested}): {_contested(result)}")
    out.append(f"Invalid polygons repaired: {result.repaired}")
    return out


def _convention(result: Trace) -> str:
    from ..data.snapshots import DATE_CONVENTIONS

    return DATE_CONVENTIONS[result.date_convention]


def _contested(result: Trace) -> str:
    from ..data.trace import CONTESTED_MEANS

    return CONTESTED_MEANS[result.contested]


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
    from ..model.writer import comment_lines, dump_data

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
        out += ["", dump_data({place.slug: stub}, after={
            (place.slug, "length_km"): f"advsim trace: {where}"}).rstrip("\n")]
    return "\n".join(out)


# -- reference classes ------------------------------------------------------------------------


def _km(x: float) -> str:
    return f"{x:.1f}"


def _days(x: float | None) -> str:
    return "—" if x is None else f"{x:.0f}"


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
             str((a.last - a.entered).days), _km(a.remaining_km[a.start]),
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
                     str(km.events), _days(km.quantile(0.25)), _days(km.quantile(0.5)),
                     _days(km.quantile(0.75)), str(km.last_day)])
    out += table(["remaining", "origins", "towns", "fell", "P25", "median", "P75",
                  "follow-up"], rows)
    out += ["    (— : not reached within the follow-up; origins of one town are correlated)", ""]
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
                  f"{_days(c.km_median_days)}, simulated {_days(c.sim_median_days)} "
                  f"({c.simulated_origins} of {c.origins} origins)" for c in checks]
    lines.append("initial: the regime the class spends most days in; set it to the regime "
                 "of the sector's last observed step.")
    return dump(fit.block(), comments=lines).rstrip("\n")


def format_evaluation(table_: dict) -> str:
    """``advsim reference evaluate``: leave-one-town-out scores, pooled and per town."""
    p = table_["pooled"]
    out = [f"Leave-one-town-out: {table_['towns']} towns, {table_['cases']} projections of the "
           f"fall day (origins every {table_['every_days']} days, fitted on the other towns, "
           f"scored to {table_['until']})", ""]
    rows = []
    for name, s in p.items():
        k = s["pit"]
        skill = s.get("crps_skill", {})
        rows.append([forecaster_words(name), f"{s['coverage_50']:.2f}",
                     f"{s['coverage_90']:.2f}",
                     "—" if k["ks_pvalue"] is None else f"{k['ks_pvalue']:.3f}",
                     f"{s['crps_days']:.1f}", f"{s['wis_days']:.1f}",
                     *(_skill(skill.get(b)) for b in ("trailing_rate", "persistence",
                                                      "reference_class"))])
    out += table(["forecast", "cover 50%", "cover 90%", "PIT p (KS)", "CRPS d", "WIS d",
                  "skill/trailing", "skill/persist", "skill/class"], rows)
    out += ["", "  PIT histograms (10 bins, 0 to 1; flat is calibrated):"]
    for name, s in p.items():
        out.append(f"    {forecaster_words(name):<18} {_spark(s['pit']['histogram'])}  "
                   f"{s['pit']['histogram']}")
    out += ["", "  Per town (CRPS in days; coverage of the 90% interval):"]
    names = list(p)
    rows = []
    for town, t in table_["per_town"].items():
        f = t["forecasts"]
        rows.append([town, "fell" if t["fell"] else "standing", str(f[names[0]]["cases"]),
                     *(f"{f[n]['crps_days']:.0f} / {f[n]['coverage_90']:.2f}" for n in names)])
    out += table(["town", "outcome", "cases", *map(forecaster_words, names)], rows)
    return "\n".join(out)


def _skill(x: float | None) -> str:
    return "—" if x is None else f"{x:+.2f}"
