"""The text reports of forecasts scored against what happened: a backtest from one origin or
many, a self-test, a leave-one-town-out evaluation; the words of each forecaster and note."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import numbers as N
from . import words
from .text import share, spark, table

if TYPE_CHECKING:
    from ..forecast.backtest import Backtest


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
            [f"CRPS (fair), {unit}", *_versus([x["crps"] for x in (r, p, t)])],
            [f"WIS (23 quantiles), {unit}", *_versus([x["wis"] for x in (r, p, t)])],
            ["coverage of the 50% band", *(share(x["coverage_50"], n) for x in (r, p, t))],
            ["coverage of the 90% band", *(share(x["coverage_90"], n) for x in (r, p, t))],
            [f"Brier: {r['objective']} by the date", *(_brier(x["brier"]) for x in (r, p, t))],
            ["PIT histogram (10 bins)", *(spark(x["pit_histogram"]) for x in (r, p, t))],
        ]
        out += table(["", "model", "persistence", "trailing rate"], rows, indent="  ")
        for label, b in (("persistence", p), ("the trailing rate", t)):
            skill = b["crps_skill"]
            if skill is not None:
                verdict = "beats" if skill > 0 else "does not beat"
                out.append(f"  CRPS skill against {label}: {N.signed(skill, 2)} (the model "
                           f"{verdict} {label}; 1 is perfect)")
        fell = r["objective_fell_observed"]
        out.append(f"  {r['objective']}: " + (f"observed fallen by {fell}" if fell else
                                              "not observed fallen"))
        out.append(f"  persistence: {p['method']}")
        out.append(f"  trailing rate: {t['method']}")
        bands = r["bands"]
        crps = _scores(r["crps_by_date"])
        rows = [[d, N.day(day), f"{y:,.1f}", *(f"{bands[k][i]:,.1f}" for k in bands),
                 f"{r['pit'][i]:.2f}", crps[i]]
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
                f"({words.position(sector, b['position'])}); a point forecast (no noise), scored "
                "as an ensemble whose members all sit there")
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
    both = [p, *(bases[b] for b in ("persistence", "trailing_rate"))]
    rows = [
        [f"CRPS (fair), {unit}", *_versus([x["crps"] for x in both])],
        [f"WIS (23 quantiles), {unit}", *_versus([x["wis"] for x in both])],
        ["coverage of the 50% band", *(N.probability(x["coverage_50"], 3) for x in both)],
        ["coverage of the 90% band", *(N.probability(x["coverage_90"], 3) for x in both)],
        ["CRPS skill of the model against it", "",
         *(N.signed(x["crps_skill"], 2) for x in both[1:])],
    ]
    out += table(["", "model", "persistence", "trailing rate"], rows, indent="  ")
    u = p["pit"]
    out.append(f"  PIT histogram (10 bins): {spark(u['histogram'])}  "
               f"({' '.join(str(c) for c in u['histogram'])})")
    if u["ks_pvalue"] is not None:
        out.append(f"  uniformity: Kolmogorov–Smirnov D = {u['ks_statistic']:.3f}, "
                   f"p {N.pvalue(u['ks_pvalue'])} (optimistic: pooled PITs of overlapping windows "
                   "are correlated)")
    brier = ", ".join(f"days {b['horizon_days'][0]}–{b['horizon_days'][1]} {_brier(b['brier'])}"
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
    cases = [(o["origin"], name, r) for o in s["origins"] for name, r in o["sectors"].items()]
    crps = _scores([r["crps"] for *_, r in cases])
    wis = _scores([r["wis"] for *_, r in cases])
    rows = [[origin, name, str(r["n_obs"]), crps[i], wis[i], N.probability(r["coverage_50"]),
             N.probability(r["coverage_90"]), N.signed(r["crps_skill_persistence"], 2),
             N.signed(r["crps_skill"], 2)] for i, (origin, name, r) in enumerate(cases)]
    out += ["", "Per origin (skill: 1 - CRPS / the baseline's CRPS):"]
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
        rows.append([forecaster_words(name), N.probability(s["coverage_50"]),
                     N.probability(s["coverage_90"]), pvalue_cell(k["ks_pvalue"]),
                     f"{s['crps_days']:.1f}", f"{s['wis_days']:.1f}",
                     *(N.signed(skill.get(b), 2) for b in ("trailing_rate", "persistence",
                                                      "reference_class"))])
    out += table(["forecast", "cover 50%", "cover 90%", "PIT p (KS)", "CRPS d", "WIS d",
                  "skill/trailing", "skill/persist", "skill/class"], rows)
    out += ["", "  PIT histograms (10 bins, 0 to 1; flat is calibrated):"]
    for name, s in p.items():
        out.append(f"    {forecaster_words(name):<18} {spark(s['pit']['histogram'])}  "
                   f"{s['pit']['histogram']}")
    out += ["", "  Per town (CRPS in days; coverage of the 90% interval):"]
    names = list(p)
    rows = []
    for town, t in table_["per_town"].items():
        f = t["forecasts"]
        rows.append([town, "fell" if t["fell"] else "standing", str(f[names[0]]["cases"]),
                     *(f"{f[n]['crps_days']:.0f} / {N.probability(f[n]['coverage_90'])}"
                       for n in names)])
    out += table(["town", "outcome", "cases", *map(forecaster_words, names)], rows)
    return "\n".join(out)


def _scores(values: list[float | None]) -> list[str]:
    """A column of one score (CRPS, WIS) over cases: shared decimals, three significant
    figures for the largest."""
    return N.column(values, 3)


def _versus(values: list[float | None]) -> list[str]:
    """One score of the model and its baselines side by side, each to four significant figures
    (trailing zeros kept): their ratios are the skill, and one baseline ten times worse must
    not round the others away."""
    return [N.column([v], 4)[0] for v in values]


def _brier(x: float | None) -> str:
    return N.MISSING if x is None else f"{x:.3f}"


def pvalue_cell(p: float | None) -> str:
    """A p-value in a table's cell: "0.032", "3.2e-05", "< 1e-16"."""
    return N.pvalue(p).removeprefix("= ")
