"""The fleet manifest: the compliance-relevant config every stack program records as a resource.

The stack program (``stacks/program.py``) registers it once, for every target, as a component of
type :data:`MANIFEST_TYPE`; the policy pack finds it among the resources and re-runs the one
compliance gate on exactly what is being deployed, then checks that the perspective components
deployed (:data:`PERSPECTIVE_TYPES`, each target's) sit in exactly the regions it checked. Pure:
no Pulumi, no I/O.
"""

from __future__ import annotations

from typing import Any

from config.audit import MIN_RETENTION_DAYS
from config.catalog import Location
from config.model import StackConfig

MANIFEST_TYPE = "mpic:fleet:Manifest"
PERSPECTIVE_TYPES: tuple[str, ...] = ("mpic:aws:PerspectiveRegion", "mpic:aws:PerspectiveFunction",
                                      "mpic:k8s:PerspectiveWorkload")
"""The component of one remote perspective, per target (aws-hosts, aws-lambda, k8s)."""
CLUSTER_ID_PREFIX = "mpic-"
"""A kit cluster provider's ``clusterIdentifier`` is ``mpic-<region>``: how the policy pack and
``mpic plan`` know the region a Kubernetes resource runs in (an AWS provider says its ``region``)."""


def cluster_identifier(region: str) -> str:
    """The ``clusterIdentifier`` of the Kubernetes provider of the kit's cluster in ``region``."""
    return f"{CLUSTER_ID_PREFIX}{region}"


def provider_region(provider_type: str, props: dict[str, Any]) -> str | None:
    """The region a provider deploys to: an AWS provider's ``region``, a kit Kubernetes provider's
    region from its ``clusterIdentifier``; None when it says neither."""
    region = props.get("region")
    if isinstance(region, str) and region:
        return region
    ident = props.get("clusterIdentifier")
    if provider_type == "pulumi:providers:kubernetes" and isinstance(ident, str) and \
            ident.startswith(CLUSTER_ID_PREFIX) and len(ident) > len(CLUSTER_ID_PREFIX):
        return ident[len(CLUSTER_ID_PREFIX):]
    return None


def fleet_manifest(fleet: StackConfig) -> dict[str, Any]:
    """The compliance-relevant config as raw ``mpic:`` keys: the target, the primary and the
    perspectives, the counts, the mode, the audit retention and sink (BR 5.4.3) and, for the artifact check,
    whether the canary is off (aws-hosts deploys the coordinator's Lambda zip only for the canary).
    The target's own section is left out: the gate's BR rules do not read it."""

    def loc(p: Location) -> Any:
        if p.provider == "site":
            return {"name": p.code, "lat": p.lat, "lon": p.lon, "rir": p.rir.value, "city": p.city,
                    "country": p.country}
        return p.code

    raw: dict[str, Any] = {
        "target": fleet.target,
        "perspectives": [loc(p) for p in fleet.perspectives],
        "complianceMode": fleet.compliance_mode,
        "borderlineMarginKm": fleet.borderline_margin_km,
        "maxAttempts": fleet.max_attempts,
    }
    if fleet.primary is not None:
        raw["primary"] = loc(fleet.primary)
    if fleet.perspective_count is not None:
        raw["perspectiveCount"] = fleet.perspective_count
    if fleet.quorum is not None:
        raw["quorum"] = fleet.quorum
    if fleet.as_of is not None:
        raw["asOf"] = fleet.as_of.isoformat()
    audit: dict[str, Any] = {}  # BR 5.4.3 (config.compliance.rule_audit_retention)
    if fleet.audit.retention_days != MIN_RETENTION_DAYS:
        audit["retentionDays"] = fleet.audit.retention_days
    if fleet.audit.sink is not None:
        audit["sink"] = fleet.audit.sink.model_dump(mode="json", by_alias=True, exclude_none=True)
    if audit:
        raw["audit"] = audit
    if not fleet.canary.enabled:
        raw["canary"] = {"enabled": False}
    return raw
