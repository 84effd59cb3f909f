"""``advsim backtest``: score a scenario's projection against what was then observed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .options import (
    chart_option,
    executor_option,
    force_option,
    jobs_option,
    json_option,
    out_dir_option,
    replications_option,
    scenario_arg,
    scheduler_option,
    sector_option,
    seed_option,
    set_option,
    until_option,
    verbose_option,
)


class _Origins(click.ParamType):
    """EVERY_DAYS (a whole number) or a comma-separated list of dates."""

    name = "origins"

    def convert(self, value, param, ctx):
        import datetime as dt

        if isinstance(value, (int, tuple)):
            return value
        text = str(value).strip()
        if text.isdigit():
            if int(text) < 1:
                self.fail(f"expected EVERY_DAYS >= 1 or dates, got {value!r}", param, ctx)
            return int(text)
        expected = "expected EVERY_DAYS (e.g. 14) or dates YYYY-MM-DD,YYYY-MM-DD,...; got "
        try:
            dates = tuple(dt.date.fromisoformat(d.strip()) for d in text.split(",")
                          if d.strip())
        except ValueError:
            self.fail(f"{expected}{value!r}", param, ctx)
        if not dates:
            self.fail(f"{expected}{value!r} (no number and no date)", param, ctx)
        return dates


@click.command("backtest")
@scenario_arg
@click.option("--observed", default=None, metavar="OBSERVED.csv",
              help="Observed series: date,sector,value (km advanced, km remaining or km² "
                   "held; an optional frame column says which).")
@click.option("--origins", type=_Origins(), default=None, metavar="EVERY_DAYS|DATE,...",
              help="Project from many origins: every EVERY_DAYS days from the first "
                   "observation date, or on the dates given; each knows only what was "
                   "observed on or before it.")
@click.option("--self-test", "self_test", type=click.IntRange(min=1), default=None,
              metavar="N", help="Instead of --observed: draw N series from SCENARIO as "
              "written (without --set), observed every 7 days, and backtest SCENARIO (with "
              "--set) from many origins against them, pooled.")
@click.option("--baseline-days", type=click.IntRange(min=1), default=90, show_default=True,
              help="The trailing-rate baseline's window: observations this many days before "
                   "the origin.")
@click.option("--quantiles", "quantiles_file", type=click.Path(dir_okay=False), default=None,
              metavar="FILE", help="Write the projections as the forecast hubs' long quantile "
              "table (reference_date, target, horizon, location, output_type, output_type_id, "
              "value; 23 levels): .csv, or .parquet with pyarrow.")
@sector_option
@until_option
@replications_option
@seed_option
@set_option
@jobs_option
@force_option
@executor_option
@scheduler_option
@out_dir_option
@chart_option
@json_option
@verbose_option
def command(scenario, observed, origins, self_test, baseline_days, quantiles_file, sectors,
            until, replications, seed, overrides, jobs, force, executor, scheduler, out, chart,
            as_json) -> None:
    """Run SCENARIO and score it against what OBSERVED shows happened: from its start, or from
    many origins (--origins).

    From its start, every observation date after it becomes a checkpoint; the run ends at the
    last one, unless --set horizon_days=N is given: then it is honoured, and later dates are
    reported as unscored. From many origins, the scenario restarts at each origin from the
    position observed there (its dated events shifted, those already over dropped) and runs
    its horizon. Per sector and pooled, against the observed value in the scenario's frame
    (km advanced since the start, or km² held):

    \b
      CRPS        fair ensemble CRPS, in km or km²; lower is better
      WIS         weighted interval score of the 23 forecast-hub quantiles (as scoringutils)
      coverage    share of dates inside the central 50% and 90% bands (ideal: 0.5, 0.9)
      PIT         randomised PIT of each observation; uniform if calibrated
                  (low: less than projected, i.e. a slower advance or less area held)
      Brier       of "objective fallen by the date" (0 is perfect)

    Two baselines are scored the same way: persistence (no further change, a point
    forecast) and the trailing rate (the observed rate over --baseline-days before the
    origin, extrapolated with gamma daily noise of the scenario's cv). A positive CRPS skill
    means the model beats the baseline.

    --out DIR writes the backtest's folder: its scores (the --json), its projections as the
    long quantile table and a manifest with the inputs' hashes; `advsim report DIR` reads it.

    \b
    Examples:
      advsim backtest scenarios/kurakhove-reported.yaml \\
          --observed scenarios/observed/synthetic-kurakhove.csv
      advsim backtest scenarios/kurakhove-reported.yaml \\
          --observed scenarios/observed/synthetic-kurakhove.csv --origins 14 \\
          --quantiles quantiles.csv
      advsim backtest scenarios/kurakhove.yaml --self-test 20 --origins 28 -n 500
      advsim backtest scenarios/kursk.yaml \\
          --observed scenarios/observed/kursk-donetsk-nov2024.csv \\
          --set start=2024-08-22 --set sectors.kursk.area_km2=1376 --chart kursk.png
    """
    import contextlib
    import json

    from ..artifacts import outputs
    from ..errors import AdvsimError
    from ..presentation.progress import Progress, wanted

    if (observed is None) == (self_test is None):
        raise AdvsimError("give --observed FILE or --self-test N (one of them)")
    if chart:
        if origins is not None or self_test is not None:
            raise AdvsimError("--chart draws a backtest from one origin (without --origins "
                              "and --self-test)")
        from ..presentation.charts import check_output, require_matplotlib

        check_output(chart, flag="--chart")
        require_matplotlib()  # before the run, not after it
    if quantiles_file:
        from ..forecast.quantiles import check_path

        check_path(quantiles_file)  # before the run, not after it
        if self_test is not None:
            raise AdvsimError("--quantiles writes the projections of --observed backtests")
    outputs.check_distinct({"--quantiles": quantiles_file, "--chart": chart, "--out": out},
                           [scenario, observed])
    to_stdout = outputs.is_stdout(chart) or outputs.is_stdout(quantiles_file)
    if to_stdout and as_json:
        raise click.UsageError("--json prints on standard output: give --chart and "
                               "--quantiles a file")
    where = executor or ("dask" if scheduler else "local")
    stack = contextlib.ExitStack()
    bar = stack.enter_context(Progress("advsim backtest", {"simulating": 1}, enabled=wanted()))
    if bar.enabled and not (where == "local" and scheduler):  # count the chunks as they end
        from ..presentation.progress import CountingExecutor
        from ..running.executors import default_jobs, open_executor

        opened = stack.enter_context(open_executor(where, jobs or default_jobs(), scheduler))
        where = CountingExecutor(opened, bar.callback("simulating"))
    run = {"overrides": overrides, "replications": replications, "seed": seed, "jobs": jobs,
           "executor": where, "scheduler": scheduler, "baseline_days": baseline_days}
    every = origins if isinstance(origins, int) else None
    dates = origins if isinstance(origins, tuple) else ()
    if out is not None:
        outputs.check_new_folder(out, flag="--out")
    from ..presentation import text_forecasts as text

    bt: Any  # one origin, many origins, or a self-test: each prints, and writes itself
    format_text: Callable[[Any], str]
    with stack:
        if self_test is not None:
            from ..forecast.self_test import self_test as run_self_test

            bt, format_text = run_self_test(scenario, self_test, every_days=every, dates=dates,
                                            **run), text.format_self_test
        elif origins is not None:
            from ..forecast.many_origins import backtest_origins

            bt, format_text = backtest_origins(scenario, observed, every_days=every,
                                               dates=dates, sectors=sectors, until=until,
                                               force=force, **run), text.format_origins
        else:
            from ..forecast.backtest import backtest

            bt, format_text = backtest(scenario, observed, sectors=sectors, until=until,
                                       **run), text.format_backtest
    if chart:
        from ..presentation.charts import save
        from ..presentation.charts.backtest import backtest_chart

        save(backtest_chart(bt), chart, flag="--chart")
    if quantiles_file:
        bt.quantiles().write(quantiles_file)
    if out is not None:
        from ..forecast.saved import write

        write(out, bt, inputs={"scenario": scenario, "observed": observed})
        outputs.record(out)
    if as_json:
        click.echo(json.dumps(bt.summary()))
        return
    click.echo(format_text(bt), err=to_stdout)  # standard output holds the file
    for label, path in (("Chart", chart), ("Quantiles", quantiles_file), ("Backtest", out)):
        if path:
            click.echo(f"\n{label}: {path}", err=to_stdout)
