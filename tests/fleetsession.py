"""Shared by the test suites (tests/fleet, tests/smoke): one local fleet per pytest session.

:func:`acquire` brings the fleet up with the same code as ``mpic up`` unless it is already up
(then, outside CI, it is healed, checked, reused and left running); :func:`release` tears down
only a fleet it started, once every suite that acquired it has released it.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from cli.fleet import build_missing
from config.stackfile import load_stack
from local.actions import faults
from local.engine import lifecycle as fleet
from local.engine.state import State

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
    """Status dict of a running fleet of ``stack`` (started if needed).

    A fleet already recorded is reused only outside CI, and only once every fault is healed and
    ``up`` has checked it (every process, every load balancer, a validated request): a run that was
    interrupted leaves processes dead and fault rules in place. Under CI a recorded fleet is never
    trusted: it is removed and the session starts its own (and removes it at the end)."""
    global _users, _started, _error

    with _lock:
        _users += 1
        if _error is not None:
            raise _error
        name = load_stack(stack).name  # a stack in stacks/ or a path to a stack file
        state = State.load(name)
        if state is not None and state.data.get("status") == "up" and not os.environ.get("CI"):
            faults.heal(name, wait=False)
            return fleet.up(stack)
        if state is not None:
            fleet.down(name)
        t0 = time.monotonic()
        try:
            build_missing(stack, lambda m: None)  # the wheelhouse the fleet runs, as `mpic up` does
            st = fleet.up(stack, lambda m: None)
        except BaseException as exc:
            _error = exc
            fleet.down(name)
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


class ExtraCoordinator:
    """A coordinator process beside the fleet's, in the primary site's namespace, from a copy of
    its settings changed by the test (another stack key, swapped perspective URLs): the same
    installed runtime, user and certificates. Reached with curl inside that namespace."""

    def __init__(self, stack: str, port: int, change: Any):
        import yaml

        from local.roles import audit

        from local.engine import private
        from local.engine.proc import spawn
        from local.engine.state import load_plan, load_state
        from local.engine.supervisor import wait_for
        from local.engine.users import setpriv
        from plan.privileges import RUNTIME_USER

        state = load_state(stack)
        self.netns = load_plan(state).coordinator_ns
        self.api_key = state.data["api_key"]
        self.url = f"http://127.0.0.1:{port}"
        name, first = f"extra-{port}", private.folder(state, "coordinator#1")
        placed, bind = audit.placement(state, name, "lab", name)
        self.audit = bind[0]
        for filename in ("client.crt", "client.key", "ca.crt"):  # the same identity, in a folder of its own
            mode = 0o600 if filename.endswith(".key") else 0o644
            private.place(state, name, filename, RUNTIME_USER if mode == 0o600 else "root", mode,
                          source=first / filename)
        settings = change(yaml.safe_load((first / "settings.yaml").read_text()))
        settings.update(listen_port=port, internal_listen_port=port + 1000, **placed)
        path = private.place(state, name, "settings.yaml", RUNTIME_USER, 0o600, text=yaml.safe_dump(settings))
        self.folder = private.folder(state, name)
        self.rec = spawn(private.prefix(state, name, (bind,)) + setpriv(RUNTIME_USER)
                         + [state.data["runtime_python"], "-m", "service", "coordinator", "--settings", path],
                         netns=self.netns, log=state.workdir / "logs" / f"{name}.log", cwd=state.workdir,
                         kit_path=False)
        try:
            # its internal /healthz: /readyz may rightly stay 503 (e.g. perspectives refused as impostors)
            wait_for(lambda: self.get(f"http://127.0.0.1:{port + 1000}/healthz")[0] == 200, 30,
                     f"extra coordinator on {port}", self.rec)
        except BaseException:
            self.stop()
            raise

    def get(self, url: str) -> tuple[int, Any]:
        from local.actions.client import curl

        return curl(self.netns, url, timeout=5)

    def post(self, body: Any) -> tuple[int, Any]:
        import json

        from local.actions.client import curl

        status, raw = curl(self.netns, self.url + "/mpic", data=json.dumps(body), headers={"x-api-key": self.api_key},
                           timeout=30)
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def stop(self) -> None:
        from local.engine.proc import stop

        stop(self.rec)
        shutil.rmtree(self.folder, ignore_errors=True)
