"""``mpic bench --fleet STACK``: the same phases against the running local fleet (``mpic up``).

Requests go to the fleet's coordinator URL (HAProxy, TLS, the fleet's CA and API key); CPU and
memory come from the processes the fleet recorded (``perspective@...`` and ``coordinator#...``);
the hung perspective is ``mpic fault slow REGION`` beyond the perspective timeout and the
partitioned one ``mpic fault partition REGION`` (the fleet's own nft rules, inside its region's
namespace), both healed afterwards, on the region farthest away (so the quorum-RTT bound is
unchanged). With ``mpic:wanDelay`` the report adds the quorum-RTT bound: the quorum-th smallest
emulated round trip (2 x each region's one-way delay), below which no answer can be decided.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from bench import hops
from bench.load import BenchError, Target, run_client
from bench.sched import SchedProbe
from bench.phases import Scenario, measure
from config.errors import ConfigError

HUNG_MS = 60000
"""``mpic fault slow``: one-way delay that keeps a region from answering within any perspective timeout."""


_ANY_REGION = object()


def _pids(processes: dict[str, Any], role: str, region: Any = _ANY_REGION) -> list[int]:
    """The pids of ``role``'s processes; with ``region``, only that region's (None: the primary site's)."""
    return [rec["pid"] for rec in processes.values()
            if rec.get("role") == role and (region is _ANY_REGION or rec.get("region") == region)]


class FleetHops:
    """The hop probe of the running fleet: each WAN relay's report (SIGUSR1) and the audit lines
    of the phase (:mod:`bench.hops`)."""

    def __init__(self, stack: str, relays: dict[str, dict[str, Any]], delays_ms: dict[str, float], target: str,
                 settle: float = 0.3, sched: SchedProbe | None = None):
        self.stack, self.relays, self.delays_ms, self.target, self.settle = stack, relays, delays_ms, target, settle
        self.sched = sched
        """``--sched``: the scheduler's record of the phase as well (:mod:`bench.sched`)."""
        self.since = self.until = 0.0
        self.holds: dict[str, dict[str, Any]] = {}
        self.lines: list[dict[str, Any]] = []

    def _report(self) -> None:
        """Each relay writes its holds since its last report to its log (and starts over)."""
        for rec in self.relays.values():
            if hops.catches(rec["pid"], signal.SIGUSR1):
                os.kill(rec["pid"], signal.SIGUSR1)
        time.sleep(self.settle)

    def start(self) -> None:
        self._report()
        if self.sched is not None:
            self.sched.start()
        self.since = time.time() * 1e6

    def stop(self) -> None:
        from local.roles import audit

        self.until = time.time() * 1e6
        if self.sched is not None:
            self.sched.stop()
        self._report()
        self.holds = {region: h for region, rec in self.relays.items()
                      if (h := hops.last_relay_holds(Path(rec["log"]))) is not None}
        self.lines = hops.read_audit(audit.files(self.stack), self.since, self.until)

    def finish(self, client_p50_ms: float, bound_ms: float) -> dict[str, Any]:
        table = hops.breakdown(self.lines, self.delays_ms, client_p50_ms, bound_ms, self.holds, self.target)
        if self.sched is not None and table:
            region = table["deciding_region"]
            path = self.sched.finish(region, self.delays_ms[region])
            if path:
                table["critical_path"] = path
        return table


def sched_probe(processes: dict[str, Any]) -> SchedProbe:
    """``--sched``'s probe of the fleet's processes (:mod:`bench.sched`'s roles)."""
    regions = {rec["region"] for rec in processes.values() if rec.get("role") == "wan" and rec.get("region")}
    in_region = (("relay", "wan"), ("lb", "lb"), ("perspective", "perspective"), ("resolver", "resolver"))
    return SchedProbe(
        {"coordinator": _pids(processes, "coordinator"), "front_lb": _pids(processes, "lb", None),
         "dns": _pids(processes, "dns")},
        {region: {role: _pids(processes, kind, region) for role, kind in in_region} for region in regions})


def fleet_scenario(stack: str | None, sched: bool = False) -> tuple[Scenario, Callable[[], None]]:
    """The scenario of the running fleet and a cleanup (removes the dns-change record); ``sched``:
    the hop table gets the scheduler's critical path too (needs ``mpic:wanDelay``)."""
    from local.actions import challenges, faults
    from local.engine import lifecycle
    from local.errors import require_root
    from local.engine.state import load_plan, load_state

    require_root()
    status = lifecycle.status(stack)
    state = load_state(stack)
    plan = load_plan(state)
    processes = state.data["processes"]
    if sched and not plan.wan_delay:
        raise ConfigError(f"--sched splits the time over the WAN bound; stack {state.stack} has no WAN delay "
                          "(mpic:wanDelay): use --fleet local-wan", key="--sched", value=state.stack,
                          fix="--fleet local-wan")
    probe = sched_probe(processes) if sched else None
    value = secrets.token_hex(16)
    name = f"_mpic-bench.{plan.test_domain}"
    challenges.set_txt(state.stack, name, value, record=False)
    farthest = max(plan.regions, key=lambda r: r.delay_ms).code

    def fault(apply: Callable[[], Any]) -> Callable[[], contextlib.AbstractAsyncContextManager[Target]]:
        @contextlib.asynccontextmanager
        async def active() -> AsyncIterator[Target]:
            apply()
            try:
                yield target
            finally:
                faults.heal(state.stack)
        return active

    target = Target(status["coordinator_url"], status["api_key"], status["ca_cert"], status.get("client_resolver"))
    roles = {"coordinator": _pids(processes, "coordinator"), "perspectives": _pids(processes, "perspective"),
             "resolvers": _pids(processes, "resolver"), "load_balancers": _pids(processes, "lb"),
             "wan_relays": _pids(processes, "wan"), "dns": _pids(processes, "dns")}
    scenario = Scenario(
        target=target,
        bodies={"caa": {"check_type": "caa", "domain_or_ip_target": plan.test_domain},
                "dns-change": {"check_type": "dcv", "domain_or_ip_target": plan.test_domain, "dcv_check_parameters": {
                    "validation_method": "dns-change", "dns_name_prefix": "_mpic-bench", "dns_record_type": "TXT",
                    "challenge_value": value}}},
        roles=roles, coordinator_pids=roles["coordinator"], perspective_pids=roles["perspectives"],
        faults={"hung_perspective": fault(lambda: faults.slow(state.stack, farthest, HUNG_MS)),
                "partitioned_perspective": fault(lambda: faults.partition(state.stack, farthest))},
        quorum_rtts_ms=[2 * r.delay_ms for r in plan.regions] if plan.wan_delay else None,
        hops=FleetHops(state.stack, {r.code: processes[f"relay@{r.code}"] for r in plan.regions
                                     if f"relay@{r.code}" in processes},
                       {r.code: r.delay_ms for r in plan.regions}, plan.test_domain,
                       sched=probe) if plan.wan_delay else None,
        info={"target": f"fleet:{state.stack}", "runtime": {"wheelhouse_sha256": state.data.get("runtime", "")},
              "faulty_region": farthest, "perspectives_per_region": len(plan.regions[0].replicas)})

    def cleanup() -> None:
        challenges.unset(state.stack, name, "TXT", record=False)

    return scenario, cleanup


def fleet_report(stack: str, methods: list[str], levels: list[int], duration: float, idle: float,
                 say: Callable[[str], None], sched: bool = False) -> dict[str, Any]:
    scenario, cleanup = fleet_scenario(stack, sched)
    try:
        scenario.bodies = {m: scenario.bodies[m] for m in methods}
        return run_client(measure(scenario, methods, levels, duration, idle, say))
    except OSError as exc:
        raise BenchError(f"the fleet's coordinator {scenario.target.url}: {exc}") from None
    finally:
        cleanup()
