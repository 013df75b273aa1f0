"""Errors of the local fleet engine and its one root check.

Bad input to a local-fleet command (an unknown region, a malformed challenge) is a
:class:`config.errors.ConfigError` like every other bad input (exit 2). :class:`FleetError` is
different: the input was fine but the machine did not do what was asked (a server that exits, a
port taken, an address range in use): exit 1, and the message says what to look at.
"""

from __future__ import annotations

import os

from config.errors import ConfigError, KitError


class FleetError(KitError, RuntimeError):
    """The fleet could not be brought up or changed; the message says what and how to fix it."""


class ChallengeError(ConfigError):
    """Bad ``mpic challenge`` input (exit 2); the message says what was given and what to give."""


def require_root() -> None:
    """The local fleet needs root: network namespaces, veth links, ports 53/80/443 inside them."""
    if os.geteuid() != 0:
        raise FleetError("the local fleet needs root (network namespaces, ports 53/80/443 inside them). "
                         "Run it as root, e.g. `sudo ./scripts/mpic up`.")
