"""Tests of ``advsim report``: the HTML and Markdown reports of runs, sweeps and saved
backtests, their contents checked against the runs' own numbers, and the HTML loaded in a real
headless browser (skipped when none is installed)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import math
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.presentation import numbers
from sim.presentation.html_report import assumptions, sources
from sim.running.outcomes import Result

ROOT = Path(__file__).resolve().parents[1]
KURAKHOVE = ROOT / "scenarios/kurakhove-reported.yaml"
N = 300


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("report")
    r = invoke("run", KURAKHOVE, "-n", N, "-j", "1", "--out", root / "run", "-q")
    assert r.exit_code == 0, r.output
    r = invoke("sweep", ROOT / "scenarios/sweeps/kurakhove-forces.yaml", "-n", 40, "-j", "1",
               "--out", root / "sweep", "-q", "--set", "horizon_days=200")
    assert r.exit_code == 0, r.output
    r = invoke("backtest", KURAKHOVE, "--observed",
               ROOT / "scenarios/observed/synthetic-kurakhove.csv", "-n", 100, "--json",
               "--out", root / "bt")
    assert r.exit_code == 0, r.output
    (root / "bt.json").write_text(r.stdout)
    r = invoke("run", KURAKHOVE, "-n", N, "-j", "1", "--out", root / "calm", "-q",
               "--set", "sectors.kurakhove.strikes.0.rate_per_day=0")
    assert r.exit_code == 0, r.output
    r = invoke("report", root / "run", root / "calm", root / "sweep", root / "bt",
               "-o", root / "report.html")
    assert r.exit_code == 0, r.output
    return {"root": root, "run": root / "run", "calm": root / "calm", "sweep": root / "sweep",
            "bt": root / "bt.json", "btdir": root / "bt", "html": root / "report.html"}


class Page(HTMLParser):
    """The parts of a page the tests look at: element counts, table cells (and the tables
    with their captions), ids and the references to them, external links."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.cells: list[str] = []
        self.tables: list[tuple[str, list[list[str]]]] = []  # (caption, rows of cells)
        self.ids: list[str] = []
        self.refs: list[str] = []  # url(#x) and href="#x"
        self.external: list[str] = []
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag in ("td", "th"):
            self._cell = []
        elif tag == "table":
            self.tables.append(("", []))
        elif tag == "tr":
            self.tables[-1][1].append([])
        elif tag == "caption":
            self._caption = []
        for k, v in attrs:
            if k == "id":
                self.ids.append(v)
            if k in ("src", "href", "xlink:href") and v and not v.startswith("#"):
                self.external.append(v)
            if v and k in ("href", "xlink:href") and v.startswith("#"):
                self.refs.append(v[1:])
            self.refs += re.findall(r"url\(#([^)]+)\)", v or "")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            cell = "".join(self._cell)
            self.cells.append(cell)
            self.tables[-1][1][-1].append(cell)
            self._cell = None
        elif tag == "caption" and self._caption is not None:
            self.tables[-1] = ("".join(self._caption), self.tables[-1][1])
            self._caption = None

    def table(self, caption: str) -> list[list[str]]:
        """The rows (header first) of the first table whose caption starts with ``caption``."""
        return next(rows for cap, rows in self.tables if cap.startswith(caption))

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._caption is not None:
            self._caption.append(data)
        self.text.append(data)


def page(path: Path) -> Page:
    p = Page()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_assumptions_and_sources_are_read_from_the_comments():
    text = ("# A scenario.\n# It rests on a report.\n\nname: x  # assumption: a name\n"
            "horizon_days: 10   # report: ten days\n# assumption: on a line of its own\n"
            "seed: 1  # not an assumption, just a note\n")
    assert assumptions(text) == [(4, "name: x — a name"), (6, "on a line of its own")]
    assert sources(text) == ["A scenario. It rests on a report.",
                             "horizon_days: 10 — report: ten days"]


def test_html_report_holds_the_runs_numbers_charts_and_provenance(made):
    p = page(made["html"])
    run = Result.from_folder(made["run"])
    summary = run.summary()["sectors"]["kurakhove"]["objective"]
    manifest = json.loads((made["run"] / "manifest.json").read_text())
    # every chart inline: fan, cdf, hist, milestones, forces of each of the two runs; tornado
    # and swing of the (grid) sweep; the backtest's observations over its bands
    assert p.tags.get("svg") == 13 and p.tags.get("figure") == 13
    assert p.external == [] and "script" not in p.tags  # self-contained, nothing fetched
    days = p.table("Day the objective is reached")
    assert days[0] == ["percentile", "day", "date", "MC s.e., days"]
    p50 = next(row for row in days if row[0] == "P50")
    # a day is a whole day, as the CLI prints it, and its date that of the summary
    assert p50[1] == str(math.floor(summary["day"]["p50"])) and p50[2] == summary["date"]["p50"]
    assert manifest["scenario_sha256"] in p.cells and "0.1.0" in p.cells
    text = "".join(p.text)
    # the objective's sensitivity to where the centre is, as advsim run prints it
    from sim.presentation.text import shifted_line

    shifted = json.loads((made["run"] / "summary.json").read_text())["sectors"]["kurakhove"][
        "objective"]["shifted"]
    assert shifted_line(shifted, 365) in text and "0.5 km nearer–farther" in text
    n_assumptions = sum("# assumption:" in ln for ln in KURAKHOVE.read_text().splitlines())
    assert f"Assumptions it marks ({n_assumptions}," in text
    assert "name: Kurakhove → Pokrovsk" in text  # the scenario as run
    assert "@media print" in made["html"].read_text()


def test_the_headline_leads_with_each_objective_as_the_summary_has_it(made):
    p = page(made["html"])
    assert re.findall(r"<h2>([^<]+)</h2>", made["html"].read_text())[:2] == \
        ["Headline", "Comparison"]  # the answer first
    rows = p.table("Each objective")
    assert rows[0] == ["run", "objective", "P(reached within 365 days)", "P10 date",
                       "P50 date", "P90 date"]
    text = "".join(p.text)
    for label, folder in (("run", made["run"]), ("calm", made["calm"])):
        run = Result.from_folder(folder)
        obj = run.summary()["sectors"]["kurakhove"]["objective"]
        row = next(r for r in rows[1:] if r[0] == label)
        dates = [obj["date"][k] or "> horizon" for k in ("p10", "p50", "p90")]
        assert row[1:] == ["Pokrovsk (sector kurakhove)",
                           numbers.probability(obj["prob_reached"]), *dates]
        assert obj["date"]["p10"] is not None
        assert (f"{label}: Pokrovsk: {numbers.probability(obj['prob_reached'])} within 365 "
                f"days; P50 {dates[1]} (P10 {dates[0]}, P90 {dates[2]})") in text


def test_two_runs_are_compared_as_advsim_compare_reads_them(made):
    from sim.analysis.comparison import compare_runs

    p = page(made["html"])
    text = " ".join(" ".join(p.text).split())
    c = compare_runs([Result.from_folder(made["run"]), Result.from_folder(made["calm"])],
                     labels=["run", "calm"])
    reading = c["sectors"]["kurakhove"]["reading"].replace("\u2212", "-")  # ASCII minus
    assert reading.startswith("calm vs run: Pokrovsk falls a median")
    assert f"kurakhove: {reading}" in text
    both = p.table("kurakhove: Pokrovsk in each run")
    assert both[0] == ["", "run", "calm"]
    probs = c["sectors"]["kurakhove"]["objective_day"]["prob_reached"]
    assert both[1][1:] == [numbers.probability(x) for x in probs]
    diff = p.table("kurakhove: differences")[1]
    x = c["sectors"]["kurakhove"]["comparisons"][0]
    assert diff[0] == "calm - run" and diff[2].startswith(numbers.signed(x["prob_reached_diff"], 2))
    assert diff[4] == f"p {numbers.pvalue(x['ks_pvalue'])}"
    assert "\u2212" not in text  # an ASCII minus, which pastes into code


def test_a_backtest_is_tables_and_a_chart_not_json(made):
    p = page(made["html"])
    bt = json.loads(made["bt"].read_text())["sectors"]["kurakhove"]
    scores = p.table("Scores: the model and each baseline")
    assert scores[0] == ["", "model", "persistence", "trailing rate"]  # both baselines
    crps = next(r for r in scores if r[0].startswith("CRPS (fair)"))
    bases = bt["baselines"]
    values = [bt["crps"], bases["persistence"]["crps"], bases["trailing_rate"]["crps"]]
    assert [float(c.replace(",", "")) for c in crps[1:]] == pytest.approx(values, abs=1e-3)
    assert len({len(c.split(".")[1]) for c in crps[1:]}) == 1  # one number of decimals
    per_date = p.table("The model's projection at each observed date")
    assert per_date[0][:3] == ["date", "day", "observed"] and len(per_date) == 1 + bt["n_obs"]
    assert [r[0] for r in per_date[1:]] == bt["dates"]
    assert [r[-2] for r in per_date[1:]] == [numbers.probability(x) for x in bt["pit"]]
    assert not [c for c in p.cells if c.startswith(("[", "{"))]  # no JSON in any cell
    assert any(i.endswith("-kurakhove") and i.startswith("4-") for i in p.ids)  # its chart


def test_every_id_is_unique_and_every_reference_resolves(made):
    p = page(made["html"])
    assert len(p.ids) > 1000  # the charts' own ids are counted too
    assert len(set(p.ids)) == len(p.ids), [i for i in set(p.ids) if p.ids.count(i) > 1][:5]
    assert p.refs and set(p.refs) <= set(p.ids)


def test_the_scenario_as_run_is_collapsed_and_keeps_its_anchors(tmp_path):
    scenario = ROOT / "scenarios/kurakhove.yaml"
    text = scenario.read_text()
    assert "&class" in text and "*class" in text
    r = invoke("run", scenario, "-n", 20, "-j", "1", "--out", tmp_path / "run", "-q")
    assert r.exit_code == 0, r.output
    r = invoke("report", tmp_path / "run", "-o", tmp_path / "r.html")
    assert r.exit_code == 0, r.output
    doc = (tmp_path / "r.html").read_text()
    folded = re.findall(r"<details><summary>[^<]*</summary><pre>(.*?)</pre></details>", doc,
                        re.S)
    assert len(folded) == 1 and "<details open" not in doc
    assert html.unescape(folded[0]) == text  # the file as written, anchors and all
    assert "<pre>" not in doc.replace(f"<pre>{folded[0]}</pre>", "")  # and nowhere open


def test_markdown_report_writes_its_charts_beside_it(made, tmp_path):
    out = tmp_path / "r.md"
    r = invoke("report", made["run"], "-o", out)
    assert r.exit_code == 0, r.output
    written = [Path(x) for x in r.stdout.split()]
    assert written[0] == out and len(written) == 1 + 5
    text = out.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) == 5 and all((tmp_path / link).read_text().startswith("<svg")
                                   for link in links)
    assert "| P50 |" in text and "```yaml" in text
    r = invoke("report", made["run"], "-o", tmp_path / "bare.md", "--no-charts")
    assert r.exit_code == 0 and "*(chart left out:" in (tmp_path / "bare.md").read_text()
    assert not (tmp_path / "bare_charts").exists()


def drawn(svg: str) -> str:
    """What an SVG chart draws, without its ids (which name the chart, not its content)."""
    svg = re.sub(r'\s(id|clip-path|xlink:href|href)="[^"]*"', "", svg)
    return re.sub(r"url\(#[^)]*\)", "url()", svg)


def run_links(md: str) -> dict[str, list[str]]:
    """The chart files each run's section of a Markdown report links to, by the run's label."""
    parts = re.split(r"^## (.+)$", md, flags=re.M)
    return {title.removeprefix("Run: "): re.findall(r"!\[[^\]]*\]\(([^)]+)\)", body)
            for title, body in zip(parts[1::2], parts[2::2])}


def test_24_4_two_runs_of_one_scenario_keep_their_own_charts(made, tmp_path):
    # Two runs of one scenario (the second without strikes): each run's section links to its
    # own charts, files that exist and draw what that run alone draws, never the other's.
    out = tmp_path / "two.md"
    r = invoke("report", made["run"], made["calm"], "-o", out)
    assert r.exit_code == 0, r.output
    links = run_links(out.read_text())
    assert len(links["run"]) == len(links["calm"]) == 5, links
    assert len(set(links["run"] + links["calm"])) == 10
    assert sorted(p.name for p in (tmp_path / "two_charts").iterdir()) == \
        sorted(Path(link).name for link in links["run"] + links["calm"])
    for label in ("run", "calm"):
        alone = tmp_path / f"{label}.md"
        assert invoke("report", made[label], "-o", alone).exit_code == 0
        own = run_links(alone.read_text())[label]
        for link, solo in zip(links[label], own):
            assert Path(link).name.split("-", 1)[1] == Path(solo).name.split("-", 1)[1]
            assert drawn((tmp_path / link).read_text()) == drawn((tmp_path / solo).read_text())
    fans = [drawn((tmp_path / links[label][0]).read_text()) for label in ("run", "calm")]
    assert fans[0] != fans[1]  # the two runs draw different charts: the check can fail
    # A folder copied under the same name elsewhere: still two sets of charts, and two ids
    twin = tmp_path / "twin" / "run"
    shutil.copytree(made["run"], twin)
    page_ = tmp_path / "two.html"
    assert invoke("report", made["run"], twin, "-o", page_).exit_code == 0
    ids = re.findall(r'<figure class="chart" id="([^"]+)"', page_.read_text())
    assert len(ids) == 10 and len(set(ids)) == 10


def test_24_4_a_charts_path_that_is_a_file_is_one_line(made, tmp_path):
    (tmp_path / "r_charts").write_text("a file")
    r = invoke("report", made["run"], "-o", tmp_path / "r.md")
    lines = r.stderr.splitlines()
    assert r.exit_code == 2 and len(lines) == 1 and "Traceback" not in r.output, r.output
    assert "r_charts: not a folder" in lines[0]
    assert sorted(os.listdir(tmp_path)) == ["r_charts"]


def test_24_17_a_full_disk_leaves_no_report_and_no_charts_folder(made, tmp_path,
                                                                 monkeypatch):
    import errno

    import sim.artifacts.outputs as outputs

    real = outputs.atomic_file
    calls = []

    def full(path):  # the charts are written; the report itself finds the disk full
        calls.append(path)
        if str(path).endswith(".md"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path)

    monkeypatch.setattr(outputs, "atomic_file", full)
    r = invoke("report", made["run"], "-o", tmp_path / "r.md")
    lines = r.stderr.splitlines()
    assert r.exit_code == 2 and len(lines) == 1 and "Traceback" not in r.output, r.output
    assert "r.md: cannot write it (No space left on device)" in lines[0]
    assert len(calls) == 6 and os.listdir(tmp_path) == []


def test_bad_input_is_one_line_and_status_2(made, tmp_path):
    not_bt = tmp_path / "x.json"
    not_bt.write_text("[1, 2]")
    cases = [
        ([made["run"], "-o", tmp_path / "r.txt"], "unknown report suffix '.txt'"),
        ([made["run"]], "-o FILE is required"),
        (["-o", tmp_path / "r.html"], "name at least one results folder"),
        ([tmp_path / "missing", "-o", tmp_path / "r.html"], "no such results folder"),
        ([not_bt, "-o", tmp_path / "r.html"], "reported from its folder (advsim backtest"),
    ]
    for args, message in cases:
        r = invoke("report", *args)
        assert r.exit_code == 2, (args, r.output)
        err = r.stderr.splitlines()
        assert len(err) == 1 and message in err[0], (args, r.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]  # nothing written


# -- in a real browser ---------------------------------------------------------------------------


def browser() -> str | None:
    return next((b for b in (shutil.which(n) for n in (
        "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")) if b), None)


def headless(exe: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--hide-scrollbars", "--enable-logging=stderr", "--v=0", *args],
        capture_output=True, text=True, timeout=timeout)


def console_errors(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if "CONSOLE" in ln]


@pytest.mark.skipif(browser() is None, reason="no headless browser (chromium) installed")
def test_the_report_loads_renders_every_chart_and_prints_in_a_browser(made, tmp_path):
    exe = browser()
    assert exe is not None
    # The console is heard: a page that logs an error shows up in the browser's log.
    probe = tmp_path / "probe.html"
    probe.write_text('<!DOCTYPE html><script>console.error("advsim-probe")</script>')
    r = headless(exe, "--dump-dom", probe.as_uri())
    assert any("advsim-probe" in ln for ln in console_errors(r.stderr)), r.stderr[-2000:]

    # The report itself: no console message, and every chart laid out with a real size. A
    # copy with a measuring script writes each figure's rendered size into the DOM, and the
    # page's width against the window's at a screen's 1280 px and at about an A4 page's
    # printable width (186 mm: 700 px).
    r = headless(exe, "--dump-dom", made["html"].as_uri())
    assert r.returncode == 0 and console_errors(r.stderr) == [], r.stderr[-2000:]
    assert r.stdout.count("<svg") == 13
    measured = tmp_path / "measured.html"
    measured.write_text(made["html"].read_text().replace("</body>", (
        "<script>const e = document.documentElement; "
        "document.body.insertAdjacentHTML('beforeend', '<pre id=sizes>' + "
        "JSON.stringify({charts: [...document.querySelectorAll('figure.chart svg')].map(s => {"
        "const r = s.getBoundingClientRect(); return [Math.round(r.width), "
        "Math.round(r.height), s.querySelectorAll('path').length]}), "
        "scroll: e.scrollWidth, client: e.clientWidth, wide: [...document.querySelectorAll("
        "'body > *')].filter(x => x.getBoundingClientRect().right > e.clientWidth).map("
        "x => x.textContent.slice(0, 60))}) + '</pre>')</script></body>")))
    for width in (1280, 700):
        r = headless(exe, f"--window-size={width},2000", "--dump-dom", measured.as_uri())
        got = json.loads(html.unescape(re.search(r'<pre id="sizes">(.*?)</pre>',
                                                 r.stdout).group(1)))
        assert got["client"] <= width and got["client"] > width - 40, got
        assert got["scroll"] <= got["client"] and got["wide"] == [], (width, got)
        assert len(got["charts"]) == 13
        assert all(w > min(400, width / 2) and h > 150 and paths > 20
                   for w, h, paths in got["charts"]), got["charts"]

    # Printed on A4 and on Letter (the page sets no size of its own: each is the reader's):
    # pages of that size, and the scenario file, collapsed, fills none (the page with it
    # opened has more)
    assert "size:" not in re.search(r"@page\{[^}]*\}", made["html"].read_text()).group(0)
    pages = {}
    for size, box in (("A4", (595, 842)), ("letter", (612, 792))):
        for opened in (False, True):
            doc = made["html"].read_text().replace("</style>", f"@page{{size:{size}}}</style>")
            if opened:
                doc = doc.replace("<details>", "<details open>")
            sized = tmp_path / f"{size}-{opened}.html"
            sized.write_text(doc)
            pdf = tmp_path / f"{size}-{opened}.pdf"
            r = headless(exe, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", sized.as_uri())
            data = pdf.read_bytes()
            assert data.startswith(b"%PDF") and len(data) > 50_000
            boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
            assert boxes and {(round(float(w)), round(float(h))) for w, h in boxes} == {box}
            pages[size, opened] = len(re.findall(rb"/Type\s*/Page[^s]", data))
    for size in ("A4", "letter"):
        assert 8 <= pages[size, False] < pages[size, True], pages


def test_the_report_shows_the_scenario_as_run_not_as_edited_since(tmp_path):
    scenario = tmp_path / "k.yaml"
    text = KURAKHOVE.read_text()
    scenario.write_text(text)
    r = invoke("run", scenario, "-n", 50, "-j", "1", "--out", tmp_path / "run", "-q",
               "--set", "horizon_days=200")
    assert r.exit_code == 0, r.output
    marked = assumptions(text)
    assert marked and (tmp_path / "run/scenario.source.yaml").read_text() == text
    manifest = json.loads((tmp_path / "run/manifest.json").read_text())
    assert manifest["kind"] == "run" and manifest["inputs"] == {
        str(scenario): hashlib.sha256(text.encode()).hexdigest()}
    # edit the file after the run: its assumptions and a number change
    line, said = marked[0]
    lines = text.splitlines(keepends=True)
    lines[line - 1] = lines[line - 1].replace("assumption:", "assumption: EDITED LATER,")
    scenario.write_text("".join(lines).replace("horizon_days:", "# horizon_days:", 1))
    r = invoke("report", tmp_path / "run", "-o", tmp_path / "r.md", "--no-charts")
    assert r.exit_code == 0, r.output
    md = (tmp_path / "r.md").read_text()
    assert "EDITED LATER" not in md and f"line {line}: {said}" in md
    assert f"Assumptions it marks ({len(marked)}, by line of {scenario} as run)" in md
    assert "Changed from the scenario file: horizon_days=200" in md
    assert "horizon_days: 200" in md  # the resolved scenario, beside the file as run
    assert hashlib.sha256(text.encode()).hexdigest() in md


def test_report_refuses_what_advsim_did_not_write_in_one_line(made, tmp_path):
    shutil.copy(made["run"] / "summary.json", tmp_path / "summary.json")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "points.csv").write_text("point\n0\n")
    edited = tmp_path / "edited"
    shutil.copytree(made["run"], edited)
    (edited / "scenario.source.yaml").write_text("# assumption: nothing\n")
    cases = [
        (made["run"] / "summary.json", "a file of the folder"),  # a run's summary as a backtest
        (tmp_path / "summary.json", "the JSON of advsim run --json, not of advsim backtest"),
        (plain, "not written by advsim"),
        (edited, "scenario.source.yaml: does not match its checksum in manifest.json"),
    ]
    for item, message in cases:
        r = invoke("report", item, "-o", tmp_path / "r.html")
        assert r.exit_code == 2, (item, r.output)
        err = r.stderr.splitlines()
        assert len(err) == 1 and err[0].startswith(f"{item}: ") and message in err[0], err
    assert not (tmp_path / "r.html").exists()


def test_reports_take_the_objects_read_back_from_folders(made):
    from sim.presentation.html_report import build
    from sim.sweep import SweepResult

    run, sweep = Result.from_folder(made["run"]), SweepResult.from_folder(made["sweep"])
    assert run.source_yaml == KURAKHOVE.read_text() and run.manifest["kind"] == "run"
    by_object = build([run, sweep])
    by_path = build([made["run"], made["sweep"]])
    assert [(s.title, [k for k, _ in s.blocks]) for s in by_object] == \
        [(s.title, [k for k, _ in s.blocks]) for s in by_path]
    sens = next(s for s in by_object if s.title == "Sensitivity")
    header, rows, _, _ = next(b for k, b in sens.blocks if k == "table")
    on_disk = (made["sweep"] / "sensitivity.csv").read_text().splitlines()
    assert len(rows) == len(on_disk) - 1
    first = dict(zip(on_disk[0].split(","), on_disk[1].split(",")))
    assert header[:4] == ["metric", "rank", "parameter", "PRCC"]  # no Sobol of a grid
    assert rows[0][:3] == [first["metric"], first["rank"], first["parameter"]]
    # the numbers as sensitivity.csv has them, to three significant figures
    assert [float(c) for c in rows[0][3:6]] == pytest.approx(
        [float(first[c]) for c in ("prcc", "prcc_low", "prcc_high")], rel=5e-3)


def test_an_outlook_is_its_places_as_tables_and_its_map(made, tmp_path):
    pytest.importorskip("shapely")
    pytest.importorskip("pyproj")
    from test_outlook import advancing_maps, place, places_csv

    maps = tmp_path / "maps"
    advancing_maps(maps)
    places = [place("Near", -3.0), place("Middle", 8.0), place("Far", 40.0),
              *[place(f"C{e + 100}", float(e), -60.0) for e in range(-28, 20, 4)]]
    csv_file = places_csv(tmp_path / "places.csv", places)
    r = invoke("outlook", maps, "--places", csv_file, "-n", 100, "--horizon-days", 365,
               "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "o/outlook.json").read_text())
    r = invoke("report", made["run"], tmp_path / "o", "-o", tmp_path / "r.html")
    assert r.exit_code == 0, r.output
    p = page(tmp_path / "r.html")
    stands = p.table("Places by risk, where each stands")
    falls = p.table("Places by risk, when each may fall")
    rows = summary["places"]
    assert len(stands) == len(falls) == 1 + len(rows) and len(rows) > 3
    start = dt.date.fromisoformat(summary["map_date"])
    assert falls[0][5] == "180\u00a0d range" and stands[0][3] == "grey km"
    for got, want in zip(falls[1:], rows):
        assert got[0] == want["name"]
        assert got[1:5] == [numbers.probability(want[f"p_fallen_{d}d"])
                            for d in (30, 90, 180, 365)]
        # the fall's other definitions: lowest to highest P(180 d), as the outlook prints it
        read = [want[f"p_fallen_180d_{t}"] for t in ("nearer_0_5km", "farther_0_5km",
                                                     "contested_held")]
        assert got[5] == numbers.probability_range(min(read), max(read))
        dates = [want[f"fall_date_{k}"] or numbers.CENSORED for k in ("p10", "p50", "p90")]
        assert got[6:] == dates == [numbers.date(start, want[f"fall_day_{k}"])
                                    for k in ("p10", "p50", "p90")]
    assert [r[2] for r in stands[1:]] == [numbers.km(w["distance_km"]) for w in rows]
    assert [r[3] for r in stands[1:]] == [numbers.km(max(w["distance_contested_km"], 0.0))
                                          for w in rows]
    assert "part-way through it" in "".join(p.text)  # time in regime, the outlook's default
    # its map, inline (nothing fetched), and beside the Markdown as a file it links to
    doc = (tmp_path / "r.html").read_text()
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', doc).group(1))
    assert png == (tmp_path / "o/map.png").read_bytes()
    assert [x for x in p.external if not x.startswith("data:image/png;base64,")] == []
    r = invoke("report", tmp_path / "o", "-o", tmp_path / "r.md")
    assert r.exit_code == 0, r.output
    [link] = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", (tmp_path / "r.md").read_text())
    assert (tmp_path / link).read_bytes() == (tmp_path / "o/map.png").read_bytes()


def test_a_folder_name_is_shown_as_text_in_both_formats(made, tmp_path):
    # a run's label is its folder's name, which a user chose: escaped like all they wrote
    odd = tmp_path / '<img src=x onerror=alert(1)>&"_x_'
    shutil.copytree(made["run"], odd)
    r = invoke("report", odd, made["calm"], "-o", tmp_path / "r.html")
    assert r.exit_code == 0, r.output
    doc = (tmp_path / "r.html").read_text()
    assert "<img" not in doc and "&lt;img src=x onerror=alert(1)&gt;&amp;&quot;" in doc
    p = page(tmp_path / "r.html")
    assert p.table("Each objective")[1][0] == odd.name  # read back as the text itself
    r = invoke("report", odd, made["calm"], "-o", tmp_path / "r.md", "--no-charts")
    assert r.exit_code == 0, r.output
    md = (tmp_path / "r.md").read_text()
    assert "<img" not in md and "&lt;img src=x onerror=alert(1)&gt;&amp;\"\\_x\\_" in md


def test_a_backtest_from_many_origins_is_its_pooled_scores_and_one_row_an_origin(tmp_path):
    r = invoke("backtest", KURAKHOVE, "--observed",
               ROOT / "scenarios/observed/synthetic-kurakhove.csv", "--origins", 3, "-n", 60,
               "--out", tmp_path / "bt")
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "bt/scores.json").read_text())
    r = invoke("report", tmp_path / "bt", "-o", tmp_path / "r.html")
    assert r.exit_code == 0, r.output
    p = page(tmp_path / "r.html")
    pooled = p.table("Pooled scores")
    assert pooled[0] == ["", "model", "persistence", "trailing rate"]
    cover = next(row for row in pooled if row[0] == "coverage of the 90% band")
    bases = doc["pooled"]["baselines"]
    assert cover[1:] == [f"{x:.2f}" for x in (doc["pooled"]["coverage_90"],
                                              bases["persistence"]["coverage_90"],
                                              bases["trailing_rate"]["coverage_90"])]
    per = p.table("Per origin")
    cases = [(o["origin"], r) for o in doc["origins"] for r in o["sectors"].values()]
    assert [row[0] for row in per[1:]] == [o for o, _ in cases] and len(cases) > 1
    crps = [row[3] for row in per[1:]]
    assert len({len(c.split(".")[1]) for c in crps}) == 1  # one column, one precision
    assert [float(c) for c in crps] == pytest.approx([r["crps"] for _, r in cases], abs=0.01)
    assert "\u2212" not in "".join(p.text)


def test_a_sweep_point_is_reported_without_the_per_day_chart_it_cannot_draw(made, tmp_path):
    r = invoke("report", f"{made['sweep']}:0", made["run"], "-o", tmp_path / "r.html")
    assert r.exit_code == 0, r.output
    p = page(tmp_path / "r.html")
    assert "No chart of progress per day: " in "".join(p.text)
    assert [row[0] for row in p.table("Each objective")[1:]] == ["sweep:0", "run"]
    figures = re.findall(r'<figure class="chart" id="([^"]+)"', (tmp_path / "r.html").read_text())
    point = [f for f in figures if f.startswith("1-sweep-0-")]
    assert point and not [f for f in point if f.endswith("-fan")]  # what it can draw, drawn
    assert len([f for f in figures if f.startswith("2-run-")]) == 5


def test_runs_are_compared_only_where_a_sector_has_the_same_objective(made, tmp_path):
    r = invoke("run", KURAKHOVE, "-n", 50, "-j", "1", "--out", tmp_path / "other", "-q",
               "--set", "sectors.kurakhove.objective.name=Elsewhere")
    assert r.exit_code == 0, r.output
    r = invoke("report", made["run"], tmp_path / "other", made["calm"], "-o",
               tmp_path / "r.html")
    assert r.exit_code == 0, r.output
    p = page(tmp_path / "r.html")
    text = " ".join(" ".join(p.text).split())
    assert "Not compared: other (no sector of the same name and objective as in run)." in text
    assert p.table("kurakhove: Pokrovsk in each run")[0] == ["", "run", "calm"]
    assert "other vs run" not in text and "calm vs run: Pokrovsk" in text
