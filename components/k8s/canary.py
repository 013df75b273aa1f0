"""``CanaryWorkload``: the production canary in the primary hub's coordinator namespace.

A Secret with the API key and the TSIG secret (env vars; the settings file holds no secret), the
settings ConfigMap, a CronJob (one run every ``mpic:canary.interval`` minutes, never two at a time),
its NetworkPolicy and a PrometheusRule with the plan's alarms (:mod:`plan.k8s.canary`).
"""

from __future__ import annotations

from typing import TypedDict

import pulumi

from components.k8s import resources
from plan.k8s.canary import K8sCanaryPlan, canary_secret


class CanaryWorkloadArgs(TypedDict):
    plan: K8sCanaryPlan
    """The canary's plan (:func:`plan.k8s.canary.plan_k8s_canary`): its manifests by role (settings,
    cronjob, netpol, rule) and its Secret's name."""
    namespace: pulumi.Input[str]
    """The coordinator's namespace (an output of its Namespace, so the canary is created after it)."""
    api_key: pulumi.Input[str]
    """The API key the canary presents (the first of ``mpic:apiKeys``; a secret)."""
    tsig_secret: pulumi.Input[str]
    """``mpic:canaryTsigSecret``: the base64 TSIG secret of ``mpic:canary.dns.keyName``."""


class CanaryWorkload(pulumi.ComponentResource):
    cronjob: pulumi.Output[str]
    """``<namespace>/<name>`` of the CronJob."""

    def __init__(self, name: str, args: CanaryWorkloadArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:k8s:Canary", name, None, opts)
        plan = args["plan"]
        child = pulumi.ResourceOptions(parent=self)
        secret = canary_secret(plan, api_key=pulumi.Output.secret(args["api_key"]),
                               tsig_secret=pulumi.Output.secret(args["tsig_secret"]))
        made = [resources.create(f"{name}-secrets", resources.in_namespace(secret, args["namespace"]), child)]
        made += [resources.create(f"{name}-{role}", resources.in_namespace(plan.objects[role], args["namespace"]), child)
                 for role in ("settings", "netpol", "rule")]
        job = resources.create(f"{name}-cronjob", resources.in_namespace(plan.objects["cronjob"], args["namespace"]),
                               pulumi.ResourceOptions(parent=self, depends_on=made[:3]))
        self.cronjob = pulumi.Output.all(job.metadata).apply(lambda m: f"{m[0]['namespace']}/{m[0]['name']}")
        self.register_outputs({"cronjob": self.cronjob})
