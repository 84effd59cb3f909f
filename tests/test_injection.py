"""Names from outside never run as something else: CSV cells a spreadsheet would run as
formulas are guarded and read back unchanged; the Markdown report escapes what users wrote;
names are one line."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import closing_series_csv

from sim.artifacts import tables
from sim.artifacts.tables import (
    escape_cell,
    read_csv_columns,
    read_table,
    unescape_cell,
    write_csv,
)
from sim.cli import cli
from sim.data.observed import ObservedSeries, read_observed, write_observed
from sim.model import builder as B
from sim.model.writer import dump
from sim.running.outcomes import Result

FORMULAS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+2", "-2+3", "@SUM(A1)", "'=already",
            "''+x", "\tcmd"]


def test_cells_guarded_and_undone():
    for text in FORMULAS:
        guarded = escape_cell(text)
        assert guarded.startswith("'") and unescape_cell(guarded) == text
    for text in ["kursk", "-1.5", "+3", "2e-3", "-.5", "'s-Hertogenbosch", "", "a=b"]:
        assert escape_cell(text) == text and unescape_cell(text) == text


@pytest.mark.parametrize("arrow", [True, False])
def test_csv_text_guarded_numbers_not(tmp_path, monkeypatch, arrow):
    if not arrow:
        monkeypatch.setattr(tables, "pyarrow", lambda: None)
    names = np.array([*FORMULAS, "kursk"], dtype=object)
    path = tmp_path / "t.csv"
    write_csv(path, {"sector": names, "value": np.linspace(-3, 3, names.size),
                     "day": np.arange(-4, names.size - 4)})
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        assert row["sector"][:1] not in "=+-@\t"  # what a spreadsheet would run
    assert rows[0]["value"] == "-3.0" and rows[0]["day"] == "-4"  # numbers stay numbers
    back = read_table(path, "t")
    assert list(back["sector"].values()) == list(names)
    assert read_csv_columns(path, "t")["sector"] == list(names)


def test_run_folder_keeps_formula_names(tmp_path, monkeypatch):
    sector = B.axis("=cmd|' /C calc'!A0", length_km=5, advance=100, objective="@objective",
                    milestones={"-2+3": 1.0})
    sc = B.checked(B.scenario(sector, horizon_days=60, name="+name"))
    path = tmp_path / "s.yaml"
    path.write_text(dump(sc))
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["run", str(path), "-n", "20", "-j", "1", "--out", str(out),
                                 "-q"])
    assert r.exit_code == 0, r.output
    for name in ("outcomes.csv", "milestones.csv"):
        text = (out / name).read_text()
        assert "'=cmd" in text and "\n=cmd" not in text and ",=cmd" not in text
    assert "'-2+3" in (out / "milestones.csv").read_text()
    monkeypatch.setattr(tables, "pyarrow", lambda: None)  # the CSVs read back
    back = Result.from_folder(out)
    assert set(back.table("outcomes")["sector"].tolist()) == {sector.name}
    assert set(back.table("milestones")["milestone"].tolist()) == {"-2+3"}


def test_observed_series_round_trip(tmp_path):
    s = ObservedSeries(sector="=1+1", dates=(__import__("datetime").date(2024, 1, 1),),
                       values=np.array([2.0]), lines=(2,), file="x")
    path = tmp_path / "obs.csv"
    write_observed(path, [s], source="@src")
    assert path.read_text().splitlines()[1] == "2024-01-01,'=1+1,2,'@src"
    back = read_observed(path)
    assert list(back) == ["=1+1"] and back["=1+1"].extra["source"] == ("@src",)


def _outside_fences(md: str) -> list[str]:
    out, fence = [], None
    for line in md.splitlines():
        if fence is None and line.startswith("```"):
            fence = line[: len(line) - len(line.lstrip("`"))]
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None:
            out.append(line)
    return out


def test_markdown_report_escapes_what_users_wrote(tmp_path):
    sector = B.axis("<b>axis</b>", length_km=5, advance=100,
                    objective="<img src=x onerror=alert(1)>", milestones={"<i>m</i>": 1.0})
    sc = B.checked(B.scenario(sector, horizon_days=60, name="<script>alert(1)</script>",
                              description="fine\n# injected heading\n[link](javascript:x)"))
    text = dump(sc) + "# assumption: <iframe src=x> ``` \n"
    path = tmp_path / "s.yaml"
    path.write_text(text)
    run = tmp_path / "run"
    r = CliRunner().invoke(cli, ["run", str(path), "-n", "20", "-j", "1", "--out", str(run),
                                 "-q"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["report", str(run), "-o", str(tmp_path / "r.md"),
                                 "--no-charts"])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "r.md").read_text()
    prose = _outside_fences(md)
    assert not [line for line in prose if "<" in line or ">" in line]  # no raw HTML
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "&lt;iframe src=x&gt;" in md and "&lt;i&gt;m&lt;/i&gt;" in md
    assert not [line for line in prose if line.startswith("# injected")]
    assert "\\[link\\](javascript:x)" in md
    # the scenario as written stays inside one fence, which its own ``` cannot close
    fences = [line for line in md.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0 and all(len(f.rstrip("yaml")) > 3 for f in fences)


def test_names_are_one_line_in_class_files_and_series(tmp_path):
    f = closing_series_csv(tmp_path / "s.csv", {"a": 10, "b": 6})
    out = tmp_path / "c.yaml"
    r = CliRunner().invoke(cli, ["reference", "build", str(f), "--until", "2024-11-20",
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    out.write_text(out.read_text().replace("\n  a:\n", "\n  \"a\\ninjected: 1\":\n"))
    for args in (["show", str(out)], ["fit", str(out), "--no-check", "-o",
                                      str(tmp_path / "adv.yaml")]):
        r = CliRunner().invoke(cli, ["reference", *args])
        assert r.exit_code == 2, r.output
        assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output
        assert "a town's name is one line of text (got 'a\\ninjected: 1')" in r.output
        assert "\ninjected" not in r.output
    assert not (tmp_path / "adv.yaml").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text(f.read_text().replace(",a,", ',"a\ninjected",', 1))
    r = CliRunner().invoke(cli, ["reference", "build", str(bad), "--until", "2024-11-20",
                                 "-o", str(tmp_path / "c2.yaml")])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert f"{bad}:2: sector: a name is one line of text" in r.output
    assert not (tmp_path / "c2.yaml").exists()
