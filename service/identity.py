"""Who answered: a perspective's identity, bound to the perspective the coordinator called.

BR 3.2.2.9 counts corroborations per Network Perspective, 500 km apart and across two RIRs. A
coordinator that reached perspective B at the URL it holds for A (a duplicated or swapped URL, a
stale DNS record) would count B's result as A's and fake the diversity the rule exists for. So
the coordinator takes the answer's identity from two sources and compares both with the
perspective it meant to call (Let's Encrypt's VA does the same with its remotes):

- **the channel**: on every new mTLS connection the perspective's server certificate must name
  ``perspective-<code>`` (common name or a DNS subject alternative name; the kit CA issues exactly
  that name on every target), besides the address check TLS already does;
- **the answer**: every perspective answer carries its own code and RIR (HTTP headers
  :data:`CODE_HEADER`, :data:`RIR_HEADER`; on Lambda the fields of :data:`LAMBDA_FIELD`, with the
  AWS region it runs in, from its own environment), compared with the code, the RIR and (Lambda)
  the function ARN's region the coordinator expected.

A mismatch makes that perspective's check a failure (:data:`MISMATCH_ERROR`), never a
corroboration.
"""

from __future__ import annotations

import ssl
from typing import Any

CERT_NAME_PREFIX = "perspective-"
"""The kit CA names a perspective's server certificate ``perspective-<code>`` (plan/pki.py
:func:`perspective_cert_name`, pinned by tests)."""
CODE_HEADER = "x-mpic-perspective"
RIR_HEADER = "x-mpic-perspective-rir"
LAMBDA_FIELD = "mpic_perspective"
"""Lambda answers: ``{"mpic_perspective": {"code", "rir", "aws_region"}, ...check response}``."""
MISMATCH_ERROR = "mpic_error:coordinator:perspective_identity_mismatch"


def cert_name(code: str) -> str:
    """The name a perspective's certificate carries: ``perspective-<code>``."""
    return f"{CERT_NAME_PREFIX}{code}"


class IdentityMismatch(Exception):
    """The perspective that answered is not the one the coordinator called."""


def peer_names(ssl_object: Any) -> set[str]:
    """Common name and DNS subject alternative names of a verified peer certificate (lower case)."""
    cert = ssl_object.getpeercert() if ssl_object is not None else None
    names: set[str] = set()
    for rdn in (cert or {}).get("subject", ()):
        names.update(value.lower() for key, value in rdn if key == "commonName")
    names.update(value.lower() for kind, value in (cert or {}).get("subjectAltName", ()) if kind == "DNS")
    return names


def check_certificate(ssl_object: ssl.SSLObject | Any, code: str, where: str) -> None:
    """IdentityMismatch unless the peer certificate names ``perspective-<code>``."""
    names = peer_names(ssl_object)
    wanted = cert_name(code).lower()
    if wanted not in names:
        shown = ", ".join(sorted(names)) or "no name"
        raise IdentityMismatch(f"the certificate presented at {where} names {shown}, not {wanted}: "
                               f"that is not perspective {code}")


def check_answer(code: str, rir: str, told_code: str | None, told_rir: str | None, where: str,
                 *, region: str | None = None, told_region: str | None = None) -> None:
    """IdentityMismatch unless the answer's own code and RIR (and, on Lambda, AWS region) are the
    ones expected; an answer that does not say who it is is refused too."""
    if told_code is None:
        raise IdentityMismatch(f"the answer from {where} does not name its perspective; expected {code} "
                               "(a perspective of this kit version names itself in every answer)")
    if told_code != code:
        raise IdentityMismatch(f"the answer from {where} is from perspective {told_code}, not {code}")
    if told_rir is not None and told_rir != rir:
        raise IdentityMismatch(f"perspective {code} at {where} reports RIR {told_rir}, not {rir}")
    if region is not None and told_region != region:
        raise IdentityMismatch(f"perspective {code} at {where} runs in AWS region {told_region or 'unknown'}, "
                               f"not {region} (the function ARN's region)")
