"""``advsim trace``: distances, areas and contact lines measured on dated map snapshots."""

from __future__ import annotations

import math

import click

from .options import chart_option, json_option, observed_date, output_option, verbose_option


class _BBox(click.ParamType):
    """W,S,E,N in degrees."""

    name = "bbox"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            w, s, e, n = (float(x) for x in str(value).split(","))
        except ValueError:
            self.fail(f"expected W,S,E,N in degrees, got {value!r}", param, ctx)
        if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
            self.fail(f"expected W < E in [-180, 180] and S < N in [-90, 90], got {value!r}",
                      param, ctx)
        return (w, s, e, n)


def _finite(ctx, param, value):
    """A number of km must be finite: nan and inf pass FloatRange's bounds."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"expected a finite number of km > 0, got {value!r}",
                                 ctx=ctx, param=param)
    return value


@click.command("trace")
@click.argument("inputs", nargs=-1, required=True, metavar="SNAPSHOT_OR_FOLDER...")
@click.option("--to", "places", multiple=True, metavar="PLACE",
              help="Measure from this place: a town of the shipped towns file, else a place "
                   "of Ukraine or Russia in GeoNames (names and old or other spellings, "
                   "case-insensitive; the most populous namesake, or its slug), or LAT,LON in "
                   "degrees (repeatable).")
@click.option("--towns", "towns_file", type=click.Path(dir_okay=False), default=None,
              metavar="FILE.csv", help="Towns CSV (name,lat,lon[,aliases,source,...]) to use "
                                       "instead of the shipped towns and GeoNames.")
@click.option("--radius-km", type=click.FloatRange(min=0, min_open=True), default=30.0,
              show_default=True, callback=_finite,
              help="Attacker-held km² and contact-line km are measured within this distance "
                   "of each place.")
@click.option("--area", "areas", multiple=True, metavar="LAYER",
              help="Also measure the km² of this layer of the layer map (e.g. kursk_held) or of "
                   "a role, per date (repeatable).")
@click.option("--clip", "clip_file", type=click.Path(dir_okay=False), default=None,
              metavar="FILE.geojson", help="Measure --area only inside this (Multi)Polygon.")
@click.option("--bbox", type=_BBox(), default=None, metavar="W,S,E,N",
              help="Measure --area only inside this lon/lat box.")
@click.option("--layers", "layers_file", type=click.Path(dir_okay=False), default=None,
              metavar="FILE.yaml", help="Layer map replacing the DeepStateMap default "
                                        "(another publisher's fills and roles).")
@click.option("--contested", type=click.Choice(["exclude", "attacker"]), default="exclude",
              show_default=True,
              help="Contested (grey) areas: not attacker-held (as in the single-layer "
                   "archive), or attacker-held.")
@click.option("--dates", "dates_file", type=click.Path(dir_okay=False), default=None,
              metavar="FILE.csv", help="A file,date CSV giving snapshots' dates.")
@click.option("--date-convention", type=click.Choice(["auto", "same-day", "previous-day"]),
              default="auto", show_default=True,
              help="How a snapshot's date becomes the date of the map it shows (see below).")
@output_option
@click.option("--out", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Also write the trace as a new folder DIR: the series (series.csv, as -o "
                   "writes it), the snapshots read, the JSON of --json and a manifest with "
                   "the sha256 of every input file; Trace.from_folder reads it back.")
@json_option
@click.option("--scenario", "as_scenario", is_flag=True,
              help="Print an axis-sector YAML block per place, its length_km the distance on "
                   "--start.")
@click.option("--start", type=observed_date, default=None, metavar="YYYY-MM-DD",
              help="The scenario's start date for --scenario [default: the last map date].")
@chart_option
@click.option("--chart-dates", default=None, metavar="DATE,...",
              help="Map dates to draw [default: up to 6 evenly spaced].")
@verbose_option
def command(inputs, places, towns_file, radius_km, areas, clip_file, bbox, layers_file,
            contested, dates_file, date_convention, output, out, as_json, as_scenario, start,
            chart, chart_dates) -> None:
    """Measure dated map snapshots (GeoJSON files, or folders of them) around places.

    -o FILE writes the observed series CSV that calibrate and backtest read; --out DIR
    writes the whole trace as a folder, with the sha256 of every snapshot read; --chart FILE
    draws the contact line near each place on a few dates.

    For each snapshot and each --to place: the signed distance in km from the place to
    the nearest attacker-held territory (negative once the place is inside it: minus the
    distance to its edge), the attacker-held km² within --radius-km of the place, and the km
    of contact line (the edge of attacker-held territory, without the snapshot's clip-box
    edges; borders and coasts within the radius are counted) within that radius. With
    --area, the km² of a layer per date.

    Distances are geodesic (a local azimuthal equidistant projection per place); areas are
    in equal-area projections (local Lambert azimuthal, or EPSG:3035 for --area).

    \b
    Formats: single-layer files (one (Multi)Polygon of attacker-held territory, e.g.
    deepstatemap_data_YYYYMMDD.geojson) and multi-layer DeepStateMap files (layers told
    apart by properties.fill; --layers maps another publisher's). Invalid polygons are
    repaired (shapely.make_valid) and counted.
    Dates: --dates, else a top-level date or snapshot_utc member, else YYYY-MM-DD or
    YYYYMMDD in the file name. --date-convention auto (the default): the single-layer
    archive's deepstatemap_data_YYYYMMDD file of day D shows the map of D-1 (it is
    downloaded at about 03:00 UTC), so its map date is D-1; any other snapshot shows its
    own date. Every output gives the map date (date) and the file's date (file_date).

    \b
    Examples:
      advsim trace ../shared/data/frontlines/occupied --to Pokrovsk --to Kurakhove
      advsim trace ../shared/data/frontlines/occupied --to Pokrovsk -o approach.csv
      advsim trace ../shared/data/frontlines/occupied --to Pokrovsk --out traces/pokrovsk
      advsim trace ../shared/data/frontlines/deepstate --area kursk_held --json
      advsim trace snaps/ --to 48.2833,37.1833 --radius-km 20 --chart pokrovsk.png
      advsim trace snaps/ --to Pokrovsk --scenario --start 2024-11-19
      advsim trace snaps/ --to Druzhkivka --to Краматорськ     # GeoNames names
    """
    import datetime as dt

    if not places and not areas:
        raise click.UsageError("nothing to measure: give --to PLACE and/or --area LAYER")
    if as_json and as_scenario:
        raise click.UsageError("--json and --scenario print different things: choose one")
    if chart is not None and not places:
        raise click.UsageError("--chart draws the contact line near --to places: give one")
    picked = None
    if chart_dates:
        try:
            picked = {dt.date.fromisoformat(x.strip()) for x in chart_dates.split(",")}
        except ValueError:
            raise click.BadParameter(f"expected dates as YYYY-MM-DD,..., got {chart_dates!r}",
                                     param_hint="'--chart-dates'") from None
    from ..artifacts import outputs

    if out is not None:  # before the snapshots are measured
        outputs.check_new_folder(out, flag="--out")
    if output is not None:
        outputs.check_output(output, flag="-o/--output")
    if chart is not None:
        from ..presentation.charts import check_output, require_matplotlib

        require_matplotlib()
        check_output(chart, flag="--chart")
    outputs.check_distinct(
        {"-o/--output": output, "--chart": chart, "--out": out},
        [*outputs.files_in(inputs, (".geojson", ".json")), towns_file, layers_file, dates_file,
         clip_file])
    if (as_json or as_scenario) and (outputs.is_stdout(output) or outputs.is_stdout(chart)):
        raise click.UsageError("--json and --scenario print on standard output: give -o and "
                               "--chart a file")

    from ..data import snapshots
    from ..data import trace as tr
    from ..data.observed import write_trace_csv
    from ..data.towns import load_towns, resolve_place
    from ..presentation.progress import Progress, wanted
    from ..presentation.text_fits import format_scenario, format_summary, format_trace

    def note(line: str) -> None:
        click.echo(f"note: {line}", err=True)

    towns = (load_towns(towns_file, on_note=note) if towns_file
             else None)  # None: shipped, then GeoNames
    resolved = [resolve_place(p, towns, towns_file=towns_file or "the shipped towns file")
                for p in places]
    layer_map = snapshots.load_layer_map(layers_file)
    dates = snapshots.read_dates_table(dates_file, on_note=note) if dates_file else None
    clip = snapshots.read_region(clip_file) if clip_file else None
    for name in areas:
        layer_map.layer(name)  # an unknown layer fails before any snapshot is read

    chart_pick = None
    if chart is not None:
        chart_pick = tr.evenly_spaced(6) if picked is None else _exact(picked)
    with Progress("advsim trace", {"measuring": 1.0}, enabled=wanted()) as bar:
        result = tr.trace(
            inputs, resolved, areas=areas, layer_map=layer_map, radius_km=radius_km,
            contested=contested, clip=clip, bbox=bbox, dates=dates,
            date_convention=date_convention, chart_dates=chart_pick, chart_km=radius_km,
            on_note=note, on_snapshot=bar.callback("measuring"),
        )
    fig = None
    if chart is not None:
        from ..presentation.charts.map import map_chart

        fig = map_chart(result)
    if output is not None:
        write_trace_csv(output, result)
    if out is not None:
        given = [f for f in (towns_file, layers_file, dates_file, clip_file) if f]
        result.write(out, inputs=given)
        outputs.record(out)
    if fig is not None:
        from ..presentation.charts import save

        save(fig, chart, flag="--chart")
    if as_json:
        import json

        try:  # valid JSON or none: NaN and Infinity are not JSON
            text = json.dumps(result.to_dict(), allow_nan=False)
        except ValueError:
            from ..errors import AdvsimError

            raise AdvsimError("the trace holds a number that is not finite, which JSON cannot "
                              "hold (a bad snapshot?); nothing was printed") from None
        click.echo(text)
    elif as_scenario:
        click.echo(format_scenario(result, start))
    elif output is not None or chart is not None or out is not None:
        err = outputs.is_stdout(output) or outputs.is_stdout(chart)  # stdout holds the file
        click.echo(format_summary(result, output=output, chart=chart), err=err)
        if out is not None:
            click.echo(f"Wrote {out} (a trace folder: series.csv, snapshots.csv, trace.json, "
                       "manifest.json)", err=err)
    else:
        click.echo(format_trace(result))


def _exact(picked):
    def pick(days):
        missing = sorted(picked - set(days))
        if missing:
            from ..data.snapshots import SnapshotError

            raise SnapshotError(f"no snapshot with map date {', '.join(map(str, missing))} "
                                f"(the map dates run {days[0]} to {days[-1]})",
                                file="--chart-dates")
        return set(picked)
    return pick
