"""``advsim reference``: reference classes of traced approaches, the advance fitted to them,
and how well projections from them hold up on towns they were not fitted to."""

from __future__ import annotations

import click

from .options import (
    chart_option,
    executor_option,
    force_option,
    jobs_option,
    json_option,
    observed_date,
    output_option,
    replications_option,
    scheduler_option,
    seed_option,
    verbose_option,
)


@click.group("reference")
def command() -> None:
    """Reference classes: how earlier approaches to towns went, from traced map series.

    \b
    The pipeline:
      advsim trace SNAPSHOTS --to TOWN ... -o towns.csv        distances to towns, dated
      advsim reference build towns.csv --until DATE -o class.yaml
      advsim reference show class.yaml --chart approaches.png  the class, as a reader sees it
      advsim reference fit class.yaml                          a paste-ready advance: block
      advsim reference evaluate class.yaml                     leave-one-town-out scores
    """


@command.command("build")
@click.argument("series", nargs=-1, required=True)
@click.option("--until", type=observed_date, required=True, metavar="YYYY-MM-DD",
              help="Use observations on or before this date only (the projection date).")
@click.option("--within-km", type=click.FloatRange(min=0, min_open=True), default=25.0,
              show_default=True, help="An approach begins when the front is this close.")
@output_option
@verbose_option
def build(series, until, within_km, output) -> None:
    """Build a reference class from SERIES (advsim trace -o CSVs, frame remaining_km, or
    advsim trace --out folders, whose series.csv is checked against the folder's manifest).

    Every town whose front came within --within-km is followed from then to its fall (the
    first later observation with the town's centre inside attacker-held territory) or,
    censored, to --until. The class file keeps the towns' series up to --until and the
    definitions; it is derived from the map data, so keep it out of version control.

    \b
    Example:
      advsim reference build towns.csv --until 2024-11-20 -o class.yaml
    """
    from ..artifacts import outputs
    from ..errors import AdvsimError
    from ..fitting.reference import build as build_class
    from ..fitting.reference import write_class

    if output is None:
        raise AdvsimError("reference build: name the class file with -o FILE.yaml",
                          param="output")
    if not output.endswith((".yaml", ".yml")) and not outputs.is_stdout(output):
        raise AdvsimError(f"{output}: a class file is YAML (expected .yaml or .yml)",
                          param="output")
    outputs.check_output(output, flag="-o/--output")
    outputs.check_distinct({"-o/--output": output}, series)
    cls = build_class(series, until=until, within_km=within_km)
    write_class(output, cls)
    fell = sum(a.fell for a in cls.approaches)
    click.echo(f"{output}: {len(cls.approaches)} towns ({fell} fell by {until}), "
               f"{len(cls.origins())} origins. Read it with: advsim reference show {output}",
               err=outputs.is_stdout(output))


@command.command("show")
@click.argument("class_file", metavar="CLASS.yaml")
@chart_option
@json_option
@verbose_option
def show(class_file, chart, as_json) -> None:
    """Print a reference class: towns, spans, days-to-fall by distance band, pace, spells.

    --chart FILE draws the approach curves (km remaining against days) of every town.
    """
    import json

    from ..artifacts import outputs
    from ..fitting.reference import read_class, to_data
    from ..presentation.text_fits import format_reference

    if chart:
        from ..presentation.charts.base import check_output, require_matplotlib

        check_output(chart, flag="--chart")  # before the class is read
        outputs.check_distinct({"--chart": chart}, [class_file])
        require_matplotlib()
        if as_json and outputs.is_stdout(chart):
            raise click.UsageError("--json prints on standard output: give --chart a file")
    cls = read_class(class_file)
    if chart:
        from ..presentation.charts.base import save
        from ..presentation.charts.reference import approach_chart

        save(approach_chart(cls), chart, flag="--chart")
    if as_json:
        data = to_data(cls)
        for t in data["towns"].values():
            del t["series"]
        click.echo(json.dumps(data))
    else:
        err = outputs.is_stdout(chart)  # standard output holds the chart
        click.echo(format_reference(cls), err=err)
        if chart:
            click.echo(f"\nchart: {chart}", err=err)


@command.command("fit")
@click.argument("class_file", metavar="CLASS.yaml")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Simulate the class's origins from the fit and compare with its "
                   "Kaplan-Meier days-to-fall.")
@replications_option
@seed_option
@jobs_option
@executor_option
@scheduler_option
@output_option
@verbose_option
def fit_command(class_file, check, replications, seed, jobs, executor, scheduler,
                output) -> None:
    """Fit the engine's advance model to a reference class; print a paste-ready advance block.

    \b
    The model: advance = base × noise × regime, with regimes stalled / grinding / surging /
    setback as a semi-Markov chain (lognormal sojourns fitted to the class's spells, censored
    at the ends of each approach), base a lognormal across the towns' own rates (the spread
    between towns, not the error of a pooled mean), and gamma daily noise. -o FILE writes the
    block (with its provenance as comments) to FILE as well.

    The check runs -n replications (default 150) from each of up to 40 of the class's origins
    per distance band, every band in one batch on -j workers (or --executor dask); --seed
    (default 1) fixes its numbers whatever the workers.
    """
    import shlex
    import sys
    from dataclasses import replace

    from ..artifacts import outputs
    from ..fitting.advance_fit import CHECK_REPLICATIONS, fit
    from ..fitting.advance_fit import check as check_fit
    from ..fitting.reference import read_class
    from ..presentation.progress import Progress, wanted
    from ..presentation.text_fits import format_fit

    if output:
        outputs.check_output(output, flag="-o/--output")
        outputs.check_distinct({"-o/--output": output}, [class_file])
    cls = read_class(class_file)
    # The fit is about a tenth of the check's time (23 towns, 2 cores).
    with Progress("advsim reference fit", {"fitting": 1.0, "checking": 9.0 if check else 0.0},
                  enabled=wanted()) as bar:
        bar.update("fitting", 0, 1)
        f = fit(cls)
        checks = []
        if check:
            checks = check_fit(f.block(), cls, seed=1 if seed is None else seed, jobs=jobs,
                               executor=executor or ("dask" if scheduler else "local"),
                               scheduler=scheduler,
                               replications=CHECK_REPLICATIONS if replications is None
                               else replications, on_chunk=bar.callback("checking"))
    f = replace(f, provenance=f.provenance.with_checks(c.as_check() for c in checks))
    text = format_fit(f, checks, class_file=class_file,
                      command="advsim " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    if output:
        outputs.write_output(output, (text + "\n").encode(), flag="-o/--output")
        if outputs.is_stdout(output):
            return  # printed once
    click.echo(text)


@command.command("evaluate")
@click.argument("class_file", metavar="CLASS.yaml")
@click.option("--every-days", type=click.IntRange(min=1), default=30, show_default=True,
              help="Days between the origins projected along each town's approach.")
@click.option("--versus", "versus", multiple=True, metavar="SCENARIO.yaml",
              help="Also score this scenario's advance block (its first sector's), run the "
                   "same way (repeatable).")
@click.option("--label", "labels", multiple=True, metavar="TEXT",
              help="The name of each --versus scenario's rows, in order (repeatable; default: "
                   "the file's stem, or its path where the stem is taken).")
@replications_option
@seed_option
@jobs_option
@force_option
@executor_option
@scheduler_option
@json_option
@output_option
@verbose_option
def evaluate_command(class_file, every_days, versus, labels, replications, seed, jobs, force,
                     executor, scheduler, as_json, output) -> None:
    """Leave-one-town-out: project each town's fall from the other towns' fit, and score it.

    For each town, the advance is fitted to the other towns; its fall day is projected from
    origins every --every-days along its approach and scored against what the map showed to
    the class's until date (censored towns count as "not fallen by then", never dropped).
    Scored beside it: the other towns' Kaplan-Meier days-to-fall alone (reference class), the
    front standing still (persistence), the trailing 90-day rate extrapolated, and any
    --versus scenario's advance. Prints coverage of the 50% and 90% intervals, the PIT test,
    CRPS and WIS in days, and CRPS skill; -o FILE.json writes every figure.

    Each projection runs -n replications (default 400); every town's projections are one
    batch on -j workers (or --executor dask), and --seed (default 1) fixes the numbers
    whatever the workers.
    """
    import json

    from ..artifacts import outputs
    from ..fitting.reference import read_class
    from ..forecast.evaluation import REPLICATIONS, advance_of, evaluate, versus_labels
    from ..presentation.progress import Progress, wanted
    from ..presentation.text_forecasts import format_evaluation

    if labels and not versus:
        raise click.UsageError("--label names --versus scenarios (none given)")
    names = versus_labels(versus, labels)  # before any file is read
    if output:
        outputs.check_output(output, flag="-o/--output")
        if as_json and outputs.is_stdout(output):
            raise click.UsageError("--json prints on standard output: give -o a file")
        outputs.check_distinct({"-o/--output": output}, [class_file, *versus])
    cls = read_class(class_file)
    others = {label: advance_of(path)[1] for label, path in zip(names, versus)}
    # The towns' fits take about a seventh of the time of their simulations (23 towns, 2 cores).
    with Progress("advsim reference evaluate", {"fitting": 1.0, "simulating": 6.0},
                  enabled=wanted()) as bar:
        ev = evaluate(cls, others=others, every_days=every_days,
                      replications=REPLICATIONS if replications is None else replications,
                      seed=1 if seed is None else seed, jobs=jobs,
                      executor=executor or ("dask" if scheduler else "local"),
                      scheduler=scheduler, on_chunk=bar.callback("simulating"),
                      on_fit=bar.callback("fitting"), force=force)
    table = ev.table()
    if output:
        outputs.write_output(output, (json.dumps(table, indent=1) + "\n").encode(),
                             flag="-o/--output")
    click.echo(json.dumps(table) if as_json else format_evaluation(table),
               err=outputs.is_stdout(output))
