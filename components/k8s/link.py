"""The kit CA's delivery on Kubernetes: one perspective's end of the intercluster mTLS link.

BR 3.2.2.9 requires traffic between the CA and each remote Network Perspective to be
authenticated and encrypted. The kit CA and the coordinator's certificates come from the shared
:class:`components.pki.KitCa`; :class:`InterclusterLink` issues one perspective's server
certificate (:func:`components.pki.issue_leaf`) and delivers it, with the CA, as a Secret in the
perspective's cluster, next to the Service that is the perspective's only entry point. Keys live
in the Pulumi state as secrets, never in a file.
"""

from __future__ import annotations

from typing import Any, TypedDict

import pulumi

from plan.k8s import objects as o
from components.k8s import resources
from plan.k8s.fleet import PerspectivePlan
from components.pki import issue_leaf
from plan.pki import perspective_cert_name


class InterclusterLinkArgs(TypedDict):
    plan: PerspectivePlan
    """The perspective's plan (:func:`plan.k8s.fleet.plan_perspective`): its region code, the names of its
    server certificate (``cert_dns_names``) and TLS Secret, its labels and its entry-point Service."""
    namespace: pulumi.Input[str]
    """The perspective's namespace (an output of its Namespace, so the link is created after it)."""
    ca_cert_pem: pulumi.Input[str]
    """The kit CA's certificate, PEM (:attr:`components.pki.KitCa.cert_pem`): signs the perspective's
    certificate and is delivered beside it as ``ca.crt``."""
    ca_key_pem: pulumi.Input[str]
    """The kit CA's private key, PEM, a Pulumi secret (:attr:`components.pki.KitCa.private_key_pem`):
    signs the perspective's certificate; never delivered to a cluster."""


class InterclusterLink(pulumi.ComponentResource):
    """Hub -> perspective: the perspective's server certificate (kit CA) delivered as a Secret, and
    its entry point — a LoadBalancer Service admitting only the hub egress ranges (a ClusterIP
    Service in a lab). Perspective egress never uses this path: it leaves from the perspective's
    own cluster."""

    url: pulumi.Output[str]

    def __init__(self, name: str, args: InterclusterLinkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:k8s:InterclusterLink", name, None, opts)
        plan = args["plan"]
        leaf = issue_leaf(self, name, perspective_cert_name(plan.code), list(plan.cert_dns_names), args["ca_cert_pem"],
                          args["ca_key_pem"], uses=["server_auth"])
        child = pulumi.ResourceOptions(parent=self)
        manifest: dict[str, Any] = o.tls_secret(plan.tls_secret_name, plan.namespace, plan.labels,
                                                leaf.cert_pem, leaf.key_pem, args["ca_cert_pem"])
        resources.create(f"{name}-secret", resources.in_namespace(manifest, args["namespace"]), child)
        resources.create(f"{name}-service", resources.in_namespace(plan.service, args["namespace"]), child)
        self.url = pulumi.Output.from_input(plan.url)
        self.register_outputs({"url": self.url})
