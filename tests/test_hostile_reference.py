"""Hostile and careless input to reference, compare, report, backtest and the Python API
(issue 24): nothing lost, nothing silently wrong, one line naming the flag."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import closing_series_csv

from sim.cli import cli
from sim.model import builder as B
from sim.model.writer import dump


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def class_file(tmp_path) -> Path:
    out = tmp_path / "class.yaml"
    f = closing_series_csv(tmp_path / "s.csv", {"a": 10, "b": 6, "c": 12})
    r = run("reference", "build", f, "--until", "2024-11-20", "-o", out)
    assert r.exit_code == 0, r.output
    return out


def scenario_file(path: Path, rate: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump(B.checked(B.scenario(
        B.axis("x", length_km=10, advance=rate), horizon_days=100))))
    return path


# -- 5: reference evaluate --versus keys rows by a unique label ------------------------------


def test_versus_rows_keep_every_file(tmp_path, class_file):
    files = [scenario_file(tmp_path / "a" / "model.yaml", 30),
             scenario_file(tmp_path / "b" / "model.yaml", 60),
             scenario_file(tmp_path / "persistence.yaml", 90),
             scenario_file(tmp_path / "class model.yaml", 120)]
    args = ["reference", "evaluate", class_file, "-n", "20", "-j", "1", "--json"]
    for f in files:
        args += ["--versus", f]
    r = run(*args)
    assert r.exit_code == 0, r.output
    pooled = json.loads(r.stdout)["pooled"]
    assert set(pooled) == {"class_model", "reference_class", "persistence", "trailing_rate",
                           "model", str(tmp_path / "b" / "model"), str(tmp_path / "persistence"),
                           str(tmp_path / "class model")}
    assert len({json.dumps(v["crps_days"]) for v in pooled.values()}) == len(pooled)
    labelled = run(*args, "--label", "slow", "--label", "fast", "--label", "p", "--label", "q")
    assert labelled.exit_code == 0, labelled.output
    assert {"slow", "fast", "p", "q"} <= set(json.loads(labelled.stdout)["pooled"])
    assert json.loads(labelled.stdout)["pooled"]["fast"] == pooled[str(tmp_path / "b" / "model")]


@pytest.mark.parametrize("labels,expect", [
    (["one"], "--label: one per scenario file (2 files, 1 labels)"),
    (["same", "same"], "--label: 'same' is given twice"),
    (["persistence", "x"], "--label: 'persistence' names a forecaster every evaluation scores"),
    (["class model", "x"], "--label: 'class model' names a forecaster"),
])
def test_versus_labels_refused_in_one_line(tmp_path, class_file, labels, expect):
    a = scenario_file(tmp_path / "a.yaml", 30)
    args = ["reference", "evaluate", class_file, "-n", "20", "--versus", a, "--versus", a]
    for label in labels:
        args += ["--label", label]
    r = run(*args)
    assert r.exit_code == 2 and expect in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_evaluate_api_refuses_a_reserved_label(class_file):
    from sim.errors import AdvsimError
    from sim.fitting.reference import read_class
    from sim.forecast.evaluation import evaluate

    cls = read_class(class_file)
    with pytest.raises(AdvsimError, match="others: 'persistence' names a forecaster"):
        evaluate(cls, others={"persistence": cls and B.advance(50)})


# -- 6: compare --match objective never keeps one of two sectors silently --------------------


def two_runs(tmp_path) -> tuple[Path, Path]:
    twin = B.scenario(B.axis("north", length_km=5, advance=50, objective="Pokrovsk"),
                      B.axis("south", length_km=8, advance=50, objective="Pokrovsk"),
                      B.axis("east", length_km=8, advance=50, objective="Kurakhove"),
                      horizon_days=60)
    one = B.scenario(B.axis("axis", length_km=6, advance=60, objective="Pokrovsk"),
                     horizon_days=60)
    out = []
    for name, sc in (("twin", twin), ("one", one)):
        f = tmp_path / f"{name}.yaml"
        f.write_text(dump(B.checked(sc)))
        r = run("run", f, "-n", "50", "-j", "1", "--out", tmp_path / name, "-q")
        assert r.exit_code == 0, r.output
        out.append(tmp_path / name)
    return out[0], out[1]


def test_compare_by_objective_refuses_two_sectors_of_one_objective(tmp_path):
    twin, one = two_runs(tmp_path)
    for runs, which in (((twin, one), "A"), ((one, twin), "B")):
        r = run("compare", *runs, "--match", "objective")
        assert r.exit_code == 2, r.output
        assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output
        assert (f"--match: sectors 'north' and 'south' of run {which} share the objective "
                "'Pokrovsk', and --match objective pairs one sector per objective") in r.output
        assert "--match sector" in r.output
    import sim

    with pytest.raises(sim.AdvsimError, match="match: sectors 'north' and 'south'"):
        sim.compare([sim.Result.from_folder(twin), sim.Result.from_folder(one)],
                    match="objective")


# -- 11: a report reads only what advsim wrote, by the kind its manifest names ---------------


def test_report_reads_only_folders_advsim_wrote_by_kind(tmp_path):
    import shutil

    _, one = two_runs(tmp_path)
    fake = tmp_path / "fake-backtest"  # a JSON with sectors, as a backtest's scores look
    fake.mkdir()
    (fake / "scores.json").write_text(json.dumps({"sectors": {"x": {"crps": 1}}}))
    relabelled = tmp_path / "relabelled"  # a run's folder whose manifest claims a backtest
    shutil.copytree(one, relabelled)
    manifest = json.loads((relabelled / "manifest.json").read_text())
    (relabelled / "manifest.json").write_text(json.dumps({**manifest, "kind": "backtest"}))
    other = tmp_path / "trace"  # a kind a report does not hold
    shutil.copytree(one, other)
    (other / "manifest.json").write_text(json.dumps({**manifest, "kind": "trace"}))
    unkinded = tmp_path / "unkinded"  # no kind: only the run reader may take it
    shutil.copytree(one, unkinded)
    (unkinded / "manifest.json").write_text(json.dumps({"sectors": {}}))
    cases = [
        (one / "summary.json", "a file of the folder"),
        (fake / "scores.json", "not a folder advsim wrote"),
        (fake, "not written by advsim"),
        (relabelled, "not a backtest folder of advsim backtest --out (no scores.json)"),
        (other, "a trace folder of advsim trace --out, which a report does not hold"),
        (unkinded, "manifest.json lists no checksums"),
    ]
    for item, message in cases:
        r = run("report", item, "-o", tmp_path / "r.md")
        assert r.exit_code == 2, (item, r.output)
        assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output
        assert r.output.startswith(f"{item}: ") and message in r.output, r.output
    assert not (tmp_path / "r.md").exists()


# -- 9: reference build writes only class files its reader reads -----------------------------


def test_build_refuses_a_class_its_reader_would_refuse(tmp_path, monkeypatch):
    out = tmp_path / "c.yaml"
    f = closing_series_csv(tmp_path / "s.csv", {"a": 10, "b": 6})
    r = run("reference", "build", f, "--until", "2024-11-20", "--within-km", "20000",
            "-o", out)
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert "--within-km must be a positive number of km, at most 10000 (got 20000)" in r.output
    far = tmp_path / "far.csv"  # a distance the class file cannot hold
    far.write_text(f.read_text().replace("2023-01-01,a,10.0000", "2023-01-01,a,20000.0000"))
    r = run("reference", "build", far, "--until", "2024-11-20", "-o", out)
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert f"{out}: not written: its reader would refuse it (towns.a.series.0.1: " \
        "must be <= 10000" in r.output
    assert not out.exists()
    from sim.model import loader

    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 2000)  # a class larger than its reader reads
    r = run("reference", "build", f, "--until", "2024-11-20", "-o", out)
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert f"{out}: not written: the class would be" in r.output
    assert "a class file is read up to 0.00191 MB" in r.output
    assert not out.exists()
    monkeypatch.undo()
    r = run("reference", "build", f, "--until", "2024-11-20", "-o", out)
    assert r.exit_code == 0 and out.exists(), r.output


# -- 10: a class file cut short is refused by name --------------------------------------------


def test_class_file_cut_at_any_line_is_refused(tmp_path, class_file):
    from sim.errors import AdvsimError
    from sim.fitting.reference import END_LINE, read_class

    text = class_file.read_text()
    assert text.endswith(END_LINE + "\n")
    whole = read_class(class_file)
    lines = text.splitlines(keepends=True)
    cut = tmp_path / "cut.yaml"
    for n in range(1, len(lines)):
        cut.write_text("".join(lines[:n]))
        with pytest.raises(AdvsimError, match=f"^{cut}:{n}: cut short: no end line"):
            read_class(cut)
    cut.write_text("".join(lines[:-4]))  # a town's series halved: it would load otherwise
    r = run("reference", "show", cut)
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert f"{cut}:{len(lines) - 4}: cut short: no end line '{END_LINE}'" in r.output
    cut.write_text(text.rstrip("\n"))  # the last line break lost: nothing is lost
    assert read_class(cut).towns == whole.towns


# -- 22: the Python API: one AdvsimError naming the parameter and what it accepts ------------


@pytest.fixture(scope="module")
def api_result():
    import sim

    sc = B.checked(B.scenario(B.axis("x", length_km=5, advance=100), horizon_days=60))
    return sc, sim.simulate(sc, replications=20, seed=1)


def test_api_arguments_are_one_error_naming_the_parameter(tmp_path, api_result):
    import sim
    from sim.data.trace import trace
    from sim.fitting import reference
    from sim.forecast.evaluation import evaluate

    sc, result = api_result
    towns = tmp_path / "towns.csv"
    towns.write_text("name,lat,lon\nA,48,37\n")
    obs = tmp_path / "obs.csv"
    obs.write_text("date,sector,value\n2024-11-20,x,0\n2024-12-01,x,1\n")
    cases = [  # (call, parameter, TypeError or ValueError, what the message says)
        (lambda: sim.simulate("scenarios/kurakhove.yaml"), "scenario", TypeError,
         "expected a Scenario (sim.load_scenario(path) reads one from a file)"),
        (lambda: sim.simulate(None), "scenario", TypeError, "got NoneType None"),
        (lambda: sim.simulate(sc, replications=0), "replications", ValueError,
         "expected a whole number from 1 to 1,000,000,000 or None (got 0)"),
        (lambda: sim.simulate(sc, replications=1.5), "replications", TypeError, "(got 1.5)"),
        (lambda: sim.simulate(sc, replications=True), "replications", TypeError,
         "(got bool True)"),
        (lambda: sim.simulate(sc, replications="100"), "replications", TypeError,
         "(got '100')"),
        (lambda: sim.simulate(sc, seed=1.5), "seed", TypeError, "expected a whole number"),
        (lambda: sim.simulate(sc, replications=10**12), "replications", ValueError,
         "(got 1,000,000,000,000)"),
        (lambda: sim.compare(result), "runs", TypeError,
         "expected a list of two or more Results"),
        (lambda: sim.plot([None], output=tmp_path / "x.png"), "runs", TypeError,
         "(got NoneType None)"),
        (lambda: sim.backtest(result, obs), "scenario", TypeError,
         "expected a Scenario or a scenario file's path (got Result"),
        (lambda: reference.build(str(towns), until=dt.date(2024, 1, 1)), "series_files",
         TypeError, f"got the single path '{towns}' (put it in a list"),
        (lambda: reference.build([towns], until="2024-01-01"), "until", TypeError,
         "expected a datetime.date"),
        (lambda: evaluate(None, every_days=0), "cls", TypeError, "expected a ReferenceClass"),
        (lambda: trace(tmp_path, "Pokrovsk"), "inputs", TypeError,
         "got the single path"),
        (lambda: trace([tmp_path], "Pokrovsk"), "places", TypeError,
         "expected a list of Places"),
    ]
    for call, param, kind, says in cases:
        with pytest.raises(sim.AdvsimError) as e:
            call()
        assert isinstance(e.value, kind), (param, e.value)
        assert e.value.params == (param,) and str(e.value).startswith(f"{param}: "), e.value
        assert says in str(e.value), (says, str(e.value))
    from sim.fitting.reference import read_class

    cls = read_class(_class_of(tmp_path))
    with pytest.raises(ValueError, match=r"^every_days: expected a whole number from 1"):
        evaluate(cls, every_days=0)


def _class_of(tmp_path: Path) -> Path:
    out = tmp_path / "class.yaml"
    f = closing_series_csv(tmp_path / "s.csv", {"a": 10, "b": 6, "c": 12})
    assert run("reference", "build", f, "--until", "2024-11-20", "-o", out).exit_code == 0
    return out


def test_api_memory_estimate_guards_simulate(api_result):
    import sim

    sc, _ = api_result
    with pytest.raises(sim.AdvsimError, match=r"^replications: 1,000,000,000 replications × 60 "
                       r"days × 1 sector need about [\d.]+ GB of memory, more than the"):
        sim.simulate(sc, replications=10**9)


# -- 21: messages in the command line's words --------------------------------------------------


def test_reference_and_compare_messages_speak_the_flags(tmp_path, class_file):
    f = closing_series_csv(tmp_path / "s2.csv", {"a": 10, "b": 6})
    for args, says in (
        (["--within-km", "20000"], "--within-km must be a positive number of km, at most 10000 "
                                   "(got 20000)"),
        (["--until", "2020-01-01"], "no observation on or before --until 2020-01-01 (the first "
                                    "is 2023-01-01)"),
    ):
        if args[0] == "--until":
            r = run("reference", "build", f, *args, "-o", tmp_path / "c.yaml")
        else:
            r = run("reference", "build", f, "--until", "2024-11-20", *args,
                    "-o", tmp_path / "c.yaml")
        assert r.exit_code == 2 and r.output.strip() == says, r.output
    r = run("reference", "evaluate", class_file, "-n", "20", "-j", "256", "--json")
    assert r.exit_code == 0
    assert "-j 256 is more than the" in r.stderr and "using -j" in r.stderr
    _, one = two_runs(tmp_path)
    other = tmp_path / "other.yaml"
    other.write_text(dump(B.checked(B.scenario(
        B.axis("y", length_km=6, advance=60, objective="Kramatorsk"), horizon_days=60))))
    assert run("run", other, "-n", "50", "-j", "1", "--out", tmp_path / "o", "-q").exit_code == 0
    r = run("compare", one, tmp_path / "o", "--match", "objective")
    assert r.exit_code == 2 and r.output.strip() == (
        "compare: the runs share no objective (with --match objective, sectors are matched by "
        "their objective's name)"), r.output


@pytest.mark.parametrize("origins", ["", ",,", " "])
def test_backtest_origins_given_nothing_says_so(tmp_path, origins):
    sc = scenario_file(tmp_path / "s.yaml", 50)
    obs = tmp_path / "obs.csv"
    obs.write_text("date,sector,value\n2024-11-20,x,0\n2024-12-01,x,1\n")
    r = run("backtest", sc, "--observed", obs, "--origins", origins)
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert f"got {origins!r} (no number and no date)" in r.output and "None" not in r.output


# -- 15: backtest --origins estimates its memory before it starts -------------------------------


def test_backtest_origins_refuses_beyond_memory_with_the_figures(tmp_path, monkeypatch):

    from sim.errors import AdvsimError
    from sim.forecast import many_origins
    from sim.running import executors

    sc = tmp_path / "s.yaml"
    sc.write_text(dump(B.checked(B.scenario(B.axis("x", length_km=2000, advance=50),
                                            start="2015-01-01", horizon_days=365))))
    obs = tmp_path / "obs.csv"
    obs.write_text("date,sector,value\n" + "".join(
        f"{dt.date(2015, 1, 1) + dt.timedelta(days=i)},x,{0.05 * i:.3f}\n"
        for i in range(3000)))
    monkeypatch.setattr(executors, "available_memory", lambda: 8 * 2**30)
    r = run("backtest", sc, "--observed", obs, "--origins", "1", "-n", "10000")
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert r.output.startswith("--origins: 2,999 origins × 10,000 replications, up to 365 days "
                               "each, need about ")
    assert "GB of memory, more than the 8.0 GB available (use fewer origins, fewer " \
        "replications, a shorter horizon, or --force)" in r.output
    plan = many_origins.plan_origins(sc, obs, every_days=1, replications=10000)
    assert many_origins.origins_memory(plan) > 40 * 2**30  # as measured: about 40 GB
    with pytest.raises(AdvsimError, match=r"^origins: 2,999 origins"):
        many_origins.check_origins_memory(plan)
    assert many_origins.check_origins_memory(plan, force=True) > 8 * 2**30
