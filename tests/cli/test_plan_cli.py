"""``mpic plan`` on the command line: progress on stderr only, dated cost lines and what is not
priced, and ``--diff`` against a stack or a saved ``mpic plan --json`` file (resource by resource)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli.plan  # noqa: F401 - registers the command
from cli import app
from plan.prices import CLUSTER_TYPE

runner = CliRunner()
PROGRESS = re.compile(r"^\[ *\d+\.\ds\] ", re.M)


def invoke(*args: str):
    return runner.invoke(app, ["plan", *args])


def exit_of(doc: dict) -> int:
    """The exit code a compliant plan without policy violations has: 0 ready, 3 not."""
    return 0 if doc["ready"] else 3


@pytest.fixture(scope="module")
def saved(tmp_path_factory, artifacts) -> dict[str, Path]:
    """``mpic plan STACK --json > STACK.json`` of both AWS examples."""
    folder = tmp_path_factory.mktemp("saved")
    out = {}
    for name in ("aws-lambda", "aws-hosts"):
        result = invoke(name, "--json")
        path = folder / f"{name}.json"
        path.write_text(result.stdout, encoding="utf-8")
        out[name] = path
    return out


def test_progress_goes_to_stderr_and_json_stdout_is_one_object(saved):
    out = invoke("aws-lambda", "--json")
    doc = json.loads(out.stdout)  # nothing but the one object
    assert out.exit_code == exit_of(doc) and not PROGRESS.search(out.stdout)
    custom = sum(1 for r in doc["resources"] if not r["type"].startswith("mpic:"))
    steps = [PROGRESS.sub("", line) for line in out.stderr.splitlines()]
    assert steps[:3] == ["planning aws-lambda: running the program under Pulumi's mocks...",
                         f"planning aws-lambda: checking {len(doc['resources'])} resources against the policy pack...",
                         f"planning aws-lambda: pricing {custom} resources..."]
    assert steps[-1] == f"planned aws-lambda: {len(doc['resources'])} resources, " \
                        f"{doc['monthly_cost_usd']['total']:,.2f} USD/month"
    human = invoke("aws-lambda")
    assert "running the program under Pulumi's mocks" in human.stderr
    assert "Pulumi's mocks" not in human.stdout and not PROGRESS.search(human.stdout)


def test_cost_lines_show_their_unit_price_and_the_month_of_its_list():
    out = invoke("aws-hosts")
    assert "as of" in out.stdout and "AWS list prices per region" in out.stdout
    nlb = [row for row in out.stdout.splitlines() if row.startswith("ap-northeast-1 ") and "LB-hour" in row]
    assert len(nlb) == 1 and re.search(r"LB-hour +0\.0243 +2025-01 +17\.74$", nlb[0]), nlb
    unpriced = out.stdout.split("not priced, not in the total: ")[1].splitlines()
    assert unpriced[0].startswith("1 resource") and re.match(r"us-east-1 +aws:s3/bucket:Bucket +runtime ", unpriced[2])


def test_k8s_says_its_clusters_are_not_priced():
    out = invoke("k8s", "--json")
    doc = json.loads(out.stdout)
    yours = [n for n in doc["monthly_cost_usd"]["not_priced"] if n["type"] == CLUSTER_TYPE]
    assert {n["region"] for n in yours} == set(doc["monthly_cost_usd"]["by_region"]) and len(yours) == 6
    assert all(n["reason"].startswith("the cluster is yours") for n in yours)
    human = invoke("k8s")
    assert "not priced, not in the total: 6 resources" in human.stdout and "the cluster is yours" in human.stdout


def test_diff_against_a_saved_plan_equals_the_diff_against_the_stack(saved):
    from_file = json.loads(invoke("aws-hosts", "--diff", str(saved["aws-lambda"]), "--json").stdout)
    from_stack = json.loads(invoke("aws-hosts", "--diff", "aws-lambda", "--json").stdout)
    assert from_file["diff"]["base"] == from_stack["diff"]["base"] == "aws-lambda"
    assert from_file["diff"]["base_file"] == str(saved["aws-lambda"]) and from_stack["diff"]["base_file"] is None
    assert {k: v for k, v in from_file["diff"].items() if k != "base_file"} == \
           {k: v for k, v in from_stack["diff"].items() if k != "base_file"}
    diff = from_file["diff"]
    hosts, lam = from_file["monthly_cost_usd"]["total"], json.loads(saved["aws-lambda"].read_text())
    assert diff["total"] == {"base": lam["monthly_cost_usd"]["total"], "stack": hosts,
                             "delta": round(hosts - lam["monthly_cost_usd"]["total"], 2)}
    changes = {(r["change"], r["type"], r["name"]): r for r in diff["resources"]}
    asg = changes[("+", "aws:autoscaling/group:Group", "persp-sa-east-1-asg")]
    assert asg["region"] == "sa-east-1" and asg["base_usd"] == 0.0 and asg["stack_usd"] > 50
    fn = changes[("-", "aws:lambda/function:Function", "persp-sa-east-1-fn")]
    assert fn["stack_usd"] == 0.0 and fn["base_usd"] > 5
    assert all(set(r) == {"change", "type", "name", "region", "base_usd", "stack_usd"} for r in diff["resources"])
    assert set(diff["by_region"]) >= {"us-east-1", "sa-east-1"} and diff["assumptions_differ"] == []


def test_diff_against_its_own_saved_plan_is_empty_and_prints_resource_lines(saved):
    same = json.loads(invoke("aws-lambda", "--diff", str(saved["aws-lambda"]), "--json").stdout)["diff"]
    assert same["total"]["delta"] == 0.0 and same["resources"] == []
    assert all(row["delta"] == 0.0 for row in same["by_region"].values())
    human = invoke("aws-hosts", "--diff", str(saved["aws-lambda"]))
    text = human.stdout
    assert f"monthly cost: aws-hosts - aws-lambda (saved plan {saved['aws-lambda']})" in text
    rows = text.split("largest change first (USD/month, base -> stack):")[1].splitlines()
    first = r"\+ +aws:autoscaling/group:Group +persp-\S+-asg +\S+ +0\.00 -> [\d.]+ +\+[\d.]+$"
    assert re.match(first, rows[1]), rows[1]
    assert any(re.match(r"- +aws:lambda/function:Function +coord-us-east-1-fn +us-east-1 +[\d.]+ -> 0\.00 +-", r)
               for r in rows)
    assert re.search(r"^\+ \d+ resources added at no cost: .*, \d+ Route, ", text, re.M)
    assert re.search(r"^- \d+ resources removed at no cost: ", text, re.M)


def test_diff_notes_other_usage_assumptions(saved, tmp_path):
    usage = tmp_path / "usage.yaml"
    usage.write_text("validations_per_month: 2000000\n")
    out = invoke("aws-lambda", "--usage", str(usage), "--diff", str(saved["aws-lambda"]))
    assert "note: the base was priced with other usage assumptions (validations_per_month)" in out.stdout
    doc = json.loads(invoke("aws-lambda", "--usage", str(usage), "--diff", str(saved["aws-lambda"]), "--json").stdout)
    assert doc["diff"]["assumptions_differ"] == ["validations_per_month"] and doc["diff"]["total"]["delta"] > 0
    assert {r["change"] for r in doc["diff"]["resources"]} == {"~"}


@pytest.mark.parametrize("content, words", [
    (None, "does not exist (no such file)"),
    ("{not json", "is not valid JSON (line 1, column 2"),
    ('{"compliant": true, "as_of": "2026-12-07", "violations": []}', "has no monthly_cost_usd"),
    ('{"error": {"key": "stack", "value": "x", "message": "m", "fix": "f"}}', "is an error report, not a plan"),
    (b"\xff\xfe\x00", "cannot be read"),
])
def test_a_bad_diff_file_is_exit_2_naming_the_file_and_the_fix_before_planning(tmp_path, content, words):
    path = tmp_path / "base.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    out = invoke("aws-lambda", "--diff", str(path), "--json")
    assert out.exit_code == 2 and "Traceback" not in out.output
    error = json.loads(out.stdout)["error"]
    assert error["key"] == "--diff" and error["value"] == str(path) and words in error["message"]
    assert str(path) in error["message"] and "mpic plan BASE_STACK --json > FILE.json" in error["fix"]
    assert out.stderr == ""  # refused before planning: nothing but the error
    human = invoke("aws-lambda", "--diff", str(path))
    assert human.exit_code == 2 and words in human.stderr and human.stdout == ""


def test_a_diff_stack_that_does_not_exist_is_exit_2():
    out = invoke("aws-lambda", "--diff", "no-such-stack", "--json")
    assert out.exit_code == 2 and "Known stacks" in json.loads(out.stdout)["error"]["message"]


def test_plan_names_the_repaired_set_check_prints(tmp_path, artifacts):
    """#23 part 1: `plan --json` and `check --json` proposed different replacements for one pair."""
    stack = tmp_path / "Pulumi.pair.yaml"
    stack.write_text("config:\n  mpic:target: aws-lambda\n  mpic:primary: us-east-1\n  mpic:asOf: '2026-12-15'\n"
                     "  mpic:perspectives: [eu-west-2, eu-west-3, ap-northeast-1, sa-east-1, us-west-2]\n")
    planned = invoke(str(stack), "--json")
    checked = runner.invoke(app, ["check", str(stack), "--json"])
    plan_doc, check_doc = json.loads(planned.stdout), json.loads(checked.stdout)
    assert planned.exit_code == 1 and checked.exit_code == 1
    assert plan_doc["repair"]["perspectives"] == check_doc["repair"]["perspectives"]
    assert [v["fix"] for v in plan_doc["violations"]] == [v["fix"] for v in check_doc["violations"]]
    (old, new), = plan_doc["repair"]["replaced"]
    assert plan_doc["violations"][0]["fix"].startswith(f"The closest compliant set: replace {old} with {new}")
    text = invoke(str(stack))
    assert f"  replace {old} with {new}" in text.stdout and "the same set: ./scripts/mpic suggest" in text.stdout


@pytest.mark.parametrize("name, keys", [
    ("aws-hosts", ["mpic:testDomain", "mpic:aws.domain", "mpic:aws.hostedZone"]),
    ("aws-lambda", ["mpic:testDomain"]),
])
def test_the_examples_placeholders_are_readiness_exit_3_naming_key_value_and_fix(saved, name, keys):
    """#23 part 4: placeholders passed `plan` with 0 warnings; they are compliant, planned, not ready."""
    doc = json.loads(saved[name].read_text())
    assert doc["compliant"] is True and doc["resources"] and doc["ready"] is False
    assert [line.split(":", 2)[0] + ":" + line.split(":", 2)[1] for line in doc["readiness"]] == keys
    assert all("pulumi config set --path" in line for line in doc["readiness"])
    assert exit_of(doc) == 3
