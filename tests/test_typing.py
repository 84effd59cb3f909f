"""The package's type hints hold: mypy finds no error in sim/ (it ships py.typed)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_error_in_the_package(tmp_path):
    api = pytest.importorskip("mypy.api")
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"),
                                "--cache-dir", str(tmp_path / "cache"), str(ROOT / "sim")])
    assert status == 0, out + err
    assert "Success: no issues found" in out
