"""Options shared by several advsim commands."""

from __future__ import annotations

import click

scenario_arg = click.argument("scenario")  # the loader says what is wrong with it, in one line

set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
    help="Override a scenario value, checked like the file (repeatable), "
         "e.g. --set sectors.kurakhove.length_km=40.",
)

jobs_option = click.option(
    "-j", "--jobs", type=click.IntRange(min=0), default=0, show_default="0: one per core",
    help="Worker processes. Results do not depend on it.",
)

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object on stdout instead of tables."
)

runs_arg = click.argument("runs", nargs=-1, metavar="RUN...")  # checked by the command

label_option = click.option(
    "--label", "labels", multiple=True, metavar="TEXT",
    help="Name of each run, in order (repeatable; default A, B, C...).",
)

sector_option = click.option(
    "--sector", "sectors", multiple=True, metavar="NAME",
    help="Only this sector (repeatable; default every sector the runs share).",
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
