"""The README's and docs' commands and examples work as written, and the docs describe the tree
that is there (like SimPy's documentation tests)."""

from __future__ import annotations

import ast
import glob
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
SHARED_DATA = (ROOT / ".." / "shared" / "data" / "frontlines").resolve()


def text(doc: Path) -> str:
    return doc.read_text(encoding="utf-8")


def blocks(doc: Path, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text(doc), flags=re.S)


def marked_command(marker: str) -> str:
    after = text(README).split(f"<!-- {marker} -->", 1)[1]
    return re.search(r"```sh\n(.*?)\n```", after, flags=re.S).group(1)


def needs_shared_data(line: str) -> bool:
    return "../shared/" in line


def example_commands(doc: Path) -> list[str]:
    """Every advsim command of a document's sh and console blocks, in its order."""
    lines = [cmd.strip()
             for b in re.findall(r"```(?:sh|console)\n(.*?)```", text(doc), flags=re.S)
             for ln in b.splitlines()
             for cmd in ln.removeprefix("$ ").split("#")[0].split("|")[0].split("&&")]
    return [ln for ln in lines if ln.startswith("advsim ")]


def console_sessions(doc: Path) -> list[list[tuple[str, list[str]]]]:
    """A document's ```console blocks: each a list of (command, expected output lines)."""
    sessions = []
    for block in blocks(doc, "console"):
        steps: list[tuple[str, list[str]]] = []
        for line in block.rstrip("\n").splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                assert steps, f"{doc.name}: output before any command in a console block: {line!r}"
                steps[-1][1].append(line)
        sessions.append(steps)
    return sessions


SESSIONS = [(doc, i) for doc in DOCS for i in range(len(console_sessions(doc)))]
WITH_EXAMPLES = [doc for doc in DOCS if example_commands(doc)]


def name(doc: Path) -> str:
    return str(doc.relative_to(ROOT))


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A clone's folder (its scenarios), beside a shared/ with the front-line data when the
    machine has it, as in CI: the paths into ../shared/ then work as written."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "scenarios", repo / "scenarios")
    if SHARED_DATA.is_dir():
        (tmp_path / "shared" / "data").mkdir(parents=True)
        (tmp_path / "shared" / "data" / "frontlines").symlink_to(SHARED_DATA)
    monkeypatch.chdir(repo)
    return repo


def test_exactly_two_setup_commands_install_and_run():
    main, tests = marked_command("main-command"), marked_command("test-command")
    assert main.endswith("pip install -e '.[all]' && advsim run scenarios/kurakhove.yaml")
    assert tests.endswith("pip install -e '.[test]' && python -m pytest")
    assert text(README).count("```sh\npython3 -m venv") == 2
    assert (ROOT / ".ci/run").read_text().count("test-command") == 1


def test_the_readme_is_read_in_five_minutes():
    assert len(text(README).splitlines()) <= 250


def test_main_command_prints_the_kurakhove_projection(workdir):
    args = shlex.split(marked_command("main-command").split("&& advsim ", 1)[1])
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert "P(Pokrovsk within 730 days)" in r.stdout and "10,000 replications" in r.stdout
    assert len(list((workdir / "results").iterdir())) == 1


def test_there_are_examples_to_run():
    assert sum(len(example_commands(doc)) for doc in DOCS) >= 20
    assert len(SESSIONS) >= 4


@pytest.mark.parametrize("doc", WITH_EXAMPLES, ids=name)
def test_every_example_command_runs(workdir, doc):
    """Every advsim command of a document's sh and console blocks, in its order, in a fresh
    folder (each document sets up what its examples need)."""
    examples = example_commands(doc)
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
        assert r.exit_code == 0, f"{name(doc)}: {ln}: {r.output}"
        if into:
            Path(into.strip()).write_text(r.stdout, encoding="utf-8")


def test_python_api_examples_compare_plot_and_build_in_memory(workdir, capsys):
    """The API page's python blocks, in order, in one namespace (as a notebook runs them)."""
    first, built = blocks(ROOT / "docs" / "api.md", "python")
    scope: dict = {}
    exec(compile(first, "docs/api.md", "exec"), scope)
    printed = capsys.readouterr().out
    assert 10 < float(printed) < 40  # the strikes delay the fall by weeks, not days or months
    exec(compile(built, "docs/api.md", "exec"), scope)
    assert float(capsys.readouterr().out) == pytest.approx(9877 / 60, abs=0.01)
    assert sorted(p.name for p in workdir.iterdir()) == ["cdf.png", "scenarios"]  # no results/


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


def test_the_matcher_would_catch_stale_docs():
    assert matches(["a", "...", "z"], ["a", "b", "c", "z"])
    assert matches(["took ... s"], ["took 0.44 s"])
    assert not matches(["median 23.4 days later"], ["median 24.0 days later"])
    assert not matches(["a"], ["a", "b"])


@pytest.mark.parametrize(("doc", "session"), SESSIONS,
                         ids=[f"{name(d)}-{i}" for d, i in SESSIONS])
def test_output_is_what_the_commands_print(workdir, doc, session):
    """Every ```console block runs in a fresh folder, in order, and prints what it shows."""
    steps = console_sessions(doc)[session]
    if any(needs_shared_data(cmd) for cmd, _ in steps) and not SHARED_DATA.is_dir():
        pytest.skip(f"the shared front-line data is not at {SHARED_DATA}")
    for command, expected in steps:
        args = shlex.split(command)
        assert args[0] == "advsim", command
        r = CliRunner().invoke(cli, args[1:])
        assert r.exit_code == 0, f"{command}: {r.output}"
        actual = r.stdout.rstrip("\n").splitlines() if r.stdout.strip() else []
        assert matches(expected, actual), (
            f"{command} printed:\n" + "\n".join(actual) + f"\n\n{name(doc)} shows:\n"
            + "\n".join(expected))


def test_links_between_documents_resolve():
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text(doc)):
            if "://" in target:
                continue
            assert (doc.parent / target).exists(), f"{name(doc)}: link to {target} goes nowhere"


def modules() -> set[str]:
    """Every module of the package, as a path under sim/; a package's __init__.py counts only
    where it holds more than its docstring."""
    found = set()
    for path in (ROOT / "sim").rglob("*.py"):
        rel = str(path.relative_to(ROOT / "sim"))
        body = ast.parse(path.read_text(encoding="utf-8")).body
        if path.name == "__init__.py" and rel != "__init__.py" and all(
                isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body):
            continue
        found.add(rel)
    return found


def test_the_module_map_is_the_tree():
    page = text(ROOT / "docs" / "internals.md").split("## Where things live", 1)[1]
    (tree,) = re.findall(r"```text\nsim/\n(.*?)```", page, flags=re.S)
    listed = set(re.findall(r"(?<![\w/.])([\w/]+\.py)\b", tree))
    assert listed - modules() == set(), "the map lists modules that are not there"
    assert modules() - listed == set(), "modules missing from the map in docs/internals.md"
    layers = {p.name for p in (ROOT / "sim").iterdir()
              if p.is_dir() and (p / "__init__.py").exists()}
    assert layers <= {m.split("/")[0] for m in listed}
