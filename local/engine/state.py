"""The fleet's state file: everything ``up`` created, written *before* or as it is created.

``/run/mpic-fleet/<stack>/state.json`` (override the root with ``MPIC_FLEET_RUN``). The same
directory is the fleet's work directory (configs, zones, logs, PKI), so ``down`` removes it
whole. Writes are atomic (temp file + rename) and serialised with an advisory lock, so
``mpic challenge`` / ``mpic fault`` can run while the fleet is up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from local.errors import FleetError
from plan.local import FleetPlan, HostPlan, LinkPlan, RegionPlan, ReplicaPlan, SitePlan

STATE_VERSION = 1


def run_root() -> Path:
    return Path(os.environ.get("MPIC_FLEET_RUN", "/run/mpic-fleet"))


def lib_root() -> Path:
    """``/var/lib/mpic-fleet`` (``MPIC_FLEET_LIB``): what outlives a fleet (the installed runtime,
    the audit records); ``run_root`` holds what ``down`` removes."""
    return Path(os.environ.get("MPIC_FLEET_LIB", "/var/lib/mpic-fleet"))


def stack_dir(stack: str) -> Path:
    return run_root() / stack


def state_path(stack: str) -> Path:
    return stack_dir(stack) / "state.json"


def list_stacks() -> list[str]:
    root = run_root()
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob("*/state.json"))


class State:
    """Mutable view of one stack's state file; use :func:`locked` to change it."""

    def __init__(self, stack: str, data: dict[str, Any]):
        self.stack = stack
        self.data = data

    # --- persistence ---------------------------------------------------------------------
    @classmethod
    def new(cls, stack: str) -> "State":
        return cls(stack, {
            "version": STATE_VERSION,
            "stack": stack,
            "created": time.time(),
            "status": "starting",
            "workdir": str(stack_dir(stack)),
            "namespaces": [],
            "root_links": [],
            "etc_netns": [],
            "processes": {},
            "challenges": {"records": [], "http": [], "zones": [], "alpn": []},
            "faults": {"killed": [], "partitioned": [], "slow": {}},
        })

    @classmethod
    def load(cls, stack: str) -> "State | None":
        path = state_path(stack)
        try:
            return cls(stack, json.loads(path.read_text()))
        except FileNotFoundError:
            return None

    def save(self) -> None:
        path = state_path(self.stack)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds the API key
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(self.data, indent=1, sort_keys=True))
        os.replace(tmp, path)

    # --- helpers -------------------------------------------------------------------------
    @property
    def workdir(self) -> Path:
        return Path(self.data["workdir"])

    def add_unique(self, key: str, value: Any) -> None:
        items = self.data.setdefault(key, [])
        if value not in items:
            items.append(value)
        self.save()

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.save()


@contextlib.contextmanager
def locked(stack: str) -> Iterator[None]:
    """Serialise state changes of one stack across processes."""
    d = stack_dir(stack)
    d.mkdir(parents=True, exist_ok=True)
    with open(d / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ------------------------------------------------------------------------------ the running fleet
def current_stack(stack: str | None) -> str:
    """``stack``, or the one local fleet that is up."""
    if stack:
        return stack
    up = list_stacks()
    if not up:
        raise FleetError("no local fleet is up; start one with `./scripts/mpic up`")
    return up[0]


def load_state(stack: str | None) -> State:
    """The state of a fleet that is up (FleetError naming `mpic up` otherwise)."""
    name = current_stack(stack)
    state = State.load(name)
    if state is None:
        raise FleetError(f"no local fleet of stack '{name}' is up; start it with `./scripts/mpic up {name}`")
    return state


def plan_to_json(plan: FleetPlan) -> dict[str, Any]:
    return dataclasses.asdict(plan)


def plan_from_json(data: dict[str, Any]) -> FleetPlan:
    d = dict(data)
    d["regions"] = tuple(RegionPlan(**{**r, "replicas": tuple(ReplicaPlan(**h) for h in r["replicas"])})
                         for r in d["regions"])
    d["links"] = tuple(LinkPlan(**x) for x in d["links"])
    d["hosts"] = tuple(HostPlan(**x) for x in d["hosts"])
    d["coordinator_replica_ports"] = tuple(d["coordinator_replica_ports"])
    if d.get("standby"):
        d["standby"] = SitePlan(**{**d["standby"], "replica_ports": tuple(d["standby"]["replica_ports"])})
    return FleetPlan(**d)


def load_plan(state: State) -> FleetPlan:
    """The topology the fleet was started with (recorded in its state file)."""
    return plan_from_json(state.data["plan"])
