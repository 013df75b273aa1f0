"""``plan.geo_features``: RFC 7946 structure, closed counter-clockwise rings, discs of the right
radius, the antimeridian and the poles, and the nearest pair."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from config.catalog import Location, Rir, load_catalog, lookup
from config.geo import distance_km
from config.stackfile import load_stack
from plan.geo_features import disc_geometry, fleet_features, geodesic_line, nearest_pair

CATALOG = load_catalog()


def signed_area(ring) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:])) / 2.0


def rings_of(geometry) -> list:
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    assert geometry["type"] == "MultiPolygon"
    return [ring for polygon in geometry["coordinates"] for ring in polygon]


def assert_valid_polygon(geometry) -> None:
    for ring in rings_of(geometry):
        assert len(ring) >= 4 and ring[0] == ring[-1], "rings are closed (RFC 7946 3.1.6)"
        assert signed_area(ring) > 0, "exterior rings are counter-clockwise (RFC 7946 3.1.6)"
        for lon, lat in ring:
            assert -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0
        for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
            on_pole = abs(y1) == abs(y2) == 90.0  # a polar cap closes along its pole
            assert on_pole or abs(x2 - x1) <= 180.0, "no edge spans the antimeridian (RFC 7946 3.1.9)"


def assert_valid_collection(fc) -> None:
    assert fc["type"] == "FeatureCollection" and isinstance(fc["features"], list)
    json.loads(json.dumps(fc))  # plain JSON
    for f in fc["features"]:
        assert f["type"] == "Feature" and set(f) == {"type", "geometry", "properties"}
        g = f["geometry"]
        if g["type"] == "Point":
            lon, lat = g["coordinates"]
            assert -180 <= lon <= 180 and -90 <= lat <= 90
        elif g["type"] in ("Polygon", "MultiPolygon"):
            assert_valid_polygon(g)
        else:
            parts = [g["coordinates"]] if g["type"] == "LineString" else g["coordinates"]
            assert g["type"] in ("LineString", "MultiLineString") and all(len(p) >= 2 for p in parts)
            for part in parts:
                for (x1, _), (x2, _) in zip(part, part[1:]):
                    assert abs(x2 - x1) <= 180.0


def test_aws_hosts_stack_features():
    cfg = load_stack("aws-hosts")
    fc = fleet_features(list(cfg.perspectives), cfg.primary)
    assert_valid_collection(fc)
    kinds = [f["properties"]["kind"] for f in fc["features"]]
    assert kinds == ["location"] * 6 + ["disc"] * 6 + ["nearest_pair"]
    first = fc["features"][0]
    assert first["properties"] == {"kind": "location", "code": "ca-dc-newark", "city": "ca-dc-newark", "country": "",
                                   "rir": "ARIN", "provider": "site", "opt_in": False, "role": "primary"}
    assert first["geometry"] == {"type": "Point", "coordinates": [-74.17, 40.74]}  # lon, lat order
    roles = [f["properties"]["role"] for f in fc["features"] if f["properties"]["kind"] == "location"]
    assert roles == ["primary"] + ["perspective"] * 5
    pair = fc["features"][-1]["properties"]
    points = [cfg.primary, *cfg.perspectives]
    d, a, b = min((distance_km(a, b), a.code, b.code) for a, b in itertools.combinations(points, 2))
    assert set(pair["codes"]) == {a, b} and pair["distance_km"] == round(d, 1)


@pytest.mark.parametrize("code", ["us-east-1", "eu-north-1", "sa-east-1", "ap-southeast-2", "af-south-1"])
def test_disc_vertices_are_500_km_from_the_centre(code):
    loc = lookup(code)
    geometry = disc_geometry(loc.lat, loc.lon)
    assert geometry["type"] == "Polygon"
    assert_valid_polygon(geometry)
    ring = geometry["coordinates"][0]
    assert len(ring) == 73
    for lon, lat in ring:
        d = Geodesic.WGS84.Inverse(loc.lat, loc.lon, lat, lon)["s12"] / 1000.0
        assert math.isclose(d, 500.0, abs_tol=0.01)


def test_a_disc_across_the_antimeridian_is_cut_in_two():
    auckland = lookup("ap-southeast-6")
    geometry = disc_geometry(auckland.lat, auckland.lon)
    assert geometry["type"] == "MultiPolygon" and len(geometry["coordinates"]) == 2
    assert_valid_polygon(geometry)
    east, west = (polygon[0] for polygon in geometry["coordinates"])
    assert max(x for x, _ in east) == 180.0 and min(x for x, _ in west) == -180.0
    assert all(x > 0 for x, _ in east) and all(x < 0 for x, _ in west)
    # the two parts are the disc: their areas add up to the uncut disc drawn around lon 0
    whole = disc_geometry(auckland.lat, 0.0)["coordinates"][0]
    assert math.isclose(signed_area(east) + signed_area(west), signed_area(whole), rel_tol=1e-3)
    mirrored = disc_geometry(auckland.lat, -auckland.lon)
    assert mirrored["type"] == "MultiPolygon"
    assert_valid_polygon(mirrored)


@pytest.mark.parametrize("lat", [89.0, 86.0, -88.5, -90.0])
def test_a_disc_holding_a_pole_is_a_polar_cap(lat):
    geometry = disc_geometry(lat, 40.0)
    assert geometry["type"] == "Polygon"
    assert_valid_polygon(geometry)
    ring = geometry["coordinates"][0]
    pole = 90.0 if lat > 0 else -90.0
    assert [180.0, pole] in ring and [-180.0, pole] in ring
    assert min(x for x, _ in ring) == -180.0 and max(x for x, _ in ring) == 180.0


def test_nearest_pair_across_the_antimeridian_is_a_multilinestring():
    auckland = lookup("ap-southeast-6")
    apia = Location(code="apia", city="Apia", lat=-13.83, lon=-171.76, rir=Rir.APNIC)
    fc = fleet_features([auckland, lookup("us-west-2")], apia)
    assert_valid_collection(fc)
    line = fc["features"][-1]
    assert line["properties"]["codes"] == ["apia", "ap-southeast-6"]
    assert line["geometry"]["type"] == "MultiLineString"
    first, second = line["geometry"]["coordinates"]
    assert first[0] == [-171.76, -13.83] and second[-1] == [174.76, -36.85]
    assert first[-1][0] == -180.0 and second[0][0] == 180.0 and first[-1][1] == second[0][1]


def test_nearest_pair_within_one_hemisphere_is_a_geodesic_linestring():
    g = geodesic_line(53.35, -6.26, 59.33, 18.07, points=8)
    assert g["type"] == "LineString" and len(g["coordinates"]) == 9
    assert g["coordinates"][0] == [-6.26, 53.35] and g["coordinates"][-1] == [18.07, 59.33]
    mid = g["coordinates"][4]
    assert mid[1] > 56.6  # a geodesic bows towards the pole; the straight lat/lon midpoint is at 56.34


def test_single_location_has_no_pair():
    fc = fleet_features([lookup("eu-west-1")])
    assert [f["properties"]["kind"] for f in fc["features"]] == ["location", "disc"]
    assert nearest_pair([lookup("eu-west-1")]) is None


def test_nearest_pair_breaks_ties_by_code():
    a = Location(code="b-site", city="B", lat=0.0, lon=0.0, rir=Rir.AFRINIC)
    b = Location(code="a-site", city="A", lat=0.0, lon=10.0, rir=Rir.AFRINIC)
    c = Location(code="c-site", city="C", lat=0.0, lon=-10.0, rir=Rir.AFRINIC)
    first, second, d = nearest_pair([a, c, b])
    assert {first.code, second.code} == {"a-site", "b-site"} and math.isclose(d, distance_km(a, b))


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-90, max_value=90), st.floats(min_value=-180, max_value=180),
       st.floats(min_value=50, max_value=2000))
def test_every_disc_is_valid_geojson(lat, lon, radius):
    assert_valid_polygon(disc_geometry(lat, lon, radius))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(sorted(CATALOG)), min_size=2, max_size=8, unique=True))
def test_every_fleet_is_a_valid_collection(codes):
    locs = [CATALOG[c] for c in codes]
    fc = fleet_features(locs[1:], locs[0])
    assert_valid_collection(fc)
    assert sum(f["properties"]["kind"] == "disc" for f in fc["features"]) == len(codes)
