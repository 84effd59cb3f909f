"""``advsim report``: runs, sweeps, saved backtests and outlooks as one HTML or Markdown report."""

from __future__ import annotations

import click

from .options import output_option, verbose_option


@click.command("report")
@click.argument("items", nargs=-1, metavar="RUN_OR_SWEEP_OR_BACKTEST...")
@output_option
@click.option("--title", default=None, help="The report's title (default: what it holds).")
@click.option("--no-charts", is_flag=True, help="Markdown: leave the charts out (with a note).")
@verbose_option
def command(items, output, title, no_charts) -> None:
    """Write a report of RUN_OR_SWEEP_OR_BACKTEST... into FILE, to share.

    \b
    Each item is a results folder of advsim run (or a sweep point SWEEP_DIR:POINT_ID), a
    sweep folder, a backtest folder written by `advsim backtest ... --out DIR`, or an outlook
    folder written by `advsim outlook ... --out DIR`. A folder is
    read by the kind its manifest.json names, after every file is checked against its checksum
    there; a folder advsim did not write, or altered since, is refused. A run's assumptions and
    sources are read from the scenario file as it was run, which its folder keeps
    (scenario.source.yaml), not from the file as it is now.
    -o report.html (or -o -, on standard output) writes one self-contained page (charts as
    inline SVG, no scripts, nothing fetched; it prints on A4 or Letter); -o report.md writes
    Markdown for pasting, with its charts as SVG files in report_charts/ beside it.
    The report opens with a headline table: per objective of every run, P(reached by the
    horizon) and the P10, P50 and P90 dates, each also in words; two or more runs are then
    compared, each against the first, as advsim compare reads them. A run's section holds the
    percentiles and dates of the objective, progress and forces at checkpoint days,
    milestones, fan, CDF, histogram, milestone and forces charts, the scenario as run with the
    assumptions it marks (`# assumption:` comments) and the sources it cites (the file itself
    collapsed), and provenance (version, seed, scenario hash, versions). A sweep's: its
    points, sensitivity table, tornado and (for a grid) swing charts. A backtest's: the
    scores of the model and every baseline, the projection at each observed date, and a chart
    of the observations over the model's bands. An outlook's: its places by risk, where each
    stands and when it may fall, and its map.

    \b
    Examples:
      advsim report results/strikes -o report.html
      advsim report results/no-strikes results/strikes -o report.md
      advsim backtest scenarios/kurakhove.yaml --observed OBS.csv --out results/bt
      advsim report results/no-strikes results/strikes results/bt -o report.html
    """
    from ..errors import AdvsimError
    from ..presentation.html_report import write_report

    if not output:
        raise AdvsimError("report: -o FILE is required (a .html or .md to write)")
    from ..artifacts.outputs import is_stdout

    for path in write_report(list(items), output, title=title, charts=not no_charts):
        click.echo(str(path), err=is_stdout(output))  # standard output holds the page
