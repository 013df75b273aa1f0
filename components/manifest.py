"""``FleetManifest``: the fleet's compliance-relevant config, recorded as a resource.

The policy pack (``policy/``) finds it among the stack's resources and re-runs the one
compliance gate (:func:`config.gate.compliance_gate`) on exactly what is being deployed.
"""

from __future__ import annotations

from typing import Any

import pulumi

from plan.manifest import MANIFEST_TYPE


class FleetManifest(pulumi.ComponentResource):
    """The ``mpic:`` keys that decide compliance (:func:`plan.manifest.fleet_manifest`) and the built
    artifacts deployed (kind, name, sha256), as a component with no children: it costs nothing and
    carries both into every preview and update."""

    def __init__(self, name: str, manifest: dict[str, Any], artifacts: list[dict[str, Any]] | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        props = {"manifest": manifest, "artifacts": list(artifacts or [])}
        super().__init__(MANIFEST_TYPE, name, props, opts)
        self.register_outputs(props)
