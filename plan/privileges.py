"""Least privilege in the local fleet, planned: the user every process runs as and who owns each
private key. Pure data (the engine carries it out: :mod:`local.engine.users`); the cloud hosts run the
runtime as the same ``mpic`` user (:mod:`plan.aws.cloud_init`).
"""

from __future__ import annotations

RUNTIME_USER = "mpic"
"""The runtime's system user: the perspectives, coordinators and the canary run as it, as on the
cloud hosts (plan/aws/cloud_init.py)."""
LAB_USER = "mpic-lab"
"""The lab's own stand-ins for the WAN and the Internet (the WAN relays, the TLS-ALPN-01 responder)."""
PROCESS_USERS: dict[str, str] = {
    "perspective": RUNTIME_USER,
    "coordinator": RUNTIME_USER,
    "canary": RUNTIME_USER,
    "resolver": "unbound",
    "dns": "knot",
    "lb": "haproxy",
    "web": "www-data",
    "wan": LAB_USER,
    "alpn": LAB_USER,
    "failover": "root",
}
"""The user every fleet process runs as, by role: the runtime as :data:`RUNTIME_USER`; Unbound,
Knot, HAProxy and nginx as the users their Debian packages create (Unbound, Knot and HAProxy bind
their ports as root and drop to it themselves, nginx starts as ``www-data`` with the one capability
to bind ports 80 and 443); the lab's relays and responder as :data:`LAB_USER`. Only the health
checker stays root: it stands for Route53's control plane and writes the coordinator's record
through knotd's control socket (``mpic status`` shows every process with its user)."""
KEY_OWNERS: dict[str, str] = {
    "perspective": RUNTIME_USER,
    "coordinator-client": RUNTIME_USER,
    "lb": "haproxy",
    "web": "www-data",
    "alpn": LAB_USER,
}
"""Who owns each kind of private key (mode 0600): the user of the one process that needs it. The
kit CA's key is kept by no one: ``up`` signs every certificate with it in memory and never
writes it; the mini-internet's own web CA key stays root's (``mpic challenge`` issues with it)."""
