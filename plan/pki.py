"""The kit CA's policy: one definition for the Pulumi CA component and the local fleet's CA.

BR 3.2.2.9 requires traffic between the CA and each remote Network Perspective to be
authenticated and encrypted: every target runs mutual TLS from a private kit CA. The Pulumi
component (``components/pki.py``, pulumi-tls) and the local fleet (``local/pki.py``,
cryptography) issue certificates of the same shape: ECDSA P-256 keys, a ten-year CA, 397-day
leaves renewed 30 days ahead, the same names and extended key usages.
"""

from __future__ import annotations

CURVE = "P256"
"""ECDSA curve of every key (NIST P-256 / secp256r1)."""
CA_VALIDITY_DAYS = 3650
LEAF_VALIDITY_DAYS = 397
"""Leaf certificates: 397 days, the public TLS maximum (as a habit, not a requirement)."""
EARLY_RENEWAL_DAYS = 30
"""A leaf is re-issued when it has fewer days left than this."""
CA_COMMON_NAME = "MPIC Fleet kit CA"
ORGANIZATION = "MPIC Fleet"
COORDINATOR_CLIENT_NAME = "mpic-coordinator-client"
"""Common name of the coordinator's client certificate: its identity towards the perspectives."""


def perspective_cert_name(code: str) -> str:
    """Common name of perspective ``code``'s server certificate, ``perspective-<code>``, on every
    target: the coordinator checks it on every connection (service.identity, pinned by a test)."""
    return f"perspective-{code}"
SERVER_AUTH = "server_auth"
CLIENT_AUTH = "client_auth"
