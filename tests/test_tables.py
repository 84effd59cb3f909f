"""The tables of a results folder mean one thing in every reader: stable CSV types, Parquet with
nulls (never NaN) for censored values, a dictionary sector, date32 dates and schema metadata;
long progress and milestone tables; read back exactly, with or without pyarrow; the notebook
API (to_pandas, to_polars, to_arrow, reprs)."""

from __future__ import annotations

import csv
import importlib
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import sim
from sim.artifacts import tables
from sim.artifacts.tables import read_table, write_csv
from sim.cli import cli
from sim.errors import AdvsimError

ROOT = Path(__file__).resolve().parents[1]
THEATRE = str(ROOT / "scenarios/theatre.yaml")
N = 400
HORIZON = 150  # short enough that some replications do not reach the objective


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, sim.Result]:
    """theatre.yaml (an axis and an area sector) written by advsim run, and the same in memory."""
    out = tmp_path_factory.mktemp("t") / "run"
    r = CliRunner().invoke(cli, ["run", THEATRE, "-n", str(N), "-j", "1", "--horizon",
                                 str(HORIZON), "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    sc = sim.load_scenario(THEATRE, [f"horizon_days={HORIZON}"])
    return out, sim.simulate(sc, replications=N, seed=sc.seed)


def rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# -- CSV -----------------------------------------------------------------------------------------


def test_floats_are_written_as_floats_ints_as_ints_null_as_empty(tmp_path):
    path = tmp_path / "t.csv"
    write_csv(path, {"f": np.array([35.0, 0.5, np.nan, 1e7, -0.0, 100000.0, 35.0000001,
                                     np.inf]),
                     "i": np.arange(8), "b": np.array([True, False] * 4),
                     "d": np.array(["2024-11-20", "NaT"] * 4, dtype="datetime64[D]")})
    got = rows(path)
    assert [r["f"] for r in got] == ["35.0", "0.5", "", "1e+07", "-0.0", "100000.0", "35.0",
                                     ""]
    assert [r["i"] for r in got] == [str(i) for i in range(8)]
    assert [r["b"] for r in got][:2] == ["true", "false"]
    assert [r["d"] for r in got][:2] == ["2024-11-20", ""]


def test_a_block_of_one_value_is_written_like_any_other(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "CSV_BLOCK_ROWS", 3)  # blocks of constant and varying columns
    cols = {"s": np.array(["a,b"] * 4 + ["{x}"] * 3, dtype=object),
            "v": np.array([1.0] * 3 + [2.0, np.nan, np.nan, np.nan]),
            "n": np.array([7] * 7)}
    write_csv(tmp_path / "t.csv", cols)
    assert (tmp_path / "t.csv").read_text().splitlines() == [
        "s,v,n", '"a,b",1.0,7', '"a,b",1.0,7', '"a,b",1.0,7', '"a,b",2.0,7', "{x},,7",
        "{x},,7", "{x},,7"]


def test_a_run_writes_outcomes_progress_milestones_and_bands_in_both_formats(run):
    out, _ = run
    names = {p.name for p in out.iterdir()}
    assert {"outcomes.csv", "progress.csv", "milestones.csv", "bands.csv"} <= names
    if tables.pyarrow() is not None:
        assert {"outcomes.parquet", "progress.parquet", "milestones.parquet",
                "bands.parquet"} <= names
    outcomes = rows(out / "outcomes.csv")
    assert list(outcomes[0]) == ["replication", "sector", "objective_reached", "objective_day",
                                 "objective_date", "attacker_losses", "defender_losses",
                                 "base_m_per_day", "strikes", "attacker_breakpoint_day",
                                 "defender_breakpoint_day"]
    assert len(outcomes) == 2 * N
    # no column that is not every row's: progress and milestones are long tables
    progress = rows(out / "progress.csv")
    assert list(progress[0]) == ["replication", "sector", "day", "date", "quantity", "value"]
    kinds = {(r["sector"], r["quantity"]) for r in progress}
    assert kinds == {("pokrovsk", "advance_km"), ("kursk", "held_km2")}
    assert len(progress) == 2 * N * 3  # checkpoints 30, 90, 150 within the horizon
    assert {r["day"] for r in progress} == {"30", "90", "150"}
    assert {r["date"] for r in progress if r["day"] == "30"} == {"2024-12-20"}
    assert all(r["value"] != "" and ("." in r["value"] or "e" in r["value"]) for r in progress)
    milestones = rows(out / "milestones.csv")
    assert list(milestones[0]) == ["replication", "sector", "milestone", "reached", "day", "date"]
    for r in milestones:
        assert (r["reached"] == "true") == (r["day"] != "") == (r["date"] != "")


def test_censored_days_are_empty_and_dates_are_those_of_the_day(run):
    out, mem = run
    outcomes = rows(out / "outcomes.csv")
    censored = [r for r in outcomes if r["objective_reached"] == "false"]
    assert censored and all(r["objective_day"] == r["objective_date"] == "" for r in censored)
    for r in outcomes[:50]:
        if r["objective_day"]:
            day = float(r["objective_day"])
            assert r["objective_date"] == mem.scenario.date_of(day).isoformat()


@pytest.mark.parametrize("reader", ["pandas", "polars", "duckdb"])
def test_every_reader_sees_the_same_types_and_the_same_nulls(run, reader):
    out, mem = run
    lib = importlib.import_module(reader)  # the test extra installs all three: never skipped
    reached = sum(int(so.reached.sum()) for so in mem.sectors.values())
    for name in ("outcomes.csv", "outcomes.parquet"):
        path = out / name
        if not path.exists():
            continue
        if reader == "pandas":
            df = lib.read_parquet(path) if name.endswith("parquet") else lib.read_csv(path)
            assert int(df["objective_day"].notna().sum()) == reached
            assert str(df["objective_day"].dtype) == "float64"
            assert str(df["strikes"].dtype) == "int64" and str(df["replication"].dtype) == "int64"
        elif reader == "polars":  # on CSV, polars types a column by its first 100 rows
            df = lib.read_parquet(path) if name.endswith("parquet") else \
                lib.read_csv(path, infer_schema_length=None)
            assert df["objective_day"].null_count() == 2 * N - reached
            assert df["objective_day"].is_nan().sum() == 0  # nulls, never NaN
            assert df.schema["objective_day"] == lib.Float64
            assert df.schema["strikes"] == lib.Int64
            assert df.schema["objective_reached"] == lib.Boolean
        else:
            (count,) = lib.sql(f"select count(objective_day), count(*), "
                               f"count(objective_date) from '{path}'").fetchall()
            assert count == (reached, 2 * N, reached)
    if reader == "polars" and (out / "progress.parquet").exists():
        prog = lib.read_parquet(out / "progress.parquet")
        assert prog.schema["sector"] == lib.Categorical and prog.schema["date"] == lib.Date
        csv_prog = lib.read_csv(out / "progress.csv", try_parse_dates=True,
                                infer_schema_length=None)
        assert csv_prog.schema["value"] == lib.Float64 and csv_prog.schema["date"] == lib.Date


def test_parquet_schema_carries_version_hash_units_and_dictionary_sectors(run):
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    out, _ = run
    manifest = json.loads((out / "manifest.json").read_text())
    schema = pq.read_schema(out / "outcomes.parquet")
    meta = {k.decode(): v.decode() for k, v in schema.metadata.items()}
    assert meta["advsim"] == sim.__version__
    assert meta["scenario_sha256"] == manifest["scenario_sha256"]
    units = json.loads(meta["units"])
    assert units["objective_day"] == "day" and units["base_m_per_day"] == "m/day"
    assert schema.field("base_m_per_day").metadata == {b"unit": b"m/day"}
    assert pa.types.is_dictionary(schema.field("sector").type)
    assert schema.field("objective_date").type == pa.date32()
    table = pq.read_table(out / "outcomes.parquet")
    day = table.column("objective_day")
    assert day.null_count == int((~table.column("objective_reached").to_numpy()).sum())
    assert not np.isnan(day.drop_null().to_numpy()).any()


# -- reading back -------------------------------------------------------------------------------


def same_outcomes(a: sim.Result, b: sim.Result) -> None:
    for name in a.sectors:
        x, y = a.sectors[name], b.sectors[name]
        for k in ("objective_day", "milestone_days", "progress", "attacker_losses",
                  "defender_losses", "base_m_per_day", "strikes"):
            np.testing.assert_array_equal(getattr(x, k), getattr(y, k), err_msg=f"{name} {k}")


def test_read_back_from_parquet_is_the_run_in_memory_exactly(run):
    pytest.importorskip("pyarrow")
    out, mem = run
    same_outcomes(sim.Result.from_folder(out), mem)


def reseal(folder: Path) -> None:
    """The manifest of a folder edited on purpose: its checksums for the files it now has (as
    if advsim had written it so: without pyarrow, say), so that readers get past them."""
    from sim.artifacts.files import checksums

    manifest = json.loads((folder / "manifest.json").read_text())
    names = [f.name for f in folder.iterdir() if f.is_file() and f.name != "manifest.json"]
    manifest["files"] = checksums(folder, names)
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("how", ["arrow csv", "numpy csv"])
def test_read_back_from_csv_is_the_run_to_six_digits(run, tmp_path, monkeypatch, how):
    out, mem = run
    folder = tmp_path / "csv-only"
    folder.mkdir()
    for f in out.iterdir():
        if f.suffix != ".parquet":
            (folder / f.name).write_bytes(f.read_bytes())
    reseal(folder)  # written where pyarrow is not installed
    if how == "numpy csv":
        monkeypatch.setattr(tables, "pyarrow", lambda: None)
    elif tables.pyarrow() is None:
        pytest.skip("pyarrow is not installed")
    back = sim.Result.from_folder(folder)
    for name, so in mem.sectors.items():
        got = back.sectors[name]
        assert np.array_equal(np.isinf(got.objective_day), np.isinf(so.objective_day))
        np.testing.assert_allclose(got.progress, so.progress, rtol=5e-6)
        np.testing.assert_allclose(got.milestone_days, so.milestone_days, rtol=5e-6)
        assert got.strikes.dtype == np.int64 and np.array_equal(got.strikes, so.strikes)


def test_read_table_names_a_missing_column_and_a_garbled_file(run, tmp_path):
    out, _ = run
    with pytest.raises(AdvsimError, match=r"^RUN: outcomes.(csv|parquet) has no column 'nope'"):
        read_table(out / "outcomes.csv", "RUN", ["replication", "nope"])
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in out.iterdir():
        if f.suffix != ".parquet":
            (bad / f.name).write_bytes(f.read_bytes())
    text = (bad / "progress.csv").read_text().splitlines()
    (bad / "progress.csv").write_text("\n".join(text[: len(text) // 2]) + "\n")  # truncated
    reseal(bad)  # written so, not damaged after: the reader still finds what is missing
    with pytest.raises(AdvsimError, match=r"progress: pokrovsk on day 150 does not hold "
                                          r"replications 0..399 once each"):
        sim.Result.from_folder(bad)


def test_a_folder_without_checksums_is_refused(run, tmp_path):
    """0.1.0 had no users: a folder in the wide format of unreleased versions, or without the
    manifest's checksums, is not read as a run."""
    out, mem = run
    old = tmp_path / "old"
    old.mkdir()
    for name in ("scenario.yaml", "manifest.json", "summary.json", "bands.csv"):
        (old / name).write_bytes((out / name).read_bytes())
    write_csv(old / "outcomes.csv", mem.table())  # the wide table of unreleased versions
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["files"], manifest["written_by"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AdvsimError, match=r"manifest.json lists no checksums"):
        sim.Result.from_folder(old)


# -- the notebook API ---------------------------------------------------------------------------


def test_to_pandas_polars_arrow_hold_the_tables(run):
    _, mem = run
    reached = int(mem.sectors["kursk"].reached.sum())
    import pandas as pd
    df = mem.to_pandas()
    assert isinstance(df.dtypes["sector"], pd.CategoricalDtype)
    assert int(df.query("sector == 'kursk'")["objective_day"].notna().sum()) == reached
    assert str(df["objective_date"].dtype).startswith("datetime64")
    prog = mem.to_pandas("progress")
    assert len(prog) == 2 * N * 3 and set(prog["quantity"]) == {"advance_km", "held_km2"}
    import polars as pl
    frame = mem.to_polars("milestones")
    assert frame.schema["date"] == pl.Date and frame.schema["sector"] == pl.Categorical
    assert frame["day"].null_count() == int((~frame["reached"]).sum())
    pytest.importorskip("pyarrow")
    t = mem.to_arrow("outcomes")
    assert t.column("objective_day").null_count == 2 * N - sum(
        int(so.reached.sum()) for so in mem.sectors.values())


def test_a_missing_optional_library_is_one_clear_line(run, monkeypatch):
    import builtins

    _, mem = run
    real = builtins.__import__

    def no(name, *args, **kwargs):
        if name.split(".")[0] in ("pandas", "polars"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no)
    with pytest.raises(AdvsimError, match=r"^to_pandas needs pandas \(pip install pandas\)$"):
        mem.to_pandas()
    with pytest.raises(AdvsimError, match=r"^to_polars needs polars"):
        mem.to_polars()
    monkeypatch.setattr(tables, "pyarrow", lambda: None)
    with pytest.raises(AdvsimError, match=r"^to_arrow needs pyarrow"):
        mem.to_arrow()
    with pytest.raises(AdvsimError, match=r"^table: 'wide' is not a table"):
        mem.table("wide")


def test_reprs_are_short_and_the_html_views_name_what_matters(run):
    out, mem = run
    back = sim.Result.from_folder(out)
    assert len(repr(back)) < 200 and len(repr(back.sectors["kursk"])) < 200
    html = back._repr_html_()
    assert "P(reached)" in html and "kursk" in html and "pokrovsk" in html
    assert html.count("<tr>") == 1 + len(back.sectors)
    diff = sim.compare([mem, back], resamples=200)
    assert isinstance(diff, dict) and json.loads(diff.json()) == json.loads(json.dumps(diff))
    assert diff.to_dict() == dict(diff) and type(diff.to_dict()) is dict
    text = repr(diff)
    assert text.startswith("<Comparison A vs B: ") and len(text) < 400
    assert "0.0 days" in text or "beyond the horizon" in text  # the same run: no difference
    assert diff._repr_html_().count("<tr>") == 1 + len(mem.sectors)


def test_the_docs_one_line_loads_work_and_count_censored_as_null(run):
    import importlib.util
    import re

    out, mem = run
    readme = (ROOT / "docs" / "run.md").read_text(encoding="utf-8")
    section = readme.split("## Loading the tables", 1)[1]
    (block,) = re.findall(r"```py\n(.*?)```", section.split("\n## ", 1)[0], flags=re.S)
    lines = block.strip().splitlines()
    assert [ln.split()[1].rstrip(";") for ln in lines] == ["pandas", "polars", "duckdb"]
    reached = {name: int(so.reached.sum()) for name, so in mem.sectors.items()}
    for line in lines:
        lib = line.split()[1].rstrip(";")
        if importlib.util.find_spec(lib) is None or tables.pyarrow() is None:
            continue
        scope: dict = {}
        code = line.split("  #")[0].replace("results/strikes", str(out))
        if lib == "duckdb":
            code = code.replace("duckdb.sql(", "got = duckdb.sql(") + ".fetchall()"
        exec(code, scope)
        if lib == "duckdb":
            assert {row[0]: row[1:3] for row in scope["got"]} == {
                name: (reached[name], N) for name in reached}
        else:
            df = scope["df"]
            nulls = df["objective_day"].isna().sum() if lib == "pandas" \
                else df["objective_day"].null_count()
            assert nulls == 2 * N - sum(reached.values())
