"""The engine has no I/O dependencies, and the CLI's start-up stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios/kurakhove.yaml"


def loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c",
         f"{code}\nimport sys\nprint(' '.join(sys.modules), file=sys.stderr)"],
        capture_output=True, text=True, check=True,
    ).stderr
    return set(out.split())


def test_engine_imports_neither_yaml_nor_click():
    mods = loaded_after(
        "import sim.engine, sim.running.runner, sim.running.outcomes, sim.analysis.summary")
    assert "yaml" not in mods and "click" not in mods


def test_help_does_not_import_scipy_or_the_engine():
    mods = loaded_after(
        "from sim.cli import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass"
    )
    assert "click" in mods
    assert not {"scipy", "simpy", "sim.engine", "matplotlib", "dask", "distributed",
                "shapely", "pyproj"} & mods


@pytest.mark.parametrize("command", ["sweep", "compare", "plot", "calibrate", "backtest",
                                     "trace", "data"])
def test_command_help_imports_no_heavy_modules(command):
    mods = loaded_after(
        "from sim.cli import cli\n"
        f"try:\n    cli.main(['{command}', '--help'], standalone_mode=False)\n"
        "except SystemExit:\n    pass"
    )
    assert f"sim.cli.{command}" in mods
    heavy = {"numpy", "scipy", "simpy", "yaml", "matplotlib", "dask", "distributed", "pyarrow",
             "shapely", "pyproj"}
    assert not {"sim.engine", "sim.sweep", *heavy} & mods


def test_reading_observed_series_needs_no_scipy_yaml_or_click():
    mods = loaded_after("import sim.data.observed")
    assert not {"scipy", "yaml", "click", "simpy", "matplotlib"} & mods


def test_the_sweep_library_leaves_scipy_and_dask_until_they_are_used():
    mods = loaded_after("import sim.sweep, sim.analysis.sensitivity, sim.running.executors")
    assert not {"scipy", "dask", "distributed", "pyarrow"} & mods


def test_commands_that_do_not_trace_load_neither_shapely_nor_pyproj(tmp_path):
    mods = loaded_after(
        "from sim.cli import cli\n"
        "try:\n    cli.main(['calibrate', 'scenarios/observed/synthetic-kurakhove.csv', "
        "'--sector', 'kurakhove'], standalone_mode=False)\n"
        "except SystemExit:\n    pass\n"
        "import sim, sim.data.observed, sim.fitting.calibrate, sim.data.towns, "
        "sim.presentation.text"
    )
    assert "sim.cli.calibrate" in mods and "scipy" in mods
    assert not {"shapely", "pyproj", "sim.data.trace", "sim.data.snapshots"} & mods


def test_trace_without_the_geo_extra_is_one_line(tmp_path):
    """With shapely hidden, advsim trace says what to install (exit 2), nothing else."""
    code = (
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('shapely', 'pyproj'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "from sim.cli import cli\n"
        "cli.main(['trace', 'x.geojson', '--to', 'Pokrovsk'])\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == "advsim trace needs shapely and pyproj: pip install 'advsim[geo]'"


def test_the_map_cache_needs_neither_numpy_nor_shapely():
    """advsim data fetch and list, and the cache an outlook reads, run on the standard
    library (and platformdirs)."""
    mods = loaded_after("import sim.data.cache, sim.data.fetch\n"
                        "from sim.cli import cli\n"
                        "try:\n    cli.main(['data', 'path'], standalone_mode=False)\n"
                        "except SystemExit:\n    pass")
    assert "sim.cli.data" in mods
    assert not {"numpy", "scipy", "yaml", "shapely", "pyproj", "requests"} & mods


def test_a_run_writes_its_parquet_tables_without_importing_pandas(tmp_path):
    # pyarrow's conversions of numpy arrays import pandas to ask whether they are pandas
    # objects: a second of every run's writing, for nothing.
    pytest.importorskip("pyarrow")
    out = tmp_path / "run"
    mods = loaded_after(
        "from sim.cli import cli\n"
        f"try:\n    cli.main(['run', {str(SCENARIO)!r}, '-n', '50', '-j', '1', '-q',"
        f" '--out', {str(out)!r}], standalone_mode=False)\n"
        "except SystemExit:\n    pass"
    )
    assert (out / "outcomes.parquet").is_file() and "pyarrow" in mods
    assert "pandas" not in mods
