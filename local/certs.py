"""The local fleet's certificates: the kit CA's (mTLS) at ``mpic up``, the mini-internet's web CA's
(HTTPS of the challenge hosts) whenever a host is added.

The same identities as a cloud stack: a server certificate per perspective region naming
``perspective-<code>`` (its hosts share it, as an AWS region's hosts share the name of their load
balancer), the coordinator's client certificate (:data:`plan.pki.COORDINATOR_CLIENT_NAME`), a
certificate for the coordinator's load balancer and one client certificate per region for its
load balancer's health checks.

Least privilege (:data:`plan.privileges.KEY_OWNERS`): the kit CA signs them all in memory and its
key is never written, so no process can mint itself a certificate afterwards. The runtime's keys
are issued into ``private/issued/`` (root's alone); each runtime process gets a copy of the one it
uses in its own folder (:mod:`local.private`, 0600, owned by ``mpic``); the load balancers' keys
are bundled for HAProxy (0600, ``haproxy``). The mini-internet's HTTPS certificate comes from a CA
of its own, as the Web PKI is not the CA's mTLS CA: its key stays in a root-only folder for
``mpic challenge`` to issue with.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from local import private
from local.pki import KitCA
from local.state import State
from local.users import own
from plan.local import FleetPlan
from plan.privileges import KEY_OWNERS
from plan.pki import COORDINATOR_CLIENT_NAME, perspective_cert_name

WEB_CA_NAME = "MPIC Fleet mini-internet web CA"


def pki_dir(state: State) -> Path:
    return state.workdir / "pki"


def _bundle(state: State, name: str, cert: Path, key: Path, owner: str) -> str:
    """cert + key in one 0600 PEM file in ``pki/`` (HAProxy's format); the issued files are removed."""
    pem = pki_dir(state) / f"{name}.pem"
    pem.write_text(cert.read_text() + key.read_text())
    key.unlink()
    cert.unlink()
    own(pem, owner, 0o600)
    return str(pem)


def fleet_certificates(state: State, plan: FleetPlan) -> dict[str, Any]:
    """Issue every mTLS certificate of the fleet with a new kit CA whose key is never written;
    return their paths (the runtime's in ``private/issued/``, root's alone)."""
    folder = pki_dir(state)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    ca = KitCA.ephemeral(folder, leaves=private.folder(state, "issued"))
    os.chmod(ca.leaves, 0o700)
    out: dict[str, Any] = {"ca": str(ca.cert_path), "regions": {}, "web_ca": web_ca_cert(state)}
    ccert, ckey = ca.issue_client(COORDINATOR_CLIENT_NAME)
    out["client"] = [str(ccert), str(ckey)]
    for r in plan.regions:
        cert, key = ca.issue_server(perspective_cert_name(r.code), dns_names=["localhost", r.host],
                                    ips=[r.backbone_ip, "127.0.0.1", *(h.lan_ip for h in r.replicas)])
        hcert, hkey = ca.issue_client(f"lb-check-{r.code}")
        out["regions"][r.code] = {"cert": str(cert), "key": str(key),
                                  "check_pem": _bundle(state, f"lb-check-{r.code}", hcert, hkey, KEY_OWNERS["lb"])}
    names = ["localhost", "coordinator"] + ([plan.coordinator_name] if plan.coordinator_name else [])
    lcert, lkey = ca.issue_server("coordinator-lb", dns_names=names, ips=[site.ip for site in plan.sites])
    out["coordinator_lb_pem"] = _bundle(state, "coordinator-lb", lcert, lkey, KEY_OWNERS["lb"])
    return out


def _web_ca(state: State) -> KitCA:
    folder = state.workdir / "web-ca"
    ca = KitCA.load_or_create(folder, WEB_CA_NAME, leaves=pki_dir(state))
    os.chmod(folder, 0o700)  # its key: root's only (mpic challenge issues with it)
    return ca


def web_ca_cert(state: State) -> str:
    """The mini-internet's web CA certificate, readable by the perspectives (their ``http_ca_file``)."""
    path = pki_dir(state) / "web-ca.crt"
    if not path.exists():
        shutil.copyfile(_web_ca(state).cert_path, path)
        os.chmod(path, 0o644)
    return str(path)


def web_certificate(state: State, plan: FleetPlan, hosts: list[str]) -> tuple[Path, Path]:
    """The internet host's HTTPS certificate, for the test domain and every challenge host."""
    names = sorted({plan.test_domain, f"*.{plan.test_domain}", *hosts})
    cert, key = _web_ca(state).issue_server("internet-web", dns_names=names, ips=[plan.internet_ip])
    own(key, KEY_OWNERS["web"], 0o600)
    return cert, key
