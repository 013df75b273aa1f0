"""``PerspectiveWorkload``: one remote perspective in its region's cluster.

Namespace (restricted Pod Security), settings and Unbound ConfigMaps, a Deployment of >= 2 pods
spread across zones — each pod a perspective plus its own Unbound resolver sidecar on loopback
(BR 3.2.2.9: the perspective's resolver, no shared cache) and, with ``mpic:audit.sink``, the
Fluent Bit audit shipper and its ConfigMap (:mod:`plan.k8s.audit`) — a PodDisruptionBudget and a
NetworkPolicy that admits only the intercluster entry point and lets out only DNS, HTTP(S) and the
audit sink's port.
The Service and TLS Secret come with the :class:`~components.k8s.link.InterclusterLink`.
"""

from __future__ import annotations

from typing import TypedDict

import pulumi

from components.k8s import resources
from plan.k8s.fleet import PerspectivePlan


class PerspectiveWorkloadArgs(TypedDict):
    plan: PerspectivePlan
    """The perspective's plan (:func:`plan.k8s.fleet.plan_perspective`): its namespace and the manifests
    by role (``objects``: namespace, settings, unbound, deployment, pdb, netpol and, with
    ``mpic:audit.sink``, shipper), created in its region's cluster (the component's provider)."""


class PerspectiveWorkload(pulumi.ComponentResource):
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: PerspectiveWorkloadArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:k8s:PerspectiveWorkload", name, None, opts)
        plan = args["plan"]
        ns = resources.create(f"{name}-namespace", plan.objects["namespace"], pulumi.ResourceOptions(parent=self))
        self.namespace = ns.metadata.apply(lambda m: m["name"])
        child = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        made = {role: resources.create(f"{name}-{role}", resources.in_namespace(plan.objects[role], self.namespace),
                                       child)
                for role in ("settings", "unbound", "pdb", "netpol", "shipper") if role in plan.objects}
        first = [made[r] for r in ("settings", "unbound", "shipper") if r in made]  # what the pods mount
        resources.create(f"{name}-deployment", resources.in_namespace(plan.objects["deployment"], self.namespace),
                         pulumi.ResourceOptions(parent=self, depends_on=[ns, *first]))
        self.register_outputs({"namespace": self.namespace})
