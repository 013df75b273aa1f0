"""Test entry point: ``__main__.py`` plus the cluster secrets it must read for the k8s target.

Identical to the kit's entry point (it calls its functions) except that it also reads
``mpic:kubeconfig`` / ``mpic:kubeconfigs`` and passes them to ``deploy`` — the additive change
README "Kubernetes" asks ``__main__.py`` to make. Run it with ``scripts.kit.program.run_program``.
"""

import json

import pulumi

from components.inputs import StackSecrets
from components.k8s.program import ClusterCredentials, deploy
from config.compliance import check_stack, format_report
from config.errors import ConfigError
from config.model import NAMESPACE, StackConfig

cfg = pulumi.Config(NAMESPACE)


def _parse(value):
    try:
        return json.loads(value)
    except ValueError:
        return value


raw = {key: _parse(v) for key in StackConfig.config_keys() if (v := cfg.get(key)) is not None}
try:
    fleet = StackConfig.from_config(raw, name=pulumi.get_stack())
except ConfigError as exc:
    raise pulumi.RunError(str(exc)) from None
report = check_stack(fleet)
if not report.compliant and fleet.compliance_mode != "testing":
    raise pulumi.RunError(format_report(report, fleet))
secrets = StackSecrets(api_keys=cfg.require_secret_object("apiKeys"), hash_secret=cfg.require_secret("hashSecret"))
creds = ClusterCredentials(kubeconfig=cfg.get_secret("kubeconfig"), kubeconfigs=cfg.get_secret_object("kubeconfigs"))
for key, value in deploy(fleet, secrets, creds).items():
    pulumi.export(key, value)
pulumi.export("compliant", report.compliant)
