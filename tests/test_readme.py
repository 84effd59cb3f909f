"""The README's commands and examples work as written (like SimPy's documentation tests)."""

from __future__ import annotations

import glob
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def marked_command(marker: str) -> str:
    after = README.split(f"<!-- {marker} -->", 1)[1]
    return re.search(r"```sh\n(.*?)\n```", after, flags=re.S).group(1)


SHARED_DATA = (ROOT / ".." / "shared" / "data" / "frontlines").resolve()


def needs_shared_data(text: str) -> bool:
    return "../shared/" in text


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A clone's folder (its scenarios), beside a shared/ with the front-line data when the
    machine has it, as in CI: the README's paths into ../shared/ then work as written."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "scenarios", repo / "scenarios")
    if SHARED_DATA.is_dir():
        (tmp_path / "shared" / "data").mkdir(parents=True)
        (tmp_path / "shared" / "data" / "frontlines").symlink_to(SHARED_DATA)
    monkeypatch.chdir(repo)
    return repo


def test_exactly_two_setup_commands_install_and_run():
    main, tests = marked_command("main-command"), marked_command("test-command")
    assert main.endswith("pip install -e . && advsim run scenarios/kurakhove.yaml")
    assert tests.endswith("pip install -e '.[test]' && python -m pytest")
    assert (ROOT / ".ci/run").read_text().count("test-command") == 1


def test_main_command_prints_the_kurakhove_projection(workdir):
    args = shlex.split(marked_command("main-command").split("&& advsim ", 1)[1])
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert "P(Pokrovsk within 730 days)" in r.stdout and "10,000 replications" in r.stdout
    assert len(list((workdir / "results").iterdir())) == 1


def test_every_example_command_runs(workdir):
    """Every advsim command of the README's sh and console blocks, in the README's order."""
    lines = [cmd.strip()
             for b in re.findall(r"```(?:sh|console)\n(.*?)```", README, flags=re.S)
             for ln in b.splitlines()
             for cmd in ln.removeprefix("$ ").split("#")[0].split("|")[0].split("&&")]
    examples = [ln for ln in lines if ln.startswith("advsim ")]
    assert len(examples) >= 5
    if not SHARED_DATA.is_dir():
        examples = [ln for ln in examples if not needs_shared_data(ln)
                    and not ln.startswith("advsim calibrate results/approach")]
    for ln in examples:
        ln, _, into = ln.partition(" > ")  # `advsim ... > FILE`: what it prints, into FILE
        args = [a for arg in shlex.split(ln)[1:]
                for a in (sorted(glob.glob(arg)) if "*" in arg else [arg])]
        if args[0] in ("run", "sweep"):
            args += ["-n", "200"]  # the same command, fewer replications
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 0, f"{ln}: {r.output}"
        if into:
            Path(into.strip()).write_text(r.stdout, encoding="utf-8")


def test_python_api_example_compares_and_plots_in_memory(workdir, capsys):
    (code,) = blocks("python")
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert 10 < float(printed) < 40  # the strikes delay the fall by weeks, not days or months
    assert sorted(p.name for p in workdir.iterdir()) == ["cdf.png", "scenarios"]  # no results/


def console_sessions() -> list[list[tuple[str, list[str]]]]:
    """The README's ```console blocks: each a list of (command, expected output lines)."""
    sessions = []
    for block in blocks("console"):
        steps: list[tuple[str, list[str]]] = []
        for line in block.rstrip("\n").splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                assert steps, f"output before any command in a console block: {line!r}"
                steps[-1][1].append(line)
        sessions.append(steps)
    return sessions


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line, where a line ``...`` stands for any lines and ``...`` within a line for any
    text (as doctest's ELLIPSIS)."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    pattern = ".*".join(re.escape(part) for part in head.split("..."))
    return bool(actual) and re.fullmatch(pattern, actual[0]) is not None \
        and matches(rest, actual[1:])


def test_the_matcher_would_catch_a_stale_readme():
    assert matches(["a", "...", "z"], ["a", "b", "c", "z"])
    assert matches(["took ... s"], ["took 0.44 s"])
    assert not matches(["median 23.4 days later"], ["median 24.0 days later"])
    assert not matches(["a"], ["a", "b"])


@pytest.mark.parametrize("session", range(len(console_sessions())))
def test_readme_output_is_what_the_commands_print(workdir, session):
    """Every ```console block runs in a fresh folder, in order, and prints what it shows."""
    steps = console_sessions()[session]
    if any(needs_shared_data(cmd) for cmd, _ in steps) and not SHARED_DATA.is_dir():
        pytest.skip(f"the shared front-line data is not at {SHARED_DATA}")
    for command, expected in steps:
        args = shlex.split(command)
        assert args[0] == "advsim", command
        r = CliRunner().invoke(cli, args[1:])
        assert r.exit_code == 0, f"{command}: {r.output}"
        actual = r.stdout.rstrip("\n").splitlines() if r.stdout.strip() else []
        assert matches(expected, actual), (
            f"{command} printed:\n" + "\n".join(actual) + "\n\nREADME shows:\n"
            + "\n".join(expected))


def test_the_readme_shows_its_output():
    assert len(console_sessions()) >= 2
