"""The monthly cost difference of two plans (``mpic plan STACK --diff BASE``): by region, in total
and resource by resource.

A side is a :class:`PlannedCost`: the stack's name, its planned resources and its cost estimate,
made from a fresh plan or read back from a saved ``mpic plan --json`` object
(:func:`from_plan_json`, which refuses anything else naming the file and the fix). Resources are
matched by type and logical name (a Pulumi resource's identity in its stack): ``+`` only in the
stack, ``-`` only in the base, ``~`` in both at another monthly cost.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from config.errors import ConfigError
from plan.prices import GLOBAL, CostEstimate, CostLine, NotPriced

CENT = 0.005
"""A resource whose monthly cost moved less than this did not change."""
SAVED_PLAN_FIX = "give a file written by `mpic plan BASE_STACK --json > FILE.json`, or a stack name"
"""The fix of every refused ``--diff`` file."""


@dataclasses.dataclass(frozen=True)
class PlannedResource:
    type: str
    name: str
    region: str


@dataclasses.dataclass(frozen=True)
class PlannedCost:
    """What the diff needs of a plan."""

    stack: str
    resources: tuple[PlannedResource, ...]
    cost: CostEstimate
    source: str | None = None
    """The saved plan's file (None: planned now)."""


def planned_cost(stack: str, resources: Iterable[tuple[str, str, str | None]], cost: CostEstimate) -> PlannedCost:
    """A fresh plan's side: ``resources`` as (type, name, region or None)."""
    return PlannedCost(stack, tuple(PlannedResource(t, n, r or GLOBAL) for t, n, r in resources), cost)


def refuse_saved_plan(source: str, problem: str) -> ConfigError:
    """``--diff SOURCE`` refused: ``problem`` says why (the file, the problem and the fix)."""
    return ConfigError(f"--diff: {source} {problem}. Fix: {SAVED_PLAN_FIX}.", key="--diff", value=source,
                       fix=SAVED_PLAN_FIX)


def _field(row: Any, name: str, kinds: type | tuple[type, ...], source: str, where: str) -> Any:
    value = row.get(name) if isinstance(row, dict) else None
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise refuse_saved_plan(source, f"is not a saved plan: {where} has no {name} of the right kind (got {value!r})")
    return value


def from_plan_json(doc: Any, source: str) -> PlannedCost:
    """The base side from a saved ``mpic plan --json`` object (``source``: its file, for errors):
    its ``stack``, ``resources`` and ``monthly_cost_usd`` (lines, assumptions, not_priced).
    ConfigError (key ``--diff``) naming the file, what is wrong and the fix."""
    if not isinstance(doc, dict):
        raise refuse_saved_plan(source, f"is not a saved plan: expected a JSON object, got {type(doc).__name__}")
    if isinstance(doc.get("error"), dict):
        raise refuse_saved_plan(source, "is an error report, not a plan")
    cost = _field(doc, "monthly_cost_usd", dict, source, "the object")
    rows = _field(doc, "resources", list, source, "the object")
    stack = _field(doc, "stack", str, source, "the object")
    resources = tuple(PlannedResource(_field(r, "type", str, source, f"resources[{i}]"),
                                      _field(r, "name", str, source, f"resources[{i}]"),
                                      r.get("region") or GLOBAL) for i, r in enumerate(rows))
    lines = []
    for i, line in enumerate(_field(cost, "lines", list, source, "monthly_cost_usd")):
        where = f"monthly_cost_usd.lines[{i}]"
        lines.append(CostLine(region=_field(line, "region", str, source, where),
                              type=_field(line, "type", str, source, where),
                              name=_field(line, "resource", str, source, where),
                              usd=float(_field(line, "monthly_usd", (int, float), source, where)),
                              note=str(line.get("note", "")), quantity=float(line.get("quantity") or 0),
                              unit=str(line.get("unit", "")), unit_usd=float(line.get("unit_usd") or 0),
                              as_of=str(line.get("as_of", ""))))
    usage = cost.get("assumptions") if isinstance(cost.get("assumptions"), dict) else {}
    unpriced = tuple(NotPriced(str(n.get("type")), str(n.get("name")), str(n.get("region")), str(n.get("reason")))
                     for n in cost.get("not_priced") or () if isinstance(n, dict))
    return PlannedCost(stack, resources, CostEstimate(tuple(lines), dict(usage), unpriced), source)


def _per_resource(side: PlannedCost) -> dict[tuple[str, str], tuple[str, float]]:
    """(type, name) -> (region, monthly USD) of every resource of ``side`` and every priced line."""
    out: dict[tuple[str, str], tuple[str, float]] = {(r.type, r.name): (r.region, 0.0) for r in side.resources}
    usd: dict[tuple[str, str], float] = defaultdict(float)
    for line in side.cost.lines:
        usd[(line.type, line.name)] += line.usd
        out.setdefault((line.type, line.name), (line.region, 0.0))
    return {k: (region, round(usd.get(k, 0.0), 2)) for k, (region, _) in out.items()}


def resource_changes(base: PlannedCost, other: PlannedCost) -> list[dict]:
    """``{change, type, name, region, base_usd, stack_usd}`` of every resource added (``+``), removed
    (``-``) or priced differently (``~``), the largest monthly change first."""
    a, b = _per_resource(base), _per_resource(other)
    rows = []
    for key in set(a) | set(b):
        if key in a and key in b and abs(a[key][1] - b[key][1]) < CENT:
            continue
        change = "+" if key not in a else "-" if key not in b else "~"
        region = (b.get(key) or a[key])[0]
        rows.append({"change": change, "type": key[0], "name": key[1], "region": region,
                     "base_usd": a.get(key, ("", 0.0))[1], "stack_usd": b.get(key, ("", 0.0))[1]})
    order = {"+": 0, "-": 1, "~": 2}
    return sorted(rows, key=lambda r: (-abs(r["stack_usd"] - r["base_usd"]), order[r["change"]], r["type"], r["name"]))


def cost_diff(base: PlannedCost, other: PlannedCost) -> dict:
    """The monthly difference ``other - base``: by region, in total (USD, rounded to cents), resource
    by resource (:func:`resource_changes`), and which usage assumptions differ."""
    a, b = base.cost.by_region, other.cost.by_region
    regions = sorted(set(a) | set(b), key=lambda r: (r == GLOBAL, r))
    by_region = {r: {"base": a.get(r, 0.0), "stack": b.get(r, 0.0), "delta": round(b.get(r, 0.0) - a.get(r, 0.0), 2)}
                 for r in regions}
    usage = sorted(k for k in set(base.cost.usage) | set(other.cost.usage)
                   if base.cost.usage.get(k) != other.cost.usage.get(k))
    return {"by_region": by_region,
            "total": {"base": base.cost.total, "stack": other.cost.total,
                      "delta": round(other.cost.total - base.cost.total, 2)},
            "resources": resource_changes(base, other),
            "assumptions_differ": usage}
