"""Time the reference-class pipeline on the real snapshots: trace 23 towns through all 70
multi-layer files, build the class, fit the advance (with its check), and the
leave-one-town-out evaluation (the class model and the report's 200-300 m/day model, 400
replications per projection, origins every 30 days).

    python benchmarks/reference.py              # needs ../shared/data/frontlines beside the repo
    python benchmarks/reference.py --quick      # 5 towns, 50 replications: checks that it runs

Each step is timed in this process; the baseline, measured first in the same process, is
json-parsing the 70 snapshot files (the least any reader of the map must do), so the figures
are also given as multiples of it. Skips (exit 0) when the data is absent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data" / "frontlines" / "deepstate").resolve()
UNTIL = dt.date(2024, 11, 20)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"skipped: no snapshots at {DATA}")
        return 0
    sys.path.insert(0, str(ROOT))
    from sim.data.observed import write_trace_csv
    from sim.data.towns import load_towns, resolve_place
    from sim.data.trace import trace
    from sim.fitting.advance_fit import check, fit
    from sim.fitting.reference import build
    from sim.forecast.evaluation import advance_of, evaluate

    towns = load_towns()
    names = list(dict.fromkeys(p.name for p in towns.values() if p.slug != "sudzha"))  # Donbas
    if args.quick:
        names = names[:5]
    files = sorted(DATA.glob("*.geojson"))
    t0 = time.perf_counter()
    for f in files:
        json.loads(f.read_text())
    parse = time.perf_counter() - t0

    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        places = [resolve_place(n, towns) for n in names]
        result = trace(files, places=places)
        csv = write_trace_csv(Path(tmp) / "towns.csv", result)
        times["trace"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        cls = build([csv], until=UNTIL)
        times["build"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        f = fit(cls)
        times["fit"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        checks = check(f.block(), cls, jobs=args.jobs)
        times["fit check"] = time.perf_counter() - t0
        _, report = advance_of(str(ROOT / "scenarios/kurakhove-reported.yaml"))
        t0 = time.perf_counter()
        ev = evaluate(cls, others={"report": report}, replications=50 if args.quick else 400,
                      jobs=args.jobs)
        times["evaluate"] = time.perf_counter() - t0
    n_cases = len(ev.cases)
    print(f"{len(names)} towns x {len(files)} snapshots; baseline (json-parsing the files): "
          f"{parse:.2f} s")
    for k, v in times.items():
        print(f"  {k:<10} {v:7.2f} s  ({v / parse:5.1f} x baseline)")
    build_fit = times["trace"] + times["build"] + times["fit"] + times["fit check"]
    print(f"  trace + build + fit with its check: {build_fit:.1f} s")
    print(f"  evaluate: {n_cases} projections x 2 simulated models; "
          f"{sum(c.passed for c in checks)} of {len(checks)} fit-check bands pass")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
