"""Commands and long-running processes inside namespaces, tracked and stopped by PID only.

A process is identified by (pid, start time from /proc/<pid>/stat): a recycled PID is never
signalled. Nothing is ever matched by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from config.errors import KitError

KIT_ROOT = Path(__file__).resolve().parents[2]
_CHILDREN: dict[int, subprocess.Popen] = {}


class CommandError(KitError, RuntimeError):
    """A command of the fleet failed; the message holds its words."""


def clean_env(extra: dict[str, str] | None = None, *, kit_path: bool = True) -> dict[str, str]:
    """The environment for fleet processes: no proxies (open-mpic-core's aiohttp honours them).

    ``kit_path``: the kit's own tools (the WAN relay) import the source tree; the runtime's
    processes run the installed wheelhouse and must not see it (no ``PYTHONPATH``)."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in {
        "http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy"}
        and not k.startswith("MPIC_") and k != "PYTHONPATH"}  # the runtime lets MPIC_* override its settings
    if kit_path:
        env["PYTHONPATH"] = str(KIT_ROOT) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run(argv: list[str], *, netns: str | None = None, check: bool = True, timeout: float = 30,
        input: str | None = None, cwd: Path | None = None, kit_path: bool = True) -> subprocess.CompletedProcess:
    """Run a short command (optionally inside ``netns``) and return its result. A run of the
    installed runtime passes ``kit_path=False`` and a ``cwd`` away from the source tree."""
    full = (["ip", "netns", "exec", netns] if netns else []) + [str(a) for a in argv]
    try:
        res = subprocess.run(full, capture_output=True, text=True, timeout=timeout, input=input,
                             env=clean_env(kit_path=kit_path), cwd=str(cwd) if cwd else None)
    except subprocess.TimeoutExpired as exc:
        raise CommandError(f"`{' '.join(full)}` timed out after {timeout}s") from exc
    if check and res.returncode != 0:
        raise CommandError(f"`{' '.join(full)}` failed ({res.returncode}): {(res.stderr or res.stdout).strip()}")
    return res


def start_time(pid: int) -> int | None:
    """Kernel start time of ``pid`` (clock ticks since boot), None if gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    rest = raw[raw.rindex(")") + 2:].split()
    if rest[0] in ("Z", "X"):
        _reap(pid)
        return None
    return int(rest[19])


def _reap(pid: int) -> None:
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        child.poll()


def spawn(argv: list[str], *, netns: str | None, log: Path, cwd: Path | None = None,
          env: dict[str, str] | None = None, kit_path: bool = True) -> dict[str, Any]:
    """Start a long-running foreground process; return its record for the state file
    (``kit_path``: see :func:`clean_env`)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    full = (["ip", "netns", "exec", netns] if netns else []) + [str(a) for a in argv]
    with open(log, "ab") as out:
        child = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 cwd=str(cwd or KIT_ROOT), env=clean_env(env, kit_path=kit_path),
                                 start_new_session=True)
    _CHILDREN[child.pid] = child
    st = None
    for _ in range(50):
        st = start_time(child.pid)
        if st is not None or child.poll() is not None:
            break
        time.sleep(0.01)
    return {"pid": child.pid, "start": st, "argv": [str(a) for a in argv], "netns": netns, "log": str(log),
            "cwd": str(cwd or KIT_ROOT), "env": env or {}, "kit_path": kit_path}


def alive(rec: dict[str, Any]) -> bool:
    pid, st = rec.get("pid"), rec.get("start")
    if not pid:
        return False
    now = start_time(pid)
    return now is not None and (st is None or now == st)


def signal_proc(rec: dict[str, Any], sig: int) -> bool:
    """Send ``sig`` to the recorded process if it is still the same process."""
    if not alive(rec):
        return False
    try:
        os.kill(rec["pid"], sig)
        return True
    except ProcessLookupError:
        return False


def stop(rec: dict[str, Any], *, timeout: float = 5.0, sig: int = signal.SIGTERM) -> None:
    """Stop one recorded process: ``sig``, then SIGKILL after ``timeout``."""
    if not signal_proc(rec, sig):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(rec):
            return
        time.sleep(0.02)
    signal_proc(rec, signal.SIGKILL)
    for _ in range(100):
        if not alive(rec):
            return
        time.sleep(0.02)


def kill_pid(pid: int) -> None:
    """SIGKILL one PID (used for processes found inside the fleet's own namespaces)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for _ in range(100):
        if start_time(pid) is None:
            return
        time.sleep(0.02)


def stop_all(recs: list[dict[str, Any]], timeout: float = 5.0) -> None:
    """SIGTERM every recorded process at once, SIGKILL what is left after ``timeout``."""
    for rec in recs:
        signal_proc(rec, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(r) for r in recs):
        time.sleep(0.05)
    for rec in recs:
        stop(rec, sig=signal.SIGKILL, timeout=2)
