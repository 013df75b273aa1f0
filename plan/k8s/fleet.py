"""The ``k8s`` target's planner: validated config -> clusters, names, labels and manifests.

Pure: takes the :class:`~config.model.StackConfig`, returns a :class:`FleetPlan`; no Pulumi, no
I/O. The components only turn these plans into resources. :func:`plan_fleet` raises
:class:`~config.errors.ConfigError` (key, value, rule, fix) before anything is built.

Layout. One cluster per perspective region, named after it, with the perspective in namespace
``<ns>-perspective``; the hub cluster (and an optional standby hub) runs the coordinator in
``<ns>-coordinator``. A hub region may also be a perspective's region: same cluster, one
provider. In lab mode everything runs on the hub's cluster, one namespace per region
(``<ns>-<region>``), reached through ClusterIP Services.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import yaml

from plan.k8s import audit as k8s_audit
from plan.k8s import objects as o
from plan import outputs, runtime
from plan.k8s.canary import K8sCanaryPlan, plan_k8s_canary, validate_canary
from config.catalog import lookup
from config.errors import ConfigError
from config.model import NAMESPACE, StackConfig
from config.target_k8s import KUBECONFIG_KEY, KUBECONFIGS_KEY, ClusterSpec, EksCluster

KEY = f"{NAMESPACE}:k8s"
PART_OF = "mpic-fleet"


def dns_label(code: str) -> str:
    """A region code or site name as a DNS-1123 label (``CA-DC_1`` -> ``ca-dc-1``)."""
    label = re.sub(r"[^a-z0-9-]+", "-", code.lower()).strip("-")
    return label[:50].rstrip("-") or "x"


def provider_name(region: str) -> str:
    """Logical name of the Kubernetes provider of ``region``'s cluster (plan convention)."""
    return f"k8s-{dns_label(region)}"


# ----------------------------------------------------------------------------- plan types
@dataclasses.dataclass(frozen=True)
class ClusterPlan:
    """One Kubernetes cluster and how the program reaches it."""

    region: str
    provider_name: str
    spec: ClusterSpec
    context: str | None
    """Context to select; None = the kubeconfig's current context."""
    kubeconfig_key: str | None
    """``kubeconfig`` (shared secret), ``kubeconfigs`` (entry map) or None (EKS)."""
    kubeconfig_entry: str | None
    eks: EksCluster | None


@dataclasses.dataclass(frozen=True)
class PerspectivePlan:
    code: str
    rir: str
    cluster: str
    """Region of the cluster the perspective runs in (its own; the hub's in lab mode)."""
    namespace: str
    labels: dict[str, str]
    selector: dict[str, str]
    hostname: str
    url: str
    cert_dns_names: tuple[str, ...]
    tls_secret_name: str
    objects: dict[str, dict[str, Any]]
    """role -> manifest: namespace, settings, unbound, deployment, pdb, netpol."""
    service: dict[str, Any]
    """The intercluster entry point (LoadBalancer restricted to the hub egress; ClusterIP in a lab)."""


@dataclasses.dataclass(frozen=True)
class CoordinatorPlan:
    region: str
    namespace: str
    labels: dict[str, str]
    selector: dict[str, str]
    hostname: str
    """This hub's own name (``<region>.<coordinatorHostname>``), the failover health-check target."""
    tls_secret_name: str
    client_secret_name: str
    app_secret_name: str
    objects: dict[str, dict[str, Any]]
    """role -> manifest: namespace, settings, deployment, pdb, hpa, netpol, service."""


@dataclasses.dataclass(frozen=True)
class FailoverPlan:
    zone_id: str
    hostname: str
    primary: str
    """Hostname of the primary hub's coordinator."""
    secondary: str


@dataclasses.dataclass(frozen=True)
class FleetPlan:
    lab_mode: bool
    clusters: tuple[ClusterPlan, ...]
    perspectives: tuple[PerspectivePlan, ...]
    coordinators: tuple[CoordinatorPlan, ...]
    coordinator_hostname: str
    coordinator_cert_dns_names: tuple[str, ...]
    failover: FailoverPlan | None
    canary: K8sCanaryPlan | None = None
    """The canary, next to the primary hub's coordinator (None with ``mpic:canary.enabled: false``)."""

    def cluster(self, region: str) -> ClusterPlan:
        return next(c for c in self.clusters if c.region == region)


# ----------------------------------------------------------------------------- validation
def _err(key: str, value: Any, message: str) -> ConfigError:
    return ConfigError(f"{key}: {message}", key=key, value=value)


def validate(fleet: StackConfig) -> None:
    """Everything the ``k8s`` target needs beyond the model; ConfigError on the first problem."""
    k = fleet.k8s
    if fleet.target != "k8s":
        raise _err(f"{NAMESPACE}:target", fleet.target, f"'{fleet.target}' is not the k8s target; set mpic:target: k8s.")
    if k.image is None:
        raise _err(f"{KEY}.image", None, "missing. Every cluster runs the kit's runtime image: build its context with "
                   "./scripts/mpic build image-context, then docker buildx build --platform linux/amd64,linux/arm64 "
                   "-t REGISTRY/mpic-fleet:TAG --push dist/image, and set mpic:k8s.image to that pinned reference "
                   "(docs/kubernetes.md).")
    if k.lab_mode and fleet.compliance_mode != "testing":
        raise _err(f"{KEY}.labMode", True,
                   "a lab runs every perspective in ONE cluster (a namespace per region), so all validation "
                   "traffic leaves from the same place: not compliant with BR 3.2.2.9. Set "
                   "mpic:complianceMode: testing to run the lab, or set labMode: false and give each "
                   "perspective region its own cluster (mpic:k8s.clusters).")
    labels = {dns_label(p.code): p.code for p in fleet.perspectives}
    if len(labels) != len(fleet.perspectives):
        raise _err(f"{NAMESPACE}:perspectives", list(fleet.codes),
                   "two perspective codes map to the same cluster name after lower-casing; rename a site.")
    for region, spec in k.clusters.items():
        found = lookup(labels.get(region, region))
        if spec.eks is not None and (found is None or found.provider != "aws"):
            raise _err(f"{KEY}.clusters.{region}.eks", region, f"'{labels.get(region, region)}' is not an AWS "
                       "region, so the stack cannot create an EKS cluster for it; name an existing cluster "
                       "(context/kubeconfig) instead.")
    if k.lab_mode:
        extra = sorted(set(k.clusters) - {k.hub})
        if extra:
            raise _err(f"{KEY}.clusters", extra, f"labMode runs on the hub's cluster ({k.hub}) only; remove "
                       f"{', '.join(extra)} or set labMode: false.")
        validate_canary(fleet)
        return
    if not k.hub_egress_cidrs:
        raise _err(f"{KEY}.hubEgressCidrs", [], "missing. Every perspective's load balancer admits only the hub "
                   "clusters' egress (NAT) addresses; list them, e.g. hubEgressCidrs: [198.51.100.16/28].")
    if k.perspective_domain is None:
        raise _err(f"{KEY}.perspectiveDomain", None, "missing. Perspective P is reached at "
                   "P.<perspectiveDomain> (its certificate's name); set e.g. perspectiveDomain: "
                   "perspectives.mpic.example-ca.net and point those names at the load balancers.")
    used = set(labels) | set(k.hubs)
    unknown = sorted(set(k.clusters) - used)
    if unknown:
        raise _err(f"{KEY}.clusters", unknown, f"'{unknown[0]}' is neither a perspective region nor a hub "
                   f"({', '.join(sorted(used))}); remove it or fix the region code.")
    seen: dict[tuple, str] = {}
    for label, code in labels.items():
        plan = _cluster_plan(fleet, label)
        ident = (plan.kubeconfig_key, plan.kubeconfig_entry, plan.context) if plan.eks is None else ("eks", label)
        if ident in seen:
            raise _err(f"{KEY}.clusters", [seen[ident], code],
                       f"perspectives {seen[ident]} and {code} would run in the same cluster, so their traffic "
                       "would leave from one place (BR 3.2.2.9 needs each perspective in its own region). "
                       "Give each its own cluster.")
        seen[ident] = code
    validate_canary(fleet)


def _cluster_plan(fleet: StackConfig, region: str) -> ClusterPlan:
    spec = fleet.k8s.cluster(region)
    if spec.eks is not None:
        return ClusterPlan(region, provider_name(region), spec, None, None, None, spec.eks)
    if spec.kubeconfig is not None:
        return ClusterPlan(region, provider_name(region), spec, spec.context, KUBECONFIGS_KEY, spec.kubeconfig, None)
    return ClusterPlan(region, provider_name(region), spec, spec.context or region, KUBECONFIG_KEY, None, None)


# ----------------------------------------------------------------------------- planners
def _labels(component: str, instance: str) -> tuple[dict[str, str], dict[str, str]]:
    selector = {"app.kubernetes.io/name": f"mpic-{component}", "app.kubernetes.io/instance": instance}
    labels = {**selector, "app.kubernetes.io/component": component, "app.kubernetes.io/part-of": PART_OF,
              "app.kubernetes.io/managed-by": "pulumi"}
    return labels, selector


def perspective_config_yaml(fleet: StackConfig, code: str, rir: str) -> str:
    """The perspective's settings file (``python -m service perspective --settings``): the one
    renderer, pod placement (TLS from the Secret volume, the Unbound sidecar on loopback)."""
    doc = runtime.perspective_settings(
        fleet, code, rir, listen_host="0.0.0.0", listen_port=o.PERSPECTIVE_PORT,
        tls={"cert": f"{o.TLS_DIR}/tls.crt", "key": f"{o.TLS_DIR}/tls.key", "client_ca": f"{o.TLS_DIR}/ca.crt"},
        resolver={"nameservers": ["127.0.0.1"], "port": o.RESOLVER_PORT},
        audit=k8s_audit.runtime_audit(fleet.audit.sink, code))
    return yaml.safe_dump(doc, sort_keys=False)


def _audit(fleet: StackConfig, site: str, ns: str, labels: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the shipper's ConfigMap, or none in a lab without a sink; the pod's audit pieces)."""
    sink = fleet.audit.sink
    pieces = k8s_audit.pod_pieces(fleet.k8s.shipper_image, sink, site, o.container_security())
    if sink is None:
        return {}, pieces
    conf = k8s_audit.fluent_bit_conf(sink, fleet.name)
    return {"shipper": o.config_map(k8s_audit.CONFIG_MAP, ns, labels, {k8s_audit.CONFIG_NAME: conf})}, pieces


def _sink_egress(fleet: StackConfig) -> tuple[tuple[str, int], ...]:
    sink = fleet.audit.sink
    return () if sink is None else (("TCP", k8s_audit.sink_port(sink)),)


def plan_perspective(fleet: StackConfig, code: str, rir: str) -> PerspectivePlan:
    k = fleet.k8s
    label = dns_label(code)
    labels, selector = _labels("perspective", label)
    labels = {**labels, "mpic-fleet.io/region": label}
    base = "mpic-perspective"
    if k.lab_mode:
        cluster, ns = k.hub, f"{k.namespace}-{label}"
        hostname = f"{base}.{ns}.svc"
        dns_names = (hostname, f"{hostname}.cluster.local")
        ingress = o.pod_peer(f"{k.namespace}-coordinator", {"app.kubernetes.io/name": "mpic-coordinator"})
    else:
        cluster, ns = label, f"{k.namespace}-perspective"
        hostname = f"{label}.{k.perspective_domain}"
        dns_names = (hostname,)
        ingress = o.ip_block_peers(k.hub_egress_cidrs)
    settings = perspective_config_yaml(fleet, code, rir)
    tls_name = f"{base}-tls"
    shipper, audit = _audit(fleet, code, ns, labels)
    shipped = "".join(m["data"][k8s_audit.CONFIG_NAME] for m in shipper.values())
    objects = {
        "namespace": o.namespace(ns, {"app.kubernetes.io/part-of": PART_OF, "mpic-fleet.io/region": label}),
        "settings": o.config_map(f"{base}-settings", ns, labels, {"settings.yaml": settings}),
        "unbound": o.config_map("mpic-unbound", ns, labels, {"unbound.conf": o.unbound_conf()}),
        "deployment": o.perspective_deployment(
            base, ns, labels, selector, replicas=fleet.perspective_replicas, image=k.image,
            resolver_image=k.resolver_image or k.image, settings_map=f"{base}-settings", unbound_map="mpic-unbound",
            tls_secret_name=tls_name, settings_sha=o.sha256(settings + o.unbound_conf() + shipped),
            zones_required=not k.lab_mode, audit=audit),
        "pdb": o.pdb(base, ns, labels, selector),
        "netpol": o.network_policy(base, ns, labels, selector, ingress_from=ingress, ingress_port=o.PERSPECTIVE_PORT,
                                   egress=tuple(dict.fromkeys((("UDP", 53), ("TCP", 53), ("TCP", 80), ("TCP", 443),
                                                               *_sink_egress(fleet))))),
        **shipper,
    }
    annotations = None if k.lab_mode else {"external-dns.alpha.kubernetes.io/hostname": hostname}
    svc = o.service(base, ns, labels, selector, port=o.PERSPECTIVE_PORT, target_port=o.PERSPECTIVE_PORT,
                    load_balancer=not k.lab_mode, source_ranges=k.hub_egress_cidrs, annotations=annotations)
    return PerspectivePlan(code=code, rir=rir, cluster=cluster, namespace=ns, labels=labels, selector=selector,
                           hostname=hostname, url=f"https://{hostname}:{o.PERSPECTIVE_PORT}",
                           cert_dns_names=dns_names, tls_secret_name=tls_name, objects=objects, service=svc)


def coordinator_config_yaml(fleet: StackConfig, perspectives: tuple[PerspectivePlan, ...],
                            site: str = "primary") -> str:
    """The coordinator's settings file (``site``: ``primary`` on the hub, ``standby`` on the
    standby hub); API keys and hash secret come from env (a Secret)."""
    doc = runtime.coordinator_settings(
        fleet, listen_host="0.0.0.0", listen_port=o.COORDINATOR_PORT,
        tls={"cert": f"{o.TLS_DIR}/tls.crt", "key": f"{o.TLS_DIR}/tls.key"},
        client_tls={"cert": f"{o.CLIENT_TLS_DIR}/tls.crt", "key": f"{o.CLIENT_TLS_DIR}/tls.key",
                    "ca": f"{o.CLIENT_TLS_DIR}/ca.crt"},
        perspectives=[{"code": p.code, "rir": p.rir, "url": p.url} for p in perspectives],
        internal_listen=("0.0.0.0", o.COORDINATOR_INTERNAL_PORT), audit=k8s_audit.runtime_audit(fleet.audit.sink, site))
    return yaml.safe_dump(doc, sort_keys=False)


def plan_coordinator(fleet: StackConfig, region: str, perspectives: tuple[PerspectivePlan, ...]) -> CoordinatorPlan:
    k = fleet.k8s
    label = dns_label(region)
    labels, selector = _labels("coordinator", label)
    labels = {**labels, "mpic-fleet.io/region": label}
    ns, base = f"{k.namespace}-coordinator", "mpic-coordinator"
    site = "primary" if region == k.hub else "standby"
    settings = coordinator_config_yaml(fleet, perspectives, site)
    shipper, audit = _audit(fleet, site, ns, labels)
    shipped = "".join(m["data"][k8s_audit.CONFIG_NAME] for m in shipper.values())
    hostname = f"{label}.{k.coordinator_hostname}"
    names = {"tls": f"{base}-tls", "client": f"{base}-client-tls", "app": f"{base}-secrets"}
    ingress = o.ip_block_peers(k.coordinator_source_cidrs) if k.coordinator_source_cidrs else None
    if ingress is not None and fleet.canary.enabled and region == k.hub:  # the canary calls from inside
        ingress.append({"podSelector": {"matchLabels": _labels("canary", dns_label(region))[1]}})
    annotations = None if k.lab_mode else {"external-dns.alpha.kubernetes.io/hostname": hostname}
    objects = {
        "namespace": o.namespace(ns, {"app.kubernetes.io/part-of": PART_OF, "mpic-fleet.io/region": label}),
        "settings": o.config_map(f"{base}-settings", ns, labels, {"settings.yaml": settings}),
        "deployment": o.coordinator_deployment(
            base, ns, labels, selector, replicas=fleet.coordinator_replicas, image=k.image,
            settings_map=f"{base}-settings", tls_secret_name=names["tls"], client_secret_name=names["client"],
            app_secret_name=names["app"], settings_sha=o.sha256(settings + shipped), zones_required=not k.lab_mode,
            audit=audit),
        "pdb": o.pdb(base, ns, labels, selector),
        "hpa": o.hpa(base, ns, labels, base, fleet.coordinator_replicas, k.coordinator_max_replicas),
        "netpol": o.network_policy(base, ns, labels, selector, ingress_from=ingress, ingress_port=o.COORDINATOR_PORT,
                                   egress=tuple(dict.fromkeys((("UDP", 53), ("TCP", 53), ("TCP", o.PERSPECTIVE_PORT),
                                                               *_sink_egress(fleet))))),
        "service": o.service(base, ns, labels, selector, port=443, target_port=o.COORDINATOR_PORT,
                             load_balancer=True, source_ranges=k.coordinator_source_cidrs, annotations=annotations),
        **shipper,
    }
    return CoordinatorPlan(region=region, namespace=ns, labels=labels, selector=selector, hostname=hostname,
                           tls_secret_name=names["tls"], client_secret_name=names["client"],
                           app_secret_name=names["app"], objects=objects)


def plan_fleet(fleet: StackConfig) -> FleetPlan:
    """Validate, then plan every cluster, perspective and coordinator of the fleet."""
    validate(fleet)
    k = fleet.k8s
    perspectives = tuple(plan_perspective(fleet, p.code, p.rir.value) for p in fleet.perspectives)
    coordinators = tuple(plan_coordinator(fleet, hub, perspectives) for hub in k.hubs)
    regions: list[str] = []
    for region in [p.cluster for p in perspectives] + list(k.hubs):
        if region not in regions:
            regions.append(region)
    clusters = tuple(_cluster_plan(fleet, r) for r in regions)
    failover = None
    if k.failover_zone_id is not None and k.standby_hub is not None:
        failover = FailoverPlan(zone_id=k.failover_zone_id, hostname=k.coordinator_hostname,
                                primary=coordinators[0].hostname, secondary=coordinators[1].hostname)
    dns_names = (k.coordinator_hostname,) + tuple(c.hostname for c in coordinators)
    service_name = f"mpic-coordinator.{k.namespace}-coordinator.svc"  # in-cluster: the canary's URL
    if k.lab_mode:
        dns_names += (service_name, "localhost")  # kubectl port-forward
    elif fleet.canary.enabled:
        dns_names += (service_name,)
    return FleetPlan(lab_mode=k.lab_mode, clusters=clusters, perspectives=perspectives, coordinators=coordinators,
                     coordinator_hostname=k.coordinator_hostname, coordinator_cert_dns_names=dns_names,
                     failover=failover, canary=_canary(fleet, coordinators[0], service_name))


def _canary(fleet: StackConfig, hub: CoordinatorPlan, service_name: str) -> K8sCanaryPlan | None:
    labels, selector = _labels("canary", dns_label(hub.region))
    return plan_k8s_canary(fleet, cluster=hub.region, namespace=hub.namespace,
                           labels={**labels, "mpic-fleet.io/region": dns_label(hub.region)}, selector=selector,
                           coordinator_selector=hub.selector, coordinator_url=f"https://{service_name}",
                           ca_secret=hub.tls_secret_name)


def all_manifests(plan: FleetPlan) -> list[tuple[str, dict[str, Any]]]:
    """(cluster region, manifest) for every object the plan renders, secrets excluded."""
    out: list[tuple[str, dict[str, Any]]] = []
    for p in plan.perspectives:
        out += [(p.cluster, m) for m in p.objects.values()] + [(p.cluster, p.service)]
    for c in plan.coordinators:
        out += [(c.region, m) for m in c.objects.values()]
    if plan.canary is not None:
        out += [(plan.canary.cluster, m) for m in plan.canary.objects.values()]
    return out


def status(fleet: StackConfig, plan: FleetPlan) -> dict[str, Any]:
    """The stack outputs the smoke suite reads (:mod:`plan.outputs`), without the secret API key and
    with ``ca_cert`` left to the program (the kit CA is an output of the CA component).

    Hosts are workloads; ``kubectl`` says where their pods are (context, namespace, label
    selector, container) for testinfra's kubectl backend (``kubectl://POD?context=..&namespace=..``).
    """
    def kubectl(region: str, namespace: str, component: str) -> dict[str, Any]:
        cluster = plan.cluster(region)
        context = cluster.context if cluster.eks is None else f"mpic-{region}"
        return {"context": context, "namespace": namespace, "container": component,
                "selector": f"app.kubernetes.io/name=mpic-{component}"}

    hosts = [{"name": f"persp-{dns_label(p.code)}", "role": "perspective", "address": p.hostname,
              "kubectl": kubectl(p.cluster, p.namespace, "perspective")} for p in plan.perspectives]
    hosts += [{"name": f"coord-{c.region}", "role": "coordinator", "address": c.hostname,
               "kubectl": kubectl(c.region, c.namespace, "coordinator")} for c in plan.coordinators]
    return outputs.status(
        stack=fleet.name, coordinator_url=f"https://{plan.coordinator_hostname}", ca_cert="",
        test_domain=fleet.test_domain, hosts=hosts, auth_failure_status=401, api_paths=outputs.KIT_API_PATHS,
        perspectives=[{"code": p.code, "rir": p.rir, "hosts": [f"persp-{dns_label(p.code)}"], "url": p.url}
                      for p in plan.perspectives])
