"""The ``advsim`` command line: a Click group whose subcommands are imported only when used."""

from __future__ import annotations

import importlib
import signal
import sys
import threading

import click

from .. import __version__
from ..errors import AdvsimError, Interrupted

COMMANDS = {
    "run": ("sim.cli.run", "Run a scenario and print the distribution of outcomes."),
    "validate": ("sim.cli.validate", "Check scenario files without running them."),
    "sweep": ("sim.cli.sweep", "Run a scenario over ranges of its values; rank their influence."),
    "compare": ("sim.cli.compare", "Compare runs: differences with intervals, per sector."),
    "plot": ("sim.cli.plot", "Fan, CDF, histogram, milestone, forces and tornado charts."),
    "report": ("sim.cli.report", "A report to share: runs, sweeps, backtests as HTML or "
               "Markdown."),
    "calibrate": ("sim.cli.calibrate", "Fit the advance rate and its variability to an "
                  "observed series."),
    "backtest": ("sim.cli.backtest", "Score a scenario's projection against what was "
                 "observed."),
    "trace": ("sim.cli.trace", "Measure map snapshots: distance from places to the front, "
              "areas held."),
    "outlook": ("sim.cli.outlook", "Every place near the front on a date, and when each may "
                "fall; scored on past dates."),
    "reference": ("sim.cli.reference", "Reference classes of traced approaches: build, show, "
                  "fit the advance, evaluate."),
    "data": ("sim.cli.data", "The public map archives in your cache: fetch, list, path."),
}


_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # Click >= 8.2


class LazyGroup(click.Group):
    """Imports a subcommand's module only when it is invoked, so ``--help`` stays fast, and
    turns advsim's own errors into one line on stderr and exit status 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        return importlib.import_module(COMMANDS[name][0]).command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, help_) in COMMANDS.items()])

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """As Click's, but a misused option or argument is one line on stderr (exit 2), like
        every other bad input, instead of the usage text."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except _NO_ARGS_IS_HELP as e:  # plain `advsim`: the help, as --help would show it
            click.echo(e.format_message())
            sys.exit(0)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx else "advsim"
            click.echo(f"{where}: {e.format_message()} (see {where} --help)", err=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            e.show()
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("advsim: interrupted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context):
        previous = _trap_termination()
        outputs = sys.modules.get("sim.artifacts.outputs")
        if outputs is not None:  # a command run before in this process (tests, notebooks)
            outputs.reset()
        try:
            return super().invoke(ctx)
        except AdvsimError as e:
            if ctx.obj and ctx.obj.get("verbose"):
                raise
            click.echo(one_line(self.in_flags(ctx, e)), err=True)
            ctx.exit(2)
        except (KeyboardInterrupt, Interrupted) as e:
            signum = e.signum if isinstance(e, Interrupted) else signal.SIGINT
            click.echo(one_line(interrupted_message()), err=True)
            ctx.exit(128 + signum)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


    def in_flags(self, ctx: click.Context, e: AdvsimError) -> str:
        """The error's message, with the parameters it names spelled as the command's flags:
        ``front_km`` as ``--front-km``, ``kind='area'`` as ``--geometry area``."""
        import re

        message = str(e)
        name = ctx.invoked_subcommand
        command = self.get_command(ctx, name) if name else None
        if not e.params or command is None:
            return message
        params = list(command.params)
        if isinstance(command, click.Group):  # advsim data fetch: its subcommands' flags
            params += [p for sub in command.commands.values() for p in sub.params]
        flags = {p.name: max(p.opts, key=len) for p in params
                 if isinstance(p, click.Option) and not p.hidden}
        for param in e.params:
            if param in flags:
                flag = flags[param]
                message = re.sub(rf"\b{param}='([^']*)'", rf"{flag} \1", message)
                message = re.sub(rf"(?<![-\w]){param}\b", flag, message, count=1)
        return message


def interrupted_message() -> str:
    """What an interrupted command leaves: unfinished output is always removed; outputs it
    finished before the interruption (a trace's CSV before its chart) stay, and are named."""
    outputs = sys.modules.get("sim.artifacts.outputs")
    kept = outputs.finished() if outputs is not None else []
    if not kept:
        return "advsim: interrupted; unfinished output was removed"
    return (f"advsim: interrupted; unfinished output was removed; finished before the "
            f"interruption and kept: {', '.join(kept)}")


def one_line(message: str) -> str:
    """A message as one line of printable text: a line break, ESC or a right-to-left override
    in a name is shown escaped, never sent to the terminal."""
    if message.isprintable():
        return message
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


def _trap_termination() -> dict:
    """Turn SIGTERM and SIGHUP into Interrupted, so that unfinished output is cleaned up as on
    Ctrl-C. Returns the handlers it replaced."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def interrupt(signum, frame):
        raise Interrupted(signum)

    return {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}


@click.group(name="advsim", cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="advsim")
@click.option("-v", "--verbose", is_flag=True, help="Show the full traceback on errors.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Monte Carlo projections of how fast a front line advances.

    A scenario (YAML) describes sectors, the forces in each, the daily advance as a
    distribution and the events that change it. advsim runs thousands of replications
    and reports when each objective falls (percentiles, as days and dates), how far the
    line moves by given days, and the probability of reaching the objective at all.

    \b
    Examples:
      advsim run scenarios/kurakhove.yaml
      advsim run scenarios/kursk.yaml -n 100000 -j 2 --json
      advsim run scenarios/kurakhove-reported.yaml \\
          --set sectors.kurakhove.strikes.0.rate_per_day=0
      advsim validate scenarios/*.yaml
      advsim compare results/no-strikes results/strikes
      advsim plot results/no-strikes results/strikes --kind cdf -o cdf.png
      advsim run scenarios/kurakhove.yaml --executor dask -n 100000
      advsim calibrate scenarios/observed/synthetic-kurakhove.csv --sector kurakhove
      advsim backtest scenarios/kurakhove-reported.yaml \\
          --observed scenarios/observed/synthetic-kurakhove.csv
      advsim sweep scenarios/sweeps/kurakhove-forces.yaml -j 2
      advsim trace ../shared/data/frontlines/occupied --to Pokrovsk -o approach.csv
      advsim data fetch --from 2024-07-08 --until 2024-11-20 --every 7d
      advsim outlook ../shared/data/frontlines/deepstate --date 2024-11-20
    """
    ctx.ensure_object(dict)["verbose"] = verbose


def main() -> None:
    cli.main(prog_name="advsim")


if __name__ == "__main__":
    main()
