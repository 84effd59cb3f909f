"""A walk through advsim's Python API as a notebook takes it: run, compare, trace, outlook.

Run from anywhere: ``python docs/walkthrough.py [FOLDER]`` (FOLDER: where to write the charts);
tests/test_walkthrough.py runs it in CI and checks what it finds. Each step is what a notebook
cell would hold; in a notebook, the objects printed here show as small HTML tables and the
Figures as charts. The trace and the outlook read the DeepStateMap snapshots of
``../shared/data/frontlines/`` beside the clone (third-party data advsim does not ship) and
are skipped, saying so, where that folder is absent.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import advsim

ROOT = Path(__file__).resolve().parents[1]
FRONTLINES = ROOT.parent / "shared" / "data" / "frontlines"
REPLICATIONS = 2000  # enough to see the difference the strikes make, in a second or two
NO_STRIKES = "sectors.kurakhove.strikes.0.rate_per_day=0"


def main(out: Path | None = None, frontlines: Path = FRONTLINES) -> dict:
    """Every step; the objects it made, by name (a step skipped leaves None)."""
    made: dict = {}

    # 1. Run: a scenario file, simulated in memory (nothing is written).
    path = ROOT / "scenarios" / "kurakhove-reported.yaml"
    scenario = advsim.load_scenario(path)
    strikes = advsim.simulate(scenario, replications=REPLICATIONS, seed=1)
    print(scenario)
    print(strikes)
    made["run"] = strikes
    made["fan"] = strikes.plot(kind="fan")  # a matplotlib Figure

    # 2. Compare: the same scenario without the strikes on logistics, on the same seed.
    calm = advsim.simulate(advsim.load_scenario(path, [NO_STRIKES]),
                           replications=REPLICATIONS, seed=1)
    labels = ["no strikes", "strikes"]
    diff = advsim.compare([calm, strikes], labels=labels)  # strikes minus no strikes
    print(diff)
    made["compare"] = diff
    made["cdf"] = advsim.plot([calm, strikes], kind="cdf", labels=labels)

    # 3. Trace: distances from two towns to the attacker-held territory on dated maps.
    occupied = frontlines / "occupied"
    if occupied.is_dir():
        trace = advsim.trace([occupied], [advsim.place("Pokrovsk"), advsim.place("Kurakhove")],
                             chart_dates=4)  # keep the map on 4 dates, for its chart
        print(trace)
        made["trace"], made["map"] = trace, trace.plot()
    else:
        print(f"trace skipped: no map snapshots at {occupied}")
        made["trace"] = made["map"] = None

    # 4. Outlook: every place within 5 km of the front on 2024-11-20, fitted on the maps up
    # to that day only.
    deepstate = frontlines / "deepstate"
    if deepstate.is_dir():
        outlook = advsim.outlook([deepstate], dt.date(2024, 11, 20), radius_km=5,
                                 replications=1000)
        print(outlook)
        print(outlook.cls)
        made["outlook"], made["outlook_map"] = outlook, outlook.plot()
    else:
        print(f"outlook skipped: no map snapshots at {deepstate}")
        made["outlook"] = made["outlook_map"] = None

    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name in ("fan", "cdf", "map", "outlook_map"):
            if made[name] is not None:
                made[name].savefig(out / f"{name}.png", dpi=100)
    return made


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
