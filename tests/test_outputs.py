"""Every output a command writes goes through one gate (issue 24): standard output for ``-``, a
symbolic link written through, a device, FIFO or folder never replaced, an output never one of
the command's inputs or another of its outputs, a read-only folder refused before the work, a
full disk one line with nothing left. The links and FIFOs are made in the test's own folder."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.artifacts import outputs
from sim.cli import cli
from sim.errors import AdvsimError

ROOT = Path(__file__).resolve().parents[1]

SQUARE = {"type": "Polygon",
          "coordinates": [[[37.1, 47.9], [37.3, 47.9], [37.3, 48.1], [37.1, 48.1], [37.1, 47.9]]]}
PLACE = "48.3,37.2"


def snaps(tmp_path: Path) -> Path:
    """A folder of two tiny snapshots."""
    folder = tmp_path / "snaps"
    folder.mkdir()
    text = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": SQUARE}]})
    for day in ("20241120", "20241127"):
        (folder / f"deepstatemap_data_{day}.geojson").write_text(text)
    return folder


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def refused(r, *words: str) -> str:
    """Exit 2, one line on stderr holding ``words``, no traceback, nothing on stdout."""
    lines = r.stderr.splitlines()
    assert r.exit_code == 2, r.output
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.output and r.stdout == ""
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def listing(folder: Path) -> dict[str, str]:
    """What a folder holds: each name and its kind (a link with its target)."""
    out = {}
    for p in sorted(folder.iterdir()):
        if p.is_symlink():
            out[p.name] = f"-> {os.readlink(p)}"
        else:
            out[p.name] = "fifo" if stat.S_ISFIFO(p.lstat().st_mode) else \
                "dir" if p.is_dir() else p.read_bytes().hex()
    return out


# -- item 1: standard output, links, devices ---------------------------------------------------

def test_1_dash_writes_the_bytes_to_standard_output(capsysbinary):
    for name in ("-", "/dev/stdout"):
        outputs.write_output(name, b"a,b\n1,2\n")
        assert capsysbinary.readouterr().out == b"a,b\n1,2\n"


def test_1_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    (tmp_path / "real.csv").write_text("old")
    os.symlink("real.csv", tmp_path / "link.csv")
    outputs.write_output(tmp_path / "link.csv", b"new")
    assert os.readlink(tmp_path / "link.csv") == "real.csv"
    assert (tmp_path / "real.csv").read_bytes() == b"new"
    os.symlink("made.csv", tmp_path / "dangling.csv")  # a dangling link makes its target
    outputs.write_output(tmp_path / "dangling.csv", b"x")
    assert (tmp_path / "made.csv").read_bytes() == b"x" and (tmp_path / "dangling.csv").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling.csv", "link.csv", "made.csv",
                                                         "real.csv"]  # no temporary left


@pytest.mark.parametrize("make", ["fifo", "link-to-fifo", "folder", "loop"])
def test_1_a_fifo_a_folder_or_a_loop_is_refused_and_kept(tmp_path, make):
    target = tmp_path / "out.csv"
    if make == "fifo":
        os.mkfifo(target)
    elif make == "link-to-fifo":
        os.mkfifo(tmp_path / "pipe")
        os.symlink("pipe", target)
    elif make == "folder":
        target.mkdir()
    else:
        os.symlink("out.csv", target)
    before = listing(tmp_path)
    with pytest.raises(AdvsimError, match=r"out\.csv: "):
        outputs.write_output(target, b"data")
    assert listing(tmp_path) == before


def test_1_trace_writes_through_links_and_to_standard_output(tmp_path):
    folder = snaps(tmp_path)
    r = invoke("trace", folder, "--to", PLACE, "-o", "-")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0].startswith("date,sector,value,frame")
    assert len(r.stdout.splitlines()) == 3 and "Wrote -" in r.stderr  # the summary beside it
    (tmp_path / "real.csv").write_text("old")
    os.symlink("real.csv", tmp_path / "link.csv")
    r = invoke("trace", folder, "--to", PLACE, "-o", tmp_path / "link.csv")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "link.csv").is_symlink()
    assert (tmp_path / "real.csv").read_text().startswith("date,sector,value")
    r = invoke("trace", folder, "--to", PLACE, "-o", "-", "--json")
    refused(r, "--json")


# Every command's output options: a FIFO there is refused in one line before any work (the
# inputs named need not even exist), and stays a FIFO.
COMMANDS = {
    "trace -o": ["trace", "snaps", "--to", PLACE, "-o", "{}"],
    "trace --chart": ["trace", "snaps", "--to", PLACE, "--chart", "{}.png"],
    "plot -o": ["plot", "run", "-o", "{}.png"],
    "report -o": ["report", "run", "-o", "{}.html"],
    "reference build -o": ["reference", "build", "towns.csv", "--until", "2024-11-20", "-o",
                           "{}.yaml"],
    "reference show --chart": ["reference", "show", "class.yaml", "--chart", "{}.png"],
    "reference fit -o": ["reference", "fit", "class.yaml", "-o", "{}"],
    "reference evaluate -o": ["reference", "evaluate", "class.yaml", "-o", "{}"],
    "backtest --quantiles": ["backtest", "s.yaml", "--observed", "o.csv", "--quantiles",
                             "{}.csv"],
    "backtest --chart": ["backtest", "s.yaml", "--observed", "o.csv", "--chart", "{}.png"],
    "outlook --geojson": ["outlook", "snaps", "--geojson", "{}"],
    "outlook --chart": ["outlook", "snaps", "--chart", "{}.png"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_1_every_output_option_refuses_a_fifo(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    args = COMMANDS[name]
    fifo = next(a for a in args if "{}" in a).format("pipe")
    os.mkfifo(fifo)
    refused(invoke(*[a.format("pipe") for a in args]), fifo, "FIFO")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(os.listdir(tmp_path)) == [fifo]


# -- item 2: an output is never an input, nor another output -----------------------------------

def test_2_trace_refuses_to_write_over_a_snapshot_it_reads(tmp_path):
    folder = snaps(tmp_path)
    before = listing(folder)
    one = folder / "deepstatemap_data_20241120.geojson"
    refused(invoke("trace", folder, "--to", PLACE, "-o", one), "-o/--output", "is an input")
    os.symlink(one, tmp_path / "alias.csv")  # the same file by another name
    refused(invoke("trace", folder, "--to", PLACE, "-o", tmp_path / "alias.csv"),
            "is an input")
    assert listing(folder) == before


def test_2_two_outputs_of_one_command_are_two_files(tmp_path):
    folder = snaps(tmp_path)
    refused(invoke("trace", folder, "--to", PLACE, "-o", tmp_path / "same.png", "--chart",
                   tmp_path / "same.png"), "the same file")
    refused(invoke("trace", folder, "--to", PLACE, "-o", "-", "--chart", "-"),
            "both are standard output")
    refused(invoke("outlook", folder, "--chart", tmp_path / "x.png", "--geojson",
                   tmp_path / "x.png"), "--geojson", "--chart", "the same file")
    assert sorted(os.listdir(tmp_path)) == ["snaps"]


def test_2_backtest_refuses_quantiles_over_the_observed_series(tmp_path):
    obs = tmp_path / "obs.csv"
    obs.write_text("date,sector,value\n2024-11-20,a,0\n")
    before = obs.read_bytes()
    refused(invoke("backtest", tmp_path / "s.yaml", "--observed", obs, "--quantiles", obs),
            "--quantiles", "is an input")
    assert obs.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["obs.csv"]


@pytest.mark.parametrize("args", [
    ["reference", "build", "{in}", "--until", "2024-11-20", "-o", "{in}"],
    ["reference", "fit", "{in}", "-o", "{in}"],
    ["reference", "evaluate", "{in}", "-o", "{in}"],
    ["plot", "run", "--observed", "{in}", "-o", "{in}"],
], ids=["build", "fit", "evaluate", "plot"])
def test_2_other_commands_refuse_an_input_as_output(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    name = "in.png" if args[0] == "plot" else "in.yaml"
    Path(name).write_text("kept")
    refused(invoke(*[a.replace("{in}", name) for a in args]), "is an input")
    assert Path(name).read_text() == "kept"


# -- item 3: an interruption says what it leaves -----------------------------------------------

def test_3_an_interrupt_between_the_csv_and_the_chart_names_the_csv_it_keeps(tmp_path,
                                                                            monkeypatch):
    import sim.presentation.charts as charts

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(charts, "save", interrupted)
    folder = snaps(tmp_path)
    r = invoke("trace", folder, "--to", PLACE, "-o", tmp_path / "a.csv", "--chart",
               tmp_path / "a.png")
    assert r.exit_code == 130, r.output
    line, = r.stderr.splitlines()
    assert line == ("advsim: interrupted; unfinished output was removed; finished before the "
                    f"interruption and kept: {tmp_path / 'a.csv'}")
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "snaps"]
    monkeypatch.undo()
    r = invoke("trace", folder, "--to", PLACE, "-o", tmp_path / "b.csv")  # a new command
    assert r.exit_code == 0
    from sim.cli import interrupted_message

    assert outputs.finished() == [str(tmp_path / "b.csv")]
    outputs.reset()
    assert interrupted_message() == "advsim: interrupted; unfinished output was removed"


# -- item 17: a read-only folder before the work, a full disk while writing --------------------

@pytest.fixture
def read_only(tmp_path, monkeypatch):
    """A folder that cannot be written: by its mode, and where that does not hold (as root) by
    what os.access says of it."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.access(ro, os.W_OK):  # root: the mode does not stop it
        real = os.access

        def access(path, mode, *args, **kwargs):
            if mode & os.W_OK and Path(path).resolve() == ro.resolve():
                return False
            return real(path, mode, *args, **kwargs)

        monkeypatch.setattr(os, "access", access)
    yield ro
    ro.chmod(0o755)


READ_ONLY = {
    "trace -o": ["trace", "snaps", "--to", PLACE, "-o", "ro/a.csv"],
    "trace --out": ["trace", "snaps", "--to", PLACE, "--out", "ro/t"],
    "backtest --quantiles": ["backtest", "s.yaml", "--observed", "o.csv", "--quantiles",
                             "ro/q.csv"],
    "backtest --out": ["backtest", "s.yaml", "--observed", "o.csv", "--out", "ro/bt"],
    "report -o": ["report", "run", "-o", "ro/r.html"],
    "reference build -o": ["reference", "build", "t.csv", "--until", "2024-11-20", "-o",
                           "ro/c.yaml"],
    "reference fit -o": ["reference", "fit", "c.yaml", "-o", "ro/fit.txt"],
    "reference evaluate -o": ["reference", "evaluate", "c.yaml", "-o", "ro/ev.json"],
    "plot -o": ["plot", "run", "-o", "ro/p.png"],
    "outlook --out": ["outlook", "snaps", "--out", "ro/o"],
    "outlook --chart": ["outlook", "snaps", "--chart", "ro/m.png"],
    "sweep --out": ["sweep", str(ROOT / "scenarios/sweeps/kurakhove-forces.yaml"), "--out",
                    "ro/s", "-q"],
    "run --out": ["run", str(ROOT / "scenarios/kurakhove.yaml"), "--out", "ro/r", "-q"],
}


@pytest.mark.parametrize("name", sorted(READ_ONLY))
def test_17_a_read_only_folder_is_refused_before_the_work(tmp_path, monkeypatch, read_only,
                                                          name):
    monkeypatch.chdir(tmp_path)
    line = refused(invoke(*READ_ONLY[name]), "read-only")
    assert "ro/" in line or str(read_only) in line
    assert os.listdir(read_only) == []


@pytest.fixture
def full_disk(monkeypatch):
    """Every file opened by its descriptor (as the atomic writes open theirs) is on a full
    disk: its first write fails with ENOSPC."""
    real = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()
            return False

        def __getattr__(self, name):
            return getattr(self.f, name)

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: Full(real(fd, *a, **k)))


def test_17_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, full_disk):
    (tmp_path / "old.csv").write_text("kept")
    with pytest.raises(AdvsimError, match="No space left on device"):
        outputs.write_output(tmp_path / "old.csv", b"new")
    from sim.forecast.quantiles import QuantileTable

    with pytest.raises(AdvsimError, match=r"q\.csv: cannot write it \(No space left"):
        QuantileTable.from_rows([]).write(tmp_path / "q.csv")
    assert listing(tmp_path) == {"old.csv": b"kept".hex()}


def test_17_trace_on_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, full_disk):
    folder = snaps(tmp_path)
    refused(invoke("trace", folder, "--to", PLACE, "-o", tmp_path / "a.csv"),
            "a.csv: cannot write it (No space left on device)")
    refused(invoke("trace", folder, "--to", PLACE, "--chart", tmp_path / "a.png"),
            "a.png: cannot write it (No space left on device)")
    assert sorted(os.listdir(tmp_path)) == ["snaps"]


def test_17_a_folder_output_on_a_full_disk_is_one_line_and_leaves_nothing(tmp_path):
    from sim.artifacts.files import atomic_dir

    with pytest.raises(AdvsimError, match=r"out: cannot write x\.csv \(No space left"), \
            atomic_dir(tmp_path / "out") as tmp:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp / "x.csv"))
    assert os.listdir(tmp_path) == []
