"""Errors about keys: an unknown key with a did-you-mean and the valid keys of its section, and a
pydantic validation error translated into a :class:`~config.errors.ConfigError` that names the
key, the value and the fix (used by :mod:`config.model` and the usage file of :mod:`plan.prices`).
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from config.errors import ConfigError, shown


def unknown_key_error(key: str, name: str, value: Any, known: list[str], prefix: str = "") -> ConfigError:
    """An unknown key: did you mean (case, ``_`` and ``-`` ignored), and the valid keys."""
    def norm(k: str) -> str:
        return k.lower().replace("_", "").replace("-", "")

    by_norm = {norm(k): k for k in known}
    near = [by_norm[norm(name)]] if norm(name) in by_norm else \
        [by_norm[m] for m in difflib.get_close_matches(norm(name), list(by_norm), n=1, cutoff=0.6)]
    if not near and len(norm(name)) >= 3:  # a shortened key: "hours" for "hours_per_month"
        near = [k for n, k in by_norm.items() if n.startswith(norm(name))][:1]
    where = key.rpartition(name)[0].rstrip(".:")
    guess = f" (did you mean {prefix}{near[0]}?)" if near else ""
    fix = f"write {prefix}{near[0]}" if near else f"use one of the keys of {where or 'the section'}"
    return ConfigError(f"{key}: unknown key{guess}, set to {shown(value)}. Valid keys{f' of {where}' if where else ''}: "
                       f"{', '.join(prefix + k for k in known)}. Fix: {fix}.", key=key, value=value, fix=fix)


def section_model(root: type[BaseModel], loc: list[str]) -> type[BaseModel] | None:
    """The settings model (AwsSettings, ClusterSpec...) holding the keys at ``loc`` below ``root``;
    a part after a map of models (``k8s.clusters.<region>``) is the map's key."""
    model: Any = root
    in_map = False
    for part in loc:
        if in_map:
            in_map = False
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return None
        model = _unwrap_optional(field.annotation)
        if typing.get_origin(model) is dict:
            model, in_map = typing.get_args(model)[1], True
    return model if isinstance(model, type) and issubclass(model, BaseModel) and not in_map else None


def _unwrap_optional(annotation: Any) -> Any:
    """``X | None`` -> X."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def to_config_error(exc: ValidationError, raw: dict[str, Any], root: type[BaseModel],
                    namespace: str) -> ConfigError:
    """The first pydantic error of validating ``raw`` into ``root`` as a ConfigError naming the
    key (``mpic:aws.volumeSizeGb``), the value given and the fix; an unknown key gets a did-you-mean
    and the valid keys of its section."""
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    key = f"{namespace}:{loc[0]}" if loc else namespace
    sub = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc[1:])
    ctx = err.get("ctx") or {}
    inner = ctx.get("error")
    if isinstance(inner, ConfigError):
        return ConfigError(str(inner), key=inner.key, value=inner.value, fix=inner.fix)
    value = err.get("input", raw.get(loc[0]) if loc else None)
    if err["type"] == "extra_forbidden" and len(loc) >= 2:
        section = section_model(root, loc[:-1])
        known = sorted(f.alias or n for n, f in section.model_fields.items()) if section is not None else []
        return unknown_key_error(f"{key}{sub}", loc[-1], value, known)
    msg = str(err["msg"]).removeprefix("Value error, ")
    fix = f"change {key}{sub}: {msg[0].lower()}{msg[1:]}" if msg else f"change {key}{sub}"
    shown = value if not isinstance(value, dict) else "{...}"
    return ConfigError(f"{key}{sub}: {msg} (got {shown!r}). Fix: {fix}.", key=f"{key}{sub}", value=value, fix=fix)
