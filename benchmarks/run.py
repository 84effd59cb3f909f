"""Benchmarks: the engine against a pure-numpy kernel and a naive SimPy model of the same axis.

    python benchmarks/run.py            # the full table (a few minutes on 2 cores)
    python benchmarks/run.py --quick    # tiny sizes: checks that it all still runs

Every measurement runs in a fresh subprocess, so wall times include no warm caches from other
runs and peak RSS is that measurement's own (the largest process of its tree). Speed is
reported as ratios measured in the same command on the same machine, never as absolute targets
in tests. Results are printed as a table and written as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MODEL = HERE / "model.yaml"
HORIZON_DAYS, LENGTH_KM = 365, 35.0
PERT_LOW, PERT_MODE, PERT_HIGH = 200.0, 250.0, 300.0  # base m/day, as in model.yaml
NOISE_CV = 0.5


def _noise_mu_sigma() -> tuple[float, float]:
    s2 = math.log1p(NOISE_CV**2)
    return -s2 / 2, math.sqrt(s2)


def _base(rng: np.random.Generator, n: int | None = None):
    a = 1 + 4 * (PERT_MODE - PERT_LOW) / (PERT_HIGH - PERT_LOW)
    b = 1 + 4 * (PERT_HIGH - PERT_MODE) / (PERT_HIGH - PERT_LOW)
    return PERT_LOW + (PERT_HIGH - PERT_LOW) * rng.beta(a, b, n)


def numpy_kernel(n: int, seed: int) -> np.ndarray:
    """What a user would write in numpy: all replications as arrays, a loop over days."""
    rng = np.random.default_rng(seed)
    mu, sigma = _noise_mu_sigma()
    base_km = _base(rng, n) * 1e-3
    x = np.zeros(n)
    day = np.full(n, np.inf)
    for t in range(HORIZON_DAYS):
        adv = base_km * rng.lognormal(mu, sigma, n)
        new = x + adv
        hit = (new >= LENGTH_KM) & np.isinf(day)
        day[hit] = t + (LENGTH_KM - x[hit]) / adv[hit]
        x = new
        if not np.isinf(day).any():
            break
    return day


def naive_simpy(n: int, seed: int) -> np.ndarray:
    """What a user would write in SimPy: a process per replication, ticking daily."""
    import simpy

    rng = np.random.default_rng(seed)
    mu, sigma = _noise_mu_sigma()
    env = simpy.Environment()
    day = np.full(n, np.inf)

    def replication(i: int):
        base_km = _base(rng) * 1e-3
        x = 0.0
        while True:
            adv = base_km * rng.lognormal(mu, sigma)
            if x + adv >= LENGTH_KM:
                day[i] = env.now + (LENGTH_KM - x) / adv
                return
            x += adv
            yield env.timeout(1)

    for i in range(n):
        env.process(replication(i))
    env.run(until=HORIZON_DAYS)
    return day


def engine(n: int, seed: int, jobs: int = 1, scenario: Path = MODEL, sets=()) -> np.ndarray:
    """The engine on the same model, through the scenario path users use."""
    import sim

    sc = sim.load_scenario(scenario, sets)
    result = sim.simulate(sc, replications=n, seed=seed, jobs=jobs)
    return next(iter(result.sectors.values())).objective_day


def peak_rss_mb() -> float:
    """Peak RSS of this process or of any waited-for descendant, whichever is larger."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def one(kind: str, n: int, seed: int, jobs: int, extra: list[str]) -> dict:
    """Run one measurement in this process and describe it (imports are not timed here: the
    CLI rows below time start-up)."""
    import scipy.stats  # noqa: F401  (the engine's distributions may use it)
    import simpy  # noqa: F401
    import yaml  # noqa: F401

    import sim.model.loader
    import sim.running.runner  # noqa: F401

    t0 = time.perf_counter()
    if kind == "numpy":
        days = numpy_kernel(n, seed)
    elif kind == "naive":
        days = naive_simpy(n, seed)
    elif kind == "engine":
        days = engine(n, seed, jobs)
    elif kind == "scaling":
        length_km, horizon, sectors = extra
        days = _scaling(n, seed, float(length_km), int(horizon), int(sectors))
    else:
        raise SystemExit(f"unknown kind {kind}")
    wall = time.perf_counter() - t0
    sample = days[: 20_000]
    return {"wall_s": wall, "peak_rss_mb": peak_rss_mb(),
            "days": [d if math.isfinite(d) else None for d in sample.tolist()]}


def _scaling(n: int, seed: int, length_km: float, horizon: int, sectors: int) -> np.ndarray:
    """The engine with ``sectors`` copies of the benchmark axis over ``horizon`` days."""
    import yaml

    import sim
    from sim.model.loader import parse_scenario

    doc = yaml.safe_load(MODEL.read_text())
    doc["horizon_days"] = horizon
    axis = doc["sectors"].pop("axis")
    axis["length_km"] = length_km
    for k in range(sectors):
        doc["sectors"][f"axis{k}"] = axis
    result = sim.simulate(parse_scenario(yaml.safe_dump(doc)), replications=n, seed=seed,
                          jobs=1)
    return next(iter(result.sectors.values())).objective_day


def measure(kind: str, n: int, seed: int = 1, jobs: int = 1, extra=()) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(n), str(seed), str(jobs), *map(str, extra)],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out)


def command(args: list[str]) -> dict:
    """Wall time and peak RSS (largest process of the tree) of an ``advsim`` command."""
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "w = time.perf_counter() - t\n"
        "print(w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    exe = Path(sys.executable).with_name("advsim")
    out = subprocess.run([sys.executable, "-c", code, str(exe), *args], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout.split()
    return {"wall_s": float(out[0]), "peak_rss_mb": float(out[1])}


def ks(a: list, b: list) -> tuple[float, float]:
    from scipy import stats

    x = np.array([np.inf if v is None else v for v in a])
    y = np.array([np.inf if v is None else v for v in b])
    r = stats.ks_2samp(x, y)
    return float(r.statistic), float(r.pvalue)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check it runs")
    ap.add_argument("--out", default=str(HERE / "results.json"), help="JSON output file")
    ap.add_argument("--one", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        kind, n, seed, jobs, *extra = args.one
        print(json.dumps(one(kind, int(n), int(seed), int(jobs), extra)))
        return

    quick = args.quick
    sizes = [200, 1000] if quick else [1_000, 10_000, 100_000]
    rows, report = [], {"machine": {"python": platform.python_version(), "numpy": np.__version__,
                                    "cpus": os.cpu_count()}, "models": []}
    naive_max = 1000 if quick else 100_000
    for n in sizes:
        r = {k: measure(k, n) for k in ("numpy", "engine")}
        if n <= naive_max:
            r["naive"] = measure("naive", n)
        for k, m in r.items():
            ks_stat, ks_p = ks(r["numpy"]["days"], m["days"]) if k != "numpy" else (0.0, 1.0)
            rows.append((k, n, 1, m["wall_s"], n * HORIZON_DAYS / m["wall_s"], m["peak_rss_mb"],
                         ks_stat, ks_p))
            report["models"].append({"model": k, "replications": n, "jobs": 1,
                                     "wall_s": m["wall_s"], "peak_rss_mb": m["peak_rss_mb"],
                                     "ks_vs_numpy": [ks_stat, ks_p]})
        report.setdefault("ratios", {})[str(n)] = {
            "engine/numpy": r["engine"]["wall_s"] / r["numpy"]["wall_s"],
            **({"naive/engine": r["naive"]["wall_s"] / r["engine"]["wall_s"]} if "naive" in r
               else {}),
        }
    big = 20_000 if quick else 1_000_000
    e1, e2 = measure("engine", big, jobs=1), measure("engine", big, jobs=2)
    for jobs, m in ((1, e1), (2, e2)):
        rows.append(("engine", big, jobs, m["wall_s"], big * HORIZON_DAYS / m["wall_s"],
                     m["peak_rss_mb"], math.nan, math.nan))
    report["speedup_j2_over_j1"] = {"replications": big, "value": e1["wall_s"] / e2["wall_s"]}

    print(f"{'model':<8} {'N':>9} {'jobs':>4} {'wall s':>8} {'rep-days/s':>12} "
          f"{'peak MB':>8} {'KS vs numpy':>14}")
    for k, n, j, w, rate, rss, s, p in rows:
        ksd = "" if k == "numpy" or math.isnan(s) else f"{s:.3f} p={p:.2f}"
        print(f"{k:<8} {n:>9,} {j:>4} {w:>8.3f} {rate:>12.3g} {rss:>8.0f} {ksd:>14}")
    print()
    for n, ratio in report["ratios"].items():
        print(f"N={int(n):,}: " + ", ".join(f"{k} = {v:.2f}" for k, v in ratio.items()))
    print(f"-j 2 over -j 1 at N={big:,}: {report['speedup_j2_over_j1']['value']:.2f}x")

    # Cost per replication-day-sector: nobody reaches a 1000 km objective, so every replication
    # runs every day; vary replications, days and sectors.
    print("\nScaling (engine, 1000 km axis: every replication runs every day):")
    print(f"{'N':>9} {'days':>5} {'sectors':>7} {'wall s':>8} {'ns per rep-day-sector':>22}")
    base_n = 2000 if quick else 20_000
    report["scaling"] = []
    for n, days, sectors in ((base_n, 365, 1), (2 * base_n, 365, 1), (base_n, 730, 1),
                             (base_n, 365, 2), (base_n, 365, 4)):
        m = measure("scaling", n, extra=(1000, days, sectors))
        ns = m["wall_s"] / (n * days * sectors) * 1e9
        report["scaling"].append({"replications": n, "days": days, "sectors": sectors,
                                  "wall_s": m["wall_s"], "ns_per_rep_day_sector": ns})
        print(f"{n:>9,} {days:>5} {sectors:>7} {m['wall_s']:>8.3f} {ns:>22.1f}")

    print("\nThe CLI, start-up included:")
    scratch = tempfile.mkdtemp(prefix="advsim-bench-")

    def run_kurakhove(*opts: str) -> tuple[str, list[str]]:
        label = " ".join(("advsim run scenarios/kurakhove-reported.yaml", *opts))
        return label, ["run", "scenarios/kurakhove-reported.yaml", *opts, "-q", "--out",
                       f"{scratch}/out", "--overwrite"]

    n_cli = 2000 if quick else 100_000
    n_big = 20_000 if quick else 1_000_000
    cli_runs = [
        ("advsim --help", ["--help"]),
        run_kurakhove(),
        run_kurakhove("-n", str(n_cli), "-j", "1"),
        run_kurakhove("-n", str(n_cli), "-j", "0"),
        run_kurakhove("-n", str(n_big), "-j", "2"),
    ]
    report["cli"] = []
    kernel_100k = next((m["wall_s"] for m in report["models"]
                        if m["model"] == "numpy" and m["replications"] == max(sizes)), None)
    for label, argv in cli_runs:
        m = command(argv)
        rel = f"  ({m['wall_s'] / kernel_100k:.2f}x numpy at N={max(sizes):,})" \
            if kernel_100k and f"-n {n_cli} " in label else ""
        print(f"  {label:<60} {m['wall_s']:7.2f} s  peak {m['peak_rss_mb']:6.0f} MB{rel}")
        report["cli"].append({"command": label, **m})

    shutil.rmtree(scratch, ignore_errors=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nWritten: {args.out}")


if __name__ == "__main__":
    main()
