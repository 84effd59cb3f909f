"""``advsim compare``: two or more projections side by side, with the uncertainty of the
differences."""

from __future__ import annotations

import click

from .options import json_option, label_option, runs_arg, sector_option, verbose_option


@click.command("compare")
@runs_arg
@label_option
@sector_option
@click.option("--bootstrap", "resamples", type=click.IntRange(min=100), default=2000,
              show_default=True, help="Bootstrap resamples for the 95% intervals.")
@click.option("--bootstrap-seed", type=click.IntRange(min=0), default=1, show_default=True,
              help="Seed of the bootstrap: the same seed prints the same intervals.")
@click.option("--match", type=click.Choice(["sector", "objective"]), default="sector",
              show_default=True,
              help="Pair sectors by their name, or by their objective's name (scenarios that "
                   "lay out the same objective differently).")
@json_option
@verbose_option
def command(runs, labels, sectors, resamples, bootstrap_seed, match, as_json) -> None:
    """Compare the results folders RUN... (of advsim run), each against the first.

    Per sector: the percentiles of the day the objective falls and of progress at checkpoint
    days, side by side; the difference of medians and of the probability of reaching the
    objective, each with a 95% bootstrap interval; the two-sample Kolmogorov–Smirnov
    statistic; and a one-line reading. Differences are later runs minus the first.

    Replications that do not reach the objective within the horizon stay censored: a median
    beyond the horizon gives no difference (null), never a difference of horizons; runs with
    different horizons are compared up to the shorter. Runs with the same seed and number of
    replications start, replication by replication, from the same random streams (common
    random numbers), and are compared as pairs, which gives sharper intervals.

    RUN is a results folder, or a point of a sweep as SWEEP_DIR:POINT_ID.

    \b
    Examples:
      advsim run scenarios/kurakhove-reported.yaml --out results/no-strikes \\
          --set sectors.kurakhove.strikes.0.rate_per_day=0
      advsim run scenarios/kurakhove-reported.yaml --out results/strikes
      advsim compare results/no-strikes results/strikes
      advsim compare results/no-strikes results/strikes --label "no strikes" --label strikes
      advsim compare results/no-strikes results/strikes --json | jq .sectors.kurakhove
    """
    import json

    from ..analysis.comparison import compare_runs
    from ..errors import AdvsimError
    from ..presentation.progress import (
        READ_SECONDS,
        RESAMPLE_SECONDS,
        Progress,
        folder_rows,
        wanted,
    )
    from ..presentation.text import format_compare
    from ..running.outcomes import Result

    if len(runs) < 2:
        raise AdvsimError("compare: name at least two results folders (RUN RUN...)")
    sizes = [folder_rows(r) for r in runs]  # a guess from the files, for the ETA
    phases = {"reading": sum(sizes) * READ_SECONDS,
              "bootstrapping": (len(runs) - 1) * resamples * max(sizes) * RESAMPLE_SECONDS}
    with Progress("advsim compare", phases, enabled=wanted()) as bar:
        read = []
        for i, run in enumerate(runs):
            bar.update("reading", i, len(runs))
            read.append(Result.from_folder(run))
        result = compare_runs(read, labels=labels, sectors=sectors, resamples=resamples,
                              seed=bootstrap_seed, on_progress=bar.callback("bootstrapping"),
                              match=match)
    click.echo(json.dumps(result) if as_json else format_compare(result))
