"""The kit's one error family for bad input. ``str(error)`` is the message shown to the operator.

Every error names the key, the value, the rule that was broken and the fix. The CLI maps the
family to exit codes: :class:`NonCompliantError` -> 1 (the config is valid but breaks BR
3.2.2.9), every other :class:`ConfigError` -> 2 (bad input). The Pulumi program turns any of
them into ``pulumi.RunError`` before a single resource exists.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """Bad input (unknown region, malformed site, unreadable YAML, ...): exit code 2.

    ``key`` is the config key or command-line option (``mpic:perspectives[2]``, ``--as-of``),
    ``value`` what was given, ``fix`` what to change (also part of the message).
    """

    def __init__(self, message: str, *, key: str | None = None, value: object = None,
                 fix: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.value = value
        self.fix = fix

    def to_json(self) -> dict:
        """``{"key", "value", "message", "fix"}`` (values made JSON-safe)."""
        value = self.value if isinstance(self.value, (str, int, float, bool, list, dict)) or self.value is None \
            else str(self.value)
        return {"key": self.key, "value": value, "message": str(self), "fix": self.fix}


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: a message names a value without dumping a map."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 4] + "...}" if text.startswith("{") else text[:limit - 3] + "..."


class PlanError(ConfigError):
    """A valid config that a target cannot carry out (e.g. a custom site as an AWS perspective,
    a CIDR pool too small, too many regions for the local fleet)."""


class NonCompliantError(ConfigError):
    """The compliance gate refused the config: it breaks BR 3.2.2.9 and
    ``mpic:complianceMode`` is not ``testing``. Exit code 1, nothing deployed or started."""
