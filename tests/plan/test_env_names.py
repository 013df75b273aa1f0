"""The environment names of the runtime's settings, defined once in :mod:`plan.runtime` by the
runtime's own naming rule, and pinned to the runtime: each named variable is a setting the runtime
reads, under the prefix and nested delimiter ``service.settings_common`` parses."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from plan import runtime
from service import settings_common
from service.settings import CoordinatorSettings
from service.settings_canary import CanarySettings


@pytest.mark.parametrize("path, name", [
    (("api_keys",), "MPIC_API_KEYS"),
    (("hash_secret",), "MPIC_HASH_SECRET"),
    (("dns", "key_secret"), "MPIC_DNS__KEY_SECRET"),
    (("resolver", "port"), "MPIC_RESOLVER__PORT"),
])
def test_env_name_is_the_runtimes_rule(path, name):
    assert runtime.env_name(*path) == name


def test_the_rule_is_the_one_the_runtime_parses():
    config = settings_common._Base.model_config
    assert runtime.ENV_PREFIX == settings_common.ENV_PREFIX == config["env_prefix"]
    assert runtime.ENV_NESTED_DELIMITER == config["env_nested_delimiter"]


def _field(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The field ``name`` (the env name's part, any case) of ``model``: its model type, or None."""
    (found,) = [f for key, f in model.model_fields.items() if key.upper() == name]
    kind = found.annotation
    args = [a for a in getattr(kind, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
    return args[0] if args else (kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None)


@pytest.mark.parametrize("name, model", [
    (runtime.API_KEYS_ENV, CoordinatorSettings),
    (runtime.HASH_SECRET_ENV, CoordinatorSettings),
    (runtime.PERSPECTIVES_ENV, CoordinatorSettings),
    (runtime.AUDIT_REPLICA_ENV, CoordinatorSettings),
    (runtime.CANARY_API_KEY_ENV, CanarySettings),
    (runtime.CANARY_TSIG_ENV, CanarySettings),
])
def test_every_named_variable_is_a_setting_of_its_role(name, model):
    parts = name.removeprefix(runtime.ENV_PREFIX).split(runtime.ENV_NESTED_DELIMITER)
    for part in parts[:-1]:
        model = _field(model, part)
        assert model is not None, name
    _field(model, parts[-1])


def test_an_unknown_name_fails_the_check():
    with pytest.raises(ValueError):  # the check above can fail: no such field
        _field(CanarySettings, "API_KEYS")


def test_settings_env_names_every_key_by_the_rule_and_encodes_values_as_the_runtime_reads_them():
    env = runtime.settings_env({"api_keys": ["a", "b"], "early_quorum": False, "perspective_timeout": 2.5,
                                "dns": {"zone": "example."}, "audit_log": "-"})
    assert env == {"MPIC_API_KEYS": '["a", "b"]', "MPIC_EARLY_QUORUM": "false", "MPIC_PERSPECTIVE_TIMEOUT": "2.5",
                   "MPIC_DNS": '{"zone": "example."}', "MPIC_AUDIT_LOG": "-"}
    assert runtime.env_value(True) == "true" and runtime.env_value(("x",)) == '["x"]'
