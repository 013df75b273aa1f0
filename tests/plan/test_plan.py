"""``mpic plan``: the plan core on the example stacks and the CLI contract (exit codes, JSON)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import cli.plan  # noqa: F401 - registers the command
from cli import app
from preview import engine as plan_core
from preview.mocks import KIT_ROOT, PlannedResource

EXAMPLES = ("aws-hosts", "aws-lambda")
runner = CliRunner()


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_stack_plan_invariants(planned, name):
    result = planned[name]
    doc = json.loads(json.dumps(result.to_json()))
    assert list(doc) == ["stack", "compliant", "verdict", "ready", "readiness", "error", "artifacts", "outputs",
                         "resources", "policy_violations", "monthly_cost_usd"]
    assert doc["ready"] is (not doc["readiness"]) and all(isinstance(line, str) for line in doc["readiness"])
    assert doc["stack"] == name and doc["compliant"] is True and doc["policy_violations"] == []
    assert doc["verdict"] == "compliant" and doc["outputs"]["api_key"] == "[secret]"
    assert doc["error"] is None and doc["artifacts"] and all(len(a["sha256"]) == 64 for a in doc["artifacts"])
    regions = {r["region"] for r in doc["resources"] if r["region"]}
    assert len(regions) >= 6  # 5 perspective regions + the coordinator's
    for r in doc["resources"]:
        assert set(r) == {"type", "name", "region", "parent", "inputs"}
        assert r["type"].count(":") >= 2 and isinstance(r["inputs"], dict)
    names = {r["name"] for r in doc["resources"]}
    assert all(r["parent"] is None or r["parent"] in names for r in doc["resources"])
    aws = [r for r in doc["resources"] if r["type"].startswith("aws:")]
    assert aws and all(r["region"] for r in aws)
    cost = doc["monthly_cost_usd"]
    assert cost["total"] > 0 and set(cost["by_region"]) <= regions | {"global"}
    assert math.isclose(sum(cost["by_region"].values()), cost["total"], abs_tol=0.05)
    assert "plan-placeholder" not in json.dumps([r for r in doc["resources"] if r["type"].startswith("tls:")])


def test_hosts_plan_shape(planned):
    result = planned["aws-hosts"]
    by_region = {}
    for item in result.items:
        by_region.setdefault(item.region, []).append(item.type)
    for code in ("us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "ap-southeast-2"):
        kinds = by_region[code]
        assert kinds.count("mpic:aws:PerspectiveRegion") == 1 and kinds.count("aws:autoscaling/group:Group") == 1
        assert "aws:ec2/natGateway:NatGateway" not in kinds
    assert by_region["us-east-1"].count("mpic:aws:Coordinator") == 1
    assert by_region["us-east-2"].count("mpic:aws:Coordinator") == 1
    assert 300 < result.cost.total < 800
    asg_lines = [line for line in result.cost.lines if line.type == "aws:autoscaling/group:Group"]
    assert len(asg_lines) == 7 * 3 and any("2 x t3.small" in line.note for line in asg_lines)


def test_lambda_plan_is_cheaper_and_has_the_api(planned):
    result = planned["aws-lambda"]
    assert result.cost.total < planned["aws-hosts"].cost.total
    assert any(i.type == "aws:apigateway/restApi:RestApi" and i.region == "us-east-1" for i in result.items)


def test_provider_region_conventions():
    def res(type_, name, inputs):
        return PlannedResource(type=type_, name=name, urn=f"urn:{name}", parent=None, provider=None, custom=True,
                               inputs=inputs)

    assert plan_core.provider_region(res("pulumi:providers:aws", "aws-x", {"region": "eu-west-1"})) == "eu-west-1"
    assert plan_core.provider_region(res("pulumi:providers:kubernetes", "k8s-eu-west-1",
                                         {"clusterIdentifier": "mpic-eu-west-1"})) == "eu-west-1"
    assert plan_core.provider_region(res("pulumi:providers:kubernetes", "k8s-eu-west-1", {})) is None
    assert plan_core.provider_region(res("pulumi:providers:tls", "tls", {})) is None


def _copy(tmp_path: Path, name: str, **changes) -> Path:
    doc = yaml.safe_load((KIT_ROOT / "stacks" / f"Pulumi.{name}.yaml").read_text())
    doc["config"].update(changes)
    path = tmp_path / f"Pulumi.{name}-copy.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_cli_json_is_exactly_one_object_and_exit_0():
    out = runner.invoke(app, ["plan", "aws-lambda", "--json"])
    doc = json.loads(out.stdout)
    assert out.exit_code == (0 if doc["ready"] else 3), out.output  # 3: the example's placeholder values
    assert doc["compliant"] is True and doc["monthly_cost_usd"]["total"] > 0


@pytest.mark.parametrize("name", EXAMPLES)
def test_cli_non_compliant_copy_exits_1_with_zero_resources(tmp_path, name):
    path = _copy(tmp_path, name, **{"mpic:perspectives": ["us-west-2", "eu-west-1", "eu-west-2", "ap-northeast-1",
                                                          "sa-east-1"]})
    out = runner.invoke(app, ["plan", str(path), "--json"])
    assert out.exit_code == 1
    doc = json.loads(out.stdout)
    assert doc["compliant"] is False and doc["resources"] == [] and doc["monthly_cost_usd"]["total"] == 0.0
    r1 = [v for v in doc["violations"] if v["rule"] == "R1"]  # the reasons, as `mpic check --json` gives them
    assert r1 and r1[0]["regions"] == ["eu-west-1", "eu-west-2"] and "BR 3.2.2.9 needs >= 500 km" in r1[0]["message"]
    human = runner.invoke(app, ["plan", str(path)])
    assert human.exit_code == 1 and "VIOLATION R1" in human.stdout and "Nothing was deployed" in human.stdout


def test_cli_human_output_groups_by_region_with_costs(planned):
    out = runner.invoke(app, ["plan", "aws-lambda"])
    assert out.exit_code == (0 if planned["aws-lambda"].ready else 3), out.output
    assert "sa-east-1" in out.stdout and "USD/month" in out.stdout and "estimated total" in out.stdout


def test_cli_policy_violation_exits_1(tmp_path, monkeypatch):
    from policy.rules import Violation

    monkeypatch.setattr(plan_core, "evaluate", lambda views: [Violation("imdsv2-required", "x", "x: bad")])
    out = runner.invoke(app, ["plan", "aws-lambda", "--json"])
    assert out.exit_code == 1 and json.loads(out.stdout)["policy_violations"] == [
        {"policy": "imdsv2-required", "resource": "x", "message": "x: bad", "enforcement": "mandatory"}]
    human = runner.invoke(app, ["plan", "aws-lambda"])
    assert human.exit_code == 1 and "POLICY imdsv2-required" in human.stdout


@pytest.mark.parametrize("setup, needle", [
    (lambda p: p.write_text("config: [\n"), "not valid YAML"),
    (lambda p: p.write_text(yaml.safe_dump({"config": {"mpic:target": "aws-hosts", "mpic:perspectives": [
        "us-west-2", "eu-west-1", "mars-1", "sa-east-1", "ap-southeast-2"]}})), "unknown region 'mars-1'"),
    (lambda p: p.write_text(yaml.safe_dump({"config": {"mpic:target": "local", "mpic:perspectives": [
        "us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "ap-southeast-2"]}})), "mpic plan plans"),
    (lambda p: p.write_text(yaml.safe_dump({"config": {"mpic:target": "aws-hosts", "mpic:aws": {
        "coordinatorRegion": "moon-1"}, "mpic:perspectives": ["us-west-2"]}})), "coordinatorRegion"),
    (lambda p: p.write_text(yaml.safe_dump({"config": {
        "mpic:target": "aws-hosts", "mpic:primary": {"name": "dc", "lat": 40.74, "lon": -74.17, "rir": "ARIN"},
        "mpic:perspectives": ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "gcp-europe-north1"]}})),
     "gcp location"),
])
def test_cli_bad_input_exits_2_without_traceback(tmp_path, setup, needle):
    path = tmp_path / "Pulumi.bad.yaml"
    setup(path)
    out = runner.invoke(app, ["plan", str(path), "--json"])
    assert out.exit_code == 2 and needle in out.output and "Traceback" not in out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)


def test_cli_unknown_stack_exits_2():
    out = runner.invoke(app, ["plan", "no-such-stack"])
    assert out.exit_code == 2 and "Known stacks" in out.output


def test_placeholders_stand_in_for_every_secret_and_ciphertext_is_never_read(tmp_path, monkeypatch):
    from preview import targets

    monkeypatch.setitem(targets.TARGET_SECRETS, "aws-lambda", lambda fleet: {"mpic:perFleet": fleet.target})
    lambda_fleet = plan_core.load_fleet("aws-lambda")[2]
    assert targets.placeholders(lambda_fleet) == {**targets.SECRETS, "mpic:perFleet": "aws-lambda"}
    k8s = targets.placeholders(plan_core.load_fleet("k8s")[2])
    assert set(k8s) == {*targets.SECRETS, "mpic:kubeconfig", "mpic:canaryTsigSecret"}
    captured, seen = {}, {}
    real = plan_core.run_program

    def spy(config, **kw):
        captured.update(config=config, secret_keys=kw["secret_keys"])
        return real(config, **kw)

    monkeypatch.setattr(plan_core, "run_program", spy)
    path = _copy(tmp_path, "aws-lambda", **{"mpic:hashSecret": {"secure": "v1:CIPHERTEXT"}})
    result = plan_core.plan_stack(str(path), hooks=lambda mocks: seen.setdefault("caller", mocks))
    assert result.compliant and result.run.error is None and seen["caller"] is not None
    assert captured["config"]["mpic:perFleet"] == "aws-lambda"
    assert captured["config"]["mpic:hashSecret"] == targets.SECRETS["mpic:hashSecret"]
    assert "mpic:perFleet" in captured["secret_keys"] and "CIPHERTEXT" not in json.dumps(result.to_json())


def test_plan_json_never_prints_a_secret(planned):
    """Pulumi secrets (API keys, hash secret, private keys, kubeconfigs) print as [secret]."""
    for name, result in planned.items():
        text = json.dumps(result.to_json())
        assert "plan-placeholder" not in text and "PRIVATE KEY" not in text, name
        assert '"[secret]"' in text, name
        # the recorded inputs keep the values, for the policy pack and the tests
        assert any("plan-placeholder" in json.dumps(r.inputs) or "PRIVATE KEY" in json.dumps(r.inputs)
                   or "placeholder" in json.dumps(r.inputs) for r in result.run.resources), name


def test_cli_prints_every_cost_line_with_quantity_unit_and_unit_price(planned):
    out = runner.invoke(app, ["plan", "aws-hosts"])
    assert out.exit_code == (0 if planned["aws-hosts"].ready else 3), out.output
    lines = planned["aws-hosts"].cost.lines
    assert f"{len(lines)} cost lines" in out.stdout and "AWS list prices per region" in out.stdout
    priced = out.stdout.split("not priced, not in the total")[0]
    rows = [row for row in priced.splitlines() if row.startswith(("sa-east-1 ", "us-east-1 "))]
    assert len(rows) == sum(1 for line in lines if line.region in ("sa-east-1", "us-east-1"))
    assert any("instance-hour" in row and "1,460" in row and "30.37" in row for row in rows)


def test_cli_usage_file_overrides_assumptions_and_diff(tmp_path, planned):
    usage = tmp_path / "usage.yaml"
    usage.write_text("validations_per_month: 2000000\n")
    out = runner.invoke(app, ["plan", "aws-lambda", "--usage", str(usage), "--diff", "aws-lambda", "--json"])
    assert out.exit_code == (0 if planned["aws-lambda"].ready else 3), out.output
    doc = json.loads(out.stdout)
    cost = doc["monthly_cost_usd"]
    assert cost["assumptions"]["validations_per_month"] == 2_000_000
    assert any(line["unit"] == "request" and line["quantity"] == 2_000_000 for line in cost["lines"])
    assert doc["diff"]["base"] == "aws-lambda" and doc["diff"]["total"]["delta"] == 0.0
    base = runner.invoke(app, ["plan", "aws-lambda", "--json"])
    assert json.loads(base.stdout)["monthly_cost_usd"]["total"] < cost["total"]
    human = runner.invoke(app, ["plan", "aws-hosts", "--diff", "aws-lambda"])
    assert human.exit_code == (0 if planned["aws-hosts"].ready else 3)
    assert "monthly cost: aws-hosts - aws-lambda" in human.stdout
    total = [row for row in human.stdout.splitlines() if "total" in row and "+" in row]
    delta = round(planned["aws-hosts"].cost.total - planned["aws-lambda"].cost.total, 2)
    assert total and f"{delta:+,.2f}" in total[-1]


@pytest.mark.parametrize("content,key", [("validations_per_mnth: 3\n", "--usage.validations_per_mnth"),
                                         ("hours_per_month: lots\n", "--usage.hours_per_month"),
                                         ("a: [1\n", "--usage")])
def test_cli_bad_usage_file_is_a_json_error_exit_2(tmp_path, content, key):
    usage = tmp_path / "usage.yaml"
    usage.write_text(content)
    out = runner.invoke(app, ["plan", "aws-lambda", "--usage", str(usage), "--json"])
    assert out.exit_code == 2
    error = json.loads(out.stdout)["error"]
    assert error["key"] == key and error["fix"]
    missing = runner.invoke(app, ["plan", "aws-lambda", "--usage", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "no file" in missing.output


def test_plan_json_masks_secrets_leaf_by_leaf_so_k8s_objects_still_validate(planned):
    from tests.k8s.conftest import RULE_API, validate_rule, validate_strict

    doc = json.loads(json.dumps(planned["k8s"].to_json()))
    objects = [r for r in doc["resources"] if r["type"].startswith("kubernetes:") and "providers" not in r["type"]]
    secrets = [r for r in objects if r["type"] == "kubernetes:core/v1:Secret"]
    assert secrets and all(set(r["inputs"]["stringData"].values()) == {"[secret]"} for r in secrets)
    for r in objects:
        _, group_version, kind = r["type"].split(":")  # kubernetes:apps/v1:Deployment
        api = group_version.removeprefix("core/")
        if api == RULE_API:  # the canary's PrometheusRule: a CRD, checked against its own structure
            validate_rule(r["inputs"])
            continue
        validate_strict({"apiVersion": api, "kind": kind, **r["inputs"]})
    out = doc["outputs"]
    assert out["api_key"] == "[secret]" and "key-one" not in json.dumps(doc)
    assert out["coordinator_url"] == "https://mpic.example-ca.net" and out["auth_failure_status"] == 401


@pytest.mark.parametrize("name", ["aws-hosts", "aws-lambda", "k8s"])
def test_every_target_plans_the_same_output_keys(planned, name):
    from plan.outputs import STATUS_KEYS

    outputs = planned[name].to_json()["outputs"]
    assert set(STATUS_KEYS) <= set(outputs) and outputs["api_key"] == "[secret]"
    assert not outputs["coordinator_url"].endswith("/v1")


@pytest.mark.parametrize("mode, exit_code, level", [("testing", 0, "advisory"), ("enforce", 1, None)])
def test_a_declared_lab_plans_with_advisory_br_findings(tmp_path, mode, exit_code, level):
    path = _copy(tmp_path, "aws-lambda", **{"mpic:complianceMode": mode,
                                            "mpic:perspectives": ["us-west-2", "eu-west-1", "eu-west-2",
                                                                  "ap-northeast-1", "sa-east-1"]})
    out = runner.invoke(app, ["plan", str(path), "--json"])
    doc = json.loads(out.stdout)
    assert out.exit_code == exit_code, out.output
    if level is None:  # enforce: refused before any resource
        assert doc["resources"] == [] and doc["verdict"] == "NOT compliant"
        return
    assert doc["verdict"] == "LAB: non-compliant" and doc["resources"]
    lab = [v for v in doc["policy_violations"] if v["policy"] == "br-3.2.2.9-lab"]
    assert lab and all(v["enforcement"] == "advisory" and v["message"].startswith("LAB: non-compliant")
                       for v in lab)
    assert "R1" in lab[0]["message"] and not [v for v in doc["policy_violations"] if v["enforcement"] == "mandatory"]
    human = runner.invoke(app, ["plan", str(path)])
    assert "(LAB: non-compliant)" in human.stdout and "advisory br-3.2.2.9-lab" in human.stdout
