"""The package's shape: no module imports one that imports it back, sector geometry lives
in the sector types (nothing else branches on a kind string), and tests build scenarios
instead of templating YAML."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sim"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every module of the package that ``path`` imports, at the top or inside functions
    (lazily), leaving out imports made for type checkers only."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.ImportFrom):
                base = package
                for _ in range(max(child.level - 1, 0)):
                    base = base.rsplit(".", 1)[0]
                target = (f"{base}.{child.module}" if child.module else base) if child.level \
                    else child.module or ""
                for alias in child.names:
                    sub = f"{target}.{alias.name}"
                    found.add(sub if sub in modules else target)
            elif isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in modules and m != name}


def graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(f) for f in files}
    return {module_name(f): imports_of(f, modules) for f in files}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in g[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in g:
        if v not in index:
            strong(v)
    return out


def test_the_import_graph_finds_a_planted_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_one_that_imports_it_back():
    g = graph()
    assert "sim.running.outcomes" in g["sim.running.runner"]  # the graph sees the package's imports
    assert "sim.artifacts.results" in g["sim.running.outcomes"]  # lazy imports count too
    # sim/__init__ resolves its API lazily by name (strings), so it is no part of a cycle.
    assert cycles(g) == []


def test_nothing_outside_the_sector_types_branches_on_a_kind_string():
    pattern = re.compile(r"""kind\s*[!=]=\s*["'](axis|area)["']|["'](axis|area)["']\s*[!=]=""")
    offenders = [
        f"{f.relative_to(ROOT)}:{i}"
        for f in sorted(PACKAGE.rglob("*.py")) if f.name not in ("scenario.py", "loader.py")
        for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def imports_yaml(source: str) -> bool:
    """Whether the code imports yaml (or a module of it), at the top or inside a function."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(
                a.name == "yaml" or a.name.startswith("yaml.") for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and not node.level and node.module and (
                node.module == "yaml" or node.module.startswith("yaml.")):
            return True
    return False


def test_the_yaml_scan_sees_lazy_and_from_imports():
    assert imports_yaml("def f():\n    import yaml\n")
    assert imports_yaml("from yaml import safe_load\n")
    assert not imports_yaml("from .loader import read_yaml\nimport yamlish\n")


def test_only_the_loader_and_its_inverse_import_yaml():
    """Every other module reads and writes YAML through them (one validation kit, one writer)."""
    importers = sorted(str(f.relative_to(ROOT)) for f in PACKAGE.rglob("*.py")
                       if imports_yaml(f.read_text(encoding="utf-8")))
    assert importers == ["sim/model/loader.py", "sim/model/writer.py"]


# Test modules that hold scenario text on purpose: what they test is the reading of that text.
YAML_TEXT_ALLOWED = {
    "test_bad_input.py": "the loader's messages on bad YAML, located by line",
    "test_fuzz.py": "fuzzed and hand-broken YAML text the loader must refuse in one line",
    "test_hostile.py": "merge keys and anchors, which only YAML text can hold",
    "test_properties.py": "counter-examples kept as the YAML a reader would paste into a file",
    "test_writer.py": "a dumped sector pasted under sectors: of a scenario's text",
}


def scenario_texts(source: str) -> list[int]:
    """Lines of the string literals (f-strings by their fixed parts) that start a scenario:
    more than one line, beginning with ``name:`` and holding ``sectors:``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        else:
            continue
        if "\n" in text and text.lstrip().startswith("name:") and "sectors:" in text:
            found.append(node.lineno)
    return found


def test_the_scenario_text_scan_sees_templates():
    assert scenario_texts('t = """\\\n    name: x\n    start: 2024-01-01\n    sectors: {}\n"""\n')
    assert scenario_texts('t = f"name: {n}\\nhorizon_days: 9\\nsectors:\\n  a: {{}}\\n"\n')
    assert not scenario_texts('t = "name: x"\nu = "sectors:\\n  a: {}\\n"\n')


def test_tests_build_scenarios_instead_of_templating_yaml():
    """A scenario in a test comes from sim.model.builder (and, as a file, from the writer's
    dump), so only the modules that test YAML text itself hold scenario text."""
    tests = Path(__file__).resolve().parent
    offenders = [f"{f.relative_to(ROOT)}:{line}"
                 for f in sorted(tests.rglob("*.py")) if f.name not in YAML_TEXT_ALLOWED
                 for line in scenario_texts(f.read_text(encoding="utf-8"))]
    assert offenders == []
    stale = [name for name in YAML_TEXT_ALLOWED
             if not scenario_texts((tests / name).read_text(encoding="utf-8"))]
    assert stale == []  # an allowed module that no longer needs it leaves the list
