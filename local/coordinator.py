"""The local fleet's coordinator sites (the primary, and the standby with ``mpic:failover.standby``):
each its replicas behind HAProxy on a host link of its own.

Settings come from the one renderer (:mod:`plan.runtime`), local placement: replicas on the
namespace's loopback (plain HTTP) behind HAProxy, which terminates TLS on the site's URL; API keys
and hash secret inline in a 0600 file of the runtime's user, as they run (``mpic``). Both sites get the same
keys, perspectives and settings, as aws-hosts' two coordinator regions do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from config.model import StackConfig
from local import lb, netns
from local.client import api_request, curl
from local.state import State
from local.supervisor import audit_file, start_process, wait_for
from local.users import own
from plan import runtime
from plan.local import FleetPlan, SitePlan
from plan.privileges import RUNTIME_USER

INTERNAL_PORT_OFFSET = 1000
"""A replica's internal listener (``/healthz``, ``/metrics``) is its port + 1000, on loopback."""


def coordinator_settings(state: State, plan: FleetPlan, port: int, pki: dict, cfg: StackConfig) -> dict[str, Any]:
    """The settings of one coordinator replica (local placement)."""
    return runtime.coordinator_settings(
        cfg, listen_host="127.0.0.1", listen_port=port,
        perspectives=[{"code": r.code, "rir": r.rir, "url": r.url} for r in plan.regions],
        client_tls={"cert": pki["client"][0], "key": pki["client"][1], "ca": pki["ca"]},
        api_keys=[state.data["api_key"]], hash_secret=state.data["hash_secret"],
        log_level="INFO",
        internal_listen=("127.0.0.1", port + INTERNAL_PORT_OFFSET),
        audit_log=audit_file(state, f"audit-coordinator-{port}.jsonl"))


def start_coordinator(state: State, plan: FleetPlan, pki: dict, cfg: StackConfig, site: SitePlan) -> None:
    """Start the replicas of coordinator site ``site`` and its load balancer."""
    cdir = state.workdir / f"coordinator{site.suffix}"
    cdir.mkdir(parents=True, exist_ok=True)
    netns.write_resolv_conf(state, site.netns, "127.0.0.1")
    for j, port in enumerate(site.replica_ports):
        sfile = cdir / f"coordinator-{j + 1}.yaml"
        sfile.write_text(yaml.safe_dump(coordinator_settings(state, plan, port, pki, cfg)))
        own(sfile, RUNTIME_USER, 0o600)  # the API keys and the hash secret
        start_process(state, f"coordinator{site.suffix}#{j + 1}",
                      [state.data["runtime_python"], "-m", "service", "coordinator", "--settings", str(sfile)],
                      site.netns, "coordinator", runtime=True, host=f"coordinator{site.suffix}", setuid=True)
    hconf = cdir / "haproxy.cfg"
    hconf.write_text(lb.coordinator_haproxy(site, tls_pem=Path(pki["coordinator_lb_pem"]), sock=cdir / "haproxy.sock",
                                            internal_offset=INTERNAL_PORT_OFFSET))
    start_process(state, f"haproxy@coordinator{site.suffix}", ["haproxy", "-db", "-f", str(hconf)], site.netns, "lb",
                  host=f"coordinator{site.suffix}")


def api_get(state: State, site: SitePlan, path: str) -> tuple[int, Any]:
    """GET ``path`` on a site's URL from the host (through its load balancer)."""
    return api_request(site.url, state.data["ca_cert"], path=path, timeout=5)


def wait_coordinator(state: State, site: SitePlan, timeout: float = 60) -> None:
    """Every replica of ``site`` answers /healthz, and its load balancer /readyz."""
    procs = state.data["processes"]
    for j, port in enumerate(site.replica_ports):
        internal = f"http://127.0.0.1:{port + INTERNAL_PORT_OFFSET}/healthz"
        wait_for(lambda url=internal: curl(site.netns, url, timeout=2)[0] == 200,
                 timeout, f"coordinator{site.suffix} replica {j + 1}", procs[f"coordinator{site.suffix}#{j + 1}"])
    wait_for(lambda: api_get(state, site, "/readyz")[0] == 200, 30, f"coordinator{site.suffix} load balancer "
             "(/readyz: a quorum of perspectives in >= 2 RIRs answers)", procs[f"haproxy@coordinator{site.suffix}"])
