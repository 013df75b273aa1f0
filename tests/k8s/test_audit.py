"""BR 5.4.3 on Kubernetes: every runtime pod writes its audit lines to a file that a Fluent Bit
native sidecar ships, unchanged, to the sink the operator named; the objects pass strict schema
validation; a stack without a sink is refused unless it is a lab."""

from __future__ import annotations

import pytest
import yaml

from config.audit import AuditSink
from config.errors import ConfigError
from config.model import StackConfig
from plan.k8s import audit as k8s_audit
from tests.k8s.conftest import run_k8s, validate_strict
from tests.k8s.test_program import kind, pod_specs

LOKI = {"kind": "loki", "endpoint": "https://logs.example-ca.net:3100/tenant-a", "credentialsSecret": "mpic-sink"}
ELASTIC = {"kind": "elasticsearch", "endpoint": "http://search.example-ca.net:9200", "index": "ca-audit"}


def _conf(text: str) -> list[tuple[str, dict[str, str]]]:
    """Fluent Bit's classic sections, in order (a section name may repeat)."""
    out: list[tuple[str, dict[str, str]]] = []
    for block in text.strip().split("\n\n"):
        head, *rows = block.strip().splitlines()
        out.append((head.strip("[]"), dict(r.split(None, 1) for r in rows)))
    return out


def _containers(spec: dict) -> dict[str, dict]:
    return {c["name"]: c for c in spec.get("initContainers", []) + spec["containers"]}


@pytest.mark.parametrize("component, sites", [("perspective", {"us-west-2", "eu-west-1", "ap-northeast-1",
                                                                  "sa-east-1", "ap-southeast-2"}),
                                              ("coordinator", {"primary"})])
def test_every_runtime_pod_ships_its_file_through_a_native_sidecar(fleet_run, component, sites):
    seen = set()
    for deployment, spec in pod_specs(fleet_run, component):
        containers = _containers(spec)
        shipper, runtime = containers["audit-shipper"], containers[component]
        assert shipper["restartPolicy"] == "Always" and spec["initContainers"] == [shipper]  # starts first, stops last
        assert shipper["image"] == "cr.fluentbit.io/fluent/fluent-bit:4.0.3"
        assert shipper["securityContext"]["runAsNonRoot"] is True
        assert shipper["securityContext"]["readOnlyRootFilesystem"] is True
        env = {e["name"]: e for e in runtime["env"]}
        assert env["MPIC_AUDIT_REPLICA"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
        site = env["MPIC_AUDIT_WRITER"]["value"].split("--")[0]
        assert env["MPIC_AUDIT_WRITER"]["value"] == f"{site}--$(MPIC_AUDIT_REPLICA)"
        assert shipper["env"] == [env["MPIC_AUDIT_REPLICA"], env["MPIC_AUDIT_WRITER"]]
        seen.add(site)
        mounts = {m["name"]: m["mountPath"] for m in runtime["volumeMounts"]}
        assert mounts["audit"] == "/var/log/mpic" == {m["name"]: m["mountPath"] for m in shipper["volumeMounts"]}["audit"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["audit"] == {"name": "audit", "emptyDir": {"sizeLimit": "1Gi"}}
        ns = deployment.inputs["metadata"]["namespace"]
        here = [m for m in kind(fleet_run, "ConfigMap")  # same namespace, same cluster
                if m.inputs["metadata"]["namespace"] == ns and m.provider == deployment.provider]
        [config] = [m for m in here if m.inputs["metadata"]["name"] == "mpic-audit-shipper"]
        assert volumes["audit-shipper"]["configMap"]["name"] == "mpic-audit-shipper"
        conf = dict(_conf(config.inputs["data"]["fluent-bit.conf"]))
        assert conf["INPUT"]["path"] == "/var/log/mpic/audit.jsonl" and conf["INPUT"]["read_from_head"] == "true"
        assert (conf["OUTPUT"]["name"], conf["OUTPUT"]["bucket"], conf["OUTPUT"]["region"]) == (
            "s3", "example-ca-mpic-audit", "us-east-1")
        assert conf["OUTPUT"]["log_key"] == "log"  # the line as written, nothing added
        assert conf["OUTPUT"]["s3_key_format"] == "/mpic/k8s/${MPIC_AUDIT_WRITER}/%Y/%m/%d/%H%M%S-$INDEX.jsonl"
        settings = [m for m in here if m.inputs["metadata"]["name"] == f"mpic-{component}-settings"]
        runtime_settings = yaml.safe_load(settings[0].inputs["data"]["settings.yaml"])
        assert runtime_settings["audit_log"] == "/var/log/mpic/audit.jsonl" and runtime_settings["audit_site"] == site
    assert seen == sites


def _runtime_policies(run):
    return [p for p in kind(run, "NetworkPolicy")
            if p.inputs["metadata"]["labels"]["app.kubernetes.io/component"] in ("perspective", "coordinator")]


def test_the_lines_may_leave_for_the_sink(fleet_run):
    assert len(_runtime_policies(fleet_run)) == 6
    for pol in _runtime_policies(fleet_run):
        ports = {(p["protocol"], p["port"]) for rule in pol.inputs["spec"]["egress"] for p in rule["ports"]}
        assert ("TCP", 443) in ports  # S3


@pytest.mark.parametrize("sink, output, port", [(LOKI, "loki", 3100), (ELASTIC, "es", 9200)])
def test_loki_and_elasticsearch_sinks(sink, output, port):
    run = run_k8s({"mpic:audit": {"sink": sink}})
    assert run.error is None, run.error
    for res in kind(run, "Deployment") + kind(run, "ConfigMap") + kind(run, "NetworkPolicy"):
        validate_strict(res.inputs)
    config = next(m for m in kind(run, "ConfigMap") if m.inputs["metadata"]["name"] == "mpic-audit-shipper")
    sections = _conf(config.inputs["data"]["fluent-bit.conf"])
    out = dict(sections)["OUTPUT"]
    assert out["name"] == output and out["port"] == str(port) and out["retry_limit"] == "no_limits"
    if output == "loki":
        assert (out["host"], out["tls"], out["tls.verify"], out["uri"]) == (
            "logs.example-ca.net", "on", "on", "/tenant-a/loki/api/v1/push")
        assert out["labels"] == "job=mpic-audit, stack=k8s, writer=${MPIC_AUDIT_WRITER}"
        assert out["drop_single_key"] == "raw" and out["http_user"] == "${MPIC_SINK_USER}"
        shipper = _containers(pod_specs(run, "perspective")[0][1])["audit-shipper"]
        assert shipper["envFrom"] == [{"secretRef": {"name": "mpic-sink"}}]
    else:
        assert (out["host"], out["tls"], out["index"]) == ("search.example-ca.net", "off", "ca-audit")
        assert "http_user" not in out and [s for s, _ in sections] == ["SERVICE", "INPUT", "FILTER", "OUTPUT"]
        assert dict(sections)["FILTER"]["record"] == "writer ${MPIC_AUDIT_WRITER}"
    for pol in _runtime_policies(run):
        ports = {(p["protocol"], p["port"]) for rule in pol.inputs["spec"]["egress"] for p in rule["ports"]}
        assert ("TCP", port) in ports


def test_a_stack_without_a_sink_is_refused_before_any_resource():
    run = run_k8s({"mpic:audit": {}})
    assert run.error is not None and run.resources == []
    assert "mpic:audit.sink: missing" in run.error and "BR 5.4.3" in run.error


def test_a_lab_without_a_sink_keeps_the_lines_on_stdout():
    run = run_k8s({"mpic:complianceMode": "testing", "mpic:audit": {}}, k8s={"labMode": True, "clusters": {}})
    assert run.error is None, run.error
    for _, spec in pod_specs(run, "perspective") + pod_specs(run, "coordinator"):
        assert "initContainers" not in spec and "audit" not in {v["name"] for v in spec["volumes"]}
    assert not [m for m in kind(run, "ConfigMap") if m.inputs["metadata"]["name"] == "mpic-audit-shipper"]
    settings = next(m for m in kind(run, "ConfigMap") if "settings.yaml" in m.inputs["data"])
    assert yaml.safe_load(settings.inputs["data"]["settings.yaml"])["audit_log"] == "-"


@pytest.mark.parametrize("sink, says", [
    ({"kind": "s3", "bucket": "b-ucket"}, "kind s3 needs bucket and region"),
    ({"kind": "loki"}, "kind loki needs endpoint"),
    ({"kind": "elasticsearch", "endpoint": "ftp://x"}, "endpoint"),
    ({"kind": "kafka"}, "kind"),
])
def test_an_incomplete_sink_names_what_is_missing(sink, says):
    with pytest.raises(ConfigError) as err:
        StackConfig.from_config({"target": "k8s", "perspectives": ["us-west-2"], "audit": {"sink": sink}}, name="t")
    assert says in str(err.value) and "mpic:audit.sink" in str(err.value)


def test_the_sink_port():
    assert k8s_audit.sink_port(AuditSink(kind="s3", bucket="abc", region="us-east-1")) == 443
    assert k8s_audit.sink_port(AuditSink(kind="loki", endpoint="http://loki.lan")) == 80
    assert k8s_audit.sink_port(AuditSink(kind="loki", endpoint="https://loki.lan")) == 443
    minio = AuditSink(kind="s3", bucket="abc", region="eu-1", endpoint="https://minio.lan:9000")
    assert k8s_audit.sink_port(minio) == 9000
    sections = _conf(k8s_audit.fluent_bit_conf(minio, "t"))
    assert [s for s, _ in sections] == ["SERVICE", "INPUT", "OUTPUT"]
    assert dict(sections)["OUTPUT"]["endpoint"] == "https://minio.lan:9000"
