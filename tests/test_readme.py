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


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_exactly_two_setup_commands_install_and_run():
    main, tests = marked_command("main-command"), marked_command("test-command")
    assert main.endswith("pip install -e . && advsim run scenarios/kurakhove.yaml")
    assert tests.endswith("pip install -e '.[test]' && python -m pytest")
    assert (ROOT / ".ci/run").read_text().count("test-command") == 1


def test_main_command_prints_the_kurakhove_projection(workdir):
    args = shlex.split(marked_command("main-command").split("&& advsim ", 1)[1])
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert "P(Pokrovsk within 365 days)" in r.stdout and "10,000 replications" in r.stdout
    assert len(list((workdir / "results").iterdir())) == 1


def test_every_example_command_runs(workdir):
    lines = [ln.split("#")[0].split("|")[0].strip()
             for b in blocks("sh") for ln in b.splitlines()]
    examples = [ln for ln in lines if ln.startswith("advsim ")]
    assert len(examples) >= 5
    for ln in examples:
        args = [a for arg in shlex.split(ln)[1:]
                for a in (sorted(glob.glob(arg)) if "*" in arg else [arg])]
        if args[0] in ("run", "sweep"):
            args += ["-n", "200"]  # the same command, fewer replications
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 0, f"{ln}: {r.output}"


def test_python_api_example_runs(workdir, capsys):
    (code,) = blocks("python")
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert 0.0 <= float(printed) <= 1.0
