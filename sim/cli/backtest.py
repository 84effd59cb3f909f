"""``advsim backtest``: score a scenario's projection against what was then observed."""

from __future__ import annotations

import click

from .options import jobs_option, json_option, observed_date, scenario_arg, set_option


@click.command("backtest")
@scenario_arg
@click.option("--observed", required=True, metavar="OBSERVED.csv",
              help="Observed series: date,sector,value (km advanced, or km² held).")
@click.option("--sector", "sectors", multiple=True, metavar="NAME",
              help="Score only this sector (repeatable; default: every sector in both files).")
@click.option("--until", type=observed_date, default=None, metavar="YYYY-MM-DD",
              help="Score observations up to this date only.")
@click.option("-n", "--replications", type=click.IntRange(min=2), default=None,
              help="Replications (default: the scenario's, else 10,000).")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Seed of the run (default: the scenario's, else 1).")
@set_option
@jobs_option
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              metavar="FILE", help="Also draw the observations over the fan chart (PNG, SVG, "
                                   "PDF; needs matplotlib: pip install 'advsim[plot]').")
@json_option
def command(scenario, observed, sectors, until, replications, seed, overrides, jobs,
            plot_path, as_json) -> None:
    """Run SCENARIO from its start and score it against what OBSERVED shows happened.

    Every observation date after the start becomes a checkpoint (the horizon is extended to
    the last one). Per sector, against the observed value (km advanced since the start,
    counted from the value observed at the start; or km² held):

    \b
      CRPS        fair ensemble CRPS, in km or km²; lower is better
      coverage    share of dates inside the central 50% and 90% bands (ideal: 0.5, 0.9)
      PIT         where each observation fell in the ensemble; uniform if calibrated
                  (low: less than projected, i.e. a slower advance or less area held)
      Brier       of "objective fallen by the date" (0 is perfect)

    The baseline is naive: the rate at the start (from the last two observations on or
    before it, else the scenario's mean base rate) extrapolated linearly with the scenario's
    day-to-day noise. A positive CRPS skill means the model beats it.

    \b
    Examples:
      advsim backtest scenarios/kurakhove.yaml \\
          --observed scenarios/observed/synthetic-kurakhove.csv
      advsim backtest scenarios/kursk.yaml \\
          --observed scenarios/observed/kursk-donetsk-nov2024.csv \\
          --set start=2024-08-22 --set sectors.kursk.area_km2=1376 --plot kursk.png
    """
    import json

    from ..backtest import backtest, format_backtest, plot_backtest

    bt = backtest(scenario, observed, overrides=overrides, replications=replications,
                  seed=seed, jobs=jobs, sectors=sectors, until=until)
    if plot_path:
        plot_backtest(bt, plot_path)
    if as_json:
        click.echo(json.dumps(bt.summary()))
    else:
        click.echo(format_backtest(bt))
        if plot_path:
            click.echo(f"\nPlot: {plot_path}")
