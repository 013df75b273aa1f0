"""The local fleet's coordinator failover (``mpic:failover.standby``), the way the cloud does it.

The coordinator's public name (``mpic.<testDomain>``) is a record in the fleet's Knot with the
plan's TTL; the health checker (:mod:`local.daemons.healthcheck`, Route53's rules, the parameters of
:mod:`plan.failover` that aws-hosts and k8s give Route53) points it at the primary site or the
standby. Clients resolve the name through the fleet's client resolver: an Unbound on the host's
end of the DNS admin link that forwards to Knot, validates from the fake root and caches for the
record's TTL, as a CA's own resolver does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from config.model import StackConfig
from local.actions.client import resolve
from local.errors import FleetError
from local.engine.state import State
from local.engine.supervisor import Progress, python, start_process, wait_for
from plan.dnsnames import zone_for_name
from plan.failover import plan_failover
from plan.local import FleetPlan
from plan.privileges import PROCESS_USERS
from plan.resolver import UnboundPlacement, unbound_conf


def folder(state: State) -> Path:
    return state.workdir / "failover"


def client_resolver_conf(d: Path, plan: FleetPlan, root_ksk: list[str]) -> str:
    """The client resolver: answers the host only, forwards everything to Knot, validates, caches."""
    (d / "root.key").write_text("".join(f"{k}\n" for k in root_ksk))
    placement = UnboundPlacement(
        interfaces=(f"{plan.dns_admin_host_ip}@53",), allow=(f"{plan.dns_admin_host_ip}/32", "127.0.0.0/8"),
        foreground_dir=str(d), trust_anchor_file=str(d / "root.key"), username=PROCESS_USERS["resolver"],
        extra=("do-not-query-localhost: no", 'module-config: "validator iterator"',
               'local-zone: "test." nodefault', 'local-zone: "invalid." nodefault'))
    return unbound_conf(placement) + f'forward-zone:\n    name: "."\n    forward-addr: {plan.dns_admin_ip}\n'


def initial_records(plan: FleetPlan, cfg: StackConfig) -> tuple[tuple[str, int, str, str], ...]:
    """The coordinator's name in the test domain's zone from the start, answering with the primary
    (a Route53 failover record exists before its first health check): clients resolve it as soon as
    the fleet serves, and the health checker rewrites it only on a switch."""
    if plan.standby is None or plan.coordinator_name is None:
        return ()
    return ((plan.coordinator_name, plan_failover(cfg, plan.coordinator_name).ttl_s, "A", plan.sites[0].ip),)


def start_resolver(state: State, plan: FleetPlan, root_ksk: list[str]) -> None:
    """The client resolver (nothing without a standby site): it needs only Knot, so it starts with
    the regions' resolvers and is waited for by :func:`start`."""
    if plan.standby is None or plan.coordinator_name is None:
        return
    d = folder(state)
    d.mkdir(parents=True, exist_ok=True)
    conf = d / "unbound.conf"
    conf.write_text(client_resolver_conf(d, plan, root_ksk))
    start_process(state, "unbound@client", ["unbound", "-d", "-c", str(conf)], None, "resolver")


def start(state: State, plan: FleetPlan, cfg: StackConfig, say: Progress) -> None:
    """The health checker, once the coordinators serve; then waits for the name through the client
    resolver (:func:`start_resolver` started it) and for the checker's first report (``mpic status``
    shows the sites from the moment ``up`` returns)."""
    if plan.standby is None or plan.coordinator_name is None:
        return
    fp = plan_failover(cfg, plan.coordinator_name)
    zone = zone_for_name(fp.name, state.data["zones"])
    if zone is None:  # pragma: no cover - the name is under the test domain, always served
        raise FleetError(f"{fp.name}: in no zone the fleet serves")
    d = folder(state)
    config = {"name": fp.name, "zone": zone, "ttl": fp.ttl_s, "interval": fp.interval_s,
              "threshold": fp.failure_threshold, "timeout": fp.timeout_s, "path": fp.path, "ca": state.data["ca_cert"],
              "knot_workdir": str(state.workdir), "status": str(d / "status.json"),
              "sites": [{"role": s.role, "url": s.url, "ip": s.ip} for s in plan.sites]}
    (d / "healthcheck.json").write_text(json.dumps(config, indent=1))
    (d / "status.json").unlink(missing_ok=True)
    checker = start_process(state, "healthcheck", [python(), "-m", "local.daemons.healthcheck", "--config",
                                                   str(d / "healthcheck.json")], None, "failover")
    wait_for(lambda: _resolves(plan), 20, f"{fp.name} through the client resolver {plan.dns_admin_host_ip}",
             state.data["processes"]["unbound@client"])
    wait_for(lambda: report(state) is not None, 20, "the failover health checker's first check of every site",
             checker)
    say(f"failover: {fp.name} -> primary {plan.sites[0].ip} (TTL {fp.ttl_s} s); health checks of /readyz every "
        f"{fp.interval_s} s, {fp.failure_threshold} to switch: failover within {fp.failover_s} s; "
        f"clients resolve through {plan.dns_admin_host_ip}")


def _resolves(plan: FleetPlan) -> bool:
    try:
        return resolve(plan.coordinator_name or "", plan.dns_admin_host_ip) in {s.ip for s in plan.sites}
    except OSError:
        return False


def report(state: State) -> dict[str, Any] | None:
    """The health checker's view: ``{name, active, sites: {role: {healthy, ...}}, switches}``."""
    try:
        return json.loads((folder(state) / "status.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
