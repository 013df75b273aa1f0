"""``mpic evidence STACK``: read the stack's audit lines for a window, wherever its target keeps
them (:mod:`evidence.sources`), and write the bundle (:mod:`evidence.bundle`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Callable, Iterable

from config.errors import ConfigError
from config.stackfile import load_stack, stack_path
from evidence import bundle, sources
from evidence.sources import Say, Window
from local.roles import audit as local_audit
from plan import audit as audit_plan
from plan.k8s import audit as k8s_audit
from artifacts.dist import dist_dir, load_manifest

LogsClient = Callable[[str], Any]
"""region -> a boto3 ``logs`` client (tests pass moto's)."""


def _boto3_logs(region: str) -> Any:  # pragma: no cover - needs AWS credentials; tests pass a client
    import boto3

    return boto3.client("logs", region_name=region)


def _boto3_s3(region: str, endpoint: str | None) -> Any:  # pragma: no cover - needs credentials; tests pass one
    import boto3

    return boto3.client("s3", region_name=region, endpoint_url=endpoint)


S3Client = Callable[[str, "str | None"], Any]
"""(region, endpoint) -> a boto3 ``s3`` client (tests pass moto's)."""


def writers(cfg: Any, window: Window, say: Say, *, from_dir: Path | None = None,
            logs: LogsClient | None = None, s3: S3Client | None = None) -> Iterable[tuple[str, list[str]]]:
    """The window's lines of every writer of the stack."""
    if from_dir is not None:
        if not from_dir.is_dir():
            raise ConfigError(f"--from-dir {from_dir}: no such folder; export the lines there, one file per writer",
                              key="--from-dir", value=str(from_dir), fix="give the folder of exported lines")
        return sources.from_folder(from_dir, window, say)
    if cfg.target == "local":
        return sources.from_folder(local_audit.folder(cfg.name), window, say)
    if cfg.target in ("aws-hosts", "aws-lambda"):
        client = logs or _boto3_logs
        return (item for region in audit_plan.log_regions(cfg)
                for item in sources.from_cloudwatch(client(region), audit_plan.log_group(cfg), region, window, say))
    sink = cfg.audit.sink
    if sink is not None and sink.kind == "s3":
        client = (s3 or _boto3_s3)(sink.region, sink.endpoint)
        return sources.from_s3(client, sink.bucket, k8s_audit.s3_prefix(cfg.name), window, say)
    raise ConfigError(f"mpic:target {cfg.target}: the audit lines are in the sink the operator named "
                      f"(mpic:audit.sink, {sink.kind if sink else 'none'}), which the kit does not read back; "
                      "export the window's lines into a "
                      "folder, one file per writer, and run `mpic evidence STACK --from-dir FOLDER` (docs/audit.md)",
                      key="--from-dir", value=None, fix="export the lines and give --from-dir")


def collect(stack: str, window: Window, out: Path | None, say: Say, *, from_dir: Path | None = None,
            logs: LogsClient | None = None, s3: S3Client | None = None,
            today: dt.date | None = None) -> tuple[Path, dict[str, Any]]:
    """Write the bundle of ``stack`` for ``window``; (its path, its summary)."""
    cfg = load_stack(stack)
    manifest = load_manifest(dist_dir())
    stamp = (today or dt.date.today()).isoformat()
    out = out or Path(f"mpic-evidence-{cfg.name}-{stamp}.tar.gz")
    say(f"evidence: writing {out}")

    def attest(builds: set[str]) -> dict[str, Any]:
        return bundle.attestation(cfg, _stack_file(stack), manifest.to_json() if manifest else None, window, builds,
                                  today)

    summary = bundle.write(out, writers(cfg, window, say, from_dir=from_dir, logs=logs, s3=s3), attest, window, say)
    return out, summary


def _stack_file(stack: str) -> Path | None:
    try:
        return stack_path(stack)
    except ConfigError:  # pragma: no cover - load_stack found it already
        return None
