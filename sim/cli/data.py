"""``advsim data``: the public map archives in the user's cache: fetch, list, path."""

from __future__ import annotations

import click

from .options import json_option, observed_date, quiet_option, verbose_option


class _Every(click.ParamType):
    """A spacing in days: 7, 7d or 1w."""

    name = "days"

    def convert(self, value, param, ctx):
        import re

        if isinstance(value, int):
            return value
        m = re.fullmatch(r"\s*(\d+)\s*([dw]?)\s*", str(value).lower())
        if not m or int(m.group(1)) < 1:
            self.fail(f"expected a spacing such as 7d, 14d or 1w, got {value!r}", param, ctx)
        return int(m.group(1)) * (7 if m.group(2) == "w" else 1)


cache_option = click.option(
    "--cache", type=click.Path(file_okay=False), default=None, metavar="DIR",
    help="The cache folder [default: $ADVSIM_CACHE, else the user's cache folder for advsim, "
         "maps/ under it; advsim data path prints it].",
)


@click.group("data")
@verbose_option
def command() -> None:
    """The public map archives that advsim reads, kept in a cache of your own.

    \b
    Archives (third-party data, not shipped with advsim; see docs/data.md):
      single-layer  cyterat/deepstate-map-data (GPL-3.0): DeepStateMap's occupied
                    territory, deepstatemap_data_YYYYMMDD.geojson, one a day; the
                    file of day D shows the map of D-1
      multi-layer   DanielRose2310/deepstatemaps-history: every DeepStateMap layer,
                    geojsons/{unix_ts}.geojson, the map of the UTC date of unix_ts

    \b
    Examples:
      advsim data fetch --from 2024-07-08 --until 2024-11-20 --every 7d
      advsim data fetch --archive multi-layer --from 2024-10-01 --every 14d
      advsim data fetch --base-url ../shared/data/frontlines/occupied
      advsim data list
      advsim data path
    """


@command.command("fetch")
@click.option("--archive", "archive_name", type=click.Choice(["single-layer", "multi-layer"]),
              default="single-layer", show_default=True, help="Which archive to fetch.")
@click.option("--from", "since", type=observed_date, default=None, metavar="YYYY-MM-DD",
              help="First file date [default: the archive's first file].")
@click.option("--until", type=observed_date, default=None, metavar="YYYY-MM-DD",
              help="Last file date [default: today, UTC].")
@click.option("--every", "every_days", type=_Every(), default=None, metavar="7d",
              help="Thin: keep the last file on or before each date of a grid counting back "
                   "from --until by this many days [default: every file].")
@click.option("--base-url", default=None, metavar="URL|DIR",
              help="A mirror instead of GitHub: an http(s) URL, a file:// URL or a folder "
                   "with the archive's files (a multi-layer mirror also serves index.json, "
                   "GitHub's git-trees listing).")
@click.option("--ref", default="main", show_default=True, metavar="BRANCH|COMMIT",
              help="The branch or commit to fetch from GitHub; a commit is recorded in the "
                   "manifest.")
@click.option("--offline", is_flag=True,
              help="No network: only verify and report what the cache holds.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=30.0,
              show_default=True, metavar="SECONDS",
              help="Give up on a server that does not answer within this many seconds.")
@cache_option
@json_option
@quiet_option
@verbose_option
def fetch_command(archive_name, since, until, every_days, base_url, ref, offline, timeout,
                  cache, as_json, quiet) -> None:
    """Download an archive's map files into the cache, whole and checked.

    --from and --until are file dates, as in the files' names. Each file is written to a
    temporary file, checked (a GeoJSON FeatureCollection with polygons, as many bytes as
    announced, the listing's git blob sha1 where known), then renamed into place and
    entered in the folder's manifest.json with its sha256. Files already cached and
    verified are skipped, so an interrupted fetch resumes where it stopped; a date the
    server does not have is skipped and reported. Proxies: HTTPS_PROXY is honoured.

    \b
    Examples:
      advsim data fetch --from 2024-07-08 --until 2024-11-20 --every 7d
      advsim data fetch --archive multi-layer --from 2024-10-01 --every 14d
      advsim data fetch --base-url https://mirror.example.org/deepstate-map-data/
      advsim data fetch --base-url ../shared/data/frontlines/occupied
      advsim data fetch --offline
    """
    import json

    from ..data.fetch import fetch, refused_error
    from ..presentation.progress import Progress, wanted

    with Progress("advsim data fetch", {"fetching": 1.0},
                  enabled=wanted(quiet or as_json)) as progress:
        report = fetch(archive_name, since=since, until=until, every_days=every_days,
                       base_url=base_url, ref=ref, offline=offline, timeout=timeout,
                       cache=cache, on_progress=progress.callback("fetching"))
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=1))
    elif not quiet:
        click.echo(fetch_summary(report))
    error = refused_error(report)
    if error is not None:
        raise error


def fetch_summary(report) -> str:
    """What a fetch did, in a few lines."""
    from ..data.cache import ARCHIVES

    arch = ARCHIVES[report.archive]
    if report.offline:
        lines = [f"{report.archive}: {len(report.cached)} file(s) cached and verified "
                 "(--offline: nothing fetched)"]
    else:
        mb = report.bytes_fetched / 1e6
        lines = [f"{report.archive}: {len(report.fetched)} fetched ({mb:.1f} MB), "
                 f"{len(report.cached)} already cached, {len(report.missing)} missing on the "
                 f"server" + (f", {len(report.refused)} refused" if report.refused else "")]
        if report.replaced:
            lines.append(f"  fetched again (damaged in the cache): {', '.join(report.replaced)}")
        if report.missing:
            shown = ", ".join(report.missing[:5])
            more = len(report.missing) - 5
            lines.append(f"  missing: {shown}" + (f" and {more} more" if more > 0 else ""))
        for name, url, why in report.refused:
            lines.append(f"  refused: {name}: {why} ({url})")
        if report.leftovers:
            lines.append(f"  removed {report.leftovers} unfinished file(s) of an interrupted "
                         "fetch")
        lines.append(f"  from {report.source}")
    lines.append(f"  in {report.folder}")
    lines.append(f"  data: DeepStateMap (deepstatemap.live) via {arch.repo}; licence: "
                 f"{arch.licence}")
    return "\n".join(lines)


@command.command("list")
@cache_option
@json_option
@verbose_option
def list_command(cache, as_json) -> None:
    """What the cache holds, per archive: files, first and last map date, size, folder.

    Every file is checked against the sha256 in its archive's manifest.json first: a
    damaged or missing file is an error naming it (advsim data fetch replaces it).
    """
    import json

    from ..data.cache import cache_root, describe

    rows = describe(cache)
    if as_json:
        click.echo(json.dumps({"cache": str(cache_root(cache)), "archives": rows}, indent=1))
        return
    if not rows:
        click.echo(f"No map archives in {cache_root(cache)} (advsim data fetch fills it).")
        return
    width = max(len(r["archive"]) for r in rows)
    click.echo(f"{'archive':<{width}}  {'files':>5}  {'first map':<10}  {'last map':<10}  "
               f"{'MB':>7}  folder")
    for r in rows:
        click.echo(f"{r['archive']:<{width}}  {r['files']:>5}  {r['first_map_date'] or '—':<10}"
                   f"  {r['last_map_date'] or '—':<10}  {r['bytes'] / 1e6:>7.1f}  {r['folder']}")


@command.command("path")
@cache_option
@verbose_option
def path_command(cache) -> None:
    """Print the cache folder (it may not exist yet)."""
    from ..data.cache import cache_root

    click.echo(str(cache_root(cache)))
