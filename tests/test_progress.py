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
