"""The kit CA (pulumi-tls): mutual TLS between the coordinator and its perspectives, for every target.

BR 3.2.2.9 requires traffic between the CA and each remote Network Perspective to be
authenticated and encrypted: every perspective presents a server certificate of this CA and
accepts only client certificates of this CA; the coordinator presents the client certificate
issued here. :class:`KitCa` creates the private CA (ECDSA P-256, self-signed), the coordinator's
client certificate and, where the coordinator terminates TLS itself (Kubernetes), its server
certificate; :func:`issue_leaf` issues the perspectives' certificates. Keys live in the Pulumi
state as secrets, never in a file; the targets deliver them (SSM SecureString parameters on
AWS, Secrets on Kubernetes).
"""

from __future__ import annotations

from typing import NamedTuple, NotRequired, Sequence, TypedDict

import pulumi
import pulumi_tls as tls

from plan.pki import (
    CA_COMMON_NAME,
    CA_VALIDITY_DAYS,
    COORDINATOR_CLIENT_NAME,
    CURVE,
    EARLY_RENEWAL_DAYS,
    LEAF_VALIDITY_DAYS,
    ORGANIZATION,
)

__all__ = ["CA_COMMON_NAME", "COORDINATOR_CLIENT_NAME", "KitCa", "Leaf", "issue_leaf"]

CA_VALIDITY_HOURS = CA_VALIDITY_DAYS * 24
LEAF_VALIDITY_HOURS = LEAF_VALIDITY_DAYS * 24
EARLY_RENEWAL_HOURS = EARLY_RENEWAL_DAYS * 24
"""A leaf is re-issued by the ``pulumi up`` that runs within 30 days of its expiry."""
CA_USES = ("cert_signing", "crl_signing", "digital_signature")
LEAF_USES = ("digital_signature", "key_encipherment")
"""Uses of every leaf; :func:`issue_leaf` adds ``server_auth`` and/or ``client_auth``."""


class Leaf(NamedTuple):
    """A certificate of the kit CA and its private key (a secret output)."""

    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]


def issue_leaf(owner: pulumi.Resource, name: str, common_name: str, dns_names: pulumi.Input[Sequence[str]],
               ca_cert_pem: pulumi.Input[str], ca_private_key_pem: pulumi.Input[str], *,
               uses: Sequence[str]) -> Leaf:
    """A key (ECDSA P-256) and a certificate of the kit CA, children of ``owner`` named
    ``<name>-key``, ``<name>-csr`` and ``<name>-cert``. ``uses`` are the extended uses added to
    :data:`LEAF_USES` (``server_auth``, ``client_auth``)."""
    child = pulumi.ResourceOptions(parent=owner)
    key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve=CURVE, opts=child)
    csr = tls.CertRequest(f"{name}-csr", private_key_pem=key.private_key_pem, dns_names=dns_names,
                          subject=tls.CertRequestSubjectArgs(common_name=common_name, organization=ORGANIZATION),
                          opts=child)
    cert = tls.LocallySignedCert(f"{name}-cert", cert_request_pem=csr.cert_request_pem, ca_cert_pem=ca_cert_pem,
                                 ca_private_key_pem=ca_private_key_pem, allowed_uses=[*LEAF_USES, *uses],
                                 validity_period_hours=LEAF_VALIDITY_HOURS, early_renewal_hours=EARLY_RENEWAL_HOURS,
                                 opts=child)
    return Leaf(cert.cert_pem, pulumi.Output.secret(key.private_key_pem))


class KitCaArgs(TypedDict):
    common_name: str
    """The CA's subject common name: :data:`CA_COMMON_NAME` (:mod:`plan.pki`) on Kubernetes,
    ``"<CA_COMMON_NAME> (<stack>)"`` on AWS (the stack is the Pulumi stack's name)."""
    coordinator_dns_names: NotRequired[Sequence[str]]
    """DNS names in the coordinator's server certificate, the first its common name: on Kubernetes
    ``FleetPlan.coordinator_cert_dns_names`` (:func:`plan.k8s.fleet.plan_fleet`: ``mpic:k8s.coordinatorHostname``,
    each hub's ``<region>.<coordinatorHostname>``, the in-cluster Service name). Absent or empty on
    AWS, where the ALB ends TLS with ACM: no server certificate is issued."""


class KitCa(pulumi.ComponentResource):
    """The kit CA (ECDSA P-256, self-signed), the coordinator's client certificate and, given
    ``coordinator_dns_names``, its server certificate. Children: ``<name>-key``, ``<name>-cert``
    (the CA), ``<name>-client-*`` and ``<name>-server-*`` (see :func:`issue_leaf`)."""

    cert_pem: pulumi.Output[str]
    private_key_pem: pulumi.Output[str]
    client: Leaf
    server: Leaf | None

    def __init__(self, name: str, args: KitCaArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:tls:KitCa", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve=CURVE, opts=child)
        cert = tls.SelfSignedCert(
            f"{name}-cert", private_key_pem=key.private_key_pem, is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(common_name=args["common_name"], organization=ORGANIZATION),
            allowed_uses=list(CA_USES), validity_period_hours=CA_VALIDITY_HOURS, opts=child)
        self.cert_pem = cert.cert_pem
        self.private_key_pem = pulumi.Output.secret(key.private_key_pem)
        self.client = issue_leaf(self, f"{name}-client", COORDINATOR_CLIENT_NAME, [], self.cert_pem,
                                 self.private_key_pem, uses=["client_auth"])
        names = list(args.get("coordinator_dns_names", ()))
        self.server = issue_leaf(self, f"{name}-server", names[0], names, self.cert_pem, self.private_key_pem,
                                 uses=["server_auth"]) if names else None
        self.register_outputs({"certPem": self.cert_pem})
