"""The policy pack's rules on passing and failing fixtures (no Pulumi CLI).

Passing fixtures: the planned resources of the example stacks. Failing fixtures: the same
resources with one property broken, or a small hand-made stack.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from pulumi_policy import PolicyProviderResource, PolicyResource, PolicyResourceOptions

from plan.aws.fleet import COORDINATOR_LISTENER_ROLE
from plan.manifest import MANIFEST_TYPE
from policy import rules
from policy.adapter import from_policy_resources, plain, stack_policies
from policy.rules import Res
from preview.engine import plan_stack, to_views


@pytest.fixture(scope="module")
def hosts():
    return to_views(plan_stack("aws-hosts").run)[1]


@pytest.fixture(scope="module")
def lam():
    return to_views(plan_stack("aws-lambda").run)[1]


def by_name(views, name):
    [found] = [v for v in views if v.name == name]
    return found


def patch(views, name, **props):
    """A copy of ``views`` where resource ``name`` has ``props`` replaced (None deletes a key)."""
    out = []
    for v in views:
        if v.name == name:
            new = {**v.props, **props}
            v = dataclasses.replace(v, props={k: x for k, x in new.items() if x is not None})
        out.append(v)
    return out


def ids(violations):
    return sorted({v.policy for v in violations})


def test_example_stacks_pass_every_policy(hosts, lam):
    assert rules.evaluate(hosts) == [] and rules.evaluate(lam) == []


def test_br_compliance_mirrors_config_compliance(hosts):
    manifest = by_name(hosts, "fleet")
    raw = dict(manifest.props["manifest"])
    raw["perspectives"] = ["us-west-2", "eu-west-1", "eu-west-2", "ap-northeast-1", "sa-east-1"]
    found = rules.br_compliance(patch(hosts, "fleet", manifest=raw))
    messages = " ".join(v.message for v in found)
    assert "R1:" in messages and "eu-west-1 and eu-west-2 are 464 km apart" in messages
    assert "differ from the checked mpic:perspectives" in messages
    few = {**manifest.props["manifest"], "perspectives": ["us-west-2", "eu-west-1", "ap-northeast-1"],
           "asOf": "2026-12-15"}
    assert any(v.message.startswith("R3:") for v in rules.br_compliance(patch(hosts, "fleet", manifest=few)))


def test_br_compliance_needs_a_readable_manifest(hosts):
    without = [v for v in hosts if v.type != MANIFEST_TYPE]
    assert "no fleet manifest" in rules.br_compliance(without)[0].message
    assert "no 'manifest' map" in rules.br_compliance(patch(hosts, "fleet", manifest="x"))[0].message
    bad = {**by_name(hosts, "fleet").props["manifest"], "perspectives": ["nowhere-1"]}
    assert "unknown region" in rules.br_compliance(patch(hosts, "fleet", manifest=bad))[0].message
    assert rules.br_compliance([]) == []


def test_one_perspective_per_region(hosts, lam):
    assert rules.one_perspective_per_region(hosts) == []
    comp = by_name(lam, "persp-eu-west-1")
    twin = dataclasses.replace(comp, name="persp-eu-west-1-twin", urn=comp.urn + "-twin")
    child = next(v for v in lam if v.parent == comp.urn and v.custom)
    twin_child = dataclasses.replace(child, urn=child.urn + "-twin", parent=twin.urn)
    found = rules.one_perspective_per_region(lam + [twin, twin_child])
    assert ids(found) == ["one-perspective-per-region"] and "both perspectives in eu-west-1" in found[0].message
    orphan = dataclasses.replace(comp, name="persp-nowhere", urn="urn:x::persp-nowhere")
    assert "span several regions" in rules.one_perspective_per_region(lam + [orphan])[0].message


@pytest.mark.parametrize("name, props, needle", [
    ("persp-eu-west-1-asg", {"minSize": 1, "desiredCapacity": 1}, "minSize 1"),
    ("persp-eu-west-1-asg", {"vpcZoneIdentifiers": ["subnet-1"]}, "1 subnet(s)"),
    ("persp-eu-west-1-asg", {"targetGroupArns": []}, "not registered"),
    ("persp-eu-west-1-tg", {"healthCheck": {"enabled": True, "path": "/"}}, "health-checked on /readyz"),
    ("coord-us-east-1-tg", {"healthCheck": {"enabled": False, "path": "/healthz"}}, "health-checked on /healthz"),
])
def test_health_checked_load_balancer_fails(hosts, name, props, needle):
    found = rules.health_checked_lb(patch(hosts, name, **props))
    assert len(found) == 1 and needle in found[0].message


def test_health_checked_load_balancer_missing_pieces(hosts):
    comp = by_name(hosts, "persp-sa-east-1")
    gone = {"persp-sa-east-1-nlb", "persp-sa-east-1-listener", "persp-sa-east-1-asg"}
    found = rules.health_checked_lb([v for v in hosts if v.name not in gone])
    assert {v.resource for v in found} == {comp.name} and len(found) == 2


@pytest.mark.parametrize("name, props", [
    ("persp-eu-west-1-in-health", {"cidrIpv4": "0.0.0.0/0"}),
    ("persp-eu-west-1-in-coordinator-0", {"cidrIpv4": None, "cidrIpv6": "::/0"}),
    ("coord-us-east-1-alb-in-https", {"fromPort": 80, "toPort": 80}),
])
def test_no_open_ingress_fails(hosts, name, props):
    found = rules.no_open_ingress(patch(hosts, name, **props))
    assert [v.resource for v in found] == [name]


def test_no_open_ingress_other_rule_shapes():
    sg = Res("aws:ec2/securityGroup:SecurityGroup", "sg", "u:sg", None, True, "p", "us-east-1",
             {"id": "sg-1", "ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}]})
    listener = Res("aws:ec2/securityGroup:SecurityGroup", "alb", "u:alb", None, True, "p", "us-east-1",
                   {"id": "sg-2", "tags": {"mpic:role": COORDINATOR_LISTENER_ROLE},
                    "ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}]})
    legacy = Res("aws:ec2/securityGroupRule:SecurityGroupRule", "r", "u:r", None, True, "p", "us-east-1",
                 {"type": "ingress", "securityGroupId": "sg-1", "protocol": "tcp", "fromPort": 8443, "toPort": 8443,
                  "cidrBlocks": ["0.0.0.0/0"]})
    legacy_ok = dataclasses.replace(legacy, name="ok", props={**legacy.props, "securityGroupId": "sg-2",
                                                               "fromPort": 443, "toPort": 443})
    found = rules.no_open_ingress([sg, listener, legacy, legacy_ok])
    assert sorted(v.resource for v in found) == ["r", "sg"]


def test_imdsv2_required(hosts):
    found = rules.imdsv2_required(patch(hosts, "persp-eu-west-1-lt", metadataOptions={"httpTokens": "optional"}))
    assert [v.resource for v in found] == ["persp-eu-west-1-lt"]
    inst = Res("aws:ec2/instance:Instance", "i", "u:i", None, True, "p", "us-east-1", {})
    assert rules.imdsv2_required([inst])[0].resource == "i"


@pytest.mark.parametrize("name, props, needle", [
    ("persp-eu-west-1-lt", {"blockDeviceMappings": []}, "no block device mapping"),
    ("coord-us-east-1-lt", {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]},
     "not encrypted"),
    ("persp-eu-west-1-param-key", {"type": "String"}, "SecureString"),
])
def test_encryption_at_rest_fails(hosts, name, props, needle):
    found = rules.encryption_at_rest(patch(hosts, name, **props))
    assert len(found) == 1 and needle in found[0].message


def test_encryption_at_rest_other_types():
    mk = lambda t, n, p: Res(t, n, f"u:{n}", None, True, "p", "us-east-1", p)  # noqa: E731
    items = [mk("aws:ec2/instance:Instance", "i", {"rootBlockDevice": {"encrypted": False}}),
             mk("aws:ebs/volume:Volume", "v", {"encrypted": False}),
             mk("aws:ebs/volume:Volume", "v-ok", {"encrypted": True}),
             mk("aws:s3/bucket:Bucket", "b", {})]
    assert sorted(v.resource for v in rules.encryption_at_rest(items)) == ["b", "i", "v"]


def test_no_default_provider(hosts):
    vpc = next(v for v in hosts if v.type == "aws:ec2/vpc:Vpc")
    broken = [dataclasses.replace(v, provider=None) if v.urn == vpc.urn else v for v in hosts]
    assert [v.resource for v in rules.no_default_provider(broken)] == [vpc.name]
    default = "urn:pulumi:s::p::pulumi:providers:aws::default_7_51_1::id"
    broken = [dataclasses.replace(v, provider=default) if v.urn == vpc.urn else v for v in hosts]
    assert [v.resource for v in rules.no_default_provider(broken)] == [vpc.name]
    assert rules.provider_name("urn:pulumi:s::p::pulumi:providers:aws::aws-eu-west-1") == "aws-eu-west-1"
    assert rules.is_default_provider(None) and not rules.is_default_provider(
        "urn:pulumi:s::p::pulumi:providers:aws::aws-eu-west-1::x")


def test_perspective_default_route_must_stay_local(hosts):
    route = "persp-eu-west-1-default-route"
    pcx = rules.perspective_default_route_local(
        patch(hosts, route, gatewayId=None, vpcPeeringConnectionId="pcx-1"))
    assert sorted(v.resource for v in pcx) == ["persp-eu-west-1", route]
    assert any("goes to vpcPeeringConnectionId" in v.message for v in pcx)
    other_igw = by_name(hosts, "persp-us-west-2-igw").props["id"]
    moved = rules.perspective_default_route_local(patch(hosts, route, gatewayId=other_igw))
    assert [v.resource for v in moved] == [route] and "us-west-2" in moved[0].message
    peer_route = next(v.name for v in hosts if v.type == "aws:ec2/route:Route" and "peer-" in v.name)
    hijack = rules.perspective_default_route_local(patch(hosts, peer_route, destinationCidrBlock="0.0.0.0/0"))
    assert [v.resource for v in hijack] == [peer_route] and "peer's CIDR" in hijack[0].message
    gone = rules.perspective_default_route_local([v for v in hosts if v.name != route])
    assert [v.resource for v in gone] == ["persp-eu-west-1"]


def test_least_privilege(lam, hosts):
    name = "coord-us-east-1-invoke-perspectives"
    wide = json.dumps({"Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}]})
    assert [v.resource for v in rules.least_privilege(patch(lam, name, policy=wide))] == [name]
    star = {"Statement": {"Effect": "Allow", "Action": ["ssm:*"], "Resource": ["arn:aws:ssm:*:*:parameter/*"]}}
    assert len(rules.least_privilege(patch(hosts, "persp-eu-west-1-read-own", policy=star))) == 1
    assert rules.least_privilege(patch(lam, name, policy="not json")) == []
    assert rules.least_privilege(lam) == [] and rules.least_privilege(hosts) == []
    for arn, why in (("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", "every parameter"),
                     ("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", "every log group")):
        attach = Res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "coord-us-east-1-basic", "urn:basic", None,
                     True, "aws-us-east-1", "us-east-1", {"policyArn": arn})
        found = rules.least_privilege([*lam, attach])
        assert [v.resource for v in found] == ["coord-us-east-1-basic"] and why in found[0].message
    assert rules.least_privilege(patch(lam, name, policy=["x"])) == []


def test_component_regions():
    a = Res("mpic:aws:X", "a", "u:a", None, False, None, None, {})
    b = Res("aws:ec2/vpc:Vpc", "b", "u:b", "u:a", True, "p", "eu-west-1", {})
    c = Res("aws:ec2/vpc:Vpc", "c", "u:c", "u:a", True, "p", "us-east-1", {})
    d = Res("mpic:aws:Y", "d", "u:d", None, False, None, None, {})
    e = Res("aws:ec2/vpc:Vpc", "e", "u:e", "u:d", True, "p", "eu-west-1", {})
    assert rules.component_regions([a, b, c, d, e]) == {"u:a": None, "u:b": "eu-west-1", "u:c": "us-east-1",
                                                        "u:d": "eu-west-1", "u:e": "eu-west-1"}


# ------------------------------------------------------------------------- pulumi-policy adapter
class _Unknown(dict):
    def __getitem__(self, key):
        if key == "gatewayId":
            raise RuntimeError("unknown value")  # what pulumi_policy's proxy does during a preview
        return super().__getitem__(key)


def test_adapter_maps_policy_resources_and_unknown_values():
    opts = PolicyResourceOptions(False, [], False, [], None, [])
    prov = PolicyProviderResource("pulumi:providers:aws", {"region": "eu-west-1"},
                                  "urn:pulumi:s::p::pulumi:providers:aws::aws-eu-west-1", "aws-eu-west-1")
    comp = PolicyResource("mpic:aws:PerspectiveRegion", {}, "urn:c", "persp-eu-west-1", opts, None, None, [], {})
    route = PolicyResource("aws:ec2/route:Route",
                           _Unknown(destinationCidrBlock="0.0.0.0/0", gatewayId="x", list=[1, {"a": 2}]),
                           "urn:r", "persp-eu-west-1-default-route", opts, prov, comp, [], {})
    items = from_policy_resources([comp, route])
    assert items[1].props == {"destinationCidrBlock": "0.0.0.0/0", "gatewayId": rules.UNKNOWN, "list": [1, {"a": 2}]}
    assert items[1].region == "eu-west-1" and items[0].region == "eu-west-1" and items[1].parent == "urn:c"
    assert rules.perspective_default_route_local(items) == []
    assert plain(("a", object.__new__(object))) [0] == "a"


def test_policy_pack_lists_every_rule_as_a_mandatory_stack_policy():
    policies = stack_policies()
    assert [p.name for p in policies] == [name for name, _, _ in rules.POLICIES]
    reported = []
    policies[1].validate(type("Args", (), {"resources": []})(), lambda msg, urn=None: reported.append(msg))
    assert reported == []


_ZONE = "arn:aws:route53:::hostedzone/Z0EXAMPLE"
_NAMES = {"ForAllValues:StringEquals": {
    "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_mpic-canary.canary.fleet-test.example"]}}


@pytest.mark.parametrize("statement, needle", [
    ({"Action": "route53:*", "Resource": _ZONE, "Condition": _NAMES}, "allows route53:*"),
    ({"Action": ["route53:Change*"], "Resource": _ZONE, "Condition": _NAMES}, "allows route53:Change*"),
    ({"Action": "*", "Resource": _ZONE, "Condition": _NAMES}, "allows *"),
    ({"Action": "route53:ChangeResourceRecordSets", "Resource": "*", "Condition": _NAMES}, "name the hosted zone"),
    ({"Action": "route53:ChangeResourceRecordSets", "Resource": "arn:aws:route53:::hostedzone/*",
      "Condition": _NAMES}, "name the hosted zone"),
    ({"Action": "route53:ChangeResourceRecordSets", "Resource": _ZONE}, "any record of the zone"),
    ({"Action": "route53:ChangeResourceRecordSets", "Resource": _ZONE, "Condition": {"ForAllValues:StringEquals": {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": "*.fleet-test.example"}}}, "any record of the zone"),
])
def test_least_privilege_flags_a_broad_dns_change_permission(hosts, statement, needle):
    """The canary's conditioned UPSERT of one TXT passes (the example stacks); a wildcard action,
    a wildcard zone or an unconditioned change does not."""
    name = "canary-us-east-1-policy"
    planned = json.loads(by_name(hosts, name).props["policy"])
    assert "UpsertCanaryTxt" in {s["Sid"] for s in planned["Statement"]} and rules.least_privilege(hosts) == []
    policy = json.dumps({"Statement": [{"Effect": "Allow", **statement}]})
    (found,) = rules.least_privilege(patch(hosts, name, policy=policy))
    assert found.resource == name and needle in found.message
    deny = json.dumps({"Statement": [{"Effect": "Deny", **statement}]})
    assert rules.least_privilege(patch(hosts, name, policy=deny)) == []
