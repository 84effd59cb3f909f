"""``advsim validate``: check scenario files without running them."""

from __future__ import annotations

import click

from .options import set_option, verbose_option


@click.command("validate")
@click.argument("files", nargs=-1, required=True)
@set_option
@verbose_option
@click.pass_context
def command(ctx: click.Context, files: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Check scenario FILES: syntax, keys, types, values and their consistency.

    Prints one line per file; a bad file prints FILE:LINE: key.path: what is wrong.
    Exits with status 2 if any file is bad.
    """
    from ..errors import ScenarioError
    from ..model.loader import load_scenario
    from . import one_line

    bad = 0
    for f in files:
        try:
            sc = load_scenario(f, overrides)
        except ScenarioError as e:
            click.echo(one_line(str(e)), err=True)
            bad += 1
            continue
        sectors = ", ".join(f"{s.name} ({s.kind})" for s in sc.sectors)  # kind: as written
        click.echo(one_line(f"{f}: ok: {sc.name}: {sectors}; horizon {sc.horizon_days} days"))
    if bad:
        ctx.exit(2)
