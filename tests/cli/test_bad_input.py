"""Every bad input of the issue, and its neighbours, exits 2 with a message naming the key, the
value and the fix; with ``--json`` the same error is one JSON object on stdout."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.__main__ import app

runner = CliRunner()
FIVE = "[us-west-2, eu-west-1, ap-northeast-1, sa-east-1, ap-southeast-2]"


@dataclass
class Bad:
    """One bad input: the command (``{dir}`` is a scratch folder), the stack file it reads (if any),
    and what the error must say."""

    name: str
    args: list[str]
    key: str
    value: object
    parts: list[str]
    stack: str | None = None
    files: dict[str, str] = field(default_factory=dict)


STACK = "{dir}/Pulumi.bad.yaml"
CASES = [
    Bad("unquoted impossible date", ["check", STACK], "mpic:asOf", "2026-13-40",
        ["line 3, column 14", "month must be in 1..12", "YYYY-MM-DD"],
        stack=f"config:\n  mpic:perspectives: {FIVE}\n  mpic:asOf: 2026-13-40\n"),
    Bad("namespace typo", ["check", STACK], "mpc:target", "aws-hosts", ["unknown namespace 'mpc'",
                                                                        "did you mean mpic:target?"],
        stack=f"config:\n  mpc:target: aws-hosts\n  mpic:perspectives: {FIVE}\n"),
    Bad("key without namespace", ["check", STACK], "perspectiveCount", 4, ["needs a namespace",
                                                                          "write mpic:perspectiveCount"],
        stack=f"config:\n  mpic:perspectives: {FIVE}\n  perspectiveCount: 4\n"),
    Bad("empty stack file", ["check", STACK], "stack", "{dir}/Pulumi.bad.yaml",
        ["the file is empty", "mpic:perspectives: [us-west-2, eu-west-1, ap-northeast-1"], stack=""),
    Bad("no perspectives", ["check", STACK], "mpic:perspectives", None,
        ["missing", "e.g. mpic:perspectives: [us-west-2, eu-west-1"], stack="config:\n  mpic:target: local\n"),
    Bad("unknown mpic key", ["check", STACK], "mpic:perspectiveCont", 4,
        ["did you mean mpic:perspectiveCount?", "Valid keys of mpic: mpic:asOf, mpic:audit, mpic:aws"],
        stack=f"config:\n  mpic:perspectives: {FIVE}\n  mpic:perspectiveCont: 4\n"),
    Bad("typo inside mpic:aws", ["check", STACK], "mpic:aws.coordinatorRegon", "us-east-1",
        ["did you mean coordinatorRegion?", "Valid keys of mpic:aws: apiGatewayKeys, architecture"],
        stack=f"config:\n  mpic:perspectives: {FIVE}\n  mpic:aws:\n    coordinatorRegon: us-east-1\n"
              "    domain: mpic.example.com\n"),
    Bad("typo inside mpic:k8s", ["check", STACK], "mpic:k8s.hubEgresCidrs", ["198.51.100.0/28"],
        ["did you mean hubEgressCidrs?", "Valid keys of mpic:k8s:"],
        stack=f"config:\n  mpic:perspectives: {FIVE}\n  mpic:k8s: {{hubEgresCidrs: [198.51.100.0/28]}}\n"),
    Bad("value out of range in mpic:aws", ["check", STACK], "mpic:aws.volumeSizeGb", 2,
        ["greater than or equal to 8", "(got 2)"],
        stack=f"config:\n  mpic:perspectives: {FIVE}\n  mpic:aws: {{volumeSizeGb: 2, domain: a.example.com}}\n"),
    Bad("broken YAML", ["check", STACK], "stack", "{dir}/Pulumi.bad.yaml",
        ["line 3, column 14", "expected ',' or ']'", "line 2, column 22"],
        stack="config:\n  mpic:perspectives: [us-west-2, eu-west-1\n  mpic:target: local\n"),
    Bad("unknown region", ["check", "--regions", "us-west-2,eu-wset-1"], "mpic:perspectives[1]", "eu-wset-1",
        ["unknown region 'eu-wset-1'", "e.g. eu-west-1"]),
    Bad("impossible --as-of", ["check", "local", "--as-of", "2026-02-30"], "--as-of", "2026-02-30",
        ["not a date", "YYYY-MM-DD"]),
    Bad("map of an unknown format", ["check", "local", "--map", "{dir}/m.jpg"], "--map", "{dir}/m.jpg",
        ["extension '.jpg'", "*.png or *.svg"]),
    Bad("map in a missing folder", ["check", "local", "--map", "{dir}/nope/m.png"], "--map", "{dir}/nope/m.png",
        ["does not exist"]),
    Bad("option of the wrong type", ["suggest", "--count", "five"], "--count", "five", ["Invalid value for '--count'"]),
    Bad("unknown option", ["check", "local", "--region", "us-east-1"], "--region", None, ["No such option"]),
    Bad("suggest: count below the R3 minimum", ["suggest", "--count", "4", "--as-of", "2026-12-15"], "--count", 4,
        ["BR 3.2.2.9 needs >= 5", "Use --count 5 or more"]),
    Bad("suggest: unknown --include", ["suggest", "--include", "mars-1"], "--include", "mars-1",
        ["unknown region 'mars-1'"]),
    Bad("suggest: budget without target", ["suggest", "--max-monthly-usd", "100"], "--max-monthly-usd", 100.0,
        ["Add --target aws-hosts"]),
    Bad("suggest: unpriced target", ["suggest", "--target", "k8s"], "--target", "k8s", ["aws-hosts or aws-lambda"]),
    Bad("suggest: impossible --as-of", ["suggest", "--as-of", "2026-13-40"], "--as-of", "2026-13-40",
        ["not a date"]),
    Bad("suggest: primary and site", ["suggest", "--primary", "us-east-1", "--primary-site", "40.7,-74.0,ARIN"],
        "--primary", "us-east-1", ["alternatives"]),
    Bad("suggest: unknown usage key", ["suggest", "--target", "aws-hosts", "--usage", "{dir}/u.yaml"],
        "--usage.validations", 5, ["did you mean validations_per_month?"], files={"u.yaml": "validations: 5\n"}),
    Bad("plan: usage value of the wrong type", ["plan", "aws-hosts", "--usage", "{dir}/u.yaml"],
        "--usage.hours_per_month", "all", ["not a number"], files={"u.yaml": "hours_per_month: all\n"}),
    Bad("plan: unquoted impossible date", ["plan", STACK], "mpic:asOf", "2026-13-40", ["line 4, column 14"],
        stack=f"config:\n  mpic:target: aws-hosts\n  mpic:perspectives: {FIVE}\n  mpic:asOf: 2026-13-40\n"),
]


def _materialise(case: Bad, tmp_path: Path) -> tuple[list[str], object]:
    if case.stack is not None:
        (tmp_path / "Pulumi.bad.yaml").write_text(case.stack)
    for name, text in case.files.items():
        (tmp_path / name).write_text(text)
    value = case.value.replace("{dir}", str(tmp_path)) if isinstance(case.value, str) else case.value
    return [a.replace("{dir}", str(tmp_path)) for a in case.args], value


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input_exits_2_naming_key_value_and_fix(case, tmp_path):
    args, value = _materialise(case, tmp_path)
    human = runner.invoke(app, args)
    assert human.exit_code == 2, human.output
    assert "Traceback" not in human.output and human.stdout == ""
    text = " ".join(human.stderr.split())  # one message, however the terminal wrapped it
    for part in case.parts:
        assert part in text, (part, text)
    as_json = runner.invoke(app, [*args, "--json"])
    assert as_json.exit_code == 2 and as_json.stderr == ""
    error = json.loads(as_json.stdout)["error"]
    assert error["key"] == case.key and error["value"] == value and error["fix"]
    for part in case.parts:
        assert part in error["message"], (part, error["message"])
    if isinstance(value, str) and error["key"] not in ("stack", "--map"):
        assert value in error["message"]


def test_region_codes_are_case_insensitive(tmp_path):
    stack = tmp_path / "Pulumi.upper.yaml"
    stack.write_text("config:\n  mpic:primary: US-EAST-1\n  mpic:perspectives: [US-WEST-2, EU-West-1, ap-northeast-1, "
                     "sa-east-1, ap-southeast-2]\n  mpic:asOf: '2026-12-15'\n")
    out = runner.invoke(app, ["check", str(stack), "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert [p["code"] for p in doc["perspectives"]][:2] == ["us-west-2", "eu-west-1"] and doc["primary"]["code"] == "us-east-1"
    suggested = runner.invoke(app, ["suggest", "--primary", "US-EAST-1", "--include", "SA-EAST-1", "--json"])
    assert suggested.exit_code == 0 and "sa-east-1" in json.loads(suggested.stdout)["perspectives"]


def test_errors_of_commands_without_json_stay_one_line_on_stderr():
    out = runner.invoke(app, ["build", "everything"])
    assert out.exit_code == 2 and out.stdout == "" and "unknown artifact" in out.stderr
