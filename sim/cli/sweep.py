"""``advsim sweep``: run a scenario over a grid or sample of parameter values and rank them."""

from __future__ import annotations

import signal

import click

from .options import (
    check_memory,
    executor_option,
    force_option,
    jobs_option,
    json_option,
    metric_option,
    out_dir_option,
    quiet_option,
    replications_option,
    scheduler_option,
    seed_option,
    set_option,
    verbose_option,
)


@click.command("sweep")
@click.argument("spec")
@click.option("--vary", multiple=True, metavar="KEY.PATH=LOW:HIGH|A,B,C",
              help="Vary a scenario value over a range (LOW:HIGH, add :log or :int) or a list "
                   "(a,b,c); repeatable. SPEC may then be a plain scenario.")
@click.option("--method", default=None, metavar="grid|lhs|sobol",
              help="How to place the points (default: the spec's, else grid).")
@click.option("--samples", type=click.IntRange(min=1), default=None,
              help="Points of an lhs design; base samples N of a sobol one (a power of 2; "
                   "N × (parameters + 2) points).")
@click.option("--levels", type=click.IntRange(min=2), default=None,
              help="Values of each range in a grid (default 5).")
@replications_option
@seed_option
@metric_option
@set_option
@jobs_option
@executor_option
@scheduler_option
@out_dir_option
@click.option("--resume", is_flag=True,
              help="Continue the unfinished sweep of --out DIR: finished points are kept.")
@force_option
@json_option
@quiet_option
@verbose_option
@click.pass_context
def command(ctx, spec, vary, method, samples, levels, replications, seed, metrics, overrides,
            jobs, executor, scheduler, out, resume, force, as_json, quiet) -> None:
    """Run SPEC, a sweep spec (or a scenario with --vary), and rank the swept parameters.

    Each point of the sweep is the base scenario with the swept values set by key path, run
    with its own seed (derived from the sweep's seed and the point's index, so -j, the executor
    and interruptions do not change the numbers). The sweep folder holds points.csv (one row
    per point: its values and, per sector, the probability of reaching the objective and the
    P10, P50 and P90 of the day it falls and of progress at checkpoint days), outcomes.csv
    (every replication, with its point), sensitivity.csv (the parameters ranked by influence
    on each headline metric), the spec and scenario as run, and a manifest with the timings.
    Points are kept as they finish: after an interruption, --resume --out DIR continues (a
    kept point whose files are damaged is reported on stderr and computed again).

    \b
    Examples:
      advsim sweep scenarios/sweeps/kurakhove-forces.yaml -j 2
      advsim sweep scenarios/kursk.yaml --vary sectors.kursk.front.length_km=40:80 -n 500
      advsim sweep scenarios/sweeps/kursk-reinforcements.yaml --executor dask
      advsim sweep scenarios/sweeps/kursk-reinforcements.yaml --out results/k --resume
    """
    import json
    from pathlib import Path

    from ..artifacts.results import new_run_dir
    from ..errors import AdvsimError, Interrupted
    from ..presentation.progress import Progress, run_phases, wanted
    from ..presentation.text import format_sweep
    from ..running.executors import default_jobs
    from ..sweep import load_sweep, partial_dir, plan, run_sweep, summary

    if resume and not out:
        raise AdvsimError("--resume needs --out DIR (the folder of the sweep to continue)")
    if scheduler and executor == "local":
        raise AdvsimError("--scheduler is a Dask scheduler: use it with --executor dask")
    sweep = load_sweep(spec, vary=vary, sets=overrides, method=method, samples=samples,
                       levels=levels, replications=replications, seed=seed, metrics=metrics)
    the_plan = plan(sweep)
    if scheduler:
        from ..running.executors import check_address

        check_address(scheduler)
    sc = the_plan.points[0].scenario
    check_memory(ctx, replications=sweep.replications, days=max(
        p.scenario.horizon_days for p in the_plan.points), sectors=len(sc.sectors),
        jobs=jobs if not scheduler else 1, force=force, quiet=quiet or as_json,
        what="each point")
    if quiet:
        import logging

        logging.getLogger("distributed").setLevel(logging.ERROR)
    name = sweep.name if sweep.name.lower().endswith("sweep") else f"{sweep.name} sweep"
    target = Path(out) if out else new_run_dir("results", name, sweep.seed)
    from ..artifacts.files import check_writable

    check_writable(target, target.parent)  # before the points are computed
    points, n = len(the_plan.points), the_plan.sweep.replications
    run = run_phases(sc, n, 1)
    phases = {"points": points * run["simulating"] / max(1, jobs or default_jobs()),
              "writing": points * run["writing"]}
    bar = Progress("advsim sweep", phases, enabled=wanted(quiet))
    first = [True]

    def progress(done: int, total: int) -> None:
        if first[0]:  # the points kept from an interrupted session, before any is computed
            first[0] = False
            bar.already("points", done, total)
        else:
            bar.update("points", done, total)
        if done == total:
            bar.update("writing", 0, 1)

    try:
        with bar:
            result = run_sweep(the_plan, target, jobs=jobs, executor=executor or (
                "dask" if scheduler else "local"), scheduler=scheduler, resume=resume,
                on_point=progress, on_damaged=lambda line: click.echo(line, err=True))
    except (KeyboardInterrupt, Interrupted) as e:
        signum = e.signum if isinstance(e, Interrupted) else signal.SIGINT
        staging = partial_dir(target)
        if staging.exists():
            click.echo(f"\nadvsim: interrupted; the finished points are kept in {staging} "
                       f"(continue with --resume --out {target})", err=True)
        else:
            click.echo("\nadvsim: interrupted; nothing was written", err=True)
        ctx.exit(128 + signum)
    data = summary(result)
    if as_json:
        click.echo(json.dumps(data))
    elif not quiet:
        click.echo(format_sweep(data, wall_seconds=result.wall_seconds,
                                computed=result.points_computed))
