"""``cli.fleetmap``: PNG and SVG maps drawn offline from the fleet GeoJSON, as compliance exhibits:
the verdict in the title, violating pairs on top, every distance in a table, the provenance, a
legend drawn as the map is. The figure is inspected, not its pixels."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import socket
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import same_color, to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from matplotlib.path import Path as MplPath
from PIL import Image
from typer.testing import CliRunner

from cli import fleetmap
from cli.__main__ import app
from cli import worldmap
from cli.fleetmap import RIR_COLOURS, draw_map, exhibit_features, map_figure
from cli.worldmap import land_polygons
from config.catalog import Location, Rir, lookup
from config.errors import ConfigError
from config.geo import distance_km, format_km
from config.model import StackConfig
from config.stackfile import load_stack, stack_path
from plan.geo_features import fleet_features

KIT = Path(__file__).resolve().parents[2]
KIT_VERSION = tomllib.loads((KIT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
BAD = ["eu-west-2", "eu-west-3", "us-west-2", "ap-northeast-1", "sa-east-1"]
"""London and Paris: 344 km apart, an R1 violation."""

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
    return exhibit_features(load_stack("aws-hosts"), stack_path("aws-hosts"), today=dt.date(2026, 12, 7))


def adhoc(perspectives: list[str], primary: str | None = "us-east-1", as_of: str = "2026-11-28") -> StackConfig:
    return StackConfig.from_config({"perspectives": perspectives, "primary": primary, "asOf": as_of}, name="adhoc")


def figure_of(cfg: StackConfig, origin: Path | str = "ad hoc --regions"):
    features = exhibit_features(cfg, origin)
    return features, map_figure(features, "test map")


def by_gid(fig, gid: str) -> list:
    return fig.findobj(lambda a: a.get_gid() == gid)


def map_axes(fig):
    return fig.axes[0]


def markers(fig) -> list[PathCollection]:
    return [c for c in map_axes(fig).collections if isinstance(c, PathCollection)]


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
    assert present(worldmap.LAND) and present(worldmap.WATER)


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
    features = fleet_features([lookup("af-south-1")], pole)
    draw_map(features, out, "pole")
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert map_axes(map_figure(features, "pole")).get_ylim()[0] == -90.0  # instead of -63


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
    drawers = {KIT / "cli" / "fleetmap.py", KIT / "cli" / "worldmap.py"}
    product = [p for folder in ("config", "plan", "artifacts", "service", "components", "local", "policy", "stacks",
                                "preview", "bench", "evidence", "cli") for p in (KIT / folder).rglob("*.py")]
    assert KIT / "plan" / "geo_features.py" in product and drawers <= set(product)
    plotting = {p for p in product if "matplotlib" in p.read_text() or "PIL" in p.read_text()}
    assert plotting == drawers


# ---------------------------------------------------------------- the exhibit
@pytest.mark.parametrize(("perspectives", "as_of", "verdict", "colour"), [
    (BAD, "2026-11-28", "NOT compliant as of 2026-11-28: R1 eu-west-2 - eu-west-3 344 km < 500 km",
     fleetmap.VIOLATION),
    (BAD[2:] + ["eu-west-1"], "2026-11-28", "compliant until 2026-12-14 (from 2026-12-15: R3 4 remote perspectives < 5)",
     fleetmap.EXPIRING),
    (BAD[2:] + ["eu-west-1", "af-south-1"], "2026-12-15",
     "compliant from 2026-12-15 (every announced BR 3.2.2.9 phase-in met)", fleetmap.COMPLIANT),
])
def test_the_title_states_the_verdict_and_its_dates(perspectives, as_of, verdict, colour, offline):
    features, fig = figure_of(adhoc(perspectives, as_of=as_of))
    [title], [shown] = by_gid(fig, "title"), by_gid(fig, "verdict")
    assert title.get_text() == "test map"
    assert shown.get_text() == verdict == features["mpic"]["verdict"]["text"]
    assert same_color(shown.get_color(), colour)
    assert shown.get_position()[1] > map_axes(fig).get_position().y1  # above the map, under the title


def test_a_violating_pair_is_drawn_on_top_in_the_violation_colour_with_its_distance(offline):
    features, fig = figure_of(adhoc(BAD))
    d = distance_km(lookup("eu-west-2"), lookup("eu-west-3"))
    [line] = by_gid(fig, "violation-eu-west-2-eu-west-3")
    [label] = by_gid(fig, "violation-eu-west-2-eu-west-3-label")
    assert isinstance(line, Line2D) and same_color(line.get_color(), fleetmap.VIOLATION)
    assert line.get_linestyle() == "-"
    dots = markers(fig)
    assert len(dots) == 6 and line.get_zorder() > max(c.get_zorder() for c in dots)
    assert label.get_zorder() > max(c.get_zorder() for c in dots)
    assert label.get_text() == f"{format_km(d)} < 500 km" == "344 km < 500 km"
    assert same_color(label.get_color(), fleetmap.VIOLATION)
    xs, ys = line.get_data()  # the geodesic from London to Paris
    assert (xs[0], ys[0]) == pytest.approx((lookup("eu-west-2").lon, lookup("eu-west-2").lat), abs=1e-4)
    assert (xs[-1], ys[-1]) == pytest.approx((lookup("eu-west-3").lon, lookup("eu-west-3").lat), abs=1e-4)
    # the nearest pair is the violating one: drawn once, as a violation, not as a dashed line under the dots
    dashed = [ln for ln in map_axes(fig).lines if ln.get_linestyle() not in ("-", "None")]
    assert dashed == []


def test_a_compliant_set_draws_no_violation(offline):
    features, fig = figure_of(adhoc(BAD[2:] + ["eu-west-1", "af-south-1"], as_of="2026-12-15"))
    assert not [f for f in features["features"] if f["properties"]["kind"] == "violating_pair"]
    assert not fig.findobj(lambda a: str(a.get_gid() or "").startswith("violation"))
    assert not [ln for ln in map_axes(fig).lines if same_color(ln.get_color(), fleetmap.VIOLATION)]


def table_rows(fig) -> list[tuple[str, str, str]]:
    """(pair, distance, text colour) of every row of the distance table, header left out."""
    [ax] = by_gid(fig, "distances")
    [table] = ax.tables
    cells = table.get_celld()
    rows = max(r for r, _ in cells)
    return [(cells[r, 0].get_text().get_text(), cells[r, 1].get_text().get_text(), cells[r, 1].get_text().get_color())
            for r in range(1, rows + 1)]


def test_the_table_lists_every_pair_with_the_rules_distance(offline):
    cfg = adhoc(BAD, primary="us-east-2")
    _, fig = figure_of(cfg)
    rows = table_rows(fig)
    points = cfg.locations
    assert len(rows) == len(points) * (len(points) - 1) // 2 == 15
    expected = {frozenset((a.code, b.code)): format_km(distance_km(a, b)) for a, b in itertools.combinations(points, 2)}
    assert {frozenset(pair.split(" - ")): km for pair, km, _ in rows} == expected
    red = {frozenset(pair.split(" - ")) for pair, _, colour in rows if same_color(colour, fleetmap.VIOLATION)}
    assert red == {frozenset(("eu-west-2", "eu-west-3"))}  # only the pair R1 finds under 500 km
    assert rows[0][:2] == ("eu-west-2 - eu-west-3", "344 km")  # nearest first


def test_the_table_of_a_single_location_says_there_is_no_pair(offline):
    _, fig = figure_of(adhoc(["eu-west-1"], primary=None))
    [ax] = by_gid(fig, "distances")
    assert len(ax.tables) == 0 and "no pair" in ax.texts[0].get_text()
    assert len(table_rows(figure_of(adhoc(["eu-west-1"], primary="ap-south-1"))[1])) == 1


def test_the_footer_states_version_stack_file_hash_and_coordinate_source(offline):
    features = aws_hosts_features()
    [footer] = by_gid(map_figure(features, "aws-hosts"), "provenance")
    text = footer.get_text()
    digest = hashlib.sha256((KIT / "stacks" / "Pulumi.aws-hosts.yaml").read_bytes()).hexdigest()
    assert f"mpic-fleet {KIT_VERSION} · stack file Pulumi.aws-hosts.yaml, SHA-256 {digest}" in text
    assert "centre of each region's named city (config/regions.yaml" in text and "± ~50 km" in text
    assert "sites as configured: ca-dc-newark" in text and "WGS84 geodesic" in text
    assert "BR 3.2.2.9 rules as of 2026-12-07" in text
    provenance = features["mpic"]["provenance"]
    assert provenance["stack_file_sha256"] == digest and provenance["kit_version"] == KIT_VERSION
    assert provenance["coordinate_uncertainty_km"] == 50


def test_an_ad_hoc_footer_says_so(offline):
    _, fig = figure_of(adhoc(BAD))
    [footer] = by_gid(fig, "provenance")
    assert "region set: ad hoc --regions (no stack file)" in footer.get_text() and "SHA-256" not in footer.get_text()
    assert "sites as configured" not in footer.get_text()


def test_the_legend_swatches_are_the_drawn_colours(offline):
    _, fig = figure_of(adhoc(BAD + ["af-south-1"]))
    ax, [legend] = map_axes(fig), fig.legends
    drawn_dots = {to_rgba(c.get_facecolor()[0]) for c in markers(fig) if c.get_paths()}
    drawn_discs = {p.get_facecolor() for p in ax.patches if isinstance(p, Polygon)}
    drawn_rims = {p.get_edgecolor() for p in ax.patches if isinstance(p, Polygon)}
    inside = legend.findobj(lambda a: a is not legend.legendPatch)
    swatch_dots = {to_rgba(h.get_markerfacecolor()) for h in inside if isinstance(h, Line2D) and h.get_marker() == "o"}
    swatch_star = [to_rgba(h.get_markerfacecolor()) for h in inside if isinstance(h, Line2D) and h.get_marker() == "*"]
    swatch_discs = {h.get_facecolor() for h in inside if isinstance(h, Patch)}
    swatch_rims = {h.get_edgecolor() for h in inside if isinstance(h, Patch)}
    rirs = {"ARIN", "LACNIC", "RIPE NCC", "APNIC", "AFRINIC"}
    assert swatch_dots == {to_rgba(RIR_COLOURS[r]) for r in rirs} <= drawn_dots
    assert swatch_discs == drawn_discs == {to_rgba(RIR_COLOURS[r], fleetmap.DISC_ALPHA) for r in rirs}
    assert swatch_rims == drawn_rims
    assert swatch_star == [to_rgba(RIR_COLOURS["ARIN"])]  # the primary us-east-1's star
    assert not any(same_color(c, "#999999") for c in swatch_discs | swatch_dots)  # no grey stand-in
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[:5] == sorted(rirs) and "primary perspective" in labels
    assert "pair under 500 km: violates BR 3.2.2.9 (R1)" in labels
    [violation] = [h for h, t in zip(legend.legend_handles, labels) if t.startswith("pair under")]
    assert same_color(violation.get_color(), fleetmap.VIOLATION)
    assert "500 km disc" in legend.get_title().get_text()


def test_the_svg_paints_the_violation_after_the_markers_and_holds_the_table(tmp_path, offline):
    out = tmp_path / "bad.svg"
    draw_map(exhibit_features(adhoc(BAD), "ad hoc --regions"), out, "bad")
    root = ET.parse(out).getroot()
    order = [el.get("id") for el in root.iter() if el.get("id")]
    assert order.index("violation-eu-west-2-eu-west-3") > max(order.index(f"location-{c}") for c in [*BAD, "us-east-1"])
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "344 km < 500 km" in text and "eu-west-2 - eu-west-3" in text and "18,532 km" in text
    assert "NOT compliant as of 2026-11-28" in text and f"mpic-fleet {KIT_VERSION}" in text


@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_the_same_exhibit_gives_the_same_bytes(tmp_path, suffix, offline):
    features = exhibit_features(adhoc(BAD), "ad hoc --regions")
    first, second = tmp_path / f"a.{suffix}", tmp_path / f"b.{suffix}"
    draw_map(features, first, "same")
    draw_map(json.loads(json.dumps(features)), second, "same")  # also when read back from the GeoJSON
    assert first.read_bytes() == second.read_bytes()


def test_a_long_distance_table_grows_the_figure_not_the_map(offline):
    ten = ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1", "ap-south-1", "eu-north-1",
           "ap-southeast-2", "ca-central-1", "me-central-1"]
    _, small = figure_of(adhoc(ten[:4]))
    _, large = figure_of(adhoc(ten))
    assert len(table_rows(large)) == 55
    assert large.get_size_inches()[1] > small.get_size_inches()[1]
    [ax] = by_gid(large, "distances")
    assert ax.get_position().y0 >= 0 and ax.get_position().y1 <= 1

    def map_inches(fig):
        box, (w, h) = map_axes(fig).get_position(), fig.get_size_inches()
        return box.width * w, box.height * h

    assert map_inches(large) == pytest.approx(map_inches(small))


# ---------------------------------------------------------------- the commands
runner = CliRunner()


def test_check_of_a_stack_file_writes_its_hash_verdict_and_violations_to_the_geojson(tmp_path):
    stack = tmp_path / "Pulumi.exhibit.yaml"
    stack.write_text("config:\n  mpic:target: local\n  mpic:primary: us-east-1\n  mpic:asOf: '2026-11-28'\n"
                     f"  mpic:perspectives: [{', '.join(BAD)}]\n", encoding="utf-8")
    geo, png = tmp_path / "x.geojson", tmp_path / "x.png"
    out = runner.invoke(app, ["check", str(stack), "--geojson", str(geo), "--map", str(png)])
    assert out.exit_code == 1, out.output
    doc = json.loads(geo.read_text())
    assert doc["mpic"]["verdict"]["compliant"] is False
    assert doc["mpic"]["verdict"]["text"].startswith("NOT compliant as of 2026-11-28: R1 eu-west-2 - eu-west-3")
    assert doc["mpic"]["provenance"]["stack_file_sha256"] == hashlib.sha256(stack.read_bytes()).hexdigest()
    [pair] = [f for f in doc["features"] if f["properties"]["kind"] == "violating_pair"]
    assert pair["properties"]["codes"] == ["eu-west-2", "eu-west-3"] and pair["properties"]["rule"] == "R1"
    assert pair["properties"]["distance_km"] == round(distance_km(lookup("eu-west-2"), lookup("eu-west-3")), 3)
    assert pair["geometry"]["type"] == "LineString"
    assert [r["violation"] for r in doc["mpic"]["distances_km"]].count(True) == 1
    assert png.read_bytes().startswith(PNG_MAGIC)


def test_suggest_names_its_command_as_the_region_sets_origin(tmp_path):
    geo = tmp_path / "s.geojson"
    out = runner.invoke(app, ["suggest", "--count", "4", "--primary", "us-east-1", "--as-of", "2026-11-28",
                              "--geojson", str(geo)])
    assert out.exit_code == 0, out.output
    doc = json.loads(geo.read_text())["mpic"]
    assert doc["provenance"]["region_set"].startswith("ad hoc, ./scripts/mpic suggest --count 4 --primary us-east-1")
    assert doc["provenance"]["stack_file"] is None
    assert doc["verdict"]["compliant_until"] == "2026-12-14"  # what suggest's own sizing line says
    assert "--count 4: compliant until 2026-12-14 only" in out.stdout


def test_write_fleet_files_titles_the_map_and_does_nothing_unasked(tmp_path, monkeypatch, offline):
    cfg = adhoc(["eu-west-1"], primary="ap-south-1")
    with monkeypatch.context() as m:  # without --map or --geojson no verdict is computed, nothing drawn
        m.setattr(fleetmap, "exhibit_features", lambda *a, **k: pytest.fail("computed an exhibit nobody asked for"))
        fleetmap.write_fleet_files(cfg, "ad hoc --regions")
    out = tmp_path / "one.svg"
    fleetmap.write_fleet_files(cfg, "ad hoc --regions", out, heading="mpic check")
    root = ET.parse(out).getroot()
    [title] = [el for el in root.iter() if el.get("id") == "title"]
    assert "mpic check: 1 remote perspective + primary ap-south-1" in "".join(title.itertext())
    assert [p.name for p in tmp_path.iterdir()] == ["one.svg"]
