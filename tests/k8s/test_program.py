"""The k8s target end to end under Pulumi's mocks: every object of the example stack validated
with kubernetes-validate (strict, Kubernetes 1.33) and the issue's invariants asserted on the
recorded plan."""

from __future__ import annotations

import json

import jsonschema
import kubernetes_validate.utils as kv
import pytest
import yaml

from plan.k8s.objects import PERSPECTIVE_PORT, RESOLVER_PORT
from preview.mocks import PlannedResource, ProgramRun
from tests.k8s.conftest import K8S_VERSION, RULE_API, run_k8s, validate_rule, validate_strict

PERSPECTIVES = ("us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "ap-southeast-2")
EGRESS = ["198.51.100.16/28", "203.0.113.32/28"]


def k8s_objects(run: ProgramRun) -> list[PlannedResource]:
    return [r for r in run.resources if r.type.startswith("kubernetes:")]


def kind(run: ProgramRun, k: str) -> list[PlannedResource]:
    return [r for r in k8s_objects(run) if r.inputs["kind"] == k]


def provider_name(run: ProgramRun, res: PlannedResource) -> str:
    urn = res.provider.split("::")[-2] if res.provider else ""
    return urn


def by_namespace(resources: list[PlannedResource], ns: str) -> list[PlannedResource]:
    return [r for r in resources if r.inputs["metadata"].get("namespace") == ns]


def pod_specs(run: ProgramRun, component: str) -> list[tuple[PlannedResource, dict]]:
    return [(d, d.inputs["spec"]["template"]["spec"]) for d in kind(run, "Deployment")
            if d.inputs["metadata"]["labels"]["app.kubernetes.io/component"] == component]


# ----------------------------------------------------------------------------- schema
@pytest.mark.parametrize("which", ["fleet_run", "lab_run"])
def test_every_object_passes_strict_schema_validation(which, request):
    run = request.getfixturevalue(which)
    objects = k8s_objects(run)
    assert len(objects) >= 30
    builtin = [r for r in objects if r.inputs["apiVersion"] != RULE_API]
    for res in builtin:
        validate_strict(res.inputs)
    # the library's own entry point agrees (one object of each kind)
    for res in {r.inputs["kind"]: r for r in builtin}.values():
        assert kv.validate(res.inputs, K8S_VERSION, strict=True) == K8S_VERSION, res.name
    (rule,) = [r for r in objects if r.inputs["apiVersion"] == RULE_API]  # a CRD: its own schema
    validate_rule(rule.inputs)


def test_strict_validation_rejects_a_typo(fleet_run):
    """The schema check can fail: an unknown field in a rendered Deployment is refused."""
    deployment = json.loads(json.dumps(kind(fleet_run, "Deployment")[0].inputs))
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = {}
    with pytest.raises(kv.ValidationError):
        kv.validate(deployment, K8S_VERSION, strict=True)
    with pytest.raises(jsonschema.ValidationError):
        validate_strict(deployment)


# ----------------------------------------------------------------------------- providers
def test_one_explicit_provider_per_cluster_and_nothing_on_a_default_provider(fleet_run):
    providers = [r for r in fleet_run.resources if r.type == "pulumi:providers:kubernetes"]
    names = sorted(p.name for p in providers)
    assert names == sorted(f"k8s-{r}" for r in (*PERSPECTIVES, "us-east-1"))
    for p in providers:
        assert p.parent.endswith("pulumi:pulumi:Stack::mpic-k8s"), "providers live at the program root"
        assert p.inputs["kubeconfig"].startswith("apiVersion: v1"), "never an ambient kubeconfig"
        assert p.inputs["context"] == p.name.removeprefix("k8s-")
    assert fleet_run.default_provider_uses() == []
    # every Kubernetes object is on one of these providers, in the cluster of its region
    for res in k8s_objects(fleet_run):
        assert provider_name(fleet_run, res) in names, res.name


def test_objects_land_in_their_regions_cluster(fleet_run):
    for code in PERSPECTIVES:
        deps = [d for d, _ in pod_specs(fleet_run, "perspective")
                if d.inputs["metadata"]["labels"]["mpic-fleet.io/region"] == code]
        assert len(deps) == 1 and provider_name(fleet_run, deps[0]) == f"k8s-{code}"
    (coord, _), = pod_specs(fleet_run, "coordinator")
    assert provider_name(fleet_run, coord) == "k8s-us-east-1"


# ----------------------------------------------------------------------------- workloads
@pytest.mark.parametrize("component", ["perspective", "coordinator"])
def test_replicas_spread_probes_limits_and_security(fleet_run, component):
    specs = pod_specs(fleet_run, component)
    assert len(specs) == (5 if component == "perspective" else 1)
    for dep, pod in specs:
        assert dep.inputs["spec"]["replicas"] >= 2
        # the coordinator's autoscaler owns its replica count after the first rollout
        assert ("spec.replicas" in dep.ignore_changes) is (component == "coordinator")
        zone = [c for c in pod["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone"]
        assert zone and zone[0]["whenUnsatisfiable"] == "DoNotSchedule"
        assert zone[0]["labelSelector"]["matchLabels"] == dep.inputs["spec"]["selector"]["matchLabels"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for c in pod["containers"]:
            assert c["livenessProbe"] and c["readinessProbe"], c["name"]
            assert set(c["resources"]["limits"]) == {"cpu", "memory"}
            assert set(c["resources"]["requests"]) == {"cpu", "memory"}
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
            assert not c["image"].endswith(":latest")


def test_every_workload_has_a_pdb_selecting_its_pods(fleet_run):
    for dep in kind(fleet_run, "Deployment"):
        ns = dep.inputs["metadata"]["namespace"]
        pdbs = [p for p in by_namespace(kind(fleet_run, "PodDisruptionBudget"), ns)
                if provider_name(fleet_run, p) == provider_name(fleet_run, dep)]
        assert len(pdbs) == 1
        assert pdbs[0].inputs["spec"]["selector"] == dep.inputs["spec"]["selector"]
        assert pdbs[0].inputs["spec"]["maxUnavailable"] == 1


def test_each_perspective_pod_has_its_own_resolver_sidecar(fleet_run):
    for dep, pod in pod_specs(fleet_run, "perspective"):
        names = [c["name"] for c in pod["containers"]]
        assert names == ["perspective", "resolver"]
        resolver = pod["containers"][1]
        assert resolver["command"][0] == "unbound"
        conf_map = next(v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "unbound")
        ns = dep.inputs["metadata"]["namespace"]
        conf = next(c for c in by_namespace(kind(fleet_run, "ConfigMap"), ns)
                    if c.inputs["metadata"]["name"] == conf_map
                    and provider_name(fleet_run, c) == provider_name(fleet_run, dep))
        assert f"interface: 0.0.0.0@{RESOLVER_PORT}" in conf.inputs["data"]["unbound.conf"]
        assert "access-control: 127.0.0.0/8 allow" in conf.inputs["data"]["unbound.conf"]
        # getaddrinfo (the HTTP checks) also asks the sidecar, never the cluster DNS's shared cache
        assert "interface: 127.0.0.1@53" in conf.inputs["data"]["unbound.conf"]
        assert pod["dnsPolicy"] == "None" and pod["dnsConfig"]["nameservers"] == ["127.0.0.1"]
        assert {"name": "net.ipv4.ip_unprivileged_port_start", "value": "53"} in pod["securityContext"]["sysctls"]
        settings_name = next(v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "settings")
        settings = next(c for c in by_namespace(kind(fleet_run, "ConfigMap"), ns)
                        if c.inputs["metadata"]["name"] == settings_name
                        and provider_name(fleet_run, c) == provider_name(fleet_run, dep))
        doc = yaml.safe_load(settings.inputs["data"]["settings.yaml"])
        assert doc["resolver"] == {"nameservers": ["127.0.0.1"], "port": RESOLVER_PORT}
        assert doc["code"] == dep.inputs["metadata"]["labels"]["mpic-fleet.io/region"]


def test_perspective_network_policy_admits_only_the_hub_egress(fleet_run):
    policies = [p for p in kind(fleet_run, "NetworkPolicy")
                if p.inputs["metadata"]["labels"]["app.kubernetes.io/component"] == "perspective"]
    assert len(policies) == 5
    for pol in policies:
        spec = pol.inputs["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        (rule,) = spec["ingress"]
        assert [peer["ipBlock"]["cidr"] for peer in rule["from"]] == EGRESS
        assert rule["ports"] == [{"protocol": "TCP", "port": PERSPECTIVE_PORT}]
        ports = {(p["protocol"], p["port"]) for e in spec["egress"] for p in e["ports"]}
        assert ports == {("UDP", 53), ("TCP", 53), ("TCP", 80), ("TCP", 443)}


def test_every_perspective_service_is_restricted_and_has_its_tls_secret(fleet_run):
    services = [s for s in kind(fleet_run, "Service")
                if s.inputs["metadata"]["labels"]["app.kubernetes.io/component"] == "perspective"]
    assert len(services) == 5
    for svc in services:
        spec = svc.inputs["spec"]
        assert spec["type"] == "LoadBalancer"
        assert spec["loadBalancerSourceRanges"] == EGRESS
        assert spec["externalTrafficPolicy"] == "Local", "NetworkPolicy must see the hub's address"
        cluster, ns = provider_name(fleet_run, svc), svc.inputs["metadata"]["namespace"]
        secrets = [s for s in by_namespace(kind(fleet_run, "Secret"), ns)
                   if provider_name(fleet_run, s) == cluster and s.inputs["type"] == "kubernetes.io/tls"]
        assert len(secrets) == 1
        data = secrets[0].inputs["stringData"]
        region = cluster.removeprefix("k8s-")
        assert data["tls.crt"] == f"-----BEGIN CERTIFICATE-----\nlink-{region}-cert\n-----END CERTIFICATE-----\n"
        assert "link-" + region + "-key" in data["tls.key"]
        assert "kit-ca-cert" in data["ca.crt"]
        (dep,) = [d for d in by_namespace(kind(fleet_run, "Deployment"), ns) if provider_name(fleet_run, d) == cluster]
        vols = dep.inputs["spec"]["template"]["spec"]["volumes"]
        assert {"name": "tls", "secret": {"secretName": secrets[0].inputs["metadata"]["name"], "defaultMode": 0o440}} in vols


def test_perspective_certificates_name_the_url_the_coordinator_calls(fleet_run):
    csrs = {r.name: r.inputs for r in fleet_run.by_type("tls:index/certRequest:CertRequest")}
    (settings,) = [c for c in kind(fleet_run, "ConfigMap") if c.inputs["metadata"]["name"] == "mpic-coordinator-settings"]
    doc = yaml.safe_load(settings.inputs["data"]["settings.yaml"])
    assert [p["code"] for p in doc["perspectives"]] == list(PERSPECTIVES)
    for p in doc["perspectives"]:
        host = p["url"].removeprefix("https://").split(":")[0]
        assert csrs[f"link-{p['code']}-csr"]["dnsNames"] == [host]
    certs = {r.name: r.inputs for r in fleet_run.by_type("tls:index/locallySignedCert:LocallySignedCert")}
    assert "server_auth" in certs["link-eu-west-1-cert"]["allowedUses"]
    assert "client_auth" not in certs["link-eu-west-1-cert"]["allowedUses"]
    assert "client_auth" in certs["kit-ca-client-cert"]["allowedUses"]
    assert doc["default_perspective_count"] == 5 and doc["max_attempts"] == 2


def test_coordinator_autoscales_is_exposed_with_tls_and_keeps_secrets_out_of_the_config(fleet_run):
    (hpa,) = kind(fleet_run, "HorizontalPodAutoscaler")
    assert hpa.inputs["spec"]["minReplicas"] == 2 and hpa.inputs["spec"]["maxReplicas"] == 6
    assert hpa.inputs["spec"]["scaleTargetRef"]["name"] == "mpic-coordinator"
    (svc,) = [s for s in kind(fleet_run, "Service") if s.inputs["metadata"]["name"] == "mpic-coordinator"]
    assert svc.inputs["spec"]["type"] == "LoadBalancer"
    assert svc.inputs["spec"]["ports"][0]["port"] == 443
    (settings,) = [c for c in kind(fleet_run, "ConfigMap") if c.inputs["metadata"]["name"] == "mpic-coordinator-settings"]
    text = settings.inputs["data"]["settings.yaml"]
    assert "key-one" not in text and "hash-secret-value" not in text
    assert yaml.safe_load(text)["tls"]["cert"] == "/etc/mpic/tls/tls.crt"
    (app,) = [s for s in kind(fleet_run, "Secret") if s.inputs["metadata"]["name"] == "mpic-coordinator-secrets"]
    assert json.loads(app.inputs["stringData"]["api-keys"]) == ["key-one", "key-two"]
    assert app.inputs["stringData"]["hash-secret"] == "hash-secret-value"
    (_, pod), = pod_specs(fleet_run, "coordinator")
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["MPIC_API_KEYS"]["valueFrom"]["secretKeyRef"] == {"name": "mpic-coordinator-secrets", "key": "api-keys"}
    probe = pod["containers"][0]["readinessProbe"]["httpGet"]
    assert probe["scheme"] == "HTTPS" and probe["path"] == "/readyz"  # deep: a quorum of perspectives answers
    live = pod["containers"][0]["livenessProbe"]["httpGet"]
    assert live == {"path": "/healthz", "port": 9090, "scheme": "HTTP"}  # the internal listener
    assert yaml.safe_load(text)["internal_listen_port"] == 9090
    (service,) = [s for s in kind(fleet_run, "Service") if s.inputs["metadata"]["name"] == "mpic-coordinator"]
    assert [p["targetPort"] for p in service.inputs["spec"]["ports"]] == [8443]  # 9090 is never published


def test_outputs_follow_the_smoke_suites_status_contract(fleet_run):
    out = fleet_run.outputs
    assert set(out) >= {"stack", "coordinator_url", "api_key", "ca_cert", "test_domain", "perspectives", "hosts"}
    assert out["k8s_lab_mode"] is False and out["compliant"] is True
    assert len(out["k8s_clusters"]) == 6
    assert (out["auth_failure_status"], out["api_paths"]) == (401, ["/v1/mpic", "/mpic"])
    assert out["ejbca_mpic_validator"]["url"] == "https://mpic.example-ca.net/v1/mpic"
    assert out["coordinator_url"] == "https://mpic.example-ca.net" and out["api_key"] == "key-one"
    assert "kit-ca-cert" in out["ca_cert"]
    assert [p["code"] for p in out["perspectives"]] == list(PERSPECTIVES)
    hosts = {h["name"]: h for h in out["hosts"]}
    for p in out["perspectives"]:
        assert p["url"] == f"https://{p['code']}.perspectives.mpic.example-ca.net:8443"
        (name,) = p["hosts"]
        assert hosts[name]["role"] == "perspective"
        assert hosts[name]["kubectl"] == {"context": p["code"], "namespace": "mpic-perspective",
                                          "container": "perspective",
                                          "selector": "app.kubernetes.io/name=mpic-perspective"}
    assert hosts["coord-us-east-1"]["kubectl"]["namespace"] == "mpic-coordinator"


# ----------------------------------------------------------------------------- lab mode
def test_lab_mode_uses_one_cluster_with_a_namespace_per_region(lab_run):
    providers = lab_run.by_type("pulumi:providers:kubernetes")
    assert [p.name for p in providers] == ["k8s-us-east-1"]
    namespaces = sorted(n.inputs["metadata"]["name"] for n in kind(lab_run, "Namespace"))
    assert namespaces == sorted(["mpic-coordinator"] + [f"mpic-{c}" for c in PERSPECTIVES])
    for svc in kind(lab_run, "Service"):
        if svc.inputs["metadata"]["labels"]["app.kubernetes.io/component"] == "perspective":
            assert svc.inputs["spec"]["type"] == "ClusterIP"
    for pol in kind(lab_run, "NetworkPolicy"):
        if pol.inputs["metadata"]["labels"]["app.kubernetes.io/component"] == "perspective":
            (peer,) = pol.inputs["spec"]["ingress"][0]["from"]
            assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "mpic-coordinator"}
    assert lab_run.outputs["k8s_lab_mode"] is True


def test_lab_mode_requires_testing_compliance_mode():
    run = run_k8s(k8s={"labMode": True, "clusters": {}})
    assert run.error is not None and "mpic:k8s.labMode" in run.error
    assert "mpic:complianceMode: testing" in run.error
    assert run.resources == []


# ----------------------------------------------------------------------------- cluster sources
def test_missing_kubeconfig_is_refused_before_any_resource():
    run = run_k8s(drop=("mpic:kubeconfig",))
    assert run.error is not None and run.error.startswith("mpic:kubeconfig: missing")
    assert "ambient" in run.error and run.resources == []


def test_bad_k8s_config_is_a_run_error():
    run = run_k8s(k8s={"hubEgressCidrs": []})
    assert run.error is not None and "mpic:k8s.hubEgressCidrs: missing" in run.error
    assert run.resources == []


def test_per_cluster_kubeconfig_entries_and_eks():
    clusters = {"us-east-1": {"context": "us-east-1"}, "us-west-2": {"kubeconfig": "usw2"},
                "eu-west-1": {"kubeconfig": "euw1", "context": "prod"},
                "sa-east-1": {"eks": {"subnetIds": ["subnet-0a", "subnet-0b"], "nodeCount": 2}}}
    entries = {"usw2": "apiVersion: v1 # usw2", "euw1": "apiVersion: v1 # euw1"}
    run = run_k8s({"mpic:kubeconfigs": entries}, k8s={"clusters": clusters})
    assert run.error is None, run.error
    providers = {p.name: p.inputs for p in run.by_type("pulumi:providers:kubernetes")}
    assert providers["k8s-us-west-2"]["kubeconfig"] == entries["usw2"] and "context" not in providers["k8s-us-west-2"]
    assert providers["k8s-eu-west-1"]["kubeconfig"] == entries["euw1"] and providers["k8s-eu-west-1"]["context"] == "prod"
    kubeconfig = json.loads(providers["k8s-sa-east-1"]["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] == "https://eks-sa-east-1-cluster.eks.example"
    assert kubeconfig["users"][0]["user"]["exec"]["args"][-1] == "sa-east-1"
    (cluster,) = run.by_type("aws:eks/cluster:Cluster")
    assert cluster.inputs["vpcConfig"]["subnetIds"] == ["subnet-0a", "subnet-0b"]
    assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is False
    (nodes,) = run.by_type("aws:eks/nodeGroup:NodeGroup")
    assert nodes.inputs["scalingConfig"]["minSize"] == 2
    assert [p.name for p in run.by_type("pulumi:providers:aws")] == ["aws-sa-east-1"]
    assert run.default_provider_uses() == []
    host = next(h for h in run.outputs["hosts"] if h["name"] == "persp-sa-east-1")
    assert host["kubectl"]["context"] == "mpic-sa-east-1"


def test_a_missing_kubeconfigs_entry_names_the_entry():
    run = run_k8s({"mpic:kubeconfigs": {"other": "x"}}, k8s={"clusters": {"us-west-2": {"kubeconfig": "usw2"}}})
    assert run.error is not None and "no entry 'usw2'" in run.error and "other" in run.error


def test_missing_kubeconfigs_secret_is_refused():
    run = run_k8s(k8s={"clusters": {"us-west-2": {"kubeconfig": "usw2"}}})
    assert run.error is not None and run.error.startswith("mpic:kubeconfigs: missing")
    assert "us-west-2" in run.error


def test_standby_hub_gets_a_coordinator_and_route53_failover():
    run = run_k8s(k8s={"standbyHub": "us-west-1", "failoverZoneId": "Z0EXAMPLEZONE",
                       "clusters": {"us-west-1": {"context": "hub-b"}}})
    assert run.error is None, run.error
    coords = [d for d in kind(run, "Deployment") if d.inputs["metadata"]["name"] == "mpic-coordinator"]
    assert sorted(provider_name(run, d) for d in coords) == ["k8s-us-east-1", "k8s-us-west-1"]
    providers = {p.name: p.inputs for p in run.by_type("pulumi:providers:kubernetes")}
    assert providers["k8s-us-west-1"]["context"] == "hub-b"
    records = {r.inputs["setIdentifier"]: r.inputs for r in run.by_type("aws:route53/record:Record")}
    assert set(records) == {"primary-us-east-1", "standby-us-west-1"}
    assert records["primary-us-east-1"]["name"] == "mpic.example-ca.net"
    assert records["primary-us-east-1"]["aliases"][0]["name"] == "us-east-1.mpic.example-ca.net"
    assert records["standby-us-west-1"]["failoverRoutingPolicies"] == [{"type": "SECONDARY"}]
    checks = sorted(c.inputs["fqdn"] for c in run.by_type("aws:route53/healthCheck:HealthCheck"))
    assert checks == ["us-east-1.mpic.example-ca.net", "us-west-1.mpic.example-ca.net"]
    assert [p.name for p in run.by_type("pulumi:providers:aws")] == ["aws-us-east-1"]
    csr = {r.name: r.inputs for r in run.by_type("tls:index/certRequest:CertRequest")}["kit-ca-server-csr"]
    assert csr["dnsNames"] == ["mpic.example-ca.net", "us-east-1.mpic.example-ca.net", "us-west-1.mpic.example-ca.net",
                               "mpic-coordinator.mpic-coordinator.svc"]  # the last: the canary's in-cluster URL
    assert run.default_provider_uses() == []
    for res in k8s_objects(run):
        if res.inputs["apiVersion"] != RULE_API:
            validate_strict(res.inputs)
    (job,) = kind(run, "CronJob")  # one canary, next to the primary hub's coordinator
    assert provider_name(run, job) == "k8s-us-east-1"


def test_credentials_come_from_the_programs_secrets_when_not_given():
    from stacks.k8s import ClusterCredentials, credentials_of

    class Old:  # StackSecrets before the k8s fields
        api_keys = hash_secret = None

    class New(Old):
        kubeconfig, kubeconfigs = "kc", {"e": "x"}

    assert credentials_of(Old()) == ClusterCredentials()
    assert credentials_of(New()) == ClusterCredentials(kubeconfig="kc", kubeconfigs={"e": "x"})


def test_the_kits_entry_point_never_falls_back_to_an_ambient_kubeconfig():
    """Through the real __main__.py: every provider gets mpic:kubeconfig; without it the program
    refuses before registering anything."""
    from preview.mocks import run_program
    from tests.k8s.conftest import SECRETS, mocks, stack_config

    run = run_program({**stack_config(), **SECRETS}, stack="k8s", secret_keys=list(SECRETS), mocks=mocks(), preview=True)
    assert run.error is None, run.error
    providers = run.by_type("pulumi:providers:kubernetes")
    assert len(providers) == 6
    assert all(p.inputs["kubeconfig"] == SECRETS["mpic:kubeconfig"] for p in providers)
    no_kubeconfig = {k: v for k, v in SECRETS.items() if k != "mpic:kubeconfig"}
    run = run_program({**stack_config(), **no_kubeconfig}, stack="k8s", secret_keys=list(no_kubeconfig),
                      mocks=mocks(), preview=True)
    assert run.error is not None and run.error.startswith("mpic:kubeconfig: missing") and run.resources == []


def test_mpic_plan_k8s_uses_placeholder_cluster_secrets():
    """`mpic plan k8s` through the shared plan core: compliant, >= 5 clusters, no credential."""
    from preview.engine import plan_stack

    result = plan_stack("k8s")
    assert result.report.compliant and not result.violations and result.run.error is None
    # the example's documentation ranges and names are all that keeps it from `pulumi up`
    assert result.readiness and all("a deployed stack needs the operator's own value" in r or "a mutable tag" in r
                                     for r in result.readiness)
    assert any(r.startswith("mpic:k8s.image: 'ghcr.io/mpic-fleet/mpic-fleet:0.1.0' is a mutable tag")
               for r in result.readiness)
    providers = [r for r in result.run.resources if r.type == "pulumi:providers:kubernetes"]
    assert len(providers) >= 5
    kubeconfigs = {str(p.inputs.get("kubeconfig", "")) for p in providers}
    assert all("placeholder, not a credential" in k for k in kubeconfigs)
