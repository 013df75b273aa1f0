"""Values a stack that deploys must not carry: placeholders (names reserved for documentation, the
documentation address ranges, the kit's own example values) and a mutable image tag.

The example stacks and the model's defaults hold such values so they can be read and planned
(``mpic:aws.domain: mpic.example.com``, ``hubEgressCidrs: [198.51.100.16/28]``, a canary DNS
server at 192.0.2.53). Deployed, they fail late (a Route53 zone that is not the operator's) or
silently (a NetworkPolicy admitting a documentation range instead of the real hub). A stack that
deploys to a cloud and is not a lab (``mpic:complianceMode: testing``) is not ready while any value
its target reads is one of them: :func:`placeholders` names each key, value, why and the fix.
A k8s stack also names its runtime image by digest (:func:`mutable_images`): a tag can be moved to
another image after the plan was reviewed. ``mpic plan`` (readiness, exit 3) and the program
(``pulumi up``) refuse both (:func:`deploy_blockers`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from config.model import NAMESPACE, StackConfig

RESERVED_TLDS = ("example", "test", "invalid", "localhost")
"""RFC 2606 / RFC 6761: never delegated."""
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
"""RFC 2606: reserved for documentation."""
DOCUMENTATION_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",  # RFC 5737 TEST-NET-1..3
    "2001:db8::/32",  # RFC 3849
))
KIT_EXAMPLE_DOMAINS = ("example-ca.net",)
"""Names the kit's example stacks and docs use that are not reserved (someone may own them)."""
KIT_EXAMPLE_VALUES = frozenset({"example-ca-mpic-audit", "Z0123456789ABC"})
"""The example audit bucket (S3 names are global: another account may own it) and the docs' zone id."""
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
"""An image reference pinned by its content digest."""
TARGET_SECTIONS = {"aws-hosts": "aws", "aws-lambda": "aws", "k8s": "k8s"}
"""The target's own settings section; the other target's section (and its defaults) is not read."""
NOT_READ = {"aws-lambda": frozenset({f"{NAMESPACE}:aws.domain", f"{NAMESPACE}:aws.hostedZone"})}
"""Keys of the target's section it does not read (aws-lambda answers on API Gateway's own name)."""


@dataclasses.dataclass(frozen=True)
class Placeholder:
    key: str
    value: str
    why: str
    fix: str = ""
    """The fix, when not "the operator's own value"."""

    @property
    def text(self) -> str:
        fix = self.fix or (f"a deployed stack needs the operator's own value. Set it: pulumi config set --path "
                           f"'{self.key}' VALUE (or edit the stack file).")
        return f"{self.key}: '{self.value}' is {self.why}; {fix}"


def applies(cfg: StackConfig) -> bool:
    """Placeholders block a stack that deploys to a cloud and is not a declared lab."""
    return cfg.target in TARGET_SECTIONS and cfg.compliance_mode != "testing"


def placeholders(cfg: StackConfig) -> list[Placeholder]:
    """Every placeholder value the target reads (none for the local fleet or a lab)."""
    if not applies(cfg):
        return []
    doc = cfg.model_dump(by_alias=True, mode="json")
    read = {"testDomain": doc["testDomain"], "audit": doc["audit"], TARGET_SECTIONS[cfg.target]:
            doc[TARGET_SECTIONS[cfg.target]]}
    if cfg.canary.enabled:
        read["canary"] = doc["canary"]
    found = []
    for key, value in _strings(read, NAMESPACE + ":"):
        if key in NOT_READ.get(cfg.target, ()):
            continue
        why = placeholder_reason(value)
        if why is not None:
            found.append(Placeholder(key, value, why))
    return found


def mutable_images(cfg: StackConfig) -> list[Placeholder]:
    """The kit's runtime images of a k8s stack named by a tag instead of a ``@sha256`` digest."""
    if cfg.target != "k8s" or not applies(cfg):
        return []
    found = []
    for key, value in (("image", cfg.k8s.image), ("resolverImage", cfg.k8s.resolver_image)):
        if value and not DIGEST.search(value):
            found.append(Placeholder(
                f"{NAMESPACE}:k8s.{key}", value, "a mutable tag",
                f"a deployed stack pins the image it reviewed by digest. Push dist/image (./scripts/mpic build "
                f"image-context) and set the digest the push printed: pulumi config set --path "
                f"'{NAMESPACE}:k8s.{key}' REGISTRY/NAME@sha256:DIGEST"))
    return found


def deploy_blockers(cfg: StackConfig) -> list[Placeholder]:
    """What keeps a compliant stack from ``pulumi up`` in its values: placeholders, mutable images."""
    return placeholders(cfg) + mutable_images(cfg)


def placeholder_reason(value: str) -> str | None:
    """Why ``value`` (a name, URL, address, CIDR, host:port or image reference) is a placeholder."""
    if value in KIT_EXAMPLE_VALUES:
        return "the kit's example value"
    host = _host(value)
    try:
        net = ipaddress.ip_network(host, strict=False)
    except ValueError:
        name = host.lower().rstrip(".")
        if name.rsplit(".", 1)[-1] in RESERVED_TLDS or _under(name, RESERVED_DOMAINS):
            return "a name reserved for documentation (RFC 2606/6761)"
        if _under(name, KIT_EXAMPLE_DOMAINS):
            return "the kit's example domain"
        return None
    if any(net.version == doc.version and net.subnet_of(doc) for doc in DOCUMENTATION_NETWORKS):  # type: ignore[arg-type]
        return "in a documentation address range (RFC 5737/3849)"
    return None


def _under(name: str, domains: tuple[str, ...]) -> bool:
    return any(name == d or name.endswith("." + d) for d in domains)


def _host(value: str) -> str:
    """The host part: of a URL, of ``host:port``, of an image reference (its registry)."""
    rest = value.split("://", 1)[1] if "://" in value else value
    if "/" in rest and not _is_network(rest):
        rest = rest.split("/", 1)[0]
    if rest.startswith("["):  # [v6]:port
        return rest[1:].split("]", 1)[0]
    if rest.count(":") == 1:  # host:port (an IPv6 address has more)
        rest = rest.split(":", 1)[0]
    return rest.rsplit("@", 1)[-1]


def _is_network(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def _strings(node: Any, key: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, f"{key}{'' if key.endswith(':') else '.'}{k}")
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _strings(v, f"{key}[{i}]")
    elif isinstance(node, str):
        yield key, node


__all__ = ["Placeholder", "applies", "deploy_blockers", "mutable_images", "placeholder_reason", "placeholders"]
