"""``mpic:k8s`` (config/target_k8s.py): what the model accepts and how it refuses."""

from __future__ import annotations

import pytest

from config.errors import ConfigError
from config.model import StackConfig
from config.stackfile import load_stack
from config.target_k8s import KUBECONFIG_KEY, KUBECONFIGS_KEY, ClusterSpec, K8sSettings

BASE = {"target": "k8s", "perspectives": ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "ap-southeast-2"]}


def fleet(**k8s) -> StackConfig:
    return StackConfig.from_config({**BASE, "k8s": k8s})


def test_defaults_are_valid_and_safe():
    s = K8sSettings()
    assert s.lab_mode is False and s.hub_egress_cidrs == () and s.hubs == ("us-east-1",)
    assert s.cluster("eu-west-1") == ClusterSpec()
    assert s.secret_keys_needed(("eu-west-1", "us-east-1")) == (KUBECONFIG_KEY,)


def test_example_stack_loads():
    k = load_stack("k8s").k8s
    assert k.hub == "us-east-1" and k.hub_egress_cidrs == ("198.51.100.16/28", "203.0.113.32/28")
    assert k.perspective_domain == "perspectives.mpic.example-ca.net"


@pytest.mark.parametrize(("k8s", "message"), [
    ({"image": "ghcr.io/x/mpic"}, "is not a pinned image"),
    ({"image": "ghcr.io/x/mpic:latest"}, "moving tag 'latest'"),
    ({"resolverImage": "unbound"}, "resolverImage: 'unbound' is not a pinned image"),
    ({"hub": "US_EAST"}, "hub: 'US_EAST' is not a region code"),
    ({"standbyHub": "us-east-1"}, "standbyHub: 'us-east-1' is the hub itself"),
    ({"failoverZoneId": "Z1"}, "failover needs a standby hub"),
    ({"labMode": True, "standbyHub": "us-west-1"}, "a lab runs on one cluster"),
    ({"hubEgressCidrs": ["0.0.0.0/0"]}, "hubEgressCidrs: '0.0.0.0/0' admits the whole Internet"),
    ({"hubEgressCidrs": ["198.51.100.17/28"]}, "is not a CIDR block"),
    ({"coordinatorSourceCidrs": ["nope"]}, "coordinatorSourceCidrs: 'nope' is not a CIDR block"),
    ({"perspectiveDomain": "Bad_Domain"}, "perspectiveDomain: 'Bad_Domain' is not a DNS name"),
    ({"clusters": {"EU": {}}}, "clusters: 'EU' is not a region code"),
    ({"clusters": {"eu-west-1": {"kubeconfig": "a b"}}}, "is not an entry name"),
    ({"clusters": {"eu-west-1": {"context": "c", "eks": {"subnetIds": ["subnet-1", "subnet-2"]}}}}, "not both"),
    ({"clusters": {"eu-west-1": {"eks": {"subnetIds": ["subnet-1"]}}}}, "at least 2"),
    ({"clusters": {"eu-west-1": {"eks": {"subnetIds": ["sn-1", "subnet-2"]}}}}, "'sn-1' is not a subnet id"),
    ({"clusters": {"eu-west-1": {"eks": {"subnetIds": ["subnet-1", "subnet-2"],
                                         "publicAccessCidrs": ["0.0.0.0/0"]}}}}, "whole Internet"),
    ({"clusters": {"eu-west-1": {"eks": {"subnetIds": ["subnet-1", "subnet-2"], "nodeCount": 1}}}},
     "greater than or equal to 2"),
    ({"unknownKey": 1}, "mpic:k8s.unknownKey: unknown key"),
])
def test_bad_settings_name_the_key(k8s, message):
    with pytest.raises(ConfigError) as exc:
        fleet(**k8s)
    assert str(exc.value).startswith("mpic:k8s")
    assert message in str(exc.value)


def test_pinned_by_digest_and_valid_cidrs_are_normalised():
    s = fleet(image="registry.example/mpic@sha256:" + "a" * 64, hubEgressCidrs=["2001:db8::/48"],
              clusters={"sa-east-1": {"eks": {"subnetIds": ["subnet-0a", "subnet-0b"],
                                              "publicAccessCidrs": ["198.51.100.0/24"]}}}).k8s
    assert s.hub_egress_cidrs == ("2001:db8::/48",)
    assert s.cluster("sa-east-1").eks.public_access_cidrs == ("198.51.100.0/24",)


def test_secret_keys_needed_follow_the_cluster_sources():
    s = K8sSettings(clusters={"a": {"kubeconfig": "entry"}, "b": {"eks": {"subnetIds": ["subnet-1", "subnet-2"]}}})
    assert s.secret_keys_needed(("a",)) == (KUBECONFIGS_KEY,)
    assert s.secret_keys_needed(("b",)) == ()
    assert s.secret_keys_needed(("a", "b", "c")) == (KUBECONFIG_KEY, KUBECONFIGS_KEY)
    assert K8sSettings(standby_hub="us-west-1").hubs == ("us-east-1", "us-west-1")


def test_placeholder_secrets_cover_every_cluster_source():
    s = K8sSettings(clusters={"a": {"kubeconfig": "b-entry"}, "c": {"kubeconfig": "a-entry"}, "d": {"context": "x"}})
    assert s.kubeconfig_entries() == ("a-entry", "b-entry")
    ph = s.placeholder_secrets()
    assert set(ph) == {KUBECONFIG_KEY, KUBECONFIGS_KEY} and set(ph[KUBECONFIGS_KEY]) == {"a-entry", "b-entry"}
    assert "placeholder" in ph[KUBECONFIG_KEY]
    assert set(K8sSettings().placeholder_secrets()) == {KUBECONFIG_KEY}
