"""One perspective region of the local fleet: its perspective hosts behind its load balancer host.

Like a cloud region: every perspective host (a namespace) runs one perspective and its own Unbound
and sends its validation traffic out of its own uplink; the load balancer host runs HAProxy (TLS
passthrough, health checks on each host's ``/readyz``) and the WAN relay the coordinator reaches
it through. Settings come from the one renderer (:mod:`plan.runtime`), local placement: the
perspective listens on its LAN address, TLS files from the fleet's kit CA, its host's Unbound.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from config.model import StackConfig
from local.roles import audit, lb
from local.internet import dns
from local.engine import netns, private
from local.actions.client import curl
from local.engine.state import State
from local.engine.supervisor import python, start_process, wait_for
from plan import runtime
from plan.local import FleetPlan, RegionPlan, ReplicaPlan
from plan.privileges import PROCESS_USERS


def fleet_perspective_settings(state: State, plan: FleetPlan, cfg: StackConfig, region: RegionPlan,
                               host: ReplicaPlan, pki: dict) -> dict[str, Any]:
    """The settings of the perspective on ``host`` (local placement), its TLS files placed in its
    own folder (:mod:`local.engine.private`: the region's key, 0600 ``mpic``; the kit CA and the
    mini-internet's web CA). Its checks may reach the mini-internet's host only (its web server
    and its TLS-ALPN responder): every other private address stays refused, as in the cloud."""
    rp, name, user = pki["regions"][region.code], perspective_name(host), PROCESS_USERS["perspective"]
    tls = {"cert": private.place(state, name, "tls.crt", "root", 0o644, source=rp["cert"]),
           "key": private.place(state, name, "tls.key", user, 0o600, source=rp["key"]),
           "client_ca": private.place(state, name, "ca.crt", "root", 0o644, source=pki["ca"])}
    return runtime.perspective_settings(
        cfg, region.code, region.rir, listen_host=host.lan_ip, listen_port=host.port, tls=tls,
        resolver={"nameservers": ["127.0.0.1"], "port": 53, "timeout": 2.0, "lifetime": 4.0},
        verify_ssl=True, http_ca_file=private.place(state, name, "web-ca.crt", "root", 0o644, source=pki["web_ca"]),
        http_timeout=5.0, log_level="INFO", audit=audit.placement(state, name, region.code, host.name)[0],
        allowed_reserved_networks=[f"{plan.internet_ip}/32", f"{plan.alpn_ip}/32"])


def start_perspective(state: State, plan: FleetPlan, cfg: StackConfig, region: RegionPlan, host: ReplicaPlan,
                      pki: dict) -> None:
    """The perspective of one host (beside its resolver)."""
    name = perspective_name(host)
    sfile = private.place(state, name, "settings.yaml", PROCESS_USERS["perspective"], 0o600,
                          text=yaml.safe_dump(fleet_perspective_settings(state, plan, cfg, region, host, pki)))
    start_process(state, name, [state.data["runtime_python"], "-m", "service", "perspective", "--settings", sfile],
                  host.netns, "perspective", region.code, runtime=True, host=host.name, setuid=True, own_folder=True,
                  binds=(audit.placement(state, name, region.code, host.name)[1],))


def perspective_name(host: ReplicaPlan) -> str:
    """The fleet process name of the perspective on ``host``."""
    return f"perspective@{host.name}"


def start_resolvers(state: State, plan: FleetPlan, region: RegionPlan, root_ksk: list[str]) -> None:
    """Start the Unbound of each of the region's perspective hosts (not waiting: every region's
    resolvers start together, then :func:`wait_resolvers`)."""
    for host in region.replicas:
        hdir = state.workdir / "hosts" / host.name
        hdir.mkdir(parents=True, exist_ok=True)
        netns.write_resolv_conf(state, host.netns, "127.0.0.1")
        uconf = dns.write_unbound(state.workdir, plan, host, root_ksk)
        start_process(state, f"unbound@{host.name}", ["unbound", "-d", "-c", str(uconf)], host.netns,
                      "resolver", region.code, host=host.name)


def wait_resolvers(state: State, region: RegionPlan, timeout: float = 15) -> None:
    """Each of the region's resolvers answers."""
    for host in region.replicas:
        wait_for(lambda h=host: dns.resolver_answers(h.netns), timeout, f"unbound on {host.name}",
                 state.data["processes"][f"unbound@{host.name}"])


def start_region(state: State, plan: FleetPlan, cfg: StackConfig, region: RegionPlan, pki: dict) -> None:
    """Start the region's perspectives (their resolvers started: :func:`start_resolvers`; a
    perspective is ready only when its resolver answers, :func:`wait_region`), then its load
    balancer and WAN relay."""
    rdir = state.workdir / "regions" / region.code
    rdir.mkdir(parents=True, exist_ok=True)
    for host in region.replicas:
        start_perspective(state, plan, cfg, region, host, pki)
    hconf = rdir / "haproxy.cfg"
    hconf.write_text(lb.region_haproxy(region, ca=Path(pki["ca"]),
                                       check_pem=Path(pki["regions"][region.code]["check_pem"]),
                                       sock=rdir / "haproxy.sock"))
    start_process(state, f"haproxy@{region.code}", ["haproxy", "-db", "-f", str(hconf)], region.netns,
                  "lb", region.code, host=region.host)
    delay_file = rdir / "delay_ms"
    if not delay_file.exists():
        delay_file.write_text(f"{region.delay_ms}\n")
    start_process(state, f"relay@{region.code}",
                  [python(), "-m", "local.daemons.relay", "--listen", f"{region.backbone_ip}:{region.front_port}",
                   "--upstream", f"127.0.0.1:{region.lb_port}", "--delay-file", str(delay_file),
                   "--user", PROCESS_USERS["wan"]],
                  region.netns, "wan", region.code, host=region.host)


def wait_region(state: State, plan: FleetPlan, region: RegionPlan, pki: dict, timeout: float = 60) -> None:
    """Every perspective host answers /readyz over its LAN link, and so does the region through the
    coordinator's path."""
    procs = state.data["processes"]
    ca, cert = Path(pki["ca"]), (Path(pki["client"][0]), Path(pki["client"][1]))
    for host in region.replicas:
        url = f"https://{host.lan_ip}:{host.port}/readyz"
        wait_for(lambda u=url: curl(region.netns, u, ca=ca, cert=cert, timeout=2)[0] == 200, timeout,
                 f"perspective host {host.name}", procs[f"perspective@{host.name}"])
    # the coordinator's own path: backbone -> WAN relay -> HAProxy (hosts marked up) -> a host
    wait_for(lambda: curl(plan.coordinator_ns, f"{region.url}/readyz", ca=ca, cert=cert, timeout=3)[0] == 200,
             20, f"perspective {region.code} through its load balancer", procs[f"relay@{region.code}"])
