"""``./scripts/mpic check``: exit codes, JSON shape, human output, bad input without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from cli import check as _check  # noqa: F401  (registers the command)

KIT = Path(__file__).resolve().parents[2]
runner = CliRunner()

GOOD = "us-west-2,eu-west-1,ap-northeast-1,sa-east-1,af-south-1"


def run(*args):
    result = runner.invoke(app, ["check", *args])
    assert "Traceback" not in result.output
    return result


def test_acceptance_r1_json_exit_1():
    r = run("--regions", "us-east-1,us-east-2,eu-west-1,ap-northeast-1,sa-east-1", "--primary", "us-west-2",
            "--as-of", "2026-12-15", "--json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["compliant"] is False and data["as_of"] == "2026-12-15"
    r1 = [v for v in data["violations"] if v["rule"] == "R1"]
    assert len(r1) == 1 and r1[0]["regions"] == ["us-east-1", "us-east-2"] and r1[0]["distance_km"] < 500
    assert [p["code"] for p in data["perspectives"]] == ["us-east-1", "us-east-2", "eu-west-1", "ap-northeast-1",
                                                          "sa-east-1"]
    assert set(data["perspectives"][0]) >= {"code", "city", "rir", "lat", "lon"}


def test_acceptance_compliant_exit_0_with_table():
    r = run("--regions", GOOD, "--primary", "us-east-1", "--as-of", "2026-12-15")
    assert r.exit_code == 0, r.output
    assert "nearest other" in r.output and "sa-east-1" in r.output and "compliant" in r.output


def test_acceptance_four_regions_by_date():
    four = "us-west-2,eu-west-1,ap-northeast-1,sa-east-1"
    r = run("--regions", four, "--primary", "us-east-1", "--as-of", "2026-12-15")
    assert r.exit_code == 1 and "R3" in r.output
    r = run("--regions", four, "--primary", "us-east-1", "--as-of", "2026-07-01", "--json")
    assert r.exit_code == 0
    warnings = json.loads(r.stdout)["warnings"]
    assert any(w["rule"] == "R3" and "2026-12-15" in w["message"] for w in warnings)


@pytest.mark.parametrize("args,needle", [
    (["--regions", "us-east-1,xx-nowhere-9"], "xx-nowhere-9"),
    (["--regions", "us-east-1,us-east-1"], "listed twice"),
    (["--regions", "us-east-1,,eu-west-1"], "empty item"),
    (["--regions", GOOD, "--as-of", "2026-02-30"], "--as-of"),
    (["--regions", GOOD, "--primary-site", "40.7,-74.0"], "LAT,LON,RIR"),
    (["--regions", GOOD, "--primary-site", "north,-74.0,ARIN"], "must be numbers"),
    (["--regions", GOOD, "--primary-site", "40.7,-74.0,IANA"], "rir"),
    (["--regions", GOOD, "--primary", "us-east-1", "--primary-site", "40.7,-74.0,ARIN"], "alternatives"),
    ([], "give a STACK or --regions"),
    (["local", "--regions", GOOD], "give a STACK or --regions"),
    (["local", "--primary", "us-east-1"], "only go with --regions"),
    (["no-such-stack"], "Known stacks"),
])
def test_bad_input_exit_2(args, needle):
    r = run(*args)
    assert r.exit_code == 2, r.output
    assert needle in r.output


def test_primary_site_and_ripe_spelling():
    r = run("--regions", GOOD, "--primary-site", "40.71,-74.01,ARIN", "--as-of", "2026-12-15", "--json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["primary"]["code"] == "primary-site"
    for spelling in ("ripe", "RIPE NCC", "ripe_ncc", "RIPENCC"):
        r = run("--regions", "us-west-2,eu-west-1", "--primary-site", f"48.0,11.0,{spelling}", "--json")
        assert json.loads(r.stdout)["primary"]["rir"] == "RIPE NCC", spelling


def test_stack_files(tmp_path):
    for stack in ("local", "aws-hosts", "aws-lambda", "k8s"):
        r = run(stack, "--as-of", "2026-12-15", "--json")
        assert r.exit_code == 0, (stack, r.output)
        assert len(json.loads(r.stdout)["perspectives"]) >= 5
    broken = tmp_path / "Pulumi.broken.yaml"
    broken.write_text("config:\n  mpic:perspectives: [us-east-1\n")
    r = run(str(broken))
    assert r.exit_code == 2 and "not valid YAML" in r.output and "line 3, column 1" in r.output
    notmap = tmp_path / "Pulumi.notmap.yaml"
    notmap.write_text("- a\n- b\n")
    assert run(str(notmap)).exit_code == 2
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  mpic:target: aws-hosts\n  mpic:perspectives: [us-east-1, us-east-2, eu-west-1]\n"
                   "  mpic:asOf: '2026-12-15'\n")
    r = run(str(bad))
    assert r.exit_code == 1 and "R1" in r.output and "R3" in r.output


def test_every_shipped_stack_is_compliant_on_2026_12_15():
    for path in sorted((KIT / "stacks").glob("Pulumi.*.yaml")):
        r = run(str(path), "--as-of", "2026-12-15", "--json")
        assert r.exit_code == 0, (path.name, r.output)


def test_real_entry_point_script():
    """The bash wrapper: bootstraps (already done) and keeps the exit code and JSON contract."""
    env = {**os.environ, "PYTHONPATH": ""}
    p = subprocess.run([str(KIT / "scripts" / "mpic"), "check", "--regions", "us-east-1,xx-nowhere-9"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 2 and "xx-nowhere-9" in p.stderr and "Traceback" not in p.stderr
    p = subprocess.run([str(KIT / "scripts" / "mpic"), "check", "--regions", GOOD, "--json"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0 and json.loads(p.stdout)["compliant"] is True


ALIAS_BOMB = "config:\n  mpic:perspectives: &a [us-west-2, eu-west-1]\n" + "".join(
    f"  mpic:b{i}: &b{i} [{', '.join(['*a' if i == 0 else f'*b{i - 1}'] * 9)}]\n" for i in range(9))


@pytest.mark.parametrize("content, needle", [
    (ALIAS_BOMB, "an alias (*a); anchors and aliases are not accepted"),
    ("config:\n  mpic:perspectives: [us-west-2, eu-west-1]\n" + "# padding\n" * 120_000, "larger than any stack"),
])
def test_hostile_stack_files_are_refused_at_once(tmp_path, content, needle):
    path = tmp_path / "Pulumi.hostile.yaml"
    path.write_text(content)
    r = run(str(path), "--json")
    assert r.exit_code == 2 and needle in json.loads(r.stdout)["error"]["message"], r.output


def test_help_flags_plurals_and_no_emoji(tmp_path):
    assert run("-h").exit_code == 0 and "Usage: mpic check" in run("-h").output
    one = run("--regions", GOOD, "--primary", "us-east-1", "--as-of", "2026-12-15")
    assert "(0 violations, 1 warning)." in one.output  # DIVERSITY: one warning, singular
    path = tmp_path / "Pulumi.emoji.yaml"
    path.write_text("config:\n  mpic:smile: 1\n")
    r = run(str(path))
    assert r.exit_code == 2 and "mpic:smile:" in r.output and "\N{SMILING FACE WITH OPEN MOUTH}" not in r.output


@pytest.mark.parametrize("line, fix", [
    ("  mpic:hashSecret: hunter2-hunter2\n", "pulumi config set --secret mpic:hashSecret"),
    ("  mpic:apiKeys: [k1, {secure: v1:abc}]\n", "pulumi config set --secret --path 'mpic:apiKeys[0]'"),
    ("  mpic:kubeconfig: 'apiVersion: v1'\n", "pulumi config set --secret mpic:kubeconfig"),
    ("  mpic:canaryTsigSecret: c2VjcmV0\n", "pulumi config set --secret mpic:canaryTsigSecret VALUE"),
])
def test_a_secret_in_clear_text_is_refused(tmp_path, line, fix):
    path = tmp_path / "Pulumi.leaky.yaml"
    path.write_text(f"config:\n  mpic:perspectives: [{GOOD}]\n{line}")
    r = run(str(path), "--json")
    error = json.loads(r.stdout)["error"]
    assert r.exit_code == 2 and "clear text" in error["message"] and fix in error["fix"], r.output
    assert line.split(":", 2)[2].strip() not in r.output  # the secret itself is never echoed


def test_encrypted_secrets_pass(tmp_path):
    path = tmp_path / "Pulumi.sealed.yaml"
    path.write_text(f"config:\n  mpic:perspectives: [{GOOD}]\n  mpic:hashSecret: {{secure: v1:AAAA}}\n"
                    "  mpic:apiKeys:\n    - secure: v1:BBBB\n")
    assert run(str(path), "--as-of", "2026-12-15").exit_code == 0


@pytest.mark.parametrize("target, code, words", [
    ("aws-hosts", 1, "VIOLATION R1: mpic:primary: not set"),
    ("k8s", 1, "VIOLATION R1: mpic:primary: not set"),
    ("local", 0, "warning   R1: mpic:primary: not set"),
])
def test_a_missing_primary_is_an_error_for_a_stack_deploying_to_a_cloud(tmp_path, target, code, words):
    """#23 part 7: a missing mpic:primary was only a warning, and the stack still "compliant"."""
    stack = tmp_path / "Pulumi.noprimary.yaml"
    stack.write_text(f"config:\n  mpic:target: {target}\n  mpic:asOf: '2026-12-15'\n"
                     "  mpic:perspectives: [us-west-2, eu-west-1, ap-northeast-1, sa-east-1, ap-southeast-2]\n")
    out = CliRunner().invoke(app, ["check", str(stack)])
    assert out.exit_code == code and words in out.stdout
