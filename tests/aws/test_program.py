"""The AWS programs end to end under strict mocks (any default-provider use fails)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import yaml

from artifacts.dist import require_artifacts
from stacks import aws as aws_program
from plan.manifest import MANIFEST_TYPE
from preview.mocks import KIT_ROOT, run_callable, run_program
from pulumi.runtime.sync_await import _sync_await
from tests.aws.conftest import assert_no_default_provider, fleet, provider_region, secrets, strict_mocks

SECRETS = {"mpic:apiKeys": ["key-one", "key-two"], "mpic:hashSecret": "hash-secret"}


def stack(name: str) -> dict:
    return yaml.safe_load((KIT_ROOT / "stacks" / f"Pulumi.{name}.yaml").read_text())["config"]


def run_stack(config: dict, name: str = "t"):
    mocks = strict_mocks()
    run = run_program({**config, **SECRETS}, stack=name, secret_keys=list(SECRETS), mocks=mocks, preview=True)
    assert_no_default_provider(mocks)
    return run


@pytest.fixture(scope="module")
def hosts_run():
    return run_stack(stack("aws-hosts"), "aws-hosts")


@pytest.fixture(scope="module")
def lambda_run():
    return run_stack(stack("aws-lambda"), "aws-lambda")


def _assert_every_resource_on_its_region_provider(run):
    assert run.error is None and run.default_provider_uses() == []
    for r in run.resources:
        if r.custom and r.type.startswith("aws:"):
            region = provider_region(run, r)
            assert region is not None, r.name
            tags = r.inputs.get("tags")
            if isinstance(tags, dict) and "mpic:region" in tags:
                assert tags["mpic:region"] == region, r.name


def test_hosts_program_one_provider_per_region(hosts_run):
    _assert_every_resource_on_its_region_provider(hosts_run)
    providers = {p.name: p.inputs for p in hosts_run.by_type("pulumi:providers:aws")}
    assert sorted(providers) == sorted(f"aws-{r}" for r in ["us-east-1", "us-east-2", "us-west-2", "eu-west-1",
                                                            "ap-northeast-1", "sa-east-1", "ap-southeast-2"])
    for n, p in providers.items():
        tags = json.loads(p["defaultTags"]) if isinstance(p["defaultTags"], str) else p["defaultTags"]
        assert p["region"] == n[len("aws-"):] and tags["tags"]["mpic:region"] == p["region"]
    kinds = Counter(r.type for r in hosts_run.resources)
    assert kinds["mpic:aws:PerspectiveRegion"] == 5 and kinds["mpic:aws:Coordinator"] == 2
    assert kinds["mpic:aws:InterRegionNetwork"] == 10 and kinds["mpic:aws:FailoverEndpoint"] == 1
    assert kinds[MANIFEST_TYPE] == 1 and kinds["pulumi:providers:tls"] == 1


def test_hosts_one_acm_validation_record_shared_by_both_coordinators(hosts_run):
    """ACM gives the domain one validation CNAME per account: the primary manages it, the standby's
    certificate validation waits on the same record (destroying one cannot delete the other's)."""
    records = [r for r in hosts_run.by_type("aws:route53/record:Record") if r.name.endswith("-cert-validation")]
    assert [r.name for r in records] == ["coord-us-east-1-cert-validation"]
    validations = hosts_run.by_type("aws:acm/certificateValidation:CertificateValidation")
    assert len(validations) == 2
    fqdns = {tuple(v.inputs["validationRecordFqdns"]) for v in validations}
    assert len(fqdns) == 1


def test_hosts_every_perspective_subnet_keeps_its_own_default_route(hosts_run):
    by_urn = hosts_run.by_urn()
    igws = {r.outputs["id"]: provider_region(hosts_run, r)
            for r in hosts_run.by_type("aws:ec2/internetGateway:InternetGateway")}
    defaults = [r for r in hosts_run.by_type("aws:ec2/route:Route") if r.inputs["destinationCidrBlock"] == "0.0.0.0/0"]
    assert len(defaults) == 7
    for r in defaults:
        assert igws[r.inputs["gatewayId"]] == provider_region(hosts_run, r)
    peer_routes = [r for r in hosts_run.by_type("aws:ec2/route:Route") if "vpcPeeringConnectionId" in r.inputs]
    assert len(peer_routes) == 20
    assert all(by_urn[r.parent].type == "mpic:aws:InterRegionNetwork" for r in peer_routes)


def test_hosts_outputs_for_the_operator_and_ejbca(hosts_run):
    out = hosts_run.outputs
    assert out["coordinator_url"] == "https://mpic.example.com"
    assert out["api_key"] == "key-one" and out["compliant"] is True
    assert sorted(out["perspective_endpoints"]) == sorted(["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1",
                                                           "ap-southeast-2"])
    assert all(u.startswith("https://") and u.endswith(":8443") for u in out["perspective_endpoints"].values())
    assert out["ejbca_mpic_validator"]["url"] == "https://mpic.example.com/v1/mpic"
    assert out["ejbca_mpic_validator"]["apiKeyHeader"] == "x-api-key"
    assert out["coordinator_regions"] == {"primary": "us-east-1", "standby": "us-east-2"}
    assert (out["auth_failure_status"], out["api_paths"]) == (401, ["/v1/mpic", "/mpic"])
    assert not [k for k in out if k != k.lower()], "one naming convention: snake_case"


def test_hosts_outputs_for_the_smoke_suite(hosts_run):
    out = hosts_run.outputs
    assert {"stack", "coordinator_url", "api_key", "ca_cert", "test_domain", "perspectives", "hosts"} <= set(out)
    assert out["coordinator_url"] == "https://mpic.example.com" and out["api_key"] == "key-one"
    names = {h["name"] for h in out["hosts"]}
    assert len(out["perspectives"]) == 5 and all(p["hosts"] and set(p["hosts"]) <= names for p in out["perspectives"])
    assert {h["role"] for h in out["hosts"]} == {"coordinator", "perspective"}
    assert all(h["connection"].startswith("ssh://ec2-user@i-") for h in out["hosts"])
    calls = [c for c in hosts_run.calls if c.token == "aws:ec2/getInstances:getInstances"]
    assert len(calls) == 7 and all(c.args["instanceStateNames"] == ["running"] for c in calls)


def test_lambda_program(lambda_run):
    _assert_every_resource_on_its_region_provider(lambda_run)
    fns = {provider_region(lambda_run, f): f for f in lambda_run.by_type("aws:lambda/function:Function")}
    assert sorted(fns) == sorted(["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1",
                                  "ap-southeast-2"])
    out = lambda_run.outputs
    assert out["api_key"] == "key-one" and not out["coordinator_url"].endswith("/v1")  # the base URL
    assert out["ejbca_mpic_validator"]["url"] == out["coordinator_url"] + "/v1/mpic"  # the stage v1, resource /mpic
    assert all(v.startswith("lambda:arn:aws:lambda:") for v in out["perspective_endpoints"].values())
    assert out["hosts"] == [] and (out["auth_failure_status"], out["api_paths"]) == (403, ["/v1/mpic"])
    assert [p["code"] for p in out["perspectives"]] == ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1",
                                                        "ap-southeast-2"]


def test_api_key_output_is_a_secret():
    kept = {}

    def build():
        kept.update(aws_program.deploy_lambda(fleet("aws-lambda"), secrets(), require_artifacts(fleet("aws-lambda"))))

    mocks = strict_mocks()
    run = run_callable(build, mocks=mocks)
    assert run.error is None and mocks.default_provider_uses == []
    assert _sync_await(kept["api_key"].is_secret()) is True
    assert _sync_await(kept["coordinator_url"].is_secret()) is False


@pytest.mark.parametrize("overrides", [
    {"mpic:aws": {"standbyRegion": None}},
    {"mpic:aws": {"coordinatorRegion": "eu-central-1", "standbyRegion": "us-east-1", "architecture": "arm64",
                  "instanceType": "t4g.small", "coordinatorInstanceType": "m7g.large"}},
])
def test_hosts_variants(overrides):
    run = run_stack({**stack("aws-hosts"), **overrides})
    _assert_every_resource_on_its_region_provider(run)
    assert len(run.by_type("mpic:aws:Coordinator")) == (1 if overrides["mpic:aws"]["standbyRegion"] is None else 2)
    arch = overrides["mpic:aws"].get("architecture", "x86_64")
    platform_tag = "linux_aarch64" if arch == "arm64" else "linux_x86_64"
    objects = run.by_type("aws:s3/bucketObjectv2:BucketObjectv2")
    assert any(o.inputs["key"].endswith("/requirements.txt") for o in objects)
    wheels = [o.inputs["key"] for o in objects if o.inputs["key"].endswith(".whl")]
    assert wheels and all("x86_64" not in w for w in wheels if arch == "arm64")  # the wheelhouse of its arch
    (manifest,) = run.by_type("mpic:fleet:Manifest")
    # the hosts' wheelhouse and the coordinator's Lambda zip the canary function runs, of the same arch
    assert [a["name"] for a in manifest.inputs["artifacts"]] == [f"wheelhouse-{platform_tag}", f"mpic-coordinator-{arch}"]
    (fn,) = run.by_type("aws:lambda/function:Function")
    assert fn.inputs["architectures"] == [arch] and fn.inputs["handler"] == "service.lambda_handler.canary_handler"
    templates = run.by_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert all(t.inputs["imageId"].endswith(f"al2023-ami-kernel-default-{arch}") for t in templates)


@pytest.mark.parametrize("aws", [{"coldStart": "provisioned"}, {"dnssecVpc": True, "coldStart": "none"}])
def test_lambda_variants(aws):
    run = run_stack({**stack("aws-lambda"), "mpic:aws": aws})
    _assert_every_resource_on_its_region_provider(run)
    if aws.get("dnssecVpc"):
        assert len(run.by_type("aws:route53/resolverDnsSecConfig:ResolverDnsSecConfig")) == 5
        assert len(run.by_type("aws:ec2/natGateway:NatGateway")) == 5
    else:
        assert len(run.by_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")) == 6


def test_lambda_api_gateway_admits_every_rotating_key():
    config = {**stack("aws-lambda"), "mpic:aws": {"apiGatewayKeys": 2}}
    run = run_program({**config, "mpic:apiKeys": ["old-key", "new-key"], "mpic:hashSecret": "h"}, stack="rot",
                      secret_keys=list(SECRETS), mocks=strict_mocks(), preview=True)
    assert run.error is None
    keys = sorted(k.inputs["value"] for k in run.by_type("aws:apigateway/apiKey:ApiKey"))
    assert keys == ["new-key", "old-key"]
    assert len(run.by_type("aws:apigateway/usagePlanKey:UsagePlanKey")) == 2


def test_lambda_asking_for_more_gateway_keys_than_configured_fails_clearly():
    from components.aws.serverless import _nth_key

    assert _nth_key(["a", "b"], 1) == "b"
    with pytest.raises(ValueError, match="apiGatewayKeys asks for 3 API keys but mpic:apiKeys holds 2"):
        _nth_key(["a", "b"], 2)


@pytest.mark.parametrize("name", ["aws-hosts", "aws-lambda"])
def test_non_compliant_stack_registers_zero_resources(name):
    config = {**stack(name), "mpic:perspectives": ["us-west-2", "eu-west-1", "eu-west-2", "ap-northeast-1",
                                                   "sa-east-1"]}
    run = run_stack(config)
    assert run.resources == [] and "VIOLATION R1" in run.error


def test_a_perspective_aws_cannot_host_is_refused_before_any_resource():
    config = {**stack("aws-hosts"), "mpic:perspectives": ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1",
                                                          "gcp-europe-north1"]}
    run = run_stack(config)
    assert run.resources == [] and "gcp-europe-north1" in run.error
