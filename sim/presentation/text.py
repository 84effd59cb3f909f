"""The text reports of runs, comparisons and sweeps, as plain tables for terminals and for
pasting; and what every text report shares (tables, tables that say a repeated value once).
Every number goes through ``numbers``. Backtests and evaluations are in ``text_forecasts``;
traces, calibrations and reference classes in ``text_fits``."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

from . import numbers as N
from . import words

if TYPE_CHECKING:
    from ..running.outcomes import Result


def table(header: list[str], rows: list[list[str]], indent: str = "    ") -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    def line(r: list[str]) -> str:
        return indent + "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
        ).rstrip()
    return [line(header), *[line(r) for r in rows]]


def span(first: str, last: str) -> str:
    """The label of a run of rows or columns: "P10–P95", "days 90–365"."""
    if first == last:
        return first
    head, _, a = first.rpartition(" ")
    if head and last.startswith(head + " "):
        return f"{'days' if head == 'day' else head} {a}–{last[len(head) + 1:]}"
    return f"{first}–{last}"


def merge_rows(rows: list[list[str]]) -> list[list[str]]:
    """Neighbouring rows that show the same cells as one row, labelled by their span: seven
    percentiles of one value are one row "P5–P95"."""
    out: list[list[str]] = []
    firsts: list[str] = []
    for r in rows:
        if out and out[-1][1:] == r[1:]:
            out[-1][0] = span(firsts[-1], r[0])
        else:
            out.append(list(r))
            firsts.append(r[0])
    return out


def merge_columns(header: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """Neighbouring columns (after the label) that show the same cells as one column,
    labelled by their span: "days 90–365"."""
    if len(header) < 3:
        return header, rows
    keep = [1]
    head = header[:2]
    for j in range(2, len(header)):
        if all(r[j] == r[keep[-1]] for r in rows):
            head[-1] = span(header[keep[-1]], header[j])
        else:
            keep.append(j)
            head.append(header[j])
    return head, [[r[0], *(r[j] for j in keep)] for r in rows]


def compact_table(header: list[str], rows: list[list[str]], unit: str = "",
                  indent: str = "    ") -> list[str]:
    """``table`` with a repeated value said once: identical neighbouring rows and columns
    merged, and a table of one value a line ("P5–P95: 1.3 km on days 30–365")."""
    head, merged = merge_columns(header, merge_rows(rows))
    if len(merged) == 1 and len(head) == 2:
        label, value = merged[0]
        return [f"{indent}{label}: {value}{' ' + unit if unit else ''} on {head[1]}"]
    return table(head, merged, indent)


def format_run(result: Result, summary: dict | None = None) -> str:
    """The human-readable report of ``advsim run`` (``summary``: the result's, if at hand)."""
    summary = summary or result.summary()
    start = dt.date.fromisoformat(summary["start"])
    h = summary["horizon_days"]
    out = [
        f"{summary['scenario']}",
        f"{summary['replications']:,} replications · seed {summary['seed']} · "
        f"from {summary['start']} over {h} days (to {N.date(start, h)})",
    ]
    for name, s in summary["sectors"].items():
        obj = s["objective"]
        sector = result.scenario.sector(name)
        out += ["", f"{name}: {words.headline(sector)}"]
        p, se = obj["prob_reached"], obj["prob_reached_se"]
        out.append(f"  P({obj['name']} within {h} days) = {N.probability(p, 3)} "
                   f"(MC s.e. {se:.1g})")
        rows = []
        for k, d in obj["day"].items():
            e = obj["day_se"].get(k)
            rows.append([k.upper(), N.day(d), N.date(start, d),
                         "" if e is None or d is None else f"± {e:.1f}"])
        out.append(f"  Day the objective is reached ({obj['name']}):")
        out += table(["", "day", "date", "MC s.e."], merge_rows(rows))
        if obj.get("shifted"):
            out.append("  " + shifted_line(obj["shifted"], h))

        prog = s[sector.progress_name]
        if prog["days"]:
            out.append(f"  {words.progress_label(sector)}, by day:")
            header = [""] + [f"day {d}" for d in prog["days"]]
            km = sector.progress_name == "advance_km"
            out += compact_table(header, [[k.upper(), *map(N.km if km else N.km2, v)]
                                          for k, v in prog.items() if k != "days"],
                                 unit="km" if km else "km²")
        if s["milestones"]:
            out.append("  Milestones:")
            rows = []
            for mname, m in s["milestones"].items():
                d = m["day"]
                rows.append([mname, N.probability(m["prob_reached"], 3),
                             *[N.date(start, d.get(q)) for q in ("p10", "p50", "p90")]])
            out += table(["", "P(reached)", "P10 date", "P50 date", "P90 date"], rows)
        loss = s["losses"]
        out.append(
            f"  Losses (mean): attacker {loss['attacker']['mean']:,.0f}, "
            f"defender {loss['defender']['mean']:,.0f}"
        )
    return "\n".join(out)


def shifted_line(block: dict, horizon_days: int) -> str:
    """The objective read nearer and farther, as one line: "P50 day 8–13" is the median day
    with the objective nearer, then farther."""
    near, far = block["nearer"], block["farther"]
    def cell(k: str) -> str:
        a, b = N.day(near["day"].get(k)), N.day(far["day"].get(k))
        if a == b:
            return f"{k.upper()} {'' if a == N.CENSORED else 'day '}{a}"
        return f"{k.upper()} day {a}{' to ' if N.CENSORED in (a, b) else '–'}{b}"

    keys = [k for k in ("p10", "p50", "p90") if k in near["day"]] or list(near["day"])
    days = ", ".join(cell(k) for k in keys)
    pa, pb = (N.probability(x["prob_reached"], 3) for x in (near, far))
    return (f"Objective {block['shift_km']:g} km nearer–farther: {days}; P(within "
            f"{horizon_days} days) {pa if pa == pb else f'{pa}–{pb}'}")


def _ci(ci: list | None, digits: int) -> str:
    if ci is None:
        return ""
    return "[" + ", ".join("…" if v is None else N.signed(v, digits) for v in ci) + "]"


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
                row += [N.day(q[k]), N.date(start, q[k])]
            rows.append(row)
        reach = ["P(reach)", *[c for p in obj["prob_reached"] for c in (N.probability(p, 3), "")]]
        out += table(header, [*merge_rows(rows), reach])
        for c in s["comparisons"]:
            lab = labels[c["run"]]
            median = ("median beyond the horizon in one run or both"
                      if c["median_diff_days"] is None else
                      f"median {N.signed(c['median_diff_days'], 1)} days "
                      f"{_ci(c['median_diff_ci95'], 1)}")
            out.append(
                f"  {lab} - {labels[0]}: {median}; P(reach) "
                f"{N.signed(c['prob_reached_diff'], 3)} {_ci(c['prob_reached_diff_ci95'], 3)}; "
                f"KS D = {c['ks_stat']:.3f}, p {N.pvalue(c['ks_pvalue'])}"
            )
        key = "advance_km" if "advance_km" in s else "held_km2"
        prog = s[key]
        if prog["days"]:
            label = "Advance, km" if key == "advance_km" else "Held area, km²"
            out.append(f"  {label}, by day (median and P10–P90):")
            header = ["", *labels, *[f"{labels[c['run']]} - {labels[0]} median [95%]"
                                     for c in s["comparisons"]]]
            rows = []
            for i, d in enumerate(prog["days"]):
                row = [f"day {d}"]
                for q in prog["runs"]:
                    row.append(f"{q['p50'][i]:,.1f} ({q['p10'][i]:,.1f}–{q['p90'][i]:,.1f})")
                for c in s["comparisons"]:
                    row.append(f"{N.signed(c['progress_median_diff'][i], 2)} "
                               f"{_ci(c['progress_median_diff_ci95'][i], 2)}")
                rows.append(row)
            out += table(header, merge_rows(rows))  # days alike in every run: one row
    return "\n".join(out)


def _index(v: float | None, sign: bool) -> str:
    """A sensitivity index to two decimals (PRCC with its sign)."""
    if sign:
        return N.signed(v, 2)
    return N.MISSING if v is None or v != v else f"{v:.2f}"


def _interval(lo: float | None, hi: float | None, sign: bool) -> str:
    if lo is None or hi is None or lo != lo or hi != hi:
        return ""
    return f"[{_index(lo, sign)}, {_index(hi, sign)}]"


def _metric_value(metric: str, v: float) -> str:
    """A sweep metric's value: a day as a whole day, a probability never 0 or 1 by rounding,
    anything else to three significant figures."""
    from ..sweep.metrics import Metric

    m = Metric.parse(metric)
    if m is not None and m.quantity == "day":
        return N.day(v)
    if m is not None and m.quantity == "prob_reached":
        return N.probability(v, 3)
    return N.number(v)


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
        spread = (f"{_metric_value(metric, min(finite))} … {_metric_value(metric, max(finite))}"
                  if finite else "beyond the horizon")
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
            prcc = [_index(r["prcc"], True), _interval(r["prcc_low"], r["prcc_high"], True)]
            cells = [f"{r['rank']}.", r["parameter"]]
            if sobol:
                for k in ("sobol_total", "sobol_first"):
                    cells += [_index(r[k], False),
                              _interval(r[f"{k}_low"], r[f"{k}_high"], False)]
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


def share(x: float, n: int) -> str:
    """A share of ``n`` cases with its count: "0.43 (6/14)", never "1.00" for 499 of 500."""
    return f"{N.probability(x, 2)} ({round(x * n)}/{n})"


def spark(counts: list[int]) -> str:
    bars = " ▁▂▃▄▅▆▇█"
    top = max(counts) or 1
    return "".join(bars[math.ceil(c / top * 8)] if c else "·" for c in counts)
