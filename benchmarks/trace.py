"""Time ``advsim trace`` on the real snapshots: 3 places through the 70 multi-layer files.

    python benchmarks/trace.py            # needs ../shared/data/frontlines beside the repo

Reports the wall time against a baseline measured in the same process (json-parsing the same
files, the least any reader must do), and peak memory: Python's own allocations (tracemalloc)
over the first 10 snapshots and over all 70, which stay the same size if tracing streams, and
the process's peak RSS. Skips (exit 0) when the data is absent.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data" / "frontlines" / "deepstate").resolve()
PLACES = ("Pokrovsk", "Kurakhove", "Chasiv Yar")


def best_of(n, f):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    if not DATA.is_dir():
        print(f"skipped: no snapshots at {DATA}")
        return 0
    sys.path.insert(0, str(ROOT))
    from sim.data.towns import load_towns, resolve_place
    from sim.data.trace import trace

    towns = load_towns()
    places = [resolve_place(p, towns) for p in PLACES]
    files = sorted(DATA.glob("*.geojson"))
    mb = sum(f.stat().st_size for f in files) / 1e6

    def parse():
        for f in files:
            json.loads(f.read_bytes())

    def run(paths=files):
        return trace(paths, places)

    run(files[:2])  # warm up imports and PROJ's database
    t_json = best_of(3, parse)
    t_trace = best_of(3, run)
    peaks = {}
    for n in (10, len(files)):
        tracemalloc.start()
        run(files[:n])
        peaks[n] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    print(f"{len(files)} multi-layer snapshots ({mb:.1f} MB), {len(places)} places "
          f"({', '.join(PLACES)}), best of 3")
    print(f"  json.loads of every file (baseline)  {t_json:6.2f} s")
    print(f"  advsim trace, 3 places               {t_trace:6.2f} s  "
          f"({t_trace / t_json:.1f}x the baseline; {t_trace / len(files) * 1000:.0f} ms a "
          "snapshot)")
    print(f"  peak Python allocations: {peaks[10]:.0f} MB over 10 snapshots, "
          f"{peaks[len(files)]:.0f} MB over {len(files)}")
    print(f"  peak RSS of this process: {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
