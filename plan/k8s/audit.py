"""The audit shipper of the ``k8s`` target (pure: the sink in, Fluent Bit's configuration and the
pod pieces out).

The runtime appends its audit lines to a file on a volume of its pod (:data:`AUDIT_FILE`), as on
the hosts and in the local fleet; Fluent Bit, a native sidecar of the same pod (an init container
that keeps running, so it starts before and stops after the runtime: the last lines leave), tails
that file from its first byte and sends every line unchanged to the sink the operator named
(``mpic:audit.sink``): an S3 bucket (one object series per writer), Loki (a stream per writer) or
Elasticsearch (a document per line, ``log`` and ``writer``). Its read position and its unsent
chunks are kept on the pod's volume, so a restarted shipper resumes where it stopped.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from config.audit import AuditSink
from plan.runtime import AUDIT_TO_STDOUT

AUDIT_DIR = "/var/log/mpic"
AUDIT_FILE = f"{AUDIT_DIR}/audit.jsonl"
SHIPPER_DIR = f"{AUDIT_DIR}/shipper"
"""Fluent Bit's tail database and buffered chunks, on the same volume as the file it reads."""
CONFIG_DIR = "/fluent-bit/etc/mpic"
CONFIG_NAME = "fluent-bit.conf"
CONFIG_MAP = "mpic-audit-shipper"
WRITER_ENV = "MPIC_AUDIT_WRITER"
"""``<site>--<pod name>``: the writer's name (service.audit), in every object or stream name."""
SHIPPER_RESOURCES = {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}
VOLUME_LIMIT = "1Gi"
"""The audit volume of one pod: the file and the shipper's buffer (docs/audit.md)."""


def s3_prefix(stack: str) -> str:
    """Where a stack's objects go in the bucket: ``mpic/<stack>/<writer>/YYYY/MM/DD/HHMMSS-<n>.jsonl``."""
    return f"mpic/{stack}/"


def sink_port(sink: AuditSink) -> int:
    """The TCP port the shipper reaches the sink on (the pod's NetworkPolicy lets it out)."""
    if sink.endpoint is None:
        return 443
    url = urlsplit(sink.endpoint)
    return url.port or (443 if url.scheme == "https" else 80)


def _section(name: str, pairs: dict[str, Any]) -> str:
    width = max(len(k) for k in pairs)
    return "\n".join([f"[{name}]", *(f"    {k.ljust(width)} {v}" for k, v in pairs.items())]) + "\n"


def _endpoint(sink: AuditSink) -> dict[str, Any]:
    url = urlsplit(sink.endpoint or "")
    out: dict[str, Any] = {"host": url.hostname, "port": sink_port(sink), "tls": "on" if url.scheme == "https" else "off"}
    if url.scheme == "https":
        out["tls.verify"] = "on"
    if sink.credentials_secret is not None:
        out |= {"http_user": "${MPIC_SINK_USER}", "http_passwd": "${MPIC_SINK_PASSWORD}"}
    return out


def _output(sink: AuditSink, stack: str) -> dict[str, Any]:
    common = {"name": sink.kind if sink.kind != "elasticsearch" else "es", "match": "mpic.audit",
              "retry_limit": "no_limits"}
    if sink.kind == "s3":
        out = {**common, "bucket": sink.bucket, "region": sink.region, "use_put_object": "on",
               "total_file_size": "1M", "upload_timeout": "60s", "log_key": "log",
               "s3_key_format": f"/{s3_prefix(stack)}${{{WRITER_ENV}}}/%Y/%m/%d/%H%M%S-$INDEX.jsonl",
               "store_dir": f"{SHIPPER_DIR}/s3"}
        if sink.endpoint is not None:
            out["endpoint"] = sink.endpoint
        return out
    if sink.kind == "loki":
        path = urlsplit(sink.endpoint or "").path.rstrip("/")
        return {**common, **_endpoint(sink), "uri": f"{path}/loki/api/v1/push",
                "labels": f"job=mpic-audit, stack={stack}, writer=${{{WRITER_ENV}}}", "drop_single_key": "raw"}
    return {**common, **_endpoint(sink), "index": sink.index, "suppress_type_name": "on",
            "generate_id": "on"}


def fluent_bit_conf(sink: AuditSink, stack: str) -> str:
    """Fluent Bit's configuration (classic format): the audit file, line by line and unchanged
    (the record's ``log``), to ``sink``; flushed every second, retried without limit."""
    parts = [
        _section("SERVICE", {"flush": 1, "grace": 10, "log_level": "info", "http_server": "off",
                             "storage.path": f"{SHIPPER_DIR}/buffer", "storage.sync": "full"}),
        _section("INPUT", {"name": "tail", "path": AUDIT_FILE, "tag": "mpic.audit", "db": f"{SHIPPER_DIR}/tail.db",
                           "read_from_head": "true", "refresh_interval": 1, "skip_long_lines": "off",
                           "buffer_max_size": "1M", "storage.type": "filesystem"}),
    ]
    if sink.kind == "elasticsearch":  # a document per line: the line and its writer
        parts.append(_section("FILTER", {"name": "record_modifier", "match": "mpic.audit",
                                         "record": f"writer ${{{WRITER_ENV}}}"}))
    parts.append(_section("OUTPUT", _output(sink, stack)))
    return "\n".join(parts)


def writer_env(site: str) -> list[dict[str, Any]]:
    """The runtime's and the shipper's environment: the pod's name (the writer's replica) and the
    writer's name."""
    return [{"name": "MPIC_AUDIT_REPLICA", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": WRITER_ENV, "value": f"{site}--$(MPIC_AUDIT_REPLICA)"}]


def shipper_container(image: str, sink: AuditSink, site: str, security: dict[str, Any]) -> dict[str, Any]:
    """The native sidecar (an init container with ``restartPolicy: Always``)."""
    container: dict[str, Any] = {
        "name": "audit-shipper",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "restartPolicy": "Always",
        "command": ["/fluent-bit/bin/fluent-bit", "-c", f"{CONFIG_DIR}/{CONFIG_NAME}"],
        "env": writer_env(site),
        "resources": SHIPPER_RESOURCES,
        "securityContext": security,
        "volumeMounts": [{"name": "audit", "mountPath": AUDIT_DIR},
                         {"name": "audit-shipper", "mountPath": CONFIG_DIR, "readOnly": True}],
    }
    if sink.credentials_secret is not None:
        container["envFrom"] = [{"secretRef": {"name": sink.credentials_secret}}]
    return container


def pod_pieces(image: str, sink: AuditSink | None, site: str, security: dict[str, Any]) -> dict[str, Any]:
    """What a runtime pod adds for its audit: the runtime's environment and mount, the volumes, the
    shipper; without a sink (a lab) nothing: the lines stay on the pod's stdout."""
    if sink is None:
        return {"env": [], "mounts": [], "volumes": [], "init": []}
    return {"env": writer_env(site), "mounts": [{"name": "audit", "mountPath": AUDIT_DIR}],
            "volumes": [{"name": "audit", "emptyDir": {"sizeLimit": VOLUME_LIMIT}},
                        {"name": "audit-shipper", "configMap": {"name": CONFIG_MAP}}],
            "init": [shipper_container(image, sink, site, security)]}


def runtime_audit(sink: AuditSink | None, site: str) -> dict[str, str]:
    """The runtime settings' ``audit_log`` and ``audit_site``: the shipped file, or stdout in a lab."""
    return {"audit_log": AUDIT_FILE if sink is not None else AUDIT_TO_STDOUT, "audit_site": site}
