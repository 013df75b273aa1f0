"""The local fleet's coordinator sites (the primary, and the standby with ``mpic:failover.standby``):
each its replicas behind HAProxy on a host link of its own.

Settings come from the one renderer (:mod:`plan.runtime`), local placement: replicas on the
namespace's loopback (plain HTTP) behind HAProxy, which terminates TLS on the site's URL; API keys
and hash secret inline in a 0600 file of the runtime's user (``mpic``), in each replica's own
folder (:mod:`local.engine.private`) with its client key. Both sites get the same
keys, perspectives and settings, as aws-hosts' two coordinator regions do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from config.model import StackConfig
from local.roles import audit, lb
from local.engine import netns, private
from local.actions.client import api_request, curl
from local.engine.state import State
from local.engine.supervisor import start_process, wait_for
from plan import runtime
from plan.local import FleetPlan, SitePlan
from plan.privileges import RUNTIME_USER

INTERNAL_PORT_OFFSET = 1000
"""A replica's internal listener (``/healthz``, ``/metrics``) is its port + 1000, on loopback."""


def client_tls(state: State, name: str, pki: dict) -> dict[str, str]:
    """The coordinator's client certificate, key (0600 ``mpic``) and the kit CA, placed in process
    ``name``'s own folder (:mod:`local.engine.private`)."""
    return {"cert": private.place(state, name, "client.crt", "root", 0o644, source=pki["client"][0]),
            "key": private.place(state, name, "client.key", RUNTIME_USER, 0o600, source=pki["client"][1]),
            "ca": private.place(state, name, "ca.crt", "root", 0o644, source=pki["ca"])}


def fleet_coordinator_settings(state: State, plan: FleetPlan, port: int, pki: dict, cfg: StackConfig,
                               name: str, site: SitePlan | None = None) -> dict[str, Any]:
    """The settings of coordinator replica ``name`` of ``site`` (default the primary; local placement)."""
    site = site or plan.sites[0]
    return runtime.coordinator_settings(
        cfg, listen_host="127.0.0.1", listen_port=port,
        perspectives=[{"code": r.code, "rir": r.rir, "url": r.url} for r in plan.regions],
        client_tls=client_tls(state, name, pki),
        api_keys=[state.data["api_key"]], hash_secret=state.data["hash_secret"],
        log_level="INFO",
        internal_listen=("127.0.0.1", port + INTERNAL_PORT_OFFSET),
        audit=audit.placement(state, name, site.role, replica_name(site, port))[0])


def replica_name(site: SitePlan, port: int) -> str:
    """A coordinator replica's name in its audit lines: ``coordinator-1``, ``coordinator-2``..."""
    return f"coordinator-{site.replica_ports.index(port) + 1}"


def start_coordinator(state: State, plan: FleetPlan, pki: dict, cfg: StackConfig, site: SitePlan) -> None:
    """Start the replicas of coordinator site ``site`` and its load balancer."""
    cdir = state.workdir / f"coordinator{site.suffix}"
    cdir.mkdir(parents=True, exist_ok=True)
    netns.write_resolv_conf(state, site.netns, "127.0.0.1")
    for j, port in enumerate(site.replica_ports):
        name = f"coordinator{site.suffix}#{j + 1}"
        sfile = private.place(state, name, "settings.yaml", RUNTIME_USER, 0o600,  # the API keys and the hash secret
                              text=yaml.safe_dump(fleet_coordinator_settings(state, plan, port, pki, cfg, name, site)))
        start_process(state, name, [state.data["runtime_python"], "-m", "service", "coordinator", "--settings", sfile],
                      site.netns, "coordinator", runtime=True, host=f"coordinator{site.suffix}", setuid=True,
                      own_folder=True, binds=(audit.placement(state, name, site.role, replica_name(site, port))[1],))
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
