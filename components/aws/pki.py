"""The kit CA for mutual TLS between the coordinator and its perspectives (pulumi-tls).

BR 3.2.2.9 requires CA <-> remote perspective traffic to be authenticated and encrypted: every
perspective presents a server certificate of this CA and accepts only client certificates of this
CA; the coordinator presents the client certificate issued here. Keys live in the Pulumi state
as secrets and reach hosts only through SSM SecureString parameters.
"""

from __future__ import annotations

from typing import TypedDict

import pulumi
import pulumi_tls as tls

CA_VALIDITY_HOURS = 10 * 365 * 24
LEAF_VALIDITY_HOURS = 397 * 24
LEAF_USES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"]


class KitPkiArgs(TypedDict):
    stack: str
    """Stack name, part of the CA's common name."""


class KitPki(pulumi.ComponentResource):
    """The kit CA (ECDSA P-256, self-signed) and the coordinator's client certificate."""

    ca_cert_pem: pulumi.Output[str]
    ca_private_key_pem: pulumi.Output[str]
    client_cert_pem: pulumi.Output[str]
    client_private_key_pem: pulumi.Output[str]

    def __init__(self, name: str, args: KitPkiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:tls:KitPki", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ca_key = tls.PrivateKey(f"{name}-ca-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        ca = tls.SelfSignedCert(
            f"{name}-ca", private_key_pem=ca_key.private_key_pem, is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(common_name=f"MPIC Fleet kit CA ({args['stack']})",
                                                  organization="MPIC Fleet"),
            validity_period_hours=CA_VALIDITY_HOURS, allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            opts=child)
        self.ca_cert_pem = ca.cert_pem
        self.ca_private_key_pem = pulumi.Output.secret(ca_key.private_key_pem)
        client = issue_leaf(self, f"{name}-coordinator", "mpic-coordinator", [], self.ca_cert_pem,
                            self.ca_private_key_pem)
        self.client_cert_pem, self.client_private_key_pem = client
        self.register_outputs({"caCertPem": self.ca_cert_pem})


def issue_leaf(owner: pulumi.Resource, name: str, common_name: str, dns_names: pulumi.Input[list[str]],
               ca_cert_pem: pulumi.Input[str], ca_private_key_pem: pulumi.Input[str]
               ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """A key and a certificate of the kit CA (server and client auth), children of ``owner``."""
    child = pulumi.ResourceOptions(parent=owner)
    key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
    csr = tls.CertRequest(f"{name}-csr", private_key_pem=key.private_key_pem, dns_names=dns_names,
                          subject=tls.CertRequestSubjectArgs(common_name=common_name, organization="MPIC Fleet"),
                          opts=child)
    cert = tls.LocallySignedCert(f"{name}-cert", cert_request_pem=csr.cert_request_pem,
                                 ca_cert_pem=ca_cert_pem, ca_private_key_pem=ca_private_key_pem,
                                 validity_period_hours=LEAF_VALIDITY_HOURS, early_renewal_hours=30 * 24,
                                 allowed_uses=LEAF_USES, opts=child)
    return cert.cert_pem, pulumi.Output.secret(key.private_key_pem)
