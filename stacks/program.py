"""The Pulumi program: read ``mpic:`` config once, pass the one compliance gate, deploy the target.

Nothing is registered before the config validated into the model, the gate
(:func:`config.gate.compliance_gate`) accepted it and the runtime artifacts the target deploys
were found built from this working tree (:func:`artifacts.dist.require_artifacts`): bad input, a
non-compliant fleet and a missing or stale build end in ``pulumi.RunError`` naming the key, the
value, the rule and the fix. Each target's program gets the validated model and the secrets and
returns the stack outputs; then the fleet manifest (:mod:`plan.manifest`) is recorded, the same for
every target, for the policy pack.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pulumi

from components.inputs import StackSecrets
from components.manifest import FleetManifest
from config.canary import TSIG_SECRET_KEY
from config.errors import ConfigError
from config.gate import LAB_WARNING, compliance_gate
from config.model import NAMESPACE, StackConfig
from config.placeholders import deploy_blockers
from plan.suggest.advice import advised
from artifacts.dist import require_artifacts
from plan.artifacts import Built
from plan.manifest import fleet_manifest
from stacks import aws, k8s


TARGETS: dict[str, Callable[[StackConfig, StackSecrets, Built], dict[str, Any]]] = {
    "aws-hosts": aws.deploy_hosts,
    "aws-lambda": aws.deploy_lambda,
    "k8s": k8s.deploy,
}
"""Every target ``pulumi up`` deploys (``local`` runs with ``./scripts/mpic up``): its program creates
the fleet from the built artifacts and returns the stack outputs."""


def _parse(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def read_config() -> tuple[StackConfig, StackSecrets]:
    """Validate ``pulumi.Config("mpic")`` into the model; raise RunError on bad input."""
    cfg = pulumi.Config(NAMESPACE)
    raw = {key: _parse(value) for key in StackConfig.config_keys() if (value := cfg.get(key)) is not None}
    try:
        fleet = StackConfig.from_config(raw, name=pulumi.get_stack())
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    if fleet.target not in TARGETS:
        raise pulumi.RunError(f"{NAMESPACE}:target: 'local' runs on this machine with `./scripts/mpic up "
                              f"{fleet.name}`, not with pulumi. Set mpic:target to {', '.join(TARGETS)}.")
    api_keys = cfg.get_secret_object("apiKeys")
    hash_secret = cfg.get_secret("hashSecret")
    if api_keys is None or hash_secret is None:
        missing = "apiKeys" if api_keys is None else "hashSecret"
        raise pulumi.RunError(
            f"{NAMESPACE}:{missing}: missing. Set the coordinator's secrets first: "
            f"pulumi config set --secret --path 'mpic:apiKeys[0]' \"$(openssl rand -hex 32)\" and "
            f"pulumi config set --secret mpic:hashSecret \"$(openssl rand -hex 32)\".")
    kubeconfig = cfg.get_secret("kubeconfig") if fleet.target == "k8s" else None
    kubeconfigs = cfg.get_secret_object("kubeconfigs") if fleet.target == "k8s" else None
    tsig = cfg.get_secret(TSIG_SECRET_KEY) if fleet.target == "k8s" else None
    return fleet, StackSecrets(api_keys=api_keys, hash_secret=hash_secret, kubeconfig=kubeconfig,
                               kubeconfigs=kubeconfigs, canary_tsig_secret=tsig)


def refuse_placeholders(fleet: StackConfig) -> None:
    """``pulumi up`` refuses a stack that still holds placeholder values or a mutable image tag
    (:mod:`config.placeholders`); ``pulumi preview`` (and ``mpic plan``) plans it and warns: an
    example stack can be read as a plan."""
    found = deploy_blockers(fleet)
    if not found:
        return
    text = "\n".join(f"  {p.text}" for p in found)
    if pulumi.runtime.is_dry_run():
        pulumi.log.warn(f"NOT ready to deploy: {len(found)} value{'s' if len(found) > 1 else ''} "
                        f"pulumi up refuses:\n{text}")
        return
    raise pulumi.RunError(f"stack '{fleet.name}' is not ready to deploy; nothing was deployed:\n{text}")


def main() -> None:
    """The program ``pulumi up`` runs (and ``mpic plan`` runs under mocks)."""
    fleet, secrets = read_config()
    try:
        decision = compliance_gate(fleet, advise=advised)
        if decision.lab:
            pulumi.log.warn(f"{LAB_WARNING}\n{decision.text}")
        elif decision.report.warnings:
            pulumi.log.warn(decision.text)
        refuse_placeholders(fleet)
        built = require_artifacts(fleet)  # the runtime that gets deployed: built from this working tree
        outputs = TARGETS[fleet.target](fleet, secrets, built)  # its planners refuse bad input first
        FleetManifest("fleet", fleet_manifest(fleet), built.to_json())  # what the policy pack checks, every target
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    for key, value in outputs.items():
        pulumi.export(key, value)
    pulumi.export("compliant", decision.report.compliant)
    pulumi.export("compliance_mode", fleet.compliance_mode)
    pulumi.export("compliance_violations", [f.message for f in decision.report.violations])
