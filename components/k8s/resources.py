"""Manifest dict -> the matching ``pulumi_kubernetes`` resource (the only place that maps kinds)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

KINDS: dict[tuple[str, str], type[pulumi.CustomResource]] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "Service"): k8s.core.v1.Service,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): k8s.autoscaling.v2.HorizontalPodAutoscaler,
    ("batch/v1", "CronJob"): k8s.batch.v1.CronJob,
}
CUSTOM: frozenset[tuple[str, str]] = frozenset({("monitoring.coreos.com/v1", "PrometheusRule")})
"""Kinds of a CRD the cluster must have (the Prometheus Operator's), created as custom resources."""

_FIELDS = {"metadata": "metadata", "spec": "spec", "data": "data", "stringData": "string_data", "type": "type"}


def create(name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """Register ``manifest`` as the resource of its apiVersion/kind, named ``name``."""
    if (manifest["apiVersion"], manifest["kind"]) in CUSTOM:
        return k8s.apiextensions.CustomResource(name, api_version=manifest["apiVersion"], kind=manifest["kind"],
                                                metadata=manifest["metadata"], spec=manifest["spec"], opts=opts)
    cls = KINDS[(manifest["apiVersion"], manifest["kind"])]
    kwargs = {_FIELDS[key]: value for key, value in manifest.items() if key not in ("apiVersion", "kind")}
    return cls(name, opts=opts, **kwargs)


def in_namespace(manifest: dict[str, Any], namespace: pulumi.Input[str]) -> dict[str, Any]:
    """``manifest`` placed in ``namespace`` (an output of the Namespace, so it is created first)."""
    return {**manifest, "metadata": {**manifest["metadata"], "namespace": namespace}}
