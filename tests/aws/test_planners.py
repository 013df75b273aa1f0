"""Planners: CIDR slots, names, per-region settings, the manifest (tables + hypothesis)."""

from __future__ import annotations

import ipaddress
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plan.aws import fleet as planners
from plan import runtime
from plan.manifest import fleet_manifest
from config.errors import PlanError
from config.catalog import load_catalog
from config.errors import ConfigError
from config.model import StackConfig
from tests.aws.conftest import PERSPECTIVES, fleet

AWS_CODES = sorted(c for c, loc in load_catalog().items() if loc.provider == "aws")


def test_hosts_plan_of_the_example_fleet():
    plan = planners.plan_hosts(fleet())
    assert [p.code for p in plan.perspectives] == PERSPECTIVES
    assert [(c.region, c.role) for c in plan.coordinators] == [("us-east-1", "primary"), ("us-east-2", "standby")]
    assert plan.regions == ("us-east-1", "us-east-2", *PERSPECTIVES)
    assert len(plan.peerings) == 10 and plan.peerings[0].name == "peer-us-east-1-us-west-2"
    assert all(p.replicas >= 2 and p.name == f"persp-{p.code}" for p in plan.perspectives)
    assert plan.perspectives[1].ssm_prefix == "/mpic/t/eu-west-1"
    assert plan.coordinators[0].secret_name == "mpic/t/coordinator-us-east-1"


def test_replicas_never_below_two_and_standby_optional():
    with pytest.raises(ConfigError, match="runs >= 2 per workload"):  # the one replica rule (config/)
        fleet(perspectiveReplicas=1, coordinatorReplicas=1, aws={"standbyRegion": None})
    f = fleet(perspectiveReplicas=2, coordinatorReplicas=2, aws={"standbyRegion": None})
    plan = planners.plan_hosts(f)
    assert {p.replicas for p in plan.perspectives} == {2} and [c.replicas for c in plan.coordinators] == [2]
    assert len(plan.peerings) == 5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(AWS_CODES), min_size=1, max_size=12, unique=True),
       st.sampled_from(AWS_CODES), st.sampled_from(["10.128.0.0/12", "172.16.0.0/12", "10.0.0.0/8"]))
def test_vpc_cidrs_never_overlap_and_subnets_stay_inside(codes, coordinator, pool):
    blocks = [planners.vpc_cidr(pool, c, "perspective") for c in codes]
    blocks.append(planners.vpc_cidr(pool, coordinator, "coordinator"))
    nets = [ipaddress.ip_network(b) for b in blocks]
    for i, a in enumerate(nets):
        assert a.subnet_of(ipaddress.ip_network(pool)) and a.prefixlen == 20
        for b in nets[i + 1:]:
            assert not a.overlaps(b)
        subs = [ipaddress.ip_network(s) for s in planners.subnet_cidrs(str(a))]
        subs += [ipaddress.ip_network(s) for s in planners.subnet_cidrs(str(a), offset=2)]
        assert len(set(subs)) == 4 and all(s.subnet_of(a) for s in subs)


@given(st.sampled_from(AWS_CODES))
def test_slots_are_stable_whatever_else_is_deployed(code):
    assert planners.vpc_cidr("10.128.0.0/12", code, "perspective") == planners.vpc_cidr(
        "10.128.0.0/12", code, "perspective")
    assert planners.region_slot(code, "coordinator") == planners.region_slot(code, "perspective") + 1


def test_small_pool_and_unknown_region_are_refused():
    with pytest.raises(PlanError, match="cidrPool"):
        planners.vpc_cidr("10.0.0.0/14", "ap-southeast-7", "perspective")
    with pytest.raises(PlanError, match="not in config/regions.yaml"):
        planners.region_slot("mars-1", "perspective")


@pytest.mark.parametrize("overrides, needle", [
    ({"perspectives": PERSPECTIVES[:4] + ["gcp-europe-west4"]}, "gcp location"),
    ({"resolvers": {"eu-west-1": {"location": "eu-north-1"}}}, "mpic:resolvers.eu-west-1"),
])
def test_validate_aws_refuses_what_aws_cannot_deploy(overrides, needle):
    with pytest.raises(PlanError, match=needle):
        planners.plan_hosts(fleet(**overrides))
    with pytest.raises(PlanError, match=needle):
        planners.plan_lambda(fleet("aws-lambda", **overrides))


@pytest.mark.parametrize("aws, needle", [
    ({"coordinatorRegion": "mars-1"}, "coordinatorRegion"),
    ({"standbyRegion": "gcp-europe-west4"}, "standbyRegion"),
    ({"standbyRegion": "us-east-1"}, "standby must be another region"),
    ({"cidrPool": "8.0.0.0/8"}, "cidrPool"),
    ({"healthPort": 8443}, "must differ"),
    ({"domain": "mpic.other.org"}, "not inside hostedZone"),
    ({"coldStart": "sometimes"}, "coldStart"),
    ({"unknownKey": 1}, "unknownKey"),
])
def test_bad_aws_settings_are_config_errors(aws, needle):
    with pytest.raises(ConfigError, match=needle):
        fleet(aws=aws)


def test_lambda_plan_private_subnets_only_in_dnssec_mode():
    plain = planners.plan_lambda(fleet("aws-lambda"))
    assert plain.regions == ("us-east-1", *PERSPECTIVES) and plain.perspectives[0].private_subnets == ()
    dnssec = planners.plan_lambda(fleet("aws-lambda", aws={"dnssecVpc": True}))
    assert len(dnssec.perspectives[0].private_subnets) == 2


def test_manifest_round_trips_through_the_config_model():
    f = fleet(perspectiveCount=5, quorum=4, asOf="2026-12-15")
    raw = json.loads(json.dumps(fleet_manifest(f)))
    again = StackConfig.from_config(raw, name="x")
    assert again.codes == f.codes and again.primary == f.primary
    assert (again.quorum, again.cohort_size, again.as_of, again.max_attempts) == (4, 5, f.as_of, 2)
    catalog_primary = fleet_manifest(fleet(primary="us-east-1", perspectives=PERSPECTIVES))
    assert catalog_primary["primary"] == "us-east-1" and "quorum" not in catalog_primary


def test_lambda_environments():
    f = fleet("aws-lambda", aws={"caaDomains": ["ca.example"]})
    p = planners.plan_lambda(f).perspectives[0]
    env = planners.lambda_perspective_env(f, p)
    assert env["MPIC_CODE"] == "us-west-2" and env["MPIC_RIR"] == "ARIN"
    assert json.loads(env["MPIC_RESOLVER"]) == {"nameservers": [planners.LAMBDA_RESOLVER], "port": 53}
    assert json.loads(env["MPIC_CAA_DOMAINS"]) == ["ca.example"]
    vpc = fleet("aws-lambda", aws={"dnssecVpc": True})
    pv = planners.plan_lambda(vpc).perspectives[0]
    resolver = json.loads(planners.lambda_perspective_env(vpc, pv)["MPIC_RESOLVER"])["nameservers"][0]
    assert ipaddress.ip_address(resolver) == ipaddress.ip_network(pv.vpc_cidr).network_address + 2
    coord = _coordinator_env(f)
    assert coord["MPIC_DEFAULT_PERSPECTIVE_COUNT"] == "5" and coord["MPIC_MAX_ATTEMPTS"] == "2"
    assert "MPIC_DEFAULT_QUORUM_COUNT" not in coord  # mpic:quorum unset: the core default


def _arn(code: str) -> str:
    return f"arn:aws:lambda:{code}:000000000000:function:mpic-t-persp-{code}"


def _coordinator_env(f: StackConfig, **slots) -> dict[str, str]:
    plan = planners.plan_lambda(f)
    values = {"function_arns": [_arn(p.code) for p in plan.perspectives], "api_keys": ["key-a", "key-b"],
              "hash_secret": "h" * 32, **slots}
    return planners.LambdaCoordinatorEnv(f, plan.perspectives).fill(**values)


def test_the_lambda_coordinators_complete_environment_every_key_and_secret():
    """The whole environment of the coordinator function, from the plan and plain values alone: the
    component only fills the three slots (function ARNs, API keys, hash secret)."""
    env = _coordinator_env(fleet("aws-lambda", quorum=4, earlyQuorum=False, perspectiveTimeoutMs=2500))
    rirs = {"us-west-2": "ARIN", "eu-west-1": "RIPE NCC", "ap-northeast-1": "APNIC", "sa-east-1": "LACNIC",
            "ap-southeast-2": "APNIC"}
    assert env == {
        "MPIC_API_KEYS": '["key-a", "key-b"]',
        "MPIC_HASH_SECRET": "h" * 32,
        "MPIC_DEFAULT_PERSPECTIVE_COUNT": "5",
        "MPIC_MAX_ATTEMPTS": "2",
        "MPIC_PERSPECTIVE_TIMEOUT": "2.5",
        "MPIC_EARLY_QUORUM": "false",
        "MPIC_DEFAULT_QUORUM_COUNT": "4",
        "MPIC_CAA_ALLOW_LOOKUP_FAILURE": "false",
        "MPIC_MIN_CHALLENGE_LENGTH": "19",
        "MPIC_PERSPECTIVES": json.dumps([{"code": c, "rir": rirs[c], "url": f"lambda:{_arn(c)}"} for c in PERSPECTIVES]),
        "MPIC_AUDIT_LOG": "-",
        "MPIC_AUDIT_SITE": "coordinator",
    }
    assert {runtime.API_KEYS_ENV, runtime.HASH_SECRET_ENV, runtime.PERSPECTIVES_ENV} < set(env)


def test_the_lambda_coordinators_slots_must_match_its_perspectives():
    with pytest.raises(ValueError):  # an ARN missing would drop a perspective silently
        _coordinator_env(fleet("aws-lambda"), function_arns=[_arn("us-west-2")])


def test_lambda_coordinator_environment_carries_the_quorum_and_loads(monkeypatch):
    from service.settings import CoordinatorSettings, load_settings

    env = _coordinator_env(fleet("aws-lambda", quorum=5))
    assert env["MPIC_DEFAULT_QUORUM_COUNT"] == "5"
    for key, value in env.items():  # as the function sees them: nothing added by the component
        monkeypatch.setenv(key, value)
    s = load_settings(CoordinatorSettings, None)
    assert (s.default_quorum_count, s.default_perspective_count, s.max_attempts) == (5, 5, 2)
    assert s.all_api_keys() == ["key-a", "key-b"] and s.hash_secret.get_secret_value() == "h" * 32
    assert [p.lambda_arn for p in s.perspectives] == [_arn(c) for c in PERSPECTIVES]


def test_ejbca_settings_name_the_endpoint_and_header():
    from plan.outputs import ejbca_mpic_validator

    s = ejbca_mpic_validator("https://mpic.example.com/")
    assert s["url"] == "https://mpic.example.com/v1/mpic"
    assert s["apiKeyHeader"] == "x-api-key" and s["apiSpecVersion"] == "3.5"


def test_host_entries_and_smoke_status():
    from cryptography import x509

    from plan import outputs

    hosts = planners.host_entries({"ids": ["i-1", "i-2"], "publicIps": ["198.51.100.1"],
                                   "privateIps": ["10.0.0.1", "10.0.0.2"]}, "perspective", "eu-west-1")
    assert [(h["name"], h["address"], h["connection"]) for h in hosts] == [
        ("perspective-eu-west-1-0", "198.51.100.1", "ssh://ec2-user@i-1"),
        ("perspective-eu-west-1-1", "10.0.0.2", "ssh://ec2-user@i-2")]
    assert planners.host_entries({}, "coordinator", "us-east-1") == []
    status = outputs.status(stack="s", coordinator_url="https://x/v1/", ca_cert=planners.AMAZON_ROOT_CA_1,
                            test_domain="t.example", perspectives=[], hosts=hosts, auth_failure_status=403,
                            api_paths=outputs.GATEWAY_API_PATHS)
    assert status["coordinator_url"] == "https://x" and set(status) | {"api_key"} == set(outputs.STATUS_KEYS)
    assert status["ejbca_mpic_validator"]["url"] == "https://x/v1/mpic" and status["api_paths"] == ["/v1/mpic"]
    cert = x509.load_pem_x509_certificate(status["ca_cert"].encode())
    assert cert.subject.rfc4514_string() == "CN=Amazon Root CA 1,O=Amazon,C=US"
