"""Pure builders of the Kubernetes objects the ``k8s`` target renders (no Pulumi, no I/O).

Every function returns a plain manifest dict (``apiVersion``, ``kind``, ``metadata``, ``spec``...)
with camelCase keys: the very dict the components hand to ``pulumi_kubernetes`` and the tests
validate with kubernetes-validate (strict, Kubernetes 1.33). Values that only exist at deploy
time (certificate PEMs, API keys) are parameters, so a caller may pass ``pulumi.Output`` objects;
the builders never look inside them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from plan.resolver import IANA_ROOT_ANCHORS, UnboundPlacement
from plan.resolver import unbound_conf as resolver_conf
from plan.runtime import API_KEYS_ENV, HASH_SECRET_ENV, env_value

PERSPECTIVE_PORT = 8443
"""The perspective's mTLS listener (service settings ``listen_port``)."""
COORDINATOR_PORT = 8443
"""The coordinator's TLS listener inside the pod; its Service publishes 443."""
COORDINATOR_INTERNAL_PORT = 9090
"""The coordinator's internal listener (``/healthz``, ``/metrics``): the kubelet's probes and a
metrics scraper; never a port of its Service."""
RESOLVER_PORT = 5353
"""The Unbound sidecar's port on the pod's loopback (settings ``resolver.port``)."""
RUN_AS = 10001
"""Non-root uid/gid of every container."""
SETTINGS_PATH = "/etc/mpic/settings.yaml"
TLS_DIR = "/etc/mpic/tls"
CLIENT_TLS_DIR = "/etc/mpic/client-tls"
UNBOUND_DIR = "/etc/mpic/unbound"

PERSPECTIVE_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"},
                         "limits": {"cpu": "1", "memory": "256Mi"}}
RESOLVER_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"},
                      "limits": {"cpu": "500m", "memory": "256Mi"}}
COORDINATOR_RESOURCES = {"requests": {"cpu": "200m", "memory": "128Mi"},
                         "limits": {"cpu": "1", "memory": "512Mi"}}

ANYWHERE = ("0.0.0.0/0", "::/0")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def meta(name: str, namespace: str | None, labels: dict[str, str],
         annotations: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if namespace is not None:
        out["namespace"] = namespace
    if annotations:
        out["annotations"] = dict(annotations)
    return out


# ----------------------------------------------------------------------------- simple objects
def namespace(name: str, labels: dict[str, str]) -> dict[str, Any]:
    """A namespace enforcing the ``restricted`` Pod Security Standard."""
    psa = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name, None, {**labels, **psa})}


def config_map(name: str, ns: str, labels: dict[str, str], data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name, ns, labels), "data": dict(data)}


def tls_secret(name: str, ns: str, labels: dict[str, str], cert: Any, key: Any, ca: Any) -> dict[str, Any]:
    """A ``kubernetes.io/tls`` Secret carrying the kit CA as ``ca.crt`` next to the pair."""
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta(name, ns, labels),
            "type": "kubernetes.io/tls", "stringData": {"tls.crt": cert, "tls.key": key, "ca.crt": ca}}


def opaque_secret(name: str, ns: str, labels: dict[str, str], data: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta(name, ns, labels),
            "type": "Opaque", "stringData": dict(data)}


APP_SECRET_KEYS: dict[str, str] = {API_KEYS_ENV: "api-keys", HASH_SECRET_ENV: "hash-secret"}
"""The coordinator's app Secret: environment variable -> the Secret key it is read from."""


def api_keys_value(keys: Any) -> str:
    """The API keys as the runtime reads ``MPIC_API_KEYS`` (a JSON list)."""
    return env_value(list(keys))


def coordinator_app_secret(name: str, ns: str, labels: dict[str, str], *, api_keys: Any,
                           hash_secret: Any) -> dict[str, Any]:
    """The coordinator's app Secret: ``api_keys`` (:func:`api_keys_value`'s text) and the hash
    secret, under the keys :data:`APP_SECRET_KEYS` names (values may be the engine's outputs)."""
    return opaque_secret(name, ns, labels, {APP_SECRET_KEYS[API_KEYS_ENV]: api_keys,
                                            APP_SECRET_KEYS[HASH_SECRET_ENV]: hash_secret})


def pdb(name: str, ns: str, labels: dict[str, str], selector: dict[str, str]) -> dict[str, Any]:
    """At most one pod of the workload down for voluntary disruptions (drains, upgrades)."""
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(name, ns, labels),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(selector)}}}


def hpa(name: str, ns: str, labels: dict[str, str], deployment: str, minimum: int, maximum: int,
        cpu_percent: int = 70) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(name, ns, labels),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
                     "minReplicas": minimum, "maxReplicas": max(minimum, maximum),
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu_percent}}}]}}


def service(name: str, ns: str, labels: dict[str, str], selector: dict[str, str], *, port: int, target_port: int,
            load_balancer: bool, source_ranges: tuple[str, ...] = (),
            annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A Service; as a LoadBalancer it keeps client addresses (``externalTrafficPolicy: Local``)
    so the pods' NetworkPolicy sees the real source, and admits only ``source_ranges``."""
    spec: dict[str, Any] = {"selector": dict(selector),
                            "ports": [{"name": "https", "port": port, "targetPort": target_port, "protocol": "TCP"}]}
    if load_balancer:
        spec["type"] = "LoadBalancer"
        spec["externalTrafficPolicy"] = "Local"
        if source_ranges:
            spec["loadBalancerSourceRanges"] = list(source_ranges)
    else:
        spec["type"] = "ClusterIP"
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name, ns, labels, annotations), "spec": spec}


def _ip_peers(cidrs: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"ipBlock": {"cidr": c}} for c in cidrs]


def _ports(protocol_ports: tuple[tuple[str, int], ...]) -> list[dict[str, Any]]:
    return [{"protocol": proto, "port": port} for proto, port in protocol_ports]


def network_policy(name: str, ns: str, labels: dict[str, str], selector: dict[str, str], *,
                   ingress_from: list[dict[str, Any]] | None, ingress_port: int,
                   egress: tuple[tuple[str, int], ...]) -> dict[str, Any]:
    """Default-deny for the selected pods, then: ingress on ``ingress_port`` from ``ingress_from``
    (None = from anywhere) and egress to ``egress`` (protocol, port) anywhere on the Internet."""
    rule: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": ingress_port}]}
    if ingress_from is not None:
        rule["from"] = ingress_from
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(name, ns, labels),
            "spec": {"podSelector": {"matchLabels": dict(selector)}, "policyTypes": ["Ingress", "Egress"],
                     "ingress": [rule],
                     "egress": [{"to": _ip_peers(ANYWHERE), "ports": _ports(egress)}]}}


def ip_block_peers(cidrs: tuple[str, ...]) -> list[dict[str, Any]]:
    return _ip_peers(cidrs)


def pod_peer(namespace_name: str, selector: dict[str, str]) -> list[dict[str, Any]]:
    return [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace_name}},
             "podSelector": {"matchLabels": dict(selector)}}]


# ----------------------------------------------------------------------------- pods
def container_security() -> dict[str, Any]:
    """Non-root, read-only root filesystem, every capability dropped, no privilege escalation."""
    return {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS, "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}


def pod_security() -> dict[str, Any]:
    return {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS, "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"}}


def spread(selector: dict[str, str], *, zones_required: bool) -> list[dict[str, Any]]:
    """Spread replicas across zones (hard unless a lab) and across nodes (soft)."""
    return [
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
         "whenUnsatisfiable": "DoNotSchedule" if zones_required else "ScheduleAnyway",
         "labelSelector": {"matchLabels": dict(selector)}},
        {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": {"matchLabels": dict(selector)}},
    ]


def tcp_probe(port: int, *, period: int, failures: int) -> dict[str, Any]:
    """A TCP probe: the kubelet cannot present the client certificate the perspective's mTLS
    listener demands, so it checks that the port accepts connections."""
    return {"tcpSocket": {"port": port}, "periodSeconds": period, "timeoutSeconds": 2, "failureThreshold": failures}


def readiness_command(listen_port: int = PERSPECTIVE_PORT, resolver_port: int = RESOLVER_PORT) -> list[str]:
    """Exec readiness of a perspective, the same test as its ``/readyz`` without a client
    certificate: the listener accepts connections and the pod's resolver answers the root SOA."""
    code = ("import socket,dns.message,dns.query,dns.rcode;"
            f"socket.create_connection(('127.0.0.1',{listen_port}),timeout=2).close();"
            f"r=dns.query.udp(dns.message.make_query('.','SOA'),'127.0.0.1',port={resolver_port},timeout=3);"
            "raise SystemExit(0 if r.rcode()==dns.rcode.NOERROR and r.answer else 1)")
    return ["python", "-c", code]


def http_probe(path: str, port: int, *, period: int, failures: int) -> dict[str, Any]:
    """A plain-HTTP GET probe (the coordinator's internal listener: /healthz, /metrics)."""
    return {"httpGet": {"path": path, "port": port, "scheme": "HTTP"}, "periodSeconds": period,
            "timeoutSeconds": 3, "failureThreshold": failures}


def https_probe(path: str, port: int, *, period: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port, "scheme": "HTTPS"}, "periodSeconds": period,
            "timeoutSeconds": 2, "failureThreshold": failures}


def unbound_conf(port: int = RESOLVER_PORT) -> str:
    """Unbound for one pod: the perspective's own recursive resolver (BR 3.2.2.9: no shared cache,
    same place and RIR as the perspective). ``port`` serves the checkers (settings ``resolver``);
    127.0.0.1:53 serves the pod's resolv.conf, which the HTTP checks use through getaddrinfo — so
    no lookup goes to the cluster DNS's shared cache. It listens on every pod address only so the
    kubelet's TCP probe can connect, and answers loopback clients only."""
    return resolver_conf(UnboundPlacement(
        interfaces=(f"0.0.0.0@{port}", "127.0.0.1@53"), allow=("127.0.0.0/8", "::1/128"), do_ip6=True,
        foreground_dir=UNBOUND_DIR, trust_anchors=IANA_ROOT_ANCHORS))


def deployment(name: str, ns: str, labels: dict[str, str], selector: dict[str, str], *, replicas: int,
               settings_sha: str, pod: dict[str, Any]) -> dict[str, Any]:
    """The kit's Deployment skeleton: zero-downtime rolling updates, pods restarted when their
    settings change (hash annotation), no service-account token, no service-link env; ``pod``
    adds the pod-specific spec (containers, volumes, DNS, security, spread)."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, ns, labels),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(selector)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": dict(labels), "annotations": {"mpic-fleet.io/settings-sha256": settings_sha}},
                "spec": {"automountServiceAccountToken": False, "enableServiceLinks": False, **pod},
            },
        },
    }


def perspective_deployment(name: str, ns: str, labels: dict[str, str], selector: dict[str, str], *,
                           replicas: int, image: str, resolver_image: str, settings_map: str, unbound_map: str,
                           tls_secret_name: str, settings_sha: str, zones_required: bool,
                           audit: dict[str, Any]) -> dict[str, Any]:
    """The perspective: the service container and its Unbound resolver sidecar in one pod, and the
    audit shipper's pieces (:func:`plan.k8s.audit.pod_pieces`)."""
    tmp = {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}
    perspective = {
        "name": "perspective",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-m", "service", "perspective", "--settings", SETTINGS_PATH],
        "ports": [{"name": "https", "containerPort": PERSPECTIVE_PORT, "protocol": "TCP"}],
        "env": [{"name": "HOME", "value": "/tmp"}, {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}, *audit["env"]],
        "resources": PERSPECTIVE_RESOURCES,
        "securityContext": container_security(),
        "startupProbe": tcp_probe(PERSPECTIVE_PORT, period=2, failures=30),
        "livenessProbe": tcp_probe(PERSPECTIVE_PORT, period=10, failures=3),
        "readinessProbe": {"exec": {"command": readiness_command()}, "periodSeconds": 10, "timeoutSeconds": 5,
                           "failureThreshold": 3},
        "volumeMounts": [
            {"name": "settings", "mountPath": SETTINGS_PATH, "subPath": "settings.yaml", "readOnly": True},
            {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
            *audit["mounts"],
        ],
    }
    resolver = {
        "name": "resolver",
        "image": resolver_image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["unbound", "-d", "-c", f"{UNBOUND_DIR}/unbound.conf"],
        "ports": [{"name": "dns", "containerPort": RESOLVER_PORT, "protocol": "UDP"},
                  {"name": "dns-tcp", "containerPort": RESOLVER_PORT, "protocol": "TCP"}],
        "resources": RESOLVER_RESOURCES,
        "securityContext": container_security(),
        "livenessProbe": tcp_probe(RESOLVER_PORT, period=10, failures=3),
        "readinessProbe": tcp_probe(RESOLVER_PORT, period=5, failures=2),
        "volumeMounts": [{"name": "unbound", "mountPath": UNBOUND_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    return deployment(name, ns, labels, selector, replicas=replicas, settings_sha=settings_sha, pod={
        # Every lookup of the pod (getaddrinfo too) goes to its own Unbound, which
        # binds 127.0.0.1:53 as a non-root user thanks to the (namespaced, "safe") sysctl.
        "dnsPolicy": "None",
        "dnsConfig": {"nameservers": ["127.0.0.1"], "options": [{"name": "ndots", "value": "1"}]},
        "securityContext": {**pod_security(), "sysctls": [
            {"name": "net.ipv4.ip_unprivileged_port_start", "value": "53"}]},
        "topologySpreadConstraints": spread(selector, zones_required=zones_required),
        "terminationGracePeriodSeconds": 30,
        **({"initContainers": audit["init"]} if audit["init"] else {}),
        "containers": [perspective, resolver],
        "volumes": [
            {"name": "settings", "configMap": {"name": settings_map}},
            {"name": "unbound", "configMap": {"name": unbound_map}},
            {"name": "tls", "secret": {"secretName": tls_secret_name, "defaultMode": 0o440}},
            tmp,
            *audit["volumes"],
        ],
    })


def coordinator_deployment(name: str, ns: str, labels: dict[str, str], selector: dict[str, str], *,
                           replicas: int, image: str, settings_map: str, tls_secret_name: str,
                           client_secret_name: str, app_secret_name: str, settings_sha: str,
                           zones_required: bool, audit: dict[str, Any]) -> dict[str, Any]:
    """The coordinator: TLS listener, API keys and hash secret from a Secret (env wins over file)."""
    def secret_env(var: str, key: str) -> dict[str, Any]:
        return {"name": var, "valueFrom": {"secretKeyRef": {"name": app_secret_name, "key": key}}}

    container = {
        "name": "coordinator",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-m", "service", "coordinator", "--settings", SETTINGS_PATH],
        "ports": [{"name": "https", "containerPort": COORDINATOR_PORT, "protocol": "TCP"},
                  {"name": "internal", "containerPort": COORDINATOR_INTERNAL_PORT, "protocol": "TCP"}],
        "env": [{"name": "HOME", "value": "/tmp"}, {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
                *(secret_env(var, key) for var, key in APP_SECRET_KEYS.items()),
                *audit["env"]],
        "resources": COORDINATOR_RESOURCES,
        "securityContext": container_security(),
        # process health on the internal listener (never in the Service); readiness is the deep
        # /readyz on the API port: a quorum of perspectives in >= 2 RIRs answers
        "startupProbe": http_probe("/healthz", COORDINATOR_INTERNAL_PORT, period=2, failures=30),
        "livenessProbe": http_probe("/healthz", COORDINATOR_INTERNAL_PORT, period=10, failures=3),
        "readinessProbe": https_probe("/readyz", COORDINATOR_PORT, period=5, failures=2),
        "volumeMounts": [
            {"name": "settings", "mountPath": SETTINGS_PATH, "subPath": "settings.yaml", "readOnly": True},
            {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
            {"name": "client-tls", "mountPath": CLIENT_TLS_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
            *audit["mounts"],
        ],
    }
    return deployment(name, ns, labels, selector, replicas=replicas, settings_sha=settings_sha, pod={
        "securityContext": pod_security(),
        "topologySpreadConstraints": spread(selector, zones_required=zones_required),
        "terminationGracePeriodSeconds": 30,
        **({"initContainers": audit["init"]} if audit["init"] else {}),
        "containers": [container],
        "volumes": [
            {"name": "settings", "configMap": {"name": settings_map}},
            {"name": "tls", "secret": {"secretName": tls_secret_name, "defaultMode": 0o440}},
            {"name": "client-tls", "secret": {"secretName": client_secret_name, "defaultMode": 0o440}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
            *audit["volumes"],
        ],
    })
