"""pulumi-policy <-> :mod:`policy.rules`: PolicyResource objects -> :class:`~policy.rules.Res`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Iterable

from pulumi_policy import EnforcementLevel, StackValidationArgs, StackValidationPolicy

from plan.manifest import provider_region
from policy.rules import ADVISORY, POLICIES, UNKNOWN, Res, Rule, component_regions


def plain(value: Any) -> Any:
    """Props as plain data; values unknown during a preview become :data:`UNKNOWN`."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Mapping) or hasattr(value, "keys"):
        out = {}
        for key in list(value.keys()):
            try:
                out[str(key)] = plain(value[key])
            except Exception:  # pulumi_policy raises UnknownValueError on unknown values
                out[str(key)] = UNKNOWN
        return out
    if isinstance(value, Sequence):  # lists, tuples and pulumi_policy's list proxies
        out_list = []
        for i in range(len(value)):
            try:
                out_list.append(plain(value[i]))
            except Exception:
                out_list.append(UNKNOWN)
        return out_list
    return str(value)


def from_policy_resources(resources: Iterable[Any]) -> list[Res]:
    """``StackValidationArgs.resources`` -> :class:`Res` (region = the provider's: an AWS provider's
    ``region``, a kit Kubernetes provider's cluster region, :func:`plan.manifest.provider_region`)."""
    items = []
    for r in resources:
        provider = getattr(r, "provider", None)
        props = plain(getattr(provider, "props", {}) or {}) if provider is not None else {}
        parent = getattr(r, "parent", None)
        custom = not r.resource_type.startswith("mpic:") and r.resource_type != "pulumi:pulumi:Stack"
        items.append(Res(type=r.resource_type, name=r.name, urn=r.urn, parent=getattr(parent, "urn", None),
                         custom=custom, provider=getattr(provider, "urn", None),
                         region=provider_region(getattr(provider, "resource_type", ""), props)
                         if provider is not None else None,
                         props=plain(r.props)))
    regions = component_regions(items)
    return [Res(**{**i.__dict__, "region": regions[i.urn]}) for i in items]


def _validator(rule: Rule):
    def validate(args: StackValidationArgs, report_violation) -> None:
        for v in rule(from_policy_resources(args.resources)):
            report_violation(v.message, v.urn)
    return validate


def stack_policies() -> list[StackValidationPolicy]:
    """Every policy, mandatory except the advisory ones (a declared lab's BR findings)."""
    return [StackValidationPolicy(name=name, description=" ".join(doc.split()), validate=_validator(rule),
                                  enforcement_level=EnforcementLevel.ADVISORY if name in ADVISORY
                                  else EnforcementLevel.MANDATORY)
            for name, doc, rule in POLICIES]
