"""What the policy rules see: planned or deployed resources as plain data, and their violations.

A :class:`Res` has the resource's properties with camelCase keys, as the engine (and the mocks)
see them; values the engine does not know yet (preview) are :data:`UNKNOWN`.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any, Iterable

from plan.manifest import PERSPECTIVE_TYPES

UNKNOWN = "<unknown>"
"""A value computed by the engine and not known during a preview."""

PERSPECTIVE_COMPONENTS = PERSPECTIVE_TYPES
"""One remote perspective's component, on every target (:data:`plan.manifest.PERSPECTIVE_TYPES`)."""
HOST_COMPONENTS = ("mpic:aws:PerspectiveRegion", "mpic:aws:Coordinator")
OPEN_V4, OPEN_V6 = "0.0.0.0/0", "::/0"


@dataclasses.dataclass(frozen=True)
class Res:
    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    provider: str | None
    """Provider reference (URN or ``<urn>::<id>``); None when the resource uses a default provider."""
    region: str | None
    props: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Violation:
    policy: str
    resource: str | None
    """The resource's logical name (None: the stack as a whole)."""
    message: str
    urn: str | None = None
    advisory: bool = False
    """Reported, never blocking (a declared lab's BR findings)."""

    def to_json(self) -> dict:
        return {"policy": self.policy, "resource": self.resource or "", "message": self.message,
                "enforcement": "advisory" if self.advisory else "mandatory"}


# ---------------------------------------------------------------------------- helpers
def provider_name(ref: str | None) -> str | None:
    """``urn:...::pulumi:providers:aws::aws-eu-west-1::<id>`` -> ``aws-eu-west-1``."""
    if not ref:
        return None
    parts = ref.split("::")
    if len(parts) >= 5:  # urn:pulumi:stack::project::type::name[::id]
        return parts[3]
    return parts[-1]


def is_default_provider(ref: str | None) -> bool:
    name = provider_name(ref)
    return name is None or name == "default" or name.startswith("default_")


def component_regions(resources: Iterable[Res]) -> dict[str, str | None]:
    """Region of every resource: its own, or for a component the one region of all its
    descendants (None when they span several regions or none)."""
    items = list(resources)
    children: dict[str, list[Res]] = defaultdict(list)
    for r in items:
        if r.parent:
            children[r.parent].append(r)
    memo: dict[str, set[str]] = {}

    def regions(r: Res) -> set[str]:
        if r.urn in memo:
            return memo[r.urn]
        memo[r.urn] = set()
        found = {r.region} if r.custom and r.region else set()
        for c in children.get(r.urn, []):
            found |= regions(c)
        memo[r.urn] = found
        return found

    out = {}
    for r in items:
        if r.custom:
            out[r.urn] = r.region
        else:
            found = regions(r)
            out[r.urn] = next(iter(found)) if len(found) == 1 else None
    return out


def _ancestors(r: Res, by_urn: dict[str, Res]) -> list[Res]:
    out, seen = [], set()
    cur = by_urn.get(r.parent) if r.parent else None
    while cur is not None and cur.urn not in seen:
        out.append(cur)
        seen.add(cur.urn)
        cur = by_urn.get(cur.parent) if cur.parent else None
    return out


def _descendants(root: Res, items: list[Res]) -> list[Res]:
    kids: dict[str, list[Res]] = defaultdict(list)
    for r in items:
        if r.parent:
            kids[r.parent].append(r)
    out, stack = [], [root.urn]
    while stack:
        for c in kids.get(stack.pop(), []):
            out.append(c)
            stack.append(c.urn)
    return out


def _known(value: Any) -> bool:
    return value is not None and value != UNKNOWN


def _tags(r: Res) -> dict:
    tags = r.props.get("tags")
    return tags if isinstance(tags, dict) else {}


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


