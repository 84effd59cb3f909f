"""Time and peak memory of refusing the biggest hostile inputs of issue 15, and what the
checksums of a results folder cost.

Each refused input runs as `advsim ...` in a subprocess; its wall time and peak RSS (from
``resource.getrusage(RUSAGE_CHILDREN)``) are printed beside those of `advsim validate` on the
shipped scenario (the cost of starting Python and importing advsim), so the ratio says what
the refusal adds. Then a 10^6-replication run's files are hashed as `write_run` hashes them.

    python benchmarks/hostile.py
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
S = str(ROOT / "scenarios/kurakhove-reported.yaml")
sys.path.insert(0, str(ROOT / "tests"))

from test_hostile import SLOW_CASES, alias_bomb  # noqa: E402


def measure(args: list[str], cwd: Path) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS in MB, exit status and last stderr line of ``advsim ARGS``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", "from sim.cli import main; main()", *args],
                       cwd=cwd, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest of any child so far: run the small ones first
    return wall, max(peak, before) / 1024, r.returncode, (r.stderr.strip().splitlines()
                                                           or [""])[-1][:110]


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cases = [("baseline: validate the shipped scenario", ["validate", S])]
        cases += [("5: --set of 387 bytes expanding to 43M values",
                   ["run", S, "--set", f"sectors.kurakhove.length_km={alias_bomb()}"])]
        cases += [("8: validate /dev/zero", ["validate", "/dev/zero"])]
        cases += [("10: run -n 1000000000", ["run", S, "-n", "1000000000"])]
        cases += [("10: run -j 1000 -n 10 (capped; runs)",
                   ["run", S, "-j", "1000", "-n", "10", "-q", "--out", str(tmp / "j")])]
        for item, name, setup, _, _ in SLOW_CASES:
            cases.append((f"{item}: {name}", setup(tmp)))
        print(f"{'input':48} {'wall s':>7} {'peak MB':>8} status  message")
        for label, args in cases:
            wall, peak, status, line = measure(args, tmp)
            print(f"{label:48} {wall:7.2f} {peak:8.0f} {status:6}  {line}")

        from sim.artifacts.files import checksums
        from sim.artifacts.results import write_run
        from sim.model.loader import load_resolved
        from sim.running.runner import simulate

        sc, text = load_resolved(S)
        result = simulate(sc, replications=1_000_000, seed=1, jobs=os.cpu_count())
        t0 = time.perf_counter()
        out = write_run(result, resolved_yaml=text, source=S, out=tmp / "big")
        written = time.perf_counter() - t0
        names = [p.name for p in out.iterdir() if p.name != "manifest.json"]
        t0 = time.perf_counter()
        checksums(out, names)
        hashed = time.perf_counter() - t0
        size = sum((out / n).stat().st_size for n in names) / 2**20
        print(f"\n10^6 replications: write_run {written:.2f} s, of which hashing "
              f"{size:.0f} MB of files {hashed:.2f} s ({hashed / written:.0%})")


if __name__ == "__main__":
    main()
