"""``docs/config.md``: the stack-config reference, generated from the pydantic model.

The model (:class:`config.model.StackConfig` and the target settings) is the one source of the
keys, their types, defaults and meaning (attribute docstrings); a test fails when the committed
file differs from what :func:`config_reference` renders. Regenerate with
``./scripts/mpic config-reference --write``.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import types
import typing
from pathlib import Path

import typer
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from cli import app
from config.model import NAMESPACE, SECRET_KEYS, StackConfig
from config.stackfile import KIT_ROOT
from config.audit import AuditSettings, AuditSink
from config.canary import CanaryDns, CanarySettings
from config.failover import FailoverSettings
from config.target_aws import AwsSettings
from config.target_k8s import ClusterSpec, EksCluster, K8sSettings
from plan.outputs import OPTIONAL_DOCS, OUTPUT_DOCS

REFERENCE = KIT_ROOT / "docs" / "config.md"
SECRETS = {
    "apiKeys": "list of the coordinator's API keys (several while rotating); `x-api-key` or `Authorization: Bearer`.",
    "hashSecret": "seeds open-mpic-core's per-domain cohort shuffle; a long random string.",
    "kubeconfig": "k8s: one kubeconfig holding a context per existing cluster.",
    "kubeconfigs": "k8s: entry name -> kubeconfig, for clusters whose credentials are kept apart.",
    "canaryTsigSecret": "k8s: the TSIG secret (base64) of `mpic:canary.dns.keyName`, for the canary's RFC 2136 updates.",
}


def _type(annotation: typing.Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        inner = " or ".join(_type(a) for a in args)
        return f"{inner} (optional)" if len(args) < len(typing.get_args(annotation)) else inner
    if origin in (tuple, list):
        return f"list of {_type(args[0])}" if args else "list"
    if origin is dict:
        return f"map of {_type(args[1])}" if len(args) == 2 else "map"
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return {"Location": "region code or site"}.get(annotation.__name__, "object")
        if issubclass(annotation, enum.Enum):
            return "string"
        return {bool: "boolean", int: "integer", float: "number", str: "string", dt.date: "date"}.get(
            annotation, annotation.__name__)
    return str(annotation)


def _default(field: typing.Any) -> str:
    if field.default is PydanticUndefined:
        if field.default_factory is None:
            return "**required**"
        value = field.default_factory()
        return "see below" if isinstance(value, BaseModel) else f"`{value!r}`" if value else "empty"
    if field.default is None:
        return "unset"
    value = field.default
    return f"`{value.value if isinstance(value, enum.Enum) else value}`"


def _text(description: str | None) -> str:
    text = " ".join((description or "").split())
    return re.sub(r"``([^`]+)``", r"`\1`", text).replace("|", "\\|")


def _table(model: type[BaseModel], prefix: str) -> list[str]:
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = f"{prefix}{field.alias or name}"
        rows.append(f"| `{key}` | {_type(field.annotation)} | {_default(field)} | {_text(field.description)} |")
    return rows


def config_reference() -> str:
    """The whole reference as Markdown."""
    out = [
        "# Stack config reference (`mpic:` namespace)",
        "",
        "<!-- generated from config/model.py by `./scripts/mpic config-reference --write`; a test fails when stale -->",
        "",
        "Every key of a stack file (`stacks/Pulumi.<stack>.yaml`) or `pulumi config`, validated by one model "
        "(`config/model.py`) for every target. Unknown keys are refused with the list of known keys; bad values "
        "name the key, the value and the fix.",
        "",
        "## Top-level keys",
        "",
        *_table(StackConfig, f"{NAMESPACE}:"),
        "",
        "## Secrets",
        "",
        "Set with `pulumi config set --secret` (never in a stack file in clear). The local fleet makes its own.",
        "",
        "| key | meaning |",
        "|---|---|",
        *[f"| `{NAMESPACE}:{k}` | {SECRETS[k]} |" for k in sorted(SECRET_KEYS)],
        "",
        "## Stack outputs (every target)",
        "",
        "`pulumi stack output` of every target and `./scripts/mpic status --json` of the local fleet carry "
        "these keys (`plan/outputs.py`); targets add their own (`perspective_endpoints`, `k8s_clusters`...).",
        "",
        "| key | meaning |",
        "|---|---|",
        *[f"| `{k}` | {v} |" for k, v in OUTPUT_DOCS.items()],
        *[f"| `{k}` (optional) | {v} |" for k, v in OPTIONAL_DOCS.items()],
        "",
        f"## `{NAMESPACE}:failover` (every target)",
        "",
        "The coordinator's name fails over between coordinator sites (docs/failover.md): health checks of "
        "each site's `/readyz` every `interval` s; `failureThreshold` failures mark a site unhealthy.",
        "",
        *_table(FailoverSettings, ""),
        "",
        f"## `{NAMESPACE}:canary` (every target)",
        "",
        "The production canary (docs/canary.md): a dns-change round trip (right token valid, wrong token "
        "invalid) then CAA on `_mpic-canary.<domain>`, every `interval` minutes; alarms when a check is "
        "wrong, when the margin (perspectives passed minus quorum) is 0 for `marginRuns` runs, or when it "
        "has not run for `missedRuns` intervals.",
        "",
        *_table(CanarySettings, ""),
        "",
        f"### `{NAMESPACE}:canary.dns` (k8s)",
        "",
        *_table(CanaryDns, ""),
        "",
        f"## `{NAMESPACE}:audit` (every target)",
        "",
        "The audit records (docs/audit.md), kept two years (BR 5.4.3): on AWS in a KMS-encrypted CloudWatch "
        "Logs group per region (and an optional S3 copy under Object Lock); on Kubernetes in the sink the "
        "Fluent Bit shipper sends them to; in the local fleet under /var/lib/mpic-fleet/<stack>/audit.",
        "",
        *_table(AuditSettings, ""),
        "",
        f"### `{NAMESPACE}:audit.sink` (k8s)",
        "",
        *_table(AuditSink, ""),
        "",
        f"## `{NAMESPACE}:aws` (targets aws-hosts, aws-lambda)",
        "",
        *_table(AwsSettings, ""),
        "",
        f"## `{NAMESPACE}:k8s` (target k8s)",
        "",
        *_table(K8sSettings, ""),
        "",
        f"### `{NAMESPACE}:k8s.clusters.<region>`",
        "",
        *_table(ClusterSpec, ""),
        "",
        f"### `{NAMESPACE}:k8s.clusters.<region>.eks`",
        "",
        *_table(EksCluster, ""),
        "",
    ]
    return "\n".join(out)


@app.command("config-reference", hidden=True)
def config_reference_cmd(write: bool = typer.Option(False, "--write", help=f"Write {REFERENCE.relative_to(KIT_ROOT)}.")) -> None:
    """Print (or write) docs/config.md from the config model."""
    text = config_reference()
    if write:
        Path(REFERENCE).write_text(text, encoding="utf-8")
        typer.echo(f"wrote {REFERENCE}")
    else:
        typer.echo(text, nl=False)
