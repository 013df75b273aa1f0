"""``mpic:k8s`` — settings of the ``k8s`` target (typed, immutable).

One Kubernetes cluster per perspective region, a hub cluster for the coordinator (an optional
standby hub behind Route53 failover), or — for trying the target — one lab cluster with a
namespace per region. Cluster credentials are never part of this model: a cluster names a
*context* in the secret ``mpic:kubeconfig`` (one kubeconfig holding every cluster), or an entry
of the secret map ``mpic:kubeconfigs`` (per-cluster kubeconfigs kept apart), or asks the stack
to create an EKS cluster. ``__main__.py`` reads those two secret keys and passes them on.

Example (``stacks/Pulumi.k8s.yaml``)::

    mpic:k8s:
      image: ghcr.io/example-ca/mpic-fleet:0.1.0
      hub: us-east-1
      standbyHub: us-west-2
      perspectiveDomain: perspectives.mpic.example-ca.net
      coordinatorHostname: mpic.example-ca.net
      hubEgressCidrs: [198.51.100.16/28, 203.0.113.32/28]
      clusters:
        eu-west-1: {context: prod-euw1}          # a context in mpic:kubeconfig
        ap-northeast-1: {kubeconfig: apne1}      # mpic:kubeconfigs.apne1
        sa-east-1: {eks: {subnetIds: [subnet-a, subnet-b]}}
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from config.settings_base import TargetSettings

KUBECONFIG_KEY = "kubeconfig"
"""``mpic:kubeconfig`` (secret string): one kubeconfig holding a context per existing cluster."""
KUBECONFIGS_KEY = "kubeconfigs"
"""``mpic:kubeconfigs`` (secret object): entry name -> kubeconfig text, for clusters kept apart."""
SECRET_KEYS: frozenset[str] = frozenset({KUBECONFIG_KEY, KUBECONFIGS_KEY})
"""Secret keys of the ``k8s`` target, read by the entry point (never part of the model)."""

KUBERNETES_VERSION = "1.33"
"""The Kubernetes minor version the rendered objects are validated against (and EKS default)."""

SHIPPER_IMAGE = "cr.fluentbit.io/fluent/fluent-bit:4.0.3"
"""Fluent Bit, the CNCF log processor, as published by its project (pin a digest in production)."""

_CLUSTER_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_ENTRY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*[a-z0-9](:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[0-9a-f]{64})$")
_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")


def _check_image(value: str, key: str) -> str:
    """A pinned image reference: registry/name:tag or @sha256 digest, never ``:latest``."""
    base = value.split("@", 1)[0]
    last = base.rsplit("/", 1)[-1]
    if not _IMAGE.match(value) or ("@" not in value and ":" not in last):
        raise ValueError(f"{key}: '{value}' is not a pinned image; use REGISTRY/NAME:TAG or "
                         "REGISTRY/NAME@sha256:DIGEST (e.g. ghcr.io/example-ca/mpic-fleet:0.1.0)")
    if value.endswith(":latest"):
        raise ValueError(f"{key}: '{value}' uses the moving tag 'latest'; pin a version or a digest "
                         "so every cluster runs the same build")
    return value


class EksCluster(TargetSettings):
    """An EKS cluster the stack creates (pulumi-aws) in the region's existing VPC subnets."""

    subnet_ids: tuple[str, ...] = Field(min_length=2)
    """Subnets in >= 2 availability zones (EKS requires two; pods spread across zones)."""
    version: str = Field(default=KUBERNETES_VERSION, pattern=r"^1\.[0-9]{2}$")
    node_instance_type: str = Field(default="t3.medium", min_length=1)
    node_count: int = Field(default=3, ge=2, le=100)
    """Worker nodes (>= 2 so a perspective's two replicas never share a node)."""
    public_access_cidrs: tuple[str, ...] = ()
    """Who may reach the EKS API endpoint (where ``pulumi up`` runs); default: private endpoint only."""

    @field_validator("subnet_ids")
    @classmethod
    def _subnets(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for s in v:
            if not re.match(r"^subnet-[0-9a-f]{1,17}$", s):
                raise ValueError(f"subnetIds: '{s}' is not a subnet id (subnet-0123abcd)")
        return v

    @field_validator("public_access_cidrs")
    @classmethod
    def _cidrs(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_cidr(c, "eks.publicAccessCidrs") for c in v)


class ClusterSpec(TargetSettings):
    """The cluster of one region: an existing cluster (context / kubeconfig entry) or EKS."""

    context: str | None = Field(default=None, min_length=1)
    """Context name inside the kubeconfig; default: the region code (in ``mpic:kubeconfig``) or the
    kubeconfig's current context (in an ``mpic:kubeconfigs`` entry)."""
    kubeconfig: str | None = None
    """Entry of the secret map ``mpic:kubeconfigs``; unset: the shared ``mpic:kubeconfig``."""
    eks: EksCluster | None = None

    @field_validator("kubeconfig")
    @classmethod
    def _entry(cls, v: str | None) -> str | None:
        if v is not None and not _ENTRY.match(v):
            raise ValueError(f"kubeconfig: '{v}' is not an entry name of mpic:kubeconfigs (letters, digits, . _ -)")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> "ClusterSpec":
        if self.eks is not None and (self.context is not None or self.kubeconfig is not None):
            raise ValueError("give either eks (the stack creates the cluster) or context/kubeconfig (an "
                             "existing cluster), not both")
        return self


def _cidr(value: Any, key: str) -> str:
    try:
        net = ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        raise ValueError(f"{key}: '{value}' is not a CIDR block (e.g. 198.51.100.16/28, host bits zero)") from None
    if net.prefixlen == 0:
        raise ValueError(f"{key}: '{value}' admits the whole Internet; list the hub's egress (NAT) addresses")
    return str(net)


class K8sSettings(TargetSettings):
    """``mpic:k8s`` — settings of the ``k8s`` target."""

    image: str | None = None
    """Required: the runtime image, pinned (tag or ``@sha256`` digest), built from ``dist/image``
    (``./scripts/mpic build image-context``) and pushed to your registry (docs/kubernetes.md)."""
    resolver_image: str | None = None
    """Image of the per-pod Unbound resolver sidecar (needs ``unbound`` on PATH); default: ``image``."""
    shipper_image: str = SHIPPER_IMAGE
    """Fluent Bit, the audit shipper beside every runtime container (``mpic:audit.sink``), pinned."""
    namespace: str = Field(default="mpic", pattern=r"^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$")
    """Prefix of the namespaces the kit creates (``mpic-perspective``, ``mpic-coordinator``)."""
    hub: str = "us-east-1"
    """Region of the hub cluster running the coordinator (may also be a perspective's cluster)."""
    standby_hub: str | None = None
    """Region of an optional standby hub cluster (a second coordinator behind Route53 failover)."""
    clusters: dict[str, ClusterSpec] = Field(default_factory=dict)
    """Region -> cluster. A region not listed uses the context named after it in mpic:kubeconfig."""
    hub_egress_cidrs: tuple[str, ...] = ()
    """The hub clusters' egress (NAT) addresses: the only sources admitted by every perspective's
    load balancer (``loadBalancerSourceRanges``) and NetworkPolicy. Required unless labMode."""
    perspective_domain: str | None = None
    """Perspective ``P`` is reached at ``P.<perspectiveDomain>`` (its server certificate's name);
    point those names at the load balancers (external-dns annotates each Service). Required
    unless labMode."""
    coordinator_hostname: str = "mpic.example.internal"
    """Name the CA's systems call the coordinator by (server certificate, failover record)."""
    coordinator_source_cidrs: tuple[str, ...] = ()
    """Who may reach the coordinator's load balancer; default: anyone (API keys + TLS protect it)."""
    coordinator_max_replicas: int = Field(default=6, ge=2, le=100)
    """Upper bound of the coordinator's HorizontalPodAutoscaler."""
    failover_zone_id: str | None = None
    """Route53 hosted zone of ``coordinatorHostname``: with a standby hub, the failover records
    (components/failover.py ``FailoverEndpoint``) go there."""
    lab_mode: bool = False
    """One cluster (the hub's), a namespace per region, like upstream's lab. NOT compliant: every
    perspective egresses from the same place. Requires ``mpic:complianceMode: testing``."""

    @field_validator("image", "resolver_image", "shipper_image")
    @classmethod
    def _image(cls, v: str | None, info: Any) -> str | None:
        return None if v is None else _check_image(v, to_camel(info.field_name))

    @field_validator("hub", "standby_hub")
    @classmethod
    def _region(cls, v: str | None, info: Any) -> str | None:
        if v is not None and not _CLUSTER_NAME.match(v):
            raise ValueError(f"{to_camel(info.field_name)}: '{v}' is not a region code (lower-case letters, digits, -)")
        return v

    @field_validator("clusters")
    @classmethod
    def _clusters(cls, v: dict[str, ClusterSpec]) -> dict[str, ClusterSpec]:
        for region in v:
            if not _CLUSTER_NAME.match(region):
                raise ValueError(f"clusters: '{region}' is not a region code (lower-case letters, digits, -)")
        return v

    @field_validator("hub_egress_cidrs", "coordinator_source_cidrs")
    @classmethod
    def _cidrs(cls, v: tuple[str, ...], info: Any) -> tuple[str, ...]:
        return tuple(_cidr(c, to_camel(info.field_name)) for c in v)

    @field_validator("perspective_domain", "coordinator_hostname")
    @classmethod
    def _host(cls, v: str | None, info: Any) -> str | None:
        if v is not None and not _HOST.match(v):
            raise ValueError(f"{to_camel(info.field_name)}: '{v}' is not a DNS name (lower case, e.g. mpic.example-ca.net)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "K8sSettings":
        if self.standby_hub is not None and self.standby_hub == self.hub:
            raise ValueError(f"standbyHub: '{self.standby_hub}' is the hub itself; pick another region or drop it")
        if self.failover_zone_id is not None and self.standby_hub is None:
            raise ValueError("failoverZoneId: failover needs a standby hub; set standbyHub or drop failoverZoneId")
        if self.lab_mode and self.standby_hub is not None:
            raise ValueError("labMode: a lab runs on one cluster; drop standbyHub")
        return self

    # ------------------------------------------------------------------ derived values
    @property
    def hubs(self) -> tuple[str, ...]:
        """The hub regions: the hub, then the standby hub when there is one."""
        return (self.hub,) + ((self.standby_hub,) if self.standby_hub else ())

    def cluster(self, region: str) -> ClusterSpec:
        """The cluster of ``region`` (default: context ``region`` in ``mpic:kubeconfig``)."""
        return self.clusters.get(region, ClusterSpec())

    def secret_keys_needed(self, regions: tuple[str, ...]) -> tuple[str, ...]:
        """Which of ``mpic:kubeconfig`` / ``mpic:kubeconfigs`` the clusters of ``regions`` read."""
        needed: set[str] = set()
        for region in regions:
            spec = self.cluster(region)
            if spec.eks is None:
                needed.add(KUBECONFIGS_KEY if spec.kubeconfig is not None else KUBECONFIG_KEY)
        return tuple(sorted(needed))

    def kubeconfig_entries(self) -> tuple[str, ...]:
        """The ``mpic:kubeconfigs`` entries the clusters name."""
        return tuple(sorted({s.kubeconfig for s in self.clusters.values() if s.kubeconfig is not None}))

    def placeholder_secrets(self) -> dict[str, Any]:
        """Stand-ins for the cluster secrets when planning offline (``mpic plan``): no credential."""
        text = "apiVersion: v1\nkind: Config\n# mpic plan placeholder, not a credential\n"
        out: dict[str, Any] = {KUBECONFIG_KEY: text}
        if self.kubeconfig_entries():
            out[KUBECONFIGS_KEY] = {entry: text for entry in self.kubeconfig_entries()}
        return out
