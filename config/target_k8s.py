"""``mpic:k8s`` — settings of the ``k8s`` target (typed, immutable)."""

from __future__ import annotations

from config.settings_base import TargetSettings


class K8sSettings(TargetSettings):
    """``mpic:k8s`` — settings of the ``k8s`` target."""
