"""Long-running fleet processes: start them inside their namespace, record them, wait for them.

Every process is recorded in the state file right after it starts (PID + kernel start time), so
``down`` and ``fault heal`` find exactly the processes the fleet started, never one by name.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.engine import private
from local.errors import FleetError
from local.engine.netns import namespace_pids
from local.engine.proc import KIT_ROOT, alive, kill_pid, run, spawn
from local.engine.state import State, locked
from local.engine.users import setpriv
from plan.privileges import PROCESS_USERS

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    """A progress callback that prints nothing."""


def python() -> str:
    """The interpreter fleet processes run with: the kit's virtualenv, else this one."""
    venv = KIT_ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _record(state: State, name: str, rec: dict[str, Any], role: str, region: str | None = None,
            host: str | None = None, pidfile: str | None = None) -> None:
    state.data["processes"][name] = {**rec, "role": role, "region": region, "host": host, "pidfile": pidfile,
                                     "user": PROCESS_USERS.get(role)}
    state.save()


def start_process(state: State, name: str, argv: list[str], netns_name: str | None, role: str,
                  region: str | None = None, env: dict[str, str] | None = None,
                  runtime: bool = False, host: str | None = None, pidfile: Path | None = None,
                  setuid: bool = False, bind_low_ports: bool = False, own_folder: bool = False,
                  binds: tuple[tuple[Path, str], ...] = ()) -> dict[str, Any]:
    """Start ``argv`` in ``netns_name`` as fleet process ``name`` of ``host`` and record it with
    the user its role runs as (:data:`plan.local.PROCESS_USERS`). ``setuid``: exec it as that user
    (``bind_low_ports``: with only CAP_NET_BIND_SERVICE); else the program drops to it itself
    (Unbound, Knot and HAProxy from their configs, the lab's daemons after binding). ``runtime``: a
    process of the installed runtime (working directory the fleet's, the source tree out of
    sight). ``pidfile``: the server's own PID file, removed before a restart (a server killed with
    SIGKILL leaves it behind, and the new one would take it for a live server). ``own_folder``: it
    sees its own folder of :mod:`local.engine.private` at ``<workdir>/private`` and no one else's, with
    ``binds`` mounted into it (its audit file)."""
    log = state.workdir / "logs" / f"{name.replace('@', '_').replace('#', '_')}.log"
    if setuid:
        argv = setpriv(PROCESS_USERS[role], bind_low_ports=bind_low_ports) + list(argv)
    if own_folder:
        argv = private.prefix(state, name, binds) + list(argv)
    rec = spawn(argv, netns=netns_name, log=log, env=env, cwd=state.workdir if runtime else None,
                kit_path=not runtime)
    _record(state, name, rec, role, region, host, str(pidfile) if pidfile else None)
    return rec


def respawn(state: State, name: str) -> dict[str, Any]:
    """Start recorded process ``name`` again with its recorded command line."""
    old = state.data["processes"][name]
    if old.get("pidfile"):
        Path(old["pidfile"]).unlink(missing_ok=True)
    rec = spawn(old["argv"], netns=old["netns"], log=Path(old["log"]), env=old.get("env") or None,
                cwd=Path(old["cwd"]) if old.get("cwd") else None, kit_path=old.get("kit_path", True))
    _record(state, name, rec, old["role"], old.get("region"), old.get("host"), old.get("pidfile"))
    return rec


def _parent(pid: int) -> int | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(raw[raw.rindex(")") + 2:].split()[1])


def orphans(netns_name: str, live: set[int]) -> list[int]:
    """PIDs in ``netns_name`` that no live recorded process started (e.g. the workers a SIGKILLed
    nginx master left behind, still holding its ports)."""
    out = []
    for pid in namespace_pids(netns_name):
        cur: int | None = pid
        while cur not in (None, 0, 1) and cur not in live:
            cur = _parent(cur)
        if cur not in live:
            out.append(pid)
    return out


def ensure_running(state: State) -> list[str]:
    """Restart every recorded process that is not running; return their names. What a dead process
    left behind in its namespace (orphaned workers holding its ports) is stopped first, by PID."""
    restarted = []
    with locked(state.stack):
        fresh = State.load(state.stack)
        state.data = fresh.data if fresh else state.data
        procs = state.data["processes"]
        dead = [name for name, rec in procs.items() if not alive(rec)]
        live = {rec["pid"] for rec in procs.values() if alive(rec)}
        for ns in sorted({procs[name]["netns"] for name in dead if procs[name].get("netns")}):
            for pid in orphans(ns, live):
                kill_pid(pid)
        for name in dead:
            respawn(state, name)
            restarted.append(name)
    return restarted


def tail(path: str | None, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file ("" when unreadable)."""
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:]) if path else ""
    except OSError:
        return ""


def wait_for(pred: Callable[[], bool], timeout: float, what: str, rec: dict[str, Any] | None = None) -> None:
    """Poll ``pred`` until true; FleetError with the process log's tail when it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        if rec is not None and not alive(rec):
            raise FleetError(f"{what}: the process exited (log {rec.get('log')}):\n{tail(rec.get('log'))}")
        time.sleep(0.1)
    log = f" (log {rec.get('log')}):\n{tail(rec.get('log'))}" if rec else ""
    raise FleetError(f"{what}: not ready after {timeout:.0f}s{log}")


def tcp_listening(netns_name: str, ip: str, port: int) -> bool:
    """Something accepts TCP connections on ``ip:port`` inside ``netns_name``."""
    return run(["nc", "-z", "-w", "1", ip, str(port)], netns=netns_name, check=False, timeout=5).returncode == 0
