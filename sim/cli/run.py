"""``advsim run``: run a scenario and print the distribution of its outcomes."""

from __future__ import annotations

import click

from .options import (
    check_memory,
    executor_option,
    force_option,
    jobs_option,
    json_option,
    out_dir_option,
    quiet_option,
    replications_option,
    scenario_arg,
    scheduler_option,
    seed_option,
    set_option,
    verbose_option,
)


@click.command("run")
@scenario_arg
@replications_option
@seed_option
@click.option("--horizon", type=click.IntRange(min=1), default=None,
              help="Days to simulate from the scenario's start.")
@set_option
@jobs_option
@executor_option
@scheduler_option
@out_dir_option
@click.option("--overwrite", is_flag=True,
              help="Replace the --out folder if it exists and advsim wrote it.")
@force_option
@json_option
@click.option("--plot", is_flag=True,
              help="Also draw the fan chart into the results folder (fan.png; needs "
                   "matplotlib: pip install 'advsim[plot]').")
@quiet_option
@verbose_option
def command(scenario, replications, seed, horizon, overrides, jobs, executor, scheduler, out,
            overwrite, force, plot, as_json, quiet) -> None:
    """Run SCENARIO (a YAML file) and print when each objective falls.

    Prints, per sector: the probability of reaching the objective within the horizon; the
    P5…P95 of the day it falls, as days and dates (> horizon where censored); for an axis, the
    P10/P50/P90 day with the objective 0.5 km nearer and farther (where a town's centre lies
    is uncertain by about that much; one more run of the same seed, read on its paths); how
    far the line moves by checkpoint days; when milestones fall. Every run writes a new, complete
    folder under results/ with the resolved scenario, a manifest, per-replication outcomes
    (CSV), the summary (JSON) and per-day bands; with --plot, the fan chart.

    \b
    Examples:
      advsim run scenarios/kurakhove.yaml
      advsim run scenarios/kurakhove.yaml -n 100000 -j 2 --seed 7
      advsim run scenarios/kurakhove.yaml --executor dask --scheduler tcp://HOST:8786
      advsim run scenarios/kurakhove.yaml --plot --out results/strikes
      advsim run scenarios/kursk.yaml --set sectors.kursk.forces.attacker.troops=70000
      advsim run scenarios/theatre.yaml --json | jq .sectors.kursk.objective
    """
    import json

    from ..artifacts.results import claim_run, write_run
    from ..model.loader import parse_resolved, read_text
    from ..presentation.progress import Progress, run_phases, wanted
    from ..presentation.text import format_run
    from ..running.runner import simulate

    sets = [*(f"horizon_days={horizon}" for _ in [horizon] if horizon is not None), *overrides]
    text = read_text(scenario)
    sc, resolved = parse_resolved(text, file=scenario, overrides=sets)
    if scheduler:
        from ..running.executors import check_address

        check_address(scheduler)  # before the folder is claimed
    if plot:
        from ..presentation.charts import require_matplotlib

        require_matplotlib()  # before the run, not after it
    n = sc.replications if replications is None else replications
    check_memory(click.get_current_context(), replications=n, days=sc.horizon_days,
                 sectors=len(sc.sectors), jobs=jobs if not scheduler else 1, force=force,
                 quiet=quiet or as_json)
    claim = claim_run(sc, sc.seed if seed is None else seed, out=out, overwrite=overwrite)
    if quiet or as_json:
        import logging

        logging.getLogger("distributed").setLevel(logging.ERROR)
    phases = run_phases(sc, n, jobs)
    from ..model.scenario import AxisSector

    axes = [s for s in sc.sectors if isinstance(s, AxisSector)]
    if axes:  # the objective read nearer and farther: one more run, as long as the first
        phases = {"simulating": phases["simulating"], "readings": phases["simulating"],
                  "writing": phases["writing"]}
    with Progress("advsim run", phases, enabled=wanted(quiet)) as bar:
        try:
            how = {"jobs": jobs, "executor": executor or ("dask" if scheduler else "local"),
                   "scheduler": scheduler}
            result = simulate(sc, replications=replications, seed=seed,
                              on_chunk=bar.callback("simulating"), **how)
            if axes:
                from ..running.readings import objective_readings, readings_summary

                result.shifted = readings_summary(objective_readings(
                    sc, replications=result.replications, seed=result.seed,
                    on_chunk=bar.callback("readings"), **how), sc.percentiles)
        except BaseException:
            claim.abandon()
            raise
        also = {}
        if plot:
            from ..presentation.charts import save
            from ..presentation.charts.runs import fan_chart

            also["fan.png"] = lambda path: save(fan_chart([result]), path)  # from memory
        path = write_run(
            result, resolved_yaml=resolved, source=scenario, source_text=text,
            overrides=tuple(sets), also=also,
            claim=claim, on_progress=bar.callback("writing"),
        )
    summary = result.summary()
    summary["results_dir"] = str(path)
    if as_json:
        click.echo(json.dumps(summary))
    elif not quiet:
        click.echo(format_run(result, summary))
        click.echo(f"\nResults: {path}  ({result.wall_seconds:.2f} s)")
        if plot:
            click.echo(f"Fan chart: {path / 'fan.png'}")
