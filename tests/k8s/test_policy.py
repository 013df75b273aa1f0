"""The policy pack on the k8s target, as it sees the program's resources under Pulumi's mocks: the
fleet manifest every target records, BR 3.2.2.9 on it, and the perspective workloads deployed
exactly where the manifest says (their cluster provider's ``clusterIdentifier``)."""

from __future__ import annotations

import dataclasses

import pytest

from preview.engine import to_views
from plan.manifest import MANIFEST_TYPE, cluster_identifier, provider_region
from policy.rules import Res, evaluate
from tests.k8s.conftest import run_k8s

BR = "br-3.2.2.9-compliance"


def _views(run) -> list[Res]:
    assert run.error is None, run.error
    return to_views(run)[1]


def _br(views: list[Res]) -> list[str]:
    return [v.message for v in evaluate(views) if v.policy in (BR, "one-perspective-per-region")]


@pytest.fixture(scope="module")
def views(fleet_run) -> list[Res]:
    return _views(fleet_run)


def test_the_program_records_the_fleet_manifest_and_the_pack_passes_it(views):
    manifests = [v for v in views if v.type == MANIFEST_TYPE]
    assert len(manifests) == 1 and manifests[0].props["manifest"]["target"] == "k8s"
    assert manifests[0].props["manifest"]["audit"]["sink"]["kind"] == "s3"  # the gate's AUDIT rule needs it
    assert evaluate(views) == []
    regions = {v.name: v.region for v in views if v.type == "mpic:k8s:PerspectiveWorkload"}
    assert sorted(regions.values()) == sorted(manifests[0].props["manifest"]["perspectives"])


def test_a_manifest_that_breaks_br_3_2_2_9_is_refused(views):
    def shrunk(v: Res) -> Res:
        if v.type != MANIFEST_TYPE:
            return v
        manifest = {**v.props["manifest"], "perspectives": v.props["manifest"]["perspectives"][:2]}
        return dataclasses.replace(v, props={**v.props, "manifest": manifest})

    found = _br([shrunk(v) for v in views])
    assert any(m.startswith("R3:") for m in found), found  # 2 remote perspectives: too few
    assert any("perspective regions deployed" in m for m in found), found  # 5 workloads, 2 checked


def test_a_perspective_workload_missing_or_doubled_is_refused(views):
    gone = next(v for v in views if v.name == "persp-sa-east-1")
    without = [v for v in views if v.urn != gone.urn and not (v.parent or "").startswith(gone.urn)]
    assert any("perspective regions deployed (ap-northeast-1, ap-southeast-2, eu-west-1, us-west-2) differ"
               in m for m in _br(without))
    # a second workload on the sa-east-1 cluster's provider: not a distinct perspective
    twin = dataclasses.replace(gone, name="persp-twin", urn=gone.urn + "-twin")
    deployment = next(v for v in views if v.custom and v.parent == gone.urn)
    twin_child = dataclasses.replace(deployment, urn=deployment.urn + "-twin", parent=twin.urn)
    assert any("both perspectives in sa-east-1" in m for m in _br([*views, twin, twin_child]))


def test_a_k8s_stack_without_the_manifest_is_refused(views):
    found = _br([v for v in views if v.type != MANIFEST_TYPE])
    assert len(found) == 1 and found[0].startswith("no fleet manifest")


def test_a_standby_hub_with_route53_failover_passes():
    views = _views(run_k8s(k8s={"standbyHub": "us-west-1", "failoverZoneId": "Z0EXAMPLEZONE",
                                "clusters": {"us-west-1": {"context": "hub-b"}}}))
    assert any(v.type == "mpic:aws:FailoverEndpoint" for v in views)
    assert evaluate(views) == []


def test_a_lab_on_one_cluster_is_reported_never_blocked(lab_run):
    violations = evaluate(_views(lab_run))
    assert violations and all(v.advisory and v.policy == "br-3.2.2.9-lab" for v in violations)
    messages = [v.message for v in violations]
    assert any("perspective regions deployed (us-east-1) differ" in m for m in messages)
    assert any("both perspectives in us-east-1" in m for m in messages)


@pytest.mark.parametrize("ptype, props, region", [
    ("pulumi:providers:aws", {"region": "eu-west-1"}, "eu-west-1"),
    ("pulumi:providers:kubernetes", {"clusterIdentifier": cluster_identifier("sa-east-1")}, "sa-east-1"),
    ("pulumi:providers:kubernetes", {"clusterIdentifier": "someone-elses"}, None),
    ("pulumi:providers:kubernetes", {"clusterIdentifier": "mpic-"}, None),
    ("pulumi:providers:tls", {}, None),
])
def test_the_region_of_a_provider(ptype, props, region):
    assert provider_region(ptype, props) == region
