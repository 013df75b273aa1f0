"""Where a WAN request's time goes, process by process (``mpic bench --fleet STACK --sched``).

The hop table (:mod:`bench.hops`) splits a request by what the fleet records itself. This splits it
by what the kernel's scheduler recorded: ``perf record -e sched:sched_switch -a`` (Debian's
``linux-perf``) runs during CAA's sequential phase, and the four runs of the deciding region's WAN
relay in each request (the call comes in, leaves after the delay, the answer comes in, leaves after
the delay) cut the client's wait into three windows:

- ``to_region``: the client's request sent -> the deciding call at the region's relay (the front
  HAProxy, the coordinator's HTTP, validation, audit and sends);
- ``in_region``: the relay passes the call on -> the answer is at the relay (the region's HAProxy,
  the perspective, its resolver, the authoritative server);
- ``back``: the relay passes the answer on -> the client wakes with it (the coordinator's verdict,
  response and audit lines, the front HAProxy).

``relay_held_over_ms`` is the rest: how much longer than the two set delays the relay held the call
and the answer, counted from the start of the run in which it read each; per request the four parts
add up to the client's wait minus the two delays. Each window has its wall time and the CPU time each
role ran inside it. Every figure is the median over the requests whose four relay runs were found.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from bench.load import BenchError

WINDOWS = ("to_region", "in_region", "back")
ROLES = ("coordinator", "front_lb", "relay", "lb", "perspective", "resolver", "dns")
"""The processes reported, in the order of the path (``front_lb``: the coordinator's HAProxy; ``lb``,
``relay``, ``perspective``, ``resolver``: the deciding region's; ``dns``: the authoritative server)."""
START_TIMEOUT = 10.0
"""Seconds ``perf record`` gets to start writing its file."""
STOP_TIMEOUT = 30.0
"""Seconds ``perf record`` gets to end after SIGINT before it is killed."""

_SWITCH = re.compile(r"^\s*\[(\d+)\]\s+([\d.]+):.* prev_pid=(\d+) prev_prio=.* next_pid=(\d+) next_prio=")


@dataclass(frozen=True)
class Run:
    """One stretch of CPU time of one thread (seconds, the scheduler's clock)."""

    start: float
    end: float
    tid: int


def parse(lines: Iterable[str]) -> list[Run]:
    """The runs of every thread in ``perf script -F cpu,time,trace`` lines of ``sched_switch``: on each
    CPU, the thread switched out ran since the previous switch there (a CPU's first switch starts no run)."""
    since: dict[int, float] = {}
    runs = []
    for line in lines:
        m = _SWITCH.match(line)
        if not m:
            continue
        cpu, at, prev = int(m.group(1)), float(m.group(2)), int(m.group(3))
        if cpu in since and prev != 0:  # 0: the idle task
            runs.append(Run(since[cpu], at, prev))
        since[cpu] = at
    runs.sort(key=lambda r: r.start)
    return runs


def _cpu(runs: list[Run], lo: float, hi: float) -> float:
    return sum(min(r.end, hi) - max(r.start, lo) for r in runs if r.end > lo and r.start < hi)


def _request(by_role: dict[str, list[Run]], relay: list[Run], a: float, b: float,
             delay: float) -> dict[str, Any] | None:
    """The parts of the request the client waited for from ``a`` to ``b`` (None: its relay runs are not all there)."""
    mine = [r for r in relay if a <= r.start <= b]
    if not mine:
        return None
    first, last = mine[0], mine[-1]
    out = next((r for r in mine if r.start >= first.start + delay), None)
    back_in = next((r for r in reversed(mine) if r.start <= last.start - delay), None)
    if out is None or back_in is None or not first.start < out.start < back_in.start < last.start:
        return None
    spans = {"to_region": (a, first.start), "in_region": (out.start, back_in.start), "back": (last.start, b)}
    parts: dict[str, Any] = {}
    for name, (lo, hi) in spans.items():
        parts[name] = {"wall": hi - lo, **{role: _cpu(role_runs, lo, hi) for role, role_runs in by_role.items()}}
    parts["held_over"] = (out.start - first.start - delay) + (last.start - back_in.start - delay)
    return parts


def critical_path(runs: list[Run], client: set[int], roles: dict[str, set[int]], delay_s: float) -> dict[str, Any]:
    """The windows of every request of the phase (module docstring), milliseconds: medians over the
    requests that could be split; empty when none could. ``client``: the bench client's threads;
    ``roles``: each role's threads (``relay`` among them, the deciding region's); ``delay_s``: that
    region's one-way delay."""
    mine = [r for r in runs if r.tid in client]
    by_role = {role: [r for r in runs if r.tid in tids] for role, tids in roles.items()}  # each run read once
    relay = by_role.get("relay", [])
    rows = []
    for before, after in zip(mine, mine[1:]):
        if after.start - before.end >= 2 * delay_s:  # the client slept through a round trip: one request
            row = _request(by_role, relay, before.end, after.start, delay_s)
            if row is not None:
                rows.append(row)
    if not rows:
        return {}

    def ms(values: Iterable[float]) -> float:
        return round(statistics.median(values) * 1000, 3)

    out: dict[str, Any] = {"requests": len(rows), "relay_held_over_ms": ms(r["held_over"] for r in rows)}
    for name in WINDOWS:
        out[name] = {"wall_ms": ms(r[name]["wall"] for r in rows),
                     "cpu_ms": {role: ms(r[name][role] for r in rows) for role in ROLES if role in roles}}
    return out


def threads(pids: Iterable[int]) -> set[int]:
    """The thread ids of ``pids`` (a process that is gone has none)."""
    out = set()
    for pid in pids:
        try:
            out.update(int(t) for t in os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
    return out


def line(path: dict[str, Any]) -> str:
    """The progress line of a :func:`critical_path` result."""
    def window(name: str) -> str:
        cpu = ", ".join(f"{role} {ms}" for role, ms in path[name]["cpu_ms"].items() if ms >= 0.005)
        return f"{name.replace('_', ' ')} {path[name]['wall_ms']} ({cpu})"

    return (f"bench: on the critical path (ms, median of {path['requests']} requests; wall, then each process's "
            f"CPU): {'; '.join(window(n) for n in WINDOWS)}; relay held over {path['relay_held_over_ms']}")


class SchedProbe:
    """``perf record`` of the scheduler's switches around one phase, then :func:`critical_path`.
    ``common``: the PIDs of the roles every request passes (coordinator, front_lb, dns); ``regional``:
    each region's (relay, lb, perspective, resolver), the deciding one chosen at :meth:`finish`."""

    def __init__(self, common: dict[str, list[int]], regional: dict[str, dict[str, list[int]]],
                 perf: str | None = None):
        self.pids = {**{(None, role): pids for role, pids in common.items()},
                     **{(region, role): pids for region, roles in regional.items() for role, pids in roles.items()}}
        self.perf = perf or shutil.which("perf")
        if self.perf is None:
            raise BenchError("--sched needs perf, which is not installed: apt-get install linux-perf")
        self.proc: subprocess.Popen[bytes] | None = None
        self.folder: tempfile.TemporaryDirectory[str] | None = None
        self.client: set[int] = set()
        self.roles: dict[tuple[str | None, str], set[int]] = {}
        self.runs: list[Run] = []

    def _data(self) -> Path:
        assert self.folder is not None
        return Path(self.folder.name) / "sched.data"

    def start(self) -> None:
        """Start recording (returns once perf writes its file) and note the client's thread."""
        self.folder = tempfile.TemporaryDirectory(prefix="mpic-sched-")
        err = Path(self.folder.name) / "perf.log"
        with open(err, "wb") as log:
            self.proc = subprocess.Popen([str(self.perf), "record", "-q", "-e", "sched:sched_switch", "-a",
                                          "-o", str(self._data())], stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT
        while not (self._data().exists() and self._data().stat().st_size > 0):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._end()
                text = err.read_text(errors="replace").strip()[-500:]
                self._clean()
                raise BenchError(f"--sched: perf record did not start: {text or 'no output'}")
            time.sleep(0.05)
        self.client = {threading.get_native_id()}
        self.roles = {key: threads(pids) for key, pids in self.pids.items()}

    def _end(self) -> None:
        """Stop perf by its PID: SIGINT (it writes its file), SIGKILL if it has not ended after ``STOP_TIMEOUT``."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def _clean(self) -> None:
        if self.folder is not None:
            self.folder.cleanup()
            self.folder = None

    def stop(self) -> None:
        """Stop recording and read the runs (the recording is removed)."""
        if self.proc is None:
            return
        try:
            self._end()
            for key, tids in self.roles.items():  # threads started during the phase count too
                tids.update(threads(self.pids[key]))
            done = subprocess.run([str(self.perf), "script", "-i", str(self._data()), "-F", "cpu,time,trace"],
                                  capture_output=True, text=True, timeout=120)
            self.runs = parse(done.stdout.splitlines())
        finally:
            self._clean()

    def finish(self, region: str, delay_ms: float) -> dict[str, Any]:
        """:func:`critical_path` with ``region`` (one-way ``delay_ms``) deciding."""
        roles = {role: tids for (where, role), tids in self.roles.items() if where in (None, region)}
        return critical_path(self.runs, self.client, roles, delay_ms / 1000)
