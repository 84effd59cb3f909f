"""The benchmark script runs, so that it never rots (no timing is asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # a minute or two: benchmarks stay out of the default run
@pytest.mark.skipif(not (Path(sys.executable).parent / "advsim").exists(),
                    reason="needs the installed advsim command")
def test_benchmark_quick_run_reports_every_measurement(tmp_path):
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks/run.py"), "--quick", "--out",
                        str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    models = {(m["model"], m["replications"]) for m in report["models"]}
    assert {("numpy", 1000), ("engine", 1000), ("naive", 1000)} <= models
    # The three implementations are one model: their objective days agree (two-sample KS).
    for m in report["models"]:
        if m["model"] != "numpy":
            assert m["ks_vs_numpy"][1] > 1e-3, m
    assert len(report["scaling"]) == 5 and len(report["cli"]) == 5
    assert "engine/numpy" in report["ratios"]["1000"]
