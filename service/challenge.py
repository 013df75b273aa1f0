"""Challenge values the Baseline Requirements accept, checked before any perspective is called.

A DCV check corroborates that the Applicant placed a value the CA chose. An empty value proves
nothing (a substring "" matches any TXT or CAA record), and a value too short to carry a BR Random
Value (BR 1.6.1: "at least 112 bits of entropy") or a Request Token (which incorporates the key of
the certificate request) cannot be one. The coordinator refuses both with 400 for every method:

- **empty** (``empty-challenge-value``): every value the method compares with what the domain
  publishes — ``challenge_value`` (website-change, dns-change, the contact and ip-address
  methods, reverse-address-lookup), ``token`` and ``key_authorization`` (acme-http-01),
  ``key_authorization_hash`` (acme-dns-01, acme-tls-alpn-01), ``expected_account_uri`` and each of
  ``issuer_domain_names`` (dns-persistent) — may not be empty or whitespace only;
- **too short** (``challenge-value-too-short``): the Random Values and Request Tokens of the
  methods that use them (website-change and dns-change ``challenge_value``, acme-http-01
  ``token``, acme-dns-01 and acme-tls-alpn-01 ``key_authorization_hash``) have at least
  ``min_challenge_length`` characters besides surrounding whitespace. The contact methods compare an e-mail address or a phone
  number, ip-address an address, reverse-address-lookup a domain name, dns-persistent an issuer
  and an account URI: none of them is a random value, so no length applies to them.

:data:`RANDOM_VALUE_MIN_CHARS` (19) is the floor of ``min_challenge_length``: 112 bits take at least
19 characters of base64url (6 bits a character, the densest alphabet ACME and CAs use for random
values; hex would take 28). The runtime refuses a lower setting: the BR floor is not the
configuration's to lower.
"""

from __future__ import annotations

import math
from typing import Any

RANDOM_VALUE_BITS = 112
"""BR 1.6.1 (Random Value): "a value specified by a CA to the Applicant that exhibits at least 112
bits of entropy"."""
RANDOM_VALUE_MIN_CHARS = math.ceil(RANDOM_VALUE_BITS / 6)
"""19: the fewest base64url characters (6 bits each) that can hold 112 bits."""

EMPTY = "empty-challenge-value"
TOO_SHORT = "challenge-value-too-short"

#: validation method -> (fields compared with the domain's content, fields that are Random Values / Request Tokens)
VALUES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "website-change": (("challenge_value",), ("challenge_value",)),
    "dns-change": (("challenge_value",), ("challenge_value",)),
    "acme-http-01": (("token", "key_authorization"), ("token",)),
    "acme-dns-01": (("key_authorization_hash",), ("key_authorization_hash",)),
    "acme-tls-alpn-01": (("key_authorization_hash",), ("key_authorization_hash",)),
    "dns-persistent": (("expected_account_uri", "issuer_domain_names"), ()),
    "contact-email-txt": (("challenge_value",), ()),
    "contact-email-caa": (("challenge_value",), ()),
    "contact-phone-txt": (("challenge_value",), ()),
    "contact-phone-caa": (("challenge_value",), ()),
    "ip-address": (("challenge_value",), ()),
    "reverse-address-lookup": (("challenge_value",), ()),
}


def _method(params: Any) -> str:
    method = getattr(params, "validation_method", None)
    return str(getattr(method, "value", method))


def challenge_issues(params: Any, min_length: int | None = RANDOM_VALUE_MIN_CHARS) -> list[dict[str, str]]:
    """Validation issues of a request's ``dcv_check_parameters`` (empty list: acceptable).
    ``min_length`` None checks emptiness only (a perspective: the coordinator checked the length)."""
    if params is None:
        return []
    method = _method(params)
    compared, random_values = VALUES.get(method, ((), ()))
    out: list[dict[str, str]] = []
    for field in compared:
        value = getattr(params, field, None)
        items = value if isinstance(value, list) else [value]
        if not items or any(not isinstance(v, str) or not v.strip() for v in items):
            out.append({"issue_type": EMPTY, "message": (
                f"dcv_check_parameters.{field}: empty or whitespace only for {method}; an empty value matches "
                "anything the domain publishes and proves nothing. Send the value the Applicant was asked to "
                "place")})
        elif min_length is not None and field in random_values and len(value.strip()) < min_length:
            out.append({"issue_type": TOO_SHORT, "message": (
                f"dcv_check_parameters.{field}: {len(value.strip())} characters (without surrounding whitespace) "
                f"for {method}, below the minimum of "
                f"{min_length} (min_challenge_length): a BR Random Value carries at least {RANDOM_VALUE_BITS} "
                f"bits ({RANDOM_VALUE_MIN_CHARS} base64url characters) and a Request Token incorporates the "
                "certificate key. Send a longer value, e.g. 32 random bytes in base64url")})
    return out
