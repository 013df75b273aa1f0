"""The phases of ``mpic bench`` and the JSON report they fill (same for loopback and the local fleet).

Per method: sequential requests for ``duration`` seconds, then each concurrency level for
``duration`` seconds with the CPU time of every runtime process read from ``/proc`` before and
after. The CAA method's highest level is *the* burst: resident memory is read right after it, and
the measured coordinator then idles until ``idle`` seconds after the burst, when its memory is
read again. Meanwhile (loopback) the other methods run on a spare coordinator of the same
perspectives, then the latency with one perspective hung and with one partitioned (CAA,
sequential: early quorum answers without it) on coordinators reaching a faulty peer. Without a
spare coordinator (the local fleet) the other methods run before CAA. Every figure carries the
machine's load average.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Protocol

from bench.load import BenchError, CpuMeter, Samples, Target, latency_ms, loadavg, one_request, rss_mib, run_phase
from bench.sched import line as sched_line

SCHEMA = 1
RUNTIME_ROLES = ("coordinator", "perspectives")
"""The roles whose CPU time is the runtime's cost of a request (Knot, resolvers, load balancers apart)."""
FaultFactory = Callable[[], contextlib.AbstractAsyncContextManager[Target]]
HOPS_OVER_BOUND = ("front_ms", "coordinator_ms", "relay_late_ms", "path_ms", "check_ms", "rest_ms")
"""The parts of the WAN p50 over the quorum-RTT bound (bench.hops), in the order of the path."""


class HopProbe(Protocol):
    """What the fleet records around CAA's sequential phase, for the hop table (:mod:`bench.hops`)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def finish(self, client_p50_ms: float, bound_ms: float) -> dict[str, Any]: ...


@dataclass
class Scenario:
    """What one bench run measures: the coordinator's target, the request of each method, the PIDs
    of each role (CPU), the processes whose memory is reported and the two perspective faults."""

    target: Target
    bodies: dict[str, dict[str, Any]]
    roles: dict[str, list[int]]
    coordinator_pids: list[int]
    perspective_pids: list[int]
    faults: dict[str, FaultFactory]
    quorum_rtts_ms: list[float] | None = None
    """Emulated round trips of the perspectives (local fleet with ``mpic:wanDelay``), else None."""
    cohort: int = 5
    """Perspectives that check each request (the perspectives' CPU per check divides by it)."""
    spare: tuple[Target, dict[str, list[int]]] | None = None
    """Another coordinator on the same perspectives (target, roles): the other methods run there
    after the burst, while the measured coordinator idles. None: they run first, on ``target``."""
    info: dict[str, Any] = field(default_factory=dict)
    hops: HopProbe | None = None
    """The local fleet with WAN delay: where CAA's sequential time goes beyond the bound, hop by hop."""


def _max_rss(pids: list[int]) -> float:
    return max((rss_mib(pid) for pid in pids), default=0.0)


def _rounded(value: float, places: int = 2) -> float:
    return round(value, places)


def concurrency_figures(samples: Samples, perspectives: int) -> dict[str, Any]:
    """rps, latency and CPU per request (total of the runtime roles, and by role) of one phase."""
    n = len(samples.latencies)
    per = {role: seconds * 1000 / n if n else 0.0 for role, seconds in samples.cpu.items()}
    runtime = sum(per.get(role, 0.0) for role in RUNTIME_ROLES)
    by_role = {role: _rounded(v, 3) for role, v in per.items()}
    if perspectives:
        by_role["perspective_per_check"] = _rounded(per.get("perspectives", 0.0) / perspectives, 3)
    return {"rps": _rounded(n / samples.elapsed if samples.elapsed else 0.0, 1), **latency_ms(samples),
            "cpu_ms_per_request": _rounded(runtime, 3), "cpu_ms_per_request_by_role": by_role,
            "requests": n, "failures": samples.failures, "loadavg": loadavg()}


def _check(samples: Samples, what: str, say: Callable[[str], None]) -> None:
    """A phase without any answer is an error; failed answers are counted (``failures``) and shown:
    an overloaded machine answers some requests invalid (perspective timeouts), which is a figure too."""
    if not samples.latencies:
        raise BenchError(f"{what}: no request finished within the phase; give a longer --duration")
    if samples.failures:
        say(f"bench: {what}: {samples.failures} of {len(samples.latencies)} answers not valid; first: "
            f"{samples.first_failure[:200]}")


async def check_setup(scenario: Scenario) -> None:
    """One request per method must be answered 200 with ``is_valid: true`` before anything is timed
    (its perspectives are the cohort size)."""
    for method, body in scenario.bodies.items():
        status, answer = await one_request(scenario.target, body)
        if status != 200 or not isinstance(answer, dict) or answer.get("is_valid") is not True:
            raise BenchError(f"{method}: the setup request was not valid: HTTP {status}: {str(answer)[:500]}")
        scenario.cohort = len(answer.get("perspectives") or []) or scenario.cohort


async def method_phases(scenario: Scenario, method: str, levels: list[int], duration: float,
                        say: Callable[[str], None], spare: bool = False) -> dict[str, Any]:
    body, target, roles = scenario.bodies[method], scenario.target, scenario.roles
    if spare and scenario.spare is not None:
        target, roles = scenario.spare
    probe = scenario.hops if method == "caa" and not spare else None
    if probe is not None:
        probe.start()
    try:
        seq = await run_phase(target, body, 1, duration, warmup=3)
    finally:  # a failed or interrupted phase stops what the probe started too
        if probe is not None:
            probe.stop()
    _check(seq, f"{method} sequential", say)
    out: dict[str, Any] = {"sequential": {**latency_ms(seq), "requests": len(seq.latencies),
                                          "failures": seq.failures, "loadavg": loadavg()},
                           "concurrency": {}}
    say(f"bench: {method} sequential p50 {out['sequential']['p50_ms']} ms, p99 {out['sequential']['p99_ms']} ms")
    meter = CpuMeter(roles)
    for level in levels:
        samples = await run_phase(target, body, level, duration, warmup=2, meter=meter)
        _check(samples, f"{method} concurrency {level}", say)
        figures = out["concurrency"][str(level)] = concurrency_figures(samples, scenario.cohort)
        say(f"bench: {method} c={level}: {figures['rps']} req/s, p50 {figures['p50_ms']} ms, p99 "
            f"{figures['p99_ms']} ms, {figures['cpu_ms_per_request']} ms CPU per request")
    return out


async def fault_phase(scenario: Scenario, name: str, duration: float, healthy_p99: float,
                      say: Callable[[str], None]) -> dict[str, Any]:
    async with scenario.faults[name]() as target:
        samples = await run_phase(target, scenario.bodies["caa"], 1, duration, warmup=3)
    _check(samples, name, say)
    figures = {**latency_ms(samples), "requests": len(samples.latencies), "failures": samples.failures,
               "loadavg": loadavg()}
    figures["p99_added_ms"] = _rounded(figures["p99_ms"] - healthy_p99)
    say(f"bench: {name.replace('_', ' ')}: p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms "
        f"({figures['p99_added_ms']:+} ms over healthy)")
    return figures


def quorum_rtt(rtts_ms: list[float], quorum: int, p50_ms: float) -> dict[str, Any]:
    """The WAN figure: p50 against the quorum-th smallest emulated round trip (no answer can
    reach a quorum sooner)."""
    ordered = sorted(rtts_ms)
    bound = ordered[min(quorum, len(ordered)) - 1]
    return {"rtts_ms": ordered, "quorum": quorum, "bound_ms": _rounded(bound), "p50_ms": p50_ms,
            "p50_over_bound_ms": _rounded(p50_ms - bound)}


async def measure(scenario: Scenario, methods: list[str], levels: list[int], duration: float, idle: float,
                  say: Callable[[str], None]) -> dict[str, Any]:
    """Run every phase; the report (see docs/performance.md for its keys)."""
    await check_setup(scenario)
    report: dict[str, Any] = {"schema": SCHEMA, **scenario.info,
                              "settings": {"duration_s": duration, "concurrency": levels, "idle_s": idle,
                                           "methods": methods}, "loadavg_start": loadavg()}
    rss: dict[str, Any] = {"coordinator_start": _max_rss(scenario.coordinator_pids),
                           "perspective_start": _max_rss(scenario.perspective_pids)}
    others = [m for m in methods if m != "caa"]
    if scenario.spare is None:  # the burst (caa's top level) comes last: nothing runs on it afterwards
        for method in others:
            report[method] = await method_phases(scenario, method, levels, duration, say)
    if "caa" in methods:
        report["caa"] = await method_phases(scenario, "caa", levels, duration, say)
    burst_end = time.monotonic()
    rss.update(coordinator_after_burst=_max_rss(scenario.coordinator_pids),
               perspective_after_burst=_max_rss(scenario.perspective_pids), burst_concurrency=max(levels))
    say(f"bench: RSS after the c={max(levels)} burst: coordinator {rss['coordinator_after_burst']} MiB, "
        f"perspective {rss['perspective_after_burst']} MiB")
    if scenario.spare is not None:  # while the measured coordinator idles
        for method in others:
            report[method] = await method_phases(scenario, method, levels, duration, say, spare=True)
    if "caa" in methods:
        healthy = report["caa"]["sequential"]["p99_ms"]
        for name in scenario.faults:
            report[name] = await fault_phase(scenario, name, duration, healthy, say)
        if scenario.quorum_rtts_ms:
            status, answer = await one_request(scenario.target, scenario.bodies["caa"])
            quorum = int(answer["actual_orchestration_parameters"]["quorum_count"]) if status == 200 else 0
            report["quorum_rtt"] = quorum_rtt(scenario.quorum_rtts_ms, quorum, report["caa"]["sequential"]["p50_ms"])
            if scenario.hops is not None:
                hops = report["quorum_rtt"]["hops"] = scenario.hops.finish(
                    report["caa"]["sequential"]["p50_ms"], report["quorum_rtt"]["bound_ms"])
                if hops:
                    parts = ", ".join(f"{k.removesuffix('_ms')} {hops[k]}" for k in HOPS_OVER_BOUND)
                    say(f"bench: over the bound, hop by hop (ms, deciding region {hops['deciding_region']}): {parts}")
                if "critical_path" in hops:
                    say(sched_line(hops["critical_path"]))
    samples: list[list[float]] = []
    while True:
        waited = time.monotonic() - burst_end
        samples.append([_rounded(waited, 1), _max_rss(scenario.coordinator_pids)])
        if waited >= idle:
            break
        await asyncio.sleep(min(5.0, idle - waited))
    rss.update(coordinator_after_idle=samples[-1][1], idle_samples=samples)
    say(f"bench: coordinator RSS after {samples[-1][0]:.0f} s idle: {rss['coordinator_after_idle']} MiB")
    report["rss_mib"] = rss
    report["loadavg_end"] = loadavg()
    return report


@contextlib.asynccontextmanager
async def fixed_target(target: Target) -> AsyncIterator[Target]:
    """A fault that needs no action: ``target`` already reaches a faulty perspective."""
    yield target
