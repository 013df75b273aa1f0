"""One perspective region of the local fleet: its Unbound, its perspective replicas, its HAProxy
and the WAN relay the coordinator reaches it through.

Settings come from the one renderer (:mod:`plan.runtime`), local placement: replicas listen on the
region's loopback behind HAProxy, TLS files from the fleet's kit CA, the region's own Unbound.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from local import dns, lb, netns
from local.client import curl
from local.proc import run
from local.state import State
from local.supervisor import python, start_process, wait_for
from plan import runtime
from plan.local import FleetPlan, RegionPlan


def perspective_settings(state: State, plan: FleetPlan, region: RegionPlan, port: int, pki: dict) -> dict[str, Any]:
    """The settings of one perspective replica of ``region`` (local placement). Its checks may
    reach the mini-internet's host only: every other private address stays refused, as in the cloud."""
    rp = pki["regions"][region.code]
    return runtime.perspective_settings(
        region.code, region.rir, listen_host="127.0.0.1", listen_port=port,
        tls={"cert": rp["cert"], "key": rp["key"], "client_ca": pki["ca"]},
        resolver={"nameservers": ["127.0.0.1"], "port": 53, "timeout": 2.0, "lifetime": 4.0},
        verify_ssl=True, http_ca_file=pki["ca"], http_timeout=5.0, log_level="INFO",
        audit_log=str(state.workdir / "logs" / f"audit-{region.code}-{port}.jsonl"),
        allowed_reserved_networks=[f"{plan.internet_ip}/32"])


def _resolver_answers(region: RegionPlan) -> bool:
    res = run(["kdig", "@127.0.0.1", "+time=1", "+retry=0", ".", "SOA"], netns=region.netns, check=False)
    return res.returncode == 0 and "NOERROR" in res.stdout


def start_region(state: State, plan: FleetPlan, region: RegionPlan, pki: dict, root_ksk: list[str]) -> None:
    """Start the region's resolver, perspective replicas, load balancer and WAN relay."""
    wd = state.workdir
    rdir = wd / "regions" / region.code
    rdir.mkdir(parents=True, exist_ok=True)
    netns.write_resolv_conf(state, region.netns, "127.0.0.1")
    uconf = dns.write_unbound(wd, plan, region, root_ksk)
    urec = start_process(state, f"unbound@{region.code}", ["unbound", "-d", "-c", str(uconf)], region.netns,
                         "resolver", region.code)
    wait_for(lambda: _resolver_answers(region), 15, f"unbound in {region.code}", urec)
    for j, port in enumerate(region.replica_ports):
        sfile = rdir / f"perspective-{j + 1}.yaml"
        sfile.write_text(yaml.safe_dump(perspective_settings(state, plan, region, port, pki)))
        start_process(state, f"perspective@{region.code}#{j + 1}",
                      [state.data["runtime_python"], "-m", "service", "perspective", "--settings", str(sfile)],
                      region.netns, "perspective", region.code, runtime=True)
    hconf = rdir / "haproxy.cfg"
    hconf.write_text(lb.region_haproxy(region, ca=Path(pki["ca"]),
                                       check_pem=Path(pki["regions"][region.code]["check_pem"]),
                                       sock=rdir / "haproxy.sock"))
    start_process(state, f"haproxy@{region.code}", ["haproxy", "-db", "-f", str(hconf)], region.netns,
                  "lb", region.code)
    delay_file = rdir / "delay_ms"
    if not delay_file.exists():
        delay_file.write_text(f"{region.delay_ms}\n")
    start_process(state, f"relay@{region.code}",
                  [python(), "-m", "local.relay", "--listen", f"{region.backbone_ip}:{region.front_port}",
                   "--upstream", f"127.0.0.1:{region.lb_port}", "--delay-file", str(delay_file)],
                  region.netns, "wan", region.code)


def wait_region(state: State, plan: FleetPlan, region: RegionPlan, pki: dict, timeout: float = 60) -> None:
    """Every replica answers /readyz, and so does the region through the coordinator's path."""
    procs = state.data["processes"]
    ca, cert = Path(pki["ca"]), (Path(pki["client"][0]), Path(pki["client"][1]))
    for j, port in enumerate(region.replica_ports):
        rec = procs[f"perspective@{region.code}#{j + 1}"]
        wait_for(lambda port=port: curl(region.netns, f"https://127.0.0.1:{port}/readyz", ca=ca, cert=cert,
                                        timeout=2)[0] == 200, timeout, f"perspective {region.code} replica {j + 1}", rec)
    # the coordinator's own path: backbone -> WAN relay -> HAProxy (replicas marked up) -> replica
    wait_for(lambda: curl(plan.coordinator_ns, f"{region.url}/readyz", ca=ca, cert=cert, timeout=3)[0] == 200,
             20, f"perspective {region.code} through its load balancer", procs[f"relay@{region.code}"])
