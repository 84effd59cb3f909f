"""The engine has no I/O dependencies, and the CLI's start-up stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c",
         f"{code}\nimport sys\nprint(' '.join(sys.modules), file=sys.stderr)"],
        capture_output=True, text=True, check=True,
    ).stderr
    return set(out.split())


def test_engine_imports_neither_yaml_nor_click():
    mods = loaded_after("import sim.engine, sim.runner, sim.outcomes, sim.summary")
    assert "yaml" not in mods and "click" not in mods


def test_help_does_not_import_scipy_or_the_engine():
    mods = loaded_after(
        "from sim.cli import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass"
    )
    assert "click" in mods
    assert not {"scipy", "simpy", "sim.engine", "matplotlib", "dask", "distributed"} & mods


@pytest.mark.parametrize("command", ["sweep", "compare", "plot", "calibrate", "backtest"])
def test_command_help_imports_no_heavy_modules(command):
    mods = loaded_after(
        "from sim.cli import cli\n"
        f"try:\n    cli.main(['{command}', '--help'], standalone_mode=False)\n"
        "except SystemExit:\n    pass"
    )
    assert f"sim.cli.{command}" in mods
    heavy = {"numpy", "scipy", "simpy", "yaml", "matplotlib", "dask", "distributed", "pyarrow"}
    assert not {"sim.engine", "sim.sweep", *heavy} & mods


def test_reading_observed_series_needs_no_scipy_yaml_or_click():
    mods = loaded_after("import sim.observed")
    assert not {"scipy", "yaml", "click", "simpy", "matplotlib"} & mods


def test_the_sweep_library_leaves_scipy_and_dask_until_they_are_used():
    mods = loaded_after("import sim.sweep, sim.sensitivity, sim.executors")
    assert not {"scipy", "dask", "distributed", "pyarrow"} & mods
