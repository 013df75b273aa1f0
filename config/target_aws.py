"""``mpic:aws`` — settings of the ``aws-hosts`` and ``aws-lambda`` targets (typed, immutable)."""

from __future__ import annotations

from config.settings_base import TargetSettings


class AwsSettings(TargetSettings):
    """``mpic:aws`` — settings of the ``aws-hosts`` and ``aws-lambda`` targets."""
