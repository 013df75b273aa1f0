"""An EKS cluster the stack creates owns its Kubernetes provider (``EksCluster.provider``): a child
of the component, made from the cluster's kubeconfig, the one provider of the region's workloads."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

import preview.mocks
from preview.mocks import ProgramRun, RecordingMonitor, run_callable
from components.k8s.eks import EksCluster
from config.target_k8s import EksCluster as EksSpec
from tests.k8s.conftest import mocks, run_k8s

CLUSTERS = {"us-east-1": {"context": "us-east-1"},
            "sa-east-1": {"eks": {"subnetIds": ["subnet-0a", "subnet-0b"], "nodeCount": 2}}}
PROVIDER = "pulumi:providers:kubernetes"


def _urn(ref: str | None) -> str:
    """``<provider urn>::<id>`` -> the provider's URN."""
    return (ref or "").rsplit("::", 1)[0]


@pytest.fixture(scope="module")
def eks_run() -> ProgramRun:
    run = run_k8s(k8s={"clusters": CLUSTERS})
    assert run.error is None, run.error
    return run


def test_the_eks_component_owns_the_regions_provider_and_its_workloads_use_it(eks_run):
    (component,) = eks_run.by_type("mpic:k8s:EksCluster")
    providers = {p.name: p for p in eks_run.by_type(PROVIDER)}
    eks = providers["k8s-sa-east-1"]
    assert eks.parent == component.urn, "the cluster component creates its provider as a child"
    assert eks.urn.endswith("::mpic:k8s:EksCluster$pulumi:providers:kubernetes::k8s-sa-east-1")
    assert eks.inputs["clusterIdentifier"] == "mpic-sa-east-1" and "context" not in eks.inputs
    assert (eks.inputs["enableServerSideApply"], eks.inputs["deleteUnreachable"]) == ("true", "false")  # provider config: text
    kubeconfig = json.loads(eks.inputs["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "https://eks-sa-east-1-cluster.eks.example"
    # clusters the operator brought keep their providers at the program root, from the kubeconfig secret
    others = [p for name, p in providers.items() if name != "k8s-sa-east-1"]
    assert others and all(p.parent.endswith("pulumi:pulumi:Stack::mpic-k8s") for p in others)
    assert all(p.inputs["kubeconfig"].startswith("apiVersion: v1") for p in others)
    # every object of the sa-east-1 perspective is on the component's provider, and only those
    on_eks = [r for r in eks_run.resources if r.type.startswith("kubernetes:") and _urn(r.provider) == eks.urn]
    regions = {r.inputs["metadata"]["labels"].get("mpic-fleet.io/region") for r in on_eks}
    assert regions == {"sa-east-1"}
    assert {r.inputs["kind"] for r in on_eks} >= {"Namespace", "Deployment", "Service", "Secret", "NetworkPolicy"}
    elsewhere = [r for r in eks_run.resources if r.type.startswith("kubernetes:") and r not in on_eks]
    assert all(r.inputs["metadata"]["labels"].get("mpic-fleet.io/region") != "sa-east-1" for r in elsewhere)
    assert eks_run.default_provider_uses() == []


ALIASES: dict[str, list] = {}
"""Logical name -> the aliases it was registered with (filled by :class:`_AliasMonitor`)."""


class _AliasMonitor(RecordingMonitor):
    """Also records the aliases of every registration."""

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        ALIASES[request.name] = list(request.aliases)
        return super().RegisterResource(request)


def test_the_component_exposes_its_provider_aliased_to_its_former_place(monkeypatch):
    """Constructed on its own: ``cluster.provider`` is a ``k8s.Provider`` child of the component,
    aliased to the program root where the stack used to create it (no replacement on upgrade)."""
    monkeypatch.setattr(preview.mocks, "RecordingMonitor", _AliasMonitor)
    ALIASES.clear()
    seen = {}

    def build():
        spec = EksSpec.model_validate({"subnetIds": ["subnet-0a", "subnet-0b"], "nodeCount": 2})
        cluster = EksCluster("eks-sa-east-1", {"region": "sa-east-1", "spec": spec, "provider_name": "k8s-sa-east-1"},
                             opts=pulumi.ResourceOptions(providers=[aws.Provider("aws-sa-east-1", region="sa-east-1")]))
        seen["provider"] = cluster.provider
        pulumi.export("kubeconfig", cluster.kubeconfig)

    run = run_callable(build, mocks=mocks())
    assert run.error is None and run.default_provider_uses() == []
    assert isinstance(seen["provider"], k8s.Provider)
    (component,) = run.by_type("mpic:k8s:EksCluster")
    (provider,) = run.by_type(PROVIDER)
    assert provider.name == "k8s-sa-east-1" and provider.parent == component.urn
    assert provider.inputs["kubeconfig"] == run.outputs["kubeconfig"]
    (alias,) = ALIASES["k8s-sa-east-1"]
    assert alias.spec.noParent is True and not alias.spec.name  # same name, formerly at the root
