"""Time ``advsim outlook`` on the real snapshots, as a user runs it: every place of 5,000
people or more within 30 km of the front on 2024-11-20, 10,000 replications each, from the
snapshots to the printed table, with an empty measurement cache and again with it filled; and
the rolling-origin forward evaluation over the same maps (1,000 replications a projection).

    python benchmarks/outlook.py            # needs ../shared/data/frontlines beside the repo
    python benchmarks/outlook.py --quick    # 500 replications: checks that it runs

Each command runs in a subprocess (wall time and its peak memory); the baseline, measured first
in this process, is json-parsing the 70 snapshot files, so the figures are also multiples of
it. Skips (exit 0) when the data is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data" / "frontlines" / "deepstate").resolve()


# The child reports its own peak RSS and its workers' on exit (KiB on Linux).
CHILD = """import atexit, resource, sys
def peak():
    kib = max(resource.getrusage(w).ru_maxrss
              for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    sys.stderr.write(f"\\npeak-kib {kib}\\n")
atexit.register(peak)
from sim.cli import main
main()
"""


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, the largest process's peak RSS in MB (the command's or a worker's), and
    what it printed."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.strip()}")
    kib = int(done.stderr.rsplit("peak-kib ", 1)[1].split()[0])
    return wall, kib / 1024, done.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"skipped: no snapshots at {DATA}")
        return 0
    files = sorted(DATA.glob("*.geojson"))
    t0 = time.perf_counter()
    for f in files:
        json.loads(f.read_text())
    parse = time.perf_counter() - t0
    n = "500" if args.quick else "10000"
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "ADVSIM_CACHE": cache, "ADVSIM_PROGRESS": "0"}
        common = ["outlook", str(DATA), "--date", "2024-11-20", "-n", n]
        for label in ("outlook, empty cache", "outlook, cache filled"):
            wall, mb, out = timed(common, env)
            rows.append((label, wall, mb))
        places = out.split("\n")[0].split(": ")[1].split(" places")[0]
        wall, mb, out = timed(["outlook", str(DATA), "--evaluate",
                               "-n", "100" if args.quick else "1000"], env)
        rows.append(("rolling evaluation", wall, mb))
    print(f"{places} places x {n} replications; {len(files)} snapshots; baseline (json-parsing "
          f"the files): {parse:.2f} s; load: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    for label, wall, mb in rows:
        print(f"  {label:<22} {wall:7.1f} s  ({wall / parse:6.1f} x baseline)  "
              f"peak {mb:6.0f} MB (the largest process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
