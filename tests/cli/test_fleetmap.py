"""``cli.fleetmap``: PNG and SVG maps drawn offline from the fleet GeoJSON."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from matplotlib.path import Path as MplPath
from PIL import Image

from cli import fleetmap
from cli.fleetmap import RIR_COLOURS, draw_map, land_polygons
from config.catalog import Location, Rir, lookup
from config.errors import ConfigError
from config.stackfile import load_stack
from plan.geo_features import fleet_features

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to reach the network while drawing fails the test."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access during map drawing")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield attempts
    assert attempts == []


def aws_hosts_features() -> dict:
    cfg = load_stack("aws-hosts")
    return fleet_features(list(cfg.perspectives), cfg.primary)


def test_png_of_the_aws_hosts_stack(tmp_path, offline):
    out = tmp_path / "fleet.png"
    draw_map(aws_hosts_features(), out, "aws-hosts")
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 50_000
    with Image.open(out) as img:
        img.verify()
    with Image.open(out) as img:
        width, height = img.size
        assert 1200 <= width <= 2000 and 0.4 < height / width < 0.7
        colours = {c for _, c in img.convert("RGB").getcolors(maxcolors=1 << 20)}

    def present(hex_colour):
        rgb = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
        return rgb in colours

    # every RIR of the fleet is drawn in its colour (dots, legend); AFRINIC is not in this fleet
    for rir in ("ARIN", "LACNIC", "RIPE NCC", "APNIC"):
        assert present(RIR_COLOURS[rir]), rir
    assert present(fleetmap.LAND) and present(fleetmap.WATER)


def test_svg_names_every_perspective_the_primary_and_the_nearest_pair(tmp_path, offline):
    out = tmp_path / "fleet.SVG"
    draw_map(aws_hosts_features(), out, "aws-hosts map")
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for code in ("us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "ap-southeast-2"):
        assert code in text
    assert "ca-dc-newark (primary)" in text and "aws-hosts map" in text
    assert "nearest pair ca-dc-newark - us-west-2: 3,687 km" in text
    assert "primary perspective" in text and "500 km disc" in text
    assert out.stat().st_size > 50_000


def test_a_fleet_across_the_antimeridian_draws(tmp_path, offline):
    apia = Location(code="apia-dc", city="Apia", lat=-13.83, lon=-171.76, rir=Rir.APNIC)
    features = fleet_features([lookup("ap-southeast-6"), lookup("us-west-2"), lookup("af-south-1")], apia)
    out = tmp_path / "pacific.svg"
    draw_map(features, out, "Pacific")
    text = out.read_text()
    assert "apia-dc (primary)" in text and "nearest pair apia-dc - ap-southeast-6" in text
    assert "AFRINIC" in text


def test_a_polar_site_widens_the_map(tmp_path, offline):
    pole = Location(code="south-pole", city="Amundsen-Scott", lat=-89.99, lon=0.0, rir=Rir.ARIN)
    out = tmp_path / "pole.png"
    draw_map(fleet_features([lookup("af-south-1")], pole), out, "pole")
    with Image.open(out) as img:
        width, height = img.size
    assert height / width > 0.55  # -90..88 instead of -60..85


def test_no_location_no_pair(tmp_path, offline):
    out = tmp_path / "empty.png"
    draw_map({"type": "FeatureCollection", "features": []}, out, "empty")
    assert out.read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize("name", ["map.jpg", "map", "map.png.txt", "map.pdf"])
def test_other_extensions_are_refused(tmp_path, name):
    with pytest.raises(ConfigError) as err:
        draw_map(aws_hosts_features(), tmp_path / name, "x")
    assert err.value.key == "--map" and "PNG or SVG" in str(err.value)
    assert not (tmp_path / name).exists()


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(ConfigError) as err:
        draw_map(aws_hosts_features(), tmp_path / "nope" / "map.png", "x")
    assert err.value.key == "--map" and "does not exist" in str(err.value)


def test_land_polygons_come_from_the_wheel_and_are_plausible():
    shapes = land_polygons()
    levels = {level for level, _ in shapes}
    assert levels == {1, 2, 3, 5} and len(shapes) > 500
    for _, pts in shapes:
        assert pts.shape[1] == 2 and (abs(pts[:, 0]) <= 180).all() and (abs(pts[:, 1]) <= 90).all()
    land = [MplPath(pts) for level, pts in shapes if level == 1]

    def on_land(lon, lat):
        return any(p.contains_point((lon, lat)) for p in land)

    assert on_land(20.0, 5.0) and on_land(-100.0, 40.0) and on_land(135.0, -25.0)  # Africa, USA, Australia
    assert not on_land(-30.0, 30.0) and not on_land(-150.0, 0.0)  # Atlantic, Pacific
    antarctica = [pts for level, pts in shapes if level == 5]
    assert any((pts[:, 1] == -90.0).any() for pts in antarctica)


def test_the_drawer_is_the_only_plotting_import():
    kit = Path(__file__).resolve().parents[2]
    for path in [*(kit / "plan").glob("suggest*.py"), kit / "plan" / "geo_features.py"]:
        source = path.read_text()
        assert "matplotlib" not in source and "PIL" not in source
