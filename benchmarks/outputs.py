"""Benchmarks of a results folder's outputs, against today's code in the same run: writing the
tables of a run, reading a run back, and comparing two runs.

    python benchmarks/outputs.py              # 1,000,000 replications (about 15 minutes)
    python benchmarks/outputs.py --quick      # 20,000: checks that it all still runs

Two runs of scenarios/kurakhove-reported.yaml (the report's model, kept so that the figures
stay comparable) with the same seed (with and without the strikes on logistics, so compare
pairs them) are simulated once and pickled. Each measurement then runs in
a fresh subprocess, so its wall time has no warm caches from the others and its peak RSS is its
own: the tables written by the baseline (benchmarks/reference_outputs.py: the code of commit
1bd663b) and by the new code; a run read back by each; and compare of the two runs by each
(the baseline: csv reading and the bootstrap of tests/reference_bootstrap.py), whose intervals
are set side by side (beyond 100,000 replications the new bootstrap draws other random numbers
of the same law: they agree within bootstrap Monte Carlo error). Results are printed and written
as JSON (--out).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIO = ROOT / "scenarios/kurakhove-reported.yaml"  # the report's model: stays comparable
NO_STRIKES = "sectors.kurakhove.strikes.0.rate_per_day=0"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_result(path: Path):
    with open(path, "rb") as f:
        return pickle.load(f)


def task_write(which: str, pkl: Path, folder: Path) -> dict:
    result = load_result(pkl)
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    result.summary()  # write_run computes it, in both
    if which == "old":
        import reference_outputs

        reference_outputs.write_tables(result, folder)
    else:
        from sim.artifacts.results import write_tables

        write_tables(folder, result, "0" * 64)
    return {"seconds": time.perf_counter() - t0}


def old_result(folder: Path):
    """A Result read the way commit 1bd663b read it (outcomes.csv through the csv module)."""
    import reference_outputs

    from sim.artifacts.results import _read_json, _read_scenario
    from sim.running.outcomes import Result, SectorOutcomes

    summary = _read_json(folder / "summary.json", str(folder))
    sc = _read_scenario(folder / "scenario.yaml", str(folder))
    n = int(summary["replications"])
    arrays = reference_outputs.read_sectors(folder, sc, n)
    return Result(scenario=sc, replications=n, seed=int(summary["seed"]), source=str(folder),
                  sectors={s.name: SectorOutcomes(sector=s, checkpoints_days=sc.checkpoints_days,
                                                  **arrays[s.name]) for s in sc.sectors})


def task_load(which: str, folder: Path) -> dict:
    t0 = time.perf_counter()
    if which == "old":
        old_result(folder)
    else:
        from sim.running.outcomes import Result

        Result.from_folder(folder)
    return {"seconds": time.perf_counter() - t0}


def task_compare(which: str, a: Path, b: Path, out: Path) -> dict:
    import sim.analysis.comparison as comparison

    t0 = time.perf_counter()
    if which == "old":
        sys.path.insert(0, str(ROOT / "tests"))
        from reference_bootstrap import reference_bootstrap

        comparison.bootstrap = lambda *args, on_resamples=None, **kw: reference_bootstrap(
            *args, **kw)
        runs = [old_result(a), old_result(b)]
    else:
        from sim.running.outcomes import Result

        runs = [Result.from_folder(a), Result.from_folder(b)]
    loaded = time.perf_counter() - t0
    report = comparison.compare_runs(runs)
    seconds = time.perf_counter() - t0
    report["runs"] = [{k: v for k, v in r.items() if k not in ("path", "overrides")}
                      for r in report["runs"]]
    out.write_text(json.dumps(report, sort_keys=True))
    return {"seconds": seconds, "load_seconds": loaded}


def interval_agreement(new: dict, old: dict, resamples: int = 2000) -> dict:
    """How the new compare's intervals compare with the old's: beyond 100,000 replications
    the bootstrap draws other random numbers (the same law), so each endpoint differs by
    bootstrap Monte Carlo error. The standard error of a 2.5% or 97.5% endpoint from B
    resamples is sqrt(p(1 - p) / B) / f(q); for a normal bootstrap distribution that is
    0.0153 × the interval's width at B = 2,000, and the tolerance is 4·√2 of it (the
    difference of two such endpoints, at odds of about 1e-4), plus one unit of the last digit
    the JSON keeps (its rounding)."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.975)
    se_per_width = (0.025 * 0.975 / resamples) ** 0.5 / NormalDist().pdf(z) / (2 * z)
    rows, worst, within = [], 0.0, True
    for name, sector in new["sectors"].items():
        a, b = sector["comparisons"][0], old["sectors"][name]["comparisons"][0]
        pairs = [("median_diff_ci95", a["median_diff_ci95"], b["median_diff_ci95"], 1e-2),
                 ("prob_reached_diff_ci95", a["prob_reached_diff_ci95"],
                  b["prob_reached_diff_ci95"], 1e-4)]
        pairs += [(f"progress_median_diff_ci95[{j}]", x, y, 1e-3) for j, (x, y) in enumerate(
            zip(a["progress_median_diff_ci95"], b["progress_median_diff_ci95"]))]
        for key, x, y, unit in pairs:
            if x is None or y is None or None in x or None in y:
                same = x == y
                rows.append({"sector": name, "interval": key, "new": x, "old": y})
                within &= same
                continue
            width = max(y[1] - y[0], x[1] - x[0])
            diff = max(abs(x[0] - y[0]), abs(x[1] - y[1]))
            ratio = diff / width if width > 0 else (0.0 if diff == 0 else float("inf"))
            worst = max(worst, ratio)
            within &= diff <= 4 * 2 ** 0.5 * se_per_width * width + unit * (1 + 1e-9)
            rows.append({"sector": name, "interval": key, "new": x, "old": y,
                         "diff_over_width": round(ratio, 5)})
    readings = all(new["sectors"][s]["reading"] == old["sectors"][s]["reading"]
                   for s in new["sectors"])
    return {"rows": rows, "largest_diff_over_width": worst, "within_tolerance": within,
            "tolerance_over_width": 4 * 2 ** 0.5 * se_per_width,
            "readings_identical": readings,
            "readings": {s: [new["sectors"][s]["reading"], old["sectors"][s]["reading"]]
                         for s in new["sectors"]}}


def child(args: list[str]) -> None:
    sys.path.insert(0, str(HERE))
    kind, which, *rest = args
    fn = {"write": task_write, "load": task_load, "compare": task_compare}[kind]
    out = fn(which, *map(Path, rest))
    out["peak_mb"] = peak_mb()
    print(json.dumps(out))


def measure(*args: str) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                       text=True, check=False)
    if r.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("-n", type=int, default=None)
    ap.add_argument("--out", default=str(HERE / "outputs.json"))
    ap.add_argument("--child", nargs=argparse.REMAINDER)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--pickles", default=None, help="a folder of strikes.pkl and "
                    "no-strikes.pkl from an earlier --keep run, instead of simulating again")
    opts = ap.parse_args()
    if opts.child:
        child(opts.child)
        return
    import sim

    n = opts.n or (20_000 if opts.quick else 1_000_000)
    if opts.pickles:
        n = load_result(Path(opts.pickles) / "strikes.pkl").replications
    tmp = Path(tempfile.mkdtemp(prefix="advsim-outputs-"))
    print(f"{n:,} replications of {SCENARIO.name}, in {tmp}", flush=True)
    pkls = {}
    for name, sets in (("strikes", []), ("no-strikes", [NO_STRIKES])):
        if opts.pickles:
            pkls[name] = Path(opts.pickles) / f"{name}.pkl"
            continue
        sc = sim.load_scenario(SCENARIO, sets)
        t0 = time.perf_counter()
        result = sim.simulate(sc, replications=n, seed=1, jobs=2)
        print(f"  simulated {name} in {time.perf_counter() - t0:.1f} s", flush=True)
        pkls[name] = tmp / f"{name}.pkl"
        with open(pkls[name], "wb") as f:
            pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
        del result
    report: dict = {"replications": n, "machine": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "load_average": os.getloadavg(), "python":
                    platform.python_version()}
    folders = {}
    for which in ("old", "new"):
        for name in pkls:
            folders[which, name] = folder = tmp / which / name
            m = measure("write", which, str(pkls[name]), str(folder))
            folders[which, name] = folder
            if name == "strikes":
                report[f"write_{which}"] = m
                size = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
                report[f"write_{which}"]["mb_on_disk"] = round(size, 1)
                print(f"  write ({which}): {m['seconds']:.2f} s, peak {m['peak_mb']:.0f} MB, "
                      f"{size:.0f} MB on disk", flush=True)
        # the folders need what write_run adds: scenario.yaml, summary.json, manifest.json
        for name, sets in (("strikes", []), ("no-strikes", [NO_STRIKES])):
            from sim.model.loader import load_resolved

            _, text = load_resolved(str(SCENARIO), sets)
            folder = folders[which, name]
            (folder / "scenario.yaml").write_text(text, encoding="utf-8")
            (folder / "summary.json").write_text(json.dumps(
                {"replications": n, "seed": 1}), encoding="utf-8")
            (folder / "manifest.json").write_text(json.dumps(
                {"overrides": sets, "scenario_sha256": None}), encoding="utf-8")
    for which in ("old", "new"):
        m = measure("load", which, str(folders[which, "strikes"]))
        report[f"load_{which}"] = m
        print(f"  load ({which}): {m['seconds']:.2f} s, peak {m['peak_mb']:.0f} MB", flush=True)
    for which in ("new", "old"):
        out = tmp / f"compare-{which}.json"
        m = measure("compare", which, str(folders[which, "no-strikes"]),
                    str(folders[which, "strikes"]), str(out))
        report[f"compare_{which}"] = m
        print(f"  compare ({which}): {m['seconds']:.1f} s ({m['load_seconds']:.1f} s reading), "
              f"peak {m['peak_mb']:.0f} MB", flush=True)
    new, old = (json.loads((tmp / f"compare-{w}.json").read_text()) for w in ("new", "old"))
    report["compare_intervals"] = agreement = interval_agreement(new, old)
    print(f"  intervals, new against old: largest |difference| / interval width "
          f"{agreement['largest_diff_over_width']:.4f}; within 4·√2 Monte Carlo standard "
          f"errors (normal approximation) and the JSON's rounding: "
          f"{agreement['within_tolerance']}; readings "
          f"identical: {agreement['readings_identical']}")
    print(f"  ratios: write {report['write_old']['seconds'] / report['write_new']['seconds']:.2f}x"
          f", load {report['load_old']['seconds'] / report['load_new']['seconds']:.1f}x, "
          f"compare {report['compare_old']['seconds'] / report['compare_new']['seconds']:.1f}x")
    Path(opts.out).write_text(json.dumps(report, indent=1) + "\n")
    import shutil

    if not opts.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
