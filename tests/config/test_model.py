"""The typed stack config: validation, resolution and error messages."""

from __future__ import annotations

import datetime as dt

import pytest

from config.catalog import Rir
from config.errors import ConfigError
from config.model import SECRET_KEYS, StackConfig

FIVE = ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "af-south-1"]


def make(**raw):
    raw.setdefault("perspectives", FIVE)
    return StackConfig.from_config(raw, name="t")


def test_resolves_codes_and_sites():
    cfg = make(primary={"name": "ca-dc", "lat": 40.7, "lon": -74.0, "rir": "ARIN"}, perspectiveCount=4,
               quorum=3, maxAttempts=2, asOf="2026-12-15")
    assert cfg.primary.code == "ca-dc" and cfg.primary.provider == "site" and cfg.primary.rir is Rir.ARIN
    assert cfg.codes == tuple(FIVE)
    assert cfg.cohort_size == 4 and cfg.quorum == 3 and cfg.max_attempts == 2
    assert cfg.as_of == dt.date(2026, 12, 15)


def test_defaults_are_safe():
    cfg = make()
    assert cfg.target == "local" and cfg.compliance_mode == "enforce"
    assert cfg.cohort_size == 5 and cfg.quorum is None and cfg.max_attempts == 1
    assert cfg.perspective_replicas == 2 and cfg.coordinator_replicas == 2
    assert cfg.resolver_location(cfg.perspectives[0]) == cfg.perspectives[0]


def test_model_is_immutable():
    cfg = make()
    with pytest.raises(Exception):
        cfg.target = "k8s"  # type: ignore[misc]


def test_perspectives_may_be_a_comma_string_and_secrets_are_ignored():
    cfg = StackConfig.from_config({"perspectives": "us-west-2,eu-west-1", "hashSecret": "x", "apiKeys": ["k"]})
    assert cfg.codes == ("us-west-2", "eu-west-1")
    assert {"apiKeys", "hashSecret", "kubeconfig", "kubeconfigs"} <= SECRET_KEYS


def test_config_keys_are_the_camel_case_stack_keys():
    keys = StackConfig.config_keys()
    for key in ("target", "primary", "perspectives", "perspectiveCount", "quorum", "maxAttempts", "asOf",
                "complianceMode", "resolvers", "wanDelay", "testDomain", "aws", "k8s"):
        assert key in keys
    assert "name" not in keys


@pytest.mark.parametrize("raw,key,words", [
    ({"perspectives": ["us-east-1", "xx-nowhere-9"]}, "mpic:perspectives[1]", ["xx-nowhere-9", "unknown region"]),
    ({"perspectives": ["us-east-1", "us-east-1"]}, "mpic:perspectives", ["listed twice"]),
    ({"perspectives": FIVE, "primary": "us-west-2"}, "mpic:primary", ["also a remote perspective"]),
    ({"perspectives": FIVE, "primary": {"name": "dc", "lat": 95, "lon": 0, "rir": "ARIN"}}, "mpic:primary", ["lat"]),
    ({"perspectives": FIVE, "primary": {"name": "dc", "lat": 1, "lon": 0, "rir": "IANA"}}, "mpic:primary", ["rir"]),
    ({"perspectives": FIVE, "primary": 42}, "mpic:primary", ["region code or a site"]),
    ({"perspectives": 7}, "mpic:perspectives", ["expected a list"]),
    ({"perspectives": []}, "mpic:perspectives", ["at least 1"]),
    ({"perspectives": FIVE, "perspectiveCount": 6}, "mpic:perspectiveCount", ["more than the 5"]),
    ({"perspectives": FIVE, "quorum": 6}, "mpic:quorum", ["more than the 5"]),
    ({"perspectives": FIVE, "quorum": 0}, "mpic:quorum", ["greater than or equal to 1"]),
    ({"perspectives": FIVE, "target": "gcp"}, "mpic:target", ["'local'", "gcp"]),
    ({"perspectives": FIVE, "asOf": "2026-13-01"}, "mpic:asOf", ["month"]),
    ({"perspectives": FIVE, "complianceMode": "off"}, "mpic:complianceMode", ["enforce"]),
    ({"perspectives": FIVE, "regionz": 1}, "mpic:regionz", ["unknown key", "mpic:perspectives"]),
    ({}, "mpic:perspectives", ["missing"]),
    ({"perspectives": FIVE, "resolvers": {"eu-north-1": {}}}, "mpic:resolvers", ["not one of the perspectives"]),
    ({"perspectives": FIVE, "resolvers": ["x"]}, "mpic:resolvers", ["expected a map"]),
    ({"perspectives": FIVE, "resolvers": {"eu-west-1": {"address": "not-an-ip"}}}, "mpic:resolvers.eu-west-1.address",
     ["not-an-ip"]),
    ({"perspectives": FIVE, "testDomain": "Not A Domain"}, "mpic:testDomain", ["pattern"]),
])
def test_bad_input_names_key_and_value(raw, key, words):
    with pytest.raises(ConfigError) as err:
        StackConfig.from_config(raw)
    assert err.value.key == key
    for word in words:
        assert word in str(err.value)


def test_resolver_spec_resolves_location():
    cfg = make(resolvers={"eu-west-1": {"location": "eu-north-1", "address": "10.0.0.53"}})
    spec = cfg.resolver_for("eu-west-1")
    assert spec.location.code == "eu-north-1" and spec.address == "10.0.0.53"
    assert cfg.resolver_location(cfg.perspectives[1]).code == "eu-north-1"


def test_evaluation_date_prefers_as_of():
    assert make(asOf="2026-07-01").evaluation_date(dt.date(2030, 1, 1)) == dt.date(2026, 7, 1)
    assert make().evaluation_date(dt.date(2030, 1, 1)) == dt.date(2030, 1, 1)
    assert make().evaluation_date() == dt.date.today()


@pytest.mark.parametrize("proxy, key, needle", [
    ("proxy.ca.example:3128", "mpic:proxy", "is not a proxy URL"),
    ({"eu-west-1": "ftp://proxy"}, "mpic:proxy.eu-west-1", "is not a proxy URL"),
    ({"mars-north-1": "http://proxy:3128"}, "mpic:proxy.mars-north-1", "is not one of the perspectives"),
])
def test_bad_proxies_name_the_key_and_the_fix(proxy, key, needle):
    with pytest.raises(ConfigError) as exc:
        StackConfig.from_config({"perspectives": ["us-west-2", "eu-west-1"], "proxy": proxy})
    assert exc.value.key == key and needle in str(exc.value)


def test_perspective_timeout_is_bounded():
    with pytest.raises(ConfigError, match="perspectiveTimeoutMs"):
        StackConfig.from_config({"perspectives": ["us-west-2", "eu-west-1"], "perspectiveTimeoutMs": 50})
