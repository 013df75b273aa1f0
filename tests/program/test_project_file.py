"""Pulumi.yaml stays in step with the config model."""

from __future__ import annotations

import yaml

from config.model import StackConfig
from preview.mocks import KIT_ROOT

PROJECT = yaml.safe_load((KIT_ROOT / "Pulumi.yaml").read_text())
TYPES = {"string": str, "integer": int, "boolean": bool}


def test_project_settings():
    assert PROJECT["name"] == "mpic"  # so project keys live in the `mpic:` namespace
    assert PROJECT["runtime"]["name"] == "python"
    assert PROJECT["runtime"]["options"]["virtualenv"] == ".venv"
    assert PROJECT["stackConfigDir"] == "stacks"
    assert PROJECT["config"]["pulumi:disable-default-providers"] == ["*"]


def test_typed_keys_exist_in_the_model_with_matching_defaults():
    model_keys = set(StackConfig.config_keys())
    fields = {f.alias or n: f for n, f in StackConfig.model_fields.items()}
    typed = {k: v for k, v in PROJECT["config"].items() if ":" not in k}
    assert typed, "Pulumi.yaml declares the kit's keys"
    for key, decl in typed.items():
        assert key in model_keys, key
        default = fields[key].default
        if "default" in decl:
            assert decl["default"] == default, key
            assert isinstance(decl["default"], TYPES[decl["type"]]), key


def test_every_stack_file_disables_default_providers():
    for path in (KIT_ROOT / "stacks").glob("Pulumi.*.yaml"):
        config = yaml.safe_load(path.read_text())["config"]
        assert config.get("pulumi:disable-default-providers") == ["*"], path.name
