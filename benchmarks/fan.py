"""The fan chart of a run: drawn from the result in memory (what `advsim run --plot` does now)
against reading the run back from its folder first (what it did before: write_fan reloaded
the half-written folder, parsing outcomes.csv and scenario.yaml). Both in this process, on the
same 100,000-replication theatre run.

    python benchmarks/fan.py [-n 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best(f, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=100_000)
    args = ap.parse_args()

    import sim
    from sim.artifacts.results import write_run
    from sim.model.loader import load_resolved
    from sim.presentation.charts import save
    from sim.presentation.charts.runs import fan_chart
    from sim.running.outcomes import Result

    sc, resolved = load_resolved(ROOT / "scenarios/theatre.yaml")
    result = sim.simulate(sc, replications=args.n, seed=1, jobs=2)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_run(result, resolved_yaml=resolved, source="theatre.yaml",
                           out=Path(tmp) / "run")
        memory = best(lambda: save(fan_chart([result]), Path(tmp) / "a.png"))
        read = best(lambda: Result.from_folder(folder), 1)
        disk = best(lambda: save(fan_chart([Result.from_folder(folder)]), Path(tmp) / "b.png"),
                    1)
    print(f"theatre, {args.n:,} replications")
    print(f"  fan from the result in memory:      {memory:6.2f} s")
    print(f"  fan after reading the folder back:  {disk:6.2f} s  (reading alone {read:.2f} s)")
    print(f"  ratio (read back / in memory):      {disk / memory:6.1f}x")


if __name__ == "__main__":
    main()
