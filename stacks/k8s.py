"""The ``k8s`` target's stack program: ``deploy(fleet, secrets)`` called by :func:`stacks.program.main`.

Plans first (:func:`plan.k8s.fleet.plan_fleet` refuses a bad config with the key and the
fix before any resource exists), then creates at the program root one explicit provider per
cluster — ``pulumi:providers:kubernetes`` named ``k8s-<region>``, always from an explicit
kubeconfig (a Pulumi secret, or an EKS cluster the stack creates: then the provider is the
:class:`~components.k8s.eks.EksCluster` component's child), never an ambient one — one
``tls`` provider, and the components: the kit CA, a PerspectiveWorkload and an InterclusterLink
per perspective, a CoordinatorWorkload per hub and, with a standby hub and a zone, the AWS
target's Route53 failover.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from components.failover import FailoverEndpoint
from components.k8s.canary import CanaryWorkload
from components.k8s.coordinator import CoordinatorWorkload
from components.k8s.eks import EksCluster
from components.k8s.link import InterclusterLink
from components.k8s.perspective import PerspectiveWorkload
from components.pki import CA_COMMON_NAME, KitCa
from config.canary import TSIG_SECRET_KEY
from config.errors import ConfigError
from config.model import NAMESPACE, StackConfig
from config.target_k8s import KUBECONFIG_KEY, KUBECONFIGS_KEY
from plan.artifacts import Built
from plan.failover import plan_failover
from plan.manifest import cluster_identifier
from plan.k8s.fleet import ClusterPlan, FleetPlan, dns_label, plan_fleet, status


@dataclasses.dataclass(frozen=True)
class ClusterCredentials:
    """The cluster secrets ``__main__.py`` reads (``mpic:kubeconfig``, ``mpic:kubeconfigs``)."""

    kubeconfig: pulumi.Input[str] | None = None
    """One kubeconfig holding a context per existing cluster."""
    kubeconfigs: pulumi.Input[dict] | None = None
    """Entry name -> kubeconfig text, for clusters whose credentials are kept apart."""


def credentials_of(secrets: Any) -> ClusterCredentials:
    """The cluster credentials carried by the program's StackSecrets (fields may be absent)."""
    return ClusterCredentials(kubeconfig=getattr(secrets, "kubeconfig", None),
                              kubeconfigs=getattr(secrets, "kubeconfigs", None))


def _missing(key: str, clusters: list[str]) -> pulumi.RunError:
    how = ("pulumi config set --secret mpic:kubeconfig \"$(kubectl config view --flatten)\" (one context "
           "per cluster; a cluster's context defaults to its region code)" if key == KUBECONFIG_KEY else
           "pulumi config set --secret --path 'mpic:kubeconfigs.ENTRY' \"$(cat ENTRY.kubeconfig)\" for each entry")
    return pulumi.RunError(f"{NAMESPACE}:{key}: missing; the clusters of {', '.join(clusters)} read it. Set it: "
                           f"{how}. The kit never falls back to an ambient kubeconfig.")


def _check_credentials(plan: FleetPlan, creds: ClusterCredentials) -> None:
    for key, value in ((KUBECONFIG_KEY, creds.kubeconfig), (KUBECONFIGS_KEY, creds.kubeconfigs)):
        users = [c.region for c in plan.clusters if c.kubeconfig_key == key]
        if users and value is None:
            raise _missing(key, users)


def _entry(entries: Any, name: str) -> str:
    if not isinstance(entries, dict) or name not in entries:
        known = ", ".join(sorted(entries)) if isinstance(entries, dict) else "none"
        raise pulumi.RunError(f"{NAMESPACE}:kubeconfigs: no entry '{name}' (entries: {known}). Set it with "
                              f"pulumi config set --secret --path 'mpic:kubeconfigs.{name}' \"$(cat {name}.kubeconfig)\".")
    return entries[name]


class AwsProviders:
    """One explicit ``aws`` provider per region (``aws-<region>``), created on first use at the root."""

    def __init__(self) -> None:
        self._by_region: dict[str, aws.Provider] = {}

    def __call__(self, region: str) -> aws.Provider:
        if region not in self._by_region:
            self._by_region[region] = aws.Provider(f"aws-{region}", region=region)
        return self._by_region[region]


def cluster_provider(cluster: ClusterPlan, creds: ClusterCredentials, aws_providers: AwsProviders) -> k8s.Provider:
    """The explicit Kubernetes provider of ``cluster``: an EKS cluster's own (:attr:`EksCluster.provider`),
    else one created at the program root from the operator's kubeconfig secret."""
    if cluster.eks is not None:
        return EksCluster(f"eks-{cluster.region}", {"region": cluster.region, "spec": cluster.eks,
                                                    "provider_name": cluster.provider_name},
                          opts=pulumi.ResourceOptions(providers=[aws_providers(cluster.region)])).provider
    if cluster.kubeconfig_key == KUBECONFIGS_KEY:
        entry = cluster.kubeconfig_entry
        kubeconfig = pulumi.Output.secret(pulumi.Output.from_input(creds.kubeconfigs).apply(lambda m: _entry(m, entry)))
    else:
        kubeconfig = pulumi.Output.secret(creds.kubeconfig)
    return k8s.Provider(cluster.provider_name, kubeconfig=kubeconfig, context=cluster.context,
                        cluster_identifier=cluster_identifier(cluster.region), enable_server_side_apply=True,
                        delete_unreachable=False)


def failover(fleet: StackConfig, plan: FleetPlan, aws_providers: AwsProviders,
             depends_on: list[pulumi.Resource]) -> pulumi.Resource:
    """The AWS target's Route53 failover (imported, not copied) in front of the two hubs.

    Each hub's coordinator Service is published as ``<region>.<coordinatorHostname>`` (external-dns,
    in the same hosted zone); the PRIMARY/SECONDARY alias records of ``coordinatorHostname`` point
    at those records, each guarded by an HTTPS health check of the deep ``/readyz``.
    """
    fo = plan.failover
    assert fo is not None
    return FailoverEndpoint("coordinator-failover", {
        "region": "us-east-1", "domain": fo.hostname, "zone_id": fo.zone_id,
        "primary": {"region": plan.coordinators[0].region, "alb_dns_name": fo.primary, "alb_zone_id": fo.zone_id},
        "standby": {"region": plan.coordinators[1].region, "alb_dns_name": fo.secondary, "alb_zone_id": fo.zone_id},
        "check": plan_failover(fleet, fo.hostname, alias=True),
    }, opts=pulumi.ResourceOptions(providers=[aws_providers("us-east-1")], depends_on=depends_on))


def canary_tsig_secret(plan: FleetPlan, secrets: Any) -> pulumi.Input[str] | None:
    """``mpic:canaryTsigSecret`` when the plan has a canary; ConfigError (before any resource) when
    it is missing."""
    if plan.canary is None:
        return None
    value = getattr(secrets, "canary_tsig_secret", None)
    if value is None:
        key = f"{NAMESPACE}:{TSIG_SECRET_KEY}"
        fix = (f"pulumi config set --secret {key} SECRET, the base64 secret of the TSIG key the DNS primary "
               f"accepts for updates of {plan.canary.canary.record} ({NAMESPACE}:canary.dns.keyName), or set "
               f"{NAMESPACE}:canary.enabled: false")
        raise ConfigError(f"{key}: missing; the canary signs its RFC 2136 updates with it. Fix: {fix}.",
                          key=key, value=None, fix=fix)
    return value


def deploy(fleet: StackConfig, secrets: Any, built: Built | None = None,
           credentials: ClusterCredentials | None = None) -> dict[str, Any]:
    """Create the fleet on Kubernetes; returns the stack outputs. The clusters run the image
    ``mpic:k8s.image`` (built from ``dist/image``, see docs/kubernetes.md); no local artifact."""
    plan = plan_fleet(fleet)  # ConfigError (key, value, fix) before any resource: the program maps it
    creds = credentials or credentials_of(secrets)
    _check_credentials(plan, creds)
    tsig = canary_tsig_secret(plan, secrets)
    aws_providers = AwsProviders()
    providers = {c.region: cluster_provider(c, creds, aws_providers) for c in plan.clusters}
    tls_provider = tls.Provider("tls")
    ca = KitCa("kit-ca", {"common_name": CA_COMMON_NAME,
                          "coordinator_dns_names": list(plan.coordinator_cert_dns_names)},
               opts=pulumi.ResourceOptions(providers=[tls_provider],
                                           aliases=[pulumi.Alias(type_="mpic:k8s:KitCa")]))  # its former token
    server = ca.server
    assert server is not None, "the planner always names the coordinator"
    for p in plan.perspectives:
        label = dns_label(p.code)
        workload = PerspectiveWorkload(f"persp-{label}", {"plan": p},
                                       opts=pulumi.ResourceOptions(providers=[providers[p.cluster]]))
        InterclusterLink(f"link-{label}", {"plan": p, "namespace": workload.namespace, "ca_cert_pem": ca.cert_pem,
                                           "ca_key_pem": ca.private_key_pem},
                         opts=pulumi.ResourceOptions(providers=[tls_provider, providers[p.cluster]]))
    coordinators = {
        c.region: CoordinatorWorkload(f"coord-{c.region}", {
            "plan": c, "ca_cert_pem": ca.cert_pem, "server_cert_pem": server.cert_pem,
            "server_key_pem": server.key_pem, "client_cert_pem": ca.client.cert_pem,
            "client_key_pem": ca.client.key_pem, "api_keys": secrets.api_keys, "hash_secret": secrets.hash_secret,
        }, opts=pulumi.ResourceOptions(providers=[providers[c.region]]))
        for c in plan.coordinators}
    if plan.failover is not None:
        failover(fleet, plan, aws_providers, list(coordinators.values()))  # Route53's API lives in us-east-1
    out: dict[str, Any] = {}
    if plan.canary is not None:
        hub = coordinators[plan.canary.cluster]
        canary = CanaryWorkload("canary", {
            "plan": plan.canary, "namespace": hub.namespace, "tsig_secret": tsig,
            "api_key": pulumi.Output.secret(secrets.api_keys).apply(lambda keys: keys[0]),
        }, opts=pulumi.ResourceOptions(providers=[providers[plan.canary.cluster]], depends_on=[hub]))
        out = {"canary_cronjob": canary.cronjob, "canary_alerts": plan.canary.alert_names}
    return {
        **out,
        **status(fleet, plan),  # the smoke suite's keys (./scripts/mpic smoke STACK)
        "api_key": pulumi.Output.secret(secrets.api_keys).apply(lambda keys: keys[0]),
        "ca_cert": ca.cert_pem,
        "k8s_clusters": [c.provider_name for c in plan.clusters],
        "k8s_lab_mode": plan.lab_mode,
    }
