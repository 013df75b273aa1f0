"""The kit CA on Kubernetes (pulumi-tls): mutual TLS between the coordinator and its perspectives.

BR 3.2.2.9 requires traffic between the CA and each remote Network Perspective to be
authenticated and encrypted. :class:`KitCa` creates a private CA and the coordinator's two
identities (client certificate towards the perspectives, server certificate of its API);
:class:`InterclusterLink` issues one perspective's server certificate and delivers it, with the
CA, as a Secret in the perspective's cluster, next to the Service that is the perspective's
only entry point. Keys live in the Pulumi state as secrets, never in a file.
"""

from __future__ import annotations

from typing import Any, TypedDict

import pulumi
import pulumi_tls as tls

from components.k8s import objects as o
from components.k8s import resources
from components.k8s.plan import CA_VALIDITY_HOURS, CERT_VALIDITY_HOURS, PerspectivePlan

_LEAF_USES = ["digital_signature", "key_encipherment"]


def _leaf(parent: pulumi.Resource, name: str, common_name: str, dns_names: list[str], uses: list[str],
          ca_cert_pem: pulumi.Input[str], ca_key_pem: pulumi.Input[str]) -> tuple[tls.PrivateKey, tls.LocallySignedCert]:
    child = pulumi.ResourceOptions(parent=parent)
    key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
    csr = tls.CertRequest(f"{name}-csr", private_key_pem=key.private_key_pem, dns_names=dns_names,
                          subject={"common_name": common_name, "organization": "MPIC Fleet"}, opts=child)
    cert = tls.LocallySignedCert(f"{name}-cert", cert_request_pem=csr.cert_request_pem, ca_cert_pem=ca_cert_pem,
                                 ca_private_key_pem=ca_key_pem, allowed_uses=_LEAF_USES + uses,
                                 validity_period_hours=CERT_VALIDITY_HOURS, early_renewal_hours=30 * 24, opts=child)
    return key, cert


class KitCaArgs(TypedDict):
    coordinator_dns_names: list[str]
    """Names in the coordinator's server certificate (public name, per-hub names)."""


class KitCa(pulumi.ComponentResource):
    """The private CA and the coordinator's client and server certificates."""

    cert_pem: pulumi.Output[str]
    private_key_pem: pulumi.Output[str]
    client_cert_pem: pulumi.Output[str]
    client_key_pem: pulumi.Output[str]
    server_cert_pem: pulumi.Output[str]
    server_key_pem: pulumi.Output[str]

    def __init__(self, name: str, args: KitCaArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:k8s:KitCa", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        cert = tls.SelfSignedCert(f"{name}-cert", private_key_pem=key.private_key_pem, is_ca_certificate=True,
                                  subject={"common_name": "MPIC Fleet kit CA", "organization": "MPIC Fleet"},
                                  allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
                                  validity_period_hours=CA_VALIDITY_HOURS, opts=child)
        self.cert_pem = cert.cert_pem
        self.private_key_pem = pulumi.Output.secret(key.private_key_pem)
        client_key, client = _leaf(self, f"{name}-client", "mpic-coordinator-client", [], ["client_auth"],
                                   cert.cert_pem, key.private_key_pem)
        server_key, server = _leaf(self, f"{name}-server", args["coordinator_dns_names"][0],
                                   list(args["coordinator_dns_names"]), ["server_auth"],
                                   cert.cert_pem, key.private_key_pem)
        self.client_cert_pem = client.cert_pem
        self.client_key_pem = pulumi.Output.secret(client_key.private_key_pem)
        self.server_cert_pem = server.cert_pem
        self.server_key_pem = pulumi.Output.secret(server_key.private_key_pem)
        self.register_outputs({"certPem": self.cert_pem})


class InterclusterLinkArgs(TypedDict):
    plan: PerspectivePlan
    namespace: pulumi.Input[str]
    """The perspective's namespace (an output of its Namespace, so the link is created after it)."""
    ca_cert_pem: pulumi.Input[str]
    ca_key_pem: pulumi.Input[str]


class InterclusterLink(pulumi.ComponentResource):
    """Hub -> perspective: the perspective's server certificate (kit CA) delivered as a Secret, and
    its entry point — a LoadBalancer Service admitting only the hub egress ranges (a ClusterIP
    Service in a lab). Perspective egress never uses this path: it leaves from the perspective's
    own cluster."""

    url: pulumi.Output[str]

    def __init__(self, name: str, args: InterclusterLinkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:k8s:InterclusterLink", name, None, opts)
        plan = args["plan"]
        key, cert = _leaf(self, name, plan.hostname, list(plan.cert_dns_names), ["server_auth"],
                          args["ca_cert_pem"], args["ca_key_pem"])
        child = pulumi.ResourceOptions(parent=self)
        manifest: dict[str, Any] = o.tls_secret(plan.tls_secret_name, plan.namespace, plan.labels,
                                                cert.cert_pem, key.private_key_pem, args["ca_cert_pem"])
        resources.create(f"{name}-secret", resources.in_namespace(manifest, args["namespace"]), child)
        resources.create(f"{name}-service", resources.in_namespace(plan.service, args["namespace"]), child)
        self.url = pulumi.Output.from_input(plan.url)
        self.register_outputs({"url": self.url})
