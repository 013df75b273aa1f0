"""The local fleet's certificates, issued by its kit CA (:mod:`local.pki`) at ``mpic up``.

The same identities as a cloud stack: a server certificate per perspective region (its hosts
share it, as an AWS region's hosts share the name of their load balancer), the
coordinator's client certificate (:data:`plan.pki.COORDINATOR_CLIENT_NAME`), a certificate for the
coordinator's load balancer, one client certificate per region for its load balancer's health
checks, and the mini-internet's HTTPS certificate for the test domain and the challenge hosts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from local.pki import KitCA
from local.state import State
from plan.local import FleetPlan
from plan.pki import COORDINATOR_CLIENT_NAME, perspective_cert_name


def _bundle(state: State, name: str, cert: Path, key: Path) -> str:
    """cert + key in one 0600 PEM file (HAProxy's format)."""
    pem = state.workdir / "pki" / f"{name}.pem"
    pem.write_text(cert.read_text() + key.read_text())
    os.chmod(pem, 0o600)
    return str(pem)


def fleet_certificates(state: State, plan: FleetPlan) -> dict[str, Any]:
    """Issue (or reuse) every mTLS certificate of the fleet; return their paths."""
    ca = KitCA.load_or_create(state.workdir / "pki")
    out: dict[str, Any] = {"ca": str(ca.cert_path), "regions": {}}
    ccert, ckey = ca.issue_client(COORDINATOR_CLIENT_NAME)
    out["client"] = [str(ccert), str(ckey)]
    for r in plan.regions:
        cert, key = ca.issue_server(perspective_cert_name(r.code), dns_names=["localhost", r.host],
                                    ips=[r.backbone_ip, "127.0.0.1", *(h.lan_ip for h in r.replicas)])
        hcert, hkey = ca.issue_client(f"lb-check-{r.code}")
        out["regions"][r.code] = {"cert": str(cert), "key": str(key),
                                  "check_pem": _bundle(state, f"lb-check-{r.code}", hcert, hkey)}
    names = ["localhost", "coordinator"] + ([plan.coordinator_name] if plan.coordinator_name else [])
    lcert, lkey = ca.issue_server("coordinator-lb", dns_names=names, ips=[site.ip for site in plan.sites])
    out["coordinator_lb_pem"] = _bundle(state, "coordinator-lb", lcert, lkey)
    return out


def web_certificate(state: State, plan: FleetPlan, hosts: list[str]) -> tuple[Path, Path]:
    """The internet host's HTTPS certificate, for the test domain and every challenge host."""
    ca = KitCA.load_or_create(state.workdir / "pki")
    names = sorted({plan.test_domain, f"*.{plan.test_domain}", *hosts})
    return ca.issue_server("internet-web", dns_names=names, ips=[plan.internet_ip])
