"""A report to share: runs, sweeps and saved backtests as one self-contained HTML file (inline
SVG charts, print CSS) or as Markdown with its charts as SVG files beside it.

The report is built once as a small document (sections of paragraphs, tables, code and charts)
and then rendered; the charts are the figures of ``sim.presentation.charts``, the numbers
those of the run's own summary.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import html
import io
import json
import os
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..artifacts import outputs
from ..errors import AdvsimError
from . import numbers as N
from . import words

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..artifacts.outlooks import SavedOutlook
    from ..forecast.saved import SavedBacktest
    from ..running.outcomes import Result
    from ..sweep.table import SweepResult

    Item = Result | SweepResult | SavedBacktest | SavedOutlook

FORMATS = (".html", ".md")
CHART_SECTORS = 12  # a run's charts draw at most this many sectors, a panel each


@dataclass
class Section:
    """One part of the report: a heading and its blocks, in order."""

    title: str
    level: int = 2
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def text(self, s: str) -> None:
        self.blocks.append(("text", s))

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]],
              caption: str = "", css: str = "") -> None:
        """A table; ``css`` names its class in the HTML (``headline``)."""
        self.blocks.append(("table", (list(header), [list(r) for r in rows], caption, css)))

    def code(self, s: str, caption: str = "") -> None:
        self.blocks.append(("code", (s, caption)))

    def details(self, s: str, caption: str) -> None:
        """Code shown collapsed under ``caption`` (a scenario file: there to check, not read)."""
        self.blocks.append(("details", (s, caption)))

    def items(self, xs: Sequence[str]) -> None:
        self.blocks.append(("items", list(xs)))

    def chart(self, name: str, fig: Figure, caption: str) -> None:
        self.blocks.append(("chart", (name, fig, caption)))

    def image(self, name: str, png: bytes, caption: str) -> None:
        """A chart drawn before, as PNG (an outlook's map, kept in its folder)."""
        self.blocks.append(("image", (name, png, caption)))


# -- reading what is given -----------------------------------------------------------------------


def load(item: str | os.PathLike[str] | Item) -> Item:
    """What a report item is, read back and checked: a Result (a results folder, or a sweep
    point ``SWEEP_DIR:POINT_ID``), a SweepResult, a SavedBacktest or a SavedOutlook, by the
    kind its manifest.json names. Anything advsim did not write is refused in one line."""
    from ..artifacts.files import KINDS, kind_of
    from ..artifacts.outlooks import SavedOutlook
    from ..forecast.saved import SavedBacktest
    from ..running.outcomes import Result
    from ..sweep.table import SweepResult

    if isinstance(item, (Result, SweepResult, SavedBacktest, SavedOutlook)):
        return item
    spec = os.fspath(item)
    p = Path(spec)
    if not p.exists():
        return Result.from_folder(spec)  # a sweep point, or "no such results folder"
    if p.is_file():
        parent = _manifest(p.parent)
        if p.name in (parent.get("files") or {}) or p.name == "manifest.json":
            raise AdvsimError(f"{spec}: a file of the folder {p.parent} that advsim wrote (name "
                              f"the folder, not its {p.name})")
        doc = None
        if p.suffix.lower() == ".json":
            with contextlib.suppress(OSError, UnicodeDecodeError, ValueError):
                doc = json.loads(p.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and "results_dir" in doc:
            what = "advsim sweep --json" if "points" in doc else "advsim run --json"
            raise AdvsimError(f"{spec}: the JSON of {what}, not of advsim backtest (name the "
                              f"folder it wrote, {doc['results_dir']})")
        raise AdvsimError(f"{spec}: not a folder advsim wrote (a report takes results, sweep, "
                          "backtest and outlook folders; a backtest is reported from its folder "
                          "(advsim backtest ... --out DIR), not from its JSON)")
    manifest = _manifest(p)
    kind = kind_of(p, manifest)
    if kind == "run" or (kind is None and (p / "manifest.json").exists()):
        return Result.from_folder(spec)  # an unreadable manifest: the run reader says how
    if kind == "sweep":
        return SweepResult.from_folder(spec)
    if kind == "backtest":
        return SavedBacktest.from_folder(spec)
    if kind == "outlook":
        return SavedOutlook.from_folder(spec)
    expected = "expected a results, sweep, backtest or outlook folder"
    if kind is None:
        raise AdvsimError(f"{spec}: not written by advsim (no manifest.json naming its kind; "
                          f"{expected})")
    raise AdvsimError(f"{spec}: {KINDS.get(kind, f'a folder of kind {kind!r}')}, which a "
                      f"report does not hold ({expected})")


def assumptions(yaml_text: str) -> list[tuple[int, str]]:
    """(line, text) of each ``# assumption:`` comment of a scenario, with the key it annotates
    where the comment follows one on its line."""
    out = []
    for i, line in enumerate(yaml_text.splitlines(), 1):
        m = re.search(r"#\s*assumption:\s*(.*)$", line)
        if not m:
            continue
        key = line[: m.start()].strip()
        text = m.group(1).strip()
        out.append((i, f"{key} — {text}" if key else text))
    return out


def sources(yaml_text: str) -> list[str]:
    """The comment block that opens a scenario (where it says what it rests on), and every
    comment that cites a source (``report:``, ``source``, a file or an address)."""
    head: list[str] = []
    for line in yaml_text.splitlines():
        if line.startswith("#"):
            head.append(line.lstrip("#").strip())
        elif line.strip():
            break
    cited = []
    for line in yaml_text.splitlines():
        m = re.search(r"#\s*(.*)$", line)
        if m and not line.lstrip().startswith("#") and re.search(
                r"\b(report|source|engel|cited?)\b|https?://|\.txt|\.csv", m.group(1), re.I) \
                and "assumption:" not in m.group(1):
            cited.append(f"{line[: m.start()].strip()} — {m.group(1).strip()}")
    para = " ".join(h for h in head if h)
    return ([para] if para else []) + cited


# -- building ------------------------------------------------------------------------------------


def run_label(run: Result) -> str:
    """A run's name in the report: its folder's name (with a sweep point's id), else its
    scenario's."""
    if not run.source:
        return run.name
    if run.point is not None:
        return f"{Path(run.source.rsplit(':', 1)[0]).name}:{run.point}"
    return Path(run.source).name


def labels_of(runs: Sequence[Result]) -> list[str]:
    """Each run's label, made unique by its place among the runs where two share one."""
    labels = [run_label(r) for r in runs]
    return [f"{lab} ({i})" if labels.count(lab) > 1 else lab
            for i, lab in enumerate(labels, 1)]


def headline_sentence(objective: str, prob: float, horizon_days: int,
                      dates: dict[str, str]) -> str:
    """The headline of one objective as a reader quotes it: "Pokrovsk: 0.53 within 730 days;
    P50 2026-09-21 (P10 2025-05-27, P90 > horizon)"."""
    return (f"{objective}: {N.probability(prob)} within {horizon_days} days; P50 {dates['p50']} "
            f"(P10 {dates['p10']}, P90 {dates['p90']})")


def headline_rows(run: Result, summary: dict | None = None) -> list[dict[str, str]]:
    """Per sector of ``run``: its objective, P(reached by the horizon) and the P10, P50 and P90
    dates, as the report prints them (censored dates as ``numbers.CENSORED``)."""
    summary = summary or run.summary()
    rows = []
    for name, s in summary["sectors"].items():
        obj = s["objective"]
        dates = {k: N.date(run.start, obj["day"].get(k)) for k in ("p10", "p50", "p90")}
        rows.append({"sector": name, "objective": obj["name"],
                     "prob": N.probability(obj["prob_reached"]), **dates,
                     "words": headline_sentence(obj["name"], obj["prob_reached"],
                                                run.horizon_days, dates)})
    return rows


def headline_section(runs: Sequence[Result], labels: Sequence[str],
                     summaries: Sequence[dict]) -> Section:
    """The report's first table: per objective of every run, P(reached by the horizon) and the
    P10/P50/P90 dates, each row also in the words a reader quotes."""
    sec = Section("Headline", 2)
    horizons = {r.horizon_days for r in runs}
    within = (f"within {next(iter(horizons))} days" if len(horizons) == 1
              else "within the run's horizon")
    sec.text(f"Per objective: the probability that it is reached {within} (the share of "
             "replications that reach it), and the dates by which 10%, 50% and 90% of "
             f"replications have reached it. {N.CENSORED}: later than the horizon, as for the "
             "replications that have not reached it by then.")
    many = len(runs) > 1
    rows, said = [], []
    for run, label, summary in zip(runs, labels, summaries):
        for h in headline_rows(run, summary):
            where = h["objective"] if _slug(h["sector"]) == _slug(h["objective"]) else \
                f"{h['objective']} (sector {h['sector']})"
            rows.append([*([label] if many else []), where, h["prob"], h["p10"], h["p50"],
                         h["p90"]])
            said.append(f"{label}: {h['words']}" if many else h["words"])
    sec.table([*(["run"] if many else []), "objective", f"P(reached {within})", "P10 date",
               "P50 date", "P90 date"], rows, "Each objective: whether and when it is reached",
              css="headline")
    sec.text("In words:")
    sec.items(said)
    return sec


def run_sections(run: Result, charts: bool = True, label: str | None = None,
                 summary: dict | None = None) -> list[Section]:
    """The sections of one run: percentiles and dates per sector, progress, forces, charts,
    the scenario as run with its assumptions and sources, and provenance."""
    from .charts.runs import cdf_chart, fan_chart, forces_chart, hist_chart, milestones_chart

    summary = summary or run.summary()
    label = label or run_label(run)
    top = Section(f"Run: {label}" if label != run.name else run.name, level=2)
    sc = run.scenario
    top.text((f"{run.name}. " if label != run.name else "")
             + f"{run.replications:,} replications, seed {run.seed}, from {sc.start} over "
             f"{sc.horizon_days} days (to {run.date_of(sc.horizon_days)})."
             + (f" Results folder: {run.source}." if run.source else ""))
    if sc.description:
        top.text(sc.description)
    out = [top]
    for name, s in summary["sectors"].items():
        sec = Section(f"Sector {name}: {s['kind']}, objective {s['objective']['name']}", 3)
        obj = s["objective"]
        sec.text(f"P(objective reached within {sc.horizon_days} days): "
                 f"{N.probability(obj['prob_reached'])} (Monte Carlo s.e. "
                 f"{N.number(obj['prob_reached_se'], 2)}). A percentile shown as "
                 f"{N.CENSORED} is censored: those replications have not reached the objective "
                 "by then.")
        keys = list(obj["day"])
        ses = N.column([obj["day_se"].get(k) for k in keys], 2)
        rows = [[k.upper(), N.day(obj["day"][k]), N.date(run.start, obj["day"][k]),
                 "" if obj["day_se"].get(k) is None else f"± {se}"]
                for k, se in zip(keys, ses)]
        sec.table(["percentile", "day", "date", "MC s.e., days"], rows,
                  "Day the objective is reached")
        if obj.get("shifted"):  # a town's centre is uncertain by about this much
            from .text import shifted_line

            sec.text(f"{shifted_line(obj['shifted'], sc.horizon_days)} (one more run of the "
                     "same seed, the objective moved along the axis).")
        so = run.sectors[name]
        prog = s[so.progress_name]
        fmt = N.km2 if so.sector.has_front else N.km
        days = prog["days"]
        cells = [[fmt(prog[k][j]) for k in keys] for j in range(len(days))]
        one = N.same([c for row in cells for c in row])
        if one is not None:
            sec.text(f"{words.progress_label(so.sector)}: {one} at every checkpoint day "
                     f"({', '.join(str(d) for d in days)}) and every percentile.")
        else:
            sec.table(["day", "date", *[k.upper() for k in keys]],
                      [[str(d), N.date(run.start, d), *row] for d, row in zip(days, cells)],
                      f"{words.progress_label(so.sector)}, by checkpoint day")
        if s.get("milestones"):
            sec.table(["milestone", "P(reached)", "P10 date", "P50 date", "P90 date"],
                      [[m, N.probability(v.get("prob_reached", 0)),
                        *[N.date(run.start, v["day"].get(k)) for k in ("p10", "p50", "p90")]]
                       for m, v in s["milestones"].items()], "Milestones")
        forces = s.get("forces")
        if forces:
            sides = ("attacker", "defender")
            median = {side: forces[side].get("troops", {}).get("p50") for side in sides}
            rows = [["0", str(sc.start), *[f"{forces[side]['start']:,.0f}" for side in sides]]]
            rows += [[str(d), N.date(run.start, d),
                      *[N.MISSING if median[side] is None else f"{median[side][j]:,.0f}"
                        for side in sides]] for j, d in enumerate(forces["days"])]
            sec.table(["day", "date", "attacker", "defender"], rows,
                      "Forces: median troops by checkpoint day")
            rows = []
            for side in sides:
                b = forces[side]["breakpoint"]
                rows.append([side, f"{b['fraction']:.0%} of peak" if b["fraction"]
                             else "none left", N.probability(b.get("prob_reached", 0)),
                             N.date(run.start, (b.get("day") or {}).get("p50"))])
            sec.table(["side", "breakpoint", "P(reached)", "median date"], rows,
                      "Forces: the day each side reaches its breakpoint")
        out.append(sec)
    if charts:
        ch = Section("Charts", 3)
        drawn = charted_sectors(run, summary)
        shown = {n: run.sectors[n] for n in drawn}
        if len(drawn) < len(run.sectors):
            ch.text(f"The charts draw {len(drawn)} of the {len(run.sectors)} sectors, one panel "
                    "each: those most likely to reach their objective within the horizon "
                    f"({', '.join(drawn)}). Every sector's numbers are in its tables above; "
                    "advsim plot draws any other (--sector).")
        stem = _slug(label)
        try:
            ch.chart(f"{stem}-fan", fan_chart([run], sectors=drawn),
                     "Progress per day, in km left or km² held: shades P5–P95 to P45–P55 in "
                     "10% steps, the median, and five single replications re-simulated from "
                     "the seed")
        except AdvsimError as e:  # a sweep point keeps no per-day bands
            ch.text(f"No chart of progress per day: {e}.")
        if any(so.reached.any() for so in shown.values()):
            ch.chart(f"{stem}-cdf", cdf_chart([run], sectors=drawn),
                     "P(objective reached) by date, to the horizon")
            ch.chart(f"{stem}-hist", hist_chart([run], sectors=drawn),
                     "Date the objective is reached; hatched: not within the horizon")
        else:
            ch.text("No replication reaches the objective within the horizon: no chart of "
                    "when it falls.")
        if any(so.sector.milestones for so in shown.values()):
            ch.chart(f"{stem}-milestones", milestones_chart([run], sectors=drawn),
                     "When each milestone falls")
        if all(so.has_forces_bands() for so in shown.values()):
            ch.chart(f"{stem}-forces", forces_chart([run], sectors=drawn),
                     "Troops by side per day")
        out.append(ch)
    out.append(scenario_section(run))
    prov = Section("Provenance", 3)
    manifest = run.manifest
    source = manifest.get("scenario_source") or manifest.get("source")  # a sweep point's, a run's
    inputs = manifest.get("inputs") or {}
    wall = manifest.get("wall_seconds", run.wall_seconds)
    prov.table(["", ""], [[k, v] for k, v in (
        ("advsim", manifest.get("advsim", __version__)),
        ("seed", run.seed),
        ("replications", f"{run.replications:,}"),
        ("scenario sha256", manifest.get("scenario_sha256") or run.scenario_sha256 or N.MISSING),
        ("scenario file", source or N.MISSING),
        ("scenario file sha256", inputs.get(source) or N.MISSING),
        ("overrides", ", ".join(run.overrides) or "none"),
        ("created", manifest.get("created", N.MISSING)),
        ("versions", ", ".join(f"{k} {v}" for k, v in manifest.get("versions", {}).items()
                               if v) or N.MISSING),
        ("wall time", f"{N.number(wall, 2)} s"),
    )])
    out.append(prov)
    return out


def comparison_section(runs: Sequence[Result], labels: Sequence[str]) -> Section:
    """Several runs side by side, each later one against the first, as ``advsim compare``
    reads them: per sector they share, its readings, the objective's P(reached) and dates in
    each run, and the differences with their 95% bootstrap intervals. Runs that share no
    sector with the first are named, not compared."""
    from ..analysis.comparison import compare_runs

    sec = Section("Comparison", 2)
    base = runs[0].sectors

    def shared(run: Result) -> list[str]:  # a sector of both, and to the same objective
        return [s for s in base if s in run.sectors
                and run.sectors[s].objective == base[s].objective]

    sharing = [i for i in range(1, len(runs)) if shared(runs[i])]
    apart = [labels[i] for i in range(1, len(runs)) if i not in sharing]
    common = [s for s in base if all(s in shared(runs[i]) for i in sharing)]
    groups = ([([0, *sharing], common)] if common else
              [([0, i], shared(runs[i])) for i in sharing])
    if not groups:
        sec.text(f"No comparison: no other run shares a sector with the first ({labels[0]}), "
                 "by the sector's name and its objective.")
        return sec
    if apart:
        sec.text(f"Not compared: {', '.join(apart)} (no sector of the same name and objective "
                 f"as in {labels[0]}).")
    for group, sectors in groups:
        _comparison(sec, compare_runs([runs[i] for i in group],
                                      labels=[labels[i] for i in group], sectors=sectors),
                    [runs[i] for i in group])
    return sec


def _comparison(sec: Section, c: dict, runs: Sequence[Result]) -> None:
    """One comparison (``compare_runs``) as the report shows it."""
    labels = [r["label"] for r in c["runs"]]
    h = c["horizon_days"]
    paired = {x["paired"] for s in c["sectors"].values() for x in s["comparisons"]}
    how = {frozenset({True}): "paired by replication, the runs sharing seed and replications",
           frozenset({False}): "independent resamples of each run"}.get(
        frozenset(paired), "paired where runs share seed and replications, else independent")
    sec.text(f"{', '.join(labels[1:])} against {labels[0]}, in the sectors they share, "
             f"up to day {h} (the shortest horizon); differences are the later run minus the "
             f"first, with 95% bootstrap intervals ({c['bootstrap']['resamples']:,} resamples, "
             f"{how}), as advsim compare reads them:")
    # the reading with an ASCII minus, as every number of the report (it pastes into code)
    sec.items([f"{name}: {x['reading'].replace(chr(0x2212), '-')}"
               for name, s in c["sectors"].items() for x in s["comparisons"]])
    for name, s in c["sectors"].items():
        obj = s["objective_day"]
        rows = [[f"P(reached within {h} days)",
                 *[N.probability(p) for p in obj["prob_reached"]]]]
        rows += [[f"{k.upper()} date", *[N.date(r.start, q[k])
                                         for r, q in zip(runs, obj["runs"])]]
                 for k in ("p10", "p50", "p90")]
        sec.table(["", *labels], rows, f"{name}: {s['objective']} in each run")
        diffs = [[f"{labels[x['run']]} - {labels[0]}",
                  _difference(x["median_diff_days"], x["median_diff_ci95"], 0),
                  _difference(x["prob_reached_diff"], x["prob_reached_diff_ci95"], None),
                  f"{x['ks_stat']:.2f}", f"p {N.pvalue(x['ks_pvalue'])}"]
                 for x in s["comparisons"]]
        sec.table(["", "median day, days", "P(reached)", "KS D", "KS p-value"], diffs,
                  f"{name}: differences, 95% interval")


def _difference(x: float | None, ci: Sequence[float | None] | None, digits: int | None
                ) -> str:
    """A difference and its interval, "+12 [+3, +20]"; none where a median is past the
    horizon (no difference of horizons), and a bound past it shown so. ``digits`` None: two
    decimals, three where every number is under 0.05 (as the readings of compare)."""
    if x is None:
        return f"{N.MISSING} (a median {N.CENSORED})"
    lo, hi = ci if ci else (None, None)
    if digits is None:
        digits = 2 if max(abs(v) for v in (x, lo, hi) if v is not None) >= 0.05 else 3
    bounds = ", ".join(N.CENSORED if v is None else N.signed(v, digits) for v in (lo, hi))
    return f"{N.signed(x, digits)} [{bounds}]"


def charted_sectors(run: Result, summary: dict | None = None) -> list[str]:
    """The sectors a run's charts draw, in the scenario's order: all of them up to
    ``CHART_SECTORS``, else those most likely to reach their objective within the horizon (a
    panel each: drawing costs as much as the panels, not the sectors tabled)."""
    names = list(run.sectors)
    if len(names) <= CHART_SECTORS:
        return names
    sectors = (summary or run.summary())["sectors"]
    ranked = sorted(range(len(names)),
                    key=lambda i: (-sectors[names[i]]["objective"]["prob_reached"], i))
    return [names[i] for i in sorted(ranked[:CHART_SECTORS])]


def scenario_section(run: Result) -> Section:
    """The scenario as it was run, from the run's own folder (never from the scenario file as
    it is now): the assumptions it marks and the sources it cites, read from the file's text
    as run, comments included; and that text (with the resolved scenario, where --set changed
    it)."""
    scen = Section("The scenario as run", 3)
    if run.overrides:
        scen.text("Changed from the scenario file: " + ", ".join(run.overrides))
    source = run.manifest.get("source") or "the scenario file"
    commented = run.source_yaml
    if commented is None:
        scen.text("Its assumptions and sources are not shown: "
                  + ("this folder does not keep the scenario file as run, with its comments "
                     "(written by an earlier advsim)." if run.scenario_yaml is not None else
                     "a run held in memory keeps no scenario text."))
    else:
        where = f"{source} as run"
        marked = assumptions(commented)
        if marked:
            scen.text(f"Assumptions it marks ({len(marked)}, by line of {where}):")
            scen.items([f"line {i}: {t}" for i, t in marked])
        cited = sources(commented)
        if cited:
            scen.text(f"Sources it cites ({where}):")
            scen.items(cited)
        scen.details(commented, f"{source}, as run, as written (kept in the results folder "
                                "as scenario.source.yaml)")
    if run.scenario_yaml is not None and (commented is None or run.overrides):
        scen.details(run.scenario_yaml, "scenario.yaml (as resolved and run, with the "
                                        "changes above)" if run.overrides else
                     "scenario.yaml (as resolved and run)")
    return scen


def sweep_sections(sweep: SweepResult) -> list[Section]:
    """A sweep: its spec, the points' metrics, the sensitivity ranking and charts."""
    from .charts.tornado import sensitivity_of, swing_chart, tornado_chart

    manifest = sweep.manifest
    folder = sweep.path
    sec = Section(f"Sweep: {sweep.name}", 2)
    n = len(sweep.plan.points)
    sec.text(f"{n} points; folder {folder}.")
    params = [p.path for p in sweep.plan.sweep.parameters]
    ranked = [c for c in sweep.metrics if c in sweep.table]
    rows = range(min(n, 40))
    first = "Points (first 40)" if n > 40 else "Points"
    texts = {c: [_sweep_cell(c, sweep.table[c][i]) for i in rows] for c in sweep.table}
    # the values swept and the spec's metrics (points.csv holds every metric), a table of a
    # few columns at a time with the point's id in each: it wraps on any page
    shown = [*params, *ranked]
    for k in range(0, len(shown), SWEEP_COLUMNS):
        part = shown[k:k + SWEEP_COLUMNS]
        sec.table(["point", *part], [[texts["point"][i], *[texts[c][i] for c in part]]
                                     for i in rows],
                  f"{first}: the values swept and the metrics ranked below"
                  + (f", part {k // SWEEP_COLUMNS + 1}" if len(shown) > SWEEP_COLUMNS else "")
                  + " (points.csv holds every metric)")
    out = [sec]
    if sweep.sensitivity:
        _, cols, value = sensitivity_of(sweep)
        sens = Section("Sensitivity", 3)
        keep = [c for c in SENSITIVITY_COLUMNS if c in cols and any(
            _sens_cell(v) for v in cols[c])]  # an index the design gives none of: left out
        sens.table([SENSITIVITY_COLUMNS[c] for c in keep],
                   [[_sens_cell(cols[c][i]) for c in keep] for i in range(len(cols["metric"]))],
                   f"Ranked by {SENSITIVITY_COLUMNS.get(value, value)}")
        sens.chart(f"{_slug(folder.name)}-tornado", tornado_chart(sweep),
                   "Influence of the swept parameters")
        with contextlib.suppress(AdvsimError):  # not a grid sweep: no swing
            sens.chart(f"{_slug(folder.name)}-swing", swing_chart(sweep),
                       "Swing of each metric across each parameter's range")
        out.append(sens)
    s = Section("The sweep as run", 3)
    s.code(sweep.spec_yaml, "sweep.yaml")
    out.append(s)
    prov = Section("Provenance", 3)
    prov.table(["", ""], [[k, manifest[k]] for k in ("advsim", "seed", "created")
                          if k in manifest] or [["advsim", __version__]])
    out.append(prov)
    return out


SWEEP_COLUMNS = 5  # a sweep's outcomes are shown this many columns to a table


def _sweep_cell(column: str, v: Any) -> str:
    """A cell of points.csv as the report shows it: a day as a whole day (censored past the
    horizon), a probability never as 0 or 1 unless it is, km to 0.1 km."""
    import numpy as np

    if not isinstance(v, (float, np.floating)):
        return str(v)
    x = float(v)
    metric = column.rsplit(".", 1)[-1]
    if metric.startswith("day_"):
        return N.day(None if np.isnan(x) else x)
    if np.isnan(x):
        return N.MISSING
    if metric.startswith("prob_"):
        return N.probability(x)
    if metric.startswith("advance_km"):
        return N.km(x)
    if metric.startswith("held_km2"):
        return N.km2(x)
    return N.number(x, 3)


SENSITIVITY_COLUMNS = {  # sensitivity.csv's columns the report shows, and their headings
    "metric": "metric", "rank": "rank", "parameter": "parameter",
    "sobol_total": "Sobol total index", "sobol_first": "Sobol first-order index",
    "prcc": "PRCC", "prcc_low": "PRCC 95% low", "prcc_high": "PRCC 95% high", "note": "note"}


def _sens_cell(v: Any) -> str:
    """A cell of the sensitivity table: a number to three significant figures (empty where
    sensitivity.csv leaves it empty: undefined), text as it is."""
    import numpy as np

    if isinstance(v, (float, np.floating)):
        return "" if np.isnan(v) else N.number(float(v), 3)
    return str(v)


TARGET_UNITS = {"advance_km": "km", "held_km2": "km²"}  # a quantile table's targets' units
SCORE_ROWS = (("crps", "CRPS (fair)"), ("wis", "WIS (23 quantiles)"))


def _shared(values: Sequence[float | None], sig: int = 3) -> list[str]:
    """Numbers of one row or column with shared decimals: the smallest nonzero one gets ``sig``
    significant figures (a model's score beside a baseline ten times worse keeps its digits)."""
    finite = [abs(v) for v in values if v is not None and v == v and v != 0]
    k = min(N.decimals_for([min(finite)], sig), 4) if finite else 0
    return [N.MISSING if v is None or v != v else f"{v:,.{k}f}" for v in values]


def _share_of(x: float | None, n: int) -> str:
    """A coverage as a share and a count: "0.36 (5/14)"."""
    if x is None:
        return N.MISSING
    return f"{x:.2f} ({round(x * n)}/{n})"


def _forecasters(scores: dict) -> list[tuple[str, dict]]:
    """The model's scores and every baseline's, named as the CLI names them."""
    from .text_forecasts import forecaster_words

    return [("model", scores), *[(forecaster_words(k), b)
                                 for k, b in (scores.get("baselines") or {}).items()]]


def _scores_table(sec: Section, scores: dict, unit: str, n: int | None, caption: str) -> None:
    """Scores of the model and each baseline, a column each (lower CRPS and WIS are better;
    coverage near 0.5 and 0.9 is calibrated)."""
    fs = _forecasters(scores)
    rows = [[f"{what}, {unit}", *_shared([f.get(k) for _, f in fs])] for k, what in SCORE_ROWS]
    for k, what in (("coverage_50", "coverage of the 50% band"),
                    ("coverage_90", "coverage of the 90% band")):
        rows.append([what, *[_share_of(f.get(k), n) if n else
                             N.MISSING if f.get(k) is None else f"{f[k]:.2f}" for _, f in fs]])
    if any(f.get("brier") is not None for _, f in fs):
        rows.append(["Brier of the objective fallen by the date",
                     *_shared([f.get("brier") for _, f in fs], 2)])
    skill = [None, *[f.get("crps_skill") for _, f in fs[1:]]]
    rows.append(["CRPS skill of the model against it (1 is perfect, > 0 beats it)",
                 "", *[N.signed(s, 2) for s in skill[1:]]])
    hists = [f.get("pit_histogram") for _, f in fs]
    if any(hists):
        rows.append(["PIT histogram, 10 bins from 0 to 1 (flat is calibrated)",
                     *[" ".join(str(c) for c in h) if h else N.MISSING for h in hists]])
    sec.table(["", *[name for name, _ in fs]], rows, caption)


def backtest_sections(bt: SavedBacktest, label: str = "backtest") -> list[Section]:
    """A saved backtest (``advsim backtest --out DIR``): per sector, the model's and every
    baseline's scores side by side, the projection and its PIT at each observed date, and a
    chart of the observations over the model's bands; for many origins or a self-test, the
    pooled scores and those per origin."""
    doc = bt.scores
    where = str(bt.path) if bt.path is not None else "memory"
    sec = Section(f"Backtest: {doc.get('scenario', where)}", 2)
    sec.text(f"Scores against {doc.get('observed', 'the observed series')} from {where}: "
             f"{doc.get('replications', 0):,} replications, seed {doc.get('seed')}. One "
             "observed series is one draw, and its dates are strongly correlated: a few weeks "
             "of one sector is weak evidence either way.")
    bases = doc.get("baselines") or {}
    if bases:
        sec.items([f"Baseline: {v}" for v in bases.values()])
    out = [sec]
    for name, r in (doc.get("sectors") or {}).items():
        s = Section(f"Backtest sector {name}: {r.get('kind', '')}, {r.get('unit', '')}", 3)
        n = r.get("n_obs", 0)
        dates = r.get("dates") or []
        unit = "km²" if "km²" in r.get("unit", "") else "km"
        s.text(f"{n} observation date{'s' * (n != 1)} after the start"
               + (f", from {dates[0]} to {dates[-1]}" if dates else "") + f"; {r['objective']}: "
               + (f"observed fallen by {r['objective_fell_observed']}."
                  if r.get("objective_fell_observed") else "not observed fallen."))
        _scores_table(s, r, unit, n, "Scores: the model and each baseline")
        s.items([f"{forecaster}: {f['method']}" for forecaster, f in _forecasters(r)[1:]
                 if f.get("method")])
        bands = r.get("bands") or {}
        fmt = N.km2 if unit == "km²" else N.km
        crps = N.column(r.get("crps_by_date") or [], 3)
        rows = [[d, str(day), fmt(y), *[fmt(bands[k][i]) for k in bands],
                 N.probability(r["pit"][i]), crps[i]]
                for i, (d, day, y) in enumerate(zip(dates, r.get("days") or [],
                                                    r.get("observed") or []))]
        s.table(["date", "day", "observed", *[k.upper() for k in bands], "PIT", "CRPS"], rows,
                f"The model's projection at each observed date ({unit}), its PIT and CRPS")
        if bands and dates:
            s.chart(f"{_slug(label)}-{_slug(name)}", _backtest_figure(doc, name),
                    f"{name}: the observations over the model's bands (P5–P95, P25–P75 and the "
                    "median at each observed date)")
        out.append(s)
    pooled = doc.get("pooled")
    if pooled:
        s = Section("Pooled scores", 3)
        what = doc.get("self_test")
        if what:
            s.text(f"A self-test: {what.get('series')} series drawn from {what.get('truth')}, "
                   f"observed every {what.get('observed_every_days')} days.")
        s.text(f"{pooled.get('origins', 0)} origin(s) × {pooled.get('sectors', 0)} sector(s): "
               f"{pooled.get('cases', 0)} cases, {pooled.get('n_obs', 0)} scored dates.")
        pit = pooled.get("pit") or {}
        flat = dict(pooled)
        if isinstance(pit, dict):
            flat["pit_histogram"] = pit.get("histogram")
        flat["baselines"] = {k: {**b, "pit_histogram": (b.get("pit") or {}).get("histogram")
                                 if isinstance(b.get("pit"), dict) else None}
                             for k, b in (pooled.get("baselines") or {}).items()}
        units = {TARGET_UNITS.get(x, x) for x in bt.quantiles.target}
        _scores_table(s, flat, units.pop() if len(units) == 1 else "mixed units", None,
                      "Pooled scores: the model and each baseline")
        if isinstance(pit, dict) and pit.get("ks_pvalue") is not None:
            s.text(f"Uniformity of the PIT: Kolmogorov–Smirnov D = "
                   f"{pit.get('ks_statistic', 0):.2f}, p {N.pvalue(pit['ks_pvalue'])} "
                   "(optimistic: pooled PITs of overlapping windows are correlated).")
        cases = [(o.get("origin"), sector, r) for o in doc.get("origins") or []
                 for sector, r in o.get("sectors", {}).items()]
        crps = N.column([r.get("crps") for _, _, r in cases], 3)
        wis = N.column([r.get("wis") for _, _, r in cases], 3)
        rows = [[origin, sector, str(r.get("n_obs")), crps[i], wis[i],
                 *[N.MISSING if r.get(k) is None else f"{r[k]:.2f}"
                   for k in ("coverage_50", "coverage_90")],
                 N.signed(r.get("crps_skill_persistence"), 2), N.signed(r.get("crps_skill"), 2)]
                for i, (origin, sector, r) in enumerate(cases)]
        if rows:
            s.table(["origin", "sector", "dates", "CRPS", "WIS", "coverage 50%",
                     "coverage 90%", "skill against persistence",
                     "skill against the trailing rate"], rows,
                    "Per origin (skill: 1 - CRPS / the baseline's CRPS)")
        out.append(s)
    notes = doc.get("notes") or []
    if notes:
        out[-1].items([f"Note: {x}" for x in notes])
    return out


def _backtest_figure(doc: dict, name: str) -> Figure:
    """One sector of a saved backtest: the observations over the model's P5–P95 and P25–P75
    bands and median at the observed dates (the folder keeps those, not the model's runs)."""
    import matplotlib.dates as mdates

    from .charts.base import dated, figure

    r = doc["sectors"][name]
    fig, (ax,) = figure(1, 3.4)
    x = [mdates.date2num(dt.date.fromisoformat(d)) for d in r["dates"]]
    b = r["bands"]
    ax.fill_between(x, b["p5"], b["p95"], color="C0", alpha=0.18, lw=0, label="model P5–P95")
    ax.fill_between(x, b["p25"], b["p75"], color="C0", alpha=0.35, lw=0, label="model P25–P75")
    ax.plot(x, b["p50"], color="C0", lw=1.2, label="model median")
    observed = Path(str(doc.get("observed") or "the observed series")).name
    ax.plot(x, r["observed"], "o", color="black", ms=4, label=f"observed: {observed}")
    ax.set_title(f"{doc.get('scenario', '')}: {name}", fontsize=11)
    ax.set_ylabel(r.get("unit", ""))
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    dated(ax)
    return fig


OUTLOOK_PLACES = 30  # an outlook's places the report tables, by risk (places.csv has all)


def outlook_sections(o: SavedOutlook, label: str = "outlook") -> list[Section]:
    """A saved outlook (``advsim outlook --out DIR``): how it was made, its places by risk
    (where each stands, P(fallen) within 30 to 365 days and the P10/P50/P90 dates of the
    fall), and its map."""
    from types import SimpleNamespace

    from .text_outlook import _labels

    s = o.summary
    where = str(o.path) if o.path is not None else "memory"
    sec = Section(f"Outlook of {s.get('map_date')}", 2)
    places = s["places"]
    cls, adv = s.get("class") or {}, s.get("advance") or {}
    sec.text(f"{len(places)} places within {N.number(s.get('radius_km'), 3)} km of the "
             f"held territory on the map of {s.get('map_date')} (the last on or before "
             f"{s.get('date')}), and outside it, projected over {s.get('horizon_days')} days, "
             f"{s.get('replications', 0):,} replications a place, seed {s.get('seed')}; "
             f"folder {where}.")
    if cls:
        regimes = ", ".join(f"{name} ×{N.number(r.get('factor'), 2)} for about "
                            f"{N.number(r.get('sojourn_mean_days'), 2)} days"
                            for name, r in (adv.get("regimes") or {}).items())
        sec.text(f"The reference class: {cls.get('approaches')} approaches (places the front "
                 f"came within {N.number(cls.get('within_km'), 3)} km of; {cls.get('fell')} "
                 f"fell) in {s.get('snapshots')} maps up to {cls.get('until')}; the advance "
                 f"fitted to it: base {N.number(adv.get('base_mean_m_per_day'), 2)} m/day "
                 f"(cv {N.number(adv.get('base_cv'), 2)} across places)"
                 + (f", regimes {regimes}." if regimes else "."))
    names = _labels([SimpleNamespace(name=p["name"], region=p.get("region") or "",
                                     lat=p["lat"], lon=p["lon"], slug=p["place"])
                     for p in places])
    # the headline's columns only: p_fallen_180d, not p_fallen_180d_nearer_0_5km
    within = [int(m.group(1)) for k in (places[0] if places else ())
              if (m := re.fullmatch(r"p_fallen_(\d+)d", k))]
    start = dt.date.fromisoformat(s["map_date"])
    top = places[:OUTLOOK_PLACES]
    shown = f"the first {OUTLOOK_PLACES} of {len(places)}" if len(places) > OUTLOOK_PLACES \
        else f"all {len(places)}"
    # the fall under its other definitions, where the outlook read them (places.csv columns)
    read = bool(top) and "distance_contested_km" in top[0]
    rng = 180 if 180 in within else (within[-1] if within else 0)
    tags = [k for k in (top[0] if top else ()) if k.startswith(f"p_fallen_{rng}d_")]

    def spread(p: dict) -> str:  # as the printed outlook has it
        got = [p[k] for k in tags if p.get(k) is not None]
        return N.probability_range(min(got), max(got)) if got else N.MISSING

    sec.table(["rank", "place", "km", *(["grey km"] if read else []), "regime (days in it)",
               "surrounded"],
              [[str(p["rank"]), names[p["place"]], N.km(p["distance_km"]),
                *([N.MISSING if p.get("distance_contested_km") is None
                   else N.km(max(p["distance_contested_km"], 0.0))] if read else []),
                f"{p['regime']} ({p['regime_days']} d)" if p.get("regime") else N.MISSING,
                f"{p['surrounded_share']:.0%}"] for p in top],
              f"Places by risk, where each stands ({shown}; places.csv holds every one)")
    sec.table(["place", *[f"{d}\u00a0d" for d in within],
               *([f"{rng}\u00a0d range"] if read and tags else []),
               "P10 date", "P50 date", "P90 date"],
              [[names[p["place"]], *[N.probability(p[f"p_fallen_{d}d"]) for d in within],
                *([spread(p)] if read and tags else []),
                *[N.date(start, p.get(f"fall_day_{k}")) for k in ("p10", "p50", "p90")]]
               for p in top],
              f"Places by risk, when each may fall ({shown}): P(fallen) within "
              f"{', '.join(map(str, within))} days, and the dates")
    part_way = "time-in-regime" in ((adv.get("extensions") or ()) if adv else ())
    sec.text("km: to the held territory on the map. Regime: of the front's last step towards "
             "the place (stalled, grinding, surging, setback); a projection starts "
             + ("part-way through it, its days in it already spent (time-in-regime)"
                if part_way else "a fresh spell in it")
             + ". Surrounded: the share of bearings with held ground within "
             f"{N.number(s.get('radius_km'), 3)} km. P(fallen) within so many days of the map; "
             "the dates: of the 10th, 50th and 90th percentile of the fall "
             f"({N.CENSORED}: later than the horizon)."
             + (" Fallen: the place's point inside the held territory, the grey (contested) "
                "zone not counted; grey km: the distance with it counted; the range: "
                f"P(fallen within {rng} days) with the point 0.5 km nearer or farther or the "
                "grey zone counted, lowest to highest, read on one more run of the same paths."
                if read else ""))
    if o.map_png is not None:
        sec.image(f"{_slug(label)}-map", o.map_png,
                  f"The map of {s.get('map_date')}: the held territory and each place "
                  "coloured by its risk")
    return [sec]


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-") or "chart"


def _manifest(folder: Path | None) -> dict:
    if folder is None or not (folder / "manifest.json").is_file():
        return {}
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def build(items: Sequence[str | os.PathLike[str] | Item]) -> list[Section]:
    """The report's sections for runs (folders, sweep points or Results), sweeps (folders or
    SweepResults) and backtests (folders or SavedBacktests): the headline of every run's
    objectives first, then the comparison of the runs (two or more), then each item in the
    order given. Every item is read (``load``) before any section is built, so a bad one fails
    fast. Chart names are unique in the report: each starts with its item's place in it."""
    from ..artifacts.outlooks import SavedOutlook
    from ..forecast.saved import SavedBacktest
    from ..running.outcomes import Result

    if not items:
        raise AdvsimError("report: name at least one results folder, sweep folder or backtest "
                          "folder (RUN_OR_SWEEP_OR_BACKTEST...)")
    loaded = [load(item) for item in items]
    runs = [x for x in loaded if isinstance(x, Result)]
    labels = dict(zip(map(id, runs), labels_of(runs)))
    summaries = {id(r): r.summary() for r in runs}
    out: list[Section] = []
    if runs:
        out.append(headline_section(runs, [labels[id(r)] for r in runs],
                                    [summaries[id(r)] for r in runs]))
    if len(runs) > 1:
        out.append(comparison_section(runs, [labels[id(r)] for r in runs]))
    used: set[str] = set()
    for index, got in enumerate(loaded, 1):
        if isinstance(got, Result):
            made = run_sections(got, True, labels[id(got)], summaries[id(got)])
        elif isinstance(got, SavedBacktest):
            made = backtest_sections(got, got.path.name if got.path else "backtest")
        elif isinstance(got, SavedOutlook):
            made = outlook_sections(got, got.path.name if got.path else "outlook")
        else:
            made = sweep_sections(got)
        out += _unique_charts(made, used, index)
    return out


def _unique_charts(sections: list[Section], used: set[str], index: int) -> list[Section]:
    """Chart names unique in the report: each starts with its item's place in the report
    (``2-strikes-fan``), so that two runs of one scenario, or two folders of one name, keep
    their own charts (files of the Markdown, ids of the HTML)."""
    for s in sections:
        for i, (kind, b) in enumerate(s.blocks):
            if kind not in ("chart", "image"):
                continue
            name, fig, caption = b
            unique = base = f"{index}-{name}"
            n = 2
            while unique in used:
                unique, n = f"{base}-{n}", n + 1
            used.add(unique)
            s.blocks[i] = (kind, (unique, fig, caption))
    return sections


# -- rendering -----------------------------------------------------------------------------------


def svg_of(fig: Figure, prefix: str = "") -> str:
    """A figure as SVG markup for inline use: text as paths (no fonts needed), no XML prolog,
    and every id the SVG defines prefixed with ``prefix`` (with the references to it), so that
    several charts in one page share no id (matplotlib numbers each figure's elements from 1:
    ``figure_1``, ``patch_1``)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": str(id(fig))}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    if not prefix:
        return text
    ids = set(re.findall(r'\sid="([^"]+)"', text))
    text = re.sub(r'(\sid=")([^"]+)"', lambda m: f'{m.group(1)}{prefix}-{m.group(2)}"', text)
    return re.sub(r'(url\(#|href="#)([^)"]+)',
                  lambda m: m.group(1) + (f"{prefix}-{m.group(2)}" if m.group(2) in ids
                                          else m.group(2)), text)


CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;
max-width:62rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;
margin-top:2.4rem}h3{margin-top:1.6rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-variant-numeric:tabular-nums;
font-size:.92em;max-width:100%}
th,td{border:1px solid #ccc;padding:.2rem .4rem;text-align:left;vertical-align:top;
overflow-wrap:break-word}td.n,th.n{text-align:right}td.n,span.n{white-space:nowrap}
td.long{overflow-wrap:anywhere}
th{background:#f3f3f3}table.headline{width:100%}
caption{caption-side:top;text-align:left;font-weight:600;padding-bottom:.2rem}
figure{margin:1rem 0;break-inside:avoid}figure svg{width:100%;height:auto}
figure img{max-width:100%;height:auto}
figcaption{font-size:.9rem;color:#444}
pre{background:#f7f7f7;border:1px solid #ddd;padding:.6rem;font-size:.8rem;
white-space:pre-wrap;overflow-wrap:anywhere}
details{margin:.6rem 0}summary{cursor:pointer;color:#333}
.meta{color:#555}table.kv td{text-align:left}
@page{margin:14mm 12mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:10pt}
h2,h3,caption{break-after:avoid}table,tr,figure{break-inside:avoid}
pre{font-size:7.5pt}a{color:inherit}
figure svg{max-height:125mm;width:auto;max-width:100%}}
"""


def _breakable(text: str) -> str:
    """Escaped text that may wrap after a dot, underscore or slash (a sweep's metric name, a
    folder): a long name wraps within its cell instead of widening the table."""
    return re.sub(r"([._/])(?=\w)", r"\1<wbr>", html.escape(text))


_NUMERIC = re.compile(r"[<>±+\-]? ?[\d.,]+%?( ?[\-:][\d.,]+)*( \[[^\]]*\]| \(\d+/\d+\))?|"
                      r"\d+( \d+)+|"  # counts: a histogram's bins
                      + re.escape(N.CENSORED) + "|" + re.escape(N.MISSING))
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def _td(cell: Any) -> str:
    """A table cell: a number or date (or "> horizon") right-aligned on one line, text
    left-aligned and free to wrap, but never inside a date."""
    text = str(cell)
    if _NUMERIC.fullmatch(text):
        return f'<td class="n">{html.escape(text)}</td>'
    if any(len(word) > 24 for word in text.split()):  # a hash or a path: may break anywhere
        return f'<td class="long">{_breakable(text)}</td>'
    return "<td>" + _DATE.sub(lambda m: f'<span class="n">{m.group(0)}</span>',
                              _breakable(text)) + "</td>"


def _numeric_column(rows: Sequence[Sequence[Any]], i: int) -> bool:
    """Whether column ``i`` holds numbers (its heading is then right-aligned over them)."""
    return all(_NUMERIC.fullmatch(str(r[i])) for r in rows if i < len(r) and str(r[i]))


def to_html(sections: Sequence[Section], title: str) -> str:
    """One self-contained page: styles and charts inline, no script, nothing fetched. Every
    id in it is unique: a chart's is its unique name, and its SVG's own ids start with it."""
    esc = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width,initial-scale=1">',
             f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{esc(title)}</h1>",
             f'<p class="meta">advsim {esc(__version__)} · report written '
             f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC</p>"]
    for s in sections:
        parts.append(f"<h{s.level}>{esc(s.title)}</h{s.level}>")
        for kind, b in s.blocks:
            if kind == "text":
                parts.append(f"<p>{esc(b)}</p>")
            elif kind == "items":
                parts.append("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in b) + "</ul>")
            elif kind == "code":
                text, caption = b
                parts.append(f'<p class="meta">{esc(caption)}</p><pre>{esc(text)}</pre>')
            elif kind == "details":
                text, caption = b
                parts.append(f"<details><summary>{esc(caption)}</summary>"
                             f"<pre>{esc(text)}</pre></details>")
            elif kind == "table":
                header, rows, caption, css = b
                cap = f"<caption>{esc(caption)}</caption>" if caption else ""
                head = "" if not any(header) else (
                    "<thead><tr>" + "".join(
                        ('<th class="n">' if i and _numeric_column(rows, i) else "<th>")
                        + f"{_breakable(str(h))}</th>" for i, h in enumerate(header))
                    + "</tr></thead>")
                body = "".join("<tr>" + "".join(_td(c) for c in r) + "</tr>" for r in rows)
                cls = " ".join(c for c in (css, "" if any(header) else "kv") if c)
                attr = f' class="{esc(cls)}"' if cls else ""
                parts.append(f"<table{attr}>{cap}{head}<tbody>{body}</tbody></table>")
            elif kind == "image":
                name, png, caption = b
                data = base64.b64encode(png).decode("ascii")
                parts.append(f'<figure class="image" id="{esc(name)}"><img alt="{esc(caption)}" '
                             f'src="data:image/png;base64,{data}">'
                             f"<figcaption>{esc(caption)}</figcaption></figure>")
            else:
                name, fig, caption = b
                parts.append(f'<figure class="chart" id="{esc(name)}">{svg_of(fig, name)}'
                             f"<figcaption>{esc(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def to_markdown(sections: Sequence[Section], title: str,
                chart_dir: str | None) -> tuple[str, dict[str, bytes]]:
    """Markdown for pasting, and the files of its charts by name, SVG (a PNG for a chart
    drawn before: an outlook's map), linked beside it; with ``chart_dir`` None, charts are
    left out with a note."""
    esc = md_escape
    lines = [f"# {esc(title)}", "", f"advsim {esc(__version__)}", ""]
    files: dict[str, bytes] = {}
    for s in sections:
        lines += ["#" * s.level + " " + esc(s.title), ""]
        for kind, b in s.blocks:
            if kind == "text":
                lines += [esc(b), ""]
            elif kind == "items":
                lines += [f"- {esc(x)}" for x in b] + [""]
            elif kind in ("code", "details"):  # Markdown holds no raw HTML: not collapsed
                text, caption = b
                fence = md_fence(text)
                lines += [f"{esc(caption)}:", "", f"{fence}yaml", text.rstrip("\n"), fence, ""]
            elif kind == "table":
                header, rows, caption, _ = b
                if caption:
                    lines += [f"**{esc(caption)}**", ""]
                header = [h or " " for h in header]
                lines.append("| " + " | ".join(esc(h) for h in header) + " |")
                lines.append("|" + "|".join(" --- " for _ in header) + "|")
                lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
                lines.append("")
            else:
                name, drawing, caption = b
                if chart_dir is None:
                    lines += [f"*(chart left out: {esc(caption)})*", ""]
                    continue
                if kind == "image":
                    file = f"{chart_dir}/{name}.png"
                    files[file] = drawing
                else:
                    file = f"{chart_dir}/{name}.svg"
                    files[file] = svg_of(drawing, name).encode("utf-8")
                lines += [f"![{esc(caption)}]({urllib.parse.quote(file)})", ""]
    return "\n".join(lines).rstrip("\n") + "\n", files


# Punctuation Markdown acts on (an underscore only where it can start or end emphasis: not
# inside a word, as in a file name), and what starts a heading, list or rule at a line's start.
_MD_PUNCT = re.compile(r"([\\`*\[\]~|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_MD_BLOCK = re.compile(r"^(?:(#|[+\-=](?=\s|$|[+\-=]))|(\d{1,9})([.)])(?=\s|$))")


def md_escape(x: Any) -> str:
    """Text as Markdown that shows it and nothing else (every renderer, CommonMark's too): one
    line (as HTML shows it), no raw HTML (``<``, ``>`` and ``&`` as entities), no emphasis,
    link, code or table cell border, and no heading, list or rule at its start."""
    s = " ".join(str(x).split())
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_PUNCT.sub(r"\\\1", s)
    return _MD_BLOCK.sub(lambda m: "\\" + m.group(1) if m.group(1)
                         else m.group(2) + "\\" + m.group(3), s)


def md_fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``, which it then cannot end."""
    runs = [len(r) for r in re.findall(r"`+", text)]
    return "`" * max(3, max(runs, default=0) + 1)


def write_report(items: Sequence[str | os.PathLike[str] | Item],
                 output: str | os.PathLike[str], *, title: str | None = None,
                 charts: bool = True) -> list[Path]:
    """Write the report of ``items`` to ``output``: ``.html`` (one self-contained file) or
    ``.md`` (Markdown, its charts as SVG files in a folder ``NAME_charts`` beside it, or left
    out with ``charts=False``); ``-`` writes the HTML page to standard output. Returns the
    files written."""
    out = Path(output)
    stdout = outputs.is_stdout(output)
    if not stdout and out.suffix.lower() not in FORMATS:
        raise AdvsimError(f"output: {out}: unknown report suffix {out.suffix or '(none)'!r} "
                          "(expected .html or .md)", param="output")
    outputs.check_output(output, flag="-o/--output")  # before anything is read or drawn
    outputs.check_distinct({"-o/--output": output},
                           [i for i in items if isinstance(i, (str, os.PathLike))])
    chart_dir = f"{out.stem}_charts" if charts and not stdout else None
    beside = Path(os.path.realpath(out)).parent if out.is_symlink() else out.parent
    if chart_dir is not None and out.suffix.lower() == ".md":
        folder = beside / chart_dir  # beside the file that links to the charts
        if os.path.lexists(folder) and not folder.is_dir():
            raise AdvsimError(f"{folder}: not a folder (the report's charts go there: move "
                              "it, or name another -o)")
    from .charts.base import require_matplotlib

    require_matplotlib()
    sections = build(items)
    title = title or " · ".join(s.title for s in sections
                                if s.level == 2 and s.title not in ("Headline", "Comparison"))
    if stdout or out.suffix.lower() == ".html":
        outputs.write_output(output, to_html(sections, title).encode("utf-8"),
                             flag="-o/--output")
        return [out]
    text, files = to_markdown(sections, title, chart_dir)
    written: list[Path] = []
    own = beside / chart_dir if chart_dir else None
    made = own is not None and not os.path.lexists(own)
    try:
        for name, data in files.items():
            path = beside / name
            outputs.write_output(path, data, flag="-o/--output")
            written.append(path)
        outputs.write_output(output, text.encode("utf-8"), flag="-o/--output")
    except BaseException:
        if made and own is not None:  # a failed report leaves no charts folder of its own
            for path in written:
                path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                own.rmdir()
        raise
    return [out, *written]
