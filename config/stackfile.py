"""Reading stack files (``stacks/Pulumi.<stack>.yaml``) outside the Pulumi engine.

The same keys ``pulumi.Config("mpic")`` gives ``__main__.py``, so ``mpic check``/``up``/``plan``
see exactly what ``pulumi up`` sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from config.errors import ConfigError
from config.model import NAMESPACE, StackConfig

KIT_ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = KIT_ROOT / "stacks"


def stack_path(name_or_path: str) -> Path:
    """``local`` -> ``stacks/Pulumi.local.yaml``; a path to a YAML file stays as it is."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.is_file() or "/" in name_or_path:
        return p
    return STACKS_DIR / f"Pulumi.{name_or_path}.yaml"


def stack_name(path: Path) -> str:
    stem = path.name
    for suffix in (".yaml", ".yml"):
        stem = stem.removesuffix(suffix)
    return stem.removeprefix("Pulumi.")


def read_stack_file(name_or_path: str) -> tuple[str, dict[str, Any]]:
    """The stack's name and its whole ``config:`` map (every namespace, keys as written)."""
    path = stack_path(name_or_path)
    if not path.is_file():
        known = sorted(stack_name(p) for p in STACKS_DIR.glob("Pulumi.*.yaml"))
        raise ConfigError(f"stack '{name_or_path}': no file {path}. Known stacks: {', '.join(known) or 'none'}; "
                          "or give a path to a stack YAML file.", key="stack", value=name_or_path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"{path}: not readable as YAML ({str(exc).splitlines()[0]}). Fix the file's syntax.",
                          key="stack", value=str(path)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        raise ConfigError(f"{path}: expected a Pulumi stack file with a 'config:' map.", key="stack", value=str(path))
    return stack_name(path), doc.get("config") or {}


def mpic_keys(config: dict[str, Any]) -> dict[str, Any]:
    """The ``mpic:`` keys of a stack config map, without their prefix."""
    prefix = f"{NAMESPACE}:"
    return {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}


def load_stack(name_or_path: str) -> StackConfig:
    """Read, validate and resolve a stack file; raises ConfigError on bad input."""
    name, config = read_stack_file(name_or_path)
    return StackConfig.from_config(mpic_keys(config), name=name)
