"""``CoordinatorWorkload``: the coordinator in a hub cluster.

Namespace, TLS Secrets (its API certificate; its mTLS client identity towards the perspectives),
a Secret with the API keys and hash secret (env vars; the settings file holds no secret), a
Deployment of >= 2 pods spread across zones with an autoscaler and a PodDisruptionBudget, a
NetworkPolicy, and a LoadBalancer Service on 443 — TLS ends in the coordinator itself.
"""

from __future__ import annotations

from typing import Sequence, TypedDict

import pulumi

from plan.k8s import objects as o
from components.k8s import resources
from plan.k8s.fleet import CoordinatorPlan


class CoordinatorWorkloadArgs(TypedDict):
    plan: CoordinatorPlan
    """The hub's plan (:func:`plan.k8s.fleet.plan_coordinator`): its namespace, the names of its three
    Secrets and the manifests by role (``objects``: namespace, settings, deployment, pdb, hpa,
    netpol, service and, with ``mpic:audit.sink``, shipper)."""
    ca_cert_pem: pulumi.Input[str]
    """The kit CA's certificate, PEM (:attr:`components.pki.KitCa.cert_pem`): ``ca.crt`` of both TLS
    Secrets, the only issuer the coordinator trusts for its perspectives."""
    server_cert_pem: pulumi.Input[str]
    """The coordinator's server certificate, PEM (``KitCa.server``, for ``FleetPlan.coordinator_cert_dns_names``):
    TLS ends in the coordinator itself."""
    server_key_pem: pulumi.Input[str]
    """Its private key, PEM, a Pulumi secret (``KitCa.server``)."""
    client_cert_pem: pulumi.Input[str]
    """The coordinator's mTLS client certificate towards the perspectives, PEM (``KitCa.client``,
    common name :data:`plan.pki.COORDINATOR_CLIENT_NAME`)."""
    client_key_pem: pulumi.Input[str]
    """Its private key, PEM, a Pulumi secret (``KitCa.client``)."""
    api_keys: pulumi.Input[Sequence[str]]
    """``mpic:apiKeys`` (a secret): the API keys the coordinator accepts, the first the current one
    (several while rotating); stored as a JSON list in the app Secret's ``api-keys``."""
    hash_secret: pulumi.Input[str]
    """``mpic:hashSecret`` (a secret): seeds the per-domain cohort shuffle; the app Secret's ``hash-secret``."""


class CoordinatorWorkload(pulumi.ComponentResource):
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: CoordinatorWorkloadArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mpic:k8s:CoordinatorWorkload", name, None, opts)
        plan = args["plan"]
        ns = resources.create(f"{name}-namespace", plan.objects["namespace"], pulumi.ResourceOptions(parent=self))
        self.namespace = ns.metadata.apply(lambda m: m["name"])
        child = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        app_secret = o.coordinator_app_secret(
            plan.app_secret_name, plan.namespace, plan.labels,
            api_keys=pulumi.Output.secret(pulumi.Output.from_input(args["api_keys"]).apply(o.api_keys_value)),
            hash_secret=pulumi.Output.secret(args["hash_secret"]))
        secrets = [
            o.tls_secret(plan.tls_secret_name, plan.namespace, plan.labels, args["server_cert_pem"],
                         args["server_key_pem"], args["ca_cert_pem"]),
            o.tls_secret(plan.client_secret_name, plan.namespace, plan.labels, args["client_cert_pem"],
                         args["client_key_pem"], args["ca_cert_pem"]),
            app_secret,
        ]
        made = [resources.create(f"{name}-{role}", resources.in_namespace(m, self.namespace), child)
                for role, m in zip(("tls", "client-tls", "secrets"), secrets)]
        for role in ("settings", "shipper", "pdb", "hpa", "netpol", "service"):
            if role in plan.objects:
                made.append(resources.create(f"{name}-{role}", resources.in_namespace(plan.objects[role], self.namespace),
                                             child))
        mounted = len(secrets) + 1 + ("shipper" in plan.objects)  # the secrets, settings and shipper the pods mount
        # The autoscaler owns the replica count once the Deployment exists: a later `pulumi up`
        # must not reset it to the floor (spec.replicas only seeds the first rollout).
        resources.create(f"{name}-deployment", resources.in_namespace(plan.objects["deployment"], self.namespace),
                         pulumi.ResourceOptions(parent=self, depends_on=[ns, *made[:mounted]],
                                                ignore_changes=["spec.replicas"]))
        self.register_outputs({"namespace": self.namespace})
