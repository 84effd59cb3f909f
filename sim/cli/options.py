"""Every option that more than one advsim command takes, defined once: a flag means the same
thing in every command that has it. ``--out DIR`` is always a folder and ``-o/--output FILE``
always a file; ``--chart FILE`` draws a command's chart into a file.

Used by: run (replications, seed, set, jobs, executor, scheduler, out, json, quiet, force),
sweep (the same, and metric), backtest (replications, seed, set, jobs, executor, scheduler,
sector, until, chart, json, out, force), reference fit and reference evaluate (replications,
seed, jobs, executor, scheduler, output; evaluate also json: their default replications are
stated in their help), validate (set), compare (runs, label, sector, json),
plot (runs, output, label, sector, metric), calibrate (sector, until, json), trace (output,
chart, json), report (output), data fetch (json, quiet), data list (json); every command takes
-v/--verbose.
"""

from __future__ import annotations

import click

scenario_arg = click.argument("scenario")  # the loader says what is wrong with it, in one line

runs_arg = click.argument("runs", nargs=-1, metavar="RUN...")  # checked by the command

replications_option = click.option(
    "-n", "--replications", type=click.IntRange(min=1), default=None,
    help="Replications (default: the scenario's, the sweep spec's per point, or the "
         "command's own, stated in its help).",
)

seed_option = click.option(
    "--seed", type=click.IntRange(min=0), default=None,
    help="Seed of the run (default: the scenario's, else 1). The same seed gives the same "
         "numbers on any number of workers.",
)

set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
    help="Override a scenario value, checked like the file (repeatable), "
         "e.g. --set sectors.kurakhove.length_km=40.",
)

def _cap_jobs(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """More workers than CPUs only costs memory: say so once, and use one per CPU."""
    from ..running.executors import default_jobs

    cpus = default_jobs()
    if value and value > cpus:
        click.echo(f"{ctx.command_path}: -j {value} is more than the {cpus} CPU(s) here; "
                   f"using -j {cpus}", err=True)
        return cpus
    return value


jobs_option = click.option(
    "-j", "--jobs", type=click.IntRange(min=0), default=0, show_default="0: one per core",
    callback=_cap_jobs,
    help="Worker processes (or Dask workers), at most one per CPU. Results do not depend on "
         "it.",
)

force_option = click.option(
    "--force", is_flag=True,
    help="Run even where the memory the run needs (replications × days × sectors) is more "
         "than this machine has available.",
)


NOTE_BYTES = 3 * 2**30  # work that needs more memory than this is noted on stderr


def check_memory(ctx: click.Context, *, replications: int, days: int, sectors: int,
                 jobs: int, force: bool, quiet: bool, what: str = "this run") -> None:
    """Refuse, before anything is computed, work that needs more memory than is available
    (unless ``force``); note on stderr work that needs over 3 GB (unless ``quiet``)."""
    from ..running.executors import check_memory as refuse_beyond_memory

    need, have = refuse_beyond_memory(replications=replications, days=days, sectors=sectors,
                                      jobs=jobs, force=force)
    shape = (f"{replications:,} replications × {days:,} days × {sectors} sector"
             f"{'s' if sectors != 1 else ''}")
    if need > NOTE_BYTES and not quiet:
        click.echo(f"{ctx.command_path}: {what} needs about {_gb(need)} of memory ({shape}"
                   + (f"; {_gb(have)} available" if have is not None else "") + ")", err=True)


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 / 10 else f"{n / 2**20:.0f} MB"

executor_option = click.option(
    "--executor", type=click.Choice(["local", "dask"]), default=None,
    help="Where the work runs: local processes, or Dask (default: local; dask with "
         "--scheduler).",
)

scheduler_option = click.option(
    "--scheduler", metavar="ADDRESS", default=None,
    help="A running Dask scheduler, e.g. tcp://scheduler-host:8786. With --executor dask and "
         "no scheduler, a LocalCluster of -j workers is started.",
)

out_dir_option = click.option(
    "--out", type=click.Path(file_okay=False), default=None, metavar="DIR",
    help="Write the output folder here (run, sweep: default a new folder under results/; "
         "backtest: only when given).",
)

output_option = click.option(
    "-o", "--output", type=click.Path(dir_okay=False), default=None, metavar="FILE",
    help="The file to write.",
)

chart_option = click.option(
    "--chart", type=click.Path(dir_okay=False), default=None, metavar="FILE",
    help="Also draw the command's chart into FILE (.png, .svg or .pdf; needs matplotlib: "
         "pip install 'advsim[plot]').",
)

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of tables."
)

quiet_option = click.option(
    "-q", "--quiet", is_flag=True, help="Print nothing but errors (and --json)."
)

label_option = click.option(
    "--label", "labels", multiple=True, metavar="TEXT",
    help="Name of each run, in order (repeatable; default A, B, C...).",
)

sector_option = click.option(
    "--sector", "sectors", multiple=True, metavar="NAME",
    help="Only this sector (repeatable; default every sector there is).",
)

metric_option = click.option(
    "--metric", "metrics", multiple=True, metavar="NAME",
    help="A metric of a sweep, e.g. prob_reached, day_p50, kursk.held_km2_d180_p50 "
         "(repeatable).",
)


class _Date(click.ParamType):
    """A calendar date as YYYY-MM-DD."""

    name = "date"

    def convert(self, value, param, ctx):
        import datetime as dt

        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"expected a date as YYYY-MM-DD, got {value!r}", param, ctx)


observed_date = _Date()

until_option = click.option(
    "--until", type=observed_date, default=None, metavar="YYYY-MM-DD",
    help="Use observations up to this date only.",
)


def _verbose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().ensure_object(dict)["verbose"] = True


verbose_option = click.option(
    "-v", "--verbose", is_flag=True, expose_value=False, callback=_verbose,
    help="Show the full traceback on errors.",
)
