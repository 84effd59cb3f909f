"""``advsim backtest``: score a scenario's projection against what was then observed."""

from __future__ import annotations

import click

from .options import (
    chart_option,
    executor_option,
    jobs_option,
    json_option,
    renamed,
    replications_option,
    scenario_arg,
    scheduler_option,
    sector_option,
    seed_option,
    set_option,
    until_option,
    verbose_option,
)


@click.command("backtest")
@scenario_arg
@click.option("--observed", required=True, metavar="OBSERVED.csv",
              help="Observed series: date,sector,value (km advanced, or km² held).")
@sector_option
@until_option
@replications_option
@seed_option
@set_option
@jobs_option
@executor_option
@scheduler_option
@chart_option
@renamed("--plot", "--chart FILE (--plot draws into a results folder)", "old_plot")
@json_option
@verbose_option
def command(scenario, observed, sectors, until, replications, seed, overrides, jobs, executor,
            scheduler, chart, old_plot, as_json) -> None:
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
          --set start=2024-08-22 --set sectors.kursk.area_km2=1376 --chart kursk.png
    """
    import contextlib
    import json

    from ..backtesting import backtest
    from ..progress import Progress, wanted
    from ..report import format_backtest

    chart = chart or old_plot
    if chart:
        from ..charts import check_output, require_matplotlib

        check_output(chart)
        require_matplotlib()  # before the run, not after it
    where = executor or ("dask" if scheduler else "local")
    with contextlib.ExitStack() as stack:
        bar = stack.enter_context(Progress("advsim backtest", {"simulating": 1}, enabled=wanted()))
        if bar.enabled and not (where == "local" and scheduler):  # count the chunks as they end
            from ..executors import default_jobs, open_executor
            from ..progress import CountingExecutor

            opened = stack.enter_context(open_executor(where, jobs or default_jobs(), scheduler))
            where = CountingExecutor(opened, bar.callback("simulating"))
        bt = backtest(scenario, observed, overrides=overrides, replications=replications,
                      seed=seed, jobs=jobs, executor=where, scheduler=scheduler,
                      sectors=sectors, until=until)
    if chart:
        from ..charts import save
        from ..charts.backtest import backtest_chart

        save(backtest_chart(bt), chart)
    if as_json:
        click.echo(json.dumps(bt.summary()))
    else:
        click.echo(format_backtest(bt))
        if chart:
            click.echo(f"\nChart: {chart}")
