"""Many small sectors of one model as one group (sim/grouped.py) against each on its own.

    python benchmarks/grouped.py --baseline a0b5253     # fit and evaluate of a commit too
    python benchmarks/grouped.py --class class.yaml     # a reference class already built
    python benchmarks/grouped.py --quick                # tiny sizes: checks that it runs

In-process, one worker: 300 approaches of 400 replications (a fit's or an evaluation's shape)
and 60 places of 1,000 (a forward evaluation's), each run through the grouped path
(``simulate_batch(..., bands=False)``) and as the engine runs them one sector at a time
(``simulate_chunk`` per sector: the baseline, in the same process); the numbers are checked
identical. Then ``advsim reference fit`` and ``advsim reference evaluate --versus
scenarios/kurakhove-reported.yaml`` on the reference class of the real snapshots (built first
as benchmarks/reference.py builds it, unless ``--class``), each in a fresh subprocess with its
wall time and the peak RSS of its largest process, this tree and the ``--baseline`` commit
interleaved, with the load average beside each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = (ROOT / ".." / "shared" / "data" / "frontlines" / "deepstate").resolve()

# Beside this script: the child that reports its peak RSS, and a commit's ``sim`` exported.
sys.path.insert(0, str(HERE))
from engine_kernel import export  # noqa: E402
from outlook import CHILD  # noqa: E402


def in_process(origins: int, replications: int) -> tuple[float, float]:
    """Seconds of the grouped path and of one sector at a time, on the same approaches."""
    import dataclasses

    import numpy as np

    import sim
    from sim.engine import simulate_chunk
    from sim.fitting.advance_fit import approach_scenario
    from sim.running.batch import Planned, chunks, simulate_batch

    sc0 = sim.load_scenario(ROOT / "scenarios/kurakhove.yaml")
    block = dataclasses.replace(sc0.sector("pokrovsk").advance, force=None)
    names = [r.name for r in block.regimes.states]
    sc = approach_scenario(block, [(f"o{i}", 0.5 + 15.0 * i / origins, names[i % 4])
                                   for i in range(origins)], 730,
                           replications=replications, seed=3)
    t0 = time.perf_counter()
    [res] = simulate_batch([Planned(scenario=sc, replications=replications, seed=3)],
                           bands=False)
    grouped = time.perf_counter() - t0
    t0 = time.perf_counter()
    alone = {}
    for s in sc.sectors:
        one = dataclasses.replace(sc, sectors=(s,))
        alone[s.name] = np.concatenate([
            simulate_chunk(one, 3, k, count, bands=False)[s.name].objective_day
            for k, _, count in chunks(replications)])
    each = time.perf_counter() - t0
    for name, days in alone.items():
        assert np.array_equal(days, res.sectors[name].objective_day), name
    return grouped, each


def timed(args: list[str], src: Path | None, cwd: Path) -> tuple[float, float]:
    """Wall seconds and the largest process's peak RSS in MB of an advsim command."""
    env = {**os.environ, "ADVSIM_PROGRESS": "0"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, cwd=cwd,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return wall, int(done.stderr.rsplit("peak-kib ", 1)[1].split()[0]) / 1024


def build_class(tmp: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from sim.data.observed import write_trace_csv
    from sim.data.towns import load_towns, resolve_place
    from sim.data.trace import trace
    from sim.fitting.reference import build, write_class

    towns = load_towns()
    names = list(dict.fromkeys(p.name for p in towns.values() if p.slug != "sudzha"))
    result = trace(sorted(DATA.glob("*.geojson")),
                   places=[resolve_place(n, towns) for n in names])
    csv = write_trace_csv(tmp / "towns.csv", result)
    return write_class(tmp / "class.yaml", build([csv], until=dt.date(2024, 11, 20)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--baseline", help="a git commit whose fit and evaluate to measure too")
    ap.add_argument("--class", dest="cls", help="a reference class file (default: built)")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    shapes = [(20, 100), (6, 1_000)] if args.quick else [(300, 400), (60, 1_000)]
    for origins, reps in shapes:
        load = os.getloadavg()[0]
        grouped, each = in_process(origins, reps)
        print(f"{origins} sectors x {reps:,} replications, 730 days, -j 1: grouped "
              f"{grouped:6.2f} s, one sector at a time {each:6.2f} s "
              f"({grouped / each:.2f}x; numbers identical; load {load:.1f})", flush=True)
    if args.quick or not (args.cls or DATA.is_dir()):
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="advsim-grouped-"))
    baseline = export(args.baseline) if args.baseline else None
    try:
        cls = Path(args.cls).resolve() if args.cls else build_class(tmp)
        versus = str(ROOT / "scenarios/kurakhove-reported.yaml")
        commands = {"reference fit": ["reference", "fit", str(cls)],
                    "reference evaluate": ["reference", "evaluate", str(cls),
                                           "--versus", versus]}
        trees = {"this tree": None, **({f"baseline {args.baseline}": baseline}
                                       if baseline else {})}
        for r in range(args.rounds):
            for label, cmd in commands.items():
                for tree, src in trees.items():
                    load = os.getloadavg()[0]
                    wall, mb = timed(cmd, src, tmp)
                    print(f"round {r}  {label:<18}  {tree:<18}  {wall:6.1f} s  peak {mb:5.0f} MB"
                          f"  (load {load:.1f})", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if baseline:
            shutil.rmtree(baseline, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
