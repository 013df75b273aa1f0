"""The Kubernetes placement of the canary (target k8s): a CronJob in the primary hub's coordinator
namespace, its settings, NetworkPolicy and PrometheusRule, as plain manifests. Pure: no Pulumi,
no I/O (:mod:`plan.k8s.fleet` calls it; :class:`components.k8s.canary.CanaryWorkload` creates them).

Placement: the canary reaches the coordinator at its in-cluster Service over TLS (the kit CA's
certificate names ``mpic-coordinator.<ns>.svc``; the CA is mounted from the coordinator's TLS
Secret, ``ca.crt`` only), writes its TXT with RFC 2136 + TSIG to ``mpic:canary.dns.server`` and
pushes its metrics to ``mpic:canary.pushgateway``; the API key and the TSIG secret come from a
Secret as :data:`plan.runtime.CANARY_API_KEY_ENV` and :data:`plan.runtime.CANARY_TSIG_ENV` (the
settings file holds no secret; :func:`canary_secret`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

import yaml

from config.canary import TSIG_SECRET_KEY
from config.errors import ConfigError
from config.model import NAMESPACE, StackConfig
from plan.k8s import objects as o
from plan import runtime
from plan.canary import ALARM_CHECK, ALARM_MARGIN, ALARM_NOT_RUN, CanaryPlan, in_zone, plan_canary

NAME = "mpic-canary"
CANARY_DIR = "/etc/mpic-canary"
SETTINGS_PATH = f"{CANARY_DIR}/settings.yaml"
CA_DIR = f"{CANARY_DIR}/tls"
RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
ACTIVE_DEADLINE_S = 240
"""Three coordinator requests of at most 30 s each and an RFC 2136 update, with room to spare."""
ALERTS: dict[str, tuple[str, str]] = {
    ALARM_CHECK: ("MpicCanaryCheckFailed", "critical"),
    ALARM_MARGIN: ("MpicCanaryMargin", "warning"),
    ALARM_NOT_RUN: ("MpicCanaryNotRun", "critical"),
}
"""Alarm key -> (alert name, severity)."""
_SERVICE_HOST = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?$")
_ENABLED_OFF = f"{NAMESPACE}:canary.enabled: false"


@dataclasses.dataclass(frozen=True)
class K8sCanaryPlan:
    canary: CanaryPlan
    cluster: str
    """Region of the primary hub: the canary runs next to its coordinator."""
    namespace: str
    labels: dict[str, str]
    selector: dict[str, str]
    secret_name: str
    """The Secret the component creates (:func:`canary_secret`)."""
    objects: dict[str, dict[str, Any]]
    """role -> manifest: settings, cronjob, netpol, rule."""

    @property
    def alert_names(self) -> list[str]:
        return [ALERTS[a.key][0] for a in self.canary.alarms]


def canary_secret(plan: K8sCanaryPlan, *, api_key: Any, tsig_secret: Any) -> dict[str, Any]:
    """The canary's Secret, complete: its two slots, the API key and the TSIG secret (values only the
    Pulumi engine knows; the component passes them as secret Outputs, never looked inside), under
    the environment names the runtime reads them from (the CronJob's ``envFrom``)."""
    return o.opaque_secret(plan.secret_name, plan.namespace, plan.labels,
                           {runtime.CANARY_API_KEY_ENV: api_key, runtime.CANARY_TSIG_ENV: tsig_secret})


# ----------------------------------------------------------------------------- validation
def dns_server(server: str) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``[V6]:PORT`` -> (host, port); port 53 by default."""
    s = server.strip()
    if s.startswith("["):
        host, _, rest = s[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else rest
    elif s.count(":") == 1:
        host, port = s.split(":")
    else:
        host, port = s, ""
    if port and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"port {port!r}")
    return host, int(port or 53)


def _error(key: str, value: Any, message: str, fix: str) -> ConfigError:
    return ConfigError(f"{key}: {message} Fix: {fix}.", key=key, value=value, fix=fix)


def validate_canary(fleet: StackConfig) -> None:
    """On k8s the canary (on by default) needs ``mpic:canary.dns`` (the server must be an IP
    address: the runtime's RFC 2136 client does not resolve names) holding the canary name, and a
    Pushgateway URL; ConfigError naming the key, value and fix."""
    c = fleet.canary
    if not c.enabled:
        return
    if c.dns is None:
        raise _error(f"{NAMESPACE}:canary.dns", None, "missing. On target k8s the canary writes its TXT "
                     f"_mpic-canary.{fleet.canary_domain} with RFC 2136 + TSIG.",
                     f"set {NAMESPACE}:canary.dns: {{server: IP[:PORT], zone: ZONE, keyName: mpic-canary}} and the "
                     f"secret {NAMESPACE}:{TSIG_SECRET_KEY}, or set {_ENABLED_OFF} (the fleet is then unwatched)")
    key = f"{NAMESPACE}:canary.dns.server"
    try:
        host, _ = dns_server(c.dns.server)
        ipaddress.ip_address(host)
    except ValueError:
        raise _error(key, c.dns.server, "not IP[:PORT]; the canary's RFC 2136 client sends its update to an "
                     "address (it does not resolve names).",
                     "give the primary's IP address, e.g. 192.0.2.53 or 192.0.2.53:5353") from None
    if not in_zone(fleet.canary_domain, c.dns.zone):
        raise _error(f"{NAMESPACE}:canary.dns.zone", c.dns.zone, f"{fleet.canary_domain} ({NAMESPACE}:canary.domain) "
                     "is not inside it; the canary's update would be refused.",
                     f"set zone to the zone that holds {fleet.canary_domain}, or {NAMESPACE}:canary.domain to a "
                     f"name under {c.dns.zone} (e.g. canary.{c.dns.zone})")
    url = urlsplit(c.pushgateway)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise _error(f"{NAMESPACE}:canary.pushgateway", c.pushgateway, "not an http(s) URL.",
                     "give the Pushgateway's URL, e.g. http://prometheus-pushgateway.monitoring.svc:9091")


# ----------------------------------------------------------------------------- objects
def _host_peers(host: str) -> list[dict[str, Any]]:
    """Where ``host`` is, as NetworkPolicy peers: its address, its Service's namespace, or anywhere."""
    try:
        ip = ipaddress.ip_address(host)
        return o.ip_block_peers((f"{ip}/{ip.max_prefixlen}",))
    except ValueError:
        pass
    found = _SERVICE_HOST.match(host)
    if found:
        return [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": found.group(2)}}}]
    return o.ip_block_peers(o.ANYWHERE)


def network_policy(ns: str, labels: dict[str, str], selector: dict[str, str], *, coordinator: dict[str, str],
                   dns: tuple[str, int], pushgateway: str) -> dict[str, Any]:
    """No ingress; egress to name lookups, the coordinator's pods, the DNS primary and the Pushgateway."""
    push = urlsplit(pushgateway)
    push_port = push.port or (443 if push.scheme == "https" else 80)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": o.meta(NAME, ns, labels),
            "spec": {"podSelector": {"matchLabels": dict(selector)}, "policyTypes": ["Ingress", "Egress"],
                     "egress": [
                         {"to": o.ip_block_peers(o.ANYWHERE),  # name lookups (the coordinator's, the Pushgateway's)
                          "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
                         {"to": [{"podSelector": {"matchLabels": dict(coordinator)}}],
                          "ports": [{"protocol": "TCP", "port": o.COORDINATOR_PORT}]},
                         {"to": _host_peers(dns[0]), "ports": [{"protocol": "TCP", "port": dns[1]}]},
                         {"to": _host_peers(push.hostname or ""), "ports": [{"protocol": "TCP", "port": push_port}]},
                     ]}}


def cronjob(ns: str, labels: dict[str, str], cp: CanaryPlan, *, image: str, settings_map: str, secret_name: str,
            ca_secret: str, settings_sha: str) -> dict[str, Any]:
    """One run every interval, never two at a time, never retried (a failed run is a result)."""
    container = {
        "name": "canary", "image": image, "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-m", "service", "canary", "--settings", SETTINGS_PATH, "--once"],
        "env": [{"name": "HOME", "value": "/tmp"}, {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}],
        "envFrom": [{"secretRef": {"name": secret_name}}],
        "resources": RESOURCES,
        "securityContext": o.container_security(),
        "volumeMounts": [
            {"name": "settings", "mountPath": SETTINGS_PATH, "subPath": "settings.yaml", "readOnly": True},
            {"name": "ca", "mountPath": CA_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    pod = {"restartPolicy": "Never", "automountServiceAccountToken": False, "enableServiceLinks": False,
           "securityContext": o.pod_security(), "containers": [container],
           "volumes": [
               {"name": "settings", "configMap": {"name": settings_map}},
               # the kit CA only: never the coordinator's private key
               {"name": "ca", "secret": {"secretName": ca_secret, "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                         "defaultMode": 0o440}},
               {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
           ]}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": o.meta(NAME, ns, labels),
            "spec": {"schedule": cp.cron, "concurrencyPolicy": "Forbid", "startingDeadlineSeconds": cp.interval_s,
                     "successfulJobsHistoryLimit": 1, "failedJobsHistoryLimit": 3,
                     "jobTemplate": {"metadata": {"labels": dict(labels)}, "spec": {
                         "backoffLimit": 0, "activeDeadlineSeconds": ACTIVE_DEADLINE_S,
                         "template": {"metadata": {"labels": dict(labels),
                                                   "annotations": {"mpic-fleet.io/settings-sha256": settings_sha}},
                                      "spec": pod}}}}}


def prometheus_rule(ns: str, labels: dict[str, str], cp: CanaryPlan) -> dict[str, Any]:
    """The plan's alarms as Prometheus alerts (Prometheus Operator), on what the CronJob pushes."""
    rules = []
    for a in cp.alarms:
        alert, severity = ALERTS[a.key]
        alert_labels = {"severity": severity, "stack": cp.stack, **({"email": cp.alarm_email} if cp.alarm_email else {})}
        rules.append({"alert": alert, "expr": a.expr, "for": "0m", "labels": alert_labels,
                      "annotations": {"summary": f"MPIC canary of {cp.stack}: {a.key}", "description": a.description}})
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": o.meta(NAME, ns, labels),
            "spec": {"groups": [{"name": NAME, "rules": rules}]}}


def plan_k8s_canary(fleet: StackConfig, *, cluster: str, namespace: str, labels: dict[str, str],
                    selector: dict[str, str], coordinator_selector: dict[str, str], coordinator_url: str,
                    ca_secret: str) -> K8sCanaryPlan | None:
    """The canary next to the coordinator of ``cluster`` (None with the canary off). Call
    :func:`validate_canary` first."""
    cp = plan_canary(fleet)
    if cp is None:
        return None
    c = fleet.canary
    assert c.dns is not None, "validate_canary refuses a k8s canary without mpic:canary.dns"
    host, port = dns_server(c.dns.server)
    settings = yaml.safe_dump(runtime.canary_settings(
        fleet, coordinator_url=coordinator_url, ca_file=f"{CA_DIR}/ca.crt",
        dns={"provider": "rfc2136", "zone": c.dns.zone, "server": host, "port": port, "key_name": c.dns.key_name,
             "algorithm": c.dns.algorithm},
        sink={"kind": "pushgateway", "url": c.pushgateway}), sort_keys=False)
    settings_map, secret_name = f"{NAME}-settings", f"{NAME}-secrets"
    objects = {
        "settings": o.config_map(settings_map, namespace, labels, {"settings.yaml": settings}),
        "cronjob": cronjob(namespace, labels, cp, image=fleet.k8s.image or "", settings_map=settings_map,
                           secret_name=secret_name, ca_secret=ca_secret, settings_sha=o.sha256(settings)),
        "netpol": network_policy(namespace, labels, selector, coordinator=coordinator_selector, dns=(host, port),
                                 pushgateway=c.pushgateway),
        "rule": prometheus_rule(namespace, labels, cp),
    }
    return K8sCanaryPlan(canary=cp, cluster=cluster, namespace=namespace, labels=labels, selector=selector,
                         secret_name=secret_name, objects=objects)
