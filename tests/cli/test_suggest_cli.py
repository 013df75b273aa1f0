"""``mpic suggest``: a compliant set that ``mpic check`` accepts, the issue's JSON keys, the proof,
the time on the 34 AWS regions, the map, the budget, and the repaired set ``mpic check`` prints."""

from __future__ import annotations

import json
import shlex
import time

import pytest
from PIL import Image
from typer.testing import CliRunner

from cli.__main__ import app
from config.catalog import load_catalog
from plan.prices import PRICE_TABLE_DATE

runner = CliRunner()
ISSUE_KEYS = ["perspectives", "primary", "proven_optimal", "min_pair_km", "rirs", "quorum_rtt_ms_bound",
              "monthly_usd", "stack_yaml"]
AWS = [code for code, loc in load_catalog().items() if loc.provider == "aws"]


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def test_count_5_primary_us_east_1_is_proven_optimal_fast_and_passes_check():
    assert len(AWS) == 34
    t0 = time.perf_counter()
    out = invoke("suggest", "--count", "5", "--primary", "us-east-1", "--as-of", "2026-12-15", "--json")
    wall = time.perf_counter() - t0
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert list(doc)[:len(ISSUE_KEYS)] == ISSUE_KEYS
    assert doc["proven_optimal"] is True and doc["primary"] == "us-east-1" and len(doc["perspectives"]) == 5
    assert doc["elapsed_s"] < 5 and wall < 5, (doc["elapsed_s"], wall)
    assert doc["monthly_usd"] is None and sum(doc["rirs"].values()) == 5
    check = invoke(*shlex.split(doc["check_command"])[1:], "--json")
    assert check.exit_code == 0 and json.loads(check.stdout)["compliant"] is True


def test_human_output_names_each_region_its_reason_the_figures_and_the_block():
    out = invoke("suggest", "--primary", "us-east-1", "--as-of", "2026-12-15")
    assert out.exit_code == 0, out.output
    text = out.stdout
    assert "5 remote perspectives, primary us-east-1, as of 2026-12-15: proven optimal" in text
    assert "smallest distance: 6,566 km (us-east-1 - eu-central-1)" in text and "quorum latency: >= 126.2 ms" in text
    assert "sa-east-1 (Sao Paulo; the only LACNIC perspective)" in text
    assert "mpic:primary: us-east-1\nmpic:perspectives:\n  - sa-east-1\n" in text
    assert "check it: ./scripts/mpic check --regions sa-east-1,eu-central-1" in text


def test_budget_prices_the_regions_for_the_target(tmp_path):
    free = json.loads(invoke("suggest", "--primary", "us-east-1", "--as-of", "2026-12-15", "--target", "aws-hosts",
                             "--json").stdout)
    assert free["monthly_usd"] > 0
    cap = free["monthly_usd"] - 1
    capped = invoke("suggest", "--primary", "us-east-1", "--as-of", "2026-12-15", "--target", "aws-hosts",
                    "--max-monthly-usd", f"{cap:.2f}", "--json")
    assert capped.exit_code == 0, capped.output
    doc = json.loads(capped.stdout)
    assert doc["monthly_usd"] <= cap and doc["perspectives"] != free["perspectives"]
    usage = tmp_path / "usage.yaml"
    usage.write_text("validations_per_month: 10000000\n")
    base = json.loads(invoke("suggest", "--primary", "us-east-1", "--as-of", "2026-12-15", "--target", "aws-lambda",
                             "--json").stdout)
    busy = invoke("suggest", "--primary", "us-east-1", "--as-of", "2026-12-15", "--target", "aws-lambda", "--usage",
                  str(usage))
    assert busy.exit_code == 0 and f"USD for the perspectives on aws-lambda (prices of {PRICE_TABLE_DATE}" in busy.stdout
    monthly = float(busy.stdout.split("monthly cost: ")[1].split()[0].replace(",", ""))
    assert monthly > 5 * base["monthly_usd"]


def test_unproven_answer_says_so():
    out = invoke("suggest", "--count", "10", "--providers", "aws,gcp,azure", "--primary", "eu-west-1",
                 "--time-budget", "0.000001", "--as-of", "2026-12-15")
    assert out.exit_code == 0 and "NOT proven optimal" in out.stdout and "raise --time-budget" in out.stdout


def test_map_and_geojson_of_a_suggestion(tmp_path):
    png, geo = tmp_path / "s.png", tmp_path / "s.geojson"
    out = invoke("suggest", "--primary", "us-east-1", "--as-of", "2026-12-15", "--map", str(png), "--geojson", str(geo))
    assert out.exit_code == 0, out.output
    assert Image.open(png).size[0] > 1000
    features = json.loads(geo.read_text())["features"]
    assert {f["properties"]["kind"] for f in features} == {"location", "disc", "nearest_pair"}
    assert sum(f["properties"].get("role") == "primary" for f in features if f["properties"]["kind"] == "location") == 1


def test_check_prints_one_repaired_set_and_the_command_that_reproduces_it():
    regions = "eu-west-1,eu-north-1,ap-south-1,eu-west-2,eu-west-3,us-east-1"
    out = invoke("check", "--regions", regions, "--primary", "us-east-2", "--as-of", "2026-12-15")
    assert out.exit_code == 1
    text = out.stdout
    assert text.count("Fix: the repaired set below.") == 3 and "Replace" not in text
    assert "Repaired set (proven best): keeps 4 of the 6 regions, replaces 2" in text
    command = next(line for line in text.splitlines() if line.startswith("the same set: "))
    block = text[text.rindex("mpic:perspectives:\n"):text.index("the same set: ")]
    repaired = [line.strip()[2:] for line in block.splitlines()[1:]]
    again = json.loads(invoke(*shlex.split(command.removeprefix("the same set: "))[1:], "--json").stdout)
    assert sorted(again["perspectives"]) == sorted(repaired)
    fixed = invoke("check", "--regions", ",".join(repaired), "--primary", "us-east-2", "--as-of", "2026-12-15")
    assert fixed.exit_code == 0


def test_check_json_carries_the_repair_and_the_per_finding_fixes():
    out = invoke("check", "--regions", "us-east-1,us-east-2,eu-west-1,ap-northeast-1,sa-east-1", "--primary",
                 "us-west-2", "--as-of", "2026-12-15", "--json")
    doc = json.loads(out.stdout)
    assert out.exit_code == 1 and doc["repair"]["command"].startswith("./scripts/mpic suggest --count 5")
    (old, new), = doc["repair"]["replaced"]
    # every region finding's fix names the repaired set's change, and that set
    assert doc["violations"][0]["fix"] == (f"The closest compliant set: replace {old} with {new} "
                                           f"(mpic:perspectives: {', '.join(doc['repair']['perspectives'])}).")
    compliant = json.loads(invoke("check", "aws-hosts", "--as-of", "2026-12-15", "--json").stdout)
    assert "repair" not in compliant


def test_check_without_a_possible_repair_says_why():
    pool = ",".join(code for code in AWS if code != "us-east-1")  # 33 regions pairwise >= 500 km: impossible
    out = invoke("check", "--regions", pool, "--primary", "us-east-1", "--as-of", "2026-12-15")
    assert out.exit_code == 1 and "No repaired set: mpic:perspectives: no compliant set of" in out.stdout
    doc = json.loads(invoke("check", "--regions", pool, "--primary", "us-east-1", "--json").stdout)
    assert "no compliant set" in doc["repair"]["error"]


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_check_aws_hosts_map(tmp_path, suffix):
    path = tmp_path / f"m.{suffix}"
    out = invoke("check", "aws-hosts", "--map", str(path), "--geojson", str(tmp_path / "m.json"))
    assert out.exit_code == 0, out.output
    assert path.stat().st_size > 10_000
    codes = {f["properties"].get("code") for f in json.loads((tmp_path / "m.json").read_text())["features"]}
    assert {"ca-dc-newark", "us-west-2", "sa-east-1", "ap-southeast-2"} <= codes


def test_the_command_line_of_a_request_names_every_non_default_option():
    from cli.suggest import suggest_command
    from config.catalog import Location, Rir
    from plan.suggest import SuggestRequest
    import datetime as dt

    site = Location(code="dc", city="dc", lat=40.74, lon=-74.17, rir=Rir.RIPE_NCC)
    request = SuggestRequest(count=6, primary=site, providers=frozenset({"aws", "gcp"}), include=("eu-west-1",),
                             exclude=frozenset({"us-east-2", "af-south-1"}), no_opt_in=True, max_monthly_usd=700,
                             time_budget_s=9, as_of=dt.date(2026, 12, 15))
    assert suggest_command(request) == (
        "./scripts/mpic suggest --count 6 --primary-site 40.74,-74.17,RIPENCC --providers aws,gcp --include eu-west-1 "
        "--exclude af-south-1,us-east-2 --no-opt-in --max-monthly-usd 700 --time-budget 9 --as-of 2026-12-15")


def test_a_primary_site_and_the_command_it_prints():
    out = invoke("suggest", "--primary-site", "40.74,-74.17,ARIN", "--as-of", "2026-12-15", "--json")
    doc = json.loads(out.stdout)
    assert out.exit_code == 0 and doc["primary"] == {"name": "primary-site", "lat": 40.74, "lon": -74.17, "rir": "ARIN"}
    assert "--primary-site 40.74,-74.17,ARIN" in doc["check_command"]
    check = invoke(*shlex.split(doc["check_command"])[1:], "--json")
    assert check.exit_code == 0


def test_usage_without_a_target_is_refused(tmp_path):
    out = invoke("suggest", "--usage", str(tmp_path / "u.yaml"), "--json")
    assert out.exit_code == 2 and json.loads(out.stdout)["error"]["fix"] == "add --target aws-hosts or aws-lambda"


def test_plan_numbers_read_well():
    from cli.plan import number

    assert [number(x) for x in (1_000_000.0, 0.3, 2e-07, 1234.5678, 0.0416)] == [
        "1,000,000", "0.3", "0.0000002", "1,234.6", "0.0416"]


@pytest.mark.parametrize("as_of, sized_for, count", [
    ("2026-12-07", "2027-01-06", 5),   # 8 days before the 5-perspective phase-in: sized for it
    ("2026-06-07", "2026-07-07", 4),   # the next phase-in (06-15) falls inside the 30-day look-ahead
    ("2026-02-20", "2026-03-22", 3),   # R3's 3 and R5's RIRs from 03-15
])
def test_a_default_set_stays_compliant_through_the_look_ahead(as_of, sized_for, count):
    out = invoke("suggest", "--primary", "us-east-1", "--as-of", as_of, "--json")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert (len(doc["perspectives"]), doc["as_of"], doc["sized_for"]) == (count, as_of, sized_for)
    assert doc["sizing"].startswith(f"sized for the BR 3.2.2.9 minimum in force on {sized_for}")
    later = invoke("check", "--regions", ",".join(doc["perspectives"]), "--primary", "us-east-1",
                   "--as-of", sized_for, "--json")
    assert later.exit_code == 0 and json.loads(later.stdout)["compliant"] is True, later.output


def test_an_explicit_count_says_until_when_it_is_compliant():
    out = invoke("suggest", "--primary", "us-east-1", "--as-of", "2026-12-07", "--count", "4")
    assert out.exit_code == 0, out.output
    assert "--count 4: compliant until 2026-12-14 only; from 2026-12-15 BR 3.2.2.9 needs 5" in out.stdout
    enough = invoke("suggest", "--primary", "us-east-1", "--as-of", "2026-12-07", "--count", "6", "--json")
    assert json.loads(enough.stdout)["sizing"] == "--count 6: compliant through 2027-01-06 and on"


def test_check_repairs_a_small_set_for_the_look_ahead():
    out = invoke("check", "--regions", "us-west-2,eu-west-1", "--primary", "us-east-1", "--as-of", "2026-12-07",
                 "--json")
    assert out.exit_code == 1
    repair = json.loads(out.stdout)["repair"]
    assert len(repair["perspectives"]) == 5 and repair["sized_for"] == "2027-01-06"
    assert {"us-west-2", "eu-west-1"} <= set(repair["perspectives"])
    text = invoke("check", "--regions", "us-west-2,eu-west-1", "--primary", "us-east-1", "--as-of", "2026-12-07")
    assert "adds 3 (BR 3.2.2.9's minimum on 2027-01-06, the look-ahead)" in text.stdout
