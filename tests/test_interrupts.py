"""Interrupted runs exit with 128 + the signal and leave no partial results folder."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ADVSIM_INTERRUPTIBLE

ROOT = Path(__file__).resolve().parents[1]


def start_run(tmp_path: Path, replications: int, jobs: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*ADVSIM_INTERRUPTIBLE, "run",
         str(ROOT / "scenarios/kurakhove-reported.yaml"), "-n", str(replications), "-j", jobs,
         "--out", str(tmp_path / "run")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )


def assert_clean_exit(proc: subprocess.Popen, status: int, tmp_path: Path) -> None:
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == status, stderr
    message = "advsim: interrupted; unfinished output was removed"
    assert stderr.strip().splitlines() == [message], stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_signal_while_simulating(tmp_path, signum, status, jobs):
    proc = start_run(tmp_path, 2_000_000, jobs)  # far longer than the wait below
    time.sleep(1.5)
    assert proc.poll() is None
    os.kill(proc.pid, signum)
    assert_clean_exit(proc, status, tmp_path)


def test_a_signal_while_writing_the_folder(tmp_path):
    proc = start_run(tmp_path, 200_000, "2")
    deadline = time.monotonic() + 60
    # The folder is claimed (made, with its marker) before the computation; its first file
    # appears when writing begins.
    while not (tmp_path / "run" / "scenario.yaml").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGINT)
    assert_clean_exit(proc, 130, tmp_path)
