"""``mpic fault``: break a running local fleet on purpose (game days, fault tests), then heal it.

- ``kill-replica REGION``: SIGKILL one perspective replica of REGION (``coordinator``: one
  coordinator replica); its load balancer fails over.
- ``kill-region REGION``: SIGKILL everything in REGION (relay, HAProxy, replicas, resolver).
- ``kill-resolver REGION``: SIGKILL the region's Unbound (perspectives report DNS errors).
- ``partition REGION``: nft drops the region's backbone traffic (the coordinator times out).
- ``slow REGION MS``: add MS ms of one-way delay on the region's backbone (the WAN relay).
- ``kill-site primary|standby``: SIGKILL a coordinator site (its replicas and load balancer); the
  failover health checker moves the coordinator's name to the other site.
- ``heal``: undo all of it (restart what was killed, remove nft rules, restore delays).
"""

from __future__ import annotations

import signal

from config.errors import ConfigError
from local.engine.lifecycle import wait_all
from local.engine.proc import alive, run, signal_proc, stop
from local.engine.state import State, load_plan, load_state, locked
from local.engine.supervisor import ensure_running

NFT_TABLE = "mpic_fault"


class FaultError(ConfigError):
    """Bad fault input (exit 2): an unknown region, a delay out of range, nothing left to kill."""


def _ctx(stack: str | None):
    state = load_state(stack)
    return state, load_plan(state)


def _region(plan, code: str):
    try:
        return plan.region(code)
    except KeyError:
        raise FaultError(f"region '{code}': not in this fleet (regions: {', '.join(r.code for r in plan.regions)}"
                         "; `coordinator` for kill-replica)") from None


def _kill(state: State, names: list[str]) -> list[str]:
    killed = []
    for name in names:
        rec = state.data["processes"][name]
        if alive(rec):
            stop(rec, sig=signal.SIGKILL, timeout=2)
            killed.append(name)
        if name not in state.data["faults"]["killed"]:
            state.data["faults"]["killed"].append(name)
    state.save()
    return killed


def kill_site(stack: str | None, role: str) -> list[str]:
    """SIGKILL every process of coordinator site ``role`` (``primary`` or ``standby``)."""
    state, plan = _ctx(stack)
    sites = {site.role: site for site in plan.sites}
    if role not in sites:
        raise FaultError(f"site '{role}': this fleet has {' and '.join(sites)}"
                         + ("" if plan.standby else " (a standby site needs mpic:failover.standby: true)"))
    with locked(state.stack):
        state = State.load(state.stack)
        host = f"coordinator{sites[role].suffix}"
        return _kill(state, sorted(n for n, rec in state.data["processes"].items() if rec.get("host") == host))


def kill_replica(stack: str | None, region: str) -> str:
    """SIGKILL one coordinator replica (``coordinator``) or one perspective host of ``region`` (its
    perspective and its resolver); return what went down."""
    state, plan = _ctx(stack)
    with locked(state.stack):
        state = State.load(state.stack)
        procs = state.data["processes"]
        if region == "coordinator":
            live = [n for n in procs if n.startswith("coordinator#") and alive(procs[n])]
            if not live:
                raise FaultError("coordinator: no replica left running (run `mpic fault heal`)")
            _kill(state, [live[0]])
            return live[0]
        hosts = [h.name for h in _region(plan, region).replicas
                 if any(alive(r) for r in procs.values() if r.get("host") == h.name and r["role"] == "perspective")]
        if not hosts:
            raise FaultError(f"{region}: no perspective host left running (run `mpic fault heal`)")
        _kill(state, [n for n, r in procs.items() if r.get("host") == hosts[0]])
        return hosts[0]


def kill_region(stack: str | None, region: str) -> list[str]:
    state, plan = _ctx(stack)
    _region(plan, region)
    with locked(state.stack):
        state = State.load(state.stack)
        names = [n for n, r in state.data["processes"].items() if r.get("region") == region]
        return _kill(state, names)


def kill_resolver(stack: str | None, region: str) -> list[str]:
    """SIGKILL the resolver of every perspective host of ``region``."""
    state, plan = _ctx(stack)
    r = _region(plan, region)
    with locked(state.stack):
        state = State.load(state.stack)
        return _kill(state, [f"unbound@{h.name}" for h in r.replicas])


def partition(stack: str | None, region: str) -> None:
    state, plan = _ctx(stack)
    r = _region(plan, region)
    rules = (f"table inet {NFT_TABLE} {{\n"
             f"  chain input {{ type filter hook input priority -10; policy accept; iifname \"bb0\" drop; }}\n"
             f"  chain output {{ type filter hook output priority -10; policy accept; oifname \"bb0\" drop; }}\n"
             "}\n")
    run(["nft", "-f", "-"], netns=r.netns, input=rules)
    with locked(state.stack):
        state = State.load(state.stack)
        if region not in state.data["faults"]["partitioned"]:
            state.data["faults"]["partitioned"].append(region)
        state.save()


def slow(stack: str | None, region: str, ms: float) -> float:
    """Add ``ms`` of one-way delay on top of the region's WAN delay; return the new total."""
    if ms < 0 or ms > 60000:
        raise FaultError(f"slow: {ms} ms: give 0..60000")
    state, plan = _ctx(stack)
    r = _region(plan, region)
    total = r.delay_ms + ms
    _set_delay(state, r, total)
    with locked(state.stack):
        state = State.load(state.stack)
        state.data["faults"]["slow"][region] = ms
        state.save()
    return total


def _set_delay(state: State, r, total: float) -> None:
    f = state.workdir / "regions" / r.code / "delay_ms"
    f.write_text(f"{total}\n")
    rec = state.data["processes"].get(f"relay@{r.code}")
    if rec:
        signal_proc(rec, signal.SIGHUP)


def heal(stack: str | None, wait: bool = True) -> dict[str, list[str]]:
    """Restart every dead fleet process, drop nft fault rules, restore WAN delays."""
    state, plan = _ctx(stack)
    with locked(state.stack):
        state = State.load(state.stack)
        for r in plan.regions:
            run(["nft", "delete", "table", "inet", NFT_TABLE], netns=r.netns, check=False)
            _set_delay(state, r, r.delay_ms)
        done = {"partitioned": list(state.data["faults"]["partitioned"]),
                "slow": sorted(state.data["faults"]["slow"])}
        state.data["faults"] = {"killed": [], "partitioned": [], "slow": {}}
        state.save()
    done["restarted"] = ensure_running(state)
    if wait:
        state = State.load(state.stack)
        wait_all(state, plan)
    return done


def active(stack: str | None) -> dict:
    state, _ = _ctx(stack)
    return state.data["faults"]
