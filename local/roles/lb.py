"""Configs of the fleet's HAProxy load balancers (a region's perspectives, the coordinator)."""

from __future__ import annotations

from pathlib import Path

from plan.local import RegionPlan, SitePlan
from plan.privileges import PROCESS_USERS

USER = PROCESS_USERS["lb"]
"""HAProxy binds as root, then runs as this user (``global user``/``group``, as the packaged service)."""


def region_haproxy(region: RegionPlan, *, ca: Path, check_pem: Path, sock: Path) -> str:
    """TCP (TLS passthrough: mTLS ends at the perspective host) with HTTPS health checks on
    /readyz of each perspective host, over its LAN link."""
    servers = "\n".join(f"    server {h.name} {h.lan_ip}:{h.port}" for h in region.replicas)
    return f"""global
    maxconn 4096
    user {USER}
    group {USER}
    stats socket {sock} mode 600 level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    # a check's own timeout (else HAProxy uses inter, 500 ms: too tight on a loaded machine)
    timeout check 2s
    retries 3
    option redispatch
frontend perspective
    bind 127.0.0.1:{region.lb_port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter 500ms fastinter 250ms fall 2 rise 2 check check-ssl verify required ca-file {ca} crt {check_pem}
{servers}
"""


MAX_BODY_BYTES = 1_048_576
"""Largest request body the coordinator's load balancer forwards (the runtime's own limit too)."""
PUBLIC_PATHS = ("/mpic", "/v1/mpic", "/readyz")
"""All the coordinator publishes; /healthz and /metrics stay on each replica's internal listener."""


def coordinator_haproxy(site: SitePlan, *, tls_pem: Path, sock: Path, internal_offset: int) -> str:
    """HTTP mode, TLS terminated here, L7 retries so a dead replica costs no request; only the API
    paths pass, bodies over :data:`MAX_BODY_BYTES` are refused before they reach a replica; each
    replica is health-checked on its internal listener (port + ``internal_offset``)."""
    servers = "\n".join(
        f"    server c{j + 1} 127.0.0.1:{port} check port {port + internal_offset}"
        for j, port in enumerate(site.replica_ports))
    too_large = ('{"error":"request-validation-failed","validation_issues":[{"issue_type":"body-too-large",'
                 f'"message":"request body over {MAX_BODY_BYTES} bytes"}}]}}')
    return f"""global
    maxconn 4096
    user {USER}
    group {USER}
    stats socket {sock} mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout http-request 10s
    timeout check 2s
    retries 3
    option redispatch 1
    # a replica killed mid-request: the request (buffered in full) is replayed on the other one
    option http-buffer-request
    retry-on conn-failure empty-response junk-response response-timeout 502 503 504
frontend api
    bind {site.ip}:{site.port} ssl crt {tls_pem}
    http-request return status 404 content-type application/json string '{{"error":"not-found"}}' unless {{ path {' '.join(PUBLIC_PATHS)} }}
    http-request return status 413 content-type application/json string '{too_large}' if {{ req.hdr_val(content-length) gt {MAX_BODY_BYTES} }}
    # /readyz's 503 is an answer (below the quorum), not a failure to retry on the other replica
    http-request disable-l7-retry if {{ path /readyz }}
    default_backend coordinators
backend coordinators
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter 500ms fastinter 250ms fall 3 rise 2 check
{servers}
"""
