"""The real Pulumi program (``__main__.py``) under Pulumi's mocks: refuses before any resource."""

from __future__ import annotations

import yaml

from preview.mocks import KIT_ROOT, run_program

SECRETS = {"mpic:apiKeys": ["test-key"], "mpic:hashSecret": "test-secret"}


def stack(name):
    return yaml.safe_load((KIT_ROOT / "stacks" / f"Pulumi.{name}.yaml").read_text())["config"]


def test_non_compliant_stack_registers_zero_resources():
    config = {**stack("aws-hosts"), **SECRETS,
              "mpic:perspectives": ["us-east-1", "us-east-2", "eu-west-1", "ap-northeast-1", "sa-east-1"]}
    run = run_program(config, stack="broken", secret_keys=list(SECRETS))
    assert run.resources == []
    assert run.error is not None and "VIOLATION R1" in run.error and "Nothing was deployed" in run.error


def test_bad_input_and_local_target_and_missing_secrets_register_nothing():
    for config, needle in [
        ({**stack("aws-hosts"), **SECRETS, "mpic:perspectives": ["xx-nowhere-9"]}, "xx-nowhere-9"),
        ({**stack("local"), **SECRETS}, "./scripts/mpic up"),
        (stack("aws-hosts"), "mpic:apiKeys: missing"),
    ]:
        run = run_program(config, stack="t", secret_keys=[k for k in SECRETS if k in config])
        assert run.resources == [] and needle in run.error


def test_too_few_perspectives_for_the_date_registers_nothing():
    config = {**stack("k8s"), **SECRETS, "mpic:perspectives": ["us-west-2", "eu-west-1", "ap-northeast-1"],
              "mpic:asOf": "2026-12-15"}
    run = run_program(config, stack="t", secret_keys=list(SECRETS))
    assert run.resources == [] and "R3" in run.error


def test_testing_mode_deploys_a_lab_and_marks_it_non_compliant(tmp_path):
    """The loud escape hatch: a non-compliant lab stack deploys, and says so in its outputs."""
    from preview.engine import plan_stack

    config = {**stack("aws-lambda"), "mpic:complianceMode": "testing",
              "mpic:perspectives": ["us-east-2", "eu-west-1", "ap-northeast-1"], "mpic:asOf": "2026-12-15"}
    path = tmp_path / "Pulumi.lab.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    result = plan_stack(str(path))
    assert not result.report.compliant
    assert result.run.error is None and len(result.run.resources) > 0
    assert result.run.outputs["compliant"] is False
    assert result.run.outputs["compliance_mode"] == "testing"
    assert any("BR 3.2.2.9 needs >= 5" in m for m in result.run.outputs["compliance_violations"])


def test_up_refuses_placeholder_values_and_preview_warns():
    """`pulumi up` of the example stack: its domain is a documentation name (#23 part 4)."""
    from preview.mocks import RecordingMocks, install_default_hooks

    def run(config, preview=False):
        return run_program(config, stack="aws-hosts", secret_keys=list(SECRETS), preview=preview,
                           mocks=install_default_hooks(RecordingMocks()))

    config = {**stack("aws-hosts"), **SECRETS}
    up = run(config)
    assert up.resources == [] and up.error is not None
    assert "is not ready to deploy; nothing was deployed" in up.error
    assert "mpic:aws.domain: 'mpic.example.com' is a name reserved for documentation" in up.error
    preview = run(config, preview=True)
    assert preview.error is None and preview.resources
    real = {**config, "mpic:testDomain": "fleet-test.ca-operator.net",
            "mpic:aws": {**config["mpic:aws"], "domain": "mpic.ca-operator.net", "hostedZone": "ca-operator.net"}}
    deployed = run(real)
    assert deployed.error is None and len(deployed.resources) == len(preview.resources)
