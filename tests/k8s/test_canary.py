"""The canary on Kubernetes: the planner's objects, the program's resources (strictly validated;
the PrometheusRule against the CRD's structure), the runtime loading what the pod gets, and the
refusals before any resource."""

from __future__ import annotations

import base64

import jsonschema
import kubernetes_validate.utils as kv
import pytest
import yaml

from preview.mocks import ProgramRun
from config.errors import ConfigError
from config.model import StackConfig
from local.pki import LocalCa
from plan.k8s import canary as k8s_canary
from plan.k8s import objects as o
from plan import runtime
from plan.canary import plan_canary
from plan.k8s.fleet import plan_fleet
from tests.k8s.conftest import K8S_VERSION, RULE_API, SECRETS, run_k8s, stack_config, validate_rule, validate_strict

FIVE = ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "ap-southeast-2"]
PROD = {"hubEgressCidrs": ["198.51.100.16/28"], "perspectiveDomain": "p.example.net",
        "image": "ghcr.io/example-ca/mpic-fleet:0.1.0"}
DNS = {"server": "192.0.2.53", "zone": "example.net"}


def fleet(**canary) -> StackConfig:
    return StackConfig.from_config({"target": "k8s", "perspectives": FIVE, "k8s": PROD,
                                    "canary": {"domain": "canary.example.net", "dns": DNS, **canary}}, name="c")


def objects(run: ProgramRun, kind: str) -> list[dict]:
    return [r.inputs for r in run.resources if r.type.startswith("kubernetes:") and r.inputs["kind"] == kind
            and r.inputs["metadata"]["labels"].get("app.kubernetes.io/component") == "canary"]


@pytest.fixture(scope="module")
def canary_objects(fleet_run) -> dict[str, dict]:
    out = {}
    for kind in ("CronJob", "ConfigMap", "Secret", "NetworkPolicy", "PrometheusRule"):
        (out[kind],) = objects(fleet_run, kind)
    return out


# ----------------------------------------------------------------------------- the program
def test_the_canary_objects_pass_strict_validation(canary_objects, fleet_run):
    for kind in ("CronJob", "ConfigMap", "Secret", "NetworkPolicy"):
        validate_strict(canary_objects[kind])
        assert kv.validate(canary_objects[kind], K8S_VERSION, strict=True) == K8S_VERSION
        assert canary_objects[kind]["metadata"]["namespace"] == "mpic-coordinator"
    comp = [r for r in fleet_run.resources if r.type == "mpic:k8s:Canary"]
    assert [c.name for c in comp] == ["canary"]
    providers = {r.provider.split("::")[-2] for r in fleet_run.resources
                 if r.type.startswith("kubernetes:") and r.parent == comp[0].urn}
    assert providers == {"k8s-us-east-1"}  # the primary hub's cluster, next to its coordinator


def test_the_cronjob_runs_once_per_interval_never_twice_as_the_other_pods_run(canary_objects):
    job = canary_objects["CronJob"]["spec"]
    assert (job["schedule"], job["concurrencyPolicy"], job["startingDeadlineSeconds"]) == ("*/5 * * * *", "Forbid", 300)
    assert (job["successfulJobsHistoryLimit"], job["failedJobsHistoryLimit"]) == (1, 3)
    spec = job["jobTemplate"]["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (0, 240)
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == o.pod_security()
    (c,) = pod["containers"]
    assert c["image"] == stack_config()["mpic:k8s"]["image"]
    assert c["command"] == ["python", "-m", "service", "canary", "--settings", "/etc/mpic-canary/settings.yaml",
                            "--once"]
    assert c["securityContext"] == o.container_security() and c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["resources"] == k8s_canary.RESOURCES
    assert c["envFrom"] == [{"secretRef": {"name": "mpic-canary-secrets"}}]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["ca"]["secret"] == {"secretName": "mpic-coordinator-tls", "defaultMode": 0o440,
                                       "items": [{"key": "ca.crt", "path": "ca.crt"}]}  # never tls.key
    assert volumes["settings"]["configMap"]["name"] == "mpic-canary-settings"
    labels = spec["template"]["metadata"]["labels"]
    assert canary_objects["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"].items() <= labels.items()


def test_the_secret_carries_the_api_key_and_the_tsig_secret_as_env(canary_objects, fleet_run):
    secret = canary_objects["Secret"]
    assert secret["stringData"] == {"MPIC_API_KEY": "key-one", "MPIC_DNS__KEY_SECRET": SECRETS["mpic:canaryTsigSecret"]}
    (res,) = [r for r in fleet_run.resources if r.name == "canary-secrets"]
    assert res.public_inputs["stringData"] == {"MPIC_API_KEY": "[secret]", "MPIC_DNS__KEY_SECRET": "[secret]"}
    text = canary_objects["ConfigMap"]["data"]["settings.yaml"]
    assert "key-one" not in text and SECRETS["mpic:canaryTsigSecret"] not in text


def test_the_planner_renders_the_whole_secret_the_component_only_fills_its_two_slots():
    plan = plan_fleet(fleet()).canary
    secret = k8s_canary.canary_secret(plan, api_key="key-one", tsig_secret="dHNpZw==")
    assert secret["metadata"]["name"] == plan.secret_name == "mpic-canary-secrets"
    assert secret["stringData"] == {runtime.CANARY_API_KEY_ENV: "key-one", runtime.CANARY_TSIG_ENV: "dHNpZw=="}
    assert set(secret["stringData"]) == {"MPIC_API_KEY", "MPIC_DNS__KEY_SECRET"}  # what the runtime reads
    validate_strict(secret)


def test_the_settings_reach_the_coordinator_in_cluster_over_the_kit_ca(canary_objects, fleet_run):
    doc = yaml.safe_load(canary_objects["ConfigMap"]["data"]["settings.yaml"])
    assert doc["coordinator_url"] == "https://mpic-coordinator.mpic-coordinator.svc"
    assert doc["ca_file"] == "/etc/mpic-canary/tls/ca.crt" and doc["domain"] == "canary.example-ca.net"
    assert doc["dns"] == {"provider": "rfc2136", "zone": "example-ca.net", "server": "192.0.2.53", "port": 53,
                          "key_name": "mpic-canary", "algorithm": "hmac-sha256"}
    assert doc["sink"] == {"kind": "pushgateway", "url": "http://prometheus-pushgateway.monitoring.svc:9091"}
    csr = {r.name: r.inputs for r in fleet_run.by_type("tls:index/certRequest:CertRequest")}["kit-ca-server-csr"]
    assert "mpic-coordinator.mpic-coordinator.svc" in csr["dnsNames"]  # the certificate names the URL
    out = fleet_run.outputs
    assert out["canary_cronjob"] == "mpic-coordinator/mpic-canary"
    assert out["canary_alerts"] == ["MpicCanaryCheckFailed", "MpicCanaryMargin", "MpicCanaryNotRun"]


def test_the_runtime_loads_the_configmap_with_the_secrets_env(canary_objects, tmp_path, monkeypatch):
    from service.settings import load_settings
    from service.settings_canary import CanarySettings

    ca = LocalCa.load_or_create(tmp_path / "ca")
    doc = yaml.safe_load(canary_objects["ConfigMap"]["data"]["settings.yaml"])
    doc["ca_file"] = str(ca.cert_path)  # where the pod mounts it
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(doc))
    for key, value in canary_objects["Secret"]["stringData"].items():
        monkeypatch.setenv(key, value)
    s = load_settings(CanarySettings, str(path))
    assert s.api_key.get_secret_value() == "key-one" and s.dns.key_secret.get_secret_value() == base64.b64encode(
        b"tsig-secret-value").decode()
    assert (s.stack, s.sink.kind, s.interval) == ("k8s", "pushgateway", 300.0)


def test_the_network_policy_admits_nothing_and_lets_out_only_what_a_run_needs(canary_objects):
    spec = canary_objects["NetworkPolicy"]["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in spec
    lookups, coordinator, dns, push = spec["egress"]
    assert lookups["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert coordinator == {"to": [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "mpic-coordinator", "app.kubernetes.io/instance": "us-east-1"}}}],
        "ports": [{"protocol": "TCP", "port": o.COORDINATOR_PORT}]}
    assert dns == {"to": [{"ipBlock": {"cidr": "192.0.2.53/32"}}], "ports": [{"protocol": "TCP", "port": 53}]}
    assert push == {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
                    "ports": [{"protocol": "TCP", "port": 9091}]}


def test_the_prometheus_rule_has_the_plans_alarms(canary_objects):
    rule = canary_objects["PrometheusRule"]
    validate_rule(rule)
    (group,) = rule["spec"]["groups"]
    cp = plan_canary(StackConfig.from_config({**{k.removeprefix("mpic:"): v for k, v in stack_config().items()
                                                 if k.startswith("mpic:")}}, name="k8s"))
    assert [r["expr"] for r in group["rules"]] == [a.expr for a in cp.alarms]
    assert [r["alert"] for r in group["rules"]] == ["MpicCanaryCheckFailed", "MpicCanaryMargin", "MpicCanaryNotRun"]
    assert [r["labels"]["severity"] for r in group["rules"]] == ["critical", "warning", "critical"]
    assert all(r["labels"]["stack"] == "k8s" and "email" not in r["labels"] for r in group["rules"])
    assert [r["annotations"]["description"] for r in group["rules"]] == [a.description for a in cp.alarms]


def test_the_rule_schema_can_fail(canary_objects):
    broken = yaml.safe_load(yaml.safe_dump(canary_objects["PrometheusRule"]))
    del broken["spec"]["groups"][0]["rules"][0]["expr"]
    with pytest.raises(jsonschema.ValidationError):
        validate_rule(broken)
    broken = yaml.safe_load(yaml.safe_dump(canary_objects["PrometheusRule"]))
    broken["spec"]["groups"][0]["rules"][1]["for"] = "five minutes"
    with pytest.raises(jsonschema.ValidationError):
        validate_rule(broken)


def test_mpic_plan_k8s_lists_the_cronjob_and_the_prometheus_rule():
    from preview.engine import plan_stack

    doc = plan_stack("k8s").to_json()
    assert doc["error"] is None and doc["policy_violations"] == []
    kinds = {(r["type"], r["name"]) for r in doc["resources"]}
    assert ("kubernetes:batch/v1:CronJob", "canary-cronjob") in kinds
    assert ("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "canary-rule") in kinds
    (secret,) = [r for r in doc["resources"] if r["name"] == "canary-secrets"]
    assert secret["inputs"]["stringData"] == {"MPIC_API_KEY": "[secret]", "MPIC_DNS__KEY_SECRET": "[secret]"}


# ----------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("canary, key, needle", [
    ({"domain": "canary.example-ca.net"}, "mpic:canary.dns", "mpic:canary.enabled: false"),
    ({"dns": {"server": "ns1.example-ca.net", "zone": "example-ca.net"}}, "mpic:canary.dns.server", "IP address"),
    ({"dns": {"server": "192.0.2.53:99999", "zone": "example-ca.net"}}, "mpic:canary.dns.server", "IP address"),
    ({"dns": {"server": "192.0.2.53", "zone": "other.example"}}, "mpic:canary.dns.zone", "canary.other.example"),
    ({"dns": {"server": "192.0.2.53", "zone": "example-ca.net"}, "domain": "canary.example-ca.net",
      "pushgateway": "prometheus-pushgateway:9091"}, "mpic:canary.pushgateway", "http://"),
])
def test_an_incomplete_canary_is_refused_before_any_resource(canary, key, needle):
    run = run_k8s({"mpic:canary": canary})
    assert run.resources == [] and run.error is not None and run.error.startswith(f"{key}:")
    assert needle in run.error


def test_a_missing_tsig_secret_is_refused_before_any_resource():
    run = run_k8s(drop=("mpic:canaryTsigSecret",))
    assert run.resources == [] and run.error.startswith("mpic:canaryTsigSecret: missing")
    assert "pulumi config set --secret mpic:canaryTsigSecret" in run.error
    assert "mpic:canary.enabled: false" in run.error


def test_the_canary_off_needs_neither_dns_nor_secret_and_creates_nothing_of_it():
    run = run_k8s({"mpic:canary": {"enabled": False}}, drop=("mpic:canaryTsigSecret",))
    assert run.error is None
    assert [r for r in run.resources if "canary" in r.name] == []
    assert not [k for k in run.outputs if k.startswith("canary")]
    csr = {r.name: r.inputs for r in run.by_type("tls:index/certRequest:CertRequest")}["kit-ca-server-csr"]
    assert csr["dnsNames"] == ["mpic.example-ca.net", "us-east-1.mpic.example-ca.net"]


# ----------------------------------------------------------------------------- the planner
@pytest.mark.parametrize("server, expected", [
    ("192.0.2.53", ("192.0.2.53", 53)), ("192.0.2.53:5353", ("192.0.2.53", 5353)),
    ("2001:db8::53", ("2001:db8::53", 53)), ("[2001:db8::53]:5353", ("2001:db8::53", 5353)),
    ("[2001:db8::53]", ("2001:db8::53", 53)),
])
def test_dns_server_host_and_port(server, expected):
    assert k8s_canary.dns_server(server) == expected


@pytest.mark.parametrize("server", ["192.0.2.53:0", "192.0.2.53:dns", "[2001:db8::53]:70000"])
def test_dns_server_bad_port(server):
    with pytest.raises(ValueError):
        k8s_canary.dns_server(server)


@pytest.mark.parametrize("url, peers, port", [
    ("http://prometheus-pushgateway.monitoring.svc:9091", [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}], 9091),
    ("http://pgw.obs.svc.cluster.local", [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "obs"}}}], 80),
    ("https://198.51.100.7", [{"ipBlock": {"cidr": "198.51.100.7/32"}}], 443),
    ("https://push.example-ca.net:8443", o.ip_block_peers(o.ANYWHERE), 8443),
])
def test_pushgateway_egress_is_as_narrow_as_its_url_allows(url, peers, port):
    plan = plan_fleet(fleet(pushgateway=url, dns={"server": "[2001:db8::53]:5353", "zone": "example.net"}))
    egress = plan.canary.objects["netpol"]["spec"]["egress"]
    assert egress[2] == {"to": [{"ipBlock": {"cidr": "2001:db8::53/128"}}], "ports": [{"protocol": "TCP", "port": 5353}]}
    assert egress[3] == {"to": peers, "ports": [{"protocol": "TCP", "port": port}]}
    validate_strict(plan.canary.objects["netpol"])


def test_interval_email_and_lab_mode_follow_the_config():
    plan = plan_fleet(fleet(interval=60, alarmEmail="pki-oncall@ca.example", marginRuns=2))
    job = plan.canary.objects["cronjob"]["spec"]
    assert (job["schedule"], job["startingDeadlineSeconds"]) == ("0 * * * *", 3600)
    rules = plan.canary.objects["rule"]["spec"]["groups"][0]["rules"]
    assert all(r["labels"]["email"] == "pki-oncall@ca.example" for r in rules)
    assert "[120m]" in rules[1]["expr"]
    validate_rule(plan.canary.objects["rule"])
    lab = plan_fleet(StackConfig.from_config({"target": "k8s", "perspectives": FIVE, "complianceMode": "testing",
                                              "k8s": {**PROD, "labMode": True}, "canary": {"enabled": False}}))
    assert lab.canary is None


def test_validate_canary_names_key_value_and_fix():
    with pytest.raises(ConfigError) as exc:
        k8s_canary.validate_canary(StackConfig.from_config({"target": "k8s", "perspectives": FIVE, "k8s": PROD}))
    assert (exc.value.key, exc.value.value) == ("mpic:canary.dns", None)
    assert "mpic:canaryTsigSecret" in exc.value.fix and "mpic:canary.enabled: false" in exc.value.fix
    k8s_canary.validate_canary(StackConfig.from_config({"target": "k8s", "perspectives": FIVE, "k8s": PROD,
                                                        "canary": {"enabled": False}}))
