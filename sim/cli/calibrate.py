"""``advsim calibrate``: fit the campaign rate and daily variability to an observed series."""

from __future__ import annotations

import click

from .options import (
    json_option,
    observed_date,
    sector_option,
    until_option,
    verbose_option,
)


@click.command("calibrate")
@click.argument("observed")
@sector_option
@click.option("--geometry", "kind", type=click.Choice(["axis", "area"]), default=None,
              help="axis: values are km advanced (or remaining); area: km² held. "
                   "[default: the file's frame column; else area with --front-km, else axis]")
@click.option("--front-km", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Area sectors: the front length, fixed, that turns km² taken into metres "
                   "of advance.")
@click.option("--cv", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Fix the daily coefficient of variation instead of fitting it (needed with "
                   "fewer than 3 increments); the rate's interval is then exact.")
@click.option("--setbacks", type=click.Choice(["error", "merge"]), default="error",
              show_default=True,
              help="A gap with no net advance (a counter-attack, an unchanged map): stop with "
                   "an error, or merge it with the next gap.")
@click.option("--since", type=observed_date, default=None, metavar="YYYY-MM-DD",
              help="Use observations from this date on.")
@until_option
@json_option
@verbose_option
def command(observed, sectors, kind, front_km, cv, setbacks, since, until,
            as_json) -> None:
    """Fit the rate and daily variability of a sector's advance to OBSERVED (CSV).

    OBSERVED has columns date,sector,value (value: km advanced along an axis, or km² held in
    an area sector; dates irregular; extra columns such as source are ignored). An optional
    frame column says what the values are: advanced_km (default), remaining_km (distance to
    the objective, as advsim trace writes it: the advance is its decrease) or held_km2.

    \b
    Model: the attacker's daily advances are independent gamma draws with mean RATE (m/day)
    and coefficient of variation CV, so over a gap of D days the advance is exactly
        Gamma(shape = D / CV², scale = RATE · CV²),
    whatever the gaps. This is the engine's advance with a fixed base_m_per_day and
    noise {dist: gamma, mean: 1, sd: CV}. An area sector's km² become metres through a fixed
    front: advance = km² taken / front km × 1000.

    Maximum likelihood gives RATE (total advance over total time) and CV; the 95% intervals
    are profile-likelihood intervals (exact for RATE when --cv fixes CV). The goodness-of-fit
    check is each increment's PIT under the fit: a Kolmogorov-Smirnov test against the
    uniform, and the lag-1 autocorrelation of their normal scores (runs of good and bad days
    break the model). Prints the fitted advance block to paste into a scenario.

    \b
    Examples:
      advsim calibrate scenarios/observed/synthetic-kurakhove.csv --sector kurakhove
      advsim calibrate scenarios/observed/kursk-donetsk-nov2024.csv --sector kursk \\
          --front-km 60 --cv 0.7
      advsim calibrate front.csv --sector north --setbacks merge --since 2024-09-01 --json
    """
    import json

    from ..data.observed import pick_sector, read_observed
    from ..errors import AdvsimError
    from ..fitting.calibrate import calibrate
    from ..presentation.progress import Progress, wanted
    from ..presentation.text_fits import format_calibration

    if len(sectors) > 1:
        raise AdvsimError("calibrate: one --sector at a time (a fit is of one sector)")
    sector = sectors[0] if sectors else None
    # A million rows read in about 6 s and fit in 1 (2-core machine): the line shows both.
    with Progress("advsim calibrate", {"reading": 6.0, "fitting": 1.0}, enabled=wanted()) as bar:
        everything = read_observed(observed, on_rows=bar.callback("reading"))
        series = pick_sector(everything, sector, observed).between(since, until)
        bar.update("fitting", 0, 1)
        cal = calibrate(series, kind=kind, front_km=front_km, cv=cv, setbacks=setbacks)
    if as_json:
        click.echo(json.dumps(cal.to_dict()))
    else:
        click.echo(format_calibration(cal))
