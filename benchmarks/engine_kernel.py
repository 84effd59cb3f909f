"""The engine against the pure-numpy kernel of the same model (benchmarks/kernel.py).

    python benchmarks/engine_kernel.py                      # 100,000 replications, 3 rounds
    python benchmarks/engine_kernel.py --baseline main      # also the engine of another commit
    python benchmarks/engine_kernel.py --quick              # tiny sizes: checks that it runs
    python benchmarks/engine_kernel.py --profile            # cProfile of the engine, Pokrovsk
    python benchmarks/engine_kernel.py --cli --baseline main  # advsim run / in-process only

One sector (Pokrovsk of scenarios/kurakhove.yaml) and the whole file, in-process, one worker.
Every measurement runs in a fresh subprocess, engine and kernel interleaved round by round, with
the load average printed beside it: the ratios of one round are measured under the same load.
The engine runs without per-day histograms (what fits and evaluations run), and with them (what
``advsim run`` runs); the CLI row is ``advsim run`` itself, start-up and writing included.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIO = ROOT / "scenarios/kurakhove.yaml"
SECTOR = "pokrovsk"


def one(kind: str, n: int, seed: int, sector: str | None) -> dict:
    """One measurement in this process: imports first (not timed), then the run."""
    import numpy as np

    import sim

    sc = sim.load_scenario(SCENARIO)
    if sector:
        sc = dataclasses.replace(sc, sectors=(sc.sector(sector),))
    t0 = time.perf_counter()
    if kind == "kernel":
        sys.path.insert(0, str(HERE))
        import kernel

        out = kernel.run(sc, n, seed)
        reached = {k: float(np.isfinite(v.objective_day).mean()) for k, v in out.items()}
    else:
        kw = {"bands": kind == "engine+bands"} if kind != "baseline" else {}
        res = sim.simulate(sc, replications=n, seed=seed, jobs=1, **kw)
        reached = {k: float(v.reached.mean()) for k, v in res.sectors.items()}
    return {"wall_s": time.perf_counter() - t0, "reached": reached}


def measure(kind: str, n: int, seed: int, sector: str | None,
            baseline: Path | None = None) -> dict:
    env = dict(os.environ)
    if kind == "baseline" and baseline is not None:
        env["PYTHONPATH"] = str(baseline)
    load = os.getloadavg()[0]
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(n), str(seed), sector or "-"],
        capture_output=True, text=True, check=True, env=env, cwd=ROOT,
    ).stdout
    return {**json.loads(out.splitlines()[-1]), "load": load}


def cli(n: int, src: Path | None = None) -> float:
    """Seconds of ``advsim run`` of the whole file (of the ``sim`` at ``src`` if given)."""
    scratch = tempfile.mkdtemp(prefix="advsim-bench-")
    exe = Path(sys.executable).with_name("advsim")
    env = {**os.environ, **({"PYTHONPATH": str(src)} if src is not None else {})}
    try:
        t0 = time.perf_counter()
        subprocess.run([str(exe), "run", str(SCENARIO), "-n", str(n), "-j", "1", "-q",
                        "--out", f"{scratch}/out"], check=True, stdout=subprocess.DEVNULL,
                       cwd=ROOT, env=env)
        return time.perf_counter() - t0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def cli_rounds(n: int, rounds: int, baseline: Path | None) -> None:
    """``advsim run`` against the in-process run with bands, interleaved, this tree and the
    baseline's: what the command adds (start-up, writing the folder)."""
    trees = {"this tree": None, **({"baseline": baseline} if baseline else {})}
    for r in range(rounds):
        for label, src in trees.items():
            load = os.getloadavg()[0]
            kind = "baseline" if src is not None else "engine+bands"
            t_in = measure(kind, n, 1 + r, None, src)["wall_s"]
            t_cli = cli(n, src)
            print(f"round {r}  {label:<10}  in-process {t_in:6.2f} s  advsim run {t_cli:6.2f} s"
                  f"  ({t_cli / t_in:.2f}x, load {load:.1f})", flush=True)


def export(ref: str) -> Path:
    """The ``sim`` package of commit ``ref``, in a temporary folder."""
    where = Path(tempfile.mkdtemp(prefix="advsim-baseline-"))
    archive = subprocess.run(["git", "archive", ref, "sim"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def profile(n: int) -> None:
    import cProfile
    import pstats

    import sim

    sc = sim.load_scenario(SCENARIO)
    sc = dataclasses.replace(sc, sectors=(sc.sector(SECTOR),))
    prof = cProfile.Profile()
    prof.enable()
    sim.simulate(sc, replications=n, seed=1, jobs=1, bands=False)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=100_000, help="replications")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check it runs")
    ap.add_argument("--baseline", help="a git commit whose engine to measure as well")
    ap.add_argument("--profile", action="store_true", help="cProfile the engine, Pokrovsk")
    ap.add_argument("--out", help="JSON output file")
    ap.add_argument("--cli", action="store_true",
                    help="only advsim run against the in-process run (and the baseline's)")
    ap.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        kind, n, seed, sector = args.one
        print(json.dumps(one(kind, int(n), int(seed), None if sector == "-" else sector)))
        return
    n = 5_000 if args.quick else args.n
    if args.profile:
        profile(n)
        return
    baseline = export(args.baseline) if args.baseline else None
    if args.cli:
        try:
            cli_rounds(n, 1 if args.quick else args.rounds, baseline)
        finally:
            if baseline:
                shutil.rmtree(baseline, ignore_errors=True)
        return
    kinds = ["kernel", "engine", "engine+bands"] + (["baseline"] if baseline else [])
    rows = []
    try:
        for r in range(1 if args.quick else args.rounds):
            for label, sector in ((SECTOR, SECTOR), ("whole file", None)):
                got = {k: measure(k, n, 1 + r, sector, baseline) for k in kinds}
                rows.append({"round": r, "what": label, **got})
                k = got["kernel"]["wall_s"]
                print(f"round {r}  {label:<10}  " + "  ".join(
                    f"{name} {m['wall_s']:6.2f} s ({m['wall_s'] / k:4.2f}x, load {m['load']:.1f})"
                    for name, m in got.items()), flush=True)
        t_cli = cli(n)
        t_in = min(x["engine+bands"]["wall_s"] for x in rows if x["what"] == "whole file")
        print(f"\nadvsim run {SCENARIO.name} -n {n:,} -j 1: {t_cli:.2f} s, "
              f"{t_cli / t_in:.2f}x the in-process run with bands ({t_in:.2f} s)")
        print("\nBest of the rounds, engine/kernel:")
        for label in (SECTOR, "whole file"):
            best = {k: min(x[k]["wall_s"] for x in rows if x["what"] == label) for k in kinds}
            print(f"  {label:<10}  " + "  ".join(
                f"{k}/kernel {best[k] / best['kernel']:.2f}" for k in kinds if k != "kernel"))
        if args.out:
            Path(args.out).write_text(json.dumps({"replications": n, "rows": rows,
                                                  "cli_s": t_cli}, indent=1) + "\n")
    finally:
        if baseline:
            shutil.rmtree(baseline, ignore_errors=True)


if __name__ == "__main__":
    main()
