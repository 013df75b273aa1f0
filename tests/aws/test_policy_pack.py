"""The policy pack as the Pulumi engine runs it: ``policy/__main__.py`` started as a process,
spoken to over the analyzer gRPC protocol (no Pulumi CLI), fed the planned example stack."""

from __future__ import annotations

import subprocess
import sys

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from preview.engine import plan_stack, to_views
from preview.mocks import KIT_ROOT


@pytest.fixture(scope="module")
def analyzer():
    proc = subprocess.Popen([sys.executable, str(KIT_ROOT / "policy" / "__main__.py")], cwd=KIT_ROOT / "policy",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = int(proc.stdout.readline().decode().strip())
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _struct(props: dict) -> struct_pb2.Struct:
    return json_format.ParseDict(props, struct_pb2.Struct())


def _request(views, providers):
    out = []
    for v in views:
        prov = providers.get((v.provider or "").rsplit("::", 1)[0])
        kw = {}
        if prov is not None:
            props = {k: prov.props[k] for k in ("region", "clusterIdentifier") if k in prov.props}
            kw["provider"] = analyzer_pb2.AnalyzerProviderResource(
                type=prov.type, properties=_struct(props), urn=prov.urn, name=prov.name)
        out.append(analyzer_pb2.AnalyzerResource(type=v.type, properties=_struct(v.props), urn=v.urn, name=v.name,
                                                 parent=v.parent or "", **kw))
    return analyzer_pb2.AnalyzeStackRequest(resources=out)


def _planned(stack: str):
    views = to_views(plan_stack(stack).run)[1]
    providers = {v.urn: v for v in views if v.type.startswith("pulumi:providers:")}
    return views, providers


@pytest.fixture(scope="module")
def hosts_views():
    return _planned("aws-hosts")


def test_pack_declares_every_policy_as_mandatory_but_the_lab_notice(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "mpic-fleet"
    names = {p.name: p for p in info.policies}
    assert {"br-3.2.2.9-compliance", "no-open-ingress", "perspective-default-route-local", "imdsv2-required",
            "encryption-at-rest", "no-default-provider", "one-perspective-per-region",
            "health-checked-load-balancer", "least-privilege", "runtime-artifacts", "br-3.2.2.9-lab",
            "audit-records-kept"} == set(names)
    advisory = {p.name for p in info.policies if p.enforcementLevel != analyzer_pb2.MANDATORY}
    assert advisory == {"br-3.2.2.9-lab"}  # a declared lab's BR findings are reported, never enforced
    assert names["br-3.2.2.9-lab"].enforcementLevel == analyzer_pb2.ADVISORY


def test_pack_passes_the_planned_example_and_flags_a_broken_route(analyzer, hosts_views):
    views, providers = hosts_views
    ok = analyzer.AnalyzeStack(_request(views, providers))
    assert [d.message for d in ok.diagnostics] == []
    broken = []
    for v in views:
        if v.name == "persp-eu-west-1-default-route":
            v = type(v)(**{**v.__dict__, "props": {**v.props, "gatewayId": None, "vpcPeeringConnectionId": "pcx-1"}})
            v.props.pop("gatewayId")
        broken.append(v)
    bad = analyzer.AnalyzeStack(_request(broken, providers))
    assert {d.policyName for d in bad.diagnostics} == {"perspective-default-route-local"}
    assert all(d.enforcementLevel == analyzer_pb2.MANDATORY for d in bad.diagnostics)


def test_pack_guards_a_k8s_stack_by_its_manifest_and_its_clusters(analyzer):
    views, providers = _planned("k8s")
    assert [d.message for d in analyzer.AnalyzeStack(_request(views, providers)).diagnostics] == []
    gone = next(v for v in views if v.name == "persp-eu-west-1")
    without = [v for v in views if v.urn != gone.urn and v.parent != gone.urn]
    bad = analyzer.AnalyzeStack(_request(without, providers))
    assert [(d.policyName, d.enforcementLevel) for d in bad.diagnostics] == [("br-3.2.2.9-compliance", analyzer_pb2.MANDATORY)]
    assert "perspective regions deployed (ap-northeast-1, ap-southeast-2, sa-east-1, us-west-2)" in bad.diagnostics[0].message
