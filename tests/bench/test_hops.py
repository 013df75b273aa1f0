"""The WAN hop table of ``mpic bench --fleet``: the join of the audit lines and the relays' reports
(bench.hops), the probe of the fleet (bench.fleet.FleetHops) and where the phases call it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from bench import fleet as benchfleet
from bench import hops
from bench.load import Target
from bench.phases import Scenario, measure

T0 = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.timezone.utc)
DELAYS = {"us-west-2": 25.0, "ap-northeast-1": 80.0, "af-south-1": 94.0}


def _at(ms: float) -> str:
    return (T0 + dt.timedelta(milliseconds=ms)).isoformat(timespec="microseconds")


def _request(rid: str, start: float, handler: float, latencies: dict[str, float], checks: dict[str, float],
             target: str = "fleet-test.example") -> list[dict[str, Any]]:
    """The audit lines of one request: the coordinator's, and a check line per answering perspective."""
    base = {"request_id": rid, "target": target, "check_type": "caa"}
    lines = [{**base, "event": "request", "at": _at(start)},
             {**base, "event": "response", "at": _at(start + handler), "duration_ms": handler}]
    for code, latency in latencies.items():
        lines.append({**base, "event": "perspective_result", "at": _at(start + latency), "perspective": code,
                      "outcome": "pass", "latency_ms": latency})
        lines.append({**base, "event": "check", "at": _at(start + latency - DELAYS[code]), "perspective": code,
                      "duration_ms": checks[code]})
    lines.append({**base, "event": "perspective_result", "at": _at(start + handler), "perspective": "af-south-1",
                  "outcome": "cancelled", "latency_ms": None})
    return lines


HOLDS = {"ap-northeast-1": {"delay_ms": 80.0, "to_upstream": {"chunks": 4, "late_ms_p50": 0.1},
                            "to_client": {"chunks": 4, "late_ms_p50": 0.2}}}


def test_the_breakdown_adds_up_to_the_client_p50_over_the_bound() -> None:
    lines = (_request("r1", 0, 166.0, {"us-west-2": 55.0, "ap-northeast-1": 164.5},
                      {"us-west-2": 2.0, "ap-northeast-1": 3.0})
             + _request("r2", 300, 168.0, {"us-west-2": 56.0, "ap-northeast-1": 166.5},
                        {"us-west-2": 2.0, "ap-northeast-1": 5.0})
             + _request("canary", 600, 90.0, {"us-west-2": 80.0}, {"us-west-2": 1.0},
                        target="canary.fleet-test.example"))
    out = hops.breakdown(lines, DELAYS, client_p50_ms=168.5, bound_ms=160.0, holds=HOLDS, target="fleet-test.example")
    assert out["requests"] == 2 and out["deciding_region"] == "ap-northeast-1"  # the canary's request is not one
    assert out["front_ms"] == 1.5  # 168.5 - the handler's median 167.0
    assert out["coordinator_ms"] == 1.5  # handler - the deciding call: 1.5 both times
    assert out["relay_set_ms"] == 160.0 and out["relay_late_ms"] == pytest.approx(0.3)
    assert out["check_ms"] == 4.0
    assert out["path_ms"] == pytest.approx(1.5 - 0.3)  # the call beyond 2 x 80 ms and its check: 1.5 both times
    total = sum(out[k] for k in ("front_ms", "coordinator_ms", "relay_late_ms", "path_ms", "check_ms", "rest_ms"))
    assert total == pytest.approx(168.5 - 160.0, abs=0.01)


def test_the_breakdown_of_nothing_joined_is_empty() -> None:
    only_coordinator = [d for d in _request("r1", 0, 166.0, {"ap-northeast-1": 164.5}, {"ap-northeast-1": 3.0})
                        if d["event"] != "check"]
    assert hops.breakdown(only_coordinator, DELAYS, 168.0, 160.0, {}, "fleet-test.example") == {}
    assert hops.breakdown([], DELAYS, 168.0, 160.0, {}, "fleet-test.example") == {}


def test_audit_lines_are_read_within_the_window(tmp_path: Path) -> None:
    f = tmp_path / "primary--coordinator-1.jsonl"
    f.write_text("\n".join([json.dumps({"at": _at(-10), "event": "before"}), "not json",
                            json.dumps({"event": "no time"}), json.dumps({"at": _at(5), "event": "inside"}),
                            json.dumps({"at": _at(2000), "event": "after"})]) + "\n")
    since, until = T0.timestamp() * 1e6, (T0.timestamp() + 1) * 1e6
    assert [d["event"] for d in hops.read_audit([f], since, until)] == ["inside"]


def test_the_last_relay_report_of_a_log(tmp_path: Path) -> None:
    log = tmp_path / "relay_a.log"
    assert hops.last_relay_holds(log) is None  # no log
    log.write_text('{"relay_holds": {"delay_ms": 1}}\nsome other line\n{"relay_holds": {"delay_ms": 2}}\nbye\n')
    assert hops.last_relay_holds(log) == {"delay_ms": 2}
    log.write_text('{"relay_holds": broken\n')
    assert hops.last_relay_holds(log) is None
    log.write_text("nothing\n")
    assert hops.last_relay_holds(log) is None


def test_a_process_is_signalled_only_when_it_catches_the_signal() -> None:
    previous = signal.signal(signal.SIGUSR1, lambda *_: None)
    try:
        assert hops.catches(os.getpid(), signal.SIGUSR1)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert not hops.catches(os.getpid(), signal.SIGUSR2)  # default action: it would die of it
    assert not hops.catches(2 ** 22 + 1, signal.SIGUSR1)  # no such process


def test_the_fleet_probe_reads_the_relays_and_the_audit_of_the_phase(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    from local.roles import audit

    log = tmp_path / "relay_ap-northeast-1.log"
    reports = []

    def report(*_: Any) -> None:  # what the relay does on SIGUSR1
        reports.append(1)
        with open(log, "a") as fh:
            fh.write(json.dumps({"relay_holds": {**HOLDS["ap-northeast-1"], "n": len(reports)}}) + "\n")

    audit_file = tmp_path / "primary--coordinator-1.jsonl"
    monkeypatch.setattr(audit, "files", lambda stack: [audit_file] if stack == "local-wan" else [])
    previous = signal.signal(signal.SIGUSR1, report)
    try:
        probe = benchfleet.FleetHops("local-wan", {"ap-northeast-1": {"pid": os.getpid(), "log": str(log)}},
                                     DELAYS, "fleet-test.example", settle=0.01)
        audit_file.write_text(json.dumps({"at": _at(0), "event": "response", "request_id": "old",
                                          "duration_ms": 1.0}) + "\n")  # long before the phase
        probe.start()
        time.sleep(0.25)  # the request below: within the phase
        now_ms = (dt.datetime.now(dt.timezone.utc) - T0).total_seconds() * 1000
        with open(audit_file, "a") as fh:
            fh.write("".join(json.dumps(d) + "\n" for d in _request(
                "r1", now_ms - 200, 166.0, {"ap-northeast-1": 164.5}, {"ap-northeast-1": 3.0})))
        probe.stop()
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert len(reports) == 2  # one report to start over, one at the end of the phase
    assert probe.holds["ap-northeast-1"]["n"] == 2
    out = probe.finish(168.0, 160.0)
    assert out["requests"] == 1 and out["relay_late_ms"] == pytest.approx(0.3) and out["check_ms"] == 3.0
    assert [d["request_id"] for d in probe.lines if d["event"] == "response"] == ["r1"]


class _Probe:
    def __init__(self, hops: dict[str, Any]) -> None:
        self.calls: list[Any] = []
        self.hops = hops

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")

    def finish(self, client_p50_ms: float, bound_ms: float) -> dict[str, Any]:
        self.calls.append(("finish", client_p50_ms, bound_ms))
        return self.hops


HOPS = {"requests": 3, "deciding_region": "b", "front_ms": 1.0, "coordinator_ms": 1.1, "relay_late_ms": 0.2,
        "path_ms": 1.5, "check_ms": 2.4, "rest_ms": 0.3, "relay_set_ms": 20.0}


@pytest.mark.parametrize("hops_found", [HOPS, {}])
def test_the_phases_probe_caas_sequential_phase_and_report_the_hops(hops_found: dict[str, Any]) -> None:
    answer = json.dumps({"is_valid": True, "perspectives": [{}, {}],
                         "actual_orchestration_parameters": {"quorum_count": 2}}).encode()

    async def scenario() -> tuple[dict[str, Any], list[str]]:
        async def coordinator(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                      if line.lower().startswith(b"content-length")))
                    await reader.readexactly(length)
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(answer), answer))
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

        server = await asyncio.start_server(coordinator, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        said: list[str] = []
        scene = Scenario(target=Target(f"http://127.0.0.1:{port}", "k"), bodies={"caa": {"check_type": "caa"}},
                         roles={}, coordinator_pids=[], perspective_pids=[], faults={},
                         quorum_rtts_ms=[10.0, 20.0, 30.0], hops=_Probe(hops_found))
        report = await measure(scene, ["caa"], [1], 0.2, 0.0, said.append)
        server.close()
        assert isinstance(scene.hops, _Probe)
        return {"report": report, "calls": scene.hops.calls}, said

    result, said = asyncio.run(scenario())
    report, calls = result["report"], result["calls"]
    assert calls[:2] == ["start", "stop"]  # around the sequential phase only
    assert calls[2] == ("finish", report["caa"]["sequential"]["p50_ms"], 20.0) and len(calls) == 3
    assert report["quorum_rtt"]["hops"] == hops_found
    lines = [line for line in said if "hop by hop" in line]
    assert lines == ([("bench: over the bound, hop by hop (ms, deciding region b): front 1.0, coordinator 1.1, "
                       "relay_late 0.2, path 1.5, check 2.4, rest 0.3")] if hops_found else [])
