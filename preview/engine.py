"""The offline preview behind ``mpic plan``: a stack file -> the real program under mocks -> the
planned resources by region, the policy pack's verdict and a monthly cost estimate.

Target-agnostic (aws-hosts, aws-lambda, k8s): the region of a resource is the region of its
provider, read as the policy pack reads it (:func:`plan.manifest.provider_region`: an AWS
provider's ``region``, a kit Kubernetes provider's ``clusterIdentifier``); a component gets its
descendants' one region or None; costs come from :mod:`plan.prices` by type token and region
(free types cost 0; types the table does not price are listed as not priced).

No Pulumi CLI, no engine, no cloud credentials. Missing secrets get placeholders (the plan never
prints their values: they are not inputs of any resource).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from typing import Any, Callable

from preview.mocks import PlannedResource, ProgramRun, RecordingMocks, install_default_hooks, run_program
from preview.targets import placeholders as target_placeholders
from config.compliance import Report
from config.errors import ConfigError, NonCompliantError, PlanError
from config.gate import compliance_gate
from config.model import NAMESPACE, StackConfig
from config.placeholders import deploy_blockers
from config.stackfile import mpic_keys, read_stack_file
from artifacts.dist import require_artifacts
from plan.artifacts import Built
from plan.prices import CostEstimate, Priced, Usage, estimate
from plan.manifest import provider_region as manifest_region
from plan.suggest.advice import Advice, advise
from policy.rules import Res, Violation, component_regions, evaluate
from stacks.program import TARGETS

@dataclasses.dataclass(frozen=True)
class PlannedItem:
    type: str
    name: str
    urn: str
    region: str | None
    parent: str | None
    """The parent's logical name (None at the stack root)."""
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    public_inputs: dict[str, Any] | None = None
    """Inputs with Pulumi secrets as ``[secret]``: what the plan prints."""

    def to_json(self) -> dict:
        inputs = self.inputs if self.public_inputs is None else self.public_inputs
        return {"type": self.type, "name": self.name, "region": self.region, "parent": self.parent,
                "inputs": inputs}


@dataclasses.dataclass(frozen=True)
class PlanResult:
    stack: str
    fleet: StackConfig
    report: Report
    run: ProgramRun
    items: tuple[PlannedItem, ...]
    violations: tuple[Violation, ...]
    cost: CostEstimate
    log: str
    """What the program printed (warnings), kept out of the JSON."""
    built: Built | None = None
    """The artifacts the target deploys (None when they are missing or stale: :attr:`readiness` says why)."""
    advice: Advice | None = None
    """The repaired region set behind the report's region fixes (``mpic check``'s), if one is needed."""
    readiness: tuple[str, ...] = ()
    """What keeps a compliant fleet from being deployed that is not a BR rule: a missing or stale
    build (the program refuses it, naming ``mpic build``), placeholder values (``pulumi up`` refuses
    them, :mod:`config.placeholders`; the plan still shows the fleet)."""

    @property
    def compliant(self) -> bool:
        """The BR verdict alone: the compliance gate's rules (R1-R6, AUDIT) on the stack's config."""
        return self.report.compliant

    @property
    def ready(self) -> bool:
        """The readiness verdict: the artifacts are built from these sources and the program planned
        the fleet."""
        return not self.readiness and self.run.error is None

    @property
    def lab(self) -> bool:
        """A declared lab (``mpic:complianceMode: testing``) that is not compliant: planned anyway."""
        return not self.report.compliant and self.fleet.compliance_mode == "testing"

    @property
    def verdict(self) -> str:
        return "LAB: non-compliant" if self.lab else ("compliant" if self.compliant else "NOT compliant")

    @property
    def ok(self) -> bool:
        """Nothing blocks a deploy: compliant (or a declared lab), ready, and no mandatory policy violation."""
        return (self.compliant or self.lab) and self.ready and not [v for v in self.violations if not v.advisory]

    @property
    def regions(self) -> list[str]:
        return sorted({i.region for i in self.items if i.region})

    def to_json(self) -> dict:
        return {
            "stack": self.stack,
            "compliant": self.compliant,
            "verdict": self.verdict,
            "ready": self.ready,
            "readiness": list(self.readiness),
            "error": self.run.error,
            "artifacts": self.built.to_json() if self.built is not None else [],
            "outputs": self.run.public_outputs,
            "resources": [i.to_json() for i in self.items],
            "policy_violations": [v.to_json() for v in self.violations],
            "monthly_cost_usd": self.cost.to_json(),
        }


def provider_region(provider: PlannedResource) -> str | None:
    """Region of a provider resource, as the policy pack sees it (:func:`plan.manifest.provider_region`)."""
    return manifest_region(provider.type, provider.inputs)


def _provider_urn(ref: str | None) -> str | None:
    """``<urn>::<id>`` -> ``<urn>``."""
    if not ref:
        return None
    return ref.rsplit("::", 1)[0] if ref.count("::") >= 4 else ref


def to_views(run: ProgramRun) -> tuple[list[PlannedItem], list[Res]]:
    """Planned resources with regions, as JSON items and as policy views (props = outputs)."""
    by_urn = run.by_urn()
    raw: list[Res] = []
    for r in run.resources:
        if r.type.startswith("pulumi:providers:"):
            region = provider_region(r)
        else:
            prov = by_urn.get(_provider_urn(r.provider) or "")
            region = provider_region(prov) if prov is not None else None
        props = {**r.outputs, **r.inputs} if r.custom else dict(r.inputs)
        if r.custom and "id" in r.outputs:
            props["id"] = r.outputs["id"]
        raw.append(Res(type=r.type, name=r.name, urn=r.urn, parent=r.parent if r.parent in by_urn else None,
                       custom=r.custom, provider=r.provider, region=region, props=props))
    regions = component_regions(raw)
    views = [dataclasses.replace(v, region=regions[v.urn]) for v in raw]
    items = [PlannedItem(type=r.type, name=r.name, urn=r.urn, region=regions[r.urn],
                         parent=by_urn[r.parent].name if r.parent in by_urn else None, custom=r.custom,
                         inputs=r.inputs, outputs=r.outputs, public_inputs=r.public_inputs)
             for r in run.resources]
    return items, views


def load_fleet(stack: str) -> tuple[str, dict[str, Any], StackConfig]:
    """Read and validate a stack file; ConfigError (bad input) on any problem."""
    name, config = read_stack_file(stack)
    fleet = StackConfig.from_config(mpic_keys(config), name=name)
    if fleet.target not in TARGETS:
        raise ConfigError(f"{NAMESPACE}:target: '{fleet.target}' runs on this machine (./scripts/mpic up {name}); "
                          f"mpic plan plans {', '.join(TARGETS)}.", key=f"{NAMESPACE}:target",
                          value=fleet.target)
    return name, config, fleet


def _is_ciphertext(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def plan_stack(stack: str, *, hooks: Callable[[RecordingMocks], Any] | None = None,
               usage: Usage | None = None, progress: Callable[[str], None] | None = None) -> PlanResult:
    """Plan ``stack`` (a name in stacks/ or a YAML path), pricing it under ``usage`` (default:
    :data:`plan.usage.ASSUMPTIONS`); ``progress`` is told each step (a line for stderr). Raises
    ConfigError on bad input, including a program that refuses a BR-compliant config (e.g. an
    unknown setting value)."""
    say = progress or (lambda _: None)
    name, config, fleet = load_fleet(stack)
    placeholders = target_placeholders(fleet)
    # never the real secrets (nor their ciphertext): placeholders for every secret the program reads
    config = {k: v for k, v in config.items() if not _is_ciphertext(v)}
    config.update(placeholders)
    try:
        report = compliance_gate(fleet).report
    except NonCompliantError as exc:  # the program refuses it too: planned with zero resources
        report = exc.report
    advice = advise(fleet, report)  # the one repaired set, as the program's refusal names it
    report = advice.report
    readiness: tuple[str, ...] = ()
    try:
        built: Built | None = require_artifacts(fleet)
    except PlanError as exc:  # the program refuses too, naming the build command: planned with zero resources
        built, readiness = None, (str(exc),)
    readiness += tuple(p.text for p in deploy_blockers(fleet))  # `pulumi up` refuses them; the plan still shows the fleet
    mocks = install_default_hooks(RecordingMocks())
    if hooks is not None:
        hooks(mocks)
    buf = io.StringIO()
    say(f"planning {name}: running the program under Pulumi's mocks...")
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        run = run_program(config, stack=name, secret_keys=list(placeholders), mocks=mocks, preview=True)
    if run.error is not None and report.compliant and built is not None:
        raise ConfigError(f"stack '{name}': the program refused the config: {run.error}", key="stack", value=name)
    items, views = to_views(run)
    say(f"planning {name}: checking {len(views)} resources against the policy pack...")
    violations = tuple(evaluate(views)) if run.error is None else ()
    priced = [Priced(type=v.type, name=v.name, region=v.region, props=v.props) for v in views if v.custom]
    say(f"planning {name}: pricing {len(priced)} resources...")
    cost = estimate(priced, usage)
    return PlanResult(stack=name, fleet=fleet, report=report, run=run, items=tuple(items),
                      violations=violations, cost=cost, log=buf.getvalue(), built=built, readiness=readiness,
                      advice=advice)
