"""The settings files the k8s target renders are accepted by the runtime (service/settings.py),
with real certificates from the kit CA at the paths the pods mount them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from plan.k8s import objects as o
from plan.k8s.fleet import plan_fleet
from config.model import StackConfig
from local.pki import LocalCa
from service.settings import CoordinatorSettings, PerspectiveSettings

FIVE = ["us-west-2", "eu-west-1", "ap-northeast-1", "sa-east-1", "ap-southeast-2"]
CANARY = {"domain": "canary.example.net", "dns": {"server": "192.0.2.53:5353", "zone": "example.net"}}


@pytest.fixture(scope="module")
def plan():
    return plan_fleet(StackConfig.from_config({"target": "k8s", "perspectives": FIVE, "maxAttempts": 2, "canary": CANARY, "k8s": {
        "hubEgressCidrs": ["198.51.100.16/28"], "perspectiveDomain": "p.example.net",
        "image": "ghcr.io/example-ca/mpic-fleet:0.1.0"}}))


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """The pod's mounts (tls.crt, tls.key, ca.crt) as real files issued by the kit CA."""
    root = tmp_path_factory.mktemp("pki")
    ca = LocalCa.load_or_create(root / "ca")
    out: dict[str, Path] = {}
    for role, issue in (("tls", lambda: ca.issue_server("p", dns_names=["eu-west-1.p.example.net"])),
                        ("client-tls", lambda: ca.issue_client("coordinator"))):
        cert, key = issue()
        d = root / role
        d.mkdir()
        (d / "tls.crt").write_bytes(Path(cert).read_bytes())
        (d / "tls.key").write_bytes(Path(key).read_bytes())
        (d / "ca.crt").write_bytes(Path(ca.cert_path).read_bytes())
        out[role] = d
    return out


def _remap(text: str, pki: dict[str, Path]) -> dict:
    text = text.replace(o.CLIENT_TLS_DIR, str(pki["client-tls"])).replace(o.TLS_DIR, str(pki["tls"]))
    return yaml.safe_load(text)


def test_perspective_settings_load_in_the_runtime(plan, pki):
    for p in plan.perspectives:
        doc = _remap(p.objects["settings"]["data"]["settings.yaml"], pki)
        s = PerspectiveSettings(**doc)
        s.require_listener()
        assert s.listen_port == o.PERSPECTIVE_PORT and s.resolver.port == o.RESOLVER_PORT
        assert s.effective_rir.value == p.rir and s.verify_ssl is True and s.proxy_url is None


def test_coordinator_settings_load_with_secrets_from_env(plan, pki, monkeypatch):
    monkeypatch.setenv("MPIC_API_KEYS", '["key-one"]')
    monkeypatch.setenv("MPIC_HASH_SECRET", "a-long-random-hash-secret")
    doc = _remap(plan.coordinators[0].objects["settings"]["data"]["settings.yaml"], pki)
    s = CoordinatorSettings(**doc)
    s.require_api_keys()
    assert s.all_api_keys() == ["key-one"]
    assert [p.url for p in s.perspectives] == [p.url for p in plan.perspectives]
    assert s.default_perspective_count == 5 and s.max_attempts == 2
    env = {e["name"] for e in plan.coordinators[0].objects["deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert {"MPIC_API_KEYS", "MPIC_HASH_SECRET"} <= env
    assert s.default_quorum_count is None and "default_quorum_count" not in doc  # mpic:quorum unset


def test_coordinator_settings_carry_the_stack_quorum(pki, monkeypatch):
    monkeypatch.setenv("MPIC_HASH_SECRET", "a-long-random-hash-secret")
    strict = plan_fleet(StackConfig.from_config({"target": "k8s", "perspectives": FIVE, "quorum": 5, "canary": CANARY, "k8s": {
        "hubEgressCidrs": ["198.51.100.16/28"], "perspectiveDomain": "p.example.net",
        "image": "ghcr.io/example-ca/mpic-fleet:0.1.0"}}))
    doc = _remap(strict.coordinators[0].objects["settings"]["data"]["settings.yaml"], pki)
    assert doc["default_quorum_count"] == 5
    s = CoordinatorSettings(**doc)
    assert (s.default_quorum_count, s.default_perspective_count) == (5, 5)
