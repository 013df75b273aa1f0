"""Shared by the test suites (tests/fleet, tests/smoke): one local fleet per pytest session.

:func:`acquire` brings the fleet up with the same code as ``mpic up`` unless it is already up
(then it is reused and left running); :func:`release` tears down only a fleet it started, once
every suite that acquired it has released it.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from typing import Any

from cli.fleet import build_missing
from config.stackfile import load_stack
from local import lifecycle as fleet
from local.state import State
from local.supervisor import ensure_running

_lock = threading.Lock()
_users = 0
_started: str | None = None
_error: BaseException | None = None
UP_SECONDS: dict[str, float] = {}


def skip_reason() -> str | None:
    """Why the fleet cannot run here (None when it can)."""
    if os.geteuid() != 0:
        return "needs root: the local fleet uses network namespaces and ports 53/80/443 inside them"
    for tool in ("ip", "knotd", "knotc", "keymgr", "unbound", "haproxy", "nginx", "nft", "curl", "nc", "kdig"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed: run ./scripts/bootstrap.sh as root"
    return None


def acquire(stack: str = "local") -> dict[str, Any]:
    """Status dict of a running fleet of ``stack`` (started if needed)."""
    global _users, _started, _error

    with _lock:
        _users += 1
        if _error is not None:
            raise _error
        name = load_stack(stack).name  # a stack in stacks/ or a path to a stack file
        state = State.load(name)
        if state is not None and state.data.get("status") == "up":
            ensure_running(state)
            return fleet.status(name)
        t0 = time.monotonic()
        try:
            build_missing(stack, lambda m: None)  # the wheelhouse the fleet runs, as `mpic up` does
            st = fleet.up(stack, lambda m: None)
        except BaseException as exc:
            _error = exc
            try:
                fleet.down(name)
            finally:
                pass
            raise
        UP_SECONDS[name] = time.monotonic() - t0
        _started = name
        return st


def release() -> None:
    global _users, _started

    with _lock:
        _users -= 1
        if _users <= 0 and _started is not None and not os.environ.get("MPIC_KEEP_FLEET"):
            fleet.down(_started)
            _started = None
