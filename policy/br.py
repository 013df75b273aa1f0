"""The BR 3.2.2.9 policies: the one compliance gate on the fleet's manifest, one perspective per region.

The rules are not re-implemented here: :func:`br_compliance` rebuilds the fleet's
:class:`~config.model.StackConfig` from its manifest resource (``mpic:fleet:Manifest``) and
runs :func:`config.gate.compliance_gate`, the gate ``pulumi up`` and ``mpic up`` pass.
"""

from __future__ import annotations

import dataclasses

from config.audit import MIN_RETENTION_DAYS
from config.errors import ConfigError, NonCompliantError
from config.gate import compliance_gate
from config.model import StackConfig
from artifacts.dist import require_artifacts
from plan.artifacts import BUILD_COMMAND
from plan.manifest import MANIFEST_TYPE
from policy.resources import PERSPECTIVE_COMPONENTS, UNKNOWN, Res, Violation, _int, component_regions

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
FLEET_PARTS = ("mpic:aws:", "mpic:k8s:")
"""Component types of a fleet on AWS or Kubernetes: with any of them, a stack without the fleet
manifest is refused (its BR 3.2.2.9 rules cannot be checked)."""


def _br_findings(items: list[Res]) -> tuple[StackConfig | None, list[Violation]]:
    """The fleet of the manifest (None when there is none or it is unreadable) and what breaks BR
    3.2.2.9: the gate's violations, and perspective regions deployed other than the checked ones."""
    manifests = [r for r in items if r.type == MANIFEST_TYPE]
    fleet_parts = [r for r in items if r.type.startswith(FLEET_PARTS) and r.type != MANIFEST_TYPE]
    if not manifests:
        if fleet_parts:
            return None, [Violation("br-3.2.2.9-compliance", None, "no fleet manifest (mpic:fleet:Manifest) among "
                                    "the resources: the BR 3.2.2.9 rules cannot be checked. Deploy with the kit's program.")]
        return None, []
    manifest = manifests[0]
    raw = manifest.props.get("manifest")
    if not isinstance(raw, dict):
        return None, [Violation("br-3.2.2.9-compliance", manifest.name, "the fleet manifest has no 'manifest' map.",
                                manifest.urn)]
    try:
        fleet = StackConfig.from_config(raw, name="policy")
    except ConfigError as exc:
        return None, [Violation("br-3.2.2.9-compliance", manifest.name, f"fleet manifest: {exc}", manifest.urn)]
    try:
        report = compliance_gate(fleet).report
    except NonCompliantError as exc:
        report = exc.report
    out = [Violation("br-3.2.2.9-compliance", manifest.name, f"{f.rule}: {f.message}", manifest.urn)
           for f in report.violations]
    regions = component_regions(items)
    deployed = sorted({regions[r.urn] or "?" for r in items if r.type in PERSPECTIVE_COMPONENTS})
    declared = sorted(p.code for p in fleet.perspectives)
    if fleet_parts and deployed != declared:
        out.append(Violation("br-3.2.2.9-compliance", manifest.name,
                             f"perspective regions deployed ({', '.join(deployed) or 'none'}) differ from the "
                             f"checked mpic:perspectives ({', '.join(declared)}).", manifest.urn))
    return fleet, out


def br_compliance(items: list[Res]) -> list[Violation]:
    """BR 3.2.2.9 (R1-R6 via the compliance gate) on the fleet's manifest, and the deployed
    perspective regions are exactly the manifest's perspectives. Mandatory, except for a declared
    lab (``mpic:complianceMode: testing``): see ``br-3.2.2.9-lab``."""
    fleet, found = _br_findings(items)
    return [] if fleet is not None and fleet.compliance_mode == "testing" else found


def br_compliance_lab(items: list[Res]) -> list[Violation]:
    """LAB (``mpic:complianceMode: testing``): the same BR 3.2.2.9 findings, reported as advisory, so
    a lab can run a fleet the CA must never use while every preview says so."""
    fleet, found = _br_findings(items)
    if fleet is None or fleet.compliance_mode != "testing":
        return []
    return [dataclasses.replace(v, policy="br-3.2.2.9-lab", message=f"LAB: non-compliant: {v.message}",
                                advisory=True) for v in [*found, *_per_region(items)]]


def runtime_artifacts(items: list[Res]) -> list[Violation]:
    """The runtime deployed is the one built from this working tree (``./scripts/mpic build``): the
    artifacts recorded in the fleet manifest exist in ``dist/`` with the same sha256, and their
    sources are the working tree's."""
    manifest = next((r for r in items if r.type == MANIFEST_TYPE), None)
    if manifest is None or not isinstance(manifest.props.get("manifest"), dict):
        return []  # br_compliance reports a missing or broken manifest
    try:
        fleet = StackConfig.from_config(manifest.props["manifest"], name="policy")
        built = require_artifacts(fleet)
    except ConfigError as exc:
        return [Violation("runtime-artifacts", manifest.name, str(exc), manifest.urn)]
    on_disk = {(a.kind, a.name): a.sha256 for a in built.artifacts}
    recorded = {(a.get("kind"), a.get("name")): a.get("sha256") for a in manifest.props.get("artifacts") or []
                if isinstance(a, dict)}
    if recorded != on_disk:
        return [Violation("runtime-artifacts", manifest.name,
                          f"the fleet manifest deploys {sorted(recorded.items())} but dist/ holds "
                          f"{sorted(on_disk.items())}; run {BUILD_COMMAND} and preview again.", manifest.urn)]
    return []


def one_perspective_per_region(items: list[Res]) -> list[Violation]:
    """One perspective per region: two perspectives in one region are not distinct (>= 500 km).
    Mandatory, except for a declared lab (a k8s lab runs every perspective in one cluster): see
    ``br-3.2.2.9-lab``."""
    fleet, _ = _br_findings(items)
    return [] if fleet is not None and fleet.compliance_mode == "testing" else _per_region(items)


def _per_region(items: list[Res]) -> list[Violation]:
    regions = component_regions(items)
    seen: dict[str, Res] = {}
    out = []
    for r in items:
        if r.type not in PERSPECTIVE_COMPONENTS:
            continue
        region = regions[r.urn]
        if region is None:
            out.append(Violation("one-perspective-per-region", r.name,
                                 f"{r.name}: its resources span several regions (or none); a perspective lives in "
                                 "exactly one region.", r.urn))
        elif region in seen:
            out.append(Violation("one-perspective-per-region", r.name,
                                 f"{r.name} and {seen[region].name} are both perspectives in {region}; keep one "
                                 "perspective per region.", r.urn))
        else:
            seen[region] = r
    return out


def audit_records_kept(items: list[Res]) -> list[Violation]:
    """BR 5.4.3: every CloudWatch Logs group of the stack keeps its lines at least two years
    (``retentionInDays`` >= 731, or never expiring) and is encrypted with a customer-managed KMS key
    (``kmsKeyId``). Mandatory, except for a declared lab (``mpic:complianceMode: testing``)."""
    fleet, _ = _br_findings(items)
    if fleet is not None and fleet.compliance_mode == "testing":
        return []
    out = []
    for r in items:
        if r.type != LOG_GROUP:
            continue
        days = r.props.get("retentionInDays")
        if days not in (None, 0, UNKNOWN) and _int(days) < MIN_RETENTION_DAYS:
            out.append(Violation("audit-records-kept", r.name,
                                 f"{r.name}: retentionInDays {days}; BR 5.4.3 keeps audit records at least two years. "
                                 f"Set mpic:audit.retentionDays to {MIN_RETENTION_DAYS} or more.", r.urn))
        if not r.props.get("kmsKeyId"):
            out.append(Violation("audit-records-kept", r.name,
                                 f"{r.name}: no kmsKeyId; the kit encrypts every log group with the region's audit "
                                 "key (components.aws.audit.AuditLogs).", r.urn))
    return out
