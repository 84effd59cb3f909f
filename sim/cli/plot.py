"""``advsim plot``: fan, CDF, histogram, milestone and forces charts of results folders;
tornado and swing charts of sweep folders."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    label_option,
    metric_option,
    output_option,
    runs_arg,
    sector_option,
    verbose_option,
)


@click.command("plot")
@runs_arg
@click.option("-k", "--kind", default="fan", show_default=True,
              metavar="fan|cdf|hist|milestones|forces|tornado|swing",
              help="The chart to draw (see above).")
@output_option
@label_option
@sector_option
@metric_option
@click.option("--bin-days", type=click.IntRange(min=1), default=7, show_default=True,
              help="hist: width of the histogram's bins, in days.")
@click.option("--observed", metavar="OBSERVED.csv", default=None,
              help="fan: draw this observed series (date,sector,value[,frame]) left of day 0, "
                   "instead of the traced history the scenario keeps.")
@click.option("--no-observed", "no_observed", is_flag=True,
              help="fan: draw no history left of day 0.")
@verbose_option
def command(runs, kind, output, labels, sectors, metrics, bin_days, observed,
            no_observed) -> None:
    """Draw a chart of the results folders RUN... (of advsim run) into FILE.

    \b
    Kinds:
      fan         progress per day (km advanced, or km² held): P5–P95 and P25–P75 bands
                  and the median, the objective and milestones marked; a panel per run
      cdf         the probability that the objective has fallen by each date, runs
                  overlaid
      hist        the distribution of the day the objective falls; replications that do
                  not reach it within the horizon are one hatched bar past the horizon
      milestones  when each milestone and the objective fall, as P10–P90 and P25–P75
                  intervals with the median
      forces      troops by side per day (P5–P95, P25–P75, median) and the median day
                  each side reaches its breakpoint
      tornado     a sweep's sensitivity.csv: RUN is a sweep folder; Sobol indices (total
                  and first order, with 95% intervals) for a Sobol sweep, partial rank
                  correlations otherwise; one bar per parameter, largest on top
      swing       a grid sweep: each metric at each parameter's lowest and highest level,
                  the others at their middle levels, in the metric's units (days, km)

    The fan chart shades P5–P95 to P45–P55 in 10% steps; to the left of day 0 it draws the
    history the scenario keeps (a sector's observed: points, which advsim trace --scenario
    and advsim outlook --scenarios write), or the series of --observed instead;
    --no-observed draws none.

    RUN is a results folder, or a point of a sweep as SWEEP_DIR:POINT_ID. --metric picks
    the tornado's metrics. Charts need matplotlib: pip install 'advsim[plot]'. Prints the
    file written.

    \b
    Examples:
      advsim plot results/strikes -o fan.png
      advsim plot results/strikes results/no-strikes --kind cdf -o cdf.png \\
          --label strikes --label "no strikes"
      advsim plot results/strikes --kind hist --bin-days 14 -o hist.svg
      advsim plot results/sweep --kind swing -o swing.png
    """
    from ..errors import AdvsimError
    from ..presentation.charts import plot

    if not output:
        raise AdvsimError("plot: -o FILE is required (a .png, .svg or .pdf to write)")
    if observed and no_observed:
        raise click.UsageError("--observed draws a history, --no-observed none: choose one")
    from ..presentation.charts import SWEEP_KINDS, check_output

    check_output(output, flag="-o/--output")  # before reading the runs
    from ..artifacts.outputs import check_distinct

    check_distinct({"-o/--output": output}, [*runs, observed])
    series: dict | bool | None = False if no_observed else None  # None: the scenario's own
    if kind not in SWEEP_KINDS:
        from ..running.outcomes import Result

        if observed:
            from ..data.observed import read_observed

            series = read_observed(observed)
        runs = [Result.from_folder(r) for r in runs]
    else:
        from ..presentation.charts.tornado import read_sensitivity

        for r in runs[:1] if len(runs) == 1 else ():  # the chart says how many it takes
            if Path(r).is_dir() and (Path(r) / "manifest.json").exists():  # advsim wrote it
                from ..sweep.table import SweepResult

                runs = [SweepResult.from_folder(r)]
            elif kind == "tornado":  # a table made by hand; a swing chart says what it lacks
                table, cols, value = read_sensitivity(r)
                if not cols[value]:
                    raise AdvsimError(f"{table}: no rows (expected one per parameter and "
                                      "metric)")
    try:
        path = plot(list(runs), kind=kind, output=output, labels=labels, sectors=sectors,
                    metrics=metrics, bin_days=bin_days, observed=series)
    except OSError as e:  # writing the chart: the disk is full, the folder went away...
        raise AdvsimError(f"{output}: cannot write it ({e.strerror or e})") from None
    from ..artifacts.outputs import is_stdout

    click.echo(str(path), err=is_stdout(output))  # standard output holds the chart

