"""The k8s planner (components/k8s/plan.py, objects.py): pure functions, tables + properties."""

from __future__ import annotations

import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plan.k8s import objects as o
from plan.k8s.fleet import all_manifests, dns_label, plan_fleet, provider_name, validate
from config.catalog import load_catalog
from config.errors import ConfigError
from config.model import StackConfig
from tests.k8s.conftest import RULE_API, validate_rule, validate_strict

FIVE = ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "ap-southeast-2"]
PROD = {"hubEgressCidrs": ["198.51.100.16/28"], "perspectiveDomain": "p.example.net",
        "image": "ghcr.io/example-ca/mpic-fleet:0.1.0"}
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


CANARY = {"domain": "canary.example.net", "dns": {"server": "192.0.2.53", "zone": "example.net"}}


def fleet(perspectives=None, k8s=None, **top) -> StackConfig:
    raw = {"target": "k8s", "perspectives": perspectives or FIVE, "k8s": {**PROD, **(k8s or {})}, "canary": CANARY,
           **top}
    return StackConfig.from_config(raw)


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize(("kwargs", "key"), [({"perspectiveReplicas": 1}, "mpic:perspectiveReplicas"),
                                          ({"coordinatorReplicas": 1}, "mpic:coordinatorReplicas")])
def test_one_replica_is_refused_by_the_model_for_every_target(kwargs, key):
    for target in ("k8s", "aws-hosts", "aws-lambda", "local"):
        with pytest.raises(ConfigError) as exc:
            fleet(**kwargs, target=target)
        assert exc.value.key == key
        assert str(exc.value).startswith(key) and "runs >= 2 per workload" in str(exc.value)


@pytest.mark.parametrize(("kwargs", "key", "message"), [
    ({"target": "aws-hosts"}, "mpic:target", "is not the k8s target"),
    ({"k8s": {"image": None}}, "mpic:k8s.image", "./scripts/mpic build image-context"),
    ({"k8s": {"labMode": True}}, "mpic:k8s.labMode", "mpic:complianceMode: testing"),
    ({"k8s": {"labMode": True, "clusters": {"eu-west-1": {}}}, "complianceMode": "testing"},
     "mpic:k8s.clusters", "labMode runs on the hub's cluster (us-east-1) only"),
    ({"k8s": {"hubEgressCidrs": []}}, "mpic:k8s.hubEgressCidrs", "missing"),
    ({"k8s": {"perspectiveDomain": None}}, "mpic:k8s.perspectiveDomain", "missing"),
    ({"k8s": {"clusters": {"eu-west-3": {}}}}, "mpic:k8s.clusters", "'eu-west-3' is neither a perspective region"),
    ({"k8s": {"clusters": {"eu-west-1": {"context": "shared"}, "sa-east-1": {"context": "shared"}}}},
     "mpic:k8s.clusters", "perspectives eu-west-1 and sa-east-1 would run in the same cluster"),
    ({"k8s": {"clusters": {"us-west-2": {"kubeconfig": "one"}, "eu-west-1": {"kubeconfig": "one"}}}},
     "mpic:k8s.clusters", "would run in the same cluster"),
    ({"perspectives": FIVE[:4] + [{"name": "dc-frankfurt", "lat": 50.1, "lon": 8.7, "rir": "RIPE NCC"}],
      "k8s": {"clusters": {"dc-frankfurt": {"eks": {"subnetIds": ["subnet-1", "subnet-2"]}}}}},
     "mpic:k8s.clusters.dc-frankfurt.eks", "is not an AWS region"),
    ({"k8s": {"hub": "ca-hub", "clusters": {"ca-hub": {"eks": {"subnetIds": ["subnet-1", "subnet-2"]}}}}},
     "mpic:k8s.clusters.ca-hub.eks", "'ca-hub' is not an AWS region"),
    ({"perspectives": FIVE[:3] + [{"name": "DC_A", "lat": 50.1, "lon": 8.7, "rir": "RIPE NCC"},
                                  {"name": "dc-a", "lat": 10.1, "lon": 8.7, "rir": "AFRINIC"}]},
     "mpic:perspectives", "map to the same cluster name"),
])
def test_validate_refuses_with_key_and_fix(kwargs, key, message):
    kwargs = dict(kwargs)
    cfg = fleet(kwargs.pop("perspectives", None), kwargs.pop("k8s", None), **kwargs)
    with pytest.raises(ConfigError) as exc:
        validate(cfg)
    assert exc.value.key == key
    assert str(exc.value).startswith(key) and message in str(exc.value)


def test_hub_may_share_a_perspectives_cluster():
    plan = plan_fleet(fleet(k8s={"hub": "eu-west-1"}))
    assert [c.provider_name for c in plan.clusters] == [provider_name(c) for c in FIVE]
    assert plan.coordinators[0].namespace == "mpic-coordinator"
    assert plan.perspectives[1].namespace == "mpic-perspective"


def test_a_site_perspective_gets_a_dns_safe_cluster_name():
    site = {"name": "CA_DC.Frankfurt", "lat": 50.1, "lon": 8.7, "rir": "RIPE NCC"}
    plan = plan_fleet(fleet(FIVE[:4] + [site]))
    assert plan.perspectives[-1].cluster == "ca-dc-frankfurt"
    assert plan.perspectives[-1].hostname == "ca-dc-frankfurt.p.example.net"
    assert plan.cluster("ca-dc-frankfurt").context == "ca-dc-frankfurt"
    settings = yaml.safe_load(plan.perspectives[-1].objects["settings"]["data"]["settings.yaml"])
    assert settings["code"] == "CA_DC.Frankfurt" and settings["rir"] == "RIPE NCC"


def test_lab_plan_is_one_cluster_of_namespaces():
    plan = plan_fleet(fleet(k8s={"labMode": True, "hubEgressCidrs": [], "perspectiveDomain": None},
                            complianceMode="testing"))
    assert [c.region for c in plan.clusters] == ["us-east-1"]
    assert {p.namespace for p in plan.perspectives} == {f"mpic-{c}" for c in FIVE}
    assert plan.perspectives[0].url == "https://mpic-perspective.mpic-us-west-2.svc:8443"
    assert plan.perspectives[0].cert_dns_names[1].endswith(".svc.cluster.local")
    assert "mpic-coordinator.mpic-coordinator.svc" in plan.coordinator_cert_dns_names
    assert "localhost" in plan.coordinator_cert_dns_names, "reachable through kubectl port-forward"
    spread = plan.perspectives[0].objects["deployment"]["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert {c["whenUnsatisfiable"] for c in spread} == {"ScheduleAnyway"}, "a one-node lab must still schedule"


def test_settings_change_rolls_the_pods():
    a = plan_fleet(fleet()).perspectives[0].objects["deployment"]
    b = plan_fleet(fleet(FIVE[:4] + ["af-south-1"])).coordinators[0].objects["deployment"]
    c = plan_fleet(fleet()).coordinators[0].objects["deployment"]
    ann = "mpic-fleet.io/settings-sha256"
    assert b["spec"]["template"]["metadata"]["annotations"][ann] != c["spec"]["template"]["metadata"]["annotations"][ann]
    assert len(a["spec"]["template"]["metadata"]["annotations"][ann]) == 64


def test_coordinator_source_cidrs_restrict_its_service_and_policy():
    plan = plan_fleet(fleet(k8s={"coordinatorSourceCidrs": ["192.0.2.0/24"]}))
    objs = plan.coordinators[0].objects
    assert objs["service"]["spec"]["loadBalancerSourceRanges"] == ["192.0.2.0/24"]
    canary = {"podSelector": {"matchLabels": plan.canary.selector}}  # the canary calls from inside the cluster
    assert objs["netpol"]["spec"]["ingress"][0]["from"] == [{"ipBlock": {"cidr": "192.0.2.0/24"}}, canary]
    off = plan_fleet(fleet(k8s={"coordinatorSourceCidrs": ["192.0.2.0/24"]}, canary={"enabled": False}))
    assert off.canary is None
    assert off.coordinators[0].objects["netpol"]["spec"]["ingress"][0]["from"] == [{"ipBlock": {"cidr": "192.0.2.0/24"}}]
    open_plan = plan_fleet(fleet()).coordinators[0].objects
    assert "from" not in open_plan["netpol"]["spec"]["ingress"][0]
    assert "loadBalancerSourceRanges" not in open_plan["service"]["spec"]


def test_unbound_config_trusts_the_root_and_answers_loopback_only():
    conf = o.unbound_conf()
    assert conf.count("trust-anchor:") == 2 and "20326" in conf and "38696" in conf
    assert "access-control: 0.0.0.0/0 refuse" in conf and "control-enable: no" in conf


# ----------------------------------------------------------------------------- properties
@given(st.text(min_size=1, max_size=80))
def test_dns_label_is_always_a_dns_1123_label(code):
    label = dns_label(code)
    assert DNS1123.match(label) and len(label) <= 50


POOL = sorted(c for c, loc in load_catalog().items() if not loc.opt_in)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(POOL), min_size=2, max_size=8, unique=True), st.sampled_from(POOL),
       st.booleans(), st.integers(2, 5))
def test_any_fleet_renders_valid_objects_one_cluster_per_region(regions, hub, lab, replicas):
    extra = {"complianceMode": "testing"} if lab else {}
    cfg = fleet(regions, {"hub": hub, "labMode": lab}, perspectiveReplicas=replicas, **extra)
    plan = plan_fleet(cfg)
    expected = {hub} if lab else set(regions) | {hub}
    assert {c.region for c in plan.clusters} == expected
    assert len({c.provider_name for c in plan.clusters}) == len(plan.clusters)
    manifests = all_manifests(plan)
    assert len(manifests) == 7 * len(regions) + 7 + 4  # + the canary's settings, CronJob, NetworkPolicy, rule
    for region, m in manifests:
        assert region in expected
        if m["apiVersion"] == RULE_API:
            validate_rule(m)
            continue
        validate_strict(m)
        assert DNS1123.match(m["metadata"]["name"]) and len(m["metadata"]["name"]) <= 63
        if m["kind"] == "Deployment":
            assert m["spec"]["replicas"] >= 2
    # every perspective in its own cluster unless a lab
    if not lab:
        assert len({p.cluster for p in plan.perspectives}) == len(regions)


def test_unbound_config_is_accepted_by_unbound_checkconf(tmp_path):
    """The sidecar's unbound.conf, checked by Unbound's own parser (Debian's unbound package)."""
    import shutil
    import subprocess

    checkconf = shutil.which("unbound-checkconf") or "/usr/sbin/unbound-checkconf"
    conf = tmp_path / "unbound.conf"
    conf.write_text(o.unbound_conf().replace(o.UNBOUND_DIR, str(tmp_path)))
    res = subprocess.run([checkconf, str(conf)], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr + res.stdout
    bad = tmp_path / "bad.conf"
    bad.write_text(conf.read_text().replace("do-daemonize: no", "do-daemonize: maybe"))
    assert subprocess.run([checkconf, str(bad)], capture_output=True, timeout=30).returncode != 0
