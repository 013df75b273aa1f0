"""Reading stack files (``stacks/Pulumi.<stack>.yaml``) outside the Pulumi engine.

The same keys ``pulumi.Config("mpic")`` gives ``__main__.py``, so ``mpic check``/``up``/``plan``
see exactly what ``pulumi up`` sees. Bad input is a :class:`~config.errors.ConfigError` naming
the key, the value and the fix: YAML syntax errors and impossible dates with their line and
column, keys in a misspelt namespace (``mpc:target``) or without one (``target``) with the key
they were probably meant to be.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from config.errors import ConfigError, shown
from config.model import NAMESPACE, SECRET_KEYS, StackConfig

KIT_ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = KIT_ROOT / "stacks"
EXAMPLE_PERSPECTIVES = "[us-west-2, eu-west-1, ap-northeast-1, sa-east-1, ap-southeast-2]"
ENGINE_NAMESPACE = "pulumi"
PROVIDER_NAMESPACES: frozenset[str] = frozenset({
    "aws", "aws-native", "awsx", "eks", "kubernetes", "tls", "random", "command", "gcp", "google-native",
    "azure", "azure-native", "azuread", "cloudflare", "docker",
})
"""Namespaces of Pulumi providers a stack file may legitimately carry (the kit's programs use
aws, kubernetes and tls); other namespaces are refused when they look like a typo of ``mpic``."""


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


class _BadDate(str):
    """An unquoted YAML date that is no date (``2026-13-40``), kept with where it was written."""

    mark: Any = None
    reason = ""


MAX_FILE_BYTES = 1_000_000
"""The largest stack, usage or settings file read (a stack file is a few kilobytes)."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, except that an impossible timestamp becomes a :class:`_BadDate`
    instead of a ValueError without a position (PyYAML raises it while constructing), and an alias
    is refused where it stands: an anchor referenced again and again (a "billion laughs" document)
    would expand into more nodes than memory holds, and a stack file needs none."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, f"an alias (*{event.anchor}); anchors and aliases are "
                                              "not accepted in these files", event.start_mark)
        return super().compose_node(parent, index)


def _timestamp(loader: _Loader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        bad = _BadDate(node.value)
        bad.mark, bad.reason = node.start_mark, str(exc)
        return bad


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def _where(path: Path, mark: Any) -> str:
    return f"{path}, line {mark.line + 1}, column {mark.column + 1}"


def read_yaml(path: Path, key: str) -> Any:
    """The YAML document of ``path``; ConfigError (``key``) with the line and column of a syntax
    error or of an impossible date."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            fix = f"give a file under {MAX_FILE_BYTES // 1000} kB (a stack file is a few kilobytes)"
            raise ConfigError(f"{path}: {size:,} bytes; larger than any stack or usage file. Fix: {fix}.", key=key,
                              value=str(path), fix=fix)
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not readable ({exc}). Give a UTF-8 text file.", key=key, value=str(path),
                          fix="give a readable UTF-8 YAML file") from None
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _where(path, mark) if mark is not None else str(path)
        context = ""
        if exc.context and exc.context_mark is not None and exc.context_mark is not mark:
            context = f" ({exc.context} that starts at line {exc.context_mark.line + 1}, column " \
                      f"{exc.context_mark.column + 1})"
        fix = f"correct the YAML syntax at line {mark.line + 1}, column {mark.column + 1}" if mark else \
            "correct the YAML syntax"
        raise ConfigError(f"{where}: not valid YAML: {exc.problem}{context}. Fix: {fix}.", key=key,
                          value=str(path), fix=fix) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML parse error carries a mark
        raise ConfigError(f"{path}: not valid YAML ({exc}).", key=key, value=str(path),
                          fix="correct the YAML syntax") from None
    _refuse_bad_dates(doc, path, [])
    return doc


def _refuse_bad_dates(value: Any, path: Path, key: str = "") -> None:
    """ConfigError for the first impossible date in ``value`` (a stack file's key without the
    ``config.`` of its document)."""
    if isinstance(value, _BadDate):
        key = key.removeprefix("config.") or "document"
        example = key.rsplit(".", 1)[-1]
        fix = f"write a real date as YYYY-MM-DD in quotes, e.g. {example}: '2026-12-15'"
        raise ConfigError(f"{key}: '{value}' is not a date ({value.reason}) at {_where(path, value.mark)}. "
                          f"Fix: {fix}.", key=key, value=str(value), fix=fix)
    if isinstance(value, dict):
        for k, v in value.items():
            _refuse_bad_dates(v, path, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _refuse_bad_dates(v, path, f"{key}[{i}]")


def read_stack_file(name_or_path: str) -> tuple[str, dict[str, Any]]:
    """The stack's name and its whole ``config:`` map (every namespace, keys as written)."""
    path = stack_path(name_or_path)
    if not path.is_file():
        known = sorted(stack_name(p) for p in STACKS_DIR.glob("Pulumi.*.yaml"))
        fix = f"give one of {', '.join(known) or 'none'}, or a path to a stack YAML file"
        raise ConfigError(f"stack '{name_or_path}': no file {path}. Known stacks: {', '.join(known) or 'none'}; "
                          "or give a path to a stack YAML file.", key="stack", value=name_or_path, fix=fix)
    doc = read_yaml(path, "stack")
    if doc is None:
        fix = f"write a 'config:' map with at least mpic:perspectives, e.g. mpic:perspectives: {EXAMPLE_PERSPECTIVES}"
        raise ConfigError(f"{path}: the file is empty. Fix: {fix}.", key="stack", value=str(path), fix=fix)
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        fix = "make the file a map whose 'config:' key holds the stack's keys (mpic:perspectives, ...)"
        raise ConfigError(f"{path}: expected a Pulumi stack file with a 'config:' map. Fix: {fix}.", key="stack",
                          value=str(path), fix=fix)
    config = doc.get("config") or {}
    check_namespaces(config)
    check_secrets(config)
    return stack_name(path), config


SECRET_FIXES: dict[str, str] = {
    "apiKeys": "pulumi config set --secret --path 'mpic:apiKeys[0]' \"$(openssl rand -hex 32)\"",
    "hashSecret": "pulumi config set --secret mpic:hashSecret \"$(openssl rand -hex 32)\"",
    "kubeconfig": "pulumi config set --secret mpic:kubeconfig \"$(kubectl config view --flatten)\"",
    "kubeconfigs": "pulumi config set --secret --path 'mpic:kubeconfigs.ENTRY' \"$(cat ENTRY.kubeconfig)\"",
}
"""How each secret key is set encrypted (any other: ``pulumi config set --secret mpic:KEY VALUE``)."""


def _encrypted(value: Any) -> bool:
    """Pulumi's ciphertext (``{secure: v1:...}``), or a list or map of nothing but ciphertexts."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return isinstance(value["secure"], str)
        return bool(value) and all(_encrypted(v) for v in value.values())
    if isinstance(value, list):
        return bool(value) and all(_encrypted(v) for v in value)
    return False


def check_secrets(config: dict[str, Any]) -> None:
    """Refuse a secret key (:data:`config.model.SECRET_KEYS`) written in clear text: a stack file is
    committed and read by every CI job, so a secret belongs in Pulumi's encrypted config."""
    for key, value in config.items():
        namespace, _, name = str(key).partition(":")
        if namespace != NAMESPACE or name not in SECRET_KEYS or _encrypted(value):
            continue
        fix = f"remove it from the file and run {SECRET_FIXES.get(name, f'pulumi config set --secret {key} VALUE')}"
        raise ConfigError(f"{key}: a secret written in clear text in the stack file; secrets are kept encrypted "
                          f"by Pulumi. Fix: {fix}.", key=str(key), value="[secret]", fix=fix)


def check_namespaces(config: dict[str, Any]) -> None:
    """Refuse a key without a namespace (Pulumi refuses it too) and a namespace that looks like a
    misspelt ``mpic`` or ``pulumi`` (its keys would be ignored silently), naming the likely key."""
    known = StackConfig.config_keys()
    for key in config:
        namespace, sep, name = str(key).partition(":")
        if not sep:
            guess = _close(namespace, known)
            fix = f"write {NAMESPACE}:{guess}" if guess else f"prefix the key with its namespace ({NAMESPACE}:...)"
            raise ConfigError(f"{key}: {shown(config[key])}: a stack key needs a namespace (namespace:key). Fix: {fix}.",
                              key=str(key),
                              value=config[key], fix=fix)
        if namespace in (NAMESPACE, ENGINE_NAMESPACE) or namespace in PROVIDER_NAMESPACES:
            continue
        near = difflib.get_close_matches(namespace.lower(), [NAMESPACE, ENGINE_NAMESPACE], n=1, cutoff=0.5)
        if near:
            target = near[0]
            guess = _close(name, known) if target == NAMESPACE else None
            fix = f"write {target}:{guess or name}"
            raise ConfigError(f"{key}: {shown(config[key])}: unknown namespace '{namespace}' (did you mean "
                              f"{target}:{guess or name}?); keys of this kit live in {NAMESPACE}:, the engine's in "
                              f"{ENGINE_NAMESPACE}:. Fix: {fix}.", key=str(key), value=config[key], fix=fix)


def _close(name: str, known: tuple[str, ...]) -> str | None:
    """The known key ``name`` most likely meant (case and ``_``/``-`` ignored), or None."""
    def norm(s: str) -> str:
        return s.lower().replace("_", "").replace("-", "")

    by_norm = {norm(k): k for k in known}
    if norm(name) in by_norm:
        return by_norm[norm(name)]
    near = difflib.get_close_matches(norm(name), list(by_norm), n=1, cutoff=0.6)
    return by_norm[near[0]] if near else None


def mpic_keys(config: dict[str, Any]) -> dict[str, Any]:
    """The ``mpic:`` keys of a stack config map, without their prefix."""
    prefix = f"{NAMESPACE}:"
    return {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}


def load_stack(name_or_path: str) -> StackConfig:
    """Read, validate and resolve a stack file; raises ConfigError on bad input."""
    name, config = read_stack_file(name_or_path)
    return StackConfig.from_config(mpic_keys(config), name=name)

