"""The kit's one error root, :class:`KitError`. ``str(error)`` is the message shown to the operator
and ``exit_code`` the CLI's exit code for it (mapped in one place, ``cli.common.reported``).

Bad input is the :class:`ConfigError` family: every error names the key, the value, the rule that
was broken and the fix; exit 2, except :class:`NonCompliantError` (the config is valid but breaks
the BRs: exit 1, with its report). Failures of an action (a fleet that would not start, a build
or a benchmark that failed, a command that failed) subclass :class:`KitError` where they are
raised: exit 1. The Pulumi program turns a ConfigError into ``pulumi.RunError`` before a single
resource exists.
"""

from __future__ import annotations

from typing import Any

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class KitError(Exception):
    """The root of every error the kit raises on purpose: a message for the operator, an exit code."""

    exit_code: int = EXIT_FAILED


class ConfigError(KitError, ValueError):
    """Bad input (unknown region, malformed site, unreadable YAML, ...): exit code 2.

    ``key`` is the config key or command-line option (``mpic:perspectives[2]``, ``--as-of``),
    ``value`` what was given, ``fix`` what to change (also part of the message).
    """

    exit_code = EXIT_BAD_INPUT

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
    """The compliance gate refused the config: it breaks BR 3.2.2.9 (or 5.4.3) and
    ``mpic:complianceMode`` is not ``testing``. Exit code 1, nothing deployed or started;
    ``report`` holds the findings (a :class:`config.compliance.Report`) for callers that print them."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, report: Any, key: str | None = None, value: object = None,
                 fix: str | None = None) -> None:
        super().__init__(message, key=key, value=value, fix=fix)
        self.report = report
