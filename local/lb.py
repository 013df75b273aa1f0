"""Configs of the fleet's HAProxy load balancers (a region's perspectives, the coordinator)."""

from __future__ import annotations

from pathlib import Path

from plan.local import FleetPlan, RegionPlan


def region_haproxy(region: RegionPlan, *, ca: Path, check_pem: Path, sock: Path) -> str:
    """TCP (TLS passthrough: mTLS ends at the replica) with HTTPS health checks on /readyz."""
    servers = "\n".join(f"    server r{j + 1} 127.0.0.1:{port}" for j, port in enumerate(region.replica_ports))
    return f"""global
    maxconn 4096
    stats socket {sock} mode 600 level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 120s
    timeout server 120s
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


def coordinator_haproxy(plan: FleetPlan, *, tls_pem: Path, sock: Path) -> str:
    """HTTP mode, TLS terminated here, L7 retries so a dead replica costs no request."""
    servers = "\n".join(
        f"    server c{j + 1} 127.0.0.1:{port}" for j, port in enumerate(plan.coordinator_replica_ports))
    return f"""global
    maxconn 4096
    stats socket {sock} mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout http-request 10s
    retries 3
    option redispatch 1
    # a replica killed mid-request: the request (buffered in full) is replayed on the other one
    option http-buffer-request
    retry-on conn-failure empty-response junk-response response-timeout 502 503 504
frontend api
    bind {plan.coordinator_ip}:{plan.coordinator_port} ssl crt {tls_pem}
    default_backend coordinators
backend coordinators
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server inter 500ms fastinter 250ms fall 2 rise 2 check
{servers}
"""
