"""Tests of ``advsim report``: the HTML and Markdown reports of runs, sweeps and saved
backtests, their contents checked against the runs' own numbers, and the HTML loaded in a real
headless browser (skipped when none is installed)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
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
    r = invoke("report", root / "run", root / "sweep", root / "bt",
               "-o", root / "report.html")
    assert r.exit_code == 0, r.output
    return {"root": root, "run": root / "run", "sweep": root / "sweep",
            "bt": root / "bt.json", "html": root / "report.html"}


class Page(HTMLParser):
    """The parts of a page the tests look at: element counts, table cells, external links."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.cells: list[str] = []
        self.external: list[str] = []
        self._cell: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag in ("td", "th"):
            self._cell = []
        for k, v in attrs:
            if k in ("src", "href") and v and not v.startswith("#"):
                self.external.append(v)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
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
    # every chart inline: fan, cdf, hist, milestones, forces of the run; tornado and swing of
    # the (grid) sweep; none for the backtest
    assert p.tags.get("svg") == 7 and p.tags.get("figure") == 7
    assert p.external == [] and "script" not in p.tags  # self-contained, nothing fetched
    assert str(summary["day"]["p50"]).rstrip("0").rstrip(".") in p.cells
    assert summary["date"]["p50"] in p.cells
    assert manifest["scenario_sha256"] in p.cells and "0.1.0" in p.cells
    text = "".join(p.text)
    n_assumptions = sum("# assumption:" in ln for ln in KURAKHOVE.read_text().splitlines())
    assert f"Assumptions it marks ({n_assumptions}," in text
    assert "name: Kurakhove → Pokrovsk" in text  # the scenario as run
    bt = json.loads(made["bt"].read_text())["sectors"]["kurakhove"]
    assert f"{bt['crps']:.3g}" in p.cells  # the backtest's score
    assert "@media print" in made["html"].read_text()


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


def test_24_4_two_runs_of_one_scenario_keep_their_own_charts(made, tmp_path):
    twin = tmp_path / "twin"
    shutil.copytree(made["run"], twin)  # a second run of the same scenario
    out = tmp_path / "two.md"
    r = invoke("report", made["run"], twin, "-o", out)
    assert r.exit_code == 0, r.output
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", out.read_text())
    assert len(links) == 10 and len(set(links)) == 10, links
    assert sorted(p.name for p in (tmp_path / "two_charts").iterdir()) == \
        sorted(Path(link).name for link in links)
    page = tmp_path / "two.html"
    assert invoke("report", made["run"], twin, "-o", page).exit_code == 0
    ids = re.findall(r'<figure class="chart" id="([^"]+)"', page.read_text())
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
    # copy with a measuring script writes each figure's rendered size into the DOM.
    r = headless(exe, "--dump-dom", made["html"].as_uri())
    assert r.returncode == 0 and console_errors(r.stderr) == [], r.stderr[-2000:]
    assert r.stdout.count("<svg") == 7
    measured = tmp_path / "measured.html"
    measured.write_text(made["html"].read_text().replace("</body>", (
        "<script>document.body.insertAdjacentHTML('beforeend', '<pre id=sizes>' + "
        "JSON.stringify([...document.querySelectorAll('figure.chart svg')].map(s => {"
        "const r = s.getBoundingClientRect(); return [Math.round(r.width), "
        "Math.round(r.height), s.querySelectorAll('path').length]})) + '</pre>')</script>"
        "</body>")))
    r = headless(exe, "--window-size=1280,2000", "--dump-dom", measured.as_uri())
    sizes = json.loads(re.search(r'<pre id="sizes">(.*?)</pre>', r.stdout).group(1))
    assert len(sizes) == 7
    assert all(w > 400 and h > 150 and paths > 20 for w, h, paths in sizes), sizes

    pdf = tmp_path / "report.pdf"
    r = headless(exe, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", made["html"].as_uri())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 50_000
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert pages >= 3, pages


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
    header, rows, _ = next(b for k, b in sens.blocks if k == "table")
    on_disk = (made["sweep"] / "sensitivity.csv").read_text().splitlines()
    assert len(rows) == len(on_disk) - 1
    first = dict(zip(on_disk[0].split(","), on_disk[1].split(",")))
    assert rows[0] == [first[c] for c in header]  # the cells as sensitivity.csv has them
