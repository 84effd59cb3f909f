"""The outlook and its forward evaluation as text: one table of places by risk, and the
scores of outlooks made on past dates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import numbers as N
from .text import spark, table
from .text_forecasts import _brier, forecaster_words, pvalue_cell

if TYPE_CHECKING:
    from ..forecast.outlook import Outlook


def _when(o: Outlook, day: float) -> str:
    """The date of a fall day, censored past the horizon (an infinite day)."""
    return N.date(o.map_date, None if day == float("inf") else day)


def format_outlook(o: Outlook, limit: int | None = None) -> str:
    """``advsim outlook``: the places by risk."""
    f = o.fit
    labels = _labels([p.standing.place for p in o.places])
    head = [
        f"Outlook of {o.map_date} (the last map on or before {o.asked}): "
        f"{len(o.places)} places within {o.radius_km:g} km of the held territory and outside "
        "it, by risk.",
        f"  The class: {len(o.cls.approaches)} approaches (places the front came within "
        f"{o.cls.within_km:g} km of, {sum(a.fell for a in o.cls.approaches)} fell) in "
        f"{len(o.files)} maps up to {o.cls.until}; nothing later is read.",
        f"  Advance fitted to it: base {f.base_mean_m_per_day:.0f} m/day "
        f"(cv {f.base_cv:.2f} across places), regimes "
        + ", ".join(f"{r.name} ×{r.factor:.2g} for ~{r.sojourn_mean_days:.0f} d"
                    for r in f.regimes) + ".",
        f"  {o.replications:,} replications a place over {o.horizon_days} days; "
        "P(fallen within N days); dates of the 10th, 50th and 90th percentile of the fall.",
        "",
    ]
    cols = [d for d in (30, 90, 180, 365) if d <= o.horizon_days]
    read = any(p.readings for p in o.places)
    rng = min(180, o.horizon_days)
    rows = []
    shown = o.places if limit is None else o.places[:limit]
    for p in shown:
        s = p.standing
        rows.append([labels[s.place.slug], N.km(s.distance_km),
                     *([_grey_km(s.distance_contested_km)] if read else []),
                     f"{s.regime} ({s.regime_days} d)",
                     f"{s.surrounded:.0%}",
                     *(N.probability(p.p_within(d)) for d in cols),
                     *([_range(p, rng)] if read else []),
                     *(_when(o, p.quantile_days(q)) for q in (0.1, 0.5, 0.9))])
    body = table(["place", "km", *(["grey km"] if read else []), "regime (days in it)",
                  "surrounded", *(f"{d} d" for d in cols),
                  *([f"{rng} d range"] if read else []), "P10", "P50", "P90"], rows)
    tail = []
    if limit is not None and len(o.places) > limit:
        tail = [f"    ... and {len(o.places) - limit} more (all of them: --out DIR or --json)"]
    notes = ["",
             "  km: to the held territory on the map. Regime: of the front's last step towards "
             "the place (stalled < 20 m/day, grinding, surging ≥ 100, setback); a projection "
             + ("starts part-way through it, its days in it already spent (time-in-regime)."
                if "time-in-regime" in o.extensions else "starts a fresh spell in it."),
             "  surrounded: the share of bearings with held ground within "
             f"{o.radius_km:g} km. {N.CENSORED}: not fallen within the {o.horizon_days} days."]
    if read:
        from ..forecast.outlook import SHIFT_KM

        notes.append(
            "  Fallen: the place's point inside the held territory, the grey (contested) zone "
            f"not counted. grey km: the distance with it counted. {rng} d range: P(fallen "
            f"within {rng} days) with the point {SHIFT_KM:g} km nearer or farther or the grey "
            "zone counted, lowest to highest, read on one more run of the same paths.")
    return "\n".join([*head, *body, *tail, *notes])


def _grey_km(d: float | None) -> str:
    """The distance with the grey zone counted: "in" where the place lies in it."""
    if d is None:
        return N.MISSING
    return "in" if d <= 0 else N.km(d)


def _range(p, days: int) -> str:
    """P(fallen within ``days``) under the other fall definitions, lowest to highest (with
    the headline's own reading on the same run, which lies between them)."""
    ps = [p.p_within(days, r) for r in p.readings]
    return N.probability_range(min(ps), max(ps))


def _labels(places) -> dict[str, str]:
    """Each place's name as the table prints it, told apart from its namesakes: by region,
    and by position where the region is shared too."""
    def where(p) -> str:
        return f"{abs(p.lat):.2f}°{'N' if p.lat >= 0 else 'S'} " \
               f"{abs(p.lon):.2f}°{'E' if p.lon >= 0 else 'W'}"

    names = [p.name for p in places]
    out = {}
    for p in places:
        label = p.name
        if names.count(p.name) > 1:
            region = getattr(p, "region", "") or ""
            shared = sum(q.name == p.name and (getattr(q, "region", "") or "") == region
                         for q in places) > 1
            label += f" ({', '.join(x for x in (region, where(p) if shared else '') if x)})"
        out[p.slug] = label
    return out


def format_forward(t: dict) -> str:
    """``advsim outlook --evaluate`` / ``--score``: outlooks made on past dates, scored on the
    maps after each."""
    origins = t["origins"]
    span = origins[0] if len(origins) == 1 else f"{origins[0]} … {origins[-1]}"
    out = [f"Forward evaluation: {t['cases']} projections of {t['places']} places from "
           f"{len(origins)} origin{'s' if len(origins) != 1 else ''} ({span}), each fitted on "
           f"the maps up to its origin only and scored on the maps after it, to "
           f"{t['last_map']}; {t['fell']} of the projected places fell. The class model: "
           f"the advance fitted at each origin, with "
           f"{', '.join(t.get('extensions') or []) or 'no extension'}.", ""]
    for d in t["skipped"]:
        out.insert(1, f"  origin {d['origin']} skipped: {d['why']}")
    out += _scores_table(t["pooled"])
    out += ["", "  PIT histograms (10 bins, 0 to 1; flat is calibrated):"]
    for name, s in t["pooled"].items():
        out.append(f"    {forecaster_words(name):<16} {spark(s['pit']['histogram'])}  "
                   f"{s['pit']['histogram']}")
    out += ["", "  By distance at the origin (CRPS in days; skill against the reference class):"]
    rows = []
    for band, blk in t["by_band"].items():
        for name, s in blk.items():
            rows.append([f"{band} km" if name == next(iter(blk)) else "",
                         forecaster_words(name), str(s["cases"]), str(s["fell"]),
                         N.probability(s["coverage_50"]), N.probability(s["coverage_90"]),
                         f"{s['mean_pit']:.2f}", f"{s['crps_days']:.1f}",
                         _brier(s.get("brier_180")),
                         N.signed(s["crps_skill"].get("reference_class"), 2)])
    out += table(["band", "forecast", "cases", "fell", "cover 50%", "cover 90%", "mean PIT",
                  "CRPS d", "Brier 180", "skill/class"], rows)
    activity = t.get("activity", {})
    for key, title, unit in (
            ("by_surrounded", "By how surrounded the place was (share of bearings with held "
             "ground within the radius)", ""),
            ("by_activity", "By the local front's activity (km² gained within "
             f"{activity.get('radius_km', 10):g} km a day over the "
             f"{activity.get('days', 90)} days before; none <= 0.01, slow <= 0.1)", "")):
        if t.get(key):
            out += ["", f"  {title}, the class model:", *_group_table(t[key], unit)]
    if t.get("neighbours", {}).get("pairs"):
        out += ["", _neighbours_line(t["neighbours"])]
    return "\n".join(out)


def _neighbours_line(n: dict) -> str:
    """How often neighbouring places fell together, against the model's product."""
    def ci(key: str, digits: int = 2, sign: bool = False) -> str:
        v, iv = n.get(key), n.get(f"{key}_interval")
        show = (lambda x: N.signed(x, digits)) if sign else (lambda x: f"{x:.{digits}f}")
        if v is None:
            return N.MISSING
        return show(v) + ("" if iv is None else f" [{show(iv[0])}, {show(iv[1])}]")

    return (f"  Neighbours: {n['pairs']} pairs of places within {n['within_km']:g} km at one "
            f"origin ({n['places']} places), outcome known at {n['horizon_days']:g} days: both "
            f"fell in {ci('observed_both', 3)}, the model's product says "
            f"{ci('model_product', 3)}, independence at the observed share fallen "
            f"{n['independent_observed']:.3f}; correlation of their falls "
            f"{ci('phi', 2, sign=True)} ({round(100 * n['level'])}% intervals over places).")


def _group_table(groups: dict, unit: str) -> list[str]:
    """The class model in each group, beside the empirical class and persistence."""
    rows = []
    for g, blk in groups.items():
        s, c = blk["class_model"], blk["reference_class"]
        rows.append([f"{g}{unit}", str(s["cases"]), str(s["fell"]),
                     N.probability(s["coverage_50"]), N.probability(s["coverage_90"]),
                     f"{s['mean_pit']:.2f}", f"{s['crps_days']:.1f}", f"{c['crps_days']:.1f}",
                     N.signed(s["crps_skill"].get("reference_class"), 2),
                     N.signed(s["crps_skill"].get("persistence"), 2)])
    return table(["", "cases", "fell", "cover 50%", "cover 90%", "mean PIT", "CRPS d",
                  "class CRPS d", "skill/class", "skill/persist"], rows)


def _scores_table(pooled: dict) -> list[str]:
    rows = []
    for name, s in pooled.items():
        k = s["pit"]["ks_pvalue"]
        sk = s["crps_skill"]
        rows.append([forecaster_words(name), N.probability(s["coverage_50"]),
                     N.probability(s["coverage_90"]), pvalue_cell(k), f"{s['crps_days']:.1f}",
                     *(_brier(s.get(f"brier_{h}")) for h in (30, 90, 180, 365)),
                     *(N.signed(sk.get(b), 2) for b in ("persistence", "trailing_rate",
                                                   "reference_class"))])
    first = next(iter(pooled.values()))
    rows.append(["base rate", "", "", "", "",
                 *(_brier(first.get(f"brier_{h}_base_rate")) for h in (30, 90, 180, 365)),
                 "", "", ""])
    return table(["forecast", "cover 50%", "cover 90%", "PIT p (KS)", "CRPS d", "Brier 30",
                  "Brier 90", "Brier 180", "Brier 365", "skill/persist", "skill/trailing",
                  "skill/class"], rows)
