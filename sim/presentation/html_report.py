"""A report to share: runs, sweeps and saved backtests as one self-contained HTML file (inline
SVG charts, print CSS) or as Markdown with its charts as SVG files beside it.

The report is built once as a small document (sections of paragraphs, tables, code and charts)
and then rendered; the charts are the figures of ``sim.presentation.charts``, the numbers
those of the run's own summary.
"""

from __future__ import annotations

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
from . import words

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..forecast.saved import SavedBacktest
    from ..running.outcomes import Result
    from ..sweep.table import SweepResult

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
              caption: str = "") -> None:
        self.blocks.append(("table", (list(header), [list(r) for r in rows], caption)))

    def code(self, s: str, caption: str = "") -> None:
        self.blocks.append(("code", (s, caption)))

    def items(self, xs: Sequence[str]) -> None:
        self.blocks.append(("items", list(xs)))

    def chart(self, name: str, fig: Figure, caption: str) -> None:
        self.blocks.append(("chart", (name, fig, caption)))


# -- reading what is given -----------------------------------------------------------------------


def load(item: str | os.PathLike[str] | Result | SweepResult | SavedBacktest
         ) -> Result | SweepResult | SavedBacktest:
    """What a report item is, read back and checked: a Result (a results folder, or a sweep
    point ``SWEEP_DIR:POINT_ID``), a SweepResult or a SavedBacktest, by the kind its
    manifest.json names. Anything advsim did not write is refused in one line."""
    from ..artifacts.files import KINDS, kind_of
    from ..forecast.saved import SavedBacktest
    from ..running.outcomes import Result
    from ..sweep.table import SweepResult

    if isinstance(item, (Result, SweepResult, SavedBacktest)):
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
        raise AdvsimError(f"{spec}: not a folder advsim wrote (a report takes results, sweep and "
                          "backtest folders; a backtest is reported from its folder (advsim "
                          "backtest ... --out DIR), not from its JSON)")
    manifest = _manifest(p)
    kind = kind_of(p, manifest)
    if kind == "run" or (kind is None and (p / "manifest.json").exists()):
        return Result.from_folder(spec)  # an unreadable manifest: the run reader says how
    if kind == "sweep":
        return SweepResult.from_folder(spec)
    if kind == "backtest":
        return SavedBacktest.from_folder(spec)
    if kind is None:
        raise AdvsimError(f"{spec}: not written by advsim (no manifest.json naming its kind; "
                          "expected a results folder, a sweep folder or a backtest folder)")
    raise AdvsimError(f"{spec}: {KINDS.get(kind, f'a folder of kind {kind!r}')}, which a "
                      "report does not hold (expected a results folder, a sweep folder or a "
                      "backtest folder)")


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


def _fmt_day(d: float | None) -> str:
    return "beyond the horizon" if d is None else f"{d:g}"


def run_sections(run: Result, charts: bool = True) -> list[Section]:
    """The sections of one run: headline percentiles and dates per sector, progress, forces,
    charts, the scenario as run with its assumptions and sources, and provenance."""
    from .charts.runs import cdf_chart, fan_chart, forces_chart, hist_chart, milestones_chart

    summary = run.summary()
    top = Section(f"{run.name}", level=2)
    sc = run.scenario
    top.text(f"{run.replications:,} replications, seed {run.seed}, from {sc.start} over "
             f"{sc.horizon_days} days (to {run.date_of(sc.horizon_days)})."
             + (f" Results folder: {run.source}." if run.source else ""))
    if sc.description:
        top.text(sc.description)
    out = [top]
    for name, s in summary["sectors"].items():
        sec = Section(f"Sector {name}: {s['kind']}, objective {s['objective']['name']}", 3)
        obj = s["objective"]
        sec.text(f"P(objective reached within {sc.horizon_days} days) = "
                 f"{obj['prob_reached']:.3f} (Monte Carlo s.e. {obj['prob_reached_se']:.4f}). "
                 "A percentile beyond the horizon is censored: those replications have not "
                 "reached the objective by then.")
        rows = [[k.upper(), _fmt_day(obj["day"][k]), obj["date"][k] or "—",
                 "" if obj["day_se"].get(k) is None else f"± {obj['day_se'][k]:g}"]
                for k in obj["day"]]
        sec.table(["percentile", "day", "date", "MC s.e."], rows,
                  "Day the objective is reached")
        so = run.sectors[name]
        prog = s[so.progress_name]
        sec.table(["percentile", *[f"day {d}" for d in prog["days"]]],
                  [[k.upper(), *[f"{v:g}" for v in prog[k]]] for k in obj["day"]],
                  words.progress_label(so.sector))
        if s.get("milestones"):
            sec.table(["milestone", "P(reached)", "P10 date", "P50 date", "P90 date"],
                      [[m, f"{v.get('prob_reached', 0):.3f}", v["date"].get("p10") or "—",
                        v["date"].get("p50") or "—", v["date"].get("p90") or "—"]
                       for m, v in s["milestones"].items()], "Milestones")
        forces = s.get("forces")
        if forces:
            rows = []
            for side in ("attacker", "defender"):
                f = forces[side]
                b = f["breakpoint"]
                what = (f"{b['fraction']:.0%} of peak" if b["fraction"] else "none left")
                troops = f.get("troops", {}).get("p50")
                rows.append([side, f"{f['start']:,.0f}",
                             *([f"{v:,.0f}" for v in troops] if troops else
                               ["—"] * len(forces["days"])),
                             what, f"{b.get('prob_reached', 0):.3f}",
                             b.get("date", {}).get("p50") or "—"])
            sec.table(["side", "troops at start",
                       *[f"median day {d}" for d in forces["days"]],
                       "breakpoint", "P(reached)", "median date"], rows,
                      "Forces: median troops at checkpoint days, and the day each side reaches "
                      "its breakpoint")
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
        ch.chart(f"{_slug(run.name)}-fan", fan_chart([run], sectors=drawn),
                 "Progress per day: shades P5–P95 to P45–P55 in 10% steps, and the median")
        if any(so.reached.any() for so in shown.values()):
            ch.chart(f"{_slug(run.name)}-cdf", cdf_chart([run], sectors=drawn),
                     "P(objective reached) by date, to the horizon")
            ch.chart(f"{_slug(run.name)}-hist", hist_chart([run], sectors=drawn),
                     "Date the objective is reached; hatched: not within the horizon")
        else:
            ch.text("No replication reaches the objective within the horizon: no chart of "
                    "when it falls.")
        if any(so.sector.milestones for so in shown.values()):
            ch.chart(f"{_slug(run.name)}-milestones", milestones_chart([run], sectors=drawn),
                     "When each milestone falls")
        if all(so.has_forces_bands() for so in shown.values()):
            ch.chart(f"{_slug(run.name)}-forces", forces_chart([run], sectors=drawn),
                     "Troops by side per day")
        out.append(ch)
    out.append(scenario_section(run))
    prov = Section("Provenance", 3)
    manifest = run.manifest
    source = manifest.get("scenario_source") or manifest.get("source")  # a sweep point's, a run's
    inputs = manifest.get("inputs") or {}
    prov.table(["", ""], [[k, v] for k, v in (
        ("advsim", manifest.get("advsim", __version__)),
        ("seed", run.seed),
        ("replications", f"{run.replications:,}"),
        ("scenario sha256", manifest.get("scenario_sha256") or run.scenario_sha256 or "—"),
        ("scenario file", source or "—"),
        ("scenario file sha256", inputs.get(source) or "—"),
        ("overrides", ", ".join(run.overrides) or "none"),
        ("created", manifest.get("created", "—")),
        ("versions", ", ".join(f"{k} {v}" for k, v in manifest.get("versions", {}).items()
                               if v) or "—"),
        ("wall time", f"{manifest.get('wall_seconds', run.wall_seconds):g} s"),
    )])
    out.append(prov)
    return out


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
        scen.code(commented, f"{source}, as run (kept in the results folder as "
                             "scenario.source.yaml)")
    if run.scenario_yaml is not None and (commented is None or run.overrides):
        scen.code(run.scenario_yaml, "scenario.yaml (as resolved and run)")
    return scen


def sweep_sections(sweep: SweepResult) -> list[Section]:
    """A sweep: its spec, the points' metrics, the sensitivity ranking and charts."""
    from .charts.tornado import sensitivity_of, swing_chart, tornado_chart

    manifest = sweep.manifest
    folder = sweep.path
    sec = Section(f"Sweep: {sweep.name}", 2)
    n = len(sweep.plan.points)
    sec.text(f"{n} points; folder {folder}.")
    shown = [c for c in sweep.table if c not in ("seed",)]
    from ..artifacts.tables import csv_fields

    texts = {c: csv_fields(sweep.table[c][:40]) for c in shown}
    sec.table(shown, [[texts[c][i] or "—" for c in shown] for i in range(min(n, 40))],
              "Points (first 40)" if n > 40 else "Points")
    out = [sec]
    if sweep.sensitivity:
        _, cols, value = sensitivity_of(sweep)
        sens = Section("Sensitivity", 3)
        keep = [c for c in ("metric", "rank", "parameter", "sobol_total", "sobol_first", "prcc",
                            "prcc_low", "prcc_high", "note") if c in cols]
        sens.table(keep, [[_sens_cell(cols[c][i]) for c in keep]
                          for i in range(len(cols["metric"]))], f"Ranked by {value}")
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


def _sens_cell(v: Any) -> str:
    """A cell of the sensitivity table as sensitivity.csv writes it (empty where undefined)."""
    import numpy as np

    if isinstance(v, (float, np.floating)):
        from ..artifacts.tables import csv_fields

        return csv_fields(np.array([v]))[0]
    return str(v)


def backtest_sections(bt: SavedBacktest) -> list[Section]:
    """A saved backtest (``advsim backtest --out DIR``): its scores per sector and the
    baseline's (no charts: the folder holds the scores and quantiles, not the model's runs)."""
    doc = bt.scores
    where = str(bt.path) if bt.path is not None else "memory"
    sec = Section(f"Backtest: {doc.get('scenario', where)}", 2)
    sec.text(f"Scores against {doc.get('observed', 'the observed series')} from {where}. "
             "One observed series is one draw, and its dates are strongly correlated: a few "
             "weeks of one sector is weak evidence either way.")
    keys = ("n_obs", "crps", "coverage_50", "coverage_90", "pit", "crps_skill", "brier")
    rows = []
    if "sectors" in doc:
        for name, s in doc["sectors"].items():
            rows.append([name, "model", *[_cell(s.get(k)) for k in keys]])
            base = s.get("baseline") or {}
            if base:
                rows.append([name, f"baseline: {base.get('method', '')}",
                             *[_cell(base.get(k)) for k in keys]])
    else:  # many origins or a self-test: the pooled scores
        p = doc.get("pooled", {})
        rows.append(["pooled", "model", *[_cell(p.get(k)) for k in keys]])
        for name, b in (p.get("baselines") or {}).items():
            rows.append(["pooled", f"baseline: {name}", *[_cell(b.get(k)) for k in keys]])
    sec.table(["sector", "forecast", *keys], rows, "Scores")
    notes = doc.get("notes") or []
    if notes:
        sec.items(notes)
    return [sec]


def _cell(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v)[:60]
    return str(v)


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-") or "chart"


def _manifest(folder: Path | None) -> dict:
    if folder is None or not (folder / "manifest.json").is_file():
        return {}
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def build(items: Sequence[str | os.PathLike[str] | Result | SweepResult | SavedBacktest]
          ) -> list[Section]:
    """The report's sections for runs (folders, sweep points or Results), sweeps (folders or
    SweepResults) and backtests (folders or SavedBacktests), in the order given. Every item is
    read (``load``) before any section is built, so a bad one fails fast."""
    from ..forecast.saved import SavedBacktest
    from ..running.outcomes import Result

    if not items:
        raise AdvsimError("report: name at least one results folder, sweep folder or backtest "
                          "folder (RUN_OR_SWEEP_OR_BACKTEST...)")
    loaded = [load(item) for item in items]
    out: list[Section] = []
    used: set[str] = set()
    for index, got in enumerate(loaded, 1):
        if isinstance(got, Result):
            made = run_sections(got)
        elif isinstance(got, SavedBacktest):
            made = backtest_sections(got)
        else:
            made = sweep_sections(got)
        out += _unique_charts(made, used, index)
    return out


def _unique_charts(sections: list[Section], used: set[str], index: int) -> list[Section]:
    """Chart names unique in the report: a name an earlier item used (two runs of one
    scenario) gets the item's place in the report, so that neither's file replaces the
    other's."""
    for s in sections:
        for i, (kind, b) in enumerate(s.blocks):
            if kind != "chart":
                continue
            name, fig, caption = b
            unique, n = name, index
            while unique in used:
                unique, n = f"{name}-{n}", n + 1
            used.add(unique)
            s.blocks[i] = (kind, (unique, fig, caption))
    return sections


# -- rendering -----------------------------------------------------------------------------------


def svg_of(fig: Figure) -> str:
    """A figure as SVG markup for inline use: text as paths (no fonts needed), no XML prolog,
    ids salted so that several charts in one page do not clash."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": str(id(fig))}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg"):]


CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;
max-width:62rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;
margin-top:2.4rem}h3{margin-top:1.6rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ccc;padding:.2rem .55rem;text-align:right;vertical-align:top}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
caption{caption-side:top;text-align:left;font-weight:600;padding-bottom:.2rem}
figure{margin:1rem 0;break-inside:avoid}figure svg{width:100%;height:auto}
figcaption{font-size:.9rem;color:#444}
pre{background:#f7f7f7;border:1px solid #ddd;padding:.6rem;overflow:auto;font-size:.8rem}
.meta{color:#555}table.kv td{text-align:left}
@media print{body{max-width:none;margin:0;font-size:11pt}h2{break-before:page}
h2:first-of-type{break-before:avoid}table,figure,pre{break-inside:avoid}
pre{white-space:pre-wrap;font-size:8pt}a{color:inherit}}
"""


def to_html(sections: Sequence[Section], title: str) -> str:
    """One self-contained page: styles and charts inline, no script, nothing fetched."""
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
            elif kind == "table":
                header, rows, caption = b
                cap = f"<caption>{esc(caption)}</caption>" if caption else ""
                head = "" if not any(header) else (
                    "<thead><tr>" + "".join(f"<th>{esc(str(h))}</th>" for h in header)
                    + "</tr></thead>")
                body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in r) + "</tr>"
                               for r in rows)
                kv = "" if any(header) else ' class="kv"'  # a list of names and values
                parts.append(f"<table{kv}>{cap}{head}<tbody>{body}</tbody></table>")
            else:
                name, fig, caption = b
                parts.append(f'<figure class="chart" id="{esc(name)}">{svg_of(fig)}'
                             f"<figcaption>{esc(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def to_markdown(sections: Sequence[Section], title: str,
                chart_dir: str | None) -> tuple[str, dict[str, str]]:
    """Markdown for pasting, and the SVG files of its charts by name (linked beside it; with
    ``chart_dir`` None, charts are left out with a note)."""
    esc = md_escape
    lines = [f"# {esc(title)}", "", f"advsim {esc(__version__)}", ""]
    files: dict[str, str] = {}
    for s in sections:
        lines += ["#" * s.level + " " + esc(s.title), ""]
        for kind, b in s.blocks:
            if kind == "text":
                lines += [esc(b), ""]
            elif kind == "items":
                lines += [f"- {esc(x)}" for x in b] + [""]
            elif kind == "code":
                text, caption = b
                fence = md_fence(text)
                lines += [f"{esc(caption)}:", "", f"{fence}yaml", text.rstrip("\n"), fence, ""]
            elif kind == "table":
                header, rows, caption = b
                if caption:
                    lines += [f"**{esc(caption)}**", ""]
                header = [h or " " for h in header]
                lines.append("| " + " | ".join(esc(h) for h in header) + " |")
                lines.append("|" + "|".join(" --- " for _ in header) + "|")
                lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
                lines.append("")
            else:
                name, fig, caption = b
                if chart_dir is None:
                    lines += [f"*(chart left out: {esc(caption)})*", ""]
                    continue
                file = f"{chart_dir}/{name}.svg"
                files[file] = svg_of(fig)
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


def write_report(items: Sequence[str | os.PathLike[str] | Result | SweepResult],
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
    title = title or " · ".join(s.title for s in sections if s.level == 2)
    if stdout or out.suffix.lower() == ".html":
        outputs.write_output(output, to_html(sections, title).encode("utf-8"),
                             flag="-o/--output")
        return [out]
    text, files = to_markdown(sections, title, chart_dir)
    written: list[Path] = []
    own = beside / chart_dir if chart_dir else None
    made = own is not None and not os.path.lexists(own)
    try:
        for name, svg in files.items():
            path = beside / name
            outputs.write_output(path, svg.encode("utf-8"), flag="-o/--output")
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
