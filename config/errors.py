"""Errors of the config layer. ``str(error)`` is the message shown to the operator."""

from __future__ import annotations


class ConfigError(ValueError):
    """Bad input (unknown region, malformed site, unreadable YAML, ...): exit code 2.

    The message names the key, the value, what is wrong and how to fix it.
    """

    def __init__(self, message: str, *, key: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.key = key
        self.value = value
