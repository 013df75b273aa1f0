"""Shared fixtures of the k8s target tests: run the program under Pulumi's mocks.

``run_k8s(overrides)`` runs ``tests/k8s/entry.py`` (the kit's entry point plus the cluster
secrets) with the example stack ``stacks/Pulumi.k8s.yaml`` and ``overrides`` merged in. The mocks
invent the PEMs pulumi-tls would compute and the EKS endpoint, so the Secrets and kubeconfigs
carry realistic values the assertions can follow.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate.utils as kv
import pulumi.runtime.settings
import pytest
import referencing
import yaml

from preview.mocks import PROGRAM, ProgramRun, RecordingMocks, run_program

HERE = Path(__file__).resolve().parent
ENTRY = PROGRAM  # the kit's own Pulumi program (__main__.py)
STACK = HERE.parents[1] / "stacks" / "Pulumi.k8s.yaml"
K8S_VERSION = "1.33"
SECRETS = {"mpic:apiKeys": ["key-one", "key-two"], "mpic:hashSecret": "hash-secret-value",
           "mpic:kubeconfig": "apiVersion: v1\nkind: Config\ncontexts: []\n",
           "mpic:canaryTsigSecret": "dHNpZy1zZWNyZXQtdmFsdWU="}


@functools.cache
def _strict_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    """kubernetes_validate.utils.validate(strict=True)'s schema lookup, built once per kind."""
    version = [v for v in kv.all_versions() if kv.major_minor(v) <= kv.major_minor(K8S_VERSION)][-1]
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_dir = f"kubernetes-json-schema/v{version}-local-strict"
    schema = kv.schema_contents(f"{schema_dir}/{kind.lower()}-{group}.json", K8S_VERSION)
    defs = kv.schema_contents(f"{schema_dir}/_definitions.json", K8S_VERSION)
    registry = referencing.Resource.from_contents(defs) @ (referencing.Resource.from_contents(schema)
                                                           @ referencing.Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def validate_strict(manifest: dict[str, Any]) -> None:
    """Strict schema validation against Kubernetes 1.33 (raises jsonschema.ValidationError)."""
    _strict_validator(manifest["apiVersion"], manifest["kind"]).validate(manifest)


RULE_API = "monitoring.coreos.com/v1"
"""The Prometheus Operator's API: kubernetes-validate has no schema for it."""
RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": RULE_API},
        "kind": {"const": "PrometheusRule"},
        "metadata": {"type": "object", "required": ["name", "labels"],
                     "properties": {"name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                                    "namespace": {}, "labels": {"type": "object",
                                                                "additionalProperties": {"type": "string"}}},
                     "additionalProperties": False},
        "spec": {"type": "object", "required": ["groups"], "additionalProperties": False, "properties": {
            "groups": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["name", "rules"], "additionalProperties": False, "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "rules": {"type": "array", "minItems": 1, "items": {
                        "type": "object", "required": ["alert", "expr", "for", "labels", "annotations"],
                        "additionalProperties": False, "properties": {
                            "alert": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                            "expr": {"type": "string", "minLength": 1},
                            "for": {"type": "string", "pattern": r"^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?)$"},
                            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                        }}}}}}}},
    },
    "additionalProperties": False,
}
"""The part of the PrometheusRule CRD (monitoring.coreos.com/v1) the kit renders: groups[].rules[]
with alert, expr, for, labels and annotations (the CRD's own field names; nothing else)."""


def validate_rule(manifest: dict[str, Any]) -> None:
    """A PrometheusRule against :data:`RULE_SCHEMA` (raises jsonschema.ValidationError)."""
    jsonschema.validators.Draft202012Validator(RULE_SCHEMA).validate(manifest)


def pem(kind: str, name: str) -> str:
    return f"-----BEGIN {kind}-----\n{name}\n-----END {kind}-----\n"


def mocks() -> RecordingMocks:
    m = RecordingMocks()
    m.output_hooks["tls:index/privateKey:PrivateKey"] = lambda a: {"privateKeyPem": pem("PRIVATE KEY", a.name)}
    m.output_hooks["tls:index/certRequest:CertRequest"] = lambda a: {"certRequestPem": pem("CERTIFICATE REQUEST", a.name)}
    m.output_hooks["tls:index/selfSignedCert:SelfSignedCert"] = lambda a: {"certPem": pem("CERTIFICATE", a.name)}
    m.output_hooks["tls:index/locallySignedCert:LocallySignedCert"] = lambda a: {"certPem": pem("CERTIFICATE", a.name)}
    m.output_hooks["aws:eks/cluster:Cluster"] = lambda a: {
        "endpoint": f"https://{a.name}.eks.example", "certificateAuthority": {"data": "Q0EtREFUQQ=="}}
    return m


def stack_config() -> dict[str, Any]:
    return yaml.safe_load(STACK.read_text(encoding="utf-8"))["config"]


def run_k8s(overrides: dict[str, Any] | None = None, *, k8s: dict[str, Any] | None = None,
            drop: tuple[str, ...] = ()) -> ProgramRun:
    config = {**stack_config(), **SECRETS}
    if k8s is not None:
        config["mpic:k8s"] = {**copy.deepcopy(config.get("mpic:k8s", {})), **k8s}
    config.update(overrides or {})
    for key in drop:
        config.pop(key, None)
    secret_keys = [k for k in ("mpic:apiKeys", "mpic:hashSecret", "mpic:kubeconfig", "mpic:kubeconfigs",
                               "mpic:canaryTsigSecret") if k in config]
    return run_program(config, stack="k8s", secret_keys=secret_keys, mocks=mocks(), program=ENTRY, preview=True)


@pytest.fixture(scope="session")
def fleet_run() -> ProgramRun:
    """The example stack, as is."""
    run = run_k8s()
    assert run.error is None, run.error
    return run


@pytest.fixture(scope="session")
def lab_run() -> ProgramRun:
    run = run_k8s({"mpic:complianceMode": "testing"}, k8s={"labMode": True, "clusters": {}})
    assert run.error is None, run.error
    return run


@pytest.fixture(scope="session", autouse=True)
def _image_context_built(artifacts):
    """The k8s program deploys the image pushed from this tree's image context: it must be built."""
    return artifacts
