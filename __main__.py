"""The Pulumi program: read ``mpic:`` config once, refuse a non-compliant fleet before a single
resource exists, create one explicit provider per region/cluster and the target's components.

Layers (imports point one way): config (model + BR 3.2.2.9 rules) -> planners -> components ->
this entry point. Components never read config; they get the validated model.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import pulumi

from components.inputs import StackSecrets
from config.compliance import check_stack, format_report
from config.errors import ConfigError
from config.model import NAMESPACE, StackConfig

# target -> "module:function"; each takes (StackConfig, StackSecrets), returns the stack outputs.
DEPLOYERS: dict[str, str] = {
    "aws-hosts": "components.aws.program:deploy_hosts",
    "aws-lambda": "components.aws.program:deploy_lambda",
    "k8s": "components.k8s.program:deploy",
}


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
    if fleet.target == "local":
        raise pulumi.RunError(f"{NAMESPACE}:target: 'local' runs on this machine with `./scripts/mpic up "
                              f"{fleet.name}`, not with pulumi. Set mpic:target to aws-hosts, aws-lambda or k8s.")
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
    return fleet, StackSecrets(api_keys=api_keys, hash_secret=hash_secret, kubeconfig=kubeconfig,
                               kubeconfigs=kubeconfigs)


def main() -> None:
    fleet, secrets = read_config()
    report = check_stack(fleet)
    text = format_report(report, fleet)
    if not report.compliant:
        if fleet.compliance_mode != "testing":
            raise pulumi.RunError(text + "\nNothing was deployed. Fix the config (./scripts/mpic check "
                                  f"{fleet.name} shows the same report).")
        pulumi.log.warn("mpic:complianceMode is 'testing': deploying a fleet that is NOT compliant with BR 3.2.2.9. "
                        "LAB USE ONLY: never point a CA at it.\n" + text)
    elif report.warnings:
        pulumi.log.warn(text)
    module_name, func_name = DEPLOYERS[fleet.target].split(":")
    deploy = getattr(importlib.import_module(module_name), func_name)
    outputs = deploy(fleet, secrets)
    for key, value in outputs.items():
        pulumi.export(key, value)
    pulumi.export("compliant", report.compliant)
    pulumi.export("complianceMode", fleet.compliance_mode)
    pulumi.export("complianceViolations", [f.message for f in report.violations])


main()
