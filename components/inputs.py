"""What the program root hands to every target's deploy function, besides the config model."""

from __future__ import annotations

import dataclasses

import pulumi


@dataclasses.dataclass(frozen=True)
class StackSecrets:
    """Secrets read once by ``__main__.py`` from ``pulumi.Config("mpic")``."""

    api_keys: pulumi.Output
    """``mpic:apiKeys``: list of coordinator API keys (several for rotation)."""
    hash_secret: pulumi.Output
    """``mpic:hashSecret``: seeds open-mpic-core's per-domain cohort shuffle."""
    kubeconfig: pulumi.Output | None = None
    """``mpic:kubeconfig`` (k8s target): one kubeconfig with a context per existing cluster."""
    kubeconfigs: pulumi.Output | None = None
    """``mpic:kubeconfigs`` (k8s target): entry name -> kubeconfig, for clusters kept apart."""
    canary_tsig_secret: pulumi.Output | None = None
    """``mpic:canaryTsigSecret`` (k8s target): the TSIG secret of the canary's RFC 2136 updates."""
