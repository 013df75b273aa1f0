"""``config.placeholders``: documentation names and ranges, and the kit's example values, are not
ready to deploy (#23 part 4: they passed ``plan`` with 0 warnings)."""

from __future__ import annotations

import pytest

from config.placeholders import applies, deploy_blockers, mutable_images, placeholder_reason, placeholders
from config.stackfile import load_stack

RESERVED = "a name reserved for documentation (RFC 2606/6761)"
DOC_RANGE = "in a documentation address range (RFC 5737/3849)"


@pytest.mark.parametrize("value, why", [
    ("mpic.example.com", RESERVED),
    ("example.org", RESERVED),
    ("Example.NET.", RESERVED),
    ("fleet-test.example", RESERVED),
    ("ca.test", RESERVED),
    ("https://mpic.example.com:8443/v1/mpic", RESERVED),
    ("192.0.2.53", DOC_RANGE),
    ("192.0.2.53:5353", DOC_RANGE),
    ("198.51.100.16/28", DOC_RANGE),
    ("203.0.113.0/24", DOC_RANGE),
    ("2001:db8::53", DOC_RANGE),
    ("[2001:db8::53]:53", DOC_RANGE),
    ("mpic.example-ca.net", "the kit's example domain"),
    ("example-ca-mpic-audit", "the kit's example value"),
    ("Z0123456789ABC", "the kit's example value"),
    # real values
    ("mpic.ca-operator.net", None),
    ("notexample.com", None),
    ("example.com.au", None),
    ("192.0.3.53", None),
    ("198.51.99.0/24", None),
    ("10.128.0.0/12", None),
    ("2001:db9::1", None),
    ("ghcr.io/mpic-fleet/mpic-fleet@sha256:" + "0" * 64, None),
    ("http://prometheus-pushgateway.monitoring.svc:9091", None),
    ("t3.small", None),
])
def test_placeholder_reason(value, why):
    assert placeholder_reason(value) == why


def test_the_example_stacks_are_not_ready_and_name_each_key():
    hosts = {p.key: p.value for p in placeholders(load_stack("aws-hosts"))}
    assert hosts == {"mpic:testDomain": "fleet-test.example", "mpic:aws.domain": "mpic.example.com",
                     "mpic:aws.hostedZone": "example.com"}
    # aws-lambda answers on API Gateway's own name: only the smoke/canary domain is its own
    assert [p.key for p in placeholders(load_stack("aws-lambda"))] == ["mpic:testDomain"]
    k8s = {p.key: p.value for p in placeholders(load_stack("k8s"))}
    assert k8s["mpic:k8s.hubEgressCidrs[0]"] == "198.51.100.16/28"
    assert k8s["mpic:canary.dns.server"] == "192.0.2.53" and k8s["mpic:audit.sink.bucket"] == "example-ca-mpic-audit"
    assert not any(key.startswith("mpic:aws.") for key in k8s)  # the other target's defaults are not read
    first = placeholders(load_stack("aws-hosts"))[1]
    assert first.text.startswith("mpic:aws.domain: 'mpic.example.com' is a name reserved for documentation")
    assert "pulumi config set --path 'mpic:aws.domain' VALUE" in first.text


def test_local_fleets_and_labs_may_hold_them():
    local = load_stack("local")
    assert not applies(local) and placeholders(local) == []
    lab = load_stack("aws-hosts").model_copy(update={"compliance_mode": "testing"})
    assert not applies(lab) and placeholders(lab) == []


def test_a_disabled_canary_is_not_read():
    k8s = load_stack("k8s")
    off = k8s.model_copy(update={"canary": k8s.canary.model_copy(update={"enabled": False})})
    assert not [p for p in placeholders(off) if p.key.startswith("mpic:canary.")]
    assert [p for p in placeholders(k8s) if p.key.startswith("mpic:canary.")]


def test_a_k8s_image_by_tag_is_not_ready_by_digest_it_is():
    k8s = load_stack("k8s")
    tagged, = mutable_images(k8s)
    assert tagged.key == "mpic:k8s.image" and tagged.value == "ghcr.io/mpic-fleet/mpic-fleet:0.1.0"
    assert "a mutable tag" in tagged.text and "REGISTRY/NAME@sha256:DIGEST" in tagged.text
    digest = "ghcr.io/mpic-fleet/mpic-fleet@sha256:" + "ab" * 32
    pinned = k8s.model_copy(update={"k8s": k8s.k8s.model_copy(update={"image": digest, "resolver_image": "r:1"})})
    assert [p.key for p in mutable_images(pinned)] == ["mpic:k8s.resolverImage"]
    assert mutable_images(load_stack("aws-hosts")) == []
    assert {p.key for p in deploy_blockers(k8s)} == {p.key for p in placeholders(k8s)} | {"mpic:k8s.image"}
