"""Progress on long commands: on a terminal (forced here with ADVSIM_PROGRESS=1) a line with
the share done and an ETA over the whole job, erased before the command prints; nothing with
-q, on a pipe, or for a job quicker than a second."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.presentation import progress
from sim.presentation.progress import Progress

ROOT = Path(__file__).resolve().parents[1]
KURAKHOVE = str(ROOT / "scenarios/kurakhove-reported.yaml")


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_eta_covers_every_phase_at_the_speed_measured():
    clock, out = Clock(), io.StringIO()
    bar = Progress("job", {"simulating": 30, "writing": 10}, enabled=True, stream=out,
                   delay=1.0, clock=clock)
    clock.t = 0.5
    bar.update("simulating", 1, 10)  # before the delay: nothing
    assert out.getvalue() == ""
    clock.t = 6.0
    bar.update("simulating", 5, 10)  # 15 of 40 units in 6 s: 25 units left take 10 s
    assert out.getvalue() == "\rjob: simulating 5/10 · 38% · ETA 10 s\033[K"
    clock.t = 12.0
    bar.update("writing", 1, 2)  # 35 of 40 in 12 s: 5 left take 1.7 s
    assert out.getvalue().endswith("\rjob: writing 1/2 · 88% · ETA 2 s\033[K")
    bar.close()
    assert out.getvalue().endswith("\r\033[K")  # erased: what follows starts clean


def test_work_kept_from_an_earlier_session_does_not_speed_the_eta():
    clock, out = Clock(), io.StringIO()
    bar = Progress("sweep", {"points": 100}, enabled=True, stream=out, delay=0, clock=clock)
    bar.already("points", 50, 100)  # kept from an interrupted sweep
    clock.t = 10.0
    bar.update("points", 60, 100)  # 10 points in 10 s: 40 more take 40 s
    assert "60/100 · 60% · ETA 40 s" in out.getvalue()


def test_a_step_said_is_drawn_at_once_and_the_next_update_replaces_it():
    clock, out = Clock(), io.StringIO()
    bar = Progress("job", {"reading": 1, "measuring": 3}, enabled=True, stream=out,
                   delay=1.0, clock=clock)
    bar.update("reading", 1, 2)  # before the delay: nothing
    assert out.getvalue() == ""
    bar.say("reading the gazetteer…")  # a step that will hold the interpreter: now
    assert out.getvalue() == "\rjob: reading the gazetteer… · 12%\033[K"
    clock.t = 2.0
    bar.update("measuring", 1, 3)
    assert out.getvalue().endswith("\rjob: measuring 1/3 · 50% · ETA 2 s\033[K")
    bar.close()
    assert out.getvalue().endswith("\r\033[K")
    quiet = io.StringIO()
    Progress("job", {"a": 1}, enabled=False, stream=quiet, delay=0).say("reading…")
    assert quiet.getvalue() == ""


def test_disabled_progress_writes_nothing():
    out = io.StringIO()
    with Progress("job", {"a": 1}, enabled=False, stream=out, delay=0) as bar:
        bar.update("a", 1, 2)
    assert out.getvalue() == ""


def test_wanted_follows_the_terminal_quiet_and_the_environment(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv(progress.ENV, raising=False)
    assert progress.wanted(stream=Tty()) and not progress.wanted(stream=io.StringIO())
    assert not progress.wanted(quiet=True, stream=Tty())
    monkeypatch.setenv(progress.ENV, "0")
    assert not progress.wanted(stream=Tty())
    monkeypatch.setenv(progress.ENV, "1")
    assert progress.wanted(stream=io.StringIO()) and not progress.wanted(quiet=True)


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture
def fast_display(monkeypatch):
    """Draw from the first update and at every one, as on a long job."""
    real = Progress.__init__

    def init(self, *args, **kwargs):
        real(self, *args, **{**kwargs, "delay": 0.0, "rate": 1e9})

    monkeypatch.setattr(Progress, "__init__", init)


def test_run_shows_simulating_and_writing_on_a_terminal(tmp_path, fast_display):
    r = run("run", KURAKHOVE, "-n", "30000", "-j", "1", "--out", str(tmp_path / "o"),
            env={"ADVSIM_PROGRESS": "1"})
    assert r.exit_code == 0, r.output
    err = r.stderr
    assert "advsim run: simulating 1/3 · " in err and "advsim run: simulating 3/3" in err
    assert "advsim run: writing" in err and "ETA" in err
    assert err.endswith("\r\033[K")  # erased before the table
    assert r.stdout.startswith("Kurakhove → Pokrovsk (at the reported rate)\n")  # the table
    shares = [int(part.split(" · ")[1].removesuffix("\033[K").rstrip("%"))
              for part in err.split("\r") if " · " in part]
    assert shares == sorted(shares) and shares[-1] == 100


@pytest.mark.parametrize("args", [("-q",), ()])
def test_nothing_with_quiet_or_on_a_pipe(tmp_path, fast_display, args):
    forced = {"ADVSIM_PROGRESS": "1"} if args else {}  # -q wins even over the environment
    r = run("run", KURAKHOVE, "-n", "20000", "-j", "1", "--out", str(tmp_path / "o"), *args,
            env=forced)
    assert r.exit_code == 0 and r.stderr == ""


def test_compare_shows_reading_and_the_bootstrap(tmp_path, fast_display):
    for name in ("a", "b"):
        assert run("run", KURAKHOVE, "-n", "500", "-j", "1", "--out", str(tmp_path / name),
                   "-q").exit_code == 0
    r = run("compare", str(tmp_path / "a"), str(tmp_path / "b"), "--bootstrap", "300",
            env={"ADVSIM_PROGRESS": "1"})
    assert r.exit_code == 0, r.output
    assert "advsim compare: reading 0/2" in r.stderr
    assert "advsim compare: bootstrapping 300/300 · 100%" in r.stderr
    assert r.stdout.startswith("Comparing 2 runs")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def drawn(out: io.StringIO, what: str, seconds: float = 10.0) -> bool:
    """Whether ``what`` is drawn within ``seconds`` (the ticker draws from its own thread)."""
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if what in out.getvalue():
            return True
        time.sleep(0.01)
    return False


def test_a_step_that_reports_nothing_still_shows_on_a_terminal():
    clock, out = Clock(), Tty()
    with Progress("advsim reference fit", {"fitting": 1, "checking": 9}, enabled=True,
                  stream=out, delay=1.0, tick=0.01, clock=clock) as bar:
        clock.t = 0.5
        assert not drawn(out, "fitting", 0.1)  # before the delay: nothing, even ticking
        clock.t = 3.0  # a fit that has run 3 s and reported nothing
        assert drawn(out, "\radvsim reference fit: fitting · 0%\033[K")
        bar.update("checking", 1, 4)  # 1 + 9/4 of 10 units in 3 s
        clock.t = 4.0
        assert drawn(out, "\radvsim reference fit: checking 1/4 · 32% · ETA 8 s\033[K")
    assert out.getvalue().endswith("\r\033[K")  # erased, and the ticker stopped
    after = out.getvalue()
    clock.t = 10.0
    assert not drawn(out, "ETA 1", 0.1) and out.getvalue() == after


def test_a_bar_without_a_with_block_draws_only_on_updates():
    clock, out = Clock(), Tty()
    Progress("job", {"a": 1}, enabled=True, stream=out, delay=0, tick=0.01, clock=clock)
    assert not drawn(out, "job", 0.1)


@pytest.mark.parametrize("command", [["fit", "--no-check"], ["fit", "-n", "20"],
                                     ["evaluate", "-n", "20"]])
def test_reference_fit_and_evaluate_show_their_phases(tmp_path, fast_display, command):
    from test_reference import series_csv, steady

    towns = {"a": steady(10, 40, 30), "b": steady(6, 30, 30), "c": steady(8, 50, 30),
             "d": steady(20, 0, 30)}
    cls = tmp_path / "c.yaml"
    assert run("reference", "build", str(series_csv(tmp_path / "s.csv", towns)), "--until",
               "2024-11-20", "-o", str(cls)).exit_code == 0
    r = run("reference", command[0], str(cls), *command[1:], env={"ADVSIM_PROGRESS": "1"})
    assert r.exit_code == 0, r.output
    label = f"advsim reference {command[0]}: "
    phases = (["fitting"] if "--no-check" in command else
              ["fitting", "checking"] if command[0] == "fit" else ["fitting", "simulating"])
    for phase in phases:
        assert f"{label}{phase}" in r.stderr
    assert r.stderr.endswith("\r\033[K")
    assert "\r" not in r.stdout and "\033" not in r.stdout
    r = run("reference", command[0], str(cls), *command[1:])  # not a terminal: nothing
    assert r.exit_code == 0 and r.stderr == ""


def test_trace_shows_the_snapshots_it_measures(tmp_path, fast_display):
    shared = ROOT.parent / "shared" / "data" / "frontlines" / "occupied"
    if not shared.is_dir():
        pytest.skip("the shared front-line data is not here")
    r = run("trace", str(shared), "--to", "Pokrovsk", env={"ADVSIM_PROGRESS": "1"})
    assert r.exit_code == 0, r.output
    assert "advsim trace: measuring 20/21 · 95%" in r.stderr
    assert r.stderr.endswith("\r\033[K") and r.stdout.startswith("21 snapshots")
