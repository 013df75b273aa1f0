"""GeoJSON of a fleet: the primary and remote perspectives, their 500 km discs, the nearest pair.

Pure: returns plain dicts (RFC 7946 FeatureCollection) for ``--geojson`` and for the map drawer
(``cli/fleetmap.py``). RFC 7946 conventions: positions are ``[lon, lat]`` on WGS84, polygon
exterior rings are closed and counter-clockwise, and a geometry that crosses the antimeridian is
cut in two (a MultiPolygon / MultiLineString) so that no edge spans the map (RFC 7946 §3.1.9).

Features, each with a ``kind`` property:

* ``location`` — a Point per location: ``code``, ``city``, ``country``, ``rir``, ``provider``,
  ``opt_in``, ``role`` (``primary`` or ``perspective``).
* ``disc`` — the geodesic disc of radius 500 km (BR 3.2.2.9's minimum distance) around each
  location: ``code``, ``rir``, ``role``, ``radius_km``. A disc that holds a pole is a polar cap
  bounded by the pole's parallel. Two perspectives are far enough apart iff neither lies inside
  the other's disc.
* ``nearest_pair`` — the geodesic between the two closest locations (primary included):
  ``codes`` and ``distance_km``. Absent with fewer than two locations.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from geographiclib.geodesic import Geodesic

from config.catalog import Location
from config.compliance import MIN_DISTANCE_KM
from config.geo import distance_km, geodesic_km

DISC_BEARINGS = 72
"""Points on a disc's ring: one every 5 degrees of azimuth."""
LINE_POINTS = 64
_DIGITS = 5  # ~1 m

Position = list[float]


def fleet_features(perspectives: Sequence[Location], primary: Location | None = None, *,
                   radius_km: float = MIN_DISTANCE_KM, bearings: int = DISC_BEARINGS) -> dict:
    """The fleet as a GeoJSON FeatureCollection (see the module docstring for its features)."""
    located = ([(primary, "primary")] if primary is not None else []) + [(p, "perspective") for p in perspectives]
    features: list[dict] = []
    for loc, role in located:
        features.append(_feature({"type": "Point", "coordinates": [_r(loc.lon), _r(loc.lat)]}, {
            "kind": "location", "code": loc.code, "city": loc.city, "country": loc.country, "rir": loc.rir.value,
            "provider": loc.provider, "opt_in": loc.opt_in, "role": role}))
    for loc, role in located:
        features.append(_feature(disc_geometry(loc.lat, loc.lon, radius_km, bearings), {
            "kind": "disc", "code": loc.code, "rir": loc.rir.value, "role": role, "radius_km": radius_km}))
    pair = nearest_pair([loc for loc, _ in located])
    if pair is not None:
        a, b, d = pair
        features.append(_feature(geodesic_line(a.lat, a.lon, b.lat, b.lon), {
            "kind": "nearest_pair", "codes": [a.code, b.code], "distance_km": round(d, 1)}))
    return {"type": "FeatureCollection", "features": features}


def nearest_pair(points: Sequence[Location]) -> tuple[Location, Location, float] | None:
    """The two closest locations and their distance (ties: the first pair by codes), or None."""
    pairs = [(distance_km(a, b), sorted((a.code, b.code)), a, b) for a, b in itertools.combinations(points, 2)]
    if not pairs:
        return None
    d, _, a, b = min(pairs, key=lambda t: (t[0], t[1]))
    return a, b, d


def _feature(geometry: dict, properties: dict) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _r(x: float) -> float:
    return round(x, _DIGITS) + 0.0  # + 0.0 turns -0.0 into 0.0


def _wrap(lon: float) -> float:
    """Longitude in [-180, 180)."""
    return (lon + 180.0) % 360.0 - 180.0


# ---------------------------------------------------------------------- discs
def disc_geometry(lat: float, lon: float, radius_km: float = MIN_DISTANCE_KM,
                  bearings: int = DISC_BEARINGS) -> dict:
    """The geodesic disc of ``radius_km`` around (lat, lon) as a Polygon, a MultiPolygon when it
    crosses the antimeridian, or a polar cap Polygon when it holds a pole."""
    geod = Geodesic.WGS84
    ring = []
    for k in range(bearings):  # decreasing azimuth: counter-clockwise around the centre
        g = geod.Direct(lat, lon, (360.0 - k * 360.0 / bearings) % 360.0, radius_km * 1000.0)
        ring.append((g["lon2"], g["lat2"]))
    for pole in (90.0, -90.0):
        if geodesic_km(lat, lon, pole, lon) < radius_km:
            return {"type": "Polygon", "coordinates": [_polar_cap(ring, pole)]}
    unwrapped = [(lon + _wrap(x - lon), y) for x, y in ring]
    unwrapped.append(unwrapped[0])
    low, high = min(x for x, _ in unwrapped), max(x for x, _ in unwrapped)
    if low >= -180.0 and high <= 180.0:
        return {"type": "Polygon", "coordinates": [_positions(unwrapped)]}
    edge = 180.0 if high > 180.0 else -180.0
    inside = _clip(unwrapped, edge, keep_below=edge > 0)
    outside = _clip(unwrapped, edge, keep_below=edge < 0)
    shift = -360.0 if edge > 0 else 360.0
    outside = [(x + shift, y) for x, y in outside]
    return {"type": "MultiPolygon", "coordinates": [[_positions(inside)], [_positions(outside)]]}


def _clip(ring: list[tuple[float, float]], edge: float, *, keep_below: bool) -> list[tuple[float, float]]:
    """Sutherland-Hodgman clip of a closed ring to the half-plane x <= edge (or x >= edge)."""
    def keep(p: tuple[float, float]) -> bool:
        return p[0] <= edge if keep_below else p[0] >= edge

    out: list[tuple[float, float]] = []
    for p, q in zip(ring, ring[1:]):
        if keep(p):
            out.append(p)
        if keep(p) != keep(q):
            t = (edge - p[0]) / (q[0] - p[0])
            out.append((edge, p[1] + t * (q[1] - p[1])))
    out.append(out[0])
    return out


def _polar_cap(ring: list[tuple[float, float]], pole: float) -> list[Position]:
    """A disc holding a pole: its boundary sorted by longitude, closed along the pole's parallel
    and the antimeridian, counter-clockwise in (lon, lat)."""
    pts = sorted(ring)
    first, last = pts[0], pts[-1]
    span = first[0] + 360.0 - last[0]
    t = (180.0 - last[0]) / span if span else 0.0
    lat_at_edge = last[1] + t * (first[1] - last[1])
    boundary = [(-180.0, lat_at_edge), *pts, (180.0, lat_at_edge)]
    if pole > 0:  # east along the boundary, then west along the pole's parallel
        closed = [*boundary, (180.0, 90.0), (-180.0, 90.0), boundary[0]]
    else:  # west along the boundary, then east along the pole's parallel
        boundary.reverse()
        closed = [*boundary, (-180.0, -90.0), (180.0, -90.0), boundary[0]]
    return _positions(closed)


def _positions(points: Sequence[tuple[float, float]]) -> list[Position]:
    return [[_r(x), _r(y)] for x, y in points]


# ---------------------------------------------------------------------- lines
def geodesic_line(lat1: float, lon1: float, lat2: float, lon2: float, points: int = LINE_POINTS) -> dict:
    """The geodesic between two points, sampled: a LineString, or a MultiLineString cut at the
    antimeridian."""
    line = Geodesic.WGS84.InverseLine(lat1, lon1, lat2, lon2)
    samples = []
    for k in range(points + 1):
        g = line.Position(line.s13 * k / points, Geodesic.LATITUDE | Geodesic.LONGITUDE)
        samples.append((g["lon2"], g["lat2"]))
    parts: list[list[tuple[float, float]]] = [[samples[0]]]
    for p, q in zip(samples, samples[1:]):
        if abs(q[0] - p[0]) > 180.0:  # crosses the antimeridian between p and q
            edge = 180.0 if p[0] > 0 else -180.0
            qx = q[0] + (360.0 if edge > 0 else -360.0)
            t = (edge - p[0]) / (qx - p[0])
            y = p[1] + t * (q[1] - p[1])
            parts[-1].append((edge, y))
            parts.append([(-edge, y)])
        parts[-1].append(q)
    if len(parts) == 1:
        return {"type": "LineString", "coordinates": _positions(parts[0])}
    return {"type": "MultiLineString", "coordinates": [_positions(part) for part in parts]}
