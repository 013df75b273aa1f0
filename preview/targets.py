"""What ``mpic plan`` gives each target's program in place of the secrets it reads.

The real program (``__main__.py``) reads secrets from the stack config; a preview never reads the
operator's secrets (nor their ciphertext), so every secret a target's program reads gets a stand-in
here: never a credential, and never an input the plan prints.
"""

from __future__ import annotations

from typing import Any, Callable

from config.canary import TSIG_SECRET_KEY
from config.model import NAMESPACE, StackConfig

SECRETS: dict[str, Any] = {
    f"{NAMESPACE}:apiKeys": ["plan-placeholder-api-key-0000000000000000"],
    f"{NAMESPACE}:hashSecret": "plan-placeholder-hash-secret-000000000000",
}
"""What every target's program reads: the coordinator's API keys and hash secret."""


def _k8s(fleet: StackConfig) -> dict[str, Any]:
    """The cluster secrets the k8s program reads, and the canary's TSIG secret when it runs."""
    out = {f"{NAMESPACE}:{key}": value for key, value in fleet.k8s.placeholder_secrets().items()}
    if fleet.canary.enabled:
        out[f"{NAMESPACE}:{TSIG_SECRET_KEY}"] = "bXBpYyBwbGFuIHBsYWNlaG9sZGVyLCBub3QgYSBrZXk="  # not a key
    return out


TARGET_SECRETS: dict[str, Callable[[StackConfig], dict[str, Any]]] = {"k8s": _k8s}
"""Target -> the further secrets its program reads (aws-hosts and aws-lambda: none)."""


def placeholders(fleet: StackConfig) -> dict[str, Any]:
    """Every secret ``fleet``'s program reads, as a stand-in."""
    extra = TARGET_SECRETS.get(fleet.target)
    return {**SECRETS, **(extra(fleet) if extra else {})}
