"""``--map FILE.(png|svg)`` and ``--geojson FILE``: a region set as a compliance exhibit.

The exhibit (:func:`exhibit_features`) is the fleet's GeoJSON (``plan.geo_features``) with the
pairs R1 finds under 500 km, the verdict and how long it holds (:func:`config.exhibit.verdict`,
the check ``mpic check`` exits on), every pairwise distance and the provenance (kit version, the
stack file's SHA-256, the coordinates' source and uncertainty). The map draws exactly that
GeoJSON: the verdict under the title, the distance table beside the map, the provenance below.

Offline by construction: the base map is :mod:`cli.worldmap` (GSHHS shorelines from a wheel),
and matplotlib renders through its Agg (PNG) and SVG canvases without pyplot, so no GUI backend
and no global state are involved. Nothing is fetched at run time. Colours per RIR come from the
Okabe-Ito colour-blind-safe palette. The layout is computed in inches (no
automatic layout) and the SVG's ids are salted with a constant, so the same exhibit always gives
the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli import kit_version
from config.br import MIN_DISTANCE_KM
from config.catalog import Rir
from config.errors import ConfigError
from config.exhibit import (
    COORDINATE_SOURCE,
    COORDINATE_UNCERTAINTY_KM,
    DISTANCE_METHOD,
    pairwise_km,
    verdict,
    violating_pairs,
)
from config.geo import format_km
from cli.worldmap import draw_land, exterior_rings, h_align, lat_limits, line_parts, midpoint
from config.model import StackConfig
from plan.geo_features import fleet_features, geodesic_line

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = (".png", ".svg")
GEOJSON_FORMATS = (".geojson", ".json")
RIR_COLOURS: dict[str, str] = {
    Rir.ARIN.value: "#0072B2",      # blue
    Rir.LACNIC.value: "#D55E00",    # vermillion
    Rir.RIPE_NCC.value: "#E69F00",  # orange
    Rir.APNIC.value: "#009E73",     # bluish green
    Rir.AFRINIC.value: "#CC79A7",   # reddish purple
}
OTHER_COLOUR = "#777777"
PAIR_COLOUR = "#000000"
VIOLATION, VIOLATION_FILL = "#E4002B", "#FDE0E0"
"""A pair under 500 km: a solid signal red line with a white halo (the RIR discs are translucent
and outlined thin; no RIR is drawn in this red), and its rows in the distance table."""
COMPLIANT, EXPIRING = "#117733", "#8A4B00"
"""The verdict's colour: compliant with no end announced, compliant until a coming phase-in."""
DISC_ALPHA = 0.18
PERSPECTIVE_MARKER: dict[str, Any] = {"marker": "o", "s": 55, "linewidths": 0.8}
PRIMARY_MARKER: dict[str, Any] = {"marker": "*", "s": 420, "linewidths": 1.2}
MARKER_ZORDER, VIOLATION_ZORDER = 7, 9
_LEFT_IN, _TICKS_IN, _FOOTER_IN, _TABLE_IN, _ROW_IN = 0.45, 0.3, 0.5, 3.4, 0.17  # layout, inches
_LEGEND_COLS = 4


def exhibit_features(cfg: StackConfig, origin: Path | str, today: dt.date | None = None) -> dict:
    """``cfg``'s FeatureCollection (:func:`plan.geo_features.fleet_features`) as a compliance
    exhibit: one ``violating_pair`` feature per pair R1 finds under 500 km (a geodesic: ``codes``,
    ``distance_km``, ``rule``) and the foreign member ``mpic`` (RFC 7946 §6.1) with the verdict
    (:func:`config.exhibit.verdict`), every pairwise distance and the provenance. ``origin``: the
    stack file the set was read from (its SHA-256 is stated), or how the set was given."""
    judged = verdict(cfg, today)
    features = fleet_features(cfg.perspectives, cfg.primary)
    where = {loc.code: loc for loc in cfg.locations}
    violating = violating_pairs(judged.report)
    for a, b, d in violating:
        features["features"].append({"type": "Feature", "geometry": geodesic_line(
            where[a].lat, where[a].lon, where[b].lat, where[b].lon), "properties": {
            "kind": "violating_pair", "codes": [a, b], "distance_km": _km3(d), "rule": "R1",
            "min_distance_km": MIN_DISTANCE_KM}})
    under = {frozenset((a, b)) for a, b, _ in violating}
    if isinstance(origin, Path):
        source = {"region_set": "stack file", "stack_file": origin.name,
                  "stack_file_sha256": hashlib.sha256(origin.read_bytes()).hexdigest()}
    else:
        source = {"region_set": origin, "stack_file": None, "stack_file_sha256": None}
    features["mpic"] = {
        "verdict": judged.to_json(),
        "distances_km": [{"codes": [a, b], "distance_km": _km3(d), "violation": frozenset((a, b)) in under}
                         for a, b, d in pairwise_km(cfg.locations)],
        "provenance": {"kit_version": kit_version(), **source, "coordinates": COORDINATE_SOURCE,
                       "coordinate_uncertainty_km": COORDINATE_UNCERTAINTY_KM,
                       "custom_sites": [loc.code for loc in cfg.locations if loc.is_custom_site],
                       "distances": DISTANCE_METHOD}}
    return features


def _km3(d: float) -> float:
    return round(d, 3)  # 1 m: every distance formats to the km the rules' messages print


def draw_map(features: dict, path: Path, title: str, *, width_in: float = 14.0, dpi: int = 110) -> None:
    """Draw ``features`` (:func:`exhibit_features`, or plain :func:`plan.geo_features.fleet_features`)
    to ``path``: PNG or SVG by its extension (see :func:`map_figure`).

    Raises ConfigError for another extension or a missing folder (key ``--map``).
    """
    from matplotlib import rc_context

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"--map: '{path}' has the extension '{path.suffix or '(none)'}'; the map is written as "
                          "PNG or SVG. Name the file *.png or *.svg.", key="--map", value=str(path),
                          fix="name the file *.png or *.svg")
    if not path.parent.is_dir():
        raise ConfigError(f"--map: the folder {path.parent} does not exist. Create it or write the map elsewhere.",
                          key="--map", value=str(path), fix=f"create {path.parent} or write the map elsewhere")
    fig = map_figure(features, title, width_in=width_in, dpi=dpi)
    metadata = {"Software": None} if suffix == ".png" else {"Date": None}
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "mpic-fleet"}):  # SVG text stays text
        fig.savefig(path, format=suffix[1:], metadata=metadata)


def map_figure(features: dict, title: str, *, width_in: float = 14.0, dpi: int = 110) -> Figure:
    """The map of ``features`` as a matplotlib Figure (no pyplot, no global state).

    Each location is a dot in its RIR's colour (the primary a larger star) inside a translucent
    500 km disc of the same colour; the nearest pair a dashed geodesic labelled with its distance;
    every pair R1 finds under 500 km a solid :data:`VIOLATION` geodesic drawn above the markers and
    labelled with its distance. With the ``mpic`` member of :func:`exhibit_features`: the verdict
    under the title, the table of every pairwise distance beside the map and the provenance
    footer. The legend's swatches are drawn as the markers are. Laid out in inches (no automatic
    layout), so the same features always give the same figure.
    """
    from matplotlib.figure import Figure

    feats = features.get("features", [])
    exhibit = features.get("mpic")
    locations = [f for f in feats if f["properties"].get("kind") == "location"]
    violating = [f for f in feats if f["properties"].get("kind") == "violating_pair"]
    under = {frozenset(f["properties"]["codes"]) for f in violating}
    pairs = [f for f in feats if f["properties"].get("kind") == "nearest_pair"
             and frozenset(f["properties"]["codes"]) not in under]  # a violating pair is drawn as one
    rows = exhibit["distances_km"] if exhibit else []
    km = {frozenset(r["codes"]): r["distance_km"] for r in rows}

    south, north = lat_limits(feats)
    map_w = width_in - _LEFT_IN - 0.15
    map_h = map_w * (north - south) / 360.0
    table_h = (len(rows) + 1) * _ROW_IN + 0.45
    legend_h = _legend_rows(locations, pairs, violating) * 0.2 + 0.35
    column_h = map_h + _TICKS_IN + legend_h  # the map, its tick labels, the legend; the table beside them
    body_h = max(column_h, table_h) if exhibit else column_h
    footer_h = _FOOTER_IN if exhibit else 0.0
    top_h = 0.85 if exhibit else 0.55
    fig_w, fig_h = width_in + (_TABLE_IN if exhibit else 0.0), top_h + body_h + footer_h
    fig = Figure(figsize=(fig_w, fig_h), dpi=dpi)

    def box(x_in: float, y_in: float, w_in: float, h_in: float) -> list[float]:  # inches from the bottom left
        return [x_in / fig_w, y_in / fig_h, w_in / fig_w, h_in / fig_h]

    body_top = footer_h + body_h
    ax = fig.add_axes(box(_LEFT_IN, body_top - map_h, map_w, map_h))
    draw_land(ax)
    _draw_discs(ax, [f for f in feats if f["properties"].get("kind") == "disc"])
    _draw_nearest_pairs(ax, pairs, km)
    _draw_locations(ax, locations)
    _draw_violations(ax, violating)
    ax.set_xlim(-180, 180)
    ax.set_ylim(south, north)
    ax.set_aspect("equal")
    ax.set_xticks(range(-180, 181, 60))
    ax.set_yticks(range(-60, 91, 30))
    ax.tick_params(labelsize=7, colors="#666666")
    ax.grid(color="#cccccc", linewidth=0.3, zorder=0)
    fig.text(0.5, 1 - 0.12 / fig_h, title, ha="center", va="top", fontsize=12, gid="title")
    if exhibit:
        v = exhibit["verdict"]
        colour = VIOLATION if not v["compliant"] else (EXPIRING if v["compliant_until"] else COMPLIANT)
        fig.text(0.5, 1 - 0.45 / fig_h, v["text"], ha="center", va="top", fontsize=11, fontweight="bold",
                 color=colour, gid="verdict")
        _distance_table(fig, box(_LEFT_IN + map_w + 0.25, body_top - table_h, _TABLE_IN - 0.4, table_h), rows)
        fig.text(_LEFT_IN / fig_w, 0.08 / fig_h, footer_text(exhibit), ha="left", va="bottom", fontsize=7,
                 color="#444444", linespacing=1.5, gid="provenance")
    entries = legend_entries(locations, pairs, violating, km)
    fig.legend([h for h, _ in entries], [label for _, label in entries], loc="upper center",
               bbox_to_anchor=((_LEFT_IN + map_w / 2) / fig_w, (body_top - map_h - _TICKS_IN) / fig_h),
               ncols=_LEGEND_COLS, fontsize=8, frameon=False, title_fontsize=8,
               title="RIR: the colour of a perspective's dot and of its 500 km disc")
    return fig


def _draw_discs(ax: Any, discs: list[dict]) -> None:
    from matplotlib.patches import Polygon

    for f in discs:
        colour = rir_colour(f["properties"]["rir"])
        for ring in exterior_rings(f["geometry"]):
            ax.add_patch(Polygon(ring, closed=True, facecolor=_disc_face(colour), edgecolor=colour, linewidth=0.9,
                                 zorder=2))


def _draw_nearest_pairs(ax: Any, pairs: list[dict], km: dict) -> None:
    for f in pairs:
        props = f["properties"]
        for part in line_parts(f["geometry"]):
            xs, ys = zip(*part)
            ax.plot(xs, ys, color="white", linewidth=4.0, zorder=3, solid_capstyle="round")
            ax.plot(xs, ys, color=PAIR_COLOUR, linewidth=1.8, linestyle=(0, (4, 2)), zorder=3)
        mx, my = midpoint(f["geometry"])
        ax.annotate(format_km(km.get(frozenset(props["codes"]), props["distance_km"])), (mx, my),
                    xytext=(0, -16), textcoords="offset points", ha=h_align(mx), va="top", fontsize=8, zorder=4,
                    bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": PAIR_COLOUR, "lw": 0.8})


def _draw_locations(ax: Any, locations: list[dict]) -> None:
    for f in locations:
        props = f["properties"]
        lon, lat = f["geometry"]["coordinates"]
        primary = props.get("role") == "primary"
        style = PRIMARY_MARKER if primary else PERSPECTIVE_MARKER
        ax.scatter([lon], [lat], marker=style["marker"], s=style["s"], color=rir_colour(props["rir"]),
                   edgecolors="black", linewidths=style["linewidths"], zorder=MARKER_ZORDER,
                   gid=f"location-{props['code']}")
        east = lon > 140  # labels of the far east go left of their dot, inside the map
        gap = 11 if primary else 6  # clear of the star
        ax.annotate(f"{props['code']} (primary)" if primary else props["code"], (lon, lat),
                    xytext=(-gap if east else gap, gap - 1), textcoords="offset points", fontsize=8,
                    ha="right" if east else "left", zorder=MARKER_ZORDER - 1,
                    fontweight="bold" if primary else "normal",
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.75})


def _draw_violations(ax: Any, violating: list[dict]) -> None:
    """Above the markers: a pair under 500 km never hides under its dots."""
    for i, f in enumerate(violating):
        props = f["properties"]
        gid = f"violation-{'-'.join(props['codes'])}"
        for part in line_parts(f["geometry"]):
            xs, ys = zip(*part)
            ax.plot(xs, ys, color="white", linewidth=5.0, zorder=VIOLATION_ZORDER, solid_capstyle="round")
            ax.plot(xs, ys, color=VIOLATION, linewidth=2.4, zorder=VIOLATION_ZORDER, solid_capstyle="round", gid=gid)
        mx, my = midpoint(f["geometry"])
        up = i % 2 == 1  # neighbouring violations label on alternate sides
        ax.annotate(f"{format_km(props['distance_km'])} < {props['min_distance_km']:.0f} km", (mx, my),
                    xytext=(0, 14 if up else -14), textcoords="offset points", ha=h_align(mx),
                    va="bottom" if up else "top", fontsize=8, fontweight="bold", color=VIOLATION,
                    zorder=VIOLATION_ZORDER + 1, gid=f"{gid}-label",
                    bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": VIOLATION, "lw": 1.0})


def rir_colour(rir: str) -> str:
    return RIR_COLOURS.get(rir, OTHER_COLOUR)


def _disc_face(colour: str) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgba

    return to_rgba(colour, DISC_ALPHA)


def legend_entries(locations: list[dict], pairs: list[dict], violating: list[dict],
                   km: dict) -> list[tuple[Any, str]]:
    """(handle, label) of each legend entry, drawn as the map draws: per RIR present, its disc
    with its dot on it (a tuple: drawn on top of each other); the primary's star in its RIR's
    colour; the nearest pair; the pairs under 500 km."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[tuple[Any, str]] = []
    for rir in sorted({f["properties"]["rir"] for f in locations}):
        colour = rir_colour(rir)
        disc = Patch(facecolor=_disc_face(colour), edgecolor=colour, linewidth=0.9)
        dot = Line2D([], [], linestyle="none", marker=PERSPECTIVE_MARKER["marker"], markerfacecolor=colour,
                     markeredgecolor="black", markeredgewidth=PERSPECTIVE_MARKER["linewidths"],
                     markersize=PERSPECTIVE_MARKER["s"] ** 0.5)
        handles.append(((disc, dot), rir))
    for f in locations:
        if f["properties"].get("role") == "primary":
            handles.append((Line2D([], [], linestyle="none", marker=PRIMARY_MARKER["marker"],
                                   markerfacecolor=rir_colour(f["properties"]["rir"]), markeredgecolor="black",
                                   markeredgewidth=PRIMARY_MARKER["linewidths"], markersize=13),
                            "primary perspective"))
    for f in pairs:
        props = f["properties"]
        d = km.get(frozenset(props["codes"]), props["distance_km"])
        handles.append((Line2D([], [], color=PAIR_COLOUR, linestyle=(0, (4, 2))),
                        f"nearest pair {' - '.join(props['codes'])}: {format_km(d)}"))
    if violating:
        handles.append((Line2D([], [], color=VIOLATION, linewidth=2.4),
                        f"pair under {MIN_DISTANCE_KM:.0f} km: violates BR 3.2.2.9 (R1)"))
    return handles


def _legend_rows(locations: list[dict], pairs: list[dict], violating: list[dict]) -> int:
    rirs = len({f["properties"]["rir"] for f in locations})
    entries = rirs + sum(f["properties"].get("role") == "primary" for f in locations) + len(pairs) + bool(violating)
    return max(1, -(-entries // _LEGEND_COLS))


def _distance_table(fig: Figure, rect: list[float], rows: list[dict]) -> None:
    """Every pair and its distance, nearest first; the pairs under 500 km in :data:`VIOLATION`."""
    ax = fig.add_axes(rect, gid="distances")
    ax.set_axis_off()
    ax.set_title(f"every pair, {DISTANCE_METHOD}", fontsize=8, loc="left")
    if not rows:
        ax.text(0, 1, "no pair: fewer than two locations", fontsize=7, va="top")
        return
    cells = [[" - ".join(r["codes"]), format_km(r["distance_km"])] for r in rows]
    height = (len(rows) + 1) / (len(rows) + 1 + 0.45 / _ROW_IN)
    table = ax.table(cellText=cells, colLabels=["pair", "distance"], colWidths=[0.72, 0.28],
                     cellLoc="left", bbox=[0.0, 1.0 - height, 1.0, height])
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    for (row, col), cell in table.get_celld().items():
        cell.set_linewidth(0.3)
        cell.set_edgecolor("#bbbbbb")
        if col == 1:
            cell.get_text().set_horizontalalignment("right")
            cell.PAD = 0.05
        if row == 0:
            cell.set_facecolor("#eeeeee")
            cell.get_text().set_fontweight("bold")
        elif rows[row - 1]["violation"]:
            cell.set_facecolor(VIOLATION_FILL)
            cell.get_text().set_color(VIOLATION)
            cell.get_text().set_fontweight("bold")


def footer_text(exhibit: dict) -> str:
    """The provenance under the map: the kit's version, where the region set came from (the stack
    file's SHA-256), the date of the rules, where the coordinates come from and how far off they may be."""
    p, v = exhibit["provenance"], exhibit["verdict"]
    if p["stack_file"]:
        source = f"stack file {p['stack_file']}, SHA-256 {p['stack_file_sha256']}"
    else:
        source = f"region set: {p['region_set']} (no stack file)"
    sites = f"; sites as configured: {', '.join(p['custom_sites'])}" if p["custom_sites"] else ""
    return (f"mpic-fleet {p['kit_version']} · {source} · BR 3.2.2.9 rules as of {v['as_of']}\n"
            f"Coordinates: {p['coordinates']}, ± ~{p['coordinate_uncertainty_km']} km (an estimate: AWS places a "
            f"region's data centres up to ~100 km apart){sites}. Distances: {p['distances']}.")


def write_fleet_files(cfg: StackConfig, origin: Path | str, map_path: Path | None = None,
                      geojson_path: Path | None = None, *, heading: str | None = None) -> None:
    """``--map FILE.(png|svg)`` and ``--geojson FILE``: ``cfg``'s exhibit (:func:`exhibit_features`)
    drawn and/or written. ``origin``: the stack file, or how the set was given (``ad hoc --regions``);
    ``heading`` opens the title (default: the stack's name)."""
    if map_path is None and geojson_path is None:
        return
    features = exhibit_features(cfg, origin)
    if geojson_path is not None:
        geojson_path.write_text(json.dumps(features, indent=1) + "\n", encoding="utf-8")
    if map_path is not None:
        n = len(cfg.perspectives)
        title = (f"{heading or cfg.name}: {n} remote perspective{'s' if n != 1 else ''}"
                 f"{f' + primary {cfg.primary.code}' if cfg.primary else ''}")
        draw_map(features, map_path, title)
