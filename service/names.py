"""The core's preparation of a check's target, without IDNA's work where IDNA changes nothing.

open-mpic-core prepares every check's target with ``DomainEncoder.prepare_target_for_lookup``: an
IP address as it is, a leading ``*.`` dropped, ``xn--`` labels checked, and anything else through
``idna.encode(..., uts46=True)``, which maps, checks and re-joins every label: about 7% of a CAA
check's CPU (docs/performance.md). For a name already in its final form (lowercase letters,
digits and inner hyphens, no ``xn--``-like label, within the DNS's lengths) that work returns the
name unchanged, so :func:`prepare_target_for_lookup` returns it directly and hands every other
target to the core's own function. A property test holds the two to the same answer for every
target (tests/service/test_names.py). Nothing the core checks is skipped: a name that could fail
any of its checks is not in the fast path's set.
"""

from __future__ import annotations

import re

from open_mpic_core.common_util import domain_encoder

_CORE = domain_encoder.DomainEncoder.prepare_target_for_lookup
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
"""A label IDNA returns as it is (RFC 5891 LDH): 1-63 octets, no hyphen at either end."""
MAX_NAME = 253
"""``idna.encode``'s limit on a name without its trailing dot."""


def unchanged(name: str) -> bool:
    """Is ``name`` one that the core's preparation returns as it is, without raising?

    Every label LDH and lowercase (:data:`_LABEL`), none with ``--`` in its 3rd and 4th octets
    (``xn--`` and the other reserved prefixes take the core's path), at most :data:`MAX_NAME`
    octets, and the last label not all digits (dotted digits may be an IPv4 address, which the
    core recognises first)."""
    if len(name) > MAX_NAME:
        return False
    labels = name.split(".")
    return not labels[-1].isdigit() and all(_LABEL.fullmatch(label) and label[2:4] != "--" for label in labels)


def prepare_target_for_lookup(domain_or_ip_target: str) -> str:
    """The core's ``DomainEncoder.prepare_target_for_lookup``: the same answer, and the same error."""
    name = domain_or_ip_target[2:] if domain_or_ip_target.startswith("*.") else domain_or_ip_target
    if unchanged(name):
        return name
    return _CORE(domain_or_ip_target)


def install() -> None:
    """Point the core's checkers at :func:`prepare_target_for_lookup` (idempotent)."""
    domain_encoder.DomainEncoder.prepare_target_for_lookup = staticmethod(prepare_target_for_lookup)  # type: ignore[method-assign]
