"""Geodesic distances on the WGS84 ellipsoid (GeographicLib), in kilometres."""

from __future__ import annotations

import functools

from geographiclib.geodesic import Geodesic

from config.catalog import Location


@functools.lru_cache(maxsize=65536)
def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance between two WGS84 points, in km."""
    return Geodesic.WGS84.Inverse(lat1, lon1, lat2, lon2, Geodesic.DISTANCE)["s12"] / 1000.0


def distance_km(a: Location, b: Location) -> float:
    """Straight-line (geodesic) distance between two locations, symmetric by construction."""
    p, q = sorted([(a.lat, a.lon), (b.lat, b.lon)])
    return geodesic_km(p[0], p[1], q[0], q[1])


def format_km(d: float) -> str:
    """``1234.5`` -> ``"1,235 km"`` (how every finding words a distance)."""
    return f"{d:,.0f} km"
