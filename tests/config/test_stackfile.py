"""Reading stack files: namespaces, YAML positions, impossible dates, case-insensitive codes."""

from __future__ import annotations

import pytest

from config.errors import ConfigError
from config.stackfile import check_namespaces, load_stack, read_stack_file

FIVE = "[us-west-2, eu-west-1, ap-northeast-1, sa-east-1, ap-southeast-2]"


def write(tmp_path, body: str):
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(body)
    return str(path)


def test_provider_and_engine_namespaces_pass_and_unrelated_ones_are_left_alone():
    check_namespaces({"mpic:target": "local", "pulumi:disable-default-providers": ["*"], "aws:region": "us-east-1",
                      "kubernetes:context": "x", "tls:x": 1, "datadog:apiKey": "k"})


@pytest.mark.parametrize("key,guess", [("mpc:target", "mpic:target"), ("MPIC:target", "mpic:target"),
                                       ("mipc:perspectiveCount", "mpic:perspectiveCount"),
                                       ("mpci:perspective_count", "mpic:perspectiveCount"),
                                       ("pulmi:disable-default-providers", "pulumi:disable-default-providers"),
                                       ("target", "mpic:target")])
def test_misspelt_or_missing_namespaces_are_refused_with_the_likely_key(key, guess):
    with pytest.raises(ConfigError) as err:
        check_namespaces({key: "x"})
    assert err.value.key == key and err.value.value == "x" and err.value.fix == f"write {guess}"


def test_a_key_without_namespace_that_is_no_kit_key_asks_for_a_namespace():
    with pytest.raises(ConfigError) as err:
        check_namespaces({"whatever": 1})
    assert "needs a namespace" in str(err.value) and err.value.fix.startswith("prefix the key")


def test_an_impossible_unquoted_date_names_key_line_and_column(tmp_path):
    path = write(tmp_path, f"config:\n  mpic:perspectives: {FIVE}\n  mpic:aws:\n    tags: {{since: 2026-02-30}}\n")
    with pytest.raises(ConfigError) as err:
        read_stack_file(path)
    assert err.value.key == "mpic:aws.tags.since" and err.value.value == "2026-02-30"
    assert "line 4, column 19" in str(err.value) and "day is out of range" in str(err.value)


def test_a_valid_unquoted_date_still_loads(tmp_path):
    cfg = load_stack(write(tmp_path, f"config:\n  mpic:perspectives: {FIVE}\n  mpic:asOf: 2026-12-15\n"))
    assert cfg.as_of.isoformat() == "2026-12-15"


def test_region_codes_are_case_insensitive_sites_keep_their_names(tmp_path):
    cfg = load_stack(write(tmp_path, "config:\n  mpic:target: aws-hosts\n  mpic:primary: {name: DC-One, lat: 40.7, lon: "
                                     "-74.0, rir: arin}\n  mpic:perspectives: [US-WEST-2, Eu-West-1, ap-northeast-1]\n"
                                     "  mpic:resolvers: {EU-WEST-1: {address: 10.0.0.53}}\n"
                                     "  mpic:aws: {coordinatorRegion: US-EAST-1}\n"))
    assert cfg.codes[:2] == ("us-west-2", "eu-west-1") and cfg.primary.code == "DC-One"
    assert cfg.resolver_for("eu-west-1").address == "10.0.0.53" and cfg.aws.coordinator_region == "us-east-1"


@pytest.mark.parametrize("section,key,guess", [
    ("mpic:k8s: {clusters: {eu-west-1: {eks: {subnetIds: [subnet-1, subnet-2], nodeCont: 3}}}}",
     "mpic:k8s.clusters.eu-west-1.eks.nodeCont", "nodeCount"),
    ("mpic:resolvers: {eu-west-1: {adress: 10.0.0.53}}", "mpic:resolvers.eu-west-1.adress", "address"),
])
def test_unknown_keys_deep_inside_maps_of_settings(tmp_path, section, key, guess):
    with pytest.raises(ConfigError) as err:
        load_stack(write(tmp_path, f"config:\n  mpic:perspectives: {FIVE}\n  {section}\n"))
    assert err.value.key == key and err.value.fix == f"write {guess}" and "Valid keys of" in str(err.value)


def test_section_lookup_outside_the_settings_models():
    from config.key_errors import section_model
    from config.model import StackConfig

    assert section_model(StackConfig, ["target", "x"]) is None and section_model(StackConfig, ["nope"]) is None
    assert section_model(StackConfig, ["k8s", "clusters", "eu-west-1"]).__name__ == "ClusterSpec"


def test_a_file_that_is_not_text_is_refused(tmp_path):
    path = tmp_path / "Pulumi.bin.yaml"
    path.write_bytes(b"config:\n  mpic:target: \xff\xfe\n")
    with pytest.raises(ConfigError) as err:
        read_stack_file(str(path))
    assert err.value.key == "stack" and "UTF-8" in str(err.value)
