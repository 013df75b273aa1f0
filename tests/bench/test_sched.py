"""``mpic bench --fleet STACK --sched``: the scheduler's record of CAA's sequential phase split into
the windows of each request (bench.sched), the fleet's roles, and where the phases call the probe."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from bench import fleet as benchfleet
from bench import hops, sched
from bench.load import BenchError, Target
from bench.phases import Scenario, method_phases
from bench.sched import Run

CLIENT, RELAY, COORD, PERSP, RESOLVER, OTHER = 1, 2, 3, 4, 5, 9
ROLES = {"coordinator": {COORD}, "relay": {RELAY}, "perspective": {PERSP}, "resolver": {RESOLVER}}
DELAY = 0.080


def _switch(cpu: int, at: float, prev: int, nxt: int, prev_comm: str = "p") -> str:
    return (f"[{cpu:03d}] {at:12.6f}: prev_comm={prev_comm} prev_pid={prev} prev_prio=120 prev_state=S ==> "
            f"next_comm=n next_pid={nxt} next_prio=120")


def test_runs_are_read_per_cpu_from_perf_scripts_switches() -> None:
    lines = [
        "'trace' not valid for hardware events. Ignoring.",
        _switch(0, 10.000000, 0, 5),  # each CPU's first switch starts no run
        _switch(1, 10.000100, 0, 6),
        _switch(0, 10.000500, 5, 0),
        _switch(1, 10.000900, 6, 0, prev_comm="memfd:sealed 91 prev_pid=x"),  # a name with spaces
        _switch(0, 10.001000, 0, 5),  # the idle task's time is no run
        _switch(0, 10.001300, 5, 7),
    ]
    assert sched.parse(lines) == [Run(10.0, 10.0005, 5), Run(10.0001, 10.0009, 6), Run(10.001, 10.0013, 5)]


def _request(a: float, coord_ms: float = 1.0, persp_ms: float = 2.0) -> list[Run]:
    """One request the client waited for from ``a`` to ``a + 0.169``: the deciding call reaches the
    relay 1.5 ms after ``a``, leaves 80.1 ms after that, the answer is back 3.4 ms later and leaves
    80.1 ms after that (0.2 ms held over in all); the client wakes 3.9 ms later."""
    r1 = a + 0.0015
    r2 = r1 + DELAY + 0.0001
    r3 = r2 + 0.0034
    r4 = r3 + DELAY + 0.0001
    return [Run(a + 0.0002, a + 0.0002 + coord_ms / 1000, COORD), Run(r1, r1 + 0.0001, RELAY),
            Run(r1 + 0.0002, r1 + 0.0012, OTHER), Run(r2, r2 + 0.0002, RELAY),
            Run(r2 + 0.0003, r2 + 0.0003 + persp_ms / 1000, PERSP), Run(r2 + 0.0025, r2 + 0.0030, RESOLVER),
            Run(r3, r3 + 0.0001, RELAY), Run(r4, r4 + 0.0002, RELAY), Run(r4 + 0.0003, r4 + 0.0029, COORD)]


def test_each_request_splits_into_windows_that_add_up_to_the_wait_over_the_delays() -> None:
    runs = [Run(0.0, 0.001, CLIENT), *_request(0.001), Run(0.170, 0.171, CLIENT), *_request(0.171, persp_ms=1.0),
            Run(0.340, 0.341, CLIENT), *_request(0.341, persp_ms=3.0), Run(0.510, 0.511, CLIENT),
            Run(0.5111, 0.5112, RELAY), Run(0.600, 0.6001, RELAY),  # a request whose relay runs are not all there
            Run(0.680, 0.681, CLIENT),
            Run(0.690, 0.691, CLIENT),  # a short sleep of the client: no request
            Run(0.860, 0.861, CLIENT)]  # a long one without the relay: no request either
    path = sched.critical_path(sorted(runs, key=lambda r: r.start), {CLIENT}, ROLES, DELAY)
    assert path["requests"] == 3
    assert path["to_region"] == {"wall_ms": 1.5, "cpu_ms": {"coordinator": 1.0, "relay": 0.0, "perspective": 0.0,
                                                             "resolver": 0.0}}
    assert path["in_region"]["wall_ms"] == 3.4
    assert path["in_region"]["cpu_ms"] == {"coordinator": 0.0, "relay": 0.2, "perspective": 2.0, "resolver": 0.5}
    assert path["back"]["wall_ms"] == 3.9 and path["back"]["cpu_ms"]["coordinator"] == 2.6
    assert path["back"]["cpu_ms"]["relay"] == 0.2
    assert path["relay_held_over_ms"] == 0.2
    waited_over_the_delays = 169.0 - 2 * DELAY * 1000
    parts = [path[w]["wall_ms"] for w in sched.WINDOWS] + [path["relay_held_over_ms"]]
    assert sum(parts) == pytest.approx(waited_over_the_delays)
    line = sched.line(path)
    assert line.startswith("bench: on the critical path (ms, median of 3 requests;")
    assert "to region 1.5 (coordinator 1.0)" in line and "in region 3.4 (relay 0.2, perspective 2.0, resolver 0.5)" in line
    assert line.endswith("relay held over 0.2")
    assert sched.critical_path(runs[:1], {CLIENT}, ROLES, DELAY) == {}


def test_a_processs_threads_and_a_gone_process() -> None:
    assert threading.get_native_id() in sched.threads([os.getpid()])
    assert sched.threads([2 ** 22 + 1]) == set()


def test_without_perf_the_probe_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(BenchError, match="apt-get install linux-perf"):
        sched.SchedProbe({}, {})


def test_a_perf_that_does_not_start_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    fake = tmp_path / "perf"
    fake.write_text("#!/bin/sh\necho 'perf: no access to the tracepoints' >&2\nexit 1\n")
    fake.chmod(0o755)
    probe = sched.SchedProbe({}, {}, perf=str(fake))
    with pytest.raises(BenchError, match="perf record did not start: perf: no access to the tracepoints"):
        probe.start()
    assert probe.proc is None and probe.folder is None
    probe.stop()  # nothing started: nothing to stop


def test_a_perf_that_ignores_sigint_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "perf"
    fake.write_text('#!/bin/sh\n[ "$1" = script ] && exit 0\ntrap "" INT\n'
                    'while [ "$1" != -o ]; do shift; done\necho header > "$2"\nexec sleep 60\n')
    fake.chmod(0o755)
    monkeypatch.setattr(sched, "STOP_TIMEOUT", 0.2)
    probe = sched.SchedProbe({}, {}, perf=str(fake))
    probe.start()
    started = probe.proc
    assert started is not None and started.poll() is None
    probe.stop()
    assert started.returncode == -9 and probe.proc is None and probe.runs == []


@pytest.mark.skipif(shutil.which("perf") is None or os.geteuid() != 0, reason="needs perf and root")
def test_a_real_recording_sees_the_roles_threads_and_cleans_up() -> None:
    busy = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 0.3: pass"])
    probe = sched.SchedProbe({"coordinator": [busy.pid]}, {"r": {"relay": [os.getpid()]}})
    try:
        probe.start()
        folder = Path(probe.folder.name) if probe.folder else None
        busy.wait(timeout=30)
    finally:
        probe.stop()
    assert probe.proc is None and folder is not None and not folder.exists()
    assert probe.client == {threading.get_native_id()}
    assert probe.roles[(None, "coordinator")] == {busy.pid} and threading.get_native_id() in probe.roles[("r", "relay")]
    ran = sum(r.end - r.start for r in probe.runs if r.tid == busy.pid)
    assert ran > 0.1  # the busy process's CPU is in the record
    assert probe.finish("r", 80.0) == {}  # no request was sent


class _Sched:
    def __init__(self, path: dict[str, Any]) -> None:
        self.path, self.calls = path, []  # type: ignore[var-annotated]

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")

    def finish(self, region: str, delay_ms: float) -> dict[str, Any]:
        self.calls.append((region, delay_ms))
        return self.path


@pytest.mark.parametrize("table,path,added", [
    ({"deciding_region": "b", "front_ms": 1.0}, {"requests": 2}, True),
    ({"deciding_region": "b", "front_ms": 1.0}, {}, False),
    ({}, {"requests": 2}, False),
])
def test_the_fleet_probe_adds_the_critical_path_of_the_deciding_region(monkeypatch: pytest.MonkeyPatch,
                                                                       table: dict[str, Any], path: dict[str, Any],
                                                                       added: bool) -> None:
    monkeypatch.setattr(hops, "breakdown", lambda *args: dict(table))
    probe = _Sched(path)
    fleet_hops = benchfleet.FleetHops("local-wan", {}, {"a": 20.0, "b": 80.0}, "fleet-test.example", settle=0,
                                      sched=probe)  # type: ignore[arg-type]
    monkeypatch.setattr("local.roles.audit.files", lambda stack: [])
    fleet_hops.start()
    fleet_hops.stop()
    out = fleet_hops.finish(170.0, 160.0)
    assert probe.calls[:2] == ["start", "stop"]
    assert ("critical_path" in out) is added and (out.get("critical_path") == path if added else True)
    assert probe.calls[2:] == ([("b", 80.0)] if table else [])


def test_the_probe_gets_every_role_of_every_region() -> None:
    procs = {"coordinator#1": {"pid": 11, "role": "coordinator", "region": None},
             "haproxy@coordinator": {"pid": 12, "role": "lb", "region": None},
             "knotd": {"pid": 13, "role": "dns", "region": None},
             "relay@b": {"pid": 21, "role": "wan", "region": "b"}, "haproxy@b": {"pid": 22, "role": "lb", "region": "b"},
             "perspective@b-1": {"pid": 23, "role": "perspective", "region": "b"},
             "unbound@b-1": {"pid": 24, "role": "resolver", "region": "b"}, "canary": {"pid": 30, "role": "canary"}}
    probe = benchfleet.sched_probe(procs)
    assert probe.pids == {(None, "coordinator"): [11], (None, "front_lb"): [12], (None, "dns"): [13],
                          ("b", "relay"): [21], ("b", "lb"): [22], ("b", "perspective"): [23], ("b", "resolver"): [24]}


def test_a_failed_phase_still_stops_the_probe() -> None:
    """The recording (``perf``) never outlives the phase: a phase that fails stops it too."""
    probe = _Sched({})
    scene = Scenario(target=Target("http://127.0.0.1:9", "k"), bodies={"caa": {"check_type": "caa"}}, roles={},
                     coordinator_pids=[], perspective_pids=[], faults={}, hops=probe)  # type: ignore[arg-type]
    with pytest.raises(OSError):  # nothing listens on the discard port
        asyncio.run(method_phases(scene, "caa", [1], 0.2, print))
    assert probe.calls == ["start", "stop"]
